"""The statistics report (coded facts, counted in numpy) against the plain reference statement,
on the real PostgreSQL: the same people, interventions, incidents, medians and maxima for every
group (averages to the last bits of floating-point summation order), whatever the scope, period
and offsets, with amendments, versions arriving out of order and erasures. Both forms of the
facts are written by the projection's own writer."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from contracts.codes import RestrictiveInterventionReason, RestrictiveInterventionType
from services.common.settings import CommonSettings
from services.reporting_service import statistics_facts as facts
from services.reporting_service import statistics_queries as q
from services.reporting_service.projection import DDL
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.store import incident_topic

TYPES = list(RestrictiveInterventionType)
REASONS = [r.value for r in RestrictiveInterventionReason]
GENDERS = ["Female", "Male", "Not known", "Non-binary", "Prefer not to say"]
ETHNICITIES = ["White British", "Black Caribbean", "Not known", "Any other", "Indian", "Irish"]
MANY = [f"Recorded as {n}" for n in range(70)]  # many free-text values


@pytest.fixture
def conn(pg_schema: str) -> Iterator[tuple[psycopg.Connection, CommonSettings]]:
    """A schema of the test's own with the projection's tables (PostgreSQL only: no topics)."""
    own = ReportingServiceSettings().model_copy(update={"pg_schema": pg_schema})
    with psycopg.connect(own.pg_conninfo()) as conn:
        for statement in DDL:
            conn.execute(statement)
        conn.commit()
        yield conn, own


def record(
    rng: random.Random, n: int, person: str, at: datetime, ethnicities: list[str]
) -> dict[str, Any]:
    """One incident record as the projection holds it (JSON values), with 1-4 force periods;
    durations on a coarse grid so that medians meet ties, some with odd microseconds."""
    uses = []
    for _ in range(rng.choice((1, 1, 2, 4))):
        minutes = rng.choice((0.5, 5, 10, 10.5, 30, 61)) * rng.choice((1, 1, 60, 1440))
        took = timedelta(minutes=minutes, microseconds=rng.choice((0, 0, 0, rng.randrange(10**6))))
        uses.append(
            {
                "force_type": rng.choice(TYPES).value,
                "started_at": at.isoformat(),
                "ended_at": (at + took).isoformat(),
                "injury_patient": rng.random() < 0.2,
            }
        )
    return {
        "setting": {"provider_ods_code": f"R0{n % 2}", "unit_name": f"Unit {n % 3}"},
        "patient": {"person_id": person},
        "started_at": at.isoformat(),
        "ended_at": (at + timedelta(days=400)).isoformat(),
        "reason": rng.choice(REASONS),
        "relevant_characteristics": {
            "age_years": rng.choice((None, 15, 30, 70)),
            "gender": rng.choice(GENDERS),
            "ethnicity": rng.choice(ethnicities),
        },
        "force_used": uses,
    }


def fill(conn: psycopg.Connection, rng: random.Random, incidents: int = 600) -> int:
    """Incidents with 1-3 versions (amendments move reason, age, gender, forces), over three
    partitions, written as the projection writes them; a few incidents' versions arrive latest
    first. Returns the end offset."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    offsets = [0, 0, 0]
    with conn.cursor() as cur, conn.pipeline():
        for n in range(incidents):
            iid = uuid.UUID(int=rng.getrandbits(128))
            part = n % 3
            at = start + timedelta(hours=rng.randrange(14 * 30 * 24))  # some in 2026
            person = f"P-{rng.randrange(incidents // 3)}"
            ethnicities = rng.choice((ETHNICITIES, MANY))
            versions = list(range(1, rng.choice((1, 1, 2, 3)) + 1))
            if rng.random() < 0.1:
                versions.reverse()
            for version in versions:
                offsets[part] += rng.randrange(1, 4)
                facts.write_version(
                    cur, part, offsets[part], iid, version, record(rng, n, person, at, ethnicities)
                )
    conn.commit()
    return max(offsets) + 1


