"""What the governance dashboard shows, computed with the audit's own use cases and queries:
the period report per calendar month (``audit.period_report``, as the JSON API answers it),
reviews overdue at each month's end, and a unit's plans with their latest classification
(``queries.plan_facts`` and the rules of ``involvement``). No SQL of its own.

Plain data only (ids, roles, codes, counts, rates): never a name or free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from services.audit_service import audit, involvement, queries
from services.audit_service import models as m
from services.audit_service.queries import Conn

MAX_MONTHS = 36


def day_range(start: date, end: date) -> tuple[datetime, datetime]:
    """Whole UTC days, both included (as the involvement report's ``from`` and ``to``)."""
    return (
        datetime.combine(start, time(), UTC),
        datetime.combine(end + timedelta(days=1), time(), UTC),
    )


def months(start: date, end: date) -> list[tuple[date, date]]:
    """The period cut at calendar months: (first day, last day) of each part, both included."""
    if end < start:
        raise audit.AuditError(422, "to", "after_from", "the period ends before it starts")
    out: list[tuple[date, date]] = []
    first = start
    while first <= end:
        next_month = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        out.append((first, min(end, next_month - timedelta(days=1))))
        first = next_month
    if len(out) > MAX_MONTHS:
        raise audit.AuditError(422, "from", "at_most_36_months", "choose 36 months or fewer")
    return out


@dataclass(frozen=True)
class Month:
    label: str
    first: date
    last: date
    rates: m.UnitReportOut
    reviews_due: int
    reviews_overdue: int
    """Scheduled reviews due in the month and still not completed at its end."""


def _overdue(plans: dict[UUID, queries.PlanFacts], first: date, last: date) -> tuple[int, int]:
    end = day_range(first, last)[1]
    due = [
        r
        for p in plans.values()
        for r in p.reviews
        if r.due_on is not None and first <= r.due_on <= last
    ]
    late = sum(involvement.review_status(r.due_on, r.completed_at, end) == "overdue" for r in due)
    return len(due), late


def trend(conn: Conn, provider: str, unit: str | None, start: date, end: date) -> list[Month]:
    """One period report per calendar month of [start, end], plus its overdue reviews."""
    parts = months(start, end)
    facts = queries.plan_facts(
        conn, queries.plans_in_period(conn, provider, unit, *day_range(start, end))
    )
    out = []
    for first, last in parts:
        report = audit.period_report(conn, provider, unit, *day_range(first, last))
        due, overdue = _overdue(facts, first, last)
        out.append(Month(first.strftime("%b %Y"), first, last, report.total, due, overdue))
    return out


@dataclass(frozen=True)
class PlanRow:
    plan_id: UUID
    started_at: datetime
    closed: bool
    versions_in_period: int
    latest_version: int | None
    latest_classification: str | None
    open_dissents: int
    reviews_overdue: int


def unit_plans(conn: Conn, provider: str, unit: str, start: date, end: date) -> list[PlanRow]:
    """The unit's plans in scope of the period, each with its latest version's class and its
    open dissents and overdue reviews at the period end."""
    begin, finish = day_range(start, end)
    facts = queries.plan_facts(conn, queries.plans_in_period(conn, provider, unit, begin, finish))
    rows = []
    for plan in sorted(facts.values(), key=lambda p: (p.started_at, str(p.plan_id))):
        versions = [v for v in plan.versions if v.proposed_at < finish]
        latest = (
            involvement.classify_version(versions[-1], plan.participants, finish)
            if versions
            else None
        )
        classified = [involvement.classify_version(v, plan.participants, finish) for v in versions]
        rows.append(
            PlanRow(
                plan_id=plan.plan_id,
                started_at=plan.started_at,
                closed=plan.closed_at is not None and plan.closed_at < finish,
                versions_in_period=sum(begin <= v.proposed_at for v in versions),
                latest_version=latest.number if latest else None,
                latest_classification=latest.classification if latest else None,
                open_dissents=sum(v.open_dissents for v in classified),
                reviews_overdue=sum(
                    involvement.review_status(r.due_on, r.completed_at, finish) == "overdue"
                    for r in plan.reviews
                ),
            )
        )
    return rows
