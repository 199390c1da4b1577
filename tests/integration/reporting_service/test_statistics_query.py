"""The fast statistics statement against the plain reference statement, on the real PostgreSQL:
the same people, interventions, incidents, medians and maxima for every group (averages to the
last bits of floating-point summation order), whatever the scope, period and offsets."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from contracts.codes import RestrictiveInterventionReason, RestrictiveInterventionType
from services.common.settings import CommonSettings
from services.reporting_service import statistics as st
from services.reporting_service import statistics_queries as q
from services.reporting_service.projection import DDL
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.store import incident_topic

TYPES = list(RestrictiveInterventionType)
REASONS = [r.value for r in RestrictiveInterventionReason]
GENDERS = ["Female", "Male", "Not known", "Non-binary", "Prefer not to say"]
ETHNICITIES = ["White British", "Black Caribbean", "Not known", "Any other", "Indian", "Irish"]
MANY = [f"Recorded as {n}" for n in range(70)]  # more values than bits in a bigint mask


@pytest.fixture
def conn(settings: CommonSettings) -> Iterator[tuple[psycopg.Connection, CommonSettings]]:
    own = ReportingServiceSettings().model_copy(update={"pg_schema": settings.pg_schema})
    with psycopg.connect(own.pg_conninfo()) as conn:
        for statement in DDL:
            conn.execute(statement)
        conn.commit()
        yield conn, own


def fill(conn: psycopg.Connection, rng: random.Random, incidents: int = 600) -> int:
    """Incidents with 1-3 versions (amendments move reason, age, gender, forces), over three
    partitions; minutes on a coarse grid so that medians meet ties. Returns the end offset."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    offsets = [0, 0, 0]
    with conn.cursor() as cur:
        for n in range(incidents):
            iid = uuid.UUID(int=rng.getrandbits(128))
            part = n % 3
            at = start + timedelta(hours=rng.randrange(14 * 30 * 24))  # some in 2026
            person = f"P-{rng.randrange(incidents // 3)}"
            for version in range(1, rng.choice((1, 1, 2, 3)) + 1):
                offsets[part] += rng.randrange(1, 4)
                cur.execute(
                    "INSERT INTO rs_stat_incident VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (
                        iid, version, part, offsets[part], f"R0{n % 2}", f"Unit {n % 3}", person,
                        at, 30.0, rng.choice(REASONS), st.age_group(rng.choice((None, 15, 30, 70))),
                        rng.choice(GENDERS), rng.choice(rng.choice((ETHNICITIES, MANY))),
                    ),
                )  # fmt: skip
                for seq in range(rng.choice((1, 1, 2, 4))):
                    kind = rng.choice(TYPES)
                    minutes = rng.choice((0.5, 5, 10, 10.5, 30, 61)) * rng.choice((1, 1, 60, 1440))
                    cur.execute(
                        "INSERT INTO rs_stat_force VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                        (
                            iid, version, seq, kind.value, kind.category.value, minutes,
                            st.duration_band(kind.category, minutes), rng.random() < 0.2,
                        ),
                    )  # fmt: skip
    conn.commit()
    return max(offsets) + 1


def test_the_fast_statement_gives_the_reference_answer_for_any_scope_period_and_offsets(
    conn: tuple[psycopg.Connection, CommonSettings],
) -> None:
    connection, own = conn
    end = fill(connection, random.Random(66))
    topic = incident_topic(own)
    year = Period(date(2025, 1, 1), date(2025, 12, 31))
    cases = [
        (Scope(), year, end),
        (Scope(), year, end // 2),  # later amendments not yet in the log
        (Scope("R01"), Period(date(2025, 3, 1), date(2025, 8, 31)), end),
        (Scope("R00", "Unit 1"), year, end),
        (Scope(), Period(date(2030, 1, 1), date(2030, 1, 31)), end),  # nothing at all
    ]
    compared = 0
    for scope, period, offset in cases:
        as_of = AsOf.of({(topic, p): offset for p in range(3)})
        with connection.cursor() as cur:
            fast = q.raw_rows(cur, own, scope, period, as_of)
            reference = q.reference_raw_rows(cur, own, scope, period, as_of)
        connection.rollback()
        assert [r.key for r in fast] == [r.key for r in reference]
        for mine, theirs in zip(fast, reference, strict=True):
            exact = ("people", "interventions", "incidents", "median_minutes", "max_minutes")
            for field in exact:
                assert getattr(mine, field) == getattr(theirs, field), (mine, theirs, field)
            if theirs.avg_minutes is None:
                assert mine.avg_minutes is None
            else:
                assert math.isclose(mine.avg_minutes or 0, theirs.avg_minutes, rel_tol=1e-12)
            assert q.published_row(mine, 5000) == q.published_row(theirs, 5000)
            compared += 1
    assert compared > 150  # every breakdown had groups to compare
