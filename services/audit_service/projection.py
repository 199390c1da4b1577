"""The audit projection: its tables (DDL) and how a poll batch of events is written to them.

Fed by ``services.common.consumer.TransactionalConsumer`` from the plan and use-of-force event
topics; each poll batch is one PostgreSQL transaction together with the consumed offsets, so a
crash anywhere gives neither loss nor double counting. ``apply_batch`` reads each record once
(``reader.py``: no pydantic model for a canonical, intact event), reads what is stored about
the batch in one pipeline, and writes with a COPY each for ``au_events``/``au_leaves`` and one
pipeline of ``INSERT … SELECT FROM unnest`` for every other table (``bulk.py``): a handful of
round trips per batch, however many events and tables. Applying a batch in parts, one after
the other in the same transaction, gives the same rows as applying it whole.

Idempotence: an event is new when its (stream_id, stream_version) is not stored yet; a
redelivery (same event id) changes nothing; a *different* event claiming a stored place is kept
in ``au_conflicts`` and breaks that stream's chain. Leaves of the Merkle log are keyed by event
id, numbered per topic-partition in offset order (``leaf_seq``), so a replay numbers them alike.
No table has a column filled from the clock: a rebuild from offset 0 gives identical rows.

A record that is not a valid event (``ContractError``: field and rule) is rejected: the consumer
sends it to the events dead-letter topic (``contracts.topics.EVENTS_DLQ``, original bytes and
dlq-* headers) and ``on_rejected`` keeps (topic, partition, offset, field, rule) in
``au_rejected``. An event whose own hash does not match its content is *not* rejected: it is
stored with ``hash_ok = false`` (it is the evidence), named as the stream's broken link, and
its facts are left out of the involvement tables.

This module must never store or log names or free text, nor raise with an event's content.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

import psycopg

from contracts import topics
from contracts.errors import ContractError
from services.audit_service import bulk, integrity
from services.audit_service.facts import TABLES, Row
from services.audit_service.reader import AuditEvent, ProjectionError, read_event
from services.common.consumer import ReadRecord, Record, Rejection
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
    # the Merkle log is read in (topic, partition, leaf_seq) order, the UNIQUE index above; an
    # index on the offsets cost every replayed event a third index entry and served no query
    "DROP INDEX IF EXISTS au_leaves_position",
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


def _table_ddl(table: str) -> str:
    return next(d for d in DDL if re.search(rf"\b{table} \(", d))


def _column_types(table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """Each column's SQL type, read from this module's DDL (one source of truth)."""
    ddl = _table_ddl(table)
    found = []
    for column in columns:
        match = re.search(rf'(?:^|[(,]\s*)"?{column}"? (\w+)', ddl)
        if match is None:
            raise LookupError(f"{table}.{column} is not in the DDL")
        found.append(match.group(1))
    return tuple(found)


def _key_width(table: str, columns: Sequence[str]) -> int:
    """How many leading ``columns`` are the table's primary key, read from the DDL."""
    ddl = _table_ddl(table)
    clause = re.search(r"PRIMARY KEY \(([^)]*)\)", ddl)
    if clause is not None:
        key = [c.strip().strip('"') for c in clause.group(1).split(",")]
    else:
        inline = re.search(r'(?:^|[(,]\s*)"?(\w+)"? \w+ PRIMARY KEY', ddl)
        if inline is None:
            raise LookupError(f"{table} has no primary key in the DDL")
        key = [inline.group(1)]
    if list(columns[: len(key)]) != key:
        raise LookupError(f"{table}: the primary key is not the leading columns")
    return len(key)


EVENT_COLUMNS = (
    "topic",
    "partition",
    "offset",
    "event_id",
    "event_type",
    "schema_version",
    "stream_type",
    "stream_id",
    "stream_version",
    "occurred_at",
    "recorded_at",
    "actor_role",
    "actor_on_behalf",
    "event_hash",
    "previous_hash",
    "hash_ok",
)
"""au_events' columns in ``AuditEvent``'s order, so a row is a slice of the event."""
if (
    tuple("event_hash" if f == "hash" else f for f in AuditEvent._fields[: len(EVENT_COLUMNS)])
    != EVENT_COLUMNS
):
    raise LookupError("EVENT_COLUMNS must follow AuditEvent's fields")
