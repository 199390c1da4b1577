"""A realistic, entirely synthetic scenario: two units, three wards, six people, plans made with
and without the person, carers, an advocate, dissents answered and unanswered, reviews on time
and overdue, and incidents before and after plan changes.

Every step has a fixed Idempotency-Key and every new stream a fixed id, so loading it twice
writes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.personal_data import nhs_number_is_valid

NS = uuid.UUID("d3m0d3m0-0000-4000-8000-000000000000".replace("m", "0"))
PROVIDER = "RXX"


def uid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


def nhs_number(serial: int) -> str:
    for check in range(10):
        candidate = f"999{serial:06d}{check}"
        if nhs_number_is_valid(candidate):
            return candidate
    return nhs_number(serial + 1)


@dataclass(frozen=True)
class Ref:
    """A value the API returned for an earlier step (e.g. the id of a dissent it recorded)."""

    step_key: str
    field: str


@dataclass(frozen=True)
class Step:
    key: str
    path: str
    body: dict[str, Any]
    at: datetime
    actor: tuple[str, str]
    stream_id: str | None = None


BASE = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
UNITS = {
    "oak": ("Riverside Acute Unit", "Oak Ward", "RXX01"),
    "birch": ("Riverside Acute Unit", "Birch Ward", "RXX01"),
    "cedar": ("Hillview PICU", "Cedar Ward", "RXX02"),
}
PEOPLE = [
    # key, name, ward, story
    ("alex", "Alex Example", "oak", "with"),
    ("blake", "Blake Sample", "oak", "without"),
    ("casey", "Casey Placeholder", "birch", "dissent_answered"),
    ("drew", "Drew Fictional", "birch", "dissent_open"),
    ("eden", "Eden Testcase", "cedar", "advocate"),
    ("frankie", "Frankie Mock", "cedar", "closed"),
]
NURSE = ("staff-0042", "nurse")
DOCTOR = ("staff-0101", "psychiatrist")


class PlanScript:
    """Builds the steps of one person's plan."""

    def __init__(self, person: str, name: str, ward: str, serial: int) -> None:
        self.person, self.name, self.ward, self.serial = person, name, ward, serial
        self.plan_id = uid(f"plan:{person}")
        self.steps: list[Step] = []
        self.t = BASE + timedelta(days=serial * 3)
        self.ids = {
            role: uid(f"{person}:{role}")
            for role in ("service_user", "carer", "nurse", "psychiatrist", "advocate", "notify")
        }

    def _at(self, hours: float) -> datetime:
        self.t += timedelta(hours=hours)
        return self.t

    def add(
        self,
        what: str,
        path: str,
        body: dict[str, Any],
        hours: float = 2,
        actor: tuple[str, str] = NURSE,
        stream_id: str | None = None,
    ) -> None:
        self.steps.append(
            Step(f"demo:{self.person}:{what}", path, body, self._at(hours), actor, stream_id)
        )

    def start(self) -> None:
        unit, ward, site = UNITS[self.ward]
        self.add(
            "start",
            "/plans",
            {
                "person": {
                    "person_id": f"DEMO-{self.serial:04d}",
                    "name": self.name,
                    "nhs_number": nhs_number(self.serial),
                    "date_of_birth": "1990-05-17",
                },
                "setting": {
                    "provider_ods_code": PROVIDER,
                    "site_ods_code": site,
                    "unit_name": unit,
                    "ward_name": ward,
                },
            },
            stream_id=self.plan_id,
        )

    def invite(self, role: str, who: str, name: str, consent: bool | None = None) -> None:
        p = f"/plans/{self.plan_id}"
        body: dict[str, Any] = {"participant_id": self.ids[who], "role": role, "name": name}
        if role == "carer_or_family":
            body["relationship_to_person"] = "Parent"
        self.add(f"invite:{who}", f"{p}/participants", body, 0.5)
        join: dict[str, Any] = {"participant_id": self.ids[who]}
        if consent is not None:
            join["information_sharing_consent"] = consent
        self.add(f"join:{who}", f"{p}/joins", join, 0.5)

    def contribute(
        self,
        tag: str,
        section: str,
        content: dict[str, Any],
        author: str,
        present: list[str],
        mode: str = "in_person",
        recorder: str | None = None,
    ) -> None:
        body: dict[str, Any] = {
            "section": section,
            "content": content,
            "author_participant_id": self.ids[author],
            "present": [
                {"participant_id": self.ids[p], "attendance": "in_person"} for p in present
            ],
            "mode": mode,
        }
        if recorder:
            body["recorded_by_participant_id"] = self.ids[recorder]
        self.add(f"contribute:{tag}", f"/plans/{self.plan_id}/contributions", body)

    def propose(self, n: int) -> None:
        self.add(
            f"propose:{n}",
            f"/plans/{self.plan_id}/versions",
            {"proposed_by_participant_id": self.ids["nurse"]},
            1,
        )

    def agree(self, n: int, who: str) -> None:
        self.add(
            f"agree:{n}:{who}",
            f"/plans/{self.plan_id}/agreements",
            {"version_number": n, "participant_id": self.ids[who], "mode": "in_person"},
            1,
            actor=DOCTOR if who == "psychiatrist" else NURSE,
        )


