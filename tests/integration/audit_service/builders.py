"""Sealed, hash-chained test plans for the audit_service, and a way to put them on Kafka.

Every plan is built with ``contracts.envelope.seal``, so each stream is a valid chain unless a
test breaks it on purpose (``tampered``). The people and texts are invented.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from contracts import plan_content as pc
from contracts import plan_events as pe
from contracts.codes import (
    AttendanceMode,
    ContributionMode,
    DissentResponseOutcome,
    ParticipantRole,
    PlanSection,
    PlanShareMethod,
    ReviewTrigger,
)
from contracts.common import CareSetting, EventPayload, PersonDetails
from contracts.envelope import Actor, EventEnvelope, seal
from services.common.settings import CommonSettings
from tests.event_streams import produce_events

NS = UUID("5a0c7d2e-3b1f-4f7e-9a51-2c4d6e8f0a13")
T0 = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
IN_PERSON = ContributionMode.IN_PERSON
ON_BEHALF = ContributionMode.RECORDED_ON_BEHALF


def uid(name: str) -> UUID:
    return uuid5(NS, name)


class PlanBuilder:
    """One plan's events, one hour apart, versions 1..N chained by hash."""

    def __init__(self, name: str, unit: str = "Oak Unit", start: datetime = T0) -> None:
        self.name = name
        self.plan_id = uid(f"plan:{name}")
        self.at = start
        self.events: list[EventEnvelope[Any]] = []
        self.add(
            pe.PlanStartedV1(
                person=PersonDetails(person_id=f"P-{name}", name=f"Test Person {name}"),
                setting=CareSetting(provider_ods_code="RXX", unit_name=unit),
            )
        )

    def pid(self, who: str) -> UUID:
        return uid(f"{self.name}:participant:{who}")

    def add(self, payload: EventPayload) -> EventEnvelope[Any]:
        event = seal(
            {
                "event_id": uid(f"{self.name}:event:{len(self.events) + 1}"),
                "event_type": payload.MESSAGE_TYPE,
                "schema_version": payload.SCHEMA_VERSION,
                "stream_type": payload.STREAM_TYPE,
                "stream_id": self.plan_id,
                "stream_version": len(self.events) + 1,
                "occurred_at": self.at,
                "recorded_at": self.at + timedelta(seconds=1),
                "actor": Actor(id="staff-1", role="nurse"),
                "submitting_system": "test_app",
                "correlation_id": uid(f"{self.name}:corr:{len(self.events)}"),
                "previous_hash": self.events[-1].hash if self.events else None,
                "payload": payload,
            }
        )
        self.events.append(event)
        self.at += timedelta(hours=1)
        return event

    def invite(self, who: str, role: ParticipantRole, *, consent: bool | None = None) -> None:
        self.add(pe.ParticipantInvitedV1(participant_id=self.pid(who), role=role, name="Someone"))
        self.add(
            pe.ParticipantJoinedV1(
                participant_id=self.pid(who), information_sharing_consent=consent
            )
        )

    def contribute(
        self,
        author: str,
        present: list[str],
        section: PlanSection = PlanSection.WARNING_SIGNS,
        mode: ContributionMode = IN_PERSON,
        recorder: str | None = None,
    ) -> UUID:
        cid = uid(f"{self.name}:contribution:{len(self.events)}")
        self.add(
            pe.ContributionMadeV2(
                contribution_id=cid,
                section=section,
                content=pc.TextContent(text="Some words."),
                author_participant_id=self.pid(author),
                present=[
                    pe.PresentParticipant(
                        participant_id=self.pid(p), attendance=AttendanceMode.IN_PERSON
                    )
                    for p in present
                ],
                mode=mode,
                recorded_by_participant_id=self.pid(recorder) if recorder else None,
            )
        )
        return cid

    def propose(self, number: int, contributions: list[UUID], by: str = "nurse") -> None:
        self.add(
            pe.VersionProposedV1(
                version_number=number,
                contribution_ids=contributions,
                proposed_by_participant_id=self.pid(by),
            )
        )

    def agree(self, number: int, who: str, mode: ContributionMode = IN_PERSON) -> None:
        self.add(
            pe.AgreementGivenV1(version_number=number, participant_id=self.pid(who), mode=mode)
        )

    def dissent(self, number: int, who: str) -> UUID:
        did = uid(f"{self.name}:dissent:{len(self.events)}")
        self.add(
            pe.DissentRecordedV1(
                dissent_id=did,
                version_number=number,
                section=PlanSection.TRIGGERS,
                participant_id=self.pid(who),
                reason="Not quite right.",
                wants_instead=None,
                mode=IN_PERSON,
            )
        )
        return did

    def respond(self, dissent_id: UUID, by: str = "nurse") -> None:
        self.add(
            pe.DissentRespondedV1(
                dissent_id=dissent_id,
                outcome=DissentResponseOutcome.ACCEPTED,
                reason="Changed it.",
                responded_by_participant_id=self.pid(by),
            )
        )

    def review(self, due_on: date, done: bool, who: list[str]) -> None:
        rid = uid(f"{self.name}:review:{len(self.events)}")
        self.add(pe.ReviewScheduledV1(review_id=rid, due_on=due_on, trigger=ReviewTrigger.ROUTINE))
        if done:
            self.add(
                pe.ReviewCompletedV1(
                    review_id=rid,
                    trigger=ReviewTrigger.ROUTINE,
                    participants=[
                        pe.PresentParticipant(participant_id=self.pid(p), attendance=None)
                        for p in who
                    ],
                    outcome_summary="Reviewed.",
                    changes_needed=False,
                )
            )

    def share(self, number: int, who: str = "su") -> None:
        self.add(
            pe.PlanSharedV1(
                version_number=number,
                shared_with_participant_id=self.pid(who),
                method=PlanShareMethod.PRINTED_COPY,
            )
        )


def co_produced(name: str, unit: str = "Oak Unit") -> PlanBuilder:
    """A plan made with the person: v1 with the person, carer and nurse, agreed, shared; v2 by
    staff alone, with an open dissent by the person."""
    b = PlanBuilder(name, unit)
    b.invite("su", ParticipantRole.SERVICE_USER)
    b.invite("carer", ParticipantRole.CARER_OR_FAMILY, consent=True)
    b.invite("nurse", ParticipantRole.NURSE)
    c1 = b.contribute("su", ["nurse", "carer"], PlanSection.PERSONS_VIEW_OF_RISK)
    c2 = b.contribute("nurse", ["su"])
    b.propose(1, [c1, c2])
    b.agree(1, "su")
    b.agree(1, "carer")
    b.share(1)
    d = b.dissent(1, "carer")
    b.respond(d)
    b.review(date(2025, 2, 20), done=True, who=["su", "nurse"])
    c3 = b.contribute("nurse", [])
    b.propose(2, [c3])
    b.dissent(2, "su")
    return b


def tampered(events: list[EventEnvelope[Any]], index: int) -> list[EventEnvelope[Any]]:
    """The chain with event ``index``'s payload changed after sealing (hash left as it was)."""
    event = events[index]
    changed = event.payload.model_copy(update={"information_sharing_consent": False})
    return [*events[:index], event.model_copy(update={"payload": changed}), *events[index + 1 :]]


def produce(settings: CommonSettings, events: list[EventEnvelope[Any]]) -> int:
    return produce_events(settings, events)
