"""`python -m services.reporting_service migrate`: the one-off job that brings an older schema up
to date before a rollout, run as production runs it (its own process, settings from the
environment)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from contracts.merkle import leaf_hash
from services.reporting_service.settings import ReportingServiceSettings

ROOT = Path(__file__).resolve().parents[3]
HASH = "sha256:" + "ab" * 32


def test_migrate_brings_a_schema_from_before_the_stored_leaves_up_to_date_and_exits(
    pg_schema: str,
) -> None:
    own = ReportingServiceSettings().model_copy(update={"pg_schema": pg_schema})
    with psycopg.connect(own.pg_conninfo()) as conn:  # rs_events as an older version made it
        conn.execute(
            'CREATE TABLE rs_events (topic text NOT NULL, partition int NOT NULL, "offset" bigint'
            " NOT NULL, event_id uuid NOT NULL, event_hash text NOT NULL, event_type text NOT"
            " NULL, stream_id uuid NOT NULL, stream_version int NOT NULL,"
            ' PRIMARY KEY (topic, partition, "offset"))'
        )
        row = ("useofforce.events", 0, 7, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", HASH)
        conn.execute(
            "INSERT INTO rs_events VALUES (%s, %s, %s, %s, %s, 'x', %s, 1), "
            "(%s, %s, %s + 1, %s, %s, 'x', %s, 1)",
            (*row, row[3], *row, row[3]),  # the same event twice: a redelivery
        )
    done = subprocess.run(
        [sys.executable, "-m", "services.reporting_service", "migrate"],
        env={**os.environ, "SAFETYPLAN_PG_SCHEMA": pg_schema, "SAFETYPLAN_LOG_LEVEL": "INFO"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "reporting schema up to date" in done.stderr
    with psycopg.connect(own.pg_conninfo()) as conn:
        rows = conn.execute('SELECT "offset", leaf, repeat FROM rs_events ORDER BY 1').fetchall()
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (pg_schema,)
            ).fetchall()
        }
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (pg_schema,)
            ).fetchall()
        }
    assert rows == [(7, leaf_hash(HASH), False), (8, leaf_hash(HASH), True)]
    assert {"consumer_offsets", "rs_stat_facts", "rs_incident_versions"} <= tables
    assert {"rs_events_log", "rs_events_repeats"} <= indexes
