"""Named domain errors. Each carries the field and the rule it broke, never a submitted value."""

from __future__ import annotations


class DomainError(Exception):
    """Base: `field` is the path of the offending input, `rule` a stable slug clients can match."""

    status = 422

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.message = message


class RuleViolation(DomainError):
    """The command is well-formed but the plan's rules refuse it."""


class NotFound(DomainError):
    status = 404


class VersionConflict(DomainError):
    """The caller's expected stream version is not the current one (optimistic concurrency)."""

    status = 409


class ServiceUnavailable(DomainError):
    """The event store cannot be reached: nothing was recorded; the caller should retry."""

    status = 503


class IdempotencyKeyReused(DomainError):
    """The same idempotency key was sent with a different request."""

    status = 409


class Erased(DomainError):
    """The person's personal data was erased (their key destroyed): nothing more is recorded."""

    status = 410
