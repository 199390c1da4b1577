"""The SafetyPlan aggregate: the co-produced plan's rules, one method per command.

Each method checks the rules that need the plan's history (a message alone cannot say whether a
version exists) and records one sealed contract event. Rules visible in a single message (e.g.
`recorded_on_behalf` needs a recorder) are the contract's and already hold here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid5

from contracts import commands as c
from contracts import plan_events as e
from contracts.codes import ParticipantRole, PlanSection
from contracts.common import StreamType
from contracts.envelope import EventEnvelope
from services.plan_service.domain.errors import NotFound, RuleViolation
from services.plan_service.domain.recording import (
    CommandContext,
    EnvelopeAggregate,
    command_fields,
)

OWN_VIEW = PlanSection.PERSONS_VIEW_OF_RISK


@dataclass
class Participant:
    role: ParticipantRole
    joined: bool = False


@dataclass
class PlanVersion:
    number: int
    proposed_at: datetime
    contribution_ids: list[UUID]
    agreed_by: dict[UUID, datetime] = field(default_factory=dict)


@dataclass
class Dissent:
    version: int
    section: PlanSection | None
    participant_id: UUID
    recorded_at: datetime
    open: bool = True


@dataclass
class Review:
    due_on: date
    incident_id: UUID | None
    completed: bool = False


class SafetyPlan(EnvelopeAggregate):
    STREAM_TYPE: ClassVar[StreamType] = "safety_plan"

    def __init__(self, envelope: dict[str, Any], fingerprint: str) -> None:
        super().__init__(envelope, fingerprint)
        self.person_id = ""
        self.unit_name = ""
        self.participants: dict[UUID, Participant] = {}
        self.contributions: dict[UUID, PlanSection] = {}
        self.unproposed: list[UUID] = []
        self.versions: dict[int, PlanVersion] = {}
        self.dissents: dict[UUID, Dissent] = {}
        self.reviews: dict[UUID, Review] = {}
        self.closed_at: datetime | None = None

    # --- commands ----------------------------------------------------------------------------
    @classmethod
    def start(cls, plan_id: UUID, cmd: c.StartPlanV1, ctx: CommandContext) -> SafetyPlan:
        payload = e.PlanStartedV1(person=cmd.person, setting=cmd.setting)
        plan = cls._open(plan_id, payload, ctx)
        assert isinstance(plan, SafetyPlan)
        return plan

    def invite(self, cmd: c.InviteParticipantV1, ctx: CommandContext) -> None:
        self.require_open()
        if cmd.participant_id in self.participants:
            raise RuleViolation(
                "payload.participant_id",
                "participant_unique",
                "this participant is already invited",
            )
        if cmd.role is ParticipantRole.SERVICE_USER and self.service_user_id() is not None:
            raise RuleViolation(
                "payload.role", "one_service_user", "the plan already has its service user"
            )
        self._record(e.ParticipantInvitedV1(**command_fields(cmd)), ctx)

    def join(self, cmd: c.RecordJoinV1, ctx: CommandContext) -> None:
        self.require_open()
        who = self._participant(cmd.participant_id, "payload.participant_id")
        if who.joined:
            raise RuleViolation("payload.participant_id", "join_once", "already joined")
        self._record(e.ParticipantJoinedV1(**command_fields(cmd)), ctx)

    def contribute(self, cmd: c.MakeContributionV1, ctx: CommandContext) -> UUID:
        self.require_open()
        author = self._participant(cmd.author_participant_id, "payload.author_participant_id")
        for i, present in enumerate(cmd.present):
            self._participant(present.participant_id, f"payload.present[{i}].participant_id")
        if cmd.recorded_by_participant_id is not None:
            self._participant(cmd.recorded_by_participant_id, "payload.recorded_by_participant_id")
        if cmd.section is OWN_VIEW and author.role is not ParticipantRole.SERVICE_USER:
            raise RuleViolation(
                "payload.author_participant_id",
                "own_view_by_the_person",
                "the person's own view is written by the person or recorded as their words",
            )
        contribution_id = uuid5(ctx.command_id, "contribution")
        self._record(
            e.ContributionMadeV2(contribution_id=contribution_id, **command_fields(cmd)), ctx
        )
        return contribution_id

    def propose_version(self, cmd: c.ProposeVersionV1, ctx: CommandContext) -> int:
        self.require_open()
        self._participant(cmd.proposed_by_participant_id, "payload.proposed_by_participant_id")
        if not self.unproposed:
            raise RuleViolation(
                "stream_id", "contributions_since_last_version", "nothing new to propose"
            )
        number = len(self.versions) + 1
        self._record(
            e.VersionProposedV1(
                version_number=number, contribution_ids=list(self.unproposed), **command_fields(cmd)
            ),
            ctx,
        )
        return number

    def agree(self, cmd: c.GiveAgreementV1, ctx: CommandContext) -> None:
        self.require_open()
        version = self._plan_version(cmd.version_number)
        self._participant(cmd.participant_id, "payload.participant_id")
        if cmd.participant_id in version.agreed_by:
            raise RuleViolation("payload.participant_id", "agree_once", "already agreed")
        self._record(e.AgreementGivenV1(**command_fields(cmd)), ctx)

    def dissent(self, cmd: c.RecordDissentV1, ctx: CommandContext) -> UUID:
        self.require_open()
        self._plan_version(cmd.version_number)
        self._participant(cmd.participant_id, "payload.participant_id")
        if cmd.section is None:
            raise RuleViolation(
                "payload.section", "dissent_names_section", "a dissent names the section"
            )
        dissent_id = uuid5(ctx.command_id, "dissent")
        self._record(e.DissentRecordedV1(dissent_id=dissent_id, **command_fields(cmd)), ctx)
        return dissent_id

    def respond_to_dissent(self, cmd: c.RespondToDissentV1, ctx: CommandContext) -> None:
        self.require_open()
        dissent = self.dissents.get(cmd.dissent_id)
        if dissent is None:
            raise NotFound("payload.dissent_id", "dissent_exists", "no such dissent on this plan")
        if not dissent.open:
            raise RuleViolation("payload.dissent_id", "dissent_open", "already responded to")
        self._participant(cmd.responded_by_participant_id, "payload.responded_by_participant_id")
        if (
            cmd.follow_up_contribution_id is not None
            and cmd.follow_up_contribution_id not in self.contributions
        ):
            raise NotFound(
                "payload.follow_up_contribution_id", "contribution_exists", "no such contribution"
            )
        self._record(e.DissentRespondedV1(**command_fields(cmd)), ctx)

    def schedule_review(
        self, cmd: c.ScheduleReviewV1, ctx: CommandContext, incident_plan: UUID | None = None
    ) -> None:
        """``incident_plan``: the plan the named incident is linked to (looked up by the caller)."""
        self.require_open()
        if cmd.review_id in self.reviews:
            raise RuleViolation("payload.review_id", "review_unique", "review already scheduled")
        self._check_incident(cmd.incident_id, incident_plan)
        self._record(e.ReviewScheduledV1(**command_fields(cmd)), ctx)

    def complete_review(
        self, cmd: c.CompleteReviewV1, ctx: CommandContext, incident_plan: UUID | None = None
    ) -> None:
        self.require_open()
        if cmd.review_id is not None:
            review = self.reviews.get(cmd.review_id)
            if review is None:
                raise NotFound("payload.review_id", "review_exists", "no such scheduled review")
            if review.completed:
                raise RuleViolation("payload.review_id", "review_once", "already completed")
            if review.incident_id != cmd.incident_id:
                raise RuleViolation(
                    "payload.incident_id", "same_incident", "not the incident the review was for"
                )
        for i, p in enumerate(cmd.participants):
            self._participant(p.participant_id, f"payload.participants[{i}].participant_id")
        self._check_incident(cmd.incident_id, incident_plan)
        self._record(e.ReviewCompletedV1(**command_fields(cmd)), ctx)

    def share(self, cmd: c.SharePlanV1, ctx: CommandContext) -> None:
        self.require_open()
        self._plan_version(cmd.version_number)
        self._participant(cmd.shared_with_participant_id, "payload.shared_with_participant_id")
        self._record(e.PlanSharedV1(**command_fields(cmd)), ctx)

    def close(self, cmd: c.ClosePlanV1, ctx: CommandContext) -> None:
        self.require_open()
        self._record(e.PlanClosedV1(**command_fields(cmd)), ctx)

    # --- queries -----------------------------------------------------------------------------
    def service_user_id(self) -> UUID | None:
        for pid, p in self.participants.items():
            if p.role is ParticipantRole.SERVICE_USER:
                return pid
        return None

    def version_in_force(self, at: datetime) -> int | None:
        """The latest version agreed (by anyone) at or before ``at``: the plan staff followed.

        Answers Act s.6(5)(d) from history: an agreement recorded later than ``at`` does not count.
        """
        if self.closed_at is not None and self.closed_at <= at:
            return None
        agreed = [
            v.number for v in self.versions.values() if any(t <= at for t in v.agreed_by.values())
        ]
        return max(agreed) if agreed else None

    # --- evolving state ----------------------------------------------------------------------
    def when(self, event: EventEnvelope[Any]) -> None:
        p = event.payload
        at = event.occurred_at
        if isinstance(p, e.PlanStartedV1):
            self.person_id = p.person.person_id
            self.unit_name = p.setting.unit_name
        elif isinstance(p, e.ParticipantInvitedV1):
            self.participants[p.participant_id] = Participant(p.role)
        elif isinstance(p, e.ParticipantJoinedV1):
            self.participants[p.participant_id].joined = True
        elif isinstance(p, e.ContributionMadeV2):
            self.contributions[p.contribution_id] = p.section
            self.unproposed.append(p.contribution_id)
        elif isinstance(p, e.VersionProposedV1):
            self.versions[p.version_number] = PlanVersion(
                p.version_number, at, list(p.contribution_ids)
            )
            self.unproposed = []
        elif isinstance(p, e.AgreementGivenV1):
            self.versions[p.version_number].agreed_by[p.participant_id] = at
        elif isinstance(p, e.DissentRecordedV1):
            self.dissents[p.dissent_id] = Dissent(p.version_number, p.section, p.participant_id, at)
        elif isinstance(p, e.DissentRespondedV1):
            self.dissents[p.dissent_id].open = False
        elif isinstance(p, e.ReviewScheduledV1):
            self.reviews[p.review_id] = Review(p.due_on, p.incident_id)
        elif isinstance(p, e.ReviewCompletedV1):
            if p.review_id is not None and p.review_id in self.reviews:
                self.reviews[p.review_id].completed = True
        elif isinstance(p, e.PlanClosedV1):
            self.closed = True
            self.closed_at = at

    # --- helpers -----------------------------------------------------------------------------
    def _participant(self, participant_id: UUID, where: str) -> Participant:
        found = self.participants.get(participant_id)
        if found is None:
            raise RuleViolation(where, "participant_invited", "not a participant of this plan")
        return found

    def _plan_version(self, number: int) -> PlanVersion:
        found = self.versions.get(number)
        if found is None:
            raise RuleViolation(
                "payload.version_number", "version_exists", "no such version of this plan"
            )
        return found

    def _check_incident(self, incident_id: UUID | None, incident_plan: UUID | None) -> None:
        if incident_id is not None and incident_plan != self.id:
            raise RuleViolation(
                "payload.incident_id",
                "incident_of_this_plan",
                "a review after an incident refers to an incident recorded against this plan",
            )
