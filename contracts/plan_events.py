"""Safety-plan events: every change to a co-produced plan, as versioned payload models.

Each `...Fields` class is the shape a clinical app submits (reused by `contracts.commands`); the
event class adds what plan_service decides (ids, version numbers). Event classes carry their
version in their name; a published version is frozen — see contracts/README.md before editing.

This module must never hold plan rules that need history (e.g. "agreement to an unknown version");
those belong to plan_service's domain. Only rules visible in one message are checked here.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field, model_validator

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
from contracts.common import (
    MAX_LIST,
    CareSetting,
    ContractModel,
    EventPayload,
    Narrative,
    PersonalText,
    PersonDetails,
    PersonName,
    ShortText,
    StreamType,
    VersionNumber,
)
from contracts.errors import rule_error
from contracts.plan_content import SectionContent, check_section_content

PLAN: StreamType = "safety_plan"


class PresentParticipant(ContractModel):
    """Someone present when a contribution or review happened, and how they attended.

    `attendance` is null when it was not recorded (e.g. upcast from ContributionMadeV1).
    """

    participant_id: UUID
    attendance: AttendanceMode | None


def _unique_participants(present: list[PresentParticipant]) -> None:
    ids = [p.participant_id for p in present]
    if len(ids) != len(set(ids)):
        raise rule_error("unique_participant", "a participant is listed more than once")


# --- plan started / participants --------------------------------------------------------------


class PlanStartFields(ContractModel):
    person: PersonDetails
    setting: CareSetting


class PlanStartedV1(PlanStartFields, EventPayload):
    """A new plan stream begins for one person in one care setting. The stream id is the plan id."""

    MESSAGE_TYPE: ClassVar[str] = "safety_plan.plan_started"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class InvitationFields(ContractModel):
    participant_id: UUID = Field(description="Chosen by the inviting app; stable for the plan.")
    role: ParticipantRole
    role_description: ShortText | None = Field(default=None, description="Required for `other`.")
    name: PersonName
    relationship_to_person: PersonalText | None = None

    @model_validator(mode="after")
    def _describe_other(self) -> InvitationFields:
        if self.role is ParticipantRole.OTHER and self.role_description is None:
            raise rule_error("role_description_required", "role `other` needs a description")
        return self


class ParticipantInvitedV1(InvitationFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.participant_invited"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class JoinFields(ContractModel):
    participant_id: UUID
    information_sharing_consent: bool | None = Field(
        default=None,
        description="Carers: consent to share information was recorded (Triangle of Care 3).",
    )


class ParticipantJoinedV1(JoinFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.participant_joined"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


# --- contributions ------------------------------------------------------------------------------


class ContributionMadeV1(EventPayload):
    """Version 1, kept to read old events: `present_participant_ids` had no attendance mode.

    Upcast to V2 by `contracts.upcasters.contribution_made_v1_to_v2`.
    """

    MESSAGE_TYPE: ClassVar[str] = "safety_plan.contribution_made"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN

    contribution_id: UUID
    section: PlanSection
    content: SectionContent
    author_participant_id: UUID
    present_participant_ids: list[UUID] = Field(max_length=MAX_LIST)
    mode: ContributionMode
    recorded_by_participant_id: UUID | None = None


class ContributionFields(ContractModel):
    section: PlanSection
    content: SectionContent
    author_participant_id: UUID = Field(description="Whose words or decision this is.")
    present: list[PresentParticipant] = Field(max_length=MAX_LIST)
    mode: ContributionMode = Field(description="How the author contributed.")
    recorded_by_participant_id: UUID | None = Field(
        default=None, description="Who wrote it down; required for `recorded_on_behalf`."
    )

    @model_validator(mode="after")
    def _rules(self) -> ContributionFields:
        check_section_content(self.section, self.content.kind)
        _unique_participants(self.present)
        on_behalf = self.mode is ContributionMode.RECORDED_ON_BEHALF
        if on_behalf and self.recorded_by_participant_id is None:
            raise rule_error("recorder_required", "recorded_on_behalf needs the recorder")
        if on_behalf and self.recorded_by_participant_id == self.author_participant_id:
            raise rule_error("recorder_differs", "the recorder must not be the author")
        return self


class ContributionMadeV2(ContributionFields, EventPayload):
    """A participant's contribution to one section. V2: attendance per person present."""

    MESSAGE_TYPE: ClassVar[str] = "safety_plan.contribution_made"
    SCHEMA_VERSION: ClassVar[int] = 2
    STREAM_TYPE: ClassVar[StreamType] = PLAN

    contribution_id: UUID