def preferences(no_prone: bool = True) -> dict[str, Any]:
    prefs = [
        {"force_type": "11", "preference": "accepts", "reason": "Seated feels less frightening"},
        {
            "force_type": "16",
            "preference": "conditional",
            "conditions": "Offer oral medication before any injection",
        },
    ]
    if no_prone:
        prefs.insert(
            0,
            {
                "force_type": "01",
                "preference": "does_not_want",
                "reason": "Past trauma; I cannot breathe face down",
            },
        )
    return {"kind": "force_preferences", "preferences": prefs}


def plan_steps() -> Iterator[PlanScript]:
    for serial, (key, name, ward, story) in enumerate(PEOPLE, start=1):
        s = PlanScript(key, name, ward, serial)
        s.start()
        s.invite("service_user", "service_user", name)
        s.invite("nurse", "nurse", "Jo Placeholder")
        s.invite("psychiatrist", "psychiatrist", "Dr Sam Sample")
        if story in ("with", "dissent_answered", "closed"):
            s.invite("carer_or_family", "carer", f"Parent of {name.split()[0]}", consent=True)
        if story == "advocate":
            s.invite("advocate", "advocate", "Rowan Advocate")
        person_led = story != "without"
        if person_led:
            mode, recorder = (
                ("recorded_on_behalf", "advocate") if story == "advocate" else ("in_person", None)
            )
            s.contribute(
                "own-view",
                "persons_view_of_risk",
                {"kind": "text", "text": "I feel unsafe when the ward is loud at night."},
                "service_user",
                ["service_user", "nurse"],
                mode,
                recorder,
            )
            s.contribute(
                "warning-signs",
                "warning_signs",
                {"kind": "items", "items": ["Not sleeping", "Pacing", "Going quiet"]},
                "service_user",
                ["service_user", "nurse"],
            )
            s.contribute(
                "preferences",
                "restrictive_practice_preferences",
                preferences(),
                "service_user",
                ["service_user", "nurse"],
            )
        else:
            s.contribute(
                "warning-signs",
                "warning_signs",
                {"kind": "items", "items": ["Raised voice", "Refusing meals"]},
                "nurse",
                ["nurse", "psychiatrist"],
            )
            s.contribute(
                "preferences",
                "restrictive_practice_preferences",
                preferences(no_prone=False),
                "psychiatrist",
                ["psychiatrist"],
            )
        s.contribute(
            "deescalation",
            "deescalation_preferences",
            {
                "kind": "deescalation",
                "helps": ["Quiet room", "Music", "Time outside"],
                "does_not_help": ["Being crowded"],
            },
            "nurse",
            ["nurse"],
        )
        s.contribute(
            "notify",
            "notify_if_force_used",
            {
                "kind": "notify_contacts",
                "contacts": [
                    {
                        "contact_id": s.ids["notify"],
                        "name": f"Parent of {name.split()[0]}",
                        "relationship": "Parent",
                        "method": "telephone",
                        "address": "01632 960000",
                    }
                ],
            },
            "nurse",
            ["nurse"],
        )
        s.propose(1)
        s.agree(1, "psychiatrist")
        if person_led:
            s.agree(1, "service_user")
        if story in ("dissent_answered", "dissent_open"):
            s.add(
                "dissent",
                f"/plans/{s.plan_id}/dissents",
                {
                    "version_number": 1,
                    "section": "restrictive_practice_preferences",
                    "participant_id": s.ids["service_user"],
                    "reason": "Injections were not discussed with me",
                    "wants_instead": "Oral medication to be offered first, always",
                    "mode": "in_person",
                },
                24,
            )
        if story == "dissent_answered":
            s.add(
                "dissent-response",
                f"/plans/{s.plan_id}/dissent-responses",
                {
                    "dissent_id": Ref(f"demo:{key}:dissent", "dissent_id"),
                    "outcome": "partly_accepted",
                    "reason": "Oral first unless there is immediate serious danger",
                    "responded_by_participant_id": s.ids["psychiatrist"],
                },
                24,
            )
        if story in ("with", "dissent_answered"):
            s.add(
                "share:1",
                f"/plans/{s.plan_id}/shares",
                {
                    "version_number": 1,
                    "shared_with_participant_id": s.ids["service_user"],
                    "method": "printed_copy",
                },
                1,
            )
        due = "2026-10-15" if story == "dissent_open" else "2027-01-15"
        s.add(
            "review:schedule",
            f"/plans/{s.plan_id}/reviews",
            {"review_id": uid(f"{key}:review:1"), "due_on": due, "trigger": "routine"},
            1,
        )
        if story == "closed":
            s.add("close", f"/plans/{s.plan_id}/closure", {"reason": "discharged"}, 72)
        yield s


