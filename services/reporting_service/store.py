"""Reads of the projection as of given log positions: incidents with their version history and
the plan history concordance needs. Shared by the section 6, concordance and MHSDS reports.

Every query filters rows by the partition and offset they came from, so the answer depends only
on the `AsOf` passed in. This module must never write, and never log what it reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from contracts import topics
from services.common.settings import CommonSettings
from services.reporting_service import records
from services.reporting_service.scope import AsOf, Period, Scope


@dataclass
class Version:
    stream_version: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_role: str
    change: dict[str, Any] | None


@dataclass
class Incident:
    """One incident as of the report's offsets: the current record and how it got there."""

    incident_id: UUID
    record: dict[str, Any]
    pi_review: dict[str, Any] | None
    personal_available: bool
    versions: list[Version] = field(default_factory=list)

    @property
    def made_at(self) -> datetime:
        return self.versions[0].recorded_at


@dataclass
class PlanVersion:
    preferences: dict[str, str] | None
    notify: dict[str, Any] | None


@dataclass
class PlanReview:
    completed_at: datetime
    trigger: str
    incident_id: UUID | None


def incident_topic(settings: CommonSettings) -> str:
    return topics.topic(topics.USE_OF_FORCE_EVENTS, settings.topic_prefix)


def plan_topic(settings: CommonSettings) -> str:
    return topics.topic(topics.PLAN_EVENTS, settings.topic_prefix)


_IN_RANGE = '"offset" < (%(ends)s::bigint[])[partition + 1]'


def incidents(
    cur: psycopg.Cursor[Any], settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> list[Incident]:
    """Incidents whose current record starts in the period and lies in the scope, in start order."""
    params: dict[str, Any] = {
        "ends": as_of.array(incident_topic(settings)),
        "start": period.start_utc,
        "end": period.end_utc_exclusive,
        "provider": scope.provider,
        "unit": scope.unit,
    }
    ids = [
        row[0]
        for row in cur.execute(
            f"""
            WITH latest AS (
              SELECT DISTINCT ON (incident_id) incident_id, provider, unit, started_at
              FROM rs_incident_versions WHERE {_IN_RANGE}
              ORDER BY incident_id, stream_version DESC)
            SELECT incident_id FROM latest
            WHERE started_at >= %(start)s AND started_at < %(end)s
              AND (%(provider)s::text IS NULL OR provider = %(provider)s)
              AND (%(unit)s::text IS NULL OR unit = %(unit)s)
            ORDER BY started_at, incident_id
            """,  # noqa: S608 - a literal fragment, values are parameters
            params,
        ).fetchall()
    ]
    if not ids:
        return []
    rows = cur.execute(
        f"""
        SELECT v.incident_id, v.stream_version, v.event_type, v.occurred_at, v.recorded_at,
               v.actor_role, v.state, v.change, p.state, p.change, p.incident_id IS NOT NULL
        FROM rs_incident_versions v
        LEFT JOIN rs_incident_personal p USING (incident_id, stream_version)
        WHERE v.incident_id = ANY(%(ids)s) AND v.{_IN_RANGE}
        ORDER BY v.incident_id, v.stream_version
        """,  # noqa: S608
        {**params, "ids": ids},
    ).fetchall()
    by_id: dict[UUID, Incident] = {}
    for iid, version, etype, occurred, recorded, role, state, change, pstate, pchange, has in rows:
        full_state = records.merge(state, pstate)
        incident = by_id.get(iid)
        if incident is None:
            incident = by_id[iid] = Incident(iid, {}, None, bool(has))
        incident.record = full_state["record"]
        incident.pi_review = full_state.get("pi_review")
        incident.personal_available = bool(has and pstate is not None)
        incident.versions.append(
            Version(version, etype, occurred, recorded, role, records.merge(change, pchange))
        )
    return [by_id[i] for i in ids]


def plan_versions(
    cur: psycopg.Cursor[Any], settings: CommonSettings, as_of: AsOf, keys: set[tuple[UUID, int]]
) -> dict[tuple[UUID, int], PlanVersion]:
    if not keys:
        return {}
    rows = cur.execute(
        f"""
        SELECT plan_id, version_number, preferences, notify FROM rs_plan_versions
        WHERE plan_id = ANY(%(plans)s) AND {_IN_RANGE}
        """,  # noqa: S608
        {"plans": sorted({p for p, _ in keys}), "ends": as_of.array(plan_topic(settings))},
    ).fetchall()
    return {
        (pid, int(n)): PlanVersion(prefs, notify)
        for pid, n, prefs, notify in rows
        if (pid, int(n)) in keys
    }


def plan_reviews(
    cur: psycopg.Cursor[Any], settings: CommonSettings, as_of: AsOf, plan_ids: set[UUID]
) -> dict[UUID, list[PlanReview]]:
    if not plan_ids:
        return {}
    rows = cur.execute(
        f"""
        SELECT plan_id, completed_at, trigger, incident_id FROM rs_plan_reviews
        WHERE plan_id = ANY(%(plans)s) AND {_IN_RANGE}
        ORDER BY plan_id, completed_at, stream_version
        """,  # noqa: S608
        {"plans": sorted(plan_ids), "ends": as_of.array(plan_topic(settings))},
    ).fetchall()
    out: dict[UUID, list[PlanReview]] = {}
    for pid, completed, trigger, iid in rows:
        out.setdefault(pid, []).append(PlanReview(completed, trigger, iid))
    return out
