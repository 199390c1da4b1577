"""The Kafka consumer loop with offsets stored in PostgreSQL, for exactly-once projection effects.

Each poll batch is applied in ONE PostgreSQL transaction together with the next offset of every
partition it touched (table ``consumer_offsets``). Kafka's own committed offsets are only a hint
for lag monitoring. On (re)assignment the consumer seeks to the stored offsets, so a crash at any
point gives neither loss nor double counting. The stored-offset row is locked (``FOR UPDATE``) and
records below it are skipped, so two instances that briefly own the same partition during a
rebalance still apply each record once.

A message the projection cannot apply (bad contract, unknown code, a bug triggered by one input)
is isolated by replaying the batch one record at a time under savepoints and sent to the
dead-letter topic with the reason and the original bytes; the consumer moves on. It never logs
message contents or exception messages, which can carry personal data: only classes, fields and
rules.

A projection with a ``read`` step (pure work per record: decoding, checks) is run overlapped:
``run`` reads batch N+1 on the polling thread while a ``BatchWriter`` thread applies batch N in
PostgreSQL, still one transaction per batch, in poll order (``batch_writer.py``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, TypeVar

import psycopg
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from prometheus_client import Counter, Histogram
from psycopg_pool import ConnectionPool

from contracts import topics
from services.common.batch_writer import BatchWriter
from services.common.db import apply_schema, open_pool
from services.common.gc_tuning import tune_for_streaming
from services.common.kafka_client import dlq_headers, make_producer
from services.common.settings import CommonSettings

log = logging.getLogger(__name__)

OFFSETS_DDL = [
    """
    CREATE TABLE IF NOT EXISTS consumer_offsets (
        consumer    text   NOT NULL,
        topic       text   NOT NULL,
        partition   int    NOT NULL,
        next_offset bigint NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (consumer, topic, partition)
    )
    """
]

LOCK_OFFSETS = [
    # a partition seen for the first time gets its row; rows are locked in one order everywhere
    "INSERT INTO consumer_offsets (consumer, topic, partition, next_offset)"
    " SELECT %s, k.t, k.p, 0 FROM unnest(%s::text[], %s::int[]) AS k(t, p)"
    " ORDER BY k.t, k.p ON CONFLICT DO NOTHING",
    "SELECT topic, partition, next_offset FROM consumer_offsets"
    " WHERE consumer = %s AND (topic, partition) IN"
    " (SELECT * FROM unnest(%s::text[], %s::int[])) ORDER BY topic, partition FOR UPDATE",
]
STORE_OFFSETS = (
    "UPDATE consumer_offsets o SET next_offset = k.n, updated_at = now()"
    " FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS k(t, p, n)"
    " WHERE o.consumer = %s AND o.topic = k.t AND o.partition = k.p"
)

RECORDS = Counter(
    "consumer_records_total", "Records handled by a projection consumer", ["consumer", "outcome"]
)
ASSIGNMENTS = Counter(
    "consumer_assignments_total",
    "Partition assignments a projection consumer received: one per rebalance of its group",
    ["consumer"],
)
BATCH_SECONDS = Histogram(
    "consumer_batch_seconds", "Time to apply one poll batch in one transaction", ["consumer"]
)


class Record(Protocol):
    """The parts of kafka-python's ConsumerRecord a projection may use."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class ReadRecord(NamedTuple):
    """A polled record with what the projection's ``read`` made of it (in ``read``)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    read: Any


Batch = dict[TopicPartition, list[Any]]


class Projection(Protocol):
    """What a service implements to be fed by a TransactionalConsumer."""

    name: str
    """Stable name: the consumer group id and the key of its stored offsets."""

    def topics(self) -> Sequence[str]: ...

    def schema(self) -> Sequence[str]:
        """Idempotent DDL for the projection's own tables."""
        ...

    def apply(self, cur: psycopg.Cursor[Any], record: Record) -> None:
        """Apply one record inside the batch transaction. Raise to reject the record.

        A projection may also define ``on_rejected(cur, record, rejection)``: it runs in the same
        transaction after the record's savepoint was rolled back (e.g. to record the outcome);
        and ``apply_batch(cur, records)``: then the whole poll batch (in partition order) is
        applied in one call, so the projection can read and write its rows once per batch
        instead of once per record. A failing batch is retried one record at a time, each
        through ``apply_batch([record])``. ``apply_batch`` may also return the records it
        refuses as (record, exception) pairs instead of raising: they are dead-lettered and
        passed to ``on_rejected`` as a raising record would be, and the batch is not replayed.

        A projection may also define ``read(record)``: work on one record that needs no
        database and no state (decoding, checks). The consumer then calls it for every record
        on the polling thread, ahead of the database, and hands ``apply_batch`` ``ReadRecord``s
        whose ``read`` holds the result. ``read`` should return, not raise, for a bad record;
        a record whose ``read`` raised anyway is handed over as polled.
        """
        ...


