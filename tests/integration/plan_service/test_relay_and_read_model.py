"""From the event store to Kafka and back: the relay publishes every event once per page with
key and headers, records its position only after Kafka acknowledged, and the Kafka-fed read
model lists and searches plans."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from contracts import topics
from contracts.registry import parse_event
from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.kafka_client import make_producer
from services.plan_service.read_model import PlanProjection, PlanReadModel
from services.plan_service.relay import Relay, wait_caught_up
from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import open_store
from tests.integration.plan_service.conftest import post
from tests.integration.plan_service.test_plan_api import NURSE, PERSON, contribute, new_plan


def read_topic(settings: PlanServiceSettings, name: str, expect: int) -> list[object]:
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    topic = topics.topic(name, settings.topic_prefix)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    got: list[object] = []
    deadline = time.monotonic() + 30
    while len(got) < expect and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=300).values():
            got.extend(records)
    consumer.close()
    return got


def test_the_relay_publishes_every_event_with_key_and_headers(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    plan_id = new_plan(client)
    contribute(client, plan_id)
    pool = open_pool(plan_settings)
    store = open_store(plan_settings)
    relay = Relay(plan_settings, store, pool, page_size=2)
    wait_caught_up(relay)
    assert relay.lag() == 0
    records = read_topic(plan_settings, topics.PLAN_EVENTS, 4)
    assert len(records) == 4
    versions = []
    for r in records:
        assert r.key == plan_id.encode()  # type: ignore[attr-defined]
        headers = dict(r.headers)  # type: ignore[attr-defined]
        event = parse_event(r.value)  # type: ignore[attr-defined]
        assert headers["event-type"] == event.event_type.encode()
        assert int(headers["store-position"]) >= 1
        versions.append(event.stream_version)
    assert sorted(versions) == [1, 2, 3, 4]
    store.close()
    pool.close()


def test_the_relay_keeps_its_position_when_kafka_does_not_acknowledge(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    new_plan(client)
    pool = open_pool(plan_settings)
    store = open_store(plan_settings)
    # topics that do not exist (auto-creation is off): the broker never acknowledges
    broken = plan_settings.model_copy(update={"topic_prefix": "missing."})
    relay = Relay(broken, store, pool, producer=make_producer(broken, max_block_ms=1500))
    with pytest.raises(KafkaError):
        relay.relay_once()
    assert relay.position() == 0
    working = Relay(plan_settings, store, pool)
    wait_caught_up(working)
    assert working.position() == store.recorder.max_notification_id()
    store.close()
    pool.close()


def test_a_page_is_recorded_only_once_acknowledged_and_a_restart_resends_from_there(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    plan_id = new_plan(client)
    contribute(client, plan_id)  # four events in all
    pool = open_pool(plan_settings)
    store = open_store(plan_settings)
    ids = [n.id for n in store.recorder.select_notifications(start=1, limit=10)]
    relay = Relay(plan_settings, store, pool, page_size=2)
    assert relay.relay_once() == 2  # the first page is sent, not yet acknowledged
    assert relay.position() == 0
    assert relay.relay_once() == 4  # the second page sent while the first is acknowledged
    assert relay.position() == ids[1]
    # the process dies here: a new relay starts from the recorded position
    again = Relay(plan_settings, store, pool, page_size=2)
    wait_caught_up(again)
    assert again.position() == ids[-1]
    records = read_topic(plan_settings, topics.PLAN_EVENTS, 6)
    versions = sorted(parse_event(r.value).stream_version for r in records)  # type: ignore[attr-defined]
    assert versions == [1, 2, 3, 3, 4, 4]  # the unrecorded page twice: harmless duplicates
    relay.producer.close()
    store.close()
    pool.close()


def test_the_read_model_lists_plans_by_unit_due_review_and_open_dissent(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    quiet = new_plan(client, person_id="P-1")
    busy = new_plan(client, person_id="P-2")
    contribute(client, busy)
    post(client, f"/plans/{busy}/versions", {"proposed_by_participant_id": NURSE})
    dissent = {
        "version_number": 1,
        "section": "warning_signs",
        "participant_id": PERSON,
        "reason": "Not my words",
        "wants_instead": "My own words",
        "mode": "in_person",
    }
    assert post(client, f"/plans/{busy}/dissents", dissent).status_code == 200
    review = {"review_id": str(uuid.uuid4()), "due_on": "2026-01-31", "trigger": "routine"}
    assert post(client, f"/plans/{busy}/reviews", review).status_code == 200

    pool = open_pool(plan_settings)
    store = open_store(plan_settings)
    wait_caught_up(Relay(plan_settings, store, pool))
    consumer = TransactionalConsumer(plan_settings, PlanProjection(plan_settings), pool)
    consumer.setup()
    deadline = time.monotonic() + 30
    while sum(consumer.stored_offsets().values()) < 10:
        assert time.monotonic() < deadline, "read model did not catch up"
        consumer.poll_once(200)
    consumer.close()

    model = PlanReadModel(pool)
    unit = json.loads(client.get(f"/plans/{busy}").text)["setting"]["unit_name"]
    assert {str(p.plan_id) for p in model.search(unit=unit)} == {quiet, busy}
    assert [str(p.plan_id) for p in model.search(open_dissent=True)] == [busy]
    assert [str(p.plan_id) for p in model.search(review_due_by=date(2026, 2, 1))] == [busy]
    assert model.search(review_due_by=date(2026, 1, 1)) == []
    listed = client.get("/plans", params={"open_dissent": "true"}).json()
    assert [p["plan_id"] for p in listed] == [busy]
    store.close()
    pool.close()


def test_rebuilding_the_read_model_from_offset_zero_gives_the_same_rows(
    client: TestClient, plan_settings: PlanServiceSettings
) -> None:
    for person in ("P-7", "P-8", "P-9"):
        plan_id = new_plan(client, person_id=person)
        contribute(client, plan_id)
    pool = open_pool(plan_settings)
    store = open_store(plan_settings)
    wait_caught_up(Relay(plan_settings, store, pool))

    def replay() -> list[tuple[object, ...]]:
        consumer = TransactionalConsumer(plan_settings, PlanProjection(plan_settings), pool)
        consumer.setup()
        deadline = time.monotonic() + 30
        while sum(consumer.stored_offsets().values()) < 12:
            assert time.monotonic() < deadline, "read model did not catch up"
            consumer.poll_once(200)
        consumer.close()
        with pool.connection() as conn:
            return conn.execute("SELECT * FROM plan_read_model ORDER BY plan_id").fetchall()

    live = replay()
    with pool.connection() as conn:
        conn.execute("TRUNCATE plan_read_model")
        conn.execute("DELETE FROM consumer_offsets")
    assert replay() == live
    assert len(live) == 3
    store.close()
    pool.close()
