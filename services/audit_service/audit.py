"""The audit_service's use cases: one function per question, called by the HTTP routes.

Each reads facts through ``queries`` and applies the rules of ``involvement`` and
``integrity``; errors are ``AuditError`` (status, field, rule), mapped to HTTP once by the
shared error handler. This module must never write to the database, and never put a request
value or an event's content into an error message.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime
from uuid import UUID

from contracts.codes import ParticipantRole
from services.audit_service import integrity, involvement, queries
from services.audit_service import models as m
from services.audit_service.involvement import PlanInScope, Rate, review_status
from services.audit_service.queries import Conn

LEAF_ORDER = (
    "event hashes (the text sha256:<hex>) ordered by topic name (code point), partition, "
    "offset; each event id once (a redelivered duplicate is not a new leaf); rejected "
    "records are not leaves"
)


class AuditError(Exception):
    """A request the audit cannot answer; ``field`` and ``rule`` name why."""

    def __init__(self, status: int, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.status, self.field, self.rule, self.message = status, field, rule, message


# --- integrity -------------------------------------------------------------------------------
def _stream_out(row: queries.StreamRow) -> m.StreamIntegrityOut:
    first: m.BreakOut | None = None
    if row.break_version is not None and row.break_rule is not None:
        first = m.BreakOut(
            stream_version=row.break_version,
            event_id=row.break_event_id,
            rule=row.break_rule,
        )
    if row.verified_version < row.max_version and (
        first is None or first.stream_version > row.verified_version + 1
    ):
        first = m.BreakOut(
            stream_version=row.verified_version + 1,
            event_id=row.next_event_id,
            rule="missing_version",
        )
    return m.StreamIntegrityOut(
        stream_id=row.stream_id,
        stream_type=row.stream_type,
        intact=first is None,
        verified_version=row.verified_version,
        max_version=row.max_version,
        conflicts=row.conflicts,
        first_break=first,
    )


def stream_integrity(conn: Conn, stream_id: UUID) -> m.StreamIntegrityOut:
    rows = queries.stream_rows(conn, stream_id)
    if not rows:
        raise AuditError(404, "stream_id", "stream_exists", "no events of this stream yet")
    return _stream_out(rows[0])


def integrity_summary(conn: Conn, limit: int) -> m.IntegritySummaryOut:
    total, bad = queries.stream_totals(conn)
    problems = queries.stream_rows(conn, problems_only=True, limit=limit)
    return m.IntegritySummaryOut(
        streams=total, streams_with_problems=bad, problems=[_stream_out(r) for r in problems]
    )


def parse_checkpoint(values: list[str] | None) -> queries.Checkpoint | None:
    """``topic:partition:end_offset`` items (topic names may hold dots, not colons)."""
    if not values:
        return None
    out: queries.Checkpoint = {}
    for value in values:
        topic, _, rest = value.rpartition(":")
        topic, _, partition = topic.rpartition(":")
        if not (topic and partition.isdigit() and rest.isdigit()):
            raise AuditError(422, "upto", "topic_partition_offset", "use topic:partition:offset")
        out[(topic, int(partition))] = int(rest)
    return out


def _checkpoint(conn: Conn, consumer: str, wanted: queries.Checkpoint | None) -> queries.Checkpoint:
    consumed = queries.consumed_checkpoint(conn, consumer)
    if wanted is None:
        return consumed
    for tp, end in wanted.items():
        if end > consumed.get(tp, 0):
            raise AuditError(
                422, "upto", "beyond_consumed", "the audit has not consumed that far yet"
            )
    return wanted


def _entries(checkpoint: queries.Checkpoint) -> list[m.CheckpointEntry]:
    return [
        m.CheckpointEntry(topic=t, partition=p, end_offset=o)
        for (t, p), o in sorted(checkpoint.items())
    ]


def merkle_root(conn: Conn, consumer: str, upto: list[str] | None) -> m.MerkleRootOut:
    checkpoint = _checkpoint(conn, consumer, parse_checkpoint(upto))
    hashes = [h for _, h in queries.leaves(conn, checkpoint)]
    return m.MerkleRootOut(
        size=len(hashes),
        root=integrity.root_of(hashes),
        checkpoint=_entries(checkpoint),
        leaf_order=LEAF_ORDER,
    )


def inclusion_proof(
    conn: Conn, consumer: str, event_id: UUID, upto: list[str] | None
) -> m.InclusionProofOut:
    checkpoint = _checkpoint(conn, consumer, parse_checkpoint(upto))
    log = queries.leaves(conn, checkpoint)
    index = next((i for i, (eid, _) in enumerate(log) if eid == event_id), None)
    if index is None:
        raise AuditError(404, "event_id", "in_log", "no such event below the checkpoint")
    proof = integrity.proof_for([h for _, h in log], index)
    return m.InclusionProofOut(
        event_id=event_id,
        event_hash=log[index][1],
        index=proof.index,
        size=proof.size,
        root=proof.root,
        proof=proof.path,
        checkpoint=_entries(checkpoint),
    )


# --- one plan --------------------------------------------------------------------------------
def _version_out(
    facts: involvement.VersionFacts,
    plan: queries.PlanFacts,
    as_of: datetime,
) -> m.VersionOut:
    v = involvement.classify_version(facts, plan.participants, as_of)
    roles = {p.participant_id: p.role for p in plan.participants}
    return m.VersionOut(
        version_number=v.number,
        proposed_at=facts.proposed_at,
        classification=v.classification,
        person_took_part=v.person_took_part,
        person_agreed=v.person_agreed,
        person_agreed_on_behalf=v.person_agreed_on_behalf,
        person_words_recorded_on_behalf=v.person_words_recorded_on_behalf,
        person_dissented=v.person_dissented,
        person_open_dissent=v.person_open_dissent,
        persons_view_recorded=v.own_view_recorded,
        shared_with_person=v.shared_with_person,
        carer_involved=v.carer_involved,
        open_dissents=v.open_dissents,
        participants=[m.ActionsOut(**a.__dict__) for a in v.participants],
        contributions=[
            m.ContributionOut(
                contribution_id=c.contribution_id,
                section=c.section,
                author_role=roles.get(c.author_id),
                mode=c.mode,
                made_at=c.made_at,
                person_present=v.person_present[c.contribution_id],
            )
            for c in facts.contributions
        ],
        dissents=[
            m.DissentOut(
                dissent_id=d.dissent_id,
                section=d.section,
                participant_role=roles.get(d.participant_id),
                recorded_at=d.recorded_at,
                open=d.open_at(as_of),
                age_days=involvement.dissent_age_days(d, as_of),
                outcome=d.outcome if d.responded_at and d.responded_at <= as_of else None,
                responded_at=d.responded_at if d.responded_at and d.responded_at <= as_of else None,
            )
            for d in facts.dissents
            if d.recorded_at <= as_of
        ],
    )


def plan_audit(conn: Conn, plan_id: UUID, as_of: datetime) -> m.PlanAuditOut:
    plan = queries.plan_facts(conn, [plan_id]).get(plan_id)
    if plan is None:
        raise AuditError(404, "plan_id", "plan_exists", "no such plan in the audit")
    person = involvement.service_user_of(plan.participants)
    streams = queries.stream_rows(conn, plan_id)
    attended: dict[UUID, int] = defaultdict(int)
    for r in plan.reviews:
        if r.completed_at is not None and r.completed_at <= as_of:
            for pid in r.participants:
                attended[pid] += 1
    return m.PlanAuditOut(
        plan_id=plan.plan_id,
        provider=plan.provider,
        unit=plan.unit,
        started_at=plan.started_at,
        closed_at=plan.closed_at,
        close_reason=plan.close_reason,
        as_of=as_of,
        integrity=_stream_out(streams[0]) if streams else None,
        participants=[
            m.ParticipantOut(
                participant_id=p.participant_id,
                role=p.role,
                invited_at=p.invited_at,
                joined_at=p.joined_at,
                information_sharing_consent=p.information_sharing_consent,
                reviews_taken_part=attended[p.participant_id],
            )
            for p in plan.participants
        ],
        versions=[_version_out(v, plan, as_of) for v in plan.versions if v.proposed_at <= as_of],
        reviews=[
            m.ReviewOut(
                review_id=r.review_id,
                trigger=r.trigger,
                due_on=r.due_on,
                completed_at=r.completed_at,
                status=review_status(r.due_on, r.completed_at, as_of),
                person_took_part=person is not None and person in r.participants,
            )
            for r in plan.reviews
        ],
        contributions_not_yet_in_a_version=plan.unversioned_contributions,
    )


# --- period reports --------------------------------------------------------------------------
def _in_scope(plan: queries.PlanFacts, start: datetime, end: datetime) -> PlanInScope:
    versions = tuple(
        involvement.classify_version(v, plan.participants, end)
        for v in plan.versions
        if start <= v.proposed_at < end
    )
    due = tuple(
        review_status(r.due_on, r.completed_at, end)
        for r in plan.reviews
        if r.due_on is not None and start.date() <= r.due_on < end.date()
    )
    return PlanInScope(tuple(plan.participants), versions, due)


def _rate(r: Rate) -> m.RateOut:
    return m.RateOut(numerator=r.numerator, denominator=r.denominator, rate=r.rate)


def _unit_out(unit: str | None, plans: list[PlanInScope], end: datetime) -> m.UnitReportOut:
    r = involvement.period_rates(plans, end)
    return m.UnitReportOut(
        unit=unit,
        plans=r.plans,
        versions=r.versions,
        classifications=r.classifications,
        with_person=_rate(r.with_person),
        with_carer=_rate(r.with_carer),
        with_person_agreement=_rate(r.with_person_agreement),
        with_unresolved_dissent=_rate(r.with_unresolved_dissent),
        shared_with_person=_rate(r.shared_with_person),
        persons_view_recorded=_rate(r.persons_view_recorded),
        reviewed_on_time=_rate(r.reviewed_on_time),
        carer_identified=_rate(r.carer_identified),
        information_sharing_agreed=_rate(r.information_sharing_agreed),
        by_role=r.by_role,
    )


def period_report(
    conn: Conn, provider: str, unit: str | None, start: datetime, end: datetime
) -> m.PeriodReportOut:
    if end <= start:
        raise AuditError(422, "to", "after_from", "the period must end after it starts")
    ids = queries.plans_in_period(conn, provider, unit, start, end)
    facts = queries.plan_facts(conn, ids)
    by_unit: dict[str, list[PlanInScope]] = defaultdict(list)
    for plan_id in ids:
        plan = facts[plan_id]
        by_unit[plan.unit].append(_in_scope(plan, start, end))
    everything = [p for plans in by_unit.values() for p in plans]
    return m.PeriodReportOut(
        provider=provider,
        unit=unit,
        period_from=start,
        period_to=end,
        units=[_unit_out(u, by_unit[u], end) for u in sorted(by_unit)],
        total=_unit_out(None, everything, end),
    )


RATE_COLUMNS = (
    "with_person",
    "with_carer",
    "with_person_agreement",
    "with_unresolved_dissent",
    "shared_with_person",
    "persons_view_recorded",
    "reviewed_on_time",
    "carer_identified",
    "information_sharing_agreed",
)


def report_csv(report: m.PeriodReportOut) -> str:
    """One line per unit and a total line (unit empty); rates as numerator, denominator, rate."""
    roles = [r.value for r in ParticipantRole]
    header = ["provider", "unit", "period_from", "period_to", "plans", "versions"]
    header += [f"versions_{k}" for k in ("with", "partial", "without")]
    for name in RATE_COLUMNS:
        header += [f"{name}_numerator", f"{name}_denominator", f"{name}_rate"]
    header += [f"{a}_{role}" for role in roles for a in involvement.ROLE_ACTIONS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in [*report.units, report.total]:
        line: list[object] = [
            report.provider,
            row.unit or "",
            report.period_from.isoformat(),
            report.period_to.isoformat(),
            row.plans,
            row.versions,
            *(row.classifications.get(k, 0) for k in ("with", "partial", "without")),
        ]
        for name in RATE_COLUMNS:
            rate: m.RateOut = getattr(row, name)
            line += [rate.numerator, rate.denominator, "" if rate.rate is None else rate.rate]
        line += [
            row.by_role.get(role, {}).get(a, 0) for role in roles for a in involvement.ROLE_ACTIONS
        ]
        writer.writerow(line)
    return out.getvalue()
