"""The event envelope every event shares, its hash, and the per-stream hash chain.

An event's `hash` is `sha256:` + hex SHA-256 over the canonical JSON bytes (`contracts.canonical`)
of the whole validated envelope *without* its `hash` member — every other field, defaults and
nulls included, exactly as the event's own schema version serialises it. `previous_hash` is the
`hash` of event N-1 of the same stream (null only for stream version 1), so each stream is a hash
chain that a regulator can check without trusting us.

This module must never change the serialisation of a published schema version (that would break
every stored hash) and must never accept a naive datetime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from pydantic import Field, ValidationError, model_validator

from contracts.canonical import canonical_bytes, sha256_hash
from contracts.common import (
    Code,
    ContractModel,
    EventPayload,
    Hash,
    StreamType,
    UtcDatetime,
)
from contracts.errors import ContractError, from_validation_error, rule_error

PayloadT = TypeVar("PayloadT", bound=ContractModel)

UNSEALED_HASH = "sha256:" + "0" * 64
"""Placeholder used only while sealing; never a valid hash of a real event."""


class Actor(ContractModel):
    """Who caused the change, in what role, and on whose behalf (FHIR Provenance agent shape).

    `id` is a pseudonymous identifier from the submitting system, never a name. `role` is a
    `ParticipantRole` value for plan participants, or a staff/system role slug (e.g.
    `ward_manager`, `system`). `on_behalf_of` is set when someone acts for another person — a
    nurse recording the person's words, an advocate speaking for them.
    """

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")
    role: Code
    on_behalf_of: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$"
    )


class EventEnvelope(ContractModel, Generic[PayloadT]):
    """One immutable, attributable event. `payload` is the versioned model for `event_type`."""

    event_id: UUID
    event_type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=100)
    schema_version: int = Field(ge=1, le=1000)
    stream_type: StreamType
    stream_id: UUID = Field(description="The plan id or the incident id; the Kafka key.")
    stream_version: int = Field(ge=1, le=2**31 - 1, description="1 for a stream's first event.")
    occurred_at: UtcDatetime = Field(description="When it happened in the world.")
    recorded_at: UtcDatetime = Field(description="When the event store accepted it.")
    actor: Actor
    submitting_system: Code
    correlation_id: UUID
    causation_id: UUID | None = None
    previous_hash: Hash | None = Field(description="Hash of event stream_version-1; null for 1.")
    hash: Hash
    payload: PayloadT

    @model_validator(mode="after")
    def _consistent(self) -> EventEnvelope[PayloadT]:
        if (self.stream_version == 1) != (self.previous_hash is None):
            raise rule_error(
                "chain_start", "previous_hash must be null exactly when stream_version is 1"
            )
        payload = self.payload
        if isinstance(payload, EventPayload):
            if self.event_type != payload.MESSAGE_TYPE:
                raise rule_error("payload_type", "payload model does not belong to event_type")
            if self.schema_version != payload.SCHEMA_VERSION:
                raise rule_error("payload_version", "payload model is not of schema_version")
            if self.stream_type != payload.STREAM_TYPE:
                raise rule_error("stream_type", "event_type does not belong to this stream_type")
        return self


@cache
def envelope_class(payload_type: type[ContractModel]) -> type[EventEnvelope[Any]]:
    """`EventEnvelope[payload_type]`, built once per payload model."""
    return cast("type[EventEnvelope[Any]]", EventEnvelope.__class_getitem__(payload_type))


def envelope_dict(envelope: EventEnvelope[Any], *, with_hash: bool = True) -> dict[str, Any]:
    """The JSON-mode dict of an envelope (the thing canonical bytes are made from)."""
    data = envelope.model_dump(mode="json")
    if not with_hash:
        data.pop("hash")
    return data


def compute_hash(envelope: EventEnvelope[Any] | Mapping[str, Any]) -> str:
    """Hash of an envelope (or its JSON-mode dict); any `hash` member is left out first."""
    if isinstance(envelope, EventEnvelope):
        data = envelope_dict(envelope, with_hash=False)
    else:
        data = {k: v for k, v in envelope.items() if k != "hash"}
    return sha256_hash(canonical_bytes(data))


def seal(fields: Mapping[str, Any]) -> EventEnvelope[Any]:
    """Validate envelope fields (without `hash`; `payload` a payload model) and fill the hash."""
    return seal_with_json(fields)[0]


def seal_with_json(fields: Mapping[str, Any]) -> tuple[EventEnvelope[Any], dict[str, Any]]:
    """`seal`, plus the sealed envelope's JSON-mode dict (made once: it is what gets stored)."""
    if "hash" in fields:
        raise ContractError("hash", "sealed_by_seal", "seal() computes the hash; do not pass it")
    payload = fields.get("payload")
    if not isinstance(payload, ContractModel):
        raise ContractError("payload", "wrong_type", "payload must be a payload model instance")
    model = envelope_class(type(payload))
    try:
        draft = model.model_validate({**fields, "hash": UNSEALED_HASH})
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    data = envelope_dict(draft, with_hash=False)
    digest = sha256_hash(canonical_bytes(data))
    return draft.model_copy(update={"hash": digest}), {**data, "hash": digest}


def verify_hash(envelope: EventEnvelope[Any]) -> bool:
    """True when the envelope's `hash` matches its content (as its own schema version)."""
    return envelope.hash == compute_hash(envelope)


def verify_chain(events: Sequence[EventEnvelope[Any]]) -> None:
    """Check one stream's events in order: own hashes, consecutive versions, linked hashes.

    The sequence may start mid-stream (e.g. a page), but must then be contiguous.
    Raises ContractError naming the first broken link; returns None when the chain is intact.
    """
    previous: EventEnvelope[Any] | None = None
    for index, event in enumerate(events):
        where = f"[{index}]"
        if not verify_hash(event):
            raise ContractError(f"{where}.hash", "hash_mismatch", "hash does not match content")
        if previous is not None:
            if event.stream_id != previous.stream_id:
                raise ContractError(f"{where}.stream_id", "same_stream", "events of two streams")
            if event.stream_version != previous.stream_version + 1:
                raise ContractError(
                    f"{where}.stream_version", "consecutive", "stream versions must be consecutive"
                )
            if event.previous_hash != previous.hash:
                raise ContractError(
                    f"{where}.previous_hash",
                    "chain_broken",
                    "previous_hash is not event N-1's hash",
                )
        previous = event


__all__ = [
    "Actor",
    "EventEnvelope",
    "canonical_bytes",
    "compute_hash",
    "envelope_dict",
    "seal",
    "seal_with_json",
    "verify_chain",
    "verify_hash",
]
