"""Sealed, hash-chained test events for the reporting_service, and a way to put them on Kafka."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from contracts import incident_events as ie
from contracts import incident_parts as ip
from contracts import plan_content as pc
from contracts import plan_events as pe
from contracts.codes import (
    AttendanceMode,
    ContributionMode,
    NotificationMethod,
    PlanSection,
    RestrictiveInterventionReason,
    RestrictiveInterventionType,
    RestrictivePracticePreference,
    ReviewTrigger,
)
from contracts.common import CareSetting, EventPayload, PersonDetails
from contracts.envelope import Actor, EventEnvelope, seal
from services.common.settings import CommonSettings
from tests.event_streams import produce_events

NS = UUID("0c8f4c1e-5d36-4e43-9a64-7e2d3f0a9b11")
SETTING = CareSetting(provider_ods_code="RXX", site_ods_code="RXX01", unit_name="Oak Unit")
T = RestrictiveInterventionType


def uid(name: str) -> UUID:
    return uuid5(NS, name)


def person(n: int, nhs: str | None = "9990000018") -> PersonDetails:
    return PersonDetails(person_id=f"P-{n:04d}", name=f"Test Person {n}", nhs_number=nhs)


def chain(
    stream_id: UUID, payloads: list[EventPayload], start: datetime
) -> list[EventEnvelope[Any]]:
    out: list[EventEnvelope[Any]] = []
    previous = None
    for index, payload in enumerate(payloads):
        at = start + timedelta(days=index)
        event = seal(
            {
                "event_id": uid(f"{stream_id}:{index + 1}"),
                "event_type": payload.MESSAGE_TYPE,
                "schema_version": payload.SCHEMA_VERSION,
                "stream_type": payload.STREAM_TYPE,
                "stream_id": stream_id,
                "stream_version": index + 1,
                "occurred_at": at,
                "recorded_at": at + timedelta(seconds=1),
                "actor": Actor(id="staff-1", role="nurse"),
                "submitting_system": "test_app",
                "correlation_id": uid(f"corr:{stream_id}:{index}"),
                "previous_hash": previous,
                "payload": payload,
            }
        )
        previous = event.hash
        out.append(event)
    return out


PLAN_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
CONTACT = uid("contact:sam")
SU = uid("participant:su")


def plan_stream(plan_id: UUID, who: PersonDetails, incident_id: UUID) -> list[EventEnvelope[Any]]:
    """Day 0 start, 1-2 contributions, 3 version 1, 4 agreement, 40 review after the incident."""
    present = [pe.PresentParticipant(participant_id=SU, attendance=AttendanceMode.IN_PERSON)]
    prefs = pe.ContributionMadeV2(
        contribution_id=uid(f"{plan_id}:prefs"),
        section=PlanSection.RESTRICTIVE_PRACTICE_PREFERENCES,
        content=pc.ForcePreferencesContent(
            preferences=[
                pc.ForcePreference(
                    force_type=T.PHYSICAL_PRONE,
                    preference=RestrictivePracticePreference.DOES_NOT_WANT,
                    reason="Past trauma.",
                ),
                pc.ForcePreference(
                    force_type=T.PHYSICAL_STANDING,
                    preference=RestrictivePracticePreference.ACCEPTS,
                ),
            ]
        ),
        author_participant_id=SU,
        present=present,
        mode=ContributionMode.IN_PERSON,
    )
    notify = pe.ContributionMadeV2(
        contribution_id=uid(f"{plan_id}:notify"),
        section=PlanSection.NOTIFY_IF_FORCE_USED,
        content=pc.NotifyContent(
            contacts=[
                pc.NotifyContact(
                    contact_id=CONTACT, name="Sam Sample", method=NotificationMethod.TELEPHONE
                )
            ]
        ),
        author_participant_id=SU,
        present=present,
        mode=ContributionMode.IN_PERSON,
    )
    payloads: list[EventPayload] = [
        pe.PlanStartedV1(person=who, setting=SETTING),
        prefs,
        notify,
        pe.VersionProposedV1(
            version_number=1,
            contribution_ids=[prefs.contribution_id, notify.contribution_id],
            proposed_by_participant_id=SU,
        ),
        pe.AgreementGivenV1(version_number=1, participant_id=SU, mode=ContributionMode.IN_PERSON),
    ]
    events = chain(plan_id, payloads, PLAN_START)
    review = pe.ReviewCompletedV1(
        review_id=None,
        trigger=ReviewTrigger.AFTER_INCIDENT,
        incident_id=incident_id,
        participants=present,
        outcome_summary="Talked it through.",
        changes_needed=False,
    )
    # the review is event 6, dated 3 days after the incident (INCIDENT_START + 3 days)
    events += chain_from(events[-1], [review], INCIDENT_START + timedelta(days=3))
    return events


def chain_from(
    last: EventEnvelope[Any], payloads: list[EventPayload], at: datetime
) -> list[EventEnvelope[Any]]:
    out = []
    previous, version = last.hash, last.stream_version
    for payload in payloads:
        version += 1
        event = seal(
            {
                "event_id": uid(f"{last.stream_id}:{version}"),
                "event_type": payload.MESSAGE_TYPE,
                "schema_version": payload.SCHEMA_VERSION,
                "stream_type": payload.STREAM_TYPE,
                "stream_id": last.stream_id,
                "stream_version": version,
                "occurred_at": at,
                "recorded_at": at,
                "actor": Actor(id="staff-1", role="nurse"),
                "submitting_system": "test_app",
                "correlation_id": uid(f"corr:{last.stream_id}:{version}"),
                "previous_hash": previous,
                "payload": payload,
            }
        )
        previous = event.hash
        out.append(event)
    return out


INCIDENT_START = datetime(2025, 2, 10, 14, 0, tzinfo=UTC)


def incident_fields(
    who: PersonDetails,
    start: datetime = INCIDENT_START,
    types: tuple[RestrictiveInterventionType, ...] = (T.PHYSICAL_PRONE, T.PHYSICAL_STANDING),
    learning_disability: bool | None = False,
    notify: bool = True,
) -> dict[str, Any]:
    uses = [
        ip.ForceUse(
            force_type=t,
            started_at=start + timedelta(minutes=5 * i),
            ended_at=start + timedelta(minutes=5 * i + 5),
            injury_patient=i == 0,
            injury_staff=False,
            injury_other_person=False,
            part_of_care_plan=True,
        )
        for i, t in enumerate(types)
    ]
    return {
        "patient": who,
        "setting": SETTING,
        "location_detail": "Lounge",
        "started_at": start,
        "ended_at": start + timedelta(minutes=5 * len(types)),
        "reason": RestrictiveInterventionReason.VIOLENCE_TO_OTHERS,
        "force_used": uses,
        "description": "Held.",
        "staff_involved": [
            ip.StaffInvolvement(
                staff_id="staff-1", name="Jo Staff", job_title="Nurse", force_types=list(types)
            )
        ],
        "learning_disability": learning_disability,
        "autism": False,
        "outcome": "Calm.",
        "patient_died": False,
        "patient_serious_injury": False,
        "efforts_to_avoid_force": ["Talked."],
        "notifications": (
            [
                ip.NotificationSent(
                    recipient_name="Sam Sample",
                    plan_contact_id=CONTACT,
                    method=NotificationMethod.TELEPHONE,
                    sent_at=start + timedelta(hours=1),
                )
            ]
            if notify
            else []
        ),
        "relevant_characteristics": ip.RelevantCharacteristics(
            age_years=30, gender="Female", ethnicity="White British"
        ),
    }


def incident_stream(
    incident_id: UUID,
    fields: dict[str, Any],
    plan_id: UUID | None,
    amend: bool = False,
    review_on: date | None = None,
) -> list[EventEnvelope[Any]]:
    payloads: list[EventPayload] = [
        ie.IncidentRecordedV1(
            **fields, plan_id=plan_id, plan_version_in_force=1 if plan_id else None
        )
    ]
    if review_on is not None:
        payloads.append(
            ie.PostIncidentReviewRecordedV1(
                held_with_patient=True,
                patient_review_on=review_on,
                held_with_staff=False,
                not_held_reason_staff="Staff on leave.",
            )
        )
    if amend:
        payloads.append(
            ie.IncidentAmendedV1(
                amendment_number=1,
                changes=[
                    ip.FieldChange(path="location_detail", new_value="Corridor"),
                    ip.FieldChange(path="reason", new_value="17"),
                ],
                reason="Wrong place and reason.",
            )
        )
    return chain(incident_id, payloads, fields["started_at"] + timedelta(hours=2))


def produce(settings: CommonSettings, events: list[EventEnvelope[Any]]) -> int:
    return produce_events(settings, events)
