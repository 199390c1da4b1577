"""audit_service figure: events/s replayed from offset 0 into the audit projection, beside the
raw kafka-python consume rate of the same topics measured in the same run.

The replay runs the production consumer (`workers.make_consumer`: batch size from the settings,
refusals to the events dead-letter topic) in its production loop (`run`: the next batch is
read while the previous one is written) with the worker's collector settings, timed from after
it joined its consumer group (the raw consumer assigns its partitions without one). The raw rate
is measured before and after the replay and the higher one is the baseline, so a burst of load
on a shared host cannot flatter the ratio; the 1-minute load average is printed beside the
figures for the same reason.

`python -m benchmarks.audit_projection [--plans N]` prints both figures. Never asserts on time.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

from kafka import KafkaConsumer, TopicPartition

from benchmarks.common import Figure, isolated, start_stack
from contracts import plan_content as pc
from contracts import plan_events as pe
from contracts import topics
from contracts.codes import ContributionMode, ParticipantRole, PlanSection
from contracts.common import CareSetting, EventPayload, PersonDetails
from contracts.envelope import Actor, EventEnvelope, seal
from contracts.registry import encode_event, seal_personal
from services.audit_service import workers
from services.audit_service.settings import AuditServiceSettings
from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.gc_tuning import tune_for_streaming
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings

NS = UUID("3e9b3c1a-8d7f-4a2b-9c6e-5f4d3b2a1c0e")
BENCH_KEY_ID = "bench-key"
BENCH_KEY = bytes(range(32))
"""The audit figure seals personal values as plan_service does, so records have production size
(the audit never opens them; the key is the benchmark's own)."""
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def plan(n: int, *, sealed: bool = False) -> list[EventEnvelope[Any]]:
    """Plan ``n``'s six events; ``sealed`` seals personal values as plan_service does."""
    pid = lambda who: uuid5(NS, f"{n}:{who}")  # noqa: E731
    c = uuid5(NS, f"{n}:c")
    payloads: list[EventPayload] = [
        pe.PlanStartedV1(
            person=PersonDetails(person_id=f"B-{n}", name="Bench Person"),
            setting=CareSetting(provider_ods_code="RXX", unit_name=f"Unit {n % 7}"),
        ),
        pe.ParticipantInvitedV1(
            participant_id=pid("su"), role=ParticipantRole.SERVICE_USER, name="S"
        ),
        pe.ParticipantInvitedV1(participant_id=pid("rn"), role=ParticipantRole.NURSE, name="N"),
        pe.ContributionMadeV2(
            contribution_id=c,
            section=PlanSection.WARNING_SIGNS,
            content=pc.TextContent(text="Words."),
            author_participant_id=pid("su"),
            present=[pe.PresentParticipant(participant_id=pid("rn"), attendance=None)],
            mode=ContributionMode.IN_PERSON,
        ),
        pe.VersionProposedV1(
            version_number=1, contribution_ids=[c], proposed_by_participant_id=pid("rn")
        ),
        pe.AgreementGivenV1(
            version_number=1, participant_id=pid("su"), mode=ContributionMode.IN_PERSON
        ),
    ]
    out: list[EventEnvelope[Any]] = []
    for i, plain in enumerate(payloads):
        payload = seal_personal(plain, BENCH_KEY_ID, BENCH_KEY) if sealed else plain
        at = T0 + timedelta(minutes=n * 10 + i)
        out.append(
            seal(
                {
                    "event_id": uuid5(NS, f"{n}:e{i}"),
                    "event_type": payload.MESSAGE_TYPE,
                    "schema_version": payload.SCHEMA_VERSION,
                    "stream_type": payload.STREAM_TYPE,
                    "stream_id": uuid5(NS, f"plan:{n}"),
                    "stream_version": i + 1,
                    "occurred_at": at,
                    "recorded_at": at,
                    "actor": Actor(id="staff-1", role="nurse"),
                    "submitting_system": "bench",
                    "correlation_id": uuid5(NS, f"{n}:k{i}"),
                    "previous_hash": out[-1].hash if out else None,
                    "payload": payload,
                }
            )
        )
    return out


def backend_cpu_seconds(pid: int) -> float | None:
    """CPU time of a local PostgreSQL backend (None when the server is not on this host)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_consume(settings: CommonSettings, count: int) -> float:
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    names = [
        topics.topic(t, settings.topic_prefix)
        for t in (topics.PLAN_EVENTS, topics.USE_OF_FORCE_EVENTS)
    ]
    parts = [TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t) or ()]
    consumer.assign(parts)
    consumer.seek_to_beginning()
    started, seen = time.perf_counter(), 0
    while seen < count:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=200, max_records=2000).values())
    rate = count / (time.perf_counter() - started)
    consumer.close()
    return rate


def join_group(consumer: TransactionalConsumer, timeout_s: float = 60) -> None:
    """Join the consumer group before the clock starts, as the raw baseline (which assigns its
    partitions itself) has no group to join: the first assignment's records are not applied
    (its partitions are first seeked to the stored offsets)."""
    deadline = time.monotonic() + timeout_s
    while not consumer.assigned():
        if time.monotonic() > deadline:
            raise RuntimeError("the consumer did not join its group")
        consumer.poll_once(timeout_ms=100)
    if consumer.applied:
        raise RuntimeError("records were applied before the clock started")


def run_until_applied(consumer: TransactionalConsumer, count: int, timeout_s: float = 600) -> float:
    """Seconds the production loop (``run``, on a thread) takes to apply ``count`` records;
    the consumer is stopped and closed afterwards."""
    started = time.perf_counter()
    thread = threading.Thread(target=consumer.run, name="replay", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while consumer.applied < count:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the replay stopped before applying every record")
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    consumer.stop()
    thread.join(timeout=60)
    return elapsed


def run(plans: int = 3000) -> list[Figure]:
    with isolated(("safetyplan_audit",)) as base:
        settings = AuditServiceSettings().model_copy(
            update={"pg_schema": base.pg_schema, "topic_prefix": base.topic_prefix}
        )
        events = [e for n in range(plans) for e in plan(n, sealed=True)]
        producer = make_producer(settings)
        for e in events:
            producer.send(
                topics.event_topic(e.stream_type, settings.topic_prefix),
                key=topics.record_key(e.stream_id),
                value=encode_event(e),
            )
        producer.flush()
        producer.close()
        cpu = time.process_time()
        raw_before = raw_consume(settings, len(events))
        raw_cpu = time.process_time() - cpu
        load = os.getloadavg()[0]
        # one connection, so its backend's CPU time is the projection's share of PostgreSQL
        pool = open_pool(settings.model_copy(update={"pg_pool_min_size": 1, "pg_pool_max_size": 1}))
        with pool.connection() as conn:
            backend = conn.info.backend_pid
        consumer = workers.make_consumer(settings, pool)
        consumer.setup()
        join_group(consumer)
        tune_for_streaming()  # as the worker process does before its loop
        pg_before = backend_cpu_seconds(backend)
        cpu = time.process_time()
        value = len(events) / run_until_applied(consumer, len(events))
        replay_cpu = time.process_time() - cpu
        pg_after = backend_cpu_seconds(backend)
        pool.close()
        cpu = time.process_time()
        raw = max(raw_before, raw_consume(settings, len(events)))
        raw_cpu = min(raw_cpu, time.process_time() - cpu)
    per_event = 1e6 / len(events)
    extra: dict[str, Any] = {
        "events": len(events),
        "load_avg_1m": load,
        "cpu_us_per_event": replay_cpu * per_event,
        "raw_cpu_us_per_event": raw_cpu * per_event,
    }
    if pg_before is not None and pg_after is not None:
        extra["postgres_cpu_us_per_event"] = (pg_after - pg_before) * per_event
    return [
        Figure(
            "audit projection: events/s replay from offset 0",
            value,
            "events/s",
            raw,
            "raw kafka-python consume",
            target=">= 20000 events/s and >= 0.3 x raw",
            extra=extra,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit_projection")
    parser.add_argument("--plans", type=int, default=3000, help="plans of 6 events each")
    args = parser.parse_args()
    start_stack()
    for f in run(args.plans):
        print(f"{f.name}: {f.value:,.0f} {f.unit} (load average {f.extra['load_avg_1m']:.1f})")
        pg = f.extra.get("postgres_cpu_us_per_event")
        print(
            f"CPU per event: replay process {f.extra['cpu_us_per_event']:.1f} us"
            f" + PostgreSQL backend {'n/a' if pg is None else f'{pg:.1f}'} us;"
            f" raw consume {f.extra['raw_cpu_us_per_event']:.1f} us"
        )
        print(
            f"{f.baseline_name}: {f.baseline:,.0f} {f.unit}"
            f" (ratio {f.ratio:.2f}; target {f.target})"
        )


if __name__ == "__main__":
    main()
