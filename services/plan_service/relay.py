"""The relay: tails the event store's notification log and publishes each event to Kafka.

Each stored event's state is already the sealed contract envelope, so the relay publishes it as
canonical JSON to the plan or use-of-force events topic, keyed by stream id, with headers (event
type, schema version, store position). It records its position (a row in `relay_position`) only
after Kafka acknowledged every message of the page, so a crash re-sends at most two pages (one
is read and sent while the previous one is acknowledged): at-least-once. Those duplicates are
harmless downstream because every projection keys its rows by (stream id, stream version) or
event id and skips what it already has. Run exactly one relay per
event store (positions must advance in commit order; default locking mode guarantees that order).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import orjson
from eventsourcing.persistence import Notification, StoredEvent
from kafka import KafkaProducer
from prometheus_client import Counter, Gauge
from psycopg_pool import ConnectionPool

from contracts import topics
from contracts.canonical import canonical_bytes_of_json, is_sealed_canonical
from services.common.db import apply_schema
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.plan_service.store import PlanStore

log = logging.getLogger(__name__)

DDL = [
    """
    CREATE TABLE IF NOT EXISTS relay_position (
        relay      text PRIMARY KEY,
        position   bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """
]
RELAYED = Counter("relay_events_total", "Events published to Kafka by the relay")
POSITION = Gauge("relay_position", "Last notification id acknowledged by Kafka")


class Relay:
    def __init__(
        self,
        settings: CommonSettings,
        store: PlanStore,
        pool: ConnectionPool,
        *,
        page_size: int = 2000,
        producer: KafkaProducer | None = None,
        name: str = "plan_service-relay",
    ) -> None:
        self.settings = settings
        self.store = store
        self.pool = pool
        self.page_size = page_size
        self.name = name
        self._producer = producer
        self._sent_upto: int | None = None  # the last notification id sent (maybe not acked)
        self._in_flight: tuple[list[Any], int] | None = None  # a sent page's futures, last id
        with pool.connection() as conn:
            apply_schema(conn, "relay_position", DDL)

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = make_producer(self.settings, linger_ms=2)
        return self._producer

    def position(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT position FROM relay_position WHERE relay = %s", (self.name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def relay_once(self) -> int:
        """Send the next page after what was sent, then record the previous page's position
        once Kafka acknowledged every message of it; returns how many events were sent or
        acknowledged (0: nothing to do).

        Two pages overlap: Kafka acknowledges one while the next is read and queued, so reading
        PostgreSQL and waiting for acks no longer add up. After any failure the relay starts
        again from the recorded position (at-least-once, as before).
        """
        start = self._sent_upto if self._sent_upto is not None else self.position()
        notes = self.store.recorder.select_notifications(
            start=start, limit=self.page_size, inclusive_of_start=False
        )
        try:
            futures = [self._send(note) for note in notes]
            settled = self._settle()
        except Exception:
            self._sent_upto, self._in_flight = None, None
            raise
        if notes:
            self._in_flight = (futures, notes[-1].id)
            self._sent_upto = notes[-1].id
        return len(notes) + settled

    def _send(self, note: Notification) -> Any:
        envelope, value = self.published(note)
        return self.producer.send(
            topics.event_topic(envelope["stream_type"], self.settings.topic_prefix),
            key=topics.record_key(envelope["stream_id"]),
            value=value,
            headers=topics.event_headers(
                envelope["event_type"],
                envelope["schema_version"],
                note.id,
                envelope["event_id"],
                envelope["correlation_id"],
            ),
        )

    def _settle(self) -> int:
        """Wait for the page in flight to be acknowledged, then record its position."""
        if self._in_flight is None:
            return 0
        futures, last = self._in_flight
        for future in futures:
            future.get(timeout=30)  # raises: the position is not advanced, the page is re-sent
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO relay_position (relay, position) VALUES (%s, %s) "
                "ON CONFLICT (relay) DO UPDATE "
                "SET position = excluded.position, updated_at = now()",
                (self.name, last),
            )
        self._in_flight = None
        RELAYED.inc(len(futures))
        POSITION.set(last)
        return len(futures)

    def published(self, note: StoredEvent) -> tuple[dict[str, Any], bytes]:
        """A stored event's envelope and the canonical bytes to publish. Fast path: the stored
        state is plain JSON (no cipher, no compressor), so the envelope is read and serialised
        by orjson and proven canonical by its own hash; anything else takes the library's
        mapper and the reference serialiser."""
        mapper = self.store.mapper
        if mapper.cipher is None and mapper.compressor is None:
            envelope = orjson.loads(note.state)["envelope"]
            value = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
            if is_sealed_canonical(value, envelope["hash"]):
                return envelope, value
        event: Any = mapper.to_domain_event(note)
        return event.envelope, canonical_bytes_of_json(event.envelope)

    def run(self, stop: threading.Event, idle_s: float = 0.05) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                if self.relay_once() == 0:
                    stop.wait(idle_s)
                backoff = 0.5
            except Exception as exc:  # broker or database down: keep the position, retry
                log.warning("relay: %s; retrying in %.1fs", type(exc).__name__, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
        if self._producer is not None:
            self._producer.close(timeout=10)

    def lag(self) -> int:
        return int(self.store.recorder.max_notification_id() or 0) - self.position()


def wait_caught_up(relay: Relay, timeout_s: float = 30.0) -> None:
    """Publish until nothing is left (tests, demo)."""
    deadline = time.monotonic() + timeout_s
    while relay.relay_once() or relay.lag() > 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the relay did not catch up")