def _force(code: str, start: datetime, minutes: int, injury: bool = False) -> dict[str, Any]:
    return {
        "force_type": code,
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(minutes=minutes)).isoformat(),
        "injury_patient": injury,
        "injury_staff": False,
        "injury_other_person": False,
        "part_of_care_plan": code != "01",
    }


def incident_body(
    serial: int,
    name: str,
    ward: str,
    start: datetime,
    uses: list[tuple[str, int]],
    notify: str | None,
) -> dict[str, Any]:
    unit, ward_name, site = UNITS[ward]
    force, t = [], start
    for code, minutes in uses:
        force.append(_force(code, t, minutes))
        t += timedelta(minutes=minutes)
    return {
        "patient": {
            "person_id": f"DEMO-{serial:04d}",
            "name": name,
            "nhs_number": nhs_number(serial),
            "date_of_birth": "1990-05-17",
        },
        "setting": {
            "provider_ods_code": PROVIDER,
            "site_ods_code": site,
            "unit_name": unit,
            "ward_name": ward_name,
        },
        "location_detail": "Ward corridor",
        "started_at": start.isoformat(),
        "ended_at": t.isoformat(),
        "reason": "10",
        "force_used": force,
        "description": "Staff held the person's arms after they struck out at another patient.",
        "staff_involved": [
            {
                "staff_id": "staff-0042",
                "name": "Jo Placeholder",
                "job_title": "Staff Nurse",
                "force_types": [u[0] for u in uses],
            }
        ],
        "non_staff_involved": [],
        "relevant_characteristics": {
            "age_years": 36,
            "sex": "Female",
            "ethnicity": "White British",
        },
        "learning_disability": False,
        "autism": False,
        "outcome": "Settled after the hold; no injury.",
        "patient_died": False,
        "patient_serious_injury": False,
        "injuries": [],
        "efforts_to_avoid_force": ["Offered the quiet room", "Offered oral medication"],
        "notifications": []
        if notify is None
        else [
            {
                "recipient_name": f"Parent of {name.split()[0]}",
                "relationship": "Parent",
                "plan_contact_id": notify,
                "method": "telephone",
                "sent_at": (t + timedelta(hours=1)).isoformat(),
            }
        ],
        "notification_not_sent_reason": None if notify else "No contact details at the time",
        "negligible_claimed": False,
    }


