"""How an aggregate records a contract event: build the envelope, chain and seal it, apply it.

Every stored event holds the sealed contract envelope (the exact JSON published on Kafka) — its
personal values already sealed with the patient's data key (`contracts.sealed_values`) — the
fingerprint of the command that caused it, and nothing else: the events table is the outbox.
Idempotency lives in the stream itself: a command id already seen by the aggregate returns the
events it produced the first time, atomically with the events (no side table to get out of step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from contracts.common import EventPayload, StreamType
from contracts.envelope import Actor, EventEnvelope, seal_with_json
from contracts.registry import parse_event, seal_personal
from contracts.sealed_values import DataKey
from services.plan_service.domain.errors import IdempotencyKeyReused, RuleViolation


@dataclass(frozen=True)
class CommandContext:
    """Who asks, from where, and when; the same for HTTP and Kafka submissions."""

    command_id: UUID
    fingerprint: str
    actor: Actor
    submitting_system: str
    correlation_id: UUID
    occurred_at: datetime
    now: datetime
    data_key: DataKey | None = None
    """The patient's data key, put in by the handler: personal values are sealed with it."""


class EnvelopeAggregate(Aggregate):
    """Base of aggregates whose every event is one sealed contract envelope."""

    STREAM_TYPE: ClassVar[StreamType]

    class Opened(Aggregate.Created):
        envelope: dict[str, Any]
        fingerprint: str

        def apply(self, aggregate: Any) -> None:
            aggregate._record_applied(self.envelope, self.fingerprint)

    class Recorded(Aggregate.Event):
        envelope: dict[str, Any]
        fingerprint: str

        def apply(self, aggregate: Any) -> None:
            aggregate._record_applied(self.envelope, self.fingerprint)

    def __init__(self, envelope: dict[str, Any], fingerprint: str) -> None:
        self.last_hash: str | None = None
        self.commands: dict[str, tuple[str, list[int]]] = {}
        self.closed = False

    # --- recording ---------------------------------------------------------------------------
    @classmethod
    def _open(
        cls, stream_id: UUID, payload: EventPayload, ctx: CommandContext
    ) -> EnvelopeAggregate:
        _, stored = _seal(cls.STREAM_TYPE, stream_id, 1, None, payload, ctx)
        return cls._create(
            cls.Opened,
            id=stream_id,
            envelope=stored,
            fingerprint=ctx.fingerprint,
            timestamp=ctx.now,
        )

    def _record(self, payload: EventPayload, ctx: CommandContext) -> None:
        envelope, stored = _seal(
            self.STREAM_TYPE, self.id, self.version + 1, self.last_hash, payload, ctx
        )
        self._sealed = envelope  # applied as is: no second parse of what was just sealed
        self.trigger_event(
            self.Recorded,
            envelope=stored,
            fingerprint=ctx.fingerprint,
            timestamp=ctx.now,
        )

    def _record_applied(self, envelope: dict[str, Any], fingerprint: str) -> None:
        sealed: EventEnvelope[Any] | None = self.__dict__.pop("_sealed", None)
        if sealed is not None and sealed.hash == envelope["hash"]:
            event = sealed
        else:  # replaying stored events: parse, verify the hash, upcast old versions
            event = parse_event(envelope)
        self.last_hash = event.hash
        if event.causation_id is not None:
            key = str(event.causation_id)
            versions = self.commands.get(key, (fingerprint, []))[1]
            self.commands[key] = (fingerprint, [*versions, event.stream_version])
        self.when(event)

    def when(self, event: EventEnvelope[Any]) -> None:
        """Evolve state from one event (subclasses dispatch on the payload's type)."""
        raise NotImplementedError

    # --- idempotency and rules shared by every stream ---------------------------------------
    def already_done(self, ctx: CommandContext) -> list[int] | None:
        """The versions a retried command produced the first time, or None if it is new."""
        seen = self.commands.get(str(ctx.command_id))
        if seen is None:
            return None
        if seen[0] != ctx.fingerprint:
            raise IdempotencyKeyReused(
                "Idempotency-Key", "same_key_same_request", "the key was used for another request"
            )
        return seen[1]

    def require_open(self) -> None:
        if self.closed:
            raise RuleViolation("stream_id", "stream_closed", "a closed record cannot change")


def _seal(
    stream_type: StreamType,
    stream_id: UUID,
    version: int,
    previous_hash: str | None,
    payload: EventPayload,
    ctx: CommandContext,
) -> tuple[EventEnvelope[Any], dict[str, Any]]:
    if ctx.data_key is None:  # never store or publish a personal value in clear
        raise RuntimeError("no patient data key in the command context")
    payload = seal_personal(payload, ctx.data_key.key_id, ctx.data_key.key)  # type: ignore[assignment]
    return seal_with_json(
        {
            "event_id": _event_id(ctx.command_id, version),
            "event_type": payload.MESSAGE_TYPE,
            "schema_version": payload.SCHEMA_VERSION,
            "stream_type": stream_type,
            "stream_id": stream_id,
            "stream_version": version,
            "occurred_at": ctx.occurred_at,
            "recorded_at": ctx.now,
            "actor": ctx.actor,
            "submitting_system": ctx.submitting_system,
            "correlation_id": ctx.correlation_id,
            "causation_id": ctx.command_id,
            "previous_hash": previous_hash,
            "payload": payload,
        }
    )


def command_fields(cmd: Any) -> dict[str, Any]:
    """A command payload's fields, as the matching event payload's constructor takes them."""
    return {name: getattr(cmd, name) for name in type(cmd).model_fields}


def _event_id(command_id: UUID, version: int) -> UUID:
    """Deterministic per (command, stream version): a replayed command cannot mint new ids."""
    from uuid import uuid5

    return uuid5(command_id, str(version))