def compare(
    connection: psycopg.Connection, own: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> int:
    """Asserts that the report's rows are the reference's; returns how many were compared."""
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
    return len(fast)


def test_the_report_gives_the_reference_answer_for_any_scope_period_and_offsets(
    conn: tuple[psycopg.Connection, CommonSettings],
) -> None:
    connection, own = conn
    end = fill(connection, random.Random(66))
    topic = incident_topic(own)
    year = Period(date(2025, 1, 1), date(2025, 12, 31))
    cases = [
        (Scope(), year, dict.fromkeys(range(3), end)),
        (Scope(), year, dict.fromkeys(range(3), end // 2)),  # later amendments not yet in the log
        (Scope(), year, {0: end // 3, 1: end // 2, 2: 2 * end // 3}),
        (Scope(), year, {0: end, 1: end}),  # a partition not read at all
        (Scope("R01"), Period(date(2025, 3, 1), date(2025, 8, 31)), dict.fromkeys(range(3), end)),
        (Scope("R00", "Unit 1"), year, dict.fromkeys(range(3), end)),
        (Scope(), Period(date(2030, 1, 1), date(2030, 1, 31)), dict.fromkeys(range(3), end)),
    ]
    rng = random.Random(7)
    cases += [(Scope(), year, {p: rng.randrange(end) for p in range(3)}) for _ in range(5)]
    compared = 0
    for scope, period, ends in cases:
        compared += compare(
            connection, own, scope, period, AsOf.of({(topic, p): o for p, o in ends.items()})
        )
    assert compared > 400  # every breakdown had groups to compare

    with connection.cursor() as cur:  # erasure: characteristics become not known, counts stay
        for n in range(0, 200, 3):
            facts.erase_person(cur, f"P-{n}")
    connection.commit()
    for scope, period, ends in cases[:3]:
        compare(connection, own, scope, period, AsOf.of({(topic, p): o for p, o in ends.items()}))


_FACTS = (
    "SELECT partition, written_offset, superseded_offset, started_at, header, interventions, "
    "provider, unit, incident_id, stream_version, person_key, gender_key, ethnicity_key, "
    "reason_code, age_code, intervention_count FROM rs_stat_facts "
    "ORDER BY incident_id, stream_version"
)


def _upgrade(connection: psycopg.Connection) -> None:
    """What a service start does to the schema (the projection's DDL, the backfill in it)."""
    for statement in DDL:
        connection.execute(statement)
    connection.commit()


def test_coded_facts_missing_from_a_schema_of_before_them_are_derived_from_the_plain_form(
    conn: tuple[psycopg.Connection, CommonSettings],
) -> None:
    connection, own = conn
    end = fill(connection, random.Random(67), incidents=300)
    with connection.cursor() as cur:
        for n in range(0, 100, 7):
            facts.erase_person(cur, f"P-{n}")
    connection.commit()
    written = connection.execute(_FACTS).fetchall()
    assert len(written) > 300
    assert any(row[2] is not None for row in written)

    connection.execute("DELETE FROM rs_stat_facts")  # a schema from before the coded facts
    connection.commit()
    _upgrade(connection)
    assert connection.execute(_FACTS).fetchall() == written

    # some versions coded, some not: the first versions coded (they arrived last, after the
    # upgrade), so they do not know yet that the later ones supersede them
    connection.execute("DELETE FROM rs_stat_facts WHERE stream_version > 1")
    connection.execute("UPDATE rs_stat_facts SET superseded_offset = NULL")
    connection.commit()
    _upgrade(connection)
    assert connection.execute(_FACTS).fetchall() == written

    # dictionaries gone too: other keys, the same statistics as the reference statement
    connection.execute(
        "DELETE FROM rs_stat_facts; DELETE FROM rs_stat_people; DELETE FROM rs_stat_labels"
    )
    connection.commit()
    _upgrade(connection)
    topic = incident_topic(own)
    year = Period(date(2025, 1, 1), date(2025, 12, 31))
    for ends in (dict.fromkeys(range(3), end), {0: end // 3, 1: end // 2, 2: end}):
        as_of = AsOf.of({(topic, p): o for p, o in ends.items()})
        assert compare(connection, own, Scope(), year, as_of) > 100

    # a band the code lists no longer hold: the start stops and names the remedy, rather than
    # leave the force period out of the counts
    connection.execute("DELETE FROM rs_stat_facts")
    connection.execute("UPDATE rs_stat_force SET band = 'retired band' WHERE seq = 0")
    connection.commit()
    with pytest.raises(psycopg.errors.RaiseException, match="replay the reporting projection"):
        _upgrade(connection)