# --- versions, agreement, dissent -------------------------------------------------------------


class ProposalFields(ContractModel):
    proposed_by_participant_id: UUID
    summary: Narrative | None = None


class VersionProposedV1(ProposalFields, EventPayload):
    """The contributions so far are put forward as plan version `version_number`."""

    MESSAGE_TYPE: ClassVar[str] = "safety_plan.version_proposed"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN

    version_number: VersionNumber
    contribution_ids: list[UUID] = Field(max_length=5000)


class AgreementFields(ContractModel):
    version_number: VersionNumber
    participant_id: UUID
    mode: ContributionMode
    comment: Narrative | None = None


class AgreementGivenV1(AgreementFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.agreement_given"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class DissentFields(ContractModel):
    version_number: VersionNumber
    section: PlanSection | None = Field(
        description="Null when the dissent is about the whole plan."
    )
    participant_id: UUID = Field(description="Who dissents.")
    reason: Narrative
    wants_instead: Narrative | None = Field(description="What the person wants instead.")
    mode: ContributionMode


class DissentRecordedV1(DissentFields, EventPayload):
    """Someone does not agree with (part of) a version; stays open until responded to."""

    MESSAGE_TYPE: ClassVar[str] = "safety_plan.dissent_recorded"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN

    dissent_id: UUID


class DissentResponseFields(ContractModel):
    dissent_id: UUID
    outcome: DissentResponseOutcome
    reason: Narrative
    responded_by_participant_id: UUID
    follow_up_contribution_id: UUID | None = Field(
        default=None, description="The contribution that carries an accepted change, if any."
    )


class DissentRespondedV1(DissentResponseFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.dissent_responded"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


# --- reviews, sharing, closing ----------------------------------------------------------------


def _incident_for_trigger(trigger: ReviewTrigger, incident_id: UUID | None) -> None:
    if (trigger is ReviewTrigger.AFTER_INCIDENT) != (incident_id is not None):
        raise rule_error("incident_for_trigger", "incident_id is set exactly for after_incident")


class ReviewScheduleFields(ContractModel):
    review_id: UUID
    due_on: date
    trigger: ReviewTrigger
    incident_id: UUID | None = None

    @model_validator(mode="after")
    def _incident(self) -> ReviewScheduleFields:
        _incident_for_trigger(self.trigger, self.incident_id)
        return self


class ReviewScheduledV1(ReviewScheduleFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.review_scheduled"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class ReviewCompletionFields(ContractModel):
    review_id: UUID | None = Field(description="The scheduled review, or null if unscheduled.")
    trigger: ReviewTrigger
    incident_id: UUID | None = None
    participants: list[PresentParticipant] = Field(min_length=1, max_length=MAX_LIST)
    outcome_summary: Narrative
    changes_needed: bool
    next_review_due_on: date | None = None

    @model_validator(mode="after")
    def _rules(self) -> ReviewCompletionFields:
        _incident_for_trigger(self.trigger, self.incident_id)
        _unique_participants(self.participants)
        return self


class ReviewCompletedV1(ReviewCompletionFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.review_completed"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class ShareFields(ContractModel):
    version_number: VersionNumber
    shared_with_participant_id: UUID
    method: PlanShareMethod
    note: Narrative | None = None


class PlanSharedV1(ShareFields, EventPayload):
    """A copy of a version was given to the person (or someone they chose)."""

    MESSAGE_TYPE: ClassVar[str] = "safety_plan.plan_shared"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class CloseFields(ContractModel):
    reason: PlanCloseReason
    detail: Narrative | None = Field(default=None, description="Required for `other`.")

    @model_validator(mode="after")
    def _detail_for_other(self) -> CloseFields:
        if self.reason is PlanCloseReason.OTHER and self.detail is None:
            raise rule_error("detail_required", "reason `other` needs a detail")
        return self


class PlanClosedV1(CloseFields, EventPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.plan_closed"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


PLAN_EVENTS: tuple[type[EventPayload], ...] = (
    PlanStartedV1,
    ParticipantInvitedV1,
    ParticipantJoinedV1,
    ContributionMadeV1,
    ContributionMadeV2,
    VersionProposedV1,
    AgreementGivenV1,
    DissentRecordedV1,
    DissentRespondedV1,
    ReviewScheduledV1,
    ReviewCompletedV1,
    PlanSharedV1,
    PlanClosedV1,
)
"""Every plan event model, all versions (the registry reads this)."""