def incident_steps(plans: dict[str, PlanScript]) -> list[Step]:
    alex, drew, blake = plans["alex"], plans["drew"], plans["blake"]
    early = BASE + timedelta(days=1, hours=5)  # before Alex's plan existed
    later = BASE + timedelta(days=30, hours=14)  # after version 1 was agreed
    drew_at = BASE + timedelta(days=35, hours=22)
    blake_at = BASE + timedelta(days=40, hours=3)
    ids = {k: uid(f"incident:{k}") for k in ("alex-early", "alex-later", "drew", "blake")}
    steps = [
        Step(
            "demo:incident:alex-early",
            "/incidents",
            incident_body(1, alex.name, "oak", early, [("07", 4)], None),
            early,
            NURSE,
            ids["alex-early"],
        ),
        Step(
            "demo:incident:alex-later",
            "/incidents",
            incident_body(1, alex.name, "oak", later, [("01", 3), ("11", 9)], alex.ids["notify"]),
            later,
            NURSE,
            ids["alex-later"],
        ),
        Step(
            "demo:incident:drew",
            "/incidents",
            incident_body(4, drew.name, "birch", drew_at, [("09", 6), ("14", 1)], None),
            drew_at,
            NURSE,
            ids["drew"],
        ),
        Step(
            "demo:incident:blake",
            "/incidents",
            incident_body(2, blake.name, "oak", blake_at, [("05", 60 * 30)], blake.ids["notify"]),
            blake_at,
            NURSE,
            ids["blake"],
        ),
        Step(
            "demo:incident:alex-later:review",
            f"/incidents/{ids['alex-later']}/post-incident-reviews",
            {
                "held_with_patient": True,
                "patient_review_on": (later + timedelta(days=1)).date().isoformat(),
                "held_with_staff": True,
                "staff_review_on": (later + timedelta(days=1)).date().isoformat(),
            },
            later + timedelta(days=1),
            NURSE,
        ),
        Step(
            "demo:incident:drew:review",
            f"/incidents/{ids['drew']}/post-incident-reviews",
            {
                "held_with_patient": False,
                "not_held_reason_patient": "Declined to talk about it yet",
                "held_with_staff": True,
                "staff_review_on": (drew_at + timedelta(days=2)).date().isoformat(),
            },
            drew_at + timedelta(days=2),
            NURSE,
        ),
        Step(
            "demo:incident:drew:amend",
            f"/incidents/{ids['drew']}/amendments",
            {
                "changes": [{"path": "location_detail", "new_value": "Bedroom 4"}],
                "reason": "Location was recorded wrongly at the time",
            },
            drew_at + timedelta(days=3),
            NURSE,
        ),
        Step(
            "demo:alex:review-after-incident",
            f"/plans/{alex.plan_id}/review-completions",
            {
                "review_id": None,
                "trigger": "after_incident",
                "incident_id": ids["alex-later"],
                "participants": [
                    {"participant_id": alex.ids["service_user"], "attendance": "in_person"},
                    {"participant_id": alex.ids["nurse"], "attendance": "in_person"},
                ],
                "outcome_summary": "Prone restraint was used against Alex's stated wish; team to "
                "review holds training and add early quiet-room offer.",
                "changes_needed": True,
                "next_review_due_on": "2026-12-01",
            },
            later + timedelta(days=3),
            NURSE,
        ),
    ]
    return steps
