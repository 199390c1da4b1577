"""The audit projection on the real Kafka and PostgreSQL: exactly-once tables through crashes,
consumer groups, redeliveries and rebuilds, and tampering named by event id.

"Identical" is checked on full dumps of every audit table (consumer_offsets aside).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import pytest

from contracts import plan_events as pe
from contracts.codes import ContributionMode, ParticipantRole
from contracts.envelope import EventEnvelope
from services.audit_service import audit
from services.audit_service.projection import NAME, PROJECTION_TABLES, AuditProjection
from services.audit_service.settings import AuditServiceSettings
from services.common.consumer import Record, TransactionalConsumer, run_in_thread
from services.common.db import open_pool
from services.common.settings import CommonSettings
from tests.integration.audit_service.builders import co_produced, produce, tampered


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing handles it."""


class CrashingProjection(AuditProjection):
    """Writes part of a batch, then dies in the middle of it."""

    def __init__(self, settings: CommonSettings, after: int) -> None:
        super().__init__(settings)
        self.left = after

    def apply_batch(self, cur: psycopg.Cursor[Any], records: Sequence[Record]) -> None:
        if len(records) >= self.left:
            super().apply_batch(cur, records[: self.left // 2])
            raise Crash
        self.left -= len(records)
        super().apply_batch(cur, records)


@pytest.fixture
def own(settings: CommonSettings) -> AuditServiceSettings:
    return AuditServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )


@pytest.fixture
def other(own: AuditServiceSettings) -> Iterator[AuditServiceSettings]:
    """A second, empty schema on the same topics: for reference runs and rebuilds."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(own.pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield own.model_copy(update={"pg_schema": schema})
    with psycopg.connect(own.pg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def plans(n: int, prefix: str = "p") -> list[EventEnvelope[Any]]:
    return [e for i in range(n) for e in co_produced(f"{prefix}{i}", f"Unit {i % 2}").events]


REFERENCE = f"{NAME}-reference"
"""Runs into the `other` schema use their own group, so they never share partitions."""


def consumer(
    s: CommonSettings,
    projection: AuditProjection | None = None,
    batch: int = 2000,
    name: str = NAME,
) -> TransactionalConsumer:
    c = TransactionalConsumer(
        s, projection or AuditProjection(s, name), open_pool(s), max_poll_records=batch
    )
    c.setup()
    return c


def drain(consumers: list[TransactionalConsumer], done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, "the consumers did not catch up in time"
        for c in consumers:
            c.poll_once(timeout_ms=200)


def applied(c: TransactionalConsumer) -> int:
    return sum(c.stored_offsets().values())


def run_to_end(
    s: CommonSettings, records: int, batch: int = 2000, name: str = NAME
) -> TransactionalConsumer:
    c = consumer(s, batch=batch, name=name)
    drain([c], lambda: applied(c) >= records)
    return c


def close(*consumers: TransactionalConsumer) -> None:
    for c in consumers:
        c.close()
        c.pool.close()


def dump(s: CommonSettings) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(s.pg_conninfo()) as conn:
        return {
            t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}"))  # noqa: S608
            for t in PROJECTION_TABLES
        }


def test_a_consumer_killed_mid_batch_and_restarted_gives_the_uninterrupted_tables(
    own: AuditServiceSettings, other: AuditServiceSettings
) -> None:
    events = plans(6)
    produce(own, events)
    dying = consumer(own, CrashingProjection(own, after=70), batch=25)
    with pytest.raises(Crash):
        drain([dying], lambda: False)
    close(dying)
    partial = dump(own)
    assert 0 < len(partial["au_events"]) < len(events)
    restarted = run_to_end(own, len(events), batch=25)
    reference = run_to_end(other, len(events), name=REFERENCE)
    assert dump(own) == dump(other)
    assert len(dump(own)["au_events"]) == len(events)
    close(restarted, reference)


def test_two_instances_in_one_group_split_the_partitions_and_make_the_same_tables(
    own: AuditServiceSettings, other: AuditServiceSettings
) -> None:
    first, second = consumer(own, batch=20), consumer(own, batch=20)
    threads = [run_in_thread(first), run_in_thread(second)]
    deadline = time.monotonic() + 30
    while len(first.assigned() | second.assigned()) < 12 or not (
        first.assigned() and second.assigned()
    ):
        assert time.monotonic() < deadline, "the group never gave both members partitions"
        time.sleep(0.1)
    assert not first.assigned() & second.assigned()
    events = plans(10)
    produce(own, events)
    while applied(first) < len(events):
        assert time.monotonic() < deadline + 30, "the group did not catch up in time"
        time.sleep(0.2)
    for c in (first, second):
        c.stop()
    for t in threads:
        t.join(timeout=30)
    assert first.applied > 0
    assert second.applied > 0
    reference = run_to_end(other, len(events), name=REFERENCE)
    assert dump(own) == dump(other)
    first.pool.close()
    second.pool.close()
    close(reference)


def test_redelivered_events_change_nothing_and_a_rebuild_from_zero_equals_the_live_tables(
    own: AuditServiceSettings, other: AuditServiceSettings
) -> None:
    events = plans(4)
    produce(own, events[: len(events) // 2])
    live = run_to_end(own, len(events) // 2, batch=30)
    produce(own, events[len(events) // 2 :])
    drain([live], lambda: applied(live) >= len(events))
    before = dump(own)
    with psycopg.connect(own.pg_conninfo()) as conn:
        root_before = audit.merkle_root(conn, NAME, None)
    produce(own, events[::3])  # the relay sends some events again
    drain([live], lambda: applied(live) >= len(events) + len(events[::3]))
    assert dump(own) == before
    with psycopg.connect(own.pg_conninfo()) as conn:
        root_after = audit.merkle_root(conn, NAME, None)
    assert (root_after.size, root_after.root) == (root_before.size, root_before.root)
    assert root_after.size == len(events)
    rebuilt = run_to_end(other, len(events) + len(events[::3]), batch=500, name=REFERENCE)
    assert dump(other) == dump(own)
    close(live, rebuilt)


def test_a_tampered_event_a_missing_version_and_a_conflicting_event_are_named(
    own: AuditServiceSettings,
) -> None:
    altered = co_produced("altered")
    gap = co_produced("gap")
    clash = co_produced("clash")
    intact = co_produced("intact")
    other_third = (
        co_produced("clash-other").events[2].model_copy(update={"stream_id": clash.plan_id})
    )
    records = [
        *tampered(altered.events, 4),
        *[e for e in gap.events if e.stream_version != 6],
        *clash.events,
        *intact.events,
    ]
    produce(own, records)
    produce(own, [other_third])  # a different event (its hash is then wrong, too) at version 3
    c = run_to_end(own, len(records) + 1)
    close(c)
    with psycopg.connect(own.pg_conninfo()) as conn:
        broken = audit.stream_integrity(conn, altered.plan_id)
        missing = audit.stream_integrity(conn, gap.plan_id)
        conflicting = audit.stream_integrity(conn, clash.plan_id)
        fine = audit.stream_integrity(conn, intact.plan_id)
        summary = audit.integrity_summary(conn, 100)
        consent = conn.execute(
            "SELECT count(*) FROM au_joins WHERE plan_id = %s", (altered.plan_id,)
        ).fetchone()
    assert broken.first_break is not None
    assert broken.first_break.rule == "hash_mismatch"
    assert broken.first_break.event_id == altered.events[4].event_id
    assert broken.verified_version == 4
    assert missing.first_break is not None
    assert missing.first_break.rule == "missing_version"
    assert missing.first_break.stream_version == 6
    assert missing.first_break.event_id == gap.events[6].event_id
    assert conflicting.first_break is not None
    assert conflicting.first_break.rule == "conflicting_version"
    assert conflicting.first_break.event_id == other_third.event_id
    assert fine.intact
    assert fine.verified_version == len(intact.events)
    assert summary.streams == 4
    assert summary.streams_with_problems == 3
    assert consent == (2,)  # the tampered join is evidence, not a fact


def test_a_fact_whose_key_is_stored_by_an_earlier_batch_keeps_the_first_row(
    own: AuditServiceSettings, other: AuditServiceSettings
) -> None:
    # The same participant invited twice (another role), a contribution id used twice and the
    # plan started twice: each second fact meets the first one's key, stored by an earlier
    # batch when applied two records at a time, in the same batch for the reference.
    b = co_produced("twice")
    b.add(
        pe.ParticipantInvitedV1(
            participant_id=b.pid("carer"), role=ParticipantRole.ADVOCATE, name="Someone"
        )
    )
    first = b.events[7].payload
    b.add(first.model_copy(update={"mode": ContributionMode.REMOTE}))
    b.add(b.events[0].payload)
    produce(own, b.events)
    small = run_to_end(own, len(b.events), batch=2)
    whole = run_to_end(other, len(b.events), name=REFERENCE)
    assert dump(own) == dump(other)
    with psycopg.connect(own.pg_conninfo()) as conn:
        role = conn.execute(
            "SELECT role FROM au_participants WHERE plan_id = %s AND participant_id = %s",
            (b.plan_id, b.pid("carer")),
        ).fetchone()
        versions = conn.execute(
            "SELECT count(*) FROM au_events WHERE stream_id = %s", (b.plan_id,)
        ).fetchone()
    assert role == (ParticipantRole.CARER_OR_FAMILY.value,)
    assert versions == (len(b.events),)
    close(small, whole)
