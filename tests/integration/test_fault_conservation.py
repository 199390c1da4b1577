"""kill -9 at random points under load, then a conservation check on the real stack.

Clinical commands go in through the Kafka submissions topic while the submissions worker, the
relay, the plan read model and the audit consumer are killed with SIGKILL and restarted at random
(seeded, bounded). Afterwards: every submitted command's event is in the store exactly once, on
Kafka at least once, and applied exactly once in the plan read model and the audit projection.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from contracts import commands as c
from contracts import examples, topics
from contracts.commands import CommandEnvelope, encode_command
from contracts.envelope import Actor
from contracts.registry import parse_event
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import open_store

ROOT = Path(__file__).resolve().parents[2]
WORKERS = {
    "submissions": ["-m", "services.plan_service", "submissions"],
    "relay": ["-m", "services.plan_service", "relay"],
    "read-model": ["-m", "services.plan_service", "read-model"],
    "audit": ["-m", "services.audit_service", "consumer"],
}
PLANS = 12
CONTRIBUTIONS = 60  # per plan: 12 * (2 + 60) = 744 commands


class Workers:
    """The worker processes, started as production starts them, pointed at this test's data."""

    def __init__(self, settings: CommonSettings) -> None:
        self.env = {
            **os.environ,
            "SAFETYPLAN_PG_SCHEMA": settings.pg_schema or "",
            "SAFETYPLAN_TOPIC_PREFIX": settings.topic_prefix,
            "SAFETYPLAN_LOG_LEVEL": "WARNING",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.kills = Counter[str]()

    def start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            [sys.executable, *WORKERS[name]],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        self.kills[name] += 1

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def command(payload: c.CommandPayload, stream_id: uuid.UUID) -> tuple[uuid.UUID, bytes]:
    command_id = uuid.uuid4()
    envelope = CommandEnvelope[type(payload)](  # type: ignore[misc]
        command_id=command_id,
        command_type=payload.MESSAGE_TYPE,
        schema_version=payload.SCHEMA_VERSION,
        stream_type=payload.STREAM_TYPE,
        stream_id=stream_id,
        actor=Actor(id="staff-0042", role="nurse"),
        submitting_system="ward_app",
        correlation_id=uuid.uuid4(),
        issued_at=datetime.now(UTC),
        payload=payload,
    )
    return command_id, encode_command(envelope)


def workload() -> list[tuple[uuid.UUID, uuid.UUID, bytes]]:
    """(plan id, command id, bytes) in an order that is valid per plan."""
    out = []
    for _ in range(PLANS):
        plan_id, person = uuid.uuid4(), uuid.uuid4()
        out.append(
            (
                plan_id,
                *command(c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING), plan_id),
            )
        )
        invite = c.InviteParticipantV1(
            participant_id=person, role="service_user", name="Fault Test"
        )  # type: ignore[arg-type]
        out.append((plan_id, *command(invite, plan_id)))
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
            out.append((plan_id, *command(body, plan_id)))
    return out


def store_commands(settings: CommonSettings) -> tuple[Counter[str], dict[str, int], set[str]]:
    """causation (command) ids, last version per plan and event ids, from the event store."""
    store = open_store(settings)
    try:
        notes = store.recorder.select_notifications(start=1, limit=10_000_000)
        causes, versions, ids = Counter[str](), {}, set()
        for note in notes:
            env: dict[str, Any] = store.mapper.to_domain_event(note).envelope  # type: ignore[attr-defined]
            causes[env["causation_id"]] += 1
            versions[env["stream_id"]] = max(
                versions.get(env["stream_id"], 0), env["stream_version"]
            )
            ids.add(env["event_id"])
        return causes, versions, ids
    finally:
        store.close()


def kafka_event_ids(settings: CommonSettings) -> Counter[str]:
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    topic = topics.topic(topics.PLAN_EVENTS, settings.topic_prefix)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    ends = consumer.end_offsets(parts)
    seen: Counter[str] = Counter()
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for records in consumer.poll(timeout_ms=500, max_records=5000).values():
            for r in records:
                seen[str(parse_event(r.value, verify=False).event_id)] += 1
    consumer.close()
    return seen


def rows(settings: CommonSettings, db: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(settings.pg_conninfo(db)) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


@pytest.mark.timeout(420)
def test_random_kill_9_of_every_worker_under_load_loses_and_duplicates_nothing(
    settings: CommonSettings,
) -> None:
    plan = PlanServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    work = workload()
    rng = random.Random(20261123)
    workers = Workers(plan)
    for name in WORKERS:
        workers.start(name)
    producer = make_producer(plan)
    submissions = topics.topic(topics.SUBMISSIONS, plan.topic_prefix)
    try:
        # produce in slices; after each slice kill -9 one worker at a random moment, restart it
        for start in range(0, len(work), 60):
            for plan_id, _, value in work[start : start + 60]:
                producer.send(submissions, key=topics.record_key(plan_id), value=value)
            producer.flush()
            time.sleep(rng.uniform(0.05, 0.8))
            victim = rng.choice(sorted(WORKERS))
            workers.kill9(victim)
            time.sleep(rng.uniform(0.0, 0.3))
            workers.start(victim)
        expected = {str(command_id) for _, command_id, _ in work}
        deadline = time.monotonic() + 180
        while True:  # recovery: the restarted workers catch up by themselves
            causes, versions, event_ids = store_commands(plan)
            read_model = dict(
                rows(
                    plan,
                    "safetyplan_plan",
                    "SELECT plan_id::text, stream_version FROM plan_read_model",
                )
            )
            audited = rows(plan, "safetyplan_audit", "SELECT count(*) FROM au_events")[0][0]
            if set(causes) >= expected and read_model == versions and audited == len(event_ids):
                break
            assert time.monotonic() < deadline, (
                f"no recovery: {len(set(causes) & expected)}/{len(expected)} commands stored, "
                f"{len(read_model)} plans in the read model, {audited} audited"
            )
            time.sleep(1)
    finally:
        producer.close()
        workers.stop_all()

    assert sum(workers.kills.values()) >= 10
    assert set(workers.kills) == set(WORKERS)  # every worker was killed at least once
    # in the store exactly once
    assert set(causes) == expected
    assert max(causes.values()) == 1
    # on Kafka at least once
    on_kafka = kafka_event_ids(plan)
    assert set(on_kafka) >= event_ids
    # applied exactly once: the read model is at each plan's last version, the audit has each
    # stored event once, and each submission has exactly one outcome
    assert read_model == versions
    assert audited == len(event_ids)
    outcomes = rows(
        plan,
        "safetyplan_plan",
        "SELECT command_id::text, count(*) FROM submission_outcomes GROUP BY command_id",
    )
    assert {cid for cid, _ in outcomes} == expected
    assert all(n == 1 for _, n in outcomes)
