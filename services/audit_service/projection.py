"""The audit projection: its tables (DDL) and how a poll batch of events is written to them.

Fed by ``services.common.consumer.TransactionalConsumer`` from the plan and use-of-force event
topics; each poll batch is one PostgreSQL transaction together with the consumed offsets, so a
crash anywhere gives neither loss nor double counting. ``apply_batch`` parses each record once
and writes each table with one ``executemany`` per batch.

Idempotence: an event is new when its (stream_id, stream_version) is not stored yet; a
redelivery (same event id) changes nothing; a *different* event claiming a stored place is kept
in ``au_conflicts`` and breaks that stream's chain. Leaves of the Merkle log are keyed by event
id, numbered per topic-partition in offset order (``leaf_seq``), so a replay numbers them alike.
No table has a column filled from the clock: a rebuild from offset 0 gives identical rows.

A record that is not a valid event (``ContractError``: field and rule) is rejected: the consumer
dead-letters it and ``on_rejected`` keeps (topic, partition, offset, field, rule) in
``au_rejected``. An event whose own hash does not match its content is *not* rejected: it is
stored with ``hash_ok = false`` (it is the evidence), named as the stream's broken link, and
its facts are left out of the involvement tables.

This module must never store or log names or free text, nor raise with an event's content.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from contracts import topics
from contracts.canonical import canonical_bytes_of_json, sha256_hash
from contracts.envelope import EventEnvelope, envelope_dict
from contracts.registry import current_version, parse_event
from services.audit_service import integrity
from services.audit_service.facts import TABLES, Row, facts_of
from services.common.consumer import Record, Rejection
from services.common.settings import CommonSettings

NAME = "audit_service-projection"

_FACT_DDL = {
    "au_plans": "plan_id uuid PRIMARY KEY, stream_version int NOT NULL, provider text NOT NULL,"
    " unit text NOT NULL, started_at timestamptz NOT NULL",
    "au_plan_closed": "plan_id uuid PRIMARY KEY, stream_version int NOT NULL,"
    " closed_at timestamptz NOT NULL, reason text NOT NULL",
    "au_participants": "plan_id uuid, participant_id uuid, stream_version int NOT NULL,"
    " role text NOT NULL, invited_at timestamptz NOT NULL, PRIMARY KEY (plan_id, participant_id)",
    "au_joins": "plan_id uuid, participant_id uuid, stream_version int NOT NULL,"
    " joined_at timestamptz NOT NULL, information_sharing_consent boolean,"
    " PRIMARY KEY (plan_id, participant_id)",
    "au_contributions": "plan_id uuid, contribution_id uuid, stream_version int NOT NULL,"
    " section text NOT NULL, author_participant_id uuid NOT NULL, mode text NOT NULL,"
    " recorded_by_participant_id uuid, made_at timestamptz NOT NULL,"
    " PRIMARY KEY (plan_id, contribution_id)",
    "au_presence": "plan_id uuid, contribution_id uuid, participant_id uuid, attendance text,"
    " PRIMARY KEY (plan_id, contribution_id, participant_id)",
    "au_versions": "plan_id uuid, version_number int, stream_version int NOT NULL,"
    " proposed_at timestamptz NOT NULL, proposed_by uuid NOT NULL,"
    " PRIMARY KEY (plan_id, version_number)",
    "au_version_contributions": "plan_id uuid, version_number int, contribution_id uuid,"
    " PRIMARY KEY (plan_id, version_number, contribution_id)",
    "au_agreements": "plan_id uuid, stream_version int, version_number int NOT NULL,"
    " participant_id uuid NOT NULL, mode text NOT NULL, agreed_at timestamptz NOT NULL,"
    " PRIMARY KEY (plan_id, stream_version)",
    "au_dissents": "plan_id uuid, dissent_id uuid, stream_version int NOT NULL,"
    " version_number int NOT NULL, section text, participant_id uuid NOT NULL,"
    " mode text NOT NULL, recorded_at timestamptz NOT NULL, PRIMARY KEY (plan_id, dissent_id)",
    "au_dissent_responses": "plan_id uuid, stream_version int, dissent_id uuid NOT NULL,"
    " outcome text NOT NULL, responded_by uuid NOT NULL, responded_at timestamptz NOT NULL,"
    " PRIMARY KEY (plan_id, stream_version)",
    "au_reviews_scheduled": "plan_id uuid, review_id uuid, stream_version int NOT NULL,"
    " due_on date NOT NULL, trigger text NOT NULL, incident_id uuid,"
    " scheduled_at timestamptz NOT NULL, PRIMARY KEY (plan_id, review_id)",
    "au_reviews_completed": "plan_id uuid, stream_version int, review_id uuid,"
    " trigger text NOT NULL, incident_id uuid, completed_at timestamptz NOT NULL,"
    " changes_needed boolean NOT NULL, next_review_due_on date,"
    " PRIMARY KEY (plan_id, stream_version)",
    "au_review_participants": "plan_id uuid, stream_version int, participant_id uuid,"
    " attendance text, PRIMARY KEY (plan_id, stream_version, participant_id)",
    "au_shares": "plan_id uuid, stream_version int, version_number int NOT NULL,"
    " participant_id uuid NOT NULL, method text NOT NULL, shared_at timestamptz NOT NULL,"
    " PRIMARY KEY (plan_id, stream_version)",
    "au_incidents": "incident_id uuid PRIMARY KEY, stream_version int NOT NULL, plan_id uuid,"
    " plan_version_in_force int, provider text NOT NULL, unit text NOT NULL,"
    " started_at timestamptz NOT NULL",
    "au_incident_reviews": "incident_id uuid, stream_version int, held_with_patient boolean,"
    " patient_review_on date, PRIMARY KEY (incident_id, stream_version)",
}

DDL: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS au_events (
        stream_id uuid NOT NULL, stream_version int NOT NULL, event_id uuid NOT NULL,
        stream_type text NOT NULL, event_type text NOT NULL, schema_version int NOT NULL,
        occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL,
        actor_role text NOT NULL, actor_on_behalf boolean NOT NULL,
        event_hash text NOT NULL, previous_hash text, hash_ok boolean NOT NULL,
        topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
        PRIMARY KEY (stream_id, stream_version)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS au_conflicts (
        stream_id uuid NOT NULL, stream_version int NOT NULL, event_id uuid NOT NULL,
        event_hash text NOT NULL, topic text NOT NULL, partition int NOT NULL,
        "offset" bigint NOT NULL, PRIMARY KEY (stream_id, stream_version, event_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS au_streams (
        stream_id uuid PRIMARY KEY, stream_type text NOT NULL,
        verified_version int NOT NULL, verified_hash text, max_version int NOT NULL,
        break_version int, break_event_id uuid, break_rule text
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS au_leaves (
        event_id uuid PRIMARY KEY, topic text NOT NULL, partition int NOT NULL,
        "offset" bigint NOT NULL, leaf_seq bigint NOT NULL, event_hash text NOT NULL,
        UNIQUE (topic, partition, leaf_seq)
    )
    """,
    'CREATE INDEX IF NOT EXISTS au_leaves_position ON au_leaves (topic, partition, "offset")',
    """
    CREATE TABLE IF NOT EXISTS au_rejected (
        topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
        field text NOT NULL, rule text NOT NULL, PRIMARY KEY (topic, partition, "offset")
    )
    """,
    *(f"CREATE TABLE IF NOT EXISTS {t} ({cols})" for t, cols in _FACT_DDL.items()),
    "CREATE INDEX IF NOT EXISTS au_versions_proposed ON au_versions (proposed_at)",
    "CREATE INDEX IF NOT EXISTS au_plans_scope ON au_plans (provider, unit)",
    "CREATE INDEX IF NOT EXISTS au_incidents_plan ON au_incidents (plan_id)",
]

