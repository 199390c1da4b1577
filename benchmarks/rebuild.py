"""Rebuild every projection from 1,000,000 events, beside raw kafka-python consume of the same
topics in the same run.

The events are generated once, produced straight to a benchmark topic prefix, then each
projection (plan read model, audit, reporting) replays them from offset 0 through the
transactional consumer's production loop (``run``, with the worker's collector settings) into an
empty scratch schema; the time to the last offset stored is the rebuild time. The reporting
figure is also the reporting consumer's replay rate.

Generating a million sealed events through the pydantic contract models takes ~2 ms each on the
project machine, so the builder seals ONE plan (`benchmarks.audit_projection.plan`, the same
examples-style events the audit figure uses) and derives every other plan from it: new ids
substituted in its canonical JSON, each hash and previous-hash link recomputed, so every event
is a valid, hash-chained contract envelope.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid5

from kafka import KafkaConsumer, TopicPartition

from benchmarks.audit_projection import NS, plan
from benchmarks.common import Figure, isolated
from contracts import topics
from contracts.canonical import canonical_bytes, canonical_bytes_of_json, sha256_hash
from contracts.registry import encode_event
from services.audit_service.projection import AuditProjection
from services.audit_service.settings import AuditServiceSettings
from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.gc_tuning import tune_for_streaming
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.plan_service.read_model import PlanProjection
from services.plan_service.settings import PlanServiceSettings
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.workers import make_consumer

DATABASES = ("safetyplan_plan", "safetyplan_audit", "safetyplan_reporting", "safetyplan_keys")
EVENTS_PER_PLAN = 6
_WHO = ["su", "rn", "c", *(f"e{i}" for i in range(6)), *(f"k{i}" for i in range(6))]


def _ids(n: int) -> list[str]:
    return [str(uuid5(NS, f"{n}:{who}")) for who in _WHO] + [str(uuid5(NS, f"plan:{n}"))]


def _template() -> list[str]:
    """Plan 0's events as canonical JSON without hash and previous hash."""
    out = []
    for event in plan(0):
        data = json.loads(encode_event(event))
        del data["hash"]
        data["previous_hash"] = None
        out.append(canonical_bytes(data).decode())
    return out


def _plans(span: tuple[int, int]) -> list[tuple[bytes, bytes]]:
    """(key, value) of every event of plans ``span[0]..span[1]-1``."""
    template, old = _template(), _ids(0)
    out = []
    for n in range(*span):
        new = _ids(n)
        previous = None
        for text in template:
            for a, b in zip(old, new, strict=True):
                text = text.replace(a, b)
            data = json.loads(text.replace('"B-0"', f'"B-{n}"'))
            data["previous_hash"] = previous
            data["hash"] = previous = sha256_hash(canonical_bytes_of_json(data))
            out.append((new[-1].encode(), canonical_bytes_of_json(data)))
    return out


def produce(settings: CommonSettings, events: int) -> int:
    """Generate ``events`` (rounded to whole plans) on two cores; produce them as they come."""
    plans = max(1, events // EVENTS_PER_PLAN)
    chunks = [(i, min(i + 2000, plans)) for i in range(0, plans, 2000)]
    producer = make_producer(settings)
    topic = topics.topic(topics.PLAN_EVENTS, settings.topic_prefix)
    sent = 0
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for batch in pool.imap(_plans, chunks):
            for key, value in batch:
                producer.send(topic, key=key, value=value)
            sent += len(batch)
    producer.flush()
    producer.close()
    return sent


def raw_consume(settings: CommonSettings, count: int) -> float:
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    topic = topics.topic(topics.PLAN_EVENTS, settings.topic_prefix)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    started, seen = time.perf_counter(), 0
    while seen < count:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=200, max_records=5000).values())
    rate = count / (time.perf_counter() - started)
    consumer.close()
    return rate


def _replay(consumer: TransactionalConsumer, count: int, timeout_s: float) -> float:
    """Seconds until ``count`` offsets are stored (the last batch committed), with the
    consumer in its production loop (``run``, on a thread), as a worker process runs it."""
    consumer.setup()
    started = time.perf_counter()
    thread = threading.Thread(target=consumer.run, name="rebuild", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    try:
        while sum(consumer.stored_offsets().values()) < count:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the rebuild did not finish")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        consumer.stop()
        thread.join(timeout=60)


def _consumers(base: CommonSettings) -> Iterator[tuple[str, Callable[[], Any]]]:
    """(name, factory of (consumer, pool)) for every projection, on the scratch schema."""
    scratch = {"pg_schema": base.pg_schema, "topic_prefix": base.topic_prefix}

    def plan_read_model() -> Any:
        own = PlanServiceSettings().model_copy(update=scratch)
        pool = open_pool(own)
        return TransactionalConsumer(own, PlanProjection(own), pool, max_poll_records=2000), pool

    def audit() -> Any:
        own = AuditServiceSettings().model_copy(update=scratch)
        pool = open_pool(own)
        consumer = TransactionalConsumer(own, AuditProjection(own), pool, max_poll_records=2000)
        return consumer, pool

    def reporting() -> Any:
        own = ReportingServiceSettings().model_copy(update=scratch)
        pool = open_pool(own)
        return make_consumer(own, pool), pool

    yield "plan read model", plan_read_model
    yield "audit", audit
    yield "reporting", reporting


def run(events: int = 1_000_000) -> list[Figure]:
    with isolated(DATABASES) as settings:
        started = time.perf_counter()
        count = produce(settings, events)
        generated = time.perf_counter() - started
        raw = raw_consume(settings, count)
        tune_for_streaming()  # as each projection's worker process does
        figures = []
        for name, factory in _consumers(settings):
            consumer, pool = factory()
            try:
                seconds = _replay(consumer, count, timeout_s=3600)
            finally:
                pool.close()
            figures.append(
                Figure(
                    f"rebuild {name} from {count:,} events (events/s)",
                    count / seconds,
                    "events/s",
                    raw,
                    "raw kafka-python consume of the same topic",
                    target="all projections < 60 s for 1M events",
                    extra={
                        "seconds": seconds,
                        "raw_seconds": count / raw,
                        "generate_and_produce_s": generated,
                    },
                )
            )
        return figures
