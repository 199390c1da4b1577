"""Commands: what clinical apps submit on `safetyplan.submissions` (and to the HTTP API).

A command asks for a change; plan_service decides whether it becomes an event. Command payloads
reuse the `...Fields` shapes of the events, without what the server decides (ids of dissents and
contributions, version numbers, the plan version in force). Commands are not hashed or chained.

This module must never accept an unknown command type, future version or extra field, and must
never echo input values in errors (parse_command raises ContractError like parse_event).
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import Field, model_validator

from contracts.canonical import canonical_bytes
from contracts.common import (
    Code,
    CommandPayload,
    ContractModel,
    StreamType,
    UtcDatetime,
    VersionedPayload,
)
from contracts.envelope import Actor
from contracts.errors import rule_error
from contracts.incident_events import AmendmentFields, IncidentFields, PostIncidentReviewFields
from contracts.plan_events import (
    AgreementFields,
    CloseFields,
    ContributionFields,
    DissentFields,
    DissentResponseFields,
    InvitationFields,
    JoinFields,
    PlanStartFields,
    ProposalFields,
    ReviewCompletionFields,
    ReviewScheduleFields,
    ShareFields,
)
from contracts.versioning import (
    MAX_MESSAGE_BYTES,
    ContractRegistry,
    RawMessage,
    decode_message,
    validate_strict,
)

CommandT = TypeVar("CommandT", bound=ContractModel)
PLAN: StreamType = "safety_plan"
INCIDENT: StreamType = "use_of_force_incident"


class CommandEnvelope(ContractModel, Generic[CommandT]):
    """One submitted command. `stream_id` is the Kafka key (plan id or incident id)."""

    command_id: UUID = Field(description="Chosen by the app; resubmitting the same id is a no-op.")
    command_type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=100)
    schema_version: int = Field(ge=1, le=1000)
    stream_type: StreamType
    stream_id: UUID
    expected_version: int | None = Field(
        default=None,
        ge=0,
        description="Optimistic concurrency: the stream version the app last saw (0 = new "
        "stream); null = no check.",
    )
    actor: Actor
    submitting_system: Code
    correlation_id: UUID
    issued_at: UtcDatetime
    payload: CommandT

    @model_validator(mode="after")
    def _consistent(self) -> CommandEnvelope[CommandT]:
        payload = self.payload
        if isinstance(payload, CommandPayload):
            if self.command_type != payload.MESSAGE_TYPE:
                raise rule_error("payload_type", "payload model does not belong to command_type")
            if self.schema_version != payload.SCHEMA_VERSION:
                raise rule_error("payload_version", "payload model is not of schema_version")
            if self.stream_type != payload.STREAM_TYPE:
                raise rule_error("stream_type", "command_type does not belong to this stream_type")
        return self


class StartPlanV1(PlanStartFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.start_plan"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class InviteParticipantV1(InvitationFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.invite_participant"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class RecordJoinV1(JoinFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.record_join"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class MakeContributionV1(ContributionFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.make_contribution"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class ProposeVersionV1(ProposalFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.propose_version"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class GiveAgreementV1(AgreementFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.give_agreement"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class RecordDissentV1(DissentFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.record_dissent"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class RespondToDissentV1(DissentResponseFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.respond_to_dissent"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class ScheduleReviewV1(ReviewScheduleFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.schedule_review"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class CompleteReviewV1(ReviewCompletionFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.complete_review"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class SharePlanV1(ShareFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.share_plan"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class ClosePlanV1(CloseFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "safety_plan.close_plan"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = PLAN


class RecordIncidentV1(IncidentFields, CommandPayload):
    """Record a use of force; plan_service adds the plan version in force (s.6(5)(d))."""

    MESSAGE_TYPE: ClassVar[str] = "use_of_force.record_incident"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = INCIDENT


class AmendIncidentV1(AmendmentFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "use_of_force.amend_incident"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = INCIDENT


class RecordPostIncidentReviewV1(PostIncidentReviewFields, CommandPayload):
    MESSAGE_TYPE: ClassVar[str] = "use_of_force.record_post_incident_review"
    SCHEMA_VERSION: ClassVar[int] = 1
    STREAM_TYPE: ClassVar[StreamType] = INCIDENT


ALL_COMMANDS: tuple[type[CommandPayload], ...] = (
    StartPlanV1,
    InviteParticipantV1,
    RecordJoinV1,
    MakeContributionV1,
    ProposeVersionV1,
    GiveAgreementV1,
    RecordDissentV1,
    RespondToDissentV1,
    ScheduleReviewV1,
    CompleteReviewV1,
    SharePlanV1,
    ClosePlanV1,
    RecordIncidentV1,
    AmendIncidentV1,
    RecordPostIncidentReviewV1,
)

COMMANDS = ContractRegistry(kind="command", type_field="command_type")
for _model in ALL_COMMANDS:
    COMMANDS.register(_model)
COMMANDS.check_complete()


@cache
def command_envelope_model(
    command_type: str, schema_version: int | None = None
) -> type[CommandEnvelope[Any]]:
    payload = COMMANDS.model(command_type, schema_version)
    return CommandEnvelope[payload]  # type: ignore[valid-type]


def command_types() -> list[str]:
    return COMMANDS.types()


def parse_command(raw: RawMessage, *, max_bytes: int = MAX_MESSAGE_BYTES) -> CommandEnvelope[Any]:
    """Read one submitted command strictly; raises ContractError (field + rule, no values)."""
    data = decode_message(raw, max_bytes=max_bytes)
    command_type, version = COMMANDS.identify(data)
    command = validate_strict(command_envelope_model(command_type, version), data)
    current = COMMANDS.current_version(command_type)
    if version == current:
        return command
    upcast = command.model_dump(mode="json")
    upcast["payload"] = COMMANDS.upcast(command_type, version, upcast["payload"])
    upcast["schema_version"] = current
    return validate_strict(command_envelope_model(command_type, current), upcast)


def encode_command(command: CommandEnvelope[Any]) -> bytes:
    """Canonical JSON bytes of a command (what an app puts on the submissions topic)."""
    return canonical_bytes(command.model_dump(mode="json"))


def command_json_schema(command_type: str, schema_version: int | None = None) -> dict[str, Any]:
    """JSON Schema 2020-12 of the full command envelope for one command type and version."""
    model = COMMANDS.model(command_type, schema_version)
    return _command_schema(model)


@cache
def _command_schema(model: type[VersionedPayload]) -> dict[str, Any]:
    schema = CommandEnvelope[model].model_json_schema()  # type: ignore[valid-type]
    props = schema["properties"]
    props["command_type"] = {**props["command_type"], "const": model.MESSAGE_TYPE}
    props["schema_version"] = {**props["schema_version"], "const": model.SCHEMA_VERSION}
    props["stream_type"] = {**props["stream_type"], "const": model.STREAM_TYPE}
    schema["title"] = f"{model.MESSAGE_TYPE} v{model.SCHEMA_VERSION}"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:safetyplan:contracts:command:{model.MESSAGE_TYPE}:v{model.SCHEMA_VERSION}",
        **schema,
    }
