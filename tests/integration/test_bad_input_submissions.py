"""Bad input at scale on the Kafka submissions topic: several hundred malformed messages (bad
JSON, not UTF-8, wrong schema, unknown type, oversized, wrong version) mixed at seeded random
positions among valid commands. Every malformed one lands in the dead-letter topic, original
bytes intact, with a reason, field and rule; the consumer keeps going and applies every valid one.

Extends the single-message case of plan_service/test_submissions.py with its own helpers.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from contracts import commands as c
from contracts import examples, topics
from contracts.versioning import MAX_MESSAGE_BYTES
from services.common.settings import CommonSettings
from services.plan_service.settings import PlanServiceSettings
from tests.integration.fault_helpers import rows, stored_events
from tests.integration.plan_service.test_relay_and_read_model import read_topic
from tests.integration.plan_service.test_submissions import command, drain, produce

SEED = 20261123
PLANS = 30
CONTRIBUTIONS = 4  # 30 plans * (start + invite + 4) = 180 valid commands
PER_KIND = 70  # 7 kinds * 70 = 490 malformed messages


@pytest.fixture
def plan_settings(settings: CommonSettings) -> PlanServiceSettings:
    return PlanServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )


def valid_commands() -> list[tuple[uuid.UUID, bytes]]:
    out = []
    for _ in range(PLANS):
        plan_id, person = uuid.uuid4(), uuid.uuid4()
        correlation = uuid.uuid4()
        start = c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING)
        invite = c.InviteParticipantV1(
            participant_id=person, role="service_user", name="Synthetic Person"
        )
        out += [
            (plan_id, command(start, plan_id, correlation)),
            (plan_id, command(invite, plan_id, correlation)),
        ]
        for i in range(CONTRIBUTIONS):
            body = c.MakeContributionV1.model_validate(
                {
                    "section": "warning_signs",
                    "content": {"kind": "items", "items": [f"sign {i}"]},
                    "author_participant_id": person,
                    "present": [],
                    "mode": "in_person",
                }
            )
            out.append((plan_id, command(body, plan_id, correlation)))
    return out


def _edited(edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def make(valid: bytes) -> bytes:
        data = json.loads(valid)
        edit(data)
        return json.dumps(data).encode()

    return make


def _pad(data: dict[str, Any]) -> None:
    data["payload"]["padding"] = "x" * (MAX_MESSAGE_BYTES + 1)


# kind -> (how to spoil a valid command, the dead-letter rules that may say why)
MALFORMED: dict[str, tuple[Callable[[bytes], bytes], set[str]]] = {
    "bad_json": (lambda v: v[: len(v) // 2], {"json_syntax"}),
    "not_utf8": (lambda v: b"\xff\xfe" + v, {"utf8"}),
    "not_an_object": (lambda v: b"[" + v + b"]", {"not_an_object"}),
    "wrong_schema": (
        _edited(lambda d: d.update(stream_id="not-a-uuid", actor=42)),
        {"uuid_parsing", "model_type", "wrong_type", "invalid", "uuid"},
    ),
    "unknown_type": (
        _edited(lambda d: d.update(command_type="safety_plan.teleport")),
        {"unknown_command_type"},
    ),
    "oversized": (_edited(_pad), {"max_message_bytes"}),
    "wrong_version": (
        _edited(lambda d: d.update(schema_version=99)),
        {"future_schema_version"},
    ),
}


def test_hundreds_of_malformed_submissions_are_dead_lettered_and_valid_ones_applied(
    plan_settings: PlanServiceSettings,
) -> None:
    rng = random.Random(SEED)
    valid = valid_commands()
    bad: list[tuple[uuid.UUID, bytes]] = []
    kind_of: dict[bytes, str] = {}
    for kind, (spoil, _) in MALFORMED.items():
        for _ in range(PER_KIND):
            # a fresh command each time, so every malformed message has distinct bytes
            start = c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING)
            value = spoil(command(start, uuid.uuid4(), uuid.uuid4()))
            bad.append((uuid.uuid4(), value))
            kind_of[value] = kind
    messages = list(valid)  # valid commands stay in order per plan; the bad ones go anywhere
    for item in bad:
        messages.insert(rng.randrange(len(messages) + 1), item)
    produce(plan_settings, messages)

    _, pool = drain(plan_settings, len(messages), timeout_s=180)
    pool.close()

    dead = read_topic(plan_settings, topics.SUBMISSIONS_DLQ, len(bad))
    assert len(dead) == len(bad), f"seed {SEED}"
    rules_by_kind: dict[str, Counter[str]] = {kind: Counter() for kind in MALFORMED}
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}  # type: ignore[attr-defined]
        assert all(headers[h] for h in ("dlq-reason", "dlq-field", "dlq-rule"))
        kind = kind_of[record.value]  # type: ignore[attr-defined]  # the original bytes, intact
        rules_by_kind[kind][headers["dlq-rule"]] += 1
    for kind, (_, allowed) in MALFORMED.items():
        assert sum(rules_by_kind[kind].values()) == PER_KIND, kind
        assert set(rules_by_kind[kind]) <= allowed, (kind, rules_by_kind[kind])

    # the consumer kept going: every valid command applied exactly once, every message decided
    expected = {json.loads(v)["command_id"] for _, v in valid}
    store = stored_events(plan_settings)
    assert set(store.causes) == expected
    assert max(store.causes.values()) == 1
    outcomes = dict(
        rows(
            plan_settings,
            "safetyplan_plan",
            "SELECT status, count(*) FROM submission_outcomes GROUP BY status",
        )
    )
    assert outcomes == {"accepted": len(valid), "rejected": len(bad)}
