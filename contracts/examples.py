"""One realistic, synthetic example of every event and command, for tests, docs and the demo.

The people are invented and obviously so ("Alex Example"); NHS numbers are valid-checksum
numbers from the 999 range that is not issued to real patients. Ids and times are fixed, so the
examples are byte-for-byte identical on every machine, and each stream's examples form a valid
hash chain (stream versions 1..N).

This module must never contain real personal data or randomness.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID, uuid5

from contracts import commands as c
from contracts import incident_events as ie
from contracts import incident_parts as ip
from contracts import plan_content as pc
from contracts import plan_events as pe
from contracts.codes import (
    AttendanceMode,
    ContributionMode,
    DissentResponseOutcome,
    InjuredPartyKind,
    NonStaffParty,
    NotificationMethod,
    ParticipantRole,
    PlanCloseReason,
    PlanSection,
    PlanShareMethod,
    RestrictiveInterventionReason,
    RestrictiveInterventionType,
    RestrictivePracticePreference,
    ReviewTrigger,
)
from contracts.common import CareSetting, CommandPayload, EventPayload, PersonDetails
from contracts.envelope import Actor, EventEnvelope, seal

_NS = UUID("6f1c1d7e-0000-4000-8000-00000000c0de")
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def example_id(name: str) -> UUID:
    """A fixed UUID for a named example thing."""
    return uuid5(_NS, name)


PLAN_ID = example_id("plan")
INCIDENT_ID = example_id("incident")
PERSON = PersonDetails(
    person_id="P-000123",
    name="Alex Example",
    nhs_number="9990000018",
    date_of_birth=date(1990, 1, 1),
)
SETTING = CareSetting(
    provider_ods_code="RXX", site_ods_code="RXX01", unit_name="Example Unit", ward_name="Oak Ward"
)
SERVICE_USER = example_id("participant:service_user")
CARER = example_id("participant:carer")
NURSE = example_id("participant:nurse")
NOTIFY_CONTACT = example_id("notify:sam")
NURSE_ACTOR = Actor(id="staff-0042", role="nurse")
PERSON_ACTOR = Actor(id="app-user-7", role="service_user")


def _plan_payloads() -> list[EventPayload]:
    return [
        pe.PlanStartedV1(person=PERSON, setting=SETTING),
        pe.ParticipantInvitedV1(
            participant_id=CARER,
            role=ParticipantRole.CARER_OR_FAMILY,
            name="Sam Sample",
            relationship_to_person="Sibling",
        ),
        pe.ParticipantJoinedV1(participant_id=CARER, information_sharing_consent=True),
        pe.ContributionMadeV2(
            contribution_id=example_id("contribution:1"),
            section=PlanSection.RESTRICTIVE_PRACTICE_PREFERENCES,
            content=pc.ForcePreferencesContent(
                preferences=[
                    pc.ForcePreference(
                        force_type=RestrictiveInterventionType.PHYSICAL_PRONE,
                        preference=RestrictivePracticePreference.DOES_NOT_WANT,
                        reason="Being held face down brings back a past trauma.",
                    ),
                    pc.ForcePreference(
                        force_type=RestrictiveInterventionType.CHEMICAL_ORAL,
                        preference=RestrictivePracticePreference.CONDITIONAL,
                        conditions="Offer oral medication first and explain what it is.",
                    ),
                ]
            ),
            author_participant_id=SERVICE_USER,
            present=[
                pe.PresentParticipant(participant_id=NURSE, attendance=AttendanceMode.IN_PERSON),
                pe.PresentParticipant(participant_id=CARER, attendance=AttendanceMode.REMOTE),
            ],
            mode=ContributionMode.IN_PERSON,
        ),
        pe.VersionProposedV1(
            version_number=1,
            contribution_ids=[example_id("contribution:1")],
            proposed_by_participant_id=NURSE,
            summary="First version drafted together on the ward.",
        ),
        pe.AgreementGivenV1(
            version_number=1, participant_id=SERVICE_USER, mode=ContributionMode.IN_PERSON
        ),
        pe.DissentRecordedV1(
            dissent_id=example_id("dissent:1"),
            version_number=1,
            section=PlanSection.NOTIFY_IF_FORCE_USED,
            participant_id=CARER,
            reason="I would like to be told the same day, not the next morning.",
            wants_instead="A phone call the same day.",
            mode=ContributionMode.REMOTE,
        ),
        pe.DissentRespondedV1(
            dissent_id=example_id("dissent:1"),
            outcome=DissentResponseOutcome.ACCEPTED,
            reason="Agreed with Alex; same-day call added.",
            responded_by_participant_id=NURSE,
        ),
        pe.ReviewScheduledV1(
            review_id=example_id("review:1"),
            due_on=date(2025, 3, 20),
            trigger=ReviewTrigger.AFTER_INCIDENT,
            incident_id=INCIDENT_ID,
        ),
        pe.ReviewCompletedV1(
            review_id=example_id("review:1"),
            trigger=ReviewTrigger.AFTER_INCIDENT,
            incident_id=INCIDENT_ID,
            participants=[
                pe.PresentParticipant(
                    participant_id=SERVICE_USER, attendance=AttendanceMode.IN_PERSON
                ),
                pe.PresentParticipant(participant_id=NURSE, attendance=AttendanceMode.IN_PERSON),
            ],
            outcome_summary="Talked through the incident; de-escalation steps still right.",
            changes_needed=False,
            next_review_due_on=date(2025, 6, 1),
        ),
        pe.PlanSharedV1(
            version_number=1,
            shared_with_participant_id=SERVICE_USER,
            method=PlanShareMethod.PRINTED_COPY,
        ),
        pe.PlanClosedV1(reason=PlanCloseReason.DISCHARGED),
    ]


def _incident_fields() -> dict[str, Any]:
    start = datetime(2025, 3, 10, 14, 5, tzinfo=UTC)
    return {
        "patient": PERSON,
        "setting": SETTING,
        "location_detail": "Ward lounge",
        "started_at": start,
        "ended_at": start + timedelta(minutes=12),
        "reason": RestrictiveInterventionReason.VIOLENCE_TO_OTHERS,
        "force_used": [
            ip.ForceUse(
                force_type=RestrictiveInterventionType.PHYSICAL_STANDING,
                started_at=start,
                ended_at=start + timedelta(minutes=4),
                injury_patient=False,
                injury_staff=False,
                injury_other_person=False,
                part_of_care_plan=True,
            ),
            ip.ForceUse(
                force_type=RestrictiveInterventionType.PHYSICAL_SEATED,
                started_at=start + timedelta(minutes=4),
                ended_at=start + timedelta(minutes=12),
                injury_patient=True,
                injury_staff=False,
                injury_other_person=False,
                part_of_care_plan=True,
            ),
        ],
        "description": "Two staff held Alex's arms standing, then seated on the sofa.",
        "staff_involved": [
            ip.StaffInvolvement(
                staff_id="staff-0042",
                name="Jo Placeholder",
                job_title="Staff Nurse",
                role_in_incident="Led the hold and talked with Alex",
                force_types=[
                    RestrictiveInterventionType.PHYSICAL_STANDING,
                    RestrictiveInterventionType.PHYSICAL_SEATED,
                ],
            ),
            ip.StaffInvolvement(
                staff_id="staff-0077",
                name="Chris Dummy",
                job_title="Healthcare Assistant",
                force_types=[RestrictiveInterventionType.PHYSICAL_SEATED],
            ),
        ],
        "non_staff_involved": [
            ip.NonStaffInvolvement(
                party=NonStaffParty.POLICE, reason="Already on the ward returning Alex from leave."
            )
        ],
        "mental_disorders": [
            ip.Diagnosis(icd10_code="F20.0", description="Paranoid schizophrenia")
        ],
        "relevant_characteristics": ip.RelevantCharacteristics(
            age_years=35, sex="Female", ethnicity="Any other White background"
        ),
        "learning_disability": False,
        "autism": None,
        "outcome": "Alex calmed after 12 minutes; graze to left wrist cleaned.",
        "patient_died": False,
        "patient_serious_injury": False,
        "injuries": [
            ip.Injury(injured=InjuredPartyKind.PATIENT, serious=False, description="Wrist graze")
        ],
        "efforts_to_avoid_force": [
            "Offered a quiet room as in Alex's plan.",
            "Offered oral medication first.",
        ],
        "notifications": [
            ip.NotificationSent(
                recipient_name="Sam Sample",
                relationship="Sibling",
                plan_contact_id=NOTIFY_CONTACT,
                method=NotificationMethod.TELEPHONE,
                sent_at=start + timedelta(hours=2),
            )
        ],
    }


def _incident_payloads() -> list[EventPayload]:
    return [
        ie.IncidentRecordedV1(**_incident_fields(), plan_id=PLAN_ID, plan_version_in_force=1),
        ie.PostIncidentReviewRecordedV1(
            held_with_patient=True,
            patient_review_on=date(2025, 3, 11),
            held_with_staff=True,
            staff_review_on=date(2025, 3, 10),
        ),
        ie.IncidentAmendedV1(
            amendment_number=1,
            changes=[ip.FieldChange(path="location_detail", new_value="Ward corridor")],
            reason="The hold began in the corridor, not the lounge.",
        ),
    ]


def _chain(
    stream_id: UUID, payloads: list[EventPayload], start: datetime
) -> list[EventEnvelope[Any]]:
    events: list[EventEnvelope[Any]] = []
    previous: str | None = None
    for index, payload in enumerate(payloads):
        at = start + timedelta(hours=index)
        event = seal(
            {
                "event_id": example_id(f"event:{payload.MESSAGE_TYPE}"),
                "event_type": payload.MESSAGE_TYPE,
                "schema_version": payload.SCHEMA_VERSION,
                "stream_type": payload.STREAM_TYPE,
                "stream_id": stream_id,
                "stream_version": index + 1,
                "occurred_at": at,
                "recorded_at": at + timedelta(seconds=2, microseconds=123),
                "actor": NURSE_ACTOR,
                "submitting_system": "ward_tablet_app",
                "correlation_id": example_id(f"correlation:{index}"),
                "causation_id": example_id(f"command:{payload.MESSAGE_TYPE}"),
                "previous_hash": previous,
                "payload": payload,
            }
        )
        previous = event.hash
        events.append(event)
    return events


@cache
def plan_stream() -> tuple[EventEnvelope[Any], ...]:
    """Plan events 1..12 of one synthetic plan, hash-chained."""
    return tuple(_chain(PLAN_ID, _plan_payloads(), T0))


@cache
def incident_stream() -> tuple[EventEnvelope[Any], ...]:
    """Incident events 1..3 of one synthetic incident, hash-chained."""
    return tuple(_chain(INCIDENT_ID, _incident_payloads(), datetime(2025, 3, 10, 15, tzinfo=UTC)))


def example_events() -> dict[str, EventEnvelope[Any]]:
    """Event type -> one example envelope at the current schema version."""
    return {e.event_type: e for e in (*plan_stream(), *incident_stream())}


def _command_payloads() -> list[CommandPayload]:
    plan = {e.event_type: e.payload for e in plan_stream()}
    fields: dict[type[CommandPayload], str] = {
        c.StartPlanV1: "safety_plan.plan_started",
        c.InviteParticipantV1: "safety_plan.participant_invited",
        c.RecordJoinV1: "safety_plan.participant_joined",
        c.MakeContributionV1: "safety_plan.contribution_made",
        c.ProposeVersionV1: "safety_plan.version_proposed",
        c.GiveAgreementV1: "safety_plan.agreement_given",
        c.RecordDissentV1: "safety_plan.dissent_recorded",
        c.RespondToDissentV1: "safety_plan.dissent_responded",
        c.ScheduleReviewV1: "safety_plan.review_scheduled",
        c.CompleteReviewV1: "safety_plan.review_completed",
        c.SharePlanV1: "safety_plan.plan_shared",
        c.ClosePlanV1: "safety_plan.plan_closed",
    }
    payloads: list[CommandPayload] = []
    for command, event_type in fields.items():
        source = plan[event_type].model_dump()
        payloads.append(command(**{k: source[k] for k in command.model_fields}))
    incident = {e.event_type: e.payload for e in incident_stream()}
    incident_fields: dict[type[CommandPayload], str] = {
        c.RecordIncidentV1: "use_of_force.incident_recorded",
        c.AmendIncidentV1: "use_of_force.incident_amended",
        c.RecordPostIncidentReviewV1: "use_of_force.post_incident_review_recorded",
    }
    for command, event_type in incident_fields.items():
        source = incident[event_type].model_dump()
        payloads.append(command(**{k: source[k] for k in command.model_fields}))
    return payloads


@cache
def _commands() -> tuple[c.CommandEnvelope[Any], ...]:
    out = []
    for index, payload in enumerate(_command_payloads()):
        stream = PLAN_ID if payload.STREAM_TYPE == "safety_plan" else INCIDENT_ID
        out.append(
            c.command_envelope_model(payload.MESSAGE_TYPE, payload.SCHEMA_VERSION)(
                command_id=example_id(f"command:{payload.MESSAGE_TYPE}"),
                command_type=payload.MESSAGE_TYPE,
                schema_version=payload.SCHEMA_VERSION,
                stream_type=payload.STREAM_TYPE,
                stream_id=stream,
                expected_version=None,
                actor=PERSON_ACTOR if index == 3 else NURSE_ACTOR,
                submitting_system="ward_tablet_app",
                correlation_id=example_id(f"correlation:{index}"),
                issued_at=T0 + timedelta(minutes=index),
                payload=payload,
            )
        )
    return tuple(out)


def example_commands() -> dict[str, c.CommandEnvelope[Any]]:
    """Command type -> one example command envelope."""
    return {command.command_type: command for command in _commands()}
