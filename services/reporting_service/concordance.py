"""Plan concordance: did each use of force match the co-produced plan in force at that moment?

Per incident and per force type used, from the plan *history* (the version named on the
IncidentRecorded event by plan_service, `plan_version_in_force`), never from today's plan:

* `in_plan`: the plan version's restrictive-practice preferences list the type as `accepts` or
  `conditional` (planned); False when listed as `does_not_want`, not listed, or there was no plan
  in force; None when the named version is not (yet) in the log read.
* `person_did_not_want`: the version lists the type as `does_not_want`.
* `recorded_matches_plan`: the recorder's s.6(5)(d) answer agrees with `in_plan`.

Per incident:

* notification (s.6(5)(p)): followed when every contact of the version's "who must be told"
  section was notified (a notification citing its `contact_id`), or, when the person asked that
  nobody be told, nobody was; `methods_as_planned` compares the method used with the plan's.
* post-incident review with the person: the latest PostIncidentReviewRecorded, and how many days
  after the incident's start date (Europe/London) it was held.
* plan reviewed afterwards: the first `review_completed` on the plan with trigger `after_incident`
  linking this incident; failing that, the first review completed after the incident ended;
  with the days from the incident's start date.

This module must never do I/O.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from contracts.codes import RestrictiveInterventionType, RestrictivePracticePreference
from contracts.common import format_utc
from services.reporting_service.scope import LONDON
from services.reporting_service.store import Incident, PlanReview, PlanVersion

PLANNED = {
    RestrictivePracticePreference.ACCEPTS.value,
    RestrictivePracticePreference.CONDITIONAL.value,
}
DOES_NOT_WANT = RestrictivePracticePreference.DOES_NOT_WANT.value


def _local_date(value: str | datetime) -> date:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(LONDON).date()


def assess(
    incident: Incident, version: PlanVersion | None, reviews: list[PlanReview]
) -> dict[str, Any]:
    record = incident.record
    plan_id = record.get("plan_id")
    plan_version = record.get("plan_version_in_force")
    has_plan = plan_id is not None and plan_version is not None
    found = version is not None
    prefs = (version.preferences or {}) if version else {}
    started = _local_date(record["started_at"])
    ended_at = datetime.fromisoformat(record["ended_at"])

    force_types = []
    seen: set[str] = set()
    for use in record["force_used"]:
        code = use["force_type"]
        stated = use.get("part_of_care_plan")
        preference = prefs.get(code)
        in_plan: bool | None = (preference in PLANNED) if (found or not has_plan) else None
        did_not_want: bool | None = (preference == DOES_NOT_WANT) if found or not has_plan else None
        force_types.append(
            {
                "code": code,
                "label": RestrictiveInterventionType(code).label,
                "plan_preference": preference,
                "in_plan": in_plan,
                "person_did_not_want": did_not_want,
                "recorded_as_part_of_care_plan": stated,
                "recorded_matches_plan": (
                    None if stated is None or in_plan is None else stated == in_plan
                ),
                "repeated_type": code in seen,
            }
        )
        seen.add(code)

    return {
        "incident_id": str(incident.incident_id),
        "started_at": record["started_at"],
        "plan_id": plan_id,
        "plan_version_in_force": plan_version,
        "plan_in_force": has_plan,
        "plan_version_found": found,
        "force_types": force_types,
        "any_force_person_did_not_want": any(f["person_did_not_want"] for f in force_types),
        "notification": _notification(record, version),
        "post_incident_review": _pi_review(incident.pi_review, started),
        "plan_review_after": _plan_review(incident, reviews, started, ended_at),
    }


def _notification(record: dict[str, Any], version: PlanVersion | None) -> dict[str, Any]:
    sent = record.get("notifications") or []
    notify = version.notify if version else None
    if notify is None:
        return {
            "plan_has_preferences": False,
            "followed": None,
            "nobody_to_notify": None,
            "plan_contacts": 0,
            "plan_contacts_notified": 0,
            "methods_as_planned": None,
            "notified_outside_plan": sum(1 for n in sent if n.get("plan_contact_id") is None),
        }
    contacts = {c["contact_id"]: c["method"] for c in notify["contacts"]}
    by_contact: dict[str, list[str]] = {}
    for n in sent:
        if n.get("plan_contact_id") is not None:
            by_contact.setdefault(n["plan_contact_id"], []).append(n["method"])
    notified = [cid for cid in contacts if cid in by_contact]
    outside = sum(1 for n in sent if n.get("plan_contact_id") not in contacts)
    followed = not sent if notify["nobody_to_notify"] else len(notified) == len(contacts)
    methods = all(contacts[cid] in by_contact[cid] for cid in notified) if notified else None
    return {
        "plan_has_preferences": True,
        "followed": followed,
        "nobody_to_notify": notify["nobody_to_notify"],
        "plan_contacts": len(contacts),
        "plan_contacts_notified": len(notified),
        "methods_as_planned": methods,
        "notified_outside_plan": outside,
    }


def _pi_review(pi: dict[str, Any] | None, started: date) -> dict[str, Any]:
    if pi is None:
        return {"recorded": False, "held_with_patient": None, "held_on": None, "days_after": None}
    held_on = pi.get("patient_review_on")
    return {
        "recorded": True,
        "held_with_patient": pi.get("held_with_patient"),
        "held_on": held_on,
        "days_after": (date.fromisoformat(held_on) - started).days if held_on else None,
        "held_with_staff": pi.get("held_with_staff"),
        "not_held_reason_code": pi.get("not_held_reason_code"),
    }


def _plan_review(
    incident: Incident, reviews: list[PlanReview], started: date, ended_at: datetime
) -> dict[str, Any]:
    linked = [
        r
        for r in reviews
        if r.trigger == "after_incident" and r.incident_id == incident.incident_id
    ]
    after = [r for r in reviews if r.completed_at >= ended_at]
    chosen = linked[0] if linked else (after[0] if after else None)
    if chosen is None:
        return {
            "reviewed": False,
            "linked_to_incident": False,
            "trigger": None,
            "completed_at": None,
            "days_after": None,
        }
    return {
        "reviewed": True,
        "linked_to_incident": bool(linked),
        "trigger": chosen.trigger,
        "completed_at": format_utc(chosen.completed_at),
        "days_after": (_local_date(chosen.completed_at) - started).days,
    }
