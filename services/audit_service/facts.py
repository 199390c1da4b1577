"""Event -> fact rows: what the audit keeps of each plan and use-of-force event.

Every fact table is append-only and keyed by something the event fixes (a participant id, a
contribution id, a stream version), so inserting a fact twice with ``ON CONFLICT DO NOTHING``
changes nothing, and a rebuild from offset 0 gives the same rows in any consumption order.
Derived values (classifications, rates) are computed when read, never stored.

Pure: no I/O. This module must never copy a name, an NHS number, a date of birth or any free
text (summaries, reasons, comments, narratives) into a row: only ids, roles, codes, timestamps
and booleans.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from contracts.envelope import EventEnvelope

Row = tuple[Any, ...]

TABLES: dict[str, tuple[str, ...]] = {
    "au_plans": ("plan_id", "stream_version", "provider", "unit", "started_at"),
    "au_plan_closed": ("plan_id", "stream_version", "closed_at", "reason"),
    "au_participants": ("plan_id", "participant_id", "stream_version", "role", "invited_at"),
    "au_joins": (
        "plan_id",
        "participant_id",
        "stream_version",
        "joined_at",
        "information_sharing_consent",
    ),
    "au_contributions": (
        "plan_id",
        "contribution_id",
        "stream_version",
        "section",
        "author_participant_id",
        "mode",
        "recorded_by_participant_id",
        "made_at",
    ),
    "au_presence": ("plan_id", "contribution_id", "participant_id", "attendance"),
    "au_versions": ("plan_id", "version_number", "stream_version", "proposed_at", "proposed_by"),
    "au_version_contributions": ("plan_id", "version_number", "contribution_id"),
    "au_agreements": (
        "plan_id",
        "stream_version",
        "version_number",
        "participant_id",
        "mode",
        "agreed_at",
    ),
    "au_dissents": (
        "plan_id",
        "dissent_id",
        "stream_version",
        "version_number",
        "section",
        "participant_id",
        "mode",
        "recorded_at",
    ),
    "au_dissent_responses": (
        "plan_id",
        "stream_version",
        "dissent_id",
        "outcome",
        "responded_by",
        "responded_at",
    ),
    "au_reviews_scheduled": (
        "plan_id",
        "review_id",
        "stream_version",
        "due_on",
        "trigger",
        "incident_id",
        "scheduled_at",
    ),
    "au_reviews_completed": (
        "plan_id",
        "stream_version",
        "review_id",
        "trigger",
        "incident_id",
        "completed_at",
        "changes_needed",
        "next_review_due_on",
    ),
    "au_review_participants": ("plan_id", "stream_version", "participant_id", "attendance"),
    "au_shares": (
        "plan_id",
        "stream_version",
        "version_number",
        "participant_id",
        "method",
        "shared_at",
    ),
    "au_incidents": (
        "incident_id",
        "stream_version",
        "plan_id",
        "plan_version_in_force",
        "provider",
        "unit",
        "started_at",
    ),
    "au_incident_reviews": (
        "incident_id",
        "stream_version",
        "held_with_patient",
        "patient_review_on",
    ),
}


def facts_of(event: EventEnvelope[Any]) -> Iterator[tuple[str, Row]]:
    """The (table, row) facts of one parsed, current-version event; nothing for other types."""
    p = event.payload
    sid, ver, at = event.stream_id, event.stream_version, event.occurred_at
    kind = event.event_type
    if kind == "safety_plan.plan_started":
        yield "au_plans", (sid, ver, p.setting.provider_ods_code, p.setting.unit_name, at)
    elif kind == "safety_plan.participant_invited":
        yield "au_participants", (sid, p.participant_id, ver, p.role.value, at)
    elif kind == "safety_plan.participant_joined":
        yield "au_joins", (sid, p.participant_id, ver, at, p.information_sharing_consent)
    elif kind == "safety_plan.contribution_made":
        yield (
            "au_contributions",
            (
                sid,
                p.contribution_id,
                ver,
                p.section.value,
                p.author_participant_id,
                p.mode.value,
                p.recorded_by_participant_id,
                at,
            ),
        )
        for present in p.present:
            attendance = present.attendance.value if present.attendance else None
            yield "au_presence", (sid, p.contribution_id, present.participant_id, attendance)
    elif kind == "safety_plan.version_proposed":
        yield "au_versions", (sid, p.version_number, ver, at, p.proposed_by_participant_id)
        for cid in p.contribution_ids:
            yield "au_version_contributions", (sid, p.version_number, cid)
    elif kind == "safety_plan.agreement_given":
        yield "au_agreements", (sid, ver, p.version_number, p.participant_id, p.mode.value, at)
    elif kind == "safety_plan.dissent_recorded":
        section = p.section.value if p.section else None
        yield (
            "au_dissents",
            (sid, p.dissent_id, ver, p.version_number, section, p.participant_id, p.mode.value, at),
        )
    elif kind == "safety_plan.dissent_responded":
        yield (
            "au_dissent_responses",
            (sid, ver, p.dissent_id, p.outcome.value, p.responded_by_participant_id, at),
        )
    elif kind == "safety_plan.review_scheduled":
        yield (
            "au_reviews_scheduled",
            (sid, p.review_id, ver, p.due_on, p.trigger.value, p.incident_id, at),
        )
    elif kind == "safety_plan.review_completed":
        yield (
            "au_reviews_completed",
            (
                sid,
                ver,
                p.review_id,
                p.trigger.value,
                p.incident_id,
                at,
                p.changes_needed,
                p.next_review_due_on,
            ),
        )
        for who in p.participants:
            attendance = who.attendance.value if who.attendance else None
            yield "au_review_participants", (sid, ver, who.participant_id, attendance)
    elif kind == "safety_plan.plan_shared":
        yield (
            "au_shares",
            (sid, ver, p.version_number, p.shared_with_participant_id, p.method.value, at),
        )
    elif kind == "safety_plan.plan_closed":
        yield "au_plan_closed", (sid, ver, at, p.reason.value)
    elif kind == "use_of_force.incident_recorded":
        yield (
            "au_incidents",
            (
                sid,
                ver,
                p.plan_id,
                p.plan_version_in_force,
                p.setting.provider_ods_code,
                p.setting.unit_name,
                p.started_at,
            ),
        )
    elif kind == "use_of_force.post_incident_review_recorded":
        yield "au_incident_reviews", (sid, ver, p.held_with_patient, p.patient_review_on)