LEAF_COLUMNS = ("event_id", "topic", "partition", "offset", "leaf_seq", "event_hash")
CONFLICT_COLUMNS = (
    "stream_id",
    "stream_version",
    "event_id",
    "event_hash",
    "topic",
    "partition",
    "offset",
)
STREAM_COLUMNS = (
    "stream_id",
    "stream_type",
    "verified_version",
    "verified_hash",
    "max_version",
    "break_version",
    "break_event_id",
    "break_rule",
)
_STREAM_UPDATE = tuple(c for c in STREAM_COLUMNS if c not in ("stream_id", "stream_type"))
WRITES: dict[str, bulk.Table] = {
    table: bulk.Table(table, columns, _column_types(table, columns), _key_width(table, columns))
    for table, columns in (
        *TABLES.items(),
        ("au_conflicts", CONFLICT_COLUMNS),
        ("au_streams", STREAM_COLUMNS),
    )
}
"""Tables written with ``INSERT … SELECT FROM unnest`` (one statement each, one pipeline)."""
COPY_LEAVES = bulk.copy_statement("au_leaves", LEAF_COLUMNS)
COPY_EVENTS = bulk.copy_statement("au_events", EVENT_COLUMNS)
PLAIN_INSERT = {table: bulk.plain_insert_statement(t) for table, t in WRITES.items()}
UPDATE_STREAMS = bulk.update_statement(WRITES["au_streams"], _STREAM_UPDATE)

__all__ = ["DDL", "NAME", "PROJECTION_TABLES", "AuditProjection", "ProjectionError"]

Read = AuditEvent | ContractError | ProjectionError
"""What ``AuditProjection.read`` makes of one record: the event, or why it is refused."""


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
        for _, exc in self.apply_batch(cur, [record]):
            raise exc

    def _stream_type(self, topic: str) -> str:
        return "safety_plan" if topic == self.plan_topic else "use_of_force_incident"

    def read(self, record: Record) -> Read:
        """The audit's view of one record, or why it is refused. Needs no database, so the
        consumer runs it on its polling thread while the previous batch is being written."""
        try:
            return read_event(record, self._stream_type(record.topic))
        except (ContractError, ProjectionError) as exc:
            return exc

    def apply_batch(
        self, cur: psycopg.Cursor[Any], records: Sequence[Record]
    ) -> list[tuple[Record, Exception]]:
        """Apply the records it can read; return the refused ones (field and rule) for the
        consumer to dead-letter and pass to ``on_rejected``, without replaying the batch.

        Round trips per batch: one pipeline of reads (streams, leaf numbers), a COPY each for
        leaves and events under a savepoint, and one pipeline of every other write. The COPYs
        first assume that no event of the batch is stored yet (a replay, the live tail): a
        stored one fails them on a key, and only then are they rolled back and sent again after
        looking up every event's id and place. Plus one read for a stream with a gap to fill,
        and the other writes again if a stored row already holds one of their keys.
        """
        events: list[AuditEvent] = []
        refused: list[tuple[Record, Exception]] = []
        for record in records:
            got = record.read if type(record) is ReadRecord else self.read(record)
            if isinstance(got, AuditEvent):
                events.append(got)
            else:
                refused.append((record, got))
        if not events:
            return refused
        stored = _stored_chains(cur, events)
        try:
            with cur.connection.transaction():
                written = _write_events(cur, events, stored)
        except psycopg.errors.UniqueViolation:  # an event of the batch is stored already
            stored = _stored_state(cur, events)
            written = _write_events(cur, events, stored)
        conflicts, rows, chains = written
        streams = chains.rows(_stored_unverified(cur, chains.gaps))
        writes: list[tuple[bulk.Table, bulk.Rows, Sequence[str]]] = [
            (WRITES[table], table_rows, ()) for table, table_rows in rows.items()
        ]
        writes.append((WRITES["au_conflicts"], [_conflict_row(e) for e in conflicts], ()))
        writes.append((WRITES["au_streams"], streams, _STREAM_UPDATE))
        bulk.insert_plain_or_new(cur, _plain_writes(rows, conflicts, streams, stored), writes)
        return refused


