"""Small builders for plan_service tests: contexts and commands with synthetic people only."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import commands as c
from contracts import examples
from contracts.envelope import Actor
from contracts.sealed_values import DataKey
from services.plan_service.domain.recording import CommandContext

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEST_KEY = DataKey(uuid.uuid4().hex, os.urandom(32))
"""The one patient key of domain tests (the vault is exercised by the integration tests)."""


def ctx(
    minutes: int = 0, command_id: uuid.UUID | None = None, fingerprint: str = "f"
) -> CommandContext:
    at = T0 + timedelta(minutes=minutes)
    return CommandContext(
        command_id=command_id or uuid.uuid4(),
        fingerprint=fingerprint,
        actor=Actor(id="staff-0042", role="nurse"),
        submitting_system="ward_app",
        correlation_id=uuid.uuid4(),
        occurred_at=at,
        now=at,
        data_key=TEST_KEY,
    )


def start(person_id: str = "P-1") -> c.StartPlanV1:
    person = examples.PERSON.model_copy(update={"person_id": person_id})
    return c.StartPlanV1(person=person, setting=examples.SETTING)


def invite(pid: uuid.UUID, role: str, name: str = "Test Person") -> c.InviteParticipantV1:
    return c.InviteParticipantV1(participant_id=pid, role=role, name=name)  # type: ignore[arg-type]


def contribution(
    author: uuid.UUID, section: str = "warning_signs", **extra: Any
) -> c.MakeContributionV1:
    content: dict[str, Any] = {"kind": "items", "items": ["Not sleeping", "Pacing at night"]}
    if section == "persons_view_of_risk":
        content = {"kind": "text", "text": "I feel safest when I can go outside."}
    fields: dict[str, Any] = {
        "section": section,
        "content": content,
        "author_participant_id": author,
        "present": [{"participant_id": author, "attendance": "in_person"}],
        "mode": "in_person",
        **extra,
    }
    return c.MakeContributionV1.model_validate(fields)
