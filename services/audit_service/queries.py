"""Read SQL of the audit_service: facts of plans, stream integrity, Merkle leaves, checkpoints.

Each function takes an open connection and returns plain values or the fact dataclasses of
``involvement``; the rules that turn facts into answers live in ``involvement`` and ``integrity``.

This module must never write, and never build SQL text from request values (parameters only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import psycopg

from services.audit_service.involvement import (
    OWN_VIEW,
    SERVICE_USER,
    Agreement,
    Contribution,
    Dissent,
    Participant,
    Share,
    VersionFacts,
)

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Review:
    review_id: UUID | None
    trigger: str
    due_on: date | None
    scheduled_at: datetime | None
    completed_at: datetime | None
    participants: tuple[UUID, ...] = ()


@dataclass
class PlanFacts:
    plan_id: UUID
    provider: str
    unit: str
    started_at: datetime
    closed_at: datetime | None = None
    close_reason: str | None = None
    participants: list[Participant] = field(default_factory=list)
    versions: list[VersionFacts] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    unversioned_contributions: int = 0


def _rows(conn: Conn, sql: str, plan_ids: Sequence[UUID]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sql, (list(plan_ids),)).fetchall()]


def plan_facts(conn: Conn, plan_ids: Sequence[UUID]) -> dict[UUID, PlanFacts]:
    """Every fact of the given plans (unknown ids are left out)."""
    plans = {
        r[0]: PlanFacts(r[0], r[1], r[2], r[3], r[4], r[5])
        for r in _rows(
            conn,
            "SELECT p.plan_id, p.provider, p.unit, p.started_at, c.closed_at, c.reason"
            " FROM au_plans p LEFT JOIN au_plan_closed c USING (plan_id)"
            " WHERE p.plan_id = ANY(%s)",
            plan_ids,
        )
    }
    ids = list(plans)
    if not ids:
        return {}
    joins = {
        (r[0], r[1]): (r[2], r[3])
        for r in _rows(
            conn,
            "SELECT plan_id, participant_id, joined_at, information_sharing_consent"
            " FROM au_joins WHERE plan_id = ANY(%s)",
            ids,
        )
    }
    for plan_id, pid, role, invited_at in _rows(
        conn,
        "SELECT plan_id, participant_id, role, invited_at FROM au_participants"
        " WHERE plan_id = ANY(%s) ORDER BY plan_id, stream_version",
        ids,
    ):
        joined = joins.get((plan_id, pid), (None, None))
        plans[plan_id].participants.append(Participant(pid, role, invited_at, *joined))
    presence: dict[tuple[UUID, UUID], list[UUID]] = defaultdict(list)
    for plan_id, cid, pid in _rows(
        conn,
        "SELECT plan_id, contribution_id, participant_id FROM au_presence"
        " WHERE plan_id = ANY(%s) ORDER BY participant_id",
        ids,
    ):
        presence[(plan_id, cid)].append(pid)
    contributions: dict[tuple[UUID, UUID], tuple[int, Contribution]] = {}
    for plan_id, cid, ver, section, author, mode, recorder, made_at in _rows(
        conn,
        "SELECT plan_id, contribution_id, stream_version, section, author_participant_id, mode,"
        " recorded_by_participant_id, made_at FROM au_contributions WHERE plan_id = ANY(%s)",
        ids,
    ):
        contributions[(plan_id, cid)] = (
            ver,
            Contribution(
                cid, section, author, mode, made_at, tuple(presence[(plan_id, cid)]), recorder
            ),
        )
    in_version: dict[tuple[UUID, int], list[tuple[int, Contribution]]] = defaultdict(list)
    versioned: set[tuple[UUID, UUID]] = set()
    for plan_id, number, cid in _rows(
        conn,
        "SELECT plan_id, version_number, contribution_id FROM au_version_contributions"
        " WHERE plan_id = ANY(%s)",
        ids,
    ):
        if (plan_id, cid) in contributions:
            in_version[(plan_id, number)].append(contributions[(plan_id, cid)])
            versioned.add((plan_id, cid))
    for plan_id, _ in contributions:
        if (plan_id, _) not in versioned:
            plans[plan_id].unversioned_contributions += 1
    agreements: dict[tuple[UUID, int], list[Agreement]] = defaultdict(list)
    for plan_id, number, pid, mode, at in _rows(
        conn,
        "SELECT plan_id, version_number, participant_id, mode, agreed_at FROM au_agreements"
        " WHERE plan_id = ANY(%s) ORDER BY stream_version",
        ids,
    ):
        agreements[(plan_id, number)].append(Agreement(pid, mode, at))
    dissents: dict[tuple[UUID, int], list[Dissent]] = defaultdict(list)
    for row in _rows(
        conn,
        "SELECT d.plan_id, d.dissent_id, d.version_number, d.section, d.participant_id, d.mode,"
        " d.recorded_at, r.responded_at, r.outcome FROM au_dissents d"
        " LEFT JOIN LATERAL (SELECT responded_at, outcome FROM au_dissent_responses x"
        "   WHERE x.plan_id = d.plan_id AND x.dissent_id = d.dissent_id"
        "   ORDER BY x.stream_version LIMIT 1) r ON true"
        " WHERE d.plan_id = ANY(%s) ORDER BY d.stream_version",
        ids,
    ):
        dissents[(row[0], row[2])].append(Dissent(*row[1:]))
    shares: dict[tuple[UUID, int], list[Share]] = defaultdict(list)
    for plan_id, number, pid, method, at in _rows(
        conn,
        "SELECT plan_id, version_number, participant_id, method, shared_at FROM au_shares"
        " WHERE plan_id = ANY(%s) ORDER BY stream_version",
        ids,
    ):
        shares[(plan_id, number)].append(Share(pid, method, at))
    for plan_id, number, proposed_at in _rows(
        conn,
        "SELECT plan_id, version_number, proposed_at FROM au_versions"
        " WHERE plan_id = ANY(%s) ORDER BY plan_id, version_number",
        ids,
    ):
        plan = plans[plan_id]
        person = next((p.participant_id for p in plan.participants if p.role == SERVICE_USER), None)
        own_view = person is not None and any(
            c.section == OWN_VIEW and c.author_id == person
            for (pid, n), cs in in_version.items()
            if pid == plan_id and n <= number
            for _, c in cs
        )
        key = (plan_id, number)
        plan.versions.append(
            VersionFacts(
                number=number,
                proposed_at=proposed_at,
                contributions=tuple(c for _, c in sorted(in_version[key], key=lambda x: x[0])),
                agreements=tuple(agreements[key]),
                dissents=tuple(dissents[key]),
                shares=tuple(shares[key]),
                own_view_recorded=own_view,
            )
        )
    _reviews(conn, plans, ids)
    return plans


def _reviews(conn: Conn, plans: dict[UUID, PlanFacts], ids: list[UUID]) -> None:
    attended: dict[tuple[UUID, int], list[UUID]] = defaultdict(list)
    for plan_id, ver, pid in _rows(
        conn,
        "SELECT plan_id, stream_version, participant_id FROM au_review_participants"
        " WHERE plan_id = ANY(%s) ORDER BY participant_id",
        ids,
    ):
        attended[(plan_id, ver)].append(pid)
    completed: dict[tuple[UUID, UUID], tuple[datetime, tuple[UUID, ...]]] = {}
    for plan_id, ver, review_id, trigger, at in _rows(
        conn,
        "SELECT plan_id, stream_version, review_id, trigger, completed_at"
        " FROM au_reviews_completed WHERE plan_id = ANY(%s) ORDER BY stream_version",
        ids,
    ):
        who = tuple(attended[(plan_id, ver)])
        if review_id is None:
            plans[plan_id].reviews.append(Review(None, trigger, None, None, at, who))
        else:
            completed.setdefault((plan_id, review_id), (at, who))
    for plan_id, review_id, trigger, due_on, scheduled_at in _rows(
        conn,
        "SELECT plan_id, review_id, trigger, due_on, scheduled_at FROM au_reviews_scheduled"
        " WHERE plan_id = ANY(%s) ORDER BY stream_version",
        ids,
    ):
        done_at, who = completed.get((plan_id, review_id), (None, ()))
        plans[plan_id].reviews.append(
            Review(review_id, trigger, due_on, scheduled_at, done_at, who)
        )
    for plan in plans.values():
        plan.reviews.sort(key=lambda r: (r.due_on or date.max, r.completed_at or datetime.max))


def plans_in_period(
    conn: Conn, provider: str, unit: str | None, start: datetime, end: datetime
) -> list[UUID]:
    """Plans of a provider (and unit) with a version proposed in [start, end), plus plans with a
    review due in that period."""
    rows = conn.execute(
        "SELECT DISTINCT p.plan_id FROM au_plans p WHERE p.provider = %(provider)s"
        " AND (%(unit)s::text IS NULL OR p.unit = %(unit)s)"
        " AND (EXISTS (SELECT 1 FROM au_versions v WHERE v.plan_id = p.plan_id"
        "   AND v.proposed_at >= %(start)s AND v.proposed_at < %(end)s)"
        "  OR EXISTS (SELECT 1 FROM au_reviews_scheduled r WHERE r.plan_id = p.plan_id"
        "   AND r.due_on >= %(start)s::date AND r.due_on < %(end)s::date))"
        " ORDER BY p.plan_id",
        {"provider": provider, "unit": unit, "start": start, "end": end},
    ).fetchall()
    return [r[0] for r in rows]


# --- integrity -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StreamRow:
    stream_id: UUID
    stream_type: str
    verified_version: int
    max_version: int
    break_version: int | None
    break_event_id: UUID | None
    break_rule: str | None
    next_event_id: UUID | None
    """For a gap: the first stored event after the missing version."""
    conflicts: int


_STREAMS = (
    "SELECT s.stream_id, s.stream_type, s.verified_version, s.max_version, s.break_version,"
    " s.break_event_id, s.break_rule,"
    " (SELECT e.event_id FROM au_events e WHERE e.stream_id = s.stream_id"
    "   AND e.stream_version > s.verified_version ORDER BY e.stream_version LIMIT 1),"
    " (SELECT count(*) FROM au_conflicts c WHERE c.stream_id = s.stream_id)"
    " FROM au_streams s"
)


def stream_rows(
    conn: Conn, stream_id: UUID | None = None, *, problems_only: bool = False, limit: int = 1000
) -> list[StreamRow]:
    where = []
    params: list[Any] = []
    if stream_id is not None:
        where.append("s.stream_id = %s")
        params.append(stream_id)
    if problems_only:
        where.append("(s.break_version IS NOT NULL OR s.verified_version < s.max_version)")
    sql = _STREAMS + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY s.stream_id LIMIT %s"
    rows = conn.execute(sql, (*params, limit)).fetchall()
    return [StreamRow(*r) for r in rows]


def stream_totals(conn: Conn) -> tuple[int, int]:
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE break_version IS NOT NULL"
        " OR verified_version < max_version) FROM au_streams"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# --- Merkle log ------------------------------------------------------------------------------
Checkpoint = dict[tuple[str, int], int]
"""(topic, partition) -> end offset (exclusive): the log up to these offsets."""


def consumed_checkpoint(conn: Conn, consumer: str) -> Checkpoint:
    """How far the projection has applied each partition (the stored consumer offsets)."""
    rows = conn.execute(
        "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = %s",
        (consumer,),
    ).fetchall()
    return {(str(t), int(p)): int(o) for t, p, o in rows}


def leaves(conn: Conn, checkpoint: Checkpoint) -> list[tuple[UUID, str]]:
    """(event id, event hash) of every leaf below the checkpoint, in log order."""
    if not checkpoint:
        return []
    items = sorted(checkpoint.items())
    rows = conn.execute(
        "SELECT l.event_id, l.event_hash FROM au_leaves l"
        " JOIN unnest(%s::text[], %s::int[], %s::bigint[]) AS c(topic, partition, end_offset)"
        ' ON l.topic = c.topic AND l.partition = c.partition AND l."offset" < c.end_offset'
        ' ORDER BY l.topic COLLATE "C", l.partition, l.leaf_seq',
        ([t for (t, _), _ in items], [p for (_, p), _ in items], [o for _, o in items]),
    ).fetchall()
    return [(r[0], str(r[1])) for r in rows]