class _Written(NamedTuple):
    conflicts: list[AuditEvent]
    rows: dict[str, list[Row]]
    """The fresh events' fact rows by table."""
    chains: _Chains


def _write_events(cur: psycopg.Cursor[Any], events: list[AuditEvent], stored: Stored) -> _Written:
    """COPY the batch's new leaves and new events, given what is stored of them."""
    # Python work is done inside each COPY, after its rows are sent: the server ingests
    # them meanwhile, so the two processes overlap instead of taking turns.
    with cur.copy(COPY_LEAVES) as copy:
        copy.write(bulk.copy_text(_new_leaves(events, stored), _leaf_line, _leaf_row))
        fresh, conflicts = _new_events(events, stored)
        nulls = sum(e.previous_hash is None for e in fresh)
        event_text = bulk.copy_text(fresh, _event_line, _event_row, nulls)
    with cur.copy(COPY_EVENTS) as copy:
        copy.write(event_text)
        rows: dict[str, list[Row]] = defaultdict(list)
        for event in fresh:
            for table, fact in event.facts:  # none for a tampered event: evidence, not facts
                rows[table].append(fact)
        chains = _Chains(fresh, conflicts, stored)
    return _Written(conflicts, rows, chains)


def _plain_writes(
    rows: dict[str, list[Row]], conflicts: list[AuditEvent], streams: list[Row], stored: Stored
) -> list[bulk.Statement]:
    """The batch's writes as statements that fail on a stored key, instead of checking each
    row for one: fact rows (first of each key), new streams inserted, stored ones updated."""
    statements: list[bulk.Statement] = []
    for table, table_rows in rows.items():
        t = WRITES[table]
        statements.append(
            (PLAIN_INSERT[table], bulk.columns_of(t, bulk.first_of_each_key(t, table_rows)))
        )
    if conflicts:  # rare: a second event claiming a stored place; kept once per event id
        t = WRITES["au_conflicts"]
        statements.append(
            (bulk.insert_statement(t), bulk.columns_of(t, [_conflict_row(e) for e in conflicts]))
        )
    new = [s for s in streams if s[0] not in stored.streams]
    known = [s for s in streams if s[0] in stored.streams]
    if new:
        statements.append((PLAIN_INSERT["au_streams"], bulk.columns_of(WRITES["au_streams"], new)))
    if known:
        statements.append((UPDATE_STREAMS, bulk.columns_of(WRITES["au_streams"], known)))
    return statements


class _Chains:
    """The hash-chain walk of every stream a batch touched, from its stored state on."""

    def __init__(self, fresh: list[AuditEvent], conflicts: list[AuditEvent], stored: Stored):
        self.by_stream: dict[str, list[AuditEvent]] = defaultdict(list)
        for e in fresh:
            self.by_stream[e.stream_id].append(e)
        self.conflicts: dict[str, list[AuditEvent]] = defaultdict(list)
        for e in conflicts:
            self.conflicts[e.stream_id].append(e)
        self.stream_types = {e.stream_id: e.stream_type for e in fresh + conflicts}
        self.states = {
            sid: stored.streams.get(sid, integrity.ChainState()) for sid in self.stream_types
        }
        self.gaps = [
            (sid, state.verified_version)
            for sid, state in self.states.items()
            if state.max_version > state.verified_version and state.broken is None
        ]
        """Streams with stored events above their verified version: a gap may be filled now."""

    def rows(self, unverified: dict[str, list[integrity.ChainEvent]]) -> list[Row]:
        """The new au_streams row of every stream the batch touched."""
        out: list[Row] = []
        for stream_id, stream_type in self.stream_types.items():
            chain: list[integrity.Link] = [*self.by_stream.get(stream_id, ())]
            chain += unverified.get(stream_id, ())
            state = integrity.advance(self.states[stream_id], chain)
            for e in self.conflicts.get(stream_id, ()):
                state = integrity.conflict(state, e.stream_version, e.event_id)
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
        return out


