"""An MHSDS-shaped extract of the use-of-force records: MHS505 Restrictive Intervention Incident
and MHS515 Restrictive Intervention Type rows with the national codes, field names as in
domain.md §2.1 (MHSDS v5).

Dates and times are local (Europe/London), as MHSDS records them. Fields this platform does not
hold are present and null (`HospProvSpellID`: no hospital spell is carried by any event).
`Person_ID` is the provider-local pseudonymous person id, not NHS England's derived Person_ID.
`RestrictiveIntTypeID` is `<incident id>-<n>`, n the 1-based position of the force period.

This module must never do I/O and never emit names or NHS numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.reporting_service.scope import LONDON
from services.reporting_service.store import Incident

MHS505_FIELDS = (
    "RestrictiveIntIncID",
    "OrgIDProv",
    "Person_ID",
    "HospProvSpellID",
    "StartDateRestrictiveIntInc",
    "StartTimeRestrictiveIntInc",
    "EndDateRestrictiveIntInc",
    "EndTimeRestrictiveIntInc",
    "RestrictiveIntReason",
    "RestrictiveIntPIReviewHeldPat",
    "RestrictiveIntPIReviewNotHeldReasPat",
    "RestrictiveIntPIReviewHeldCarePers",
)
MHS515_FIELDS = (
    "RestrictiveIntIncID",
    "RestrictiveIntTypeID",
    "RestrictiveIntType",
    "StartDateRestrictiveIntType",
    "StartTimeRestrictiveIntType",
    "EndDateRestrictiveIntType",
    "EndTimeRestrictiveIntType",
    "RestraintInjuryPatient",
    "RestraintInjuryCarePers",
    "RestraintInjuryOtherPers",
)


def _local(value: str) -> tuple[str, str]:
    moment = datetime.fromisoformat(value).astimezone(LONDON)
    return moment.date().isoformat(), moment.strftime("%H:%M:%S")


def yes_no(value: bool | None) -> str | None:
    return None if value is None else ("Y" if value else "N")


def mhs505(incident: Incident) -> dict[str, Any]:
    record = incident.record
    start_date, start_time = _local(record["started_at"])
    end_date, end_time = _local(record["ended_at"])
    pi = incident.pi_review or {}
    return {
        "RestrictiveIntIncID": str(incident.incident_id),
        "OrgIDProv": record["setting"]["provider_ods_code"],
        "Person_ID": record["patient"]["person_id"],
        "HospProvSpellID": None,
        "StartDateRestrictiveIntInc": start_date,
        "StartTimeRestrictiveIntInc": start_time,
        "EndDateRestrictiveIntInc": end_date,
        "EndTimeRestrictiveIntInc": end_time,
        "RestrictiveIntReason": record["reason"],
        "RestrictiveIntPIReviewHeldPat": yes_no(pi.get("held_with_patient")),
        "RestrictiveIntPIReviewNotHeldReasPat": pi.get("not_held_reason_code"),
        "RestrictiveIntPIReviewHeldCarePers": yes_no(pi.get("held_with_staff")),
    }


def mhs515(incident: Incident) -> list[dict[str, Any]]:
    rows = []
    for n, use in enumerate(incident.record["force_used"], start=1):
        start_date, start_time = _local(use["started_at"])
        end_date, end_time = _local(use["ended_at"])
        rows.append(
            {
                "RestrictiveIntIncID": str(incident.incident_id),
                "RestrictiveIntTypeID": f"{incident.incident_id}-{n}",
                "RestrictiveIntType": use["force_type"],
                "StartDateRestrictiveIntType": start_date,
                "StartTimeRestrictiveIntType": start_time,
                "EndDateRestrictiveIntType": end_date,
                "EndTimeRestrictiveIntType": end_time,
                "RestraintInjuryPatient": yes_no(use["injury_patient"]),
                "RestraintInjuryCarePers": yes_no(use["injury_staff"]),
                "RestraintInjuryOtherPers": yes_no(use["injury_other_person"]),
            }
        )
    return rows
