"""The section 6 record: every item of Mental Health Units (Use of Force) Act 2018 s.6(5),
(a) to (p), per incident, with amendments applied and their history shown, and a completeness
check naming each missing item.

Completeness: an item is *missing* when the Act requires it and the record has no value (a
reason coded 99 "Not Known" counts as missing (a)); (j) mental disorder and (k) relevant
characteristics are required only "if known", so null there is reported as *not known*, not
missing. (d) is missing when the recorder did not state it for a force type.

This module must never do I/O; it turns an `Incident` into plain JSON data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.codes import RestrictiveInterventionReason, RestrictiveInterventionType
from contracts.common import format_utc
from services.reporting_service.statistics import unsuppressed_minutes
from services.reporting_service.store import Incident


def _label(
    code: str, kind: type[RestrictiveInterventionReason | RestrictiveInterventionType]
) -> str:
    try:
        return kind(code).label
    except ValueError:
        return "unknown code"


def items(record: dict[str, Any]) -> dict[str, Any]:
    """The s.6(5) items of a (current) record, keyed by item letter and name."""
    started, ended = record["started_at"], record["ended_at"]
    setting = record["setting"]
    minutes = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds() / 60
    patient = record.get("patient") or {}
    return {
        "a_reason": {
            "code": record["reason"],
            "label": _label(record["reason"], RestrictiveInterventionReason),
            "detail": record.get("reason_detail"),
        },
        "b_place": {**setting, "location_detail": record.get("location_detail")},
        "b_started_at": started,
        "b_ended_at": ended,
        "b_duration_minutes": unsuppressed_minutes(minutes),
        "c_force_types": [
            {
                "code": use["force_type"],
                "label": _label(use["force_type"], RestrictiveInterventionType),
                "started_at": use["started_at"],
                "ended_at": use["ended_at"],
            }
            for use in record["force_used"]
        ],
        "d_part_of_care_plan": {
            "stated_by_recorder": [
                {"code": use["force_type"], "part_of_care_plan": use.get("part_of_care_plan")}
                for use in record["force_used"]
            ],
            "plan_id": record.get("plan_id"),
            "plan_version_in_force": record.get("plan_version_in_force"),
        },
        "e_patient_name": patient.get("name"),
        "f_description": record.get("description"),
        "g_consistent_identifier": patient.get("nhs_number"),
        "h_staff": [
            {
                "name": s.get("name"),
                "job_title": s.get("job_title"),
                "role_in_incident": s.get("role_in_incident"),
                "force_types": s.get("force_types"),
            }
            for s in record.get("staff_involved") or []
        ],
        "i_non_staff": record.get("non_staff_involved") or [],
        "j_mental_disorders": record.get("mental_disorders"),
        "k_relevant_characteristics": record.get("relevant_characteristics"),
        "l_learning_disability": record.get("learning_disability"),
        "l_autism": record.get("autism"),
        "m_outcome": record.get("outcome"),
        "n_patient_died": record.get("patient_died"),
        "n_patient_serious_injury": record.get("patient_serious_injury"),
        "n_injuries": record.get("injuries") or [],
        "o_efforts_to_avoid_force": record.get("efforts_to_avoid_force") or [],
        "o_no_efforts_reason": record.get("no_efforts_reason"),
        "p_notifications": record.get("notifications") or [],
        "p_notification_not_sent_reason": record.get("notification_not_sent_reason"),
        "negligible_claimed": record.get("negligible_claimed", False),
    }


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def completeness(record: dict[str, Any]) -> dict[str, Any]:
    """Missing and not-known s.6(5) items, each naming the field and the rule."""
    missing: list[dict[str, str]] = []
    not_known: list[dict[str, str]] = []

    def need(item: str, field: str, value: Any, rule: str = "required") -> None:
        if _empty(value):
            missing.append({"item": item, "field": field, "rule": rule})

    patient = record.get("patient") or {}
    if record.get("reason") == RestrictiveInterventionReason.NOT_KNOWN.value:
        missing.append({"item": "a", "field": "reason", "rule": "reason_not_known"})
    need("a", "reason", record.get("reason"))
    need("b", "started_at", record.get("started_at"))
    need("b", "ended_at", record.get("ended_at"))
    need("b", "setting.unit_name", (record.get("setting") or {}).get("unit_name"))
    need("c", "force_used", record.get("force_used"))
    for i, use in enumerate(record.get("force_used") or []):
        need("d", f"force_used[{i}].part_of_care_plan", use.get("part_of_care_plan"), "stated")
    need("e", "patient.name", patient.get("name"))
    need("f", "description", record.get("description"))
    need("g", "patient.nhs_number", patient.get("nhs_number"), "consistent_identifier")
    need("h", "staff_involved", record.get("staff_involved"))
    for i, staff in enumerate(record.get("staff_involved") or []):
        need("h", f"staff_involved[{i}].name", staff.get("name"))
        need("h", f"staff_involved[{i}].job_title", staff.get("job_title"))
    for i, other in enumerate(record.get("non_staff_involved") or []):
        need("i", f"non_staff_involved[{i}].reason", other.get("reason"))
    if record.get("mental_disorders") is None:
        not_known.append({"item": "j", "field": "mental_disorders", "rule": "if_known"})
    if record.get("relevant_characteristics") is None:
        not_known.append({"item": "k", "field": "relevant_characteristics", "rule": "if_known"})
    need("l", "learning_disability", record.get("learning_disability"))
    need("l", "autism", record.get("autism"))
    need("m", "outcome", record.get("outcome"))
    need("n", "patient_died", record.get("patient_died"))
    need("n", "patient_serious_injury", record.get("patient_serious_injury"))
    if _empty(record.get("efforts_to_avoid_force")) and _empty(record.get("no_efforts_reason")):
        missing.append(
            {"item": "o", "field": "efforts_to_avoid_force", "rule": "efforts_or_reason"}
        )
    if _empty(record.get("notifications")) and _empty(record.get("notification_not_sent_reason")):
        missing.append({"item": "p", "field": "notifications", "rule": "notification_or_reason"})
    return {
        "complete": not missing,
        "missing_items": sorted({m["item"] for m in missing}),
        "missing": missing,
        "not_known": not_known,
    }


def entry(incident: Incident) -> dict[str, Any]:
    """One incident of the section 6 report."""
    amendments: list[dict[str, Any]] = [
        {
            "amendment_number": (v.change or {}).get("amendment_number"),
            "stream_version": v.stream_version,
            "recorded_at": format_utc(v.recorded_at),
            "actor_role": v.actor_role,
            "reason": (v.change or {}).get("reason"),
            "changes": (v.change or {}).get("changes") or [],
        }
        for v in incident.versions
        if v.event_type == "use_of_force.incident_amended"
    ]
    return {
        "incident_id": str(incident.incident_id),
        "record_made_at": format_utc(incident.made_at),
        "record_version": incident.versions[-1].stream_version,
        "personal_data_available": incident.personal_available,
        "s6": items(incident.record),
        "amended_fields": sorted({c["path"] for a in amendments for c in a["changes"]}),
        "amendments": amendments,
        "completeness": completeness(incident.record),
    }


CSV_COLUMNS = (
    "incident_id",
    "record_version",
    "complete",
    "missing_items",
    "amended_fields",
    "a_reason",
    "b_place",
    "b_started_at",
    "b_ended_at",
    "b_duration_minutes",
    "c_force_types",
    "d_part_of_care_plan",
    "e_patient_name",
    "f_description",
    "g_consistent_identifier",
    "h_staff",
    "i_non_staff",
    "j_mental_disorders",
    "k_relevant_characteristics",
    "l_learning_disability",
    "l_autism",
    "m_outcome",
    "n_patient_died",
    "n_patient_serious_injury",
    "n_injuries",
    "o_efforts_to_avoid_force",
    "o_no_efforts_reason",
    "p_notifications",
    "p_notification_not_sent_reason",
)


def csv_row(item: dict[str, Any]) -> dict[str, Any]:
    """One flat CSV row per incident; structured items are JSON text."""
    return {
        "incident_id": item["incident_id"],
        "record_version": item["record_version"],
        "complete": item["completeness"]["complete"],
        "missing_items": " ".join(item["completeness"]["missing_items"]),
        "amended_fields": " ".join(item["amended_fields"]),
        **{k: item["s6"][k] for k in CSV_COLUMNS[5:]},
    }


WITHHELD = (
    "e_patient_name",
    "g_consistent_identifier",
    "f_description",
    "m_outcome",
    "o_efforts_to_avoid_force",
    "o_no_efforts_reason",
    "p_notification_not_sent_reason",
)
WITHHELD_IN_LISTS = {
    "h_staff": ("name",),
    "i_non_staff": ("reason",),
    "j_mental_disorders": ("description",),
    "n_injuries": ("description",),
    "p_notifications": ("recipient_name", "relationship"),
}


def _blank(entry: Any, fields: tuple[str, ...]) -> Any:
    if not isinstance(entry, dict):
        return None  # a free-text list entry
    return {k: (None if k in fields else v) for k, v in entry.items()}


def without_identifiers(item: dict[str, Any]) -> dict[str, Any]:
    """The entry for a reader without identifiable access: names, the NHS number and free-text
    narratives become null (the date of birth is never in the report); codes, times, force types
    and completeness stay. ``withheld`` names what was removed."""
    s6 = dict(item["s6"])
    for key in WITHHELD:
        s6[key] = None
    for key, fields in WITHHELD_IN_LISTS.items():
        if isinstance(s6.get(key), list):
            s6[key] = [_blank(e, fields) for e in s6[key]]
    s6["a_reason"] = {**s6["a_reason"], "detail": None}
    s6["b_place"] = {**s6["b_place"], "location_detail": None}
    amendments = [
        {
            **a,
            "reason": None,
            "changes": [{"path": c.get("path")} for c in a["changes"]],
        }
        for a in item["amendments"]
    ]
    withheld = [
        *WITHHELD,
        *(f"{k}[].{f}" for k, fs in WITHHELD_IN_LISTS.items() for f in fs),
        "a_reason.detail",
        "b_place.location_detail",
        "amendments[].reason",
        "amendments[].changes[].values",
    ]
    return {**item, "s6": s6, "amendments": amendments, "withheld": sorted(withheld)}
