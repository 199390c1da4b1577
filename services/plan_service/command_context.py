"""Turning an HTTP request into a CommandContext: who acts, for whom, from where, and when.

The idempotency key becomes the command id (namespaced by the submitting system), so a retried
request maps onto the command already recorded in the stream. The request's fingerprint lets a
reused key with a different body be refused instead of silently answered with the old result.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from contracts.canonical import canonical_bytes
from contracts.common import CommandPayload
from contracts.entropy import fresh_bytes
from contracts.envelope import Actor
from services.plan_service.domain.errors import RuleViolation
from services.plan_service.domain.recording import CommandContext

IDEMPOTENCY_NAMESPACE = uuid.UUID("0e3b6c55-7a41-4f4e-9d8a-5f1d1d2c9e77")
MAX_CLOCK_SKEW = timedelta(minutes=5)


def command_id_for(submitting_system: str, idempotency_key: str | None) -> uuid.UUID:
    if idempotency_key is None:
        return uuid.UUID(bytes=fresh_bytes(16), version=4)
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{submitting_system}\n{idempotency_key}")


def fingerprint(route: str, stream_id: uuid.UUID | None, payload: CommandPayload) -> str:
    body = canonical_bytes(
        {"route": route, "stream_id": str(stream_id), "payload": payload.model_dump(mode="json")}
    )
    return hashlib.sha256(body).hexdigest()


def build_context(
    *,
    command_id: uuid.UUID,
    fingerprint: str,
    actor: Actor,
    submitting_system: str,
    correlation_id: uuid.UUID | None,
    occurred_at: datetime | None,
    now: datetime | None = None,
) -> CommandContext:
    now = now or datetime.now(UTC)
    when = occurred_at or now
    if when.tzinfo is None:
        raise RuleViolation("Occurred-At", "timezone_aware", "give a timezone (e.g. Z)")
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        raise RuleViolation(
            "Occurred-At", "in_range", "give a time in years 1 to 9999 (UTC)"
        ) from None
    if when > now + MAX_CLOCK_SKEW:
        raise RuleViolation("Occurred-At", "not_in_future", "occurred_at is in the future")
    return CommandContext(
        command_id=command_id,
        fingerprint=fingerprint,
        actor=actor,
        submitting_system=submitting_system,
        correlation_id=correlation_id or command_id,
        occurred_at=when,
        now=now,
    )