PROJECTION_TABLES: tuple[str, ...] = (
    "au_events",
    "au_conflicts",
    "au_streams",
    "au_leaves",
    "au_rejected",
    *TABLES,
)
"""Every table this projection writes (consumer_offsets aside), e.g. for full dumps."""

# table and column names are this module's constants, never input
_INSERT = {
    table: f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"  # noqa: S608
    " ON CONFLICT DO NOTHING"
    for table, cols in TABLES.items()
}


class ProjectionError(ValueError):
    """A record the projection refuses; names the field and rule (dead-letter headers)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} violates {rule}")
        self.field = field
        self.rule = rule


@dataclass(frozen=True)
class Parsed:
    record: Record
    event: EventEnvelope[Any]
    """The event upcast to the current schema version (hash fields as written)."""
    hash_ok: bool


def parse(record: Record, expected_stream_type: str) -> Parsed:
    """Parse once, strictly; check the own hash over the event as written (as compute_hash)."""
    raw = record.value or b""
    written = parse_event(raw, upcast=False, verify=False)  # ContractError: field and rule
    if written.stream_type != expected_stream_type:
        raise ProjectionError("stream_type", "topic_carries_stream_type")
    if record.key is not None and record.key != topics.record_key(written.stream_id):
        raise ProjectionError("stream_id", "key_is_stream_id")
    # the JSON-mode dump is already canonical JSON data: the same bytes as compute_hash()
    own = sha256_hash(canonical_bytes_of_json(envelope_dict(written, with_hash=False)))
    event = written
    if written.schema_version != current_version(written.event_type):
        event = parse_event(raw, verify=False)
    return Parsed(record, event, own == written.hash)


class AuditProjection:
    """The Projection (services.common.consumer) behind every audit answer of this service."""

    def __init__(self, settings: CommonSettings, name: str = NAME) -> None:
        self.name = name
        self.plan_topic = topics.topic(topics.PLAN_EVENTS, settings.topic_prefix)
        self.incident_topic = topics.topic(topics.USE_OF_FORCE_EVENTS, settings.topic_prefix)

    def topics(self) -> Sequence[str]:
        return [self.plan_topic, self.incident_topic]

    def schema(self) -> Sequence[str]:
        return DDL

    def on_rejected(self, cur: psycopg.Cursor[Any], record: Record, why: Rejection) -> None:
        cur.execute(
            "INSERT INTO au_rejected VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (record.topic, record.partition, record.offset, why.field, why.rule),
        )

    def apply(self, cur: psycopg.Cursor[Any], record: Record) -> None:
        self.apply_batch(cur, [record])

    def _stream_type(self, topic: str) -> str:
        return "safety_plan" if topic == self.plan_topic else "use_of_force_incident"

    def apply_batch(self, cur: psycopg.Cursor[Any], records: Sequence[Record]) -> None:
        parsed = [parse(r, self._stream_type(r.topic)) for r in records]
        if not parsed:
            return
        self._leaves(cur, parsed)
        fresh, conflicts = self._new_events(cur, parsed)
        rows: dict[str, list[Row]] = defaultdict(list)
        for item in fresh:
            if item.hash_ok:  # a tampered event is evidence, not a fact
                for table, row in facts_of(item.event):
                    rows[table].append(row)
        for table, table_rows in rows.items():
            cur.executemany(_INSERT[table], table_rows)
        self._chains(cur, fresh, conflicts)

    # --- Merkle leaves -----------------------------------------------------------------------
    def _leaves(self, cur: psycopg.Cursor[Any], parsed: list[Parsed]) -> None:
        ids = list({p.event.event_id for p in parsed})
        seen = {
            r[0]
            for r in cur.execute(
                "SELECT event_id FROM au_leaves WHERE event_id = ANY(%s)", (ids,)
            ).fetchall()
        }
        tps = sorted({(p.record.topic, p.record.partition) for p in parsed})
        next_seq: dict[tuple[str, int], int] = {}
        for topic, partition in tps:
            row = cur.execute(
                "SELECT max(leaf_seq) FROM au_leaves WHERE topic = %s AND partition = %s",
                (topic, partition),
            ).fetchone()
            next_seq[(topic, partition)] = 0 if row is None or row[0] is None else row[0] + 1
        leaves = []
        for p in parsed:  # partition order, offsets ascending within a partition
            if p.event.event_id in seen:
                continue
            seen.add(p.event.event_id)
            tp = (p.record.topic, p.record.partition)
            leaves.append((p.event.event_id, *tp, p.record.offset, next_seq[tp], p.event.hash))
            next_seq[tp] += 1
        cur.executemany(
            'INSERT INTO au_leaves (event_id, topic, partition, "offset", leaf_seq, event_hash)'
            " VALUES (%s, %s, %s, %s, %s, %s)",
            leaves,
        )

    # --- events, duplicates and conflicts ----------------------------------------------------
    def _new_events(
        self, cur: psycopg.Cursor[Any], parsed: list[Parsed]
    ) -> tuple[list[Parsed], list[Parsed]]:
        keys = list({(p.event.stream_id, p.event.stream_version) for p in parsed})
        stored: dict[tuple[UUID, int], UUID] = {
            (r[0], r[1]): r[2]
            for r in cur.execute(
                "SELECT e.stream_id, e.stream_version, e.event_id FROM au_events e"
                " JOIN unnest(%s::uuid[], %s::int[]) AS k(s, v)"
                " ON e.stream_id = k.s AND e.stream_version = k.v",
                ([k[0] for k in keys], [k[1] for k in keys]),
            ).fetchall()
        }
        fresh: list[Parsed] = []
        conflicts: list[Parsed] = []
        for p in parsed:
            e = p.event
            key = (e.stream_id, e.stream_version)
            if key not in stored:
                stored[key] = e.event_id
                fresh.append(p)
            elif stored[key] != e.event_id:
                conflicts.append(p)
            # else: a redelivery of a stored event - nothing to do
        cur.executemany(
            "INSERT INTO au_events VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    e.stream_id,
                    e.stream_version,
                    e.event_id,
                    e.stream_type,
                    e.event_type,
                    e.schema_version,
                    e.occurred_at,
                    e.recorded_at,
                    e.actor.role,
                    e.actor.on_behalf_of is not None,
                    e.hash,
                    e.previous_hash,
                    p.hash_ok,
                    p.record.topic,
                    p.record.partition,
                    p.record.offset,
                )
                for p in fresh
                for e in (p.event,)
            ],
        )
        cur.executemany(
            "INSERT INTO au_conflicts VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [
                (
                    p.event.stream_id,
                    p.event.stream_version,
                    p.event.event_id,
                    p.event.hash,
                    p.record.topic,
                    p.record.partition,
                    p.record.offset,
                )
                for p in conflicts
            ],
        )
        return fresh, conflicts

    # --- hash chains -------------------------------------------------------------------------
    def _chains(
        self, cur: psycopg.Cursor[Any], fresh: list[Parsed], conflicts: list[Parsed]
    ) -> None:
        by_stream: dict[UUID, list[Parsed]] = defaultdict(list)
        for p in fresh:
            by_stream[p.event.stream_id].append(p)
        stream_types = {p.event.stream_id: p.event.stream_type for p in fresh + conflicts}
        if not stream_types:
            return
        states = {
            r[0]: integrity.ChainState(
                r[1], r[2], r[3], integrity.Break(r[4], r[5], r[6]) if r[4] is not None else None
            )
            for r in cur.execute(
                "SELECT stream_id, verified_version, verified_hash, max_version,"
                " break_version, break_event_id, break_rule FROM au_streams"
                " WHERE stream_id = ANY(%s)",
                (list(stream_types),),
            ).fetchall()
        }
        out = []
        for stream_id, stream_type in stream_types.items():
            state = states.get(stream_id, integrity.ChainState())
            events = [_chain_event(p) for p in by_stream.get(stream_id, [])]
            if state.max_version > state.verified_version and state.broken is None:
                events += self._stored_unverified(cur, stream_id, state.verified_version)
            state = integrity.advance(state, events)
            for p in conflicts:
                if p.event.stream_id == stream_id:
                    state = integrity.conflict(state, p.event.stream_version, p.event.event_id)
            b = state.broken
            out.append(
                (
                    stream_id,
                    stream_type,
                    state.verified_version,
                    state.verified_hash,
                    state.max_version,
                    b.stream_version if b else None,
                    b.event_id if b else None,
                    b.rule if b else None,
                )
            )
        cur.executemany(
            "INSERT INTO au_streams VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (stream_id) DO UPDATE SET verified_version = excluded.verified_version,"
            " verified_hash = excluded.verified_hash, max_version = excluded.max_version,"
            " break_version = excluded.break_version, break_event_id = excluded.break_event_id,"
            " break_rule = excluded.break_rule",
            out,
        )

    def _stored_unverified(
        self, cur: psycopg.Cursor[Any], stream_id: UUID, after: int
    ) -> list[integrity.ChainEvent]:
        rows = cur.execute(
            "SELECT stream_version, event_id, event_hash, previous_hash, hash_ok FROM au_events"
            " WHERE stream_id = %s AND stream_version > %s ORDER BY stream_version",
            (stream_id, after),
        ).fetchall()
        return [integrity.ChainEvent(*r) for r in rows]


def _chain_event(p: Parsed) -> integrity.ChainEvent:
    e = p.event
    return integrity.ChainEvent(e.stream_version, e.event_id, e.hash, e.previous_hash, p.hash_ok)
