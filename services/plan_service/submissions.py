"""Kafka submissions: clinical apps may produce commands to `safetyplan.submissions` instead of
calling HTTP. The same handlers apply them; a rejected message goes to the dead-letter topic with
the reason (field and rule) and its original bytes; the outcome of every submission is kept by
correlation id (`GET /submissions/{correlation_id}`).

Exactly-once effects: the command id is recorded in the stream it changes, so a submission
re-read after a crash (offsets not yet committed) replays its first result and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from contracts import topics
from contracts.canonical import canonical_bytes
from contracts.commands import parse_command
from services.common.consumer import Record, Rejection
from services.common.settings import CommonSettings
from services.plan_service.domain.recording import CommandContext
from services.plan_service.handlers import PlanCommands

DDL = [
    """
    CREATE TABLE IF NOT EXISTS submission_outcomes (
        correlation_id uuid,
        command_id     uuid,
        source         text   NOT NULL,
        status         text   NOT NULL,
        stream_id      uuid,
        stream_version int,
        field          text,
        rule           text,
        reason         text,
        decided_at     timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX IF NOT EXISTS submission_outcomes_corr ON submission_outcomes (correlation_id)",
    "CREATE UNIQUE INDEX IF NOT EXISTS submission_outcomes_source ON submission_outcomes (source)",
    # which clinical app sent it: a clinical app reads only its own outcomes
    "ALTER TABLE submission_outcomes ADD COLUMN IF NOT EXISTS submitting_system text",
]


class SubmissionOutcome(BaseModel):
    correlation_id: uuid.UUID | None
    command_id: uuid.UUID | None
    status: str
    stream_id: uuid.UUID | None
    stream_version: int | None
    field: str | None
    rule: str | None
    reason: str | None
    decided_at: datetime


class SubmissionsProjection:
    """Applies submitted commands; its 'rows' are the outcomes, its effects the event store's."""

    name = "plan_service-submissions"

    def __init__(self, settings: CommonSettings, commands: PlanCommands) -> None:
        self.settings = settings
        self.commands = commands

    def topics(self) -> Sequence[str]:
        return [topics.topic(topics.SUBMISSIONS, self.settings.topic_prefix)]

    def dlq_topic(self) -> str:
        return topics.topic(topics.SUBMISSIONS_DLQ, self.settings.topic_prefix)

    def schema(self) -> Sequence[str]:
        return DDL

    def apply(self, cur: psycopg.Cursor[Any], record: Record) -> None:
        command = parse_command(record.value or b"")
        digest = hashlib.sha256(
            canonical_bytes(
                {
                    "stream_id": str(command.stream_id),
                    "payload": command.payload.model_dump(mode="json"),
                }
            )
        ).hexdigest()
        ctx = CommandContext(
            command_id=command.command_id,
            fingerprint=digest,
            actor=command.actor,
            submitting_system=command.submitting_system,
            correlation_id=command.correlation_id,
            occurred_at=command.issued_at,
            now=datetime.now(UTC),
        )
        result = self.commands.execute(
            command.payload, ctx, command.stream_id, command.expected_version
        )
        _outcome(
            cur,
            record,
            command.correlation_id,
            command.command_id,
            "accepted",
            result.stream_id,
            result.stream_version,
            None,
            command.submitting_system,
        )

    def on_rejected(self, cur: psycopg.Cursor[Any], record: Record, why: Rejection) -> None:
        correlation_id, command_id, system = _ids_if_readable(record.value)
        _outcome(cur, record, correlation_id, command_id, "rejected", None, None, why, system)


def _outcome(
    cur: psycopg.Cursor[Any],
    record: Record,
    correlation_id: uuid.UUID | None,
    command_id: uuid.UUID | None,
    status: str,
    stream_id: uuid.UUID | None,
    stream_version: int | None,
    why: Rejection | None,
    system: str | None,
) -> None:
    cur.execute(
        "INSERT INTO submission_outcomes (correlation_id, command_id, source, status, stream_id, "
        "stream_version, field, rule, reason, submitting_system) "
        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (source) DO NOTHING",
        (
            correlation_id,
            command_id,
            f"{record.topic}:{record.partition}:{record.offset}",
            status,
            stream_id,
            stream_version,
            why.field if why else None,
            why.rule if why else None,
            why.reason if why else None,
            system,
        ),
    )


def _ids_if_readable(
    value: bytes | None,
) -> tuple[uuid.UUID | None, uuid.UUID | None, str | None]:
    """Best effort: the ids and sender of a rejected message, so its sender can look it up."""
    try:
        data = json.loads(value or b"")
        system = data.get("submitting_system")
        return (
            uuid.UUID(str(data.get("correlation_id"))),
            uuid.UUID(str(data.get("command_id"))),
            system if isinstance(system, str) and len(system) <= 64 else None,
        )
    except (ValueError, TypeError, AttributeError):
        return None, None, None


def outcomes(
    pool: ConnectionPool, correlation_id: uuid.UUID, system: str | None = None
) -> list[SubmissionOutcome]:
    """Outcomes by correlation id; with `system`, only those that system submitted."""
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT correlation_id, command_id, status, stream_id, stream_version, field, rule, "
            "reason, decided_at FROM submission_outcomes WHERE correlation_id = %s "
            "AND (%s::text IS NULL OR submitting_system = %s) ORDER BY decided_at",
            (correlation_id, system, system),
        ).fetchall()
    names = list(SubmissionOutcome.model_fields)
    return [SubmissionOutcome(**dict(zip(names, r, strict=True))) for r in rows]
