"""A year's restrictive-intervention statistics over 200,000 incidents: how long the query takes.

Fills the compact fact tables (`rs_stat_incident`, `rs_stat_force`) of a scratch schema in the
reporting database with synthetic rows (COPY), then times `statistics_queries.raw_rows` + the
publication rules for one year, all providers; beside it, in the same runs, the plain reference
statement (`reference_raw_rows`, the shape the report used before) and a raw count(*) scan of the
same tables. Prints one JSON line. Never run by the tests.

    .venv/bin/python benchmarks/reporting_statistics.py [--incidents 200000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg

from benchmarks.common import Figure
from contracts.codes import RestrictiveInterventionType
from services.reporting_service import statistics as st
from services.reporting_service.projection import DDL
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.statistics_queries import (
    published_row,
    raw_rows,
    reference_raw_rows,
)

TYPES = [t for t in RestrictiveInterventionType if not t.is_legacy]
REASONS = ["10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "98", "99"]


def fill(conn: psycopg.Connection, incidents: int, rng: random.Random) -> int:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    forces = 0
    with conn.cursor() as cur:
        with cur.copy("COPY rs_stat_incident FROM STDIN") as copy:
            ids = []
            for n in range(incidents):
                iid = uuid.UUID(int=rng.getrandbits(128))
                ids.append(iid)
                at = start + timedelta(minutes=rng.randrange(365 * 24 * 60))
                copy.write_row(
                    (
                        iid,
                        1,
                        n % 6,
                        n // 6,
                        f"R{n % 40:02d}",
                        f"Unit {n % 400}",
                        f"P-{rng.randrange(incidents // 4)}",
                        at,
                        rng.uniform(1, 90),
                        rng.choice(REASONS),
                        st.age_group(rng.randrange(14, 90)),
                        rng.choice(["Female", "Male", "Not known"]),
                        rng.choice(["White British", "Black British", "Asian British", "Other"]),
                    )
                )
        with cur.copy("COPY rs_stat_force FROM STDIN") as copy:
            for iid in ids:
                for seq in range(rng.choice((1, 1, 2, 3))):
                    kind = rng.choice(TYPES)
                    minutes = rng.uniform(1, 120)
                    copy.write_row(
                        (
                            iid,
                            1,
                            seq,
                            kind.value,
                            kind.category.value,
                            minutes,
                            st.duration_band(kind.category, minutes),
                            rng.random() < 0.1,
                        )
                    )
                    forces += 1
        cur.execute("ANALYZE rs_stat_incident")
        cur.execute("ANALYZE rs_stat_force")
    conn.commit()
    return forces


def measure(incidents: int = 200_000, runs: int = 5) -> dict[str, float | int]:
    """Fill a scratch schema, then time the year's statistics and a raw scan of the same rows."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    base = ReportingServiceSettings()
    with psycopg.connect(base.pg_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    settings = base.model_copy(update={"pg_schema": schema})
    try:
        with psycopg.connect(settings.pg_conninfo()) as conn:
            for stmt in DDL:
                conn.execute(stmt)
            conn.commit()
            loaded = time.perf_counter()
            forces = fill(conn, incidents, random.Random(6))
            loaded = time.perf_counter() - loaded
            topic = "useofforce.events"
            as_of = AsOf.of({(topic, p): incidents for p in range(6)})
            period = Period(date(2025, 1, 1), date(2025, 12, 31))
            timings, reference, raw = [], [], []
            rows: list[object] = []
            for _ in range(runs):
                started = time.perf_counter()
                with conn.cursor() as cur:
                    rows = [
                        published_row(r, 50_000)
                        for r in raw_rows(cur, settings, Scope(), period, as_of)
                    ]
                timings.append(time.perf_counter() - started)
                conn.rollback()
                started = time.perf_counter()
                with conn.cursor() as cur:
                    same = [
                        published_row(r, 50_000)
                        for r in reference_raw_rows(cur, settings, Scope(), period, as_of)
                    ]
                reference.append(time.perf_counter() - started)
                conn.rollback()
                if same != rows:
                    raise RuntimeError("the fast and the reference statement disagree")
                started = time.perf_counter()
                conn.execute("SELECT count(*) FROM rs_stat_force").fetchone()
                conn.execute("SELECT count(*) FROM rs_stat_incident").fetchone()
                raw.append(time.perf_counter() - started)
                conn.rollback()
        return {
            "incidents": incidents,
            "restrictive_interventions": forces,
            "rows_published": len(rows),
            "load_seconds": round(loaded, 2),
            "query_seconds_best": round(min(timings), 3),
            "query_seconds_median": round(sorted(timings)[len(timings) // 2], 3),
            "reference_query_seconds_best": round(min(reference), 3),
            "raw_scan_seconds_best": round(min(raw), 3),
        }
    finally:
        with psycopg.connect(base.pg_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run(incidents: int = 200_000) -> list[Figure]:
    m = measure(incidents, runs=3)
    return [
        Figure(
            "reporting: a year's statistics (seconds)",
            float(m["query_seconds_best"]),
            "s",
            float(m["raw_scan_seconds_best"]),
            "raw count(*) scan of the same fact tables",
            target="< 1 s over 200,000 incidents",
            extra={k: v for k, v in m.items() if k != "query_seconds_best"},
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