class Stored(NamedTuple):
    """What is already stored about a batch's events, read in one round trip."""

    leaves: set[str]
    """Event ids that already have a Merkle leaf."""
    next_seq: dict[tuple[str, int], int]
    """(topic, partition) -> the next leaf_seq."""
    events: dict[tuple[str, int], str]
    """(stream id, stream version) -> the event id stored there."""
    streams: dict[str, integrity.ChainState]


# Each key is looked up with its own index scan: the LATERAL subquery (kept apart by OFFSET 0)
# cannot become a hash join over the whole table, which the planner picks for a young table
# and which costs a scan of every stored row per batch.
STORED_LEAVES = (
    "SELECT k.id::text FROM unnest(%s::uuid[]) AS k(id) CROSS JOIN LATERAL"
    " (SELECT 1 FROM au_leaves l WHERE l.event_id = k.id OFFSET 0) AS l"
)
NEXT_SEQS = (
    "SELECT k.t, k.p, (SELECT max(leaf_seq) FROM au_leaves"
    " WHERE topic = k.t AND partition = k.p)"
    " FROM unnest(%s::text[], %s::int[]) AS k(t, p)"
)
STORED_PLACES = (
    "SELECT k.s::text, k.v, e.event_id::text FROM unnest(%s::uuid[], %s::int[]) AS k(s, v)"
    " CROSS JOIN LATERAL (SELECT event_id FROM au_events e"
    " WHERE e.stream_id = k.s AND e.stream_version = k.v OFFSET 0) AS e"
)
STORED_STREAMS = (
    "SELECT s.stream_id::text, s.verified_version, s.verified_hash, s.max_version,"
    " s.break_version, s.break_event_id::text, s.break_rule"
    " FROM unnest(%s::uuid[]) AS k(id) CROSS JOIN LATERAL"
    " (SELECT * FROM au_streams WHERE stream_id = k.id OFFSET 0) AS s"
)
STORED_UNVERIFIED = (
    "SELECT g.s::text, e.stream_version, e.event_id::text, e.event_hash, e.previous_hash,"
    " e.hash_ok FROM unnest(%s::uuid[], %s::int[]) AS g(s, v) CROSS JOIN LATERAL"
    " (SELECT * FROM au_events WHERE stream_id = g.s AND stream_version > g.v OFFSET 0) AS e"
    " ORDER BY 1, 2"
)


def _stored_chains(cur: psycopg.Cursor[Any], events: list[AuditEvent]) -> Stored:
    """The stored chain state of the batch's streams and the next leaf numbers, assuming no
    event of the batch is stored yet (``_write_events`` fails on a key if one is)."""
    conn = cur.connection
    with conn.pipeline():
        seqs, streams = _send_chain_reads(conn, events)
    return Stored(set(), _next_seqs(seqs), {}, _stream_states(streams))


def _stored_state(cur: psycopg.Cursor[Any], events: list[AuditEvent]) -> Stored:
    """Everything stored about the batch's events: ids with a leaf, events at their places,
    the chain state of their streams and the next leaf numbers."""
    conn = cur.connection
    with conn.pipeline():
        leaves = conn.cursor()
        leaves.execute(STORED_LEAVES, (bulk.plain_array_literal({e.event_id for e in events}),))
        placed = conn.cursor()
        placed.execute(
            STORED_PLACES,
            (
                bulk.plain_array_literal(e.stream_id for e in events),
                bulk.plain_array_literal(e.stream_version for e in events),
            ),
        )
        seqs, streams = _send_chain_reads(conn, events)
    return Stored(
        leaves={r[0] for r in leaves.fetchall()},
        next_seq=_next_seqs(seqs),
        events={(r[0], r[1]): r[2] for r in placed.fetchall()},
        streams=_stream_states(streams),
    )


