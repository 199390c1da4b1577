"""Kafka producers configured the way the architecture requires, and dead-letter headers.

Producers are idempotent with ``acks=all`` and compressed (kafka-python 3.0 with crc32c); a
sender that must not lose a message waits for every future before it records progress.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer

from services.common.settings import CommonSettings


def make_producer(settings: CommonSettings, **overrides: Any) -> KafkaProducer:
    """An idempotent, acks=all, batching producer."""
    compression = None if settings.kafka_compression == "none" else settings.kafka_compression
    options: dict[str, Any] = {
        **settings.kafka_config(),
        "acks": "all",
        "enable_idempotence": True,
        "compression_type": compression,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 2 * 1024 * 1024,
        "request_timeout_ms": 30000,
        "max_block_ms": 30000,
    }
    options.update(overrides)
    return KafkaProducer(**options)


def dlq_headers(
    record: Any, reason: str, field: str, rule: str, consumer: str
) -> list[tuple[str, bytes]]:
    """Headers that say where a dead-lettered message came from and why it was refused.

    The reason names the field and the rule only: never the value, which may be personal data.
    """
    from contracts import topics

    headers = topics.dlq_headers(
        reason, field, rule, str(record.topic), int(record.partition), int(record.offset)
    )
    return [*headers, ("dlq-consumer", consumer.encode())]
