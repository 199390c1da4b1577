"""A year's restrictive-intervention statistics over 200,000 incidents: how long the report takes.

Fills a scratch schema of the reporting database with synthetic rows (COPY): both forms of the
statistics facts (`statistics_facts`: plain and coded), one `rs_events` row per incident and the
consumer's stored offsets, as the projection would have left them. Then times, in the same runs:

* the report call as production makes it (`reports.build`: one REPEATABLE READ snapshot, the
  applied offsets, bed days, statistics, provenance over every event, canonical JSON);
* its two parts on their own: the statistics body (`statistics_queries.report_body`) and the
  provenance (`provenance.compute`);
* the plain reference statement (`reference_raw_rows`), whose published rows must be the same;
* a raw `count(*)` scan of the coded facts and of the events (the raw baseline).

Prints one JSON line. Never run by the tests.

    .venv/bin/python -m benchmarks.reporting_statistics [--incidents 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from benchmarks.common import Figure
from contracts.codes import RestrictiveInterventionType
from contracts.merkle import leaf_hash
from services.common.consumer import OFFSETS_DDL
from services.common.db import open_pool
from services.reporting_service import provenance, reports
from services.reporting_service import statistics as st
from services.reporting_service import statistics_codes as codes
from services.reporting_service.projection import DDL, NAME
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.statistics_queries import (
    published_row,
    reference_raw_rows,
    report_body,
)

TYPES = [t for t in RestrictiveInterventionType if not t.is_legacy]
REASONS = ["10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "98", "99"]
GENDERS = ["Female", "Male", "Not known"]
ETHNICITIES = ["White British", "Black British", "Asian British", "Other"]
PARTITIONS = 6
YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
TOPIC = "useofforce.events"
FACT_COLUMNS = (
    "partition, written_offset, superseded_offset, started_at, interventions, provider, unit, "
    "incident_id, stream_version, person_key, gender_key, ethnicity_key, reason_code, age_code, "
    "intervention_count"
)


def fill(conn: psycopg.Connection, incidents: int, rng: random.Random) -> int:
    """One version per incident, partition `n % 6` at offset `n // 6`; 1-3 force periods each.
    Returns the number of force periods."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = []
    for _ in range(incidents):
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128)),
                start + timedelta(minutes=rng.randrange(365 * 24 * 60)),
                f"P-{rng.randrange(incidents // 4)}",
                rng.uniform(1, 90),
                rng.choice(REASONS),
                st.age_group(rng.randrange(14, 90)),
                rng.choice(GENDERS),
                rng.choice(ETHNICITIES),
            )
        )
    forces: list[list[tuple[RestrictiveInterventionType, int, bool]]] = []
    for _ in rows:
        forces.append(
            [
                (rng.choice(TYPES), round(rng.uniform(1, 120) * 60_000_000), rng.random() < 0.1)
                for _ in range(rng.choice((1, 1, 2, 3)))
            ]
        )
    people: dict[str, int] = {}
    labels = {label: key for key, label in enumerate(GENDERS + ETHNICITIES, start=1)}
    with conn.cursor() as cur:
        with cur.copy("COPY rs_stat_incident FROM STDIN") as copy:
            for n, (iid, at, person, minutes, reason, age, gender, ethnicity) in enumerate(rows):
                place = (n % PARTITIONS, n // PARTITIONS, f"R{n % 40:02d}", f"Unit {n % 400}")
                copy.write_row(
                    (iid, 1, *place, person, at, minutes, reason, age, gender, ethnicity)
                )
        with cur.copy("COPY rs_stat_force FROM STDIN") as copy:
            for (iid, *_), uses in zip(rows, forces, strict=True):
                for seq, (kind, micros, injured) in enumerate(uses):
                    minutes = codes.minutes(micros)
                    band = st.duration_band(kind.category, minutes)
                    copy.write_row(
                        (iid, 1, seq, kind.value, kind.category.value, minutes, band, injured)
                    )
        with cur.copy(f"COPY rs_stat_facts ({FACT_COLUMNS}) FROM STDIN") as copy:
            for n, ((iid, at, person, _, reason, age, gender, ethnicity), uses) in enumerate(
                zip(rows, forces, strict=True)
            ):
                packed = b"".join(
                    codes.pack_intervention(
                        micros,
                        kind.value,
                        injured,
                        kind.category.value,
                        st.duration_band(kind.category, codes.minutes(micros)),
                    )
                    for kind, micros, injured in uses
                )
                keys = (
                    people.setdefault(person, len(people) + 1),
                    labels[gender],
                    labels[ethnicity],
                )
                copy.write_row(
                    (
                        *(n % PARTITIONS, n // PARTITIONS, None, at, packed),
                        *(f"R{n % 40:02d}", f"Unit {n % 400}", iid, 1, *keys),
                        *(codes.reason_code(reason), codes.age_code(age), len(uses)),
                    )
                )
        with cur.copy("COPY rs_stat_people (person_id, person_key) FROM STDIN") as copy:
            for person, key in people.items():
                copy.write_row((person, key))
        with cur.copy("COPY rs_stat_labels (label, label_key) FROM STDIN") as copy:
            for label, key in labels.items():
                copy.write_row((label, key))
        with cur.copy("COPY rs_events FROM STDIN") as copy:
            for n, (iid, *_) in enumerate(rows):
                event_hash = "sha256:" + hashlib.sha256(iid.bytes).hexdigest()
                position = (TOPIC, n % PARTITIONS, n // PARTITIONS)
                recorded = "use_of_force.incident_recorded"
                event = (uuid.uuid5(iid, "1"), event_hash, recorded, iid, 1)
                copy.write_row((*position, *event, leaf_hash(event_hash), False))
        for partition in range(PARTITIONS):
            cur.execute(
                "INSERT INTO consumer_offsets (consumer, topic, partition, next_offset) "
                "VALUES (%s, %s, %s, %s)",
                (NAME, TOPIC, partition, -(-incidents // PARTITIONS)),
            )
        for table in ("rs_stat_incident", "rs_stat_force", "rs_stat_facts", "rs_events"):
            cur.execute(f"ANALYZE {table}")
    conn.commit()
    return sum(len(uses) for uses in forces)


def _timed(
    conn: psycopg.Connection, action: Callable[[psycopg.Cursor[Any]], Any]
) -> tuple[float, Any]:
    """Seconds and answer of one action in a read-only snapshot of its own, as a report has."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        answer = action(cur)
    conn.rollback()
    return time.perf_counter() - started, answer


def _reference(cur: psycopg.Cursor[Any], settings: Any, as_of: AsOf) -> list[dict[str, Any]]:
    rows = reference_raw_rows(cur, settings, Scope(), YEAR, as_of)
    return [published_row(r, None) for r in rows]  # no bed days in the scratch schema


def _raw_scan(cur: psycopg.Cursor[Any]) -> None:
    cur.execute("SELECT count(*) FROM rs_stat_facts").fetchone()
    cur.execute("SELECT count(*) FROM rs_events").fetchone()


def measure(incidents: int = 200_000, runs: int = 5) -> dict[str, float | int]:
    """Fill a scratch schema, then time the year's report, its parts and the raw scans."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = ReportingServiceSettings()
    with psycopg.connect(base.pg_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    settings = base.model_copy(update={"pg_schema": schema, "pg_pool_min_size": 1})
    try:
        with psycopg.connect(settings.pg_conninfo()) as conn:
            for stmt in [*DDL, *OFFSETS_DDL]:
                conn.execute(stmt)
            conn.commit()
            loaded = time.perf_counter()
            forces = fill(conn, incidents, random.Random(6))
            loaded = time.perf_counter() - loaded
        with psycopg.connect(settings.pg_conninfo(), autocommit=True) as conn:
            # what autovacuum does after a bulk of inserts: the visibility map that lets the
            # provenance read `rs_events_log` without visiting the table
            conn.execute("VACUUM rs_events")
        as_of = AsOf.of({(TOPIC, p): -(-incidents // PARTITIONS) for p in range(PARTITIONS)})
        times: dict[str, list[float]] = {
            k: [] for k in ("report", "statistics", "provenance", "reference", "raw")
        }
        published: list[Any] = []
        pool = open_pool(settings)
        try:
            with pool.connection() as conn:
                for _ in range(runs):
                    started = time.perf_counter()
                    built = reports.build(pool, settings, "statistics", Scope(), YEAR, None)
                    times["report"].append(time.perf_counter() - started)
                    published = built.document["report"]["rows"]
                    seconds, _ = _timed(
                        conn, lambda cur: report_body(cur, settings, Scope(), YEAR, as_of)
                    )
                    times["statistics"].append(seconds)
                    seconds, _ = _timed(conn, lambda cur: provenance.compute(cur, as_of))
                    times["provenance"].append(seconds)
                    seconds, reference = _timed(conn, lambda cur: _reference(cur, settings, as_of))
                    times["reference"].append(seconds)
                    if reference != published:
                        raise RuntimeError("the report and the reference statement disagree")
                    times["raw"].append(_timed(conn, _raw_scan)[0])
        finally:
            pool.close()
        best = {k: round(min(v), 3) for k, v in times.items()}
        return {
            "incidents": incidents,
            "restrictive_interventions": forces,
            "rows_published": len(published),
            "load_seconds": round(loaded, 2),
            "report_seconds_best": best["report"],
            "report_seconds_median": round(sorted(times["report"])[runs // 2], 3),
            "statistics_seconds_best": best["statistics"],
            "provenance_seconds_best": best["provenance"],
            "reference_statement_seconds_best": best["reference"],
            "raw_scan_seconds_best": best["raw"],
        }
    finally:
        with psycopg.connect(base.pg_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run(incidents: int = 200_000) -> list[Figure]:
    m = measure(incidents, runs=3)
    return [
        Figure(
            "reporting: a year's statistics report (seconds)",
            float(m["report_seconds_best"]),
            "s",
            float(m["raw_scan_seconds_best"]),
            "raw count(*) scan of the coded facts and the events",
            target="< 1 s over 200,000 incidents",
            extra={k: v for k, v in m.items() if k != "report_seconds_best"},
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        json.dumps({"benchmark": "reporting_statistics_year", **measure(args.incidents, args.runs)})
    )


if __name__ == "__main__":
    main()