@dataclass(frozen=True)
class Rejection:
    """Why a record went to the dead-letter topic: safe to log, never holds personal data."""

    reason: str
    field: str
    rule: str

    @classmethod
    def of(cls, exc: BaseException) -> Rejection:
        field = str(getattr(exc, "field", "") or "")
        rule = str(getattr(exc, "rule", "") or "")
        if field or rule:
            return cls(f"{type(exc).__name__}: {field} violates {rule}", field, rule)
        return cls(f"{type(exc).__name__} while applying the record", "", "")


def apply_projection_schema(conn: psycopg.Connection[Any], name: str, ddl: Sequence[str]) -> None:
    """The offsets table and a projection's tables (``apply_schema``: under its advisory lock,
    so consumers and API processes starting together apply it once), as the consumer's setup
    and a service's start-up both need them."""
    apply_schema(conn, "consumer_offsets", OFFSETS_DDL)
    apply_schema(conn, f"projection:{name}", ddl)


class _Rebalance(ConsumerRebalanceListener):
    """Runs on kafka-python's IO thread: records what to seek, does no blocking IO."""

    def __init__(self, owner: TransactionalConsumer) -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        with self.owner._lock:
            self.owner._needs_seek.difference_update(revoked)

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        with self.owner._lock:
            self.owner._needs_seek.update(assigned)
            self.owner.assignments += 1
        ASSIGNMENTS.labels(self.owner.projection.name).inc()


