"""Refused event records on the real Kafka and PostgreSQL: each goes to the events dead-letter
topic (original key and bytes, headers naming field and rule, never the value) and to
``au_rejected``, in the same poll batch as the good records, without replaying that batch."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer, TopicPartition

from contracts import topics
from contracts.registry import encode_event
from services.audit_service import workers
from services.audit_service.settings import AuditServiceSettings
from services.common.db import open_pool
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from tests.integration.audit_service.builders import co_produced

SECRET = "Zebedee Quartermaine"
"""A value that must never reach a header or a log line."""


@pytest.fixture
def own(settings: CommonSettings) -> AuditServiceSettings:
    return AuditServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )


def send(s: AuditServiceSettings, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = make_producer(s)
    futures = [producer.send(topic, key=key, value=value) for topic, key, value in records]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()


def read_dlq(s: AuditServiceSettings, count: int) -> list[Any]:
    dlq = KafkaConsumer(**s.kafka_config(), enable_auto_commit=False)
    tp = TopicPartition(topics.topic(topics.EVENTS_DLQ, s.topic_prefix), 0)
    dlq.assign([tp])
    dlq.seek_to_beginning(tp)
    got: list[Any] = []
    deadline = time.monotonic() + 30
    while len(got) < count and time.monotonic() < deadline:
        got.extend(r for recs in dlq.poll(timeout_ms=300).values() for r in recs)
    dlq.close()
    return got


def test_refused_events_go_to_the_dead_letter_topic_and_au_rejected_without_a_replay(
    own: AuditServiceSettings, caplog: pytest.LogCaptureFixture
) -> None:
    plan = co_produced("dlq")
    plan_topic = topics.topic(topics.PLAN_EVENTS, own.topic_prefix)
    incident_topic = topics.topic(topics.USE_OF_FORCE_EVENTS, own.topic_prefix)
    key = topics.record_key(plan.plan_id)
    invited = json.loads(encode_event(plan.events[1]))
    invited["payload"]["role"] = "wizard"  # off the code list, in a field the audit reads
    invited["payload"]["name"] = SECRET
    off_list = json.dumps(invited, sort_keys=True, separators=(",", ":")).encode()
    bad = [
        (plan_topic, key, b'{"event_type": '),  # not JSON
        (plan_topic, key, off_list),
        (incident_topic, key, encode_event(plan.events[0])),  # a plan event on the wrong topic
    ]
    good = [(plan_topic, key, encode_event(e)) for e in plan.events]
    send(own, [*good[:3], *bad[:2], *good[3:], bad[2]])

    pool = open_pool(own)
    consumer = workers.make_consumer(own, pool)
    consumer.setup()
    deadline = time.monotonic() + 30
    with caplog.at_level(logging.INFO, logger="services.common.consumer"):
        while consumer.applied + consumer.dead_lettered < len(good) + len(bad):
            assert time.monotonic() < deadline, "the consumer did not catch up in time"
            consumer.poll_once(timeout_ms=300)
    consumer.close()
    pool.close()
    assert consumer.applied == len(good)
    assert consumer.dead_lettered == len(bad)
    assert "isolating the record" not in caplog.text  # refused in the batch, not by replaying it
    assert SECRET not in caplog.text

    dead = read_dlq(own, len(bad))
    by_value = {r.value: r for r in dead}
    assert set(by_value) == {value for _, _, value in bad}  # the original bytes, unchanged
    rules = {
        value: (
            dict(by_value[value].headers)["dlq-field"],
            dict(by_value[value].headers)["dlq-rule"],
        )
        for _, _, value in bad
    }
    assert rules[bad[0][2]] == (b"$", b"json_syntax")
    assert rules[bad[1][2]] == (b"payload.role", b"unknown_code")
    assert rules[bad[2][2]] == (b"stream_type", b"topic_carries_stream_type")
    for record in dead:
        headers = dict(record.headers)
        assert record.key == key
        assert headers["original-topic"] in {plan_topic.encode(), incident_topic.encode()}
        assert headers["dlq-consumer"] == b"audit_service-projection"
        assert SECRET.encode() not in b"".join(headers.values())

    with psycopg.connect(own.pg_conninfo()) as conn:
        rejected = conn.execute(
            'SELECT topic, "offset", field, rule FROM au_rejected ORDER BY topic, "offset"'
        ).fetchall()
        events = conn.execute("SELECT count(*) FROM au_events").fetchone()
        roles = conn.execute(
            "SELECT count(*) FROM au_participants WHERE plan_id = %s", (plan.plan_id,)
        ).fetchone()
    assert rejected == [
        (plan_topic, 3, "$", "json_syntax"),
        (plan_topic, 4, "payload.role", "unknown_code"),
        (incident_topic, 0, "stream_type", "topic_carries_stream_type"),
    ]
    assert events == (len(good),)
    assert roles == (3,)  # the refused invitation changed nothing
