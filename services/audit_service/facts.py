"""Event payload -> fact rows: what the audit keeps of each plan and use-of-force event.

Rows are built from the payload as JSON data (``orjson`` output or a strict model's JSON dump):
ids, datetimes and dates stay text in their canonical wire form and PostgreSQL reads them, so no
UUID or datetime object is made per event. Every value read is checked (``checks.py``); a value
that fails raises ``checks.Unsure`` naming the field, and the reader hands the record to the
strict reader. Fields the audit never reads (names, free text, other personal data, which will
arrive encrypted) are not looked at.

Every fact table is append-only and keyed by something the event fixes (a participant id, a
contribution id, a stream version), so inserting a fact twice with ``ON CONFLICT DO NOTHING``
changes nothing, and a rebuild from offset 0 gives the same rows in any consumption order.
Derived values (classifications, rates) are computed when read, never stored.

Pure: no I/O. This module must never copy a name, an NHS number, a date of birth or any free
text (summaries, reasons, comments, narratives) into a row: only ids, roles, codes, timestamps
and booleans.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.codes import (
    AttendanceMode,
    ContributionMode,
    DissentResponseOutcome,
    ParticipantRole,
    PlanCloseReason,
    PlanSection,
    PlanShareMethod,
    ReviewTrigger,
)
from contracts.common import MAX_LIST
from services.audit_service import checks as c
from services.audit_service.checks import Unsure

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


Facts = list[tuple[str, Row]]

ROLES = c.codes(ParticipantRole)
SECTIONS = c.codes(PlanSection)
MODES = c.codes(ContributionMode)
ATTENDANCE = c.codes(AttendanceMode)
OUTCOMES = c.codes(DissentResponseOutcome)
TRIGGERS = c.codes(ReviewTrigger)
SHARE_METHODS = c.codes(PlanShareMethod)
CLOSE_REASONS = c.codes(PlanCloseReason)
MAX_VERSION = 1_000_000
MAX_CONTRIBUTIONS_PER_VERSION = 5000
MAX_UNIT_NAME = 200


def _version(p: dict[str, Any], key: str = "version_number") -> int:
    return c.integer(p[key], f"payload.{key}", 1, MAX_VERSION)


def _plan_started(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    setting = p["setting"]
    provider = c.ods_code(setting["provider_ods_code"], "payload.setting.provider_ods_code")
    unit = c.text(setting["unit_name"], "payload.setting.unit_name", MAX_UNIT_NAME)
    return [("au_plans", (sid, ver, provider, unit, at))]


def _participant_invited(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    who = c.uuid(p["participant_id"], "payload.participant_id")
    return [("au_participants", (sid, who, ver, c.code(p["role"], "payload.role", ROLES), at))]


def _participant_joined(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    who = c.uuid(p["participant_id"], "payload.participant_id")
    consent = c.optional_boolean(
        p["information_sharing_consent"], "payload.information_sharing_consent"
    )
    return [("au_joins", (sid, who, ver, at, consent))]


def _contribution_made(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    cid = c.uuid(p["contribution_id"], "payload.contribution_id")
    out: Facts = [
        (
            "au_contributions",
            (
                sid,
                cid,
                ver,
                c.code(p["section"], "payload.section", SECTIONS),
                c.uuid(p["author_participant_id"], "payload.author_participant_id"),
                c.code(p["mode"], "payload.mode", MODES),
                c.optional_uuid(
                    p["recorded_by_participant_id"], "payload.recorded_by_participant_id"
                ),
                at,
            ),
        )
    ]
    for present in c.items(p["present"], "payload.present", MAX_LIST):
        who = c.uuid(present["participant_id"], "payload.present[].participant_id")
        attendance = c.optional_code(
            present["attendance"], "payload.present[].attendance", ATTENDANCE
        )
        out.append(("au_presence", (sid, cid, who, attendance)))
    return out


def _version_proposed(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    number = _version(p)
    by = c.uuid(p["proposed_by_participant_id"], "payload.proposed_by_participant_id")
    out: Facts = [("au_versions", (sid, number, ver, at, by))]
    ids = c.items(p["contribution_ids"], "payload.contribution_ids", MAX_CONTRIBUTIONS_PER_VERSION)
    for cid in ids:
        out.append(
            ("au_version_contributions", (sid, number, c.uuid(cid, "payload.contribution_ids[]")))
        )
    return out


def _agreement_given(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    who = c.uuid(p["participant_id"], "payload.participant_id")
    mode = c.code(p["mode"], "payload.mode", MODES)
    return [("au_agreements", (sid, ver, _version(p), who, mode, at))]


def _dissent_recorded(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    row = (
        sid,
        c.uuid(p["dissent_id"], "payload.dissent_id"),
        ver,
        _version(p),
        c.optional_code(p["section"], "payload.section", SECTIONS),
        c.uuid(p["participant_id"], "payload.participant_id"),
        c.code(p["mode"], "payload.mode", MODES),
        at,
    )
    return [("au_dissents", row)]


def _dissent_responded(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    row = (
        sid,
        ver,
        c.uuid(p["dissent_id"], "payload.dissent_id"),
        c.code(p["outcome"], "payload.outcome", OUTCOMES),
        c.uuid(p["responded_by_participant_id"], "payload.responded_by_participant_id"),
        at,
    )
    return [("au_dissent_responses", row)]


def _review_scheduled(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    row = (
        sid,
        c.uuid(p["review_id"], "payload.review_id"),
        ver,
        c.day(p["due_on"], "payload.due_on"),
        c.code(p["trigger"], "payload.trigger", TRIGGERS),
        c.optional_uuid(p["incident_id"], "payload.incident_id"),
        at,
    )
    return [("au_reviews_scheduled", row)]


def _review_completed(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    row = (
        sid,
        ver,
        c.optional_uuid(p["review_id"], "payload.review_id"),
        c.code(p["trigger"], "payload.trigger", TRIGGERS),
        c.optional_uuid(p["incident_id"], "payload.incident_id"),
        at,
        c.boolean(p["changes_needed"], "payload.changes_needed"),
        c.optional_day(p["next_review_due_on"], "payload.next_review_due_on"),
    )
    out: Facts = [("au_reviews_completed", row)]
    for who in c.items(p["participants"], "payload.participants", MAX_LIST, min_items=1):
        pid = c.uuid(who["participant_id"], "payload.participants[].participant_id")
        attendance = c.optional_code(
            who["attendance"], "payload.participants[].attendance", ATTENDANCE
        )
        out.append(("au_review_participants", (sid, ver, pid, attendance)))
    return out


def _plan_shared(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    who = c.uuid(p["shared_with_participant_id"], "payload.shared_with_participant_id")
    method = c.code(p["method"], "payload.method", SHARE_METHODS)
    return [("au_shares", (sid, ver, _version(p), who, method, at))]


def _plan_closed(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    return [
        ("au_plan_closed", (sid, ver, at, c.code(p["reason"], "payload.reason", CLOSE_REASONS)))
    ]


def _incident_recorded(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    setting = p["setting"]
    row = (
        sid,
        ver,
        c.optional_uuid(p["plan_id"], "payload.plan_id"),
        c.optional_integer(
            p["plan_version_in_force"], "payload.plan_version_in_force", 1, MAX_VERSION
        ),
        c.ods_code(setting["provider_ods_code"], "payload.setting.provider_ods_code"),
        c.text(setting["unit_name"], "payload.setting.unit_name", MAX_UNIT_NAME),
        c.utc_datetime(p["started_at"], "payload.started_at"),
    )
    return [("au_incidents", row)]


def _post_incident_review(sid: str, ver: int, at: str, p: dict[str, Any]) -> Facts:
    held = c.boolean(p["held_with_patient"], "payload.held_with_patient")
    on = c.optional_day(p["patient_review_on"], "payload.patient_review_on")
    return [("au_incident_reviews", (sid, ver, held, on))]


_BY_TYPE: dict[str, Callable[[str, int, str, dict[str, Any]], Facts]] = {
    "safety_plan.plan_started": _plan_started,
    "safety_plan.participant_invited": _participant_invited,
    "safety_plan.participant_joined": _participant_joined,
    "safety_plan.contribution_made": _contribution_made,
    "safety_plan.version_proposed": _version_proposed,
    "safety_plan.agreement_given": _agreement_given,
    "safety_plan.dissent_recorded": _dissent_recorded,
    "safety_plan.dissent_responded": _dissent_responded,
    "safety_plan.review_scheduled": _review_scheduled,
    "safety_plan.review_completed": _review_completed,
    "safety_plan.plan_shared": _plan_shared,
    "safety_plan.plan_closed": _plan_closed,
    "use_of_force.incident_recorded": _incident_recorded,
    "use_of_force.post_incident_review_recorded": _post_incident_review,
}


FACT_EVENT_TYPES = frozenset(_BY_TYPE)
"""Event types that give fact rows; the others are kept in au_events and the chains only."""


def facts_of(
    event_type: str, stream_id: str, stream_version: int, occurred_at: str, payload: Any
) -> Facts:
    """The (table, row) facts of one current-version payload (JSON data); none for other types.

    Raises ``Unsure`` (naming the field when it knows it) for a value it does not take as it
    stands: a missing key, a wrong type, a value off its code list or out of its range.
    """
    build = _BY_TYPE.get(event_type)
    if build is None:
        return []
    try:
        return build(stream_id, stream_version, occurred_at, payload)
    except (KeyError, TypeError, IndexError, AttributeError):
        raise Unsure("payload") from None