class TransactionalConsumer:
    """Feeds one Projection from Kafka with exactly-once effects in PostgreSQL."""

    def __init__(
        self,
        settings: CommonSettings,
        projection: Projection,
        pool: ConnectionPool,
        *,
        dlq_topic: str | None = None,
        max_poll_records: int = 2000,
        producer: KafkaProducer | None = None,
        on_batch: Callable[[int], None] | None = None,
        transient: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.settings = settings
        self.projection = projection
        self.pool = pool
        self.dlq_topic = dlq_topic
        self.max_poll_records = max_poll_records
        self._producer = producer
        self._on_batch = on_batch
        self.transient: tuple[type[BaseException], ...] = (psycopg.OperationalError, *transient)
        self._lock = threading.Lock()
        self._needs_seek: set[TopicPartition] = set()
        self._stop = threading.Event()
        self._consumer: KafkaConsumer | None = None
        self.applied = 0
        self.dead_lettered = 0
        self.assignments = 0
        """Rebalances of its group this instance took part in (each stops every member)."""

    # --- lifecycle ---------------------------------------------------------------------------
    def setup(self) -> None:
        with self.pool.connection() as conn:
            apply_projection_schema(conn, self.projection.name, self.projection.schema())
        consumer = KafkaConsumer(
            **self.settings.kafka_config(),
            group_id=f"{self.settings.topic_prefix}{self.projection.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self.max_poll_records,
            fetch_max_bytes=32 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            session_timeout_ms=15000,
            heartbeat_interval_ms=3000,
            max_poll_interval_ms=300000,
        )
        consumer.subscribe(list(self.projection.topics()), listener=_Rebalance(self))
        # Fresh metadata after subscribing, before joining: the group's leader records the
        # subscribed topics' partitions it assigned from, and kafka-python fills that record
        # only from a metadata update that comes after the subscription. Without one the
        # leader assigns against an empty record, sees it change a moment later and rejoins:
        # a second rebalance that stops every member until its next heartbeat (measured: a
        # two-replica replay of 72,000 events took 5.7-6.8 s instead of 3.4 s).
        known = consumer.topics()
        for topic in self.projection.topics():
            if topic not in known or not consumer.partitions_for_topic(topic):
                log.warning(
                    "consumer %s: topic %s has no partitions yet", self.projection.name, topic
                )
        self._consumer = consumer

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close(autocommit=False)
            self._consumer = None
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None
        close_projection = getattr(self.projection, "close", None)
        if callable(close_projection):  # resources a projection holds (e.g. a key vault pool)
            close_projection()

    def run(self) -> None:
        """Poll and apply until stop() is called; transient database errors are retried.

        With a projection that has a ``read`` step, batches are applied on a ``BatchWriter``
        thread while this thread polls and reads the next one."""
        if self._consumer is None:
            self.setup()
        writer: BatchWriter[Batch] | None = None
        if getattr(self.projection, "read", None) is not None:
            writer = BatchWriter(self._apply, self.projection.name)
        backoff = 0.5
        try:
            while not self._stop.is_set():
                try:
                    if writer is None:
                        self.poll_once()
                    else:
                        self._poll_ahead(writer)
                        if self._stop.is_set():
                            writer.wait_idle()  # what was polled is applied before stopping
                    backoff = 0.5
                except self.transient as exc:
                    log.warning(
                        "consumer %s: database unavailable (%s); retrying in %.1fs",
                        self.projection.name,
                        type(exc).__name__,
                        backoff,
                    )
                    if writer is not None:
                        self._settle(writer)
                    self._reseek_all()
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            if writer is not None:
                writer.close()
        self.close()

    def run_until(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set (a worker process's SIGTERM handler sets it)."""

        def stop_when_asked() -> None:
            stop.wait()
            self.stop()

        threading.Thread(target=stop_when_asked, daemon=True).start()
        self.run()

    # --- one iteration -----------------------------------------------------------------------
    def poll_once(self, timeout_ms: int = 500) -> int:
        """Poll once and apply what came back; returns the number of records applied."""
        batch = self._poll(timeout_ms)
        if not batch:
            return 0
        applied = self._apply(self._read(batch))
        self._commit_hint(batch)
        return applied

    def _poll_ahead(self, writer: BatchWriter[Batch], timeout_ms: int = 500) -> None:
        """Poll and read one batch and hand it to the writer, which may still be applying the
        previous one. Before a seek, everything in flight is committed first."""
        writer.raise_failure()
        for done in writer.completed():
            self._commit_hint(done)
        batch = self._poll(timeout_ms, before_seek=writer.wait_idle)
        if batch:
            writer.submit(self._read(batch))

    def _settle(self, writer: BatchWriter[Batch]) -> None:
        """Wait until nothing is in flight; a second failure meanwhile is dropped, as the
        partitions are seeked to the stored offsets next anyway."""
        with contextlib.suppress(*self.transient):
            writer.wait_idle()

    def _poll(self, timeout_ms: int, before_seek: Callable[[], None] | None = None) -> Batch:
        consumer = self._require_consumer()
        batch: Batch = consumer.poll(timeout_ms=timeout_ms, max_records=self.max_poll_records)
        with self._lock:
            pending, self._needs_seek = set(self._needs_seek), set()
        if pending:
            if before_seek is not None:
                try:
                    before_seek()
                except BaseException:
                    with self._lock:  # seek on the next poll, once the failure is handled
                        self._needs_seek.update(pending)
                    raise
            self._seek_to_stored(pending)
            batch = {tp: recs for tp, recs in batch.items() if tp not in pending}
        return {tp: recs for tp, recs in batch.items() if recs}

    def _read(self, batch: Batch) -> Batch:
        """Each record with the projection's ``read`` of it, when the projection has one."""
        read = getattr(self.projection, "read", None)
        if read is None:
            return batch
        out: Batch = {}
        for tp, records in batch.items():
            wrapped: list[Any] = []
            for r in records:
                try:
                    result = read(r)
                except Exception as exc:  # applied (and refused) inside the transaction instead
                    log.info(
                        "consumer %s: read of %s:%d@%d failed with %s",
                        self.projection.name,
                        r.topic,
                        r.partition,
                        r.offset,
                        type(exc).__name__,
                    )
                    wrapped.append(r)
                    continue
                wrapped.append(  # without ReadRecord's Python-level __new__: one per record
                    tuple.__new__(
                        ReadRecord,
                        (
                            r.topic,
                            r.partition,
                            r.offset,
                            r.timestamp,
                            r.key,
                            r.value,
                            r.headers,
                            result,
                        ),
                    )
                )
            out[tp] = wrapped
        return out

    def _apply(self, batch: Batch) -> int:
        """Apply one batch in one transaction; one bad record: replay it record by record."""
        started = time.perf_counter()
        try:
            applied = self._apply_batch(batch, isolate=False)
        except self.transient:
            raise
        except Exception as exc:
            log.info(
                "consumer %s: batch failed with %s; isolating the record",
                self.projection.name,
                type(exc).__name__,
            )
            applied = self._apply_batch(batch, isolate=True)
        BATCH_SECONDS.labels(self.projection.name).observe(time.perf_counter() - started)
        if self._on_batch is not None:
            self._on_batch(applied)
        return applied

    def _lock_offsets(self, cur: psycopg.Cursor[Any], tps: list[TopicPartition]) -> dict[Any, int]:
        """The stored next offset of each partition, its row locked until the commit."""
        name = self.projection.name
        topics_, partitions = [tp.topic for tp in tps], [tp.partition for tp in tps]
        with cur.connection.pipeline():
            cur.execute(LOCK_OFFSETS[0], (name, topics_, partitions))
            cur.execute(LOCK_OFFSETS[1], (name, topics_, partitions))
        return {(str(t), int(p)): int(o) for t, p, o in cur.fetchall()}

    def _apply_batch(self, batch: Batch, *, isolate: bool) -> int:
        applied = 0
        dead: list[tuple[Any, Rejection]] = []
        name = self.projection.name
        apply_batch = getattr(self.projection, "apply_batch", None)
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            tps = sorted(batch, key=lambda tp: (tp.topic, tp.partition))
            stored = self._lock_offsets(cur, tps)
            fresh_by_tp: dict[TopicPartition, list[Any]] = {}
            for tp in tps:
                start = stored.get((tp.topic, tp.partition), 0)
                fresh = [r for r in batch[tp] if r.offset >= start]
                if fresh:
                    fresh_by_tp[tp] = fresh
            records = [r for fresh in fresh_by_tp.values() for r in fresh]
            refused: list[tuple[Any, BaseException]] = []  # returned by apply_batch
            if not isolate:
                if apply_batch is not None:
                    refused += apply_batch(cur, records) or ()
                else:
                    for record in records:
                        self.projection.apply(cur, record)
                applied = len(records)
            for record in records if isolate else ():
                try:
                    with conn.transaction():
                        if apply_batch is not None:
                            refused += apply_batch(cur, [record]) or ()
                        else:
                            self.projection.apply(cur, record)
                    applied += 1
                except self.transient:
                    raise
                except Exception as exc:
                    why = Rejection.of(exc)
                    dead.append((record, why))
                    on_rejected = getattr(self.projection, "on_rejected", None)
                    if on_rejected is not None:
                        on_rejected(cur, record, why)
            applied -= len(refused)
            for record, error in refused:  # refused without failing the batch: no replay
                why = Rejection.of(error)
                dead.append((record, why))
                on_rejected = getattr(self.projection, "on_rejected", None)
                if on_rejected is not None:
                    on_rejected(cur, record, why)
            if fresh_by_tp:
                moved = list(fresh_by_tp.items())
                cur.execute(
                    STORE_OFFSETS,
                    (
                        [tp.topic for tp, _ in moved],
                        [tp.partition for tp, _ in moved],
                        [fresh[-1].offset + 1 for _, fresh in moved],
                        name,
                    ),
                )
            if dead:
                self._dead_letter(dead)  # acknowledged before the offsets commit: nothing lost
        self.applied += applied
        self.dead_lettered += len(dead)
        RECORDS.labels(name, "applied").inc(applied)
        if dead:
            RECORDS.labels(name, "dead_lettered").inc(len(dead))
        return applied

    def _dead_letter(self, dead: list[tuple[Any, Rejection]]) -> None:
        for record, why in dead:
            log.warning(
                "consumer %s: %s:%d@%d to the dead-letter topic: %s",
                self.projection.name,
                record.topic,
                record.partition,
                record.offset,
                why.reason,
            )
        if self.dlq_topic is None:
            return
        producer = self._dlq_producer()
        futures = [
            producer.send(
                self.dlq_topic,
                key=record.key,
                value=record.value,
                headers=dlq_headers(record, why.reason, why.field, why.rule, self.projection.name),
            )
            for record, why in dead
        ]
        producer.flush()
        for future in futures:
            future.get(timeout=30)

    # --- offsets -----------------------------------------------------------------------------
    def _seek_to_stored(self, partitions: set[TopicPartition]) -> None:
        consumer = self._require_consumer()
        stored = self.stored_offsets()
        assigned = consumer.assignment()
        for tp in partitions:
            if tp not in assigned:
                continue
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)

    def _reseek_all(self) -> None:
        if self._consumer is not None:
            with self._lock:
                self._needs_seek.update(self._consumer.assignment())

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT topic, partition, next_offset FROM consumer_offsets WHERE consumer = %s",
                (self.projection.name,),
            ).fetchall()
        return {(str(t), int(p)): int(o) for t, p, o in rows}

    def _commit_hint(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Tell Kafka how far we are, for lag dashboards; PostgreSQL stays the truth."""
        from kafka.structs import OffsetAndMetadata

        offsets = {tp: OffsetAndMetadata(recs[-1].offset + 1, "", -1) for tp, recs in batch.items()}
        try:
            self._require_consumer().commit_async(offsets)
        except Exception as exc:  # a hint only; the next batch tries again
            log.debug("consumer %s: offset hint not committed (%s)", self.projection.name, exc)

    def lag(self) -> int:
        """Records on the assigned partitions not yet applied (0 when caught up)."""
        consumer = self._require_consumer()
        assigned = list(consumer.assignment())
        if not assigned:
            return -1
        ends = consumer.end_offsets(assigned)
        stored = self.stored_offsets()
        return sum(max(0, ends[tp] - stored.get((tp.topic, tp.partition), 0)) for tp in assigned)

    def assigned(self) -> frozenset[TopicPartition]:
        """The partitions this instance owns now (empty before it joined its group)."""
        if self._consumer is None:
            return frozenset()
        return frozenset(self._consumer.assignment())

    def _require_consumer(self) -> KafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("call setup() first")
        return self._consumer

    def _dlq_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = make_producer(self.settings)
        return self._producer


def run_in_thread(consumer: TransactionalConsumer, name: str | None = None) -> threading.Thread:
    """Start ``consumer.run`` in a daemon thread (tests, and services that embed a worker)."""
    thread = threading.Thread(
        target=consumer.run, name=name or consumer.projection.name, daemon=True
    )
    thread.start()
    return thread


S = TypeVar("S", bound=CommonSettings)


def projection_consumer(
    settings: CommonSettings, projection: Projection, pool: ConnectionPool, **options: Any
) -> TransactionalConsumer:
    """A consumer for a service's event projection, with that service's batch size when it has
    one (`consumer_max_poll_records` on its settings class). Records it refuses go to the events
    dead-letter topic, so a refusal is never only a log line."""
    options.setdefault("max_poll_records", getattr(settings, "consumer_max_poll_records", 2000))
    options.setdefault("dlq_topic", topics.topic(topics.EVENTS_DLQ, settings.topic_prefix))
    return TransactionalConsumer(settings, projection, pool, **options)


def run_projection(
    settings: S,
    make_projection: Callable[[S], Projection],
    stop: threading.Event,
) -> None:
    """The whole life of a projection worker process: pool, consumer, run until stopped."""
    pool = open_pool(settings)
    try:
        consumer = projection_consumer(settings, make_projection(settings), pool)
        tune_for_streaming()  # this process does nothing else from here on
        consumer.run_until(stop)
    finally:
        pool.close()
