"""Test helper: put sealed events on their topics as the relay would (key, canonical bytes)."""

from __future__ import annotations

from typing import Any

from contracts import topics
from contracts.envelope import EventEnvelope
from contracts.registry import encode_event
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings


def produce_events(settings: CommonSettings, events: list[EventEnvelope[Any]]) -> int:
    """Send every event, wait for every acknowledgement; returns how many were sent."""
    producer = make_producer(settings)
    futures = [
        producer.send(
            topics.event_topic(e.stream_type, settings.topic_prefix),
            key=topics.record_key(e.stream_id),
            value=encode_event(e),
        )
        for e in events
    ]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()
    return len(events)
