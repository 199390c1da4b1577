"""audit_service figure: events/s replayed from offset 0 into the audit projection, beside the
raw kafka-python consume rate of the same topics measured in the same run.

The replay runs the production consumer (`workers.make_consumer`: batch size from the settings,
refusals to the events dead-letter topic) in its production loop (`run`: the next batch is
read while the previous one is written) with the worker's collector settings, timed from after
it joined its consumer group (the raw consumer assigns its partitions without one). The raw rate
is measured before and after the replay and the higher one is the baseline, so a burst of load
on a shared host cannot flatter the ratio; the 1-minute load average is printed beside the
figures for the same reason.

A second figure replays four times as many events with two consumer processes in one group,
as deployed (`replicas: 2`), timed from when each holds its half of the partitions, beside two
raw consumer processes reading half the partitions each (before and after; the higher counts).

A third figure is the floor of any projection on this stack: the same records read by
kafka-python, decoded by orjson and written as one COPY row each (event id, place, hash) with
their offsets, one transaction per poll batch, and nothing else. Beside the audit's CPU per
event (its process, its PostgreSQL backend and, for a local broker, the broker) it shows how
much of the audit's time is the stack and how much the audit's own work, and whether the target
fits the machine's cores at all: events/s can never exceed cores x 10^6 / (total CPU us per
event).

`python -m benchmarks.audit_projection [--plans N]` prints the figures. Never asserts on time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import orjson
from kafka import KafkaConsumer, TopicPartition

from benchmarks.common import ROOT, Figure, isolated, start_stack
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


def process_cpu_seconds(pid: int | None) -> float | None:
    """CPU time of a process on this host (a PostgreSQL backend, the broker); None when it is
    not here."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def local_broker_pid() -> int | None:
    """The broker that ``deploy/local/kafka.sh`` started, if it runs (else None: a remote
    cluster's CPU is not measured)."""
    state = Path(os.environ.get("SAFETYPLAN_STATE_DIR", str(ROOT / ".local")))
    try:
        pid = int((state / "run" / "kafka.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"kafka" in cmdline else None


def machine_busy_seconds() -> float | None:
    """Core-seconds this machine's CPUs have been busy (all processes, the kernel included;
    not steal, time the hypervisor gave to another guest); None off Linux."""
    ticks = _cpu_ticks()
    if ticks is None:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = ticks[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def machine_steal_seconds() -> float | None:
    """Core-seconds the hypervisor ran another guest while this one was ready to run: a
    replay that lost many of them was slowed by the host, not by its own work."""
    ticks = _cpu_ticks()
    return None if ticks is None or len(ticks) < 8 else ticks[7] / os.sysconf("SC_CLK_TCK")


def _cpu_ticks() -> list[int] | None:
    try:
        return [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None


def cpu_delta(before: float | None, after: float | None, per: float) -> float | None:
    """(after - before) x per, or None when either reading is missing."""
    return None if before is None or after is None else (after - before) * per


def produce(settings: CommonSettings, events: list[EventEnvelope[Any]]) -> None:
    """The events to their topics under the settings' prefix, as the relay publishes them."""
    producer = make_producer(settings)
    for e in events:
        producer.send(
            topics.event_topic(e.stream_type, settings.topic_prefix),
            key=topics.record_key(e.stream_id),
            value=encode_event(e),
        )
    producer.flush()
    producer.close()


def event_partitions(consumer: KafkaConsumer, settings: CommonSettings) -> list[TopicPartition]:
    """Every partition of the plan and use-of-force event topics, in a fixed order."""
    names = [
        topics.topic(t, settings.topic_prefix)
        for t in (topics.PLAN_EVENTS, topics.USE_OF_FORCE_EVENTS)
    ]
    return [
        TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())
    ]


def raw_consume(settings: CommonSettings, count: int) -> float:
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    consumer.assign(event_partitions(consumer, settings))
    consumer.seek_to_beginning()
    started, seen = time.perf_counter(), 0
    while seen < count:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=200, max_records=2000).values())
    rate = count / (time.perf_counter() - started)
    consumer.close()
    return rate


FLOOR_DDL = (
    "CREATE TABLE floor_events (event_id uuid PRIMARY KEY, topic text NOT NULL,"
    ' partition int NOT NULL, "offset" bigint NOT NULL, event_hash text NOT NULL)',
    "CREATE TABLE floor_offsets (topic text, partition int, next_offset bigint NOT NULL,"
    " PRIMARY KEY (topic, partition))",
)
FLOOR_OFFSETS = (
    "INSERT INTO floor_offsets SELECT * FROM unnest(%s::text[], %s::int[], %s::bigint[])"
    " ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset"
)


def floor_projection(settings: AuditServiceSettings, count: int) -> dict[str, float | None]:
    """The least an exactly-once projection of these records does, timed like the replay:
    poll (the audit's batch size), decode each value, COPY one row per record and upsert the
    offsets in one transaction per batch. No checks, no facts, no second table."""
    pool = open_pool(settings.model_copy(update={"pg_pool_min_size": 1, "pg_pool_max_size": 1}))
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    consumer.assign(event_partitions(consumer, settings))
    consumer.seek_to_beginning()
    with pool.connection() as conn:
        for ddl in FLOOR_DDL:
            conn.execute(ddl)
        backend = conn.info.backend_pid
        pg, cpu = process_cpu_seconds(backend), time.process_time()
        started, seen = time.perf_counter(), 0
        while seen < count:
            batch = consumer.poll(timeout_ms=200, max_records=settings.consumer_max_poll_records)
            lines = []
            for records in batch.values():
                for r in records:
                    event = orjson.loads(r.value)
                    lines.append(
                        f"{event['event_id']}\t{r.topic}\t{r.partition}\t{r.offset}\t"
                        f"{event['hash']}\n"
                    )
            if not lines:
                continue
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy("COPY floor_events FROM STDIN") as copy:
                    copy.write("".join(lines))
                moved = [(tp, recs[-1].offset + 1) for tp, recs in batch.items() if recs]
                cur.execute(
                    FLOOR_OFFSETS,
                    (
                        [tp.topic for tp, _ in moved],
                        [tp.partition for tp, _ in moved],
                        [o for _, o in moved],
                    ),
                )
            seen += len(lines)
        elapsed = time.perf_counter() - started
        per_event = 1e6 / count
        out = {
            "rate": count / elapsed,
            "cpu_us_per_event": (time.process_time() - cpu) * per_event,
            "postgres_cpu_us_per_event": cpu_delta(pg, process_cpu_seconds(backend), per_event),
        }
    consumer.close()
    pool.close()
    return out


def partition_count(settings: CommonSettings) -> int:
    """Partitions of the plan and use-of-force event topics together."""
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    count = len(event_partitions(consumer, settings))
    consumer.close()
    return count


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


def _group_member(
    settings: AuditServiceSettings,
    share: int,
    joining: Any,
    ready: Any,
    go: Any,
    pre_clock: Any,
    applied: Any,
    stop: Any,
) -> None:
    """One consumer process of a group of two (spawned): joins, polls until it holds ``share``
    partitions (what it applied meanwhile is reported, so the parent leaves it out of the
    rate), then runs the production loop from ``go`` until ``stop``, publishing its count."""
    pool = open_pool(settings.model_copy(update={"pg_pool_min_size": 1, "pg_pool_max_size": 2}))
    consumer = workers.make_consumer(settings, pool)
    consumer.setup()
    joining.wait()  # both started: join at once
    kafka = consumer._require_consumer()
    while len(consumer.assigned()) != share:
        # paused until the group has settled, so neither member replays part of the other's
        # share before the clock starts (the work left would be uneven); a partition newly
        # assigned inside a poll is seeked first, and its records of that poll dropped
        kafka.pause(*kafka.assignment())
        consumer.poll_once(timeout_ms=100)
    kafka.resume(*kafka.assignment())
    pre_clock.value = consumer.applied
    tune_for_streaming()
    ready.wait()
    go.wait()
    thread = threading.Thread(target=consumer.run, name="replay", daemon=True)
    thread.start()
    while not stop.is_set():
        applied.value = consumer.applied
        time.sleep(0.002)
    consumer.stop()
    thread.join(timeout=60)
    pool.close()


def _raw_member(settings: CommonSettings, part: int, ready: Any, finished: Any) -> None:
    """Half of a two-process raw baseline (spawned): every ``part``-th of the event topics'
    partitions assigned, read from the beginning to their end offsets; when it got there."""
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    mine = event_partitions(consumer, settings)[part::2]
    consumer.assign(mine)
    consumer.seek_to_beginning()
    count = sum(consumer.end_offsets(mine).values())
    ready.wait()
    seen = 0
    while seen < count:
        seen += sum(len(v) for v in consumer.poll(timeout_ms=200, max_records=2000).values())
    finished.value = time.monotonic()
    consumer.close()


def group_raw_consume(settings: CommonSettings, count: int) -> float:
    """Records/s of two raw kafka-python consumers, each half of the partitions: the baseline
    beside the group replay (same processes, same records, nothing applied)."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(3)
    finished = [ctx.Value("d", 0.0) for _ in range(2)]
    members = [
        ctx.Process(target=_raw_member, args=(settings, n, ready, finished[n])) for n in range(2)
    ]
    for m in members:
        m.start()
    ready.wait(timeout=120)
    started = time.monotonic()
    for m in members:
        m.join(timeout=300)
    if any(m.exitcode != 0 for m in members):
        raise RuntimeError("a raw consumer failed")
    return count / (max(v.value for v in finished) - started)


def group_replay(
    settings: AuditServiceSettings, count: int, partitions: int
) -> tuple[float, float | None, float | None]:
    """Events/s of two consumer processes in one group, as deployed (replicas: 2), replaying
    from offset 0: timed from when both hold their half of the partitions; what the first one
    applied while the second was joining is left out of the count. Also the machine's busy
    core-seconds per event meanwhile (everything: consumers, PostgreSQL, broker, kernel) and
    the hypervisor's steal, in percent of one core."""
    ctx = multiprocessing.get_context("spawn")
    joining, ready, go, stop = ctx.Barrier(2), ctx.Barrier(3), ctx.Event(), ctx.Event()
    pre = [ctx.Value("q", 0) for _ in range(2)]
    applied = [ctx.Value("q", 0) for _ in range(2)]
    members = [
        ctx.Process(
            target=_group_member,
            args=(settings, partitions // 2, joining, ready, go, pre[n], applied[n], stop),
        )
        for n in range(2)
    ]
    for m in members:
        m.start()
    ready.wait(timeout=120)
    busy, steal = machine_busy_seconds(), machine_steal_seconds()
    started = time.perf_counter()
    go.set()
    before = sum(v.value for v in pre)
    while sum(v.value for v in applied) < count:
        if not all(m.is_alive() for m in members):
            raise RuntimeError("a group member stopped before the replay ended")
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    busy = cpu_delta(busy, machine_busy_seconds(), 1e6 / (count - before))
    steal = cpu_delta(steal, machine_steal_seconds(), 100 / elapsed)
    stop.set()
    for m in members:
        m.join(timeout=60)
    return (count - before) / elapsed, busy, steal


def run(plans: int = 3000) -> list[Figure]:
    broker = local_broker_pid()
    # Both scratch prefixes and schemas are made first and removed last: a broker deletes a
    # topic's files a minute after the topic, and that work must not fall into a later replay.
    with isolated(("safetyplan_audit",)) as base, isolated(("safetyplan_audit",)) as group_base:
        settings = AuditServiceSettings().model_copy(
            update={"pg_schema": base.pg_schema, "topic_prefix": base.topic_prefix}
        )
        events = [e for n in range(plans) for e in plan(n, sealed=True)]
        per_event = 1e6 / len(events)
        produce(settings, events)
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
        pg_before, broker_before = process_cpu_seconds(backend), process_cpu_seconds(broker)
        busy, steal = machine_busy_seconds(), machine_steal_seconds()
        cpu = time.process_time()
        elapsed = run_until_applied(consumer, len(events))
        value = len(events) / elapsed
        busy = cpu_delta(busy, machine_busy_seconds(), per_event)
        steal = cpu_delta(steal, machine_steal_seconds(), 100 / elapsed)
        replay_cpu = time.process_time() - cpu
        pg_cpu = cpu_delta(pg_before, process_cpu_seconds(backend), per_event)
        broker_cpu = cpu_delta(broker_before, process_cpu_seconds(broker), per_event)
        pool.close()
        cpu = time.process_time()
        raw = max(raw_before, raw_consume(settings, len(events)))
        raw_cpu = min(raw_cpu, time.process_time() - cpu)
        floor = floor_projection(settings, len(events))
        # a group of two replaying four times as many events (two processes need ~1 s to
        # reach full speed: with the single run's 18,000 events it measured mostly start-up)
        group_events = [e for n in range(plans, 5 * plans) for e in plan(n, sealed=True)]
        group_settings = settings.model_copy(
            update={"pg_schema": group_base.pg_schema, "topic_prefix": group_base.topic_prefix}
        )
        produce(group_settings, group_events)
        group_raw = group_raw_consume(group_settings, len(group_events))
        group, group_busy, group_steal = group_replay(
            group_settings, len(group_events), partition_count(group_settings)
        )
        group_raw = max(group_raw, group_raw_consume(group_settings, len(group_events)))
    extra: dict[str, Any] = {
        "events": len(events),
        "load_avg_1m": load,
        "cpu_us_per_event": replay_cpu * per_event,
        "raw_cpu_us_per_event": raw_cpu * per_event,
        "cores": os.cpu_count() or 1,
    }
    if pg_cpu is not None:
        extra["postgres_cpu_us_per_event"] = pg_cpu
    if broker_cpu is not None:
        extra["broker_cpu_us_per_event"] = broker_cpu
    if busy is not None:
        extra["machine_cpu_us_per_event"] = busy
    if steal is not None:
        extra["steal_pct_of_a_core"] = steal
    floor_extra = {k: v for k, v in floor.items() if k != "rate" and v is not None}
    return [
        Figure(
            "audit projection: events/s replay from offset 0",
            value,
            "events/s",
            raw,
            "raw kafka-python consume",
            target=">= 20000 events/s and >= 0.3 x raw",
            extra=extra,
        ),
        Figure(
            "audit projection: events/s replay from offset 0, two consumers in one group",
            group,
            "events/s",
            group_raw,
            "raw kafka-python consume, two processes (half the partitions each)",
            target=">= 20000 events/s and >= 0.3 x raw",
            extra={
                "events": len(group_events),
                "processes": 2,
                "ratio_to_one_raw_consumer": group / raw,
                "cores": os.cpu_count() or 1,
                **({} if group_busy is None else {"machine_cpu_us_per_event": group_busy}),
                **({} if group_steal is None else {"steal_pct_of_a_core": group_steal}),
            },
        ),
        Figure(
            "floor: one COPY row per record with its offsets, nothing checked (same records)",
            float(floor["rate"] or 0),
            "events/s",
            raw,
            "raw kafka-python consume",
            extra={"events": len(events), **floor_extra},
        ),
    ]


def cpu_bound(extra: dict[str, Any]) -> str:
    """What the machine's cores allow at most at the CPU per event measured during a replay."""
    cores = extra["cores"]
    machine = extra.get("machine_cpu_us_per_event")
    out = []
    if "cpu_us_per_event" in extra:
        parts = [
            extra[k]
            for k in ("cpu_us_per_event", "postgres_cpu_us_per_event", "broker_cpu_us_per_event")
            if k in extra
        ]
        out.append(
            f"process + PostgreSQL backend + broker {sum(parts):.1f} us per event;"
            f" one process's Python on one core: at most {1e6 / extra['cpu_us_per_event']:,.0f}"
            " events/s"
        )
    if machine is not None:
        out.append(
            f"whole machine {machine:.1f} us of CPU per event, at most"
            f" {cores * 1e6 / machine:,.0f} events/s on {cores} cores"
        )
    if "steal_pct_of_a_core" in extra:
        out.append(f"hypervisor steal {extra['steal_pct_of_a_core']:.0f}% of a core")
    return "CPU: " + "; ".join(out)


def details(f: Figure) -> list[str]:
    """The lines printed under a figure: its CPU per event and what the cores allow."""
    x = f.extra
    pg = x.get("postgres_cpu_us_per_event")
    pg_text = "n/a" if pg is None else f"{pg:.1f}"
    if "raw_cpu_us_per_event" in x:  # the single replay
        broker = x.get("broker_cpu_us_per_event")
        return [
            f"load average {x['load_avg_1m']:.1f}; CPU per event: replay process"
            f" {x['cpu_us_per_event']:.1f} us + PostgreSQL backend {pg_text} us + broker"
            f" {'n/a' if broker is None else f'{broker:.1f}'} us;"
            f" raw consume {x['raw_cpu_us_per_event']:.1f} us",
            cpu_bound(x),
        ]
    if "processes" in x:  # the group
        lines = [cpu_bound(x)] if "machine_cpu_us_per_event" in x else []
        return [*lines, f"ratio to one raw consumer: {x['ratio_to_one_raw_consumer']:.2f}"]
    if "cpu_us_per_event" in x:  # the floor
        return [f"CPU per event: process {x['cpu_us_per_event']:.1f} us + PostgreSQL {pg_text} us"]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.audit_projection")
    parser.add_argument("--plans", type=int, default=3000, help="plans of 6 events each")
    args = parser.parse_args()
    start_stack()
    for f in run(args.plans):
        print(f"{f.name}: {f.value:,.0f} {f.unit}")
        for line in details(f):
            print(line)
        print(
            f"{f.baseline_name}: {f.baseline:,.0f} {f.unit}"
            f" (ratio {f.ratio:.2f}; target {f.target or '-'})"
        )


if __name__ == "__main__":
    main()
