"""Commands produced to the submissions topic: applied by the same handlers, rejects dead-lettered
with the reason and the original bytes, the outcome visible by correlation id, and a message
re-read after a crash is not applied twice."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from contracts import commands as c
from contracts import examples, topics
from contracts.commands import CommandEnvelope, encode_command
from contracts.envelope import Actor
from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.kafka_client import make_producer
from services.common.key_vault import open_key_vault
from services.plan_service.handlers import PlanCommands
from services.plan_service.person_index import PersonIndex
from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import open_store
from services.plan_service.submissions import SubmissionsProjection
from services.plan_service.workers import TRANSIENT
from tests.auth_tokens import admin, bearer
from tests.integration.plan_service.test_relay_and_read_model import read_topic


def command(payload: c.CommandPayload, stream_id: uuid.UUID, correlation: uuid.UUID) -> bytes:
    envelope = CommandEnvelope[type(payload)](  # type: ignore[misc]
        command_id=uuid.uuid4(),
        command_type=payload.MESSAGE_TYPE,
        schema_version=payload.SCHEMA_VERSION,
        stream_type=payload.STREAM_TYPE,
        stream_id=stream_id,
        actor=Actor(id="staff-0042", role="nurse"),
        submitting_system="ward_app",
        correlation_id=correlation,
        issued_at=datetime.now(UTC),
        payload=payload,
    )
    return encode_command(envelope)


def produce(settings: PlanServiceSettings, messages: list[tuple[uuid.UUID, bytes]]) -> None:
    producer = make_producer(settings)
    name = topics.topic(topics.SUBMISSIONS, settings.topic_prefix)
    for key, value in messages:
        producer.send(name, key=topics.record_key(key), value=value).get(timeout=30)
    producer.close()


def drain(
    settings: PlanServiceSettings, expect: int, timeout_s: float = 30
) -> tuple[TransactionalConsumer, Any]:
    pool = open_pool(settings)
    store = open_store(settings)
    vault, vault_pool = open_key_vault(settings)
    projection = SubmissionsProjection(settings, PlanCommands(store, PersonIndex(pool), vault))
    consumer = TransactionalConsumer(
        settings, projection, pool, dlq_topic=projection.dlq_topic(), transient=TRANSIENT
    )
    consumer.setup()
    deadline = time.monotonic() + timeout_s
    while sum(consumer.stored_offsets().values()) < expect:
        assert time.monotonic() < deadline, "submissions were not all handled"
        consumer.poll_once(200)
    consumer.close()
    store.close()
    vault_pool.close()
    return consumer, pool


def test_submitted_commands_are_applied_and_rejects_go_to_the_dead_letter_topic(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    plan_id, correlation = uuid.uuid4(), uuid.uuid4()
    start = c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING)
    invite = c.InviteParticipantV1(
        participant_id=examples.SERVICE_USER, role="service_user", name="Synthetic Person"
    )  # type: ignore[arg-type]
    bad_agreement = c.GiveAgreementV1(
        version_number=9, participant_id=examples.SERVICE_USER, mode="in_person"
    )  # type: ignore[arg-type]
    produce(
        plan_settings,
        [
            (plan_id, command(start, plan_id, correlation)),
            (plan_id, b'{"command_type": "safety_plan.start_plan", "oops": '),
            (plan_id, command(invite, plan_id, correlation)),
            (plan_id, command(bad_agreement, plan_id, correlation)),
        ],
    )
    _, pool = drain(plan_settings, 4)

    history = client.get(f"/plans/{plan_id}/events").json()["events"]
    assert [e["event_type"] for e in history] == [
        "safety_plan.plan_started",
        "safety_plan.participant_invited",
    ]
    dead = read_topic(plan_settings, topics.SUBMISSIONS_DLQ, 2)
    assert len(dead) == 2
    assert dead[0].value == b'{"command_type": "safety_plan.start_plan", "oops": '  # type: ignore[attr-defined]
    rules = [dict(r.headers)["dlq-rule"] for r in dead]  # type: ignore[attr-defined]
    assert rules[1] == b"version_exists"
    outcomes = client.get(f"/submissions/{correlation}").json()
    assert [o["status"] for o in outcomes] == ["accepted", "accepted", "rejected"]
    assert outcomes[2]["field"] == "payload.version_number"
    other_app = bearer("clinical_app", system="other_app", actor_role="nurse", subject="s-9")
    assert client.get(f"/submissions/{correlation}", headers=other_app).status_code == 404
    assert len(client.get(f"/submissions/{correlation}", headers=admin()).json()) == 3
    pool.close()


def test_a_submission_read_again_after_a_crash_is_not_applied_twice(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    plan_id = uuid.uuid4()
    start = c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING)
    produce(plan_settings, [(plan_id, command(start, plan_id, uuid.uuid4()))])
    _, pool = drain(plan_settings, 1)
    with pool.connection() as conn:  # forget the offsets: as if the process died before commit
        conn.execute("DELETE FROM consumer_offsets")
    pool.close()
    _, pool = drain(plan_settings, 1)
    history = client.get(f"/plans/{plan_id}/events").json()["events"]
    assert len(history) == 1
    pool.close()