def _send_chain_reads(
    conn: psycopg.Connection[Any], events: list[AuditEvent]
) -> tuple[psycopg.Cursor[Any], psycopg.Cursor[Any]]:
    tps = sorted({(e.topic, e.partition) for e in events})
    seqs = conn.cursor()
    seqs.execute(
        NEXT_SEQS,
        (bulk.array_literal(t for t, _ in tps), bulk.plain_array_literal(p for _, p in tps)),
    )
    streams = conn.cursor()
    streams.execute(STORED_STREAMS, (bulk.plain_array_literal({e.stream_id for e in events}),))
    return seqs, streams


def _next_seqs(seqs: psycopg.Cursor[Any]) -> dict[tuple[str, int], int]:
    return {(str(r[0]), int(r[1])): 0 if r[2] is None else int(r[2]) + 1 for r in seqs.fetchall()}


def _stream_states(streams: psycopg.Cursor[Any]) -> dict[str, integrity.ChainState]:
    return {
        r[0]: integrity.ChainState(
            r[1], r[2], r[3], integrity.Break(r[4], r[5], r[6]) if r[4] is not None else None
        )
        for r in streams.fetchall()
    }


def _stored_unverified(
    cur: psycopg.Cursor[Any], gaps: list[tuple[str, int]]
) -> dict[str, list[integrity.ChainEvent]]:
    """Stored events above each stream's verified version (a gap may be filled now)."""
    if not gaps:
        return {}
    out: dict[str, list[integrity.ChainEvent]] = defaultdict(list)
    for r in cur.execute(
        STORED_UNVERIFIED,
        (
            bulk.plain_array_literal(g[0] for g in gaps),
            bulk.plain_array_literal(g[1] for g in gaps),
        ),
    ):
        out[r[0]].append(integrity.ChainEvent(r[1], r[2], r[3], r[4], r[5]))
    return out


def _new_leaves(events: list[AuditEvent], stored: Stored) -> list[tuple[AuditEvent, int]]:
    """Merkle leaves of the events not yet leaves, numbered on per topic-partition."""
    seen = set(stored.leaves)
    next_seq = dict(stored.next_seq)
    leaves = []
    for e in events:  # partition order, offsets ascending within a partition
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        tp = (e.topic, e.partition)
        leaves.append((e, next_seq[tp]))
        next_seq[tp] += 1
    return leaves


def _leaf_row(leaf: tuple[AuditEvent, int]) -> Row:
    e, seq = leaf
    return (e.event_id, e.topic, e.partition, e.offset, seq, e.hash)


def _leaf_line(leaf: tuple[AuditEvent, int]) -> str:
    e, seq = leaf
    return f"{e.event_id}\t{e.topic}\t{e.partition}\t{e.offset}\t{seq}\t{e.hash}\n"


def _new_events(
    events: list[AuditEvent], stored: Stored
) -> tuple[list[AuditEvent], list[AuditEvent]]:
    """(fresh, conflicts): events whose place is free, and different events claiming a taken
    place; a redelivery of a stored event is neither."""
    placed = dict(stored.events)
    fresh: list[AuditEvent] = []
    conflicts: list[AuditEvent] = []
    for e in events:
        key = (e.stream_id, e.stream_version)
        if key not in placed:
            placed[key] = e.event_id
            fresh.append(e)
        elif placed[key] != e.event_id:
            conflicts.append(e)
    return fresh, conflicts


def _event_row(e: AuditEvent) -> Row:
    return e[: len(EVENT_COLUMNS)]


_BOOL = {True: "t", False: "f"}
_NULL = "\\N"


def _event_line(e: AuditEvent) -> str:
    return (
        f"{e.topic}\t{e.partition}\t{e.offset}\t{e.event_id}\t{e.event_type}\t"
        f"{e.schema_version}\t{e.stream_type}\t{e.stream_id}\t{e.stream_version}\t"
        f"{e.occurred_at}\t{e.recorded_at}\t{e.actor_role}\t{_BOOL[e.actor_on_behalf]}\t"
        f"{e.hash}\t{_NULL if e.previous_hash is None else e.previous_hash}\t"
        f"{_BOOL[e.hash_ok]}\n"
    )


def _conflict_row(e: AuditEvent) -> Row:
    return (e.stream_id, e.stream_version, e.event_id, e.hash, e.topic, e.partition, e.offset)
