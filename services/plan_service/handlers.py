"""One handler per command, called by every entry point (HTTP and Kafka submissions alike).

A handler loads the stream, replays a retried command's first result instead of acting twice,
checks the caller's expected version, asks the aggregate to decide, and saves. Writers of the
same stream in this process are serialised by a striped lock; writers in other processes are
caught by the event store's (stream, version) key and retried on fresh state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from contracts import commands as c
from contracts.common import CommandPayload, StreamType
from contracts.envelope import EventEnvelope
from services.plan_service.domain.errors import NotFound, RuleViolation, VersionConflict
from services.plan_service.domain.incident import UseOfForceIncident
from services.plan_service.domain.plan import SafetyPlan
from services.plan_service.domain.recording import CommandContext, EnvelopeAggregate
from services.plan_service.person_index import PersonIndex
from services.plan_service.store import PlanStore, stored_envelopes

NEW_STREAM_NAMESPACE = UUID("5a6e7c1e-3b1d-4c2a-9d7e-0c0ffee0a11d")


@dataclass(frozen=True)
class EventRef:
    event_id: UUID
    event_type: str
    stream_version: int
    hash: str


@dataclass(frozen=True)
class CommandResult:
    """What a command produced; the same for the first call and every retry of it."""

    stream_type: StreamType
    stream_id: UUID
    stream_version: int
    events: list[EventRef]
    created: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


def new_stream_id(command_id: UUID) -> UUID:
    """The id of a stream a command creates, derived from the command so a retry finds it."""
    return uuid5(NEW_STREAM_NAMESPACE, str(command_id))


class PlanCommands:
    def __init__(self, store: PlanStore, index: PersonIndex, stripes: int = 64) -> None:
        self.store = store
        self.index = index
        self._locks = [threading.Lock() for _ in range(stripes)]
        self._handlers: dict[type[CommandPayload], Callable[..., object]] = {
            c.InviteParticipantV1: SafetyPlan.invite,
            c.RecordJoinV1: SafetyPlan.join,
            c.MakeContributionV1: SafetyPlan.contribute,
            c.ProposeVersionV1: SafetyPlan.propose_version,
            c.GiveAgreementV1: SafetyPlan.agree,
            c.RecordDissentV1: SafetyPlan.dissent,
            c.RespondToDissentV1: SafetyPlan.respond_to_dissent,
            c.SharePlanV1: SafetyPlan.share,
            c.ClosePlanV1: SafetyPlan.close,
            c.AmendIncidentV1: UseOfForceIncident.amend,
            c.RecordPostIncidentReviewV1: UseOfForceIncident.record_review,
        }

    # --- the one door ------------------------------------------------------------------------
    def execute(
        self,
        payload: CommandPayload,
        ctx: CommandContext,
        stream_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Apply one command; raises DomainError subclasses (field + rule) when refused."""
        if isinstance(payload, c.StartPlanV1 | c.RecordIncidentV1):
            target = stream_id or new_stream_id(ctx.command_id)
            if expected_version not in (None, 0):
                raise VersionConflict("expected_version", "new_stream", "a new stream is at 0")
        elif stream_id is None:
            raise RuleViolation("stream_id", "required", "this command needs its stream id")
        else:
            target = stream_id
        with self._locks[target.int % len(self._locks)]:
            for attempt in range(3):
                try:
                    return self._execute(payload, ctx, target, expected_version)
                except IntegrityError:  # another process wrote this stream first: retry fresh
                    if attempt == 2:
                        raise VersionConflict(
                            "stream_id", "concurrent_write", "the stream changed; try again"
                        ) from None
        raise AssertionError("unreachable")

    def _execute(
        self, payload: CommandPayload, ctx: CommandContext, stream_id: UUID, expected: int | None
    ) -> CommandResult:
        if isinstance(payload, c.StartPlanV1):
            return self._start_plan(payload, ctx, stream_id)
        if isinstance(payload, c.RecordIncidentV1):
            return self._record_incident(payload, ctx, stream_id)
        stream_cls = (
            UseOfForceIncident if payload.STREAM_TYPE == "use_of_force_incident" else SafetyPlan
        )
        agg = self._load(stream_cls, stream_id)
        replay = self._replayed(agg, ctx)
        if replay is not None:
            return replay
        if expected is not None and expected != agg.version:
            raise VersionConflict(
                "expected_version", "matches_stream_version", "the stream has moved on"
            )
        if isinstance(payload, c.ScheduleReviewV1 | c.CompleteReviewV1):
            assert isinstance(agg, SafetyPlan)
            linked = self._incident_plan(payload.incident_id)
            method: Callable[..., object] = (
                SafetyPlan.schedule_review
                if isinstance(payload, c.ScheduleReviewV1)
                else SafetyPlan.complete_review
            )
            method(agg, payload, ctx, linked)
        else:
            self._handlers[type(payload)](agg, payload, ctx)
        return self._save(agg)

    # --- stream-creating commands ------------------------------------------------------------
    def _start_plan(self, cmd: c.StartPlanV1, ctx: CommandContext, plan_id: UUID) -> CommandResult:
        existing = self._existing(SafetyPlan, plan_id, ctx)
        if existing is not None:
            return existing
        self.index.add(cmd.person.person_id, plan_id)  # before the save: a dangling row is harmless
        return self._save(SafetyPlan.start(plan_id, cmd, ctx))

    def _record_incident(
        self, cmd: c.RecordIncidentV1, ctx: CommandContext, incident_id: UUID
    ) -> CommandResult:
        existing = self._existing(UseOfForceIncident, incident_id, ctx)
        if existing is not None:
            return existing
        plan_id, version = self.plan_in_force(cmd.patient.person_id, cmd.started_at)
        return self._save(UseOfForceIncident.record(incident_id, cmd, ctx, plan_id, version))

    def plan_in_force(self, person_id: str, at: Any) -> tuple[UUID | None, int | None]:
        """The person's plan and its version in force at ``at`` (s.6(5)(d), from history).

        Among the person's plans, the one whose latest version agreed by then is the most recent
        agreement wins; a plan with no agreed version by then is not in force.
        """
        best: tuple[Any, UUID, int] | None = None
        for plan_id in self.index.plans_of(person_id):
            try:
                plan: object = self.store.repository.get(plan_id)
            except AggregateNotFoundError:
                continue  # an index row whose save never happened
            assert isinstance(plan, SafetyPlan)
            number = plan.version_in_force(at)
            if number is None:
                continue
            agreed_at = max(t for t in plan.versions[number].agreed_by.values() if t <= at)
            if best is None or agreed_at > best[0]:
                best = (agreed_at, plan_id, number)
        return (best[1], best[2]) if best else (None, None)

    # --- helpers -----------------------------------------------------------------------------
    def _existing(
        self, cls: type[EnvelopeAggregate], stream_id: UUID, ctx: CommandContext
    ) -> CommandResult | None:
        try:
            agg: object = self.store.repository.get(stream_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(agg, cls):
            raise RuleViolation("stream_id", "stream_type", "the id belongs to another kind")
        replay = self._replayed(agg, ctx)
        if replay is None:
            raise VersionConflict("stream_id", "stream_exists", "a stream with this id exists")
        return replay

    def _load(self, cls: type[EnvelopeAggregate], stream_id: UUID) -> EnvelopeAggregate:
        try:
            agg: object = self.store.repository.get(stream_id)
        except AggregateNotFoundError:
            raise NotFound("stream_id", "stream_exists", "no such plan or incident") from None
        if not isinstance(agg, cls):
            raise NotFound("stream_id", "stream_exists", "no such plan or incident")
        return agg

    def _incident_plan(self, incident_id: UUID | None) -> UUID | None:
        if incident_id is None:
            return None
        try:
            incident: object = self.store.repository.get(incident_id)
        except AggregateNotFoundError:
            raise NotFound("payload.incident_id", "incident_exists", "no such incident") from None
        if not isinstance(incident, UseOfForceIncident):
            raise NotFound("payload.incident_id", "incident_exists", "no such incident")
        return incident.plan_id

    def _replayed(self, agg: EnvelopeAggregate, ctx: CommandContext) -> CommandResult | None:
        versions = agg.already_done(ctx)
        if versions is None:
            return None
        wanted = set(versions)
        envelopes = [
            e
            for e in stored_envelopes(self.store, agg.id, upto_version=max(versions))
            if e.stream_version in wanted
        ]
        return _result(agg.STREAM_TYPE, agg.id, envelopes, replayed=True)

    def _save(self, agg: EnvelopeAggregate) -> CommandResult:
        pending = list(agg.pending_events)
        self.store.save(agg)
        envelopes = [EventEnvelope[Any].model_validate(cast(Any, e).envelope) for e in pending]
        return _result(agg.STREAM_TYPE, agg.id, envelopes, replayed=False)


CREATED_FIELDS = ("contribution_id", "dissent_id", "version_number", "amendment_number")


def _result(
    stream_type: StreamType, stream_id: UUID, envelopes: list[EventEnvelope[Any]], replayed: bool
) -> CommandResult:
    created: dict[str, Any] = {}
    for env in envelopes:
        payload = env.payload if isinstance(env.payload, dict) else env.payload.model_dump()
        for name in CREATED_FIELDS:
            if name in payload:
                created[name] = payload[name]
    return CommandResult(
        stream_type=stream_type,
        stream_id=stream_id,
        stream_version=max(e.stream_version for e in envelopes),
        events=[EventRef(e.event_id, e.event_type, e.stream_version, e.hash) for e in envelopes],
        created=created,
        replayed=replayed,
    )
