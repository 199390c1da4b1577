"""Kafka topics, record keys, header names, partition counts and retention, as data.

Producers, consumers, the deploy scripts and the AsyncAPI document all read these values, so a
topic is renamed or re-partitioned in one place. A prefix (e.g. a per-test namespace) may be put in
front of every topic name; nothing else about a topic changes with the prefix.

This module must never connect to Kafka or read the environment; callers pass the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

SUBMISSIONS = "safetyplan.submissions"
SUBMISSIONS_DLQ = "safetyplan.submissions.dlq"
PLAN_EVENTS = "safetyplan.events"
USE_OF_FORCE_EVENTS = "useofforce.events"
ERASURES = "safetyplan.erasures"
EVENTS_DLQ = "safetyplan.events.dlq"

KEEP_FOREVER = "-1"
"""retention.ms for event topics: projections rebuild from offset 0, so nothing may expire."""

CONTENT_TYPE_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: its base name, what its key is, how many partitions, and its configuration."""

    name: str
    key: str
    carries: Literal[
        "commands", "events", "rejected_commands", "erasure_notices", "rejected_events"
    ]
    partitions: int
    config: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""

    def topic(self, prefix: str = "") -> str:
        """The full topic name with an optional prefix (e.g. `test123.` + name)."""
        return f"{prefix}{self.name}"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        name=SUBMISSIONS,
        key="stream id (plan id, or incident id for use-of-force commands), UUID text",
        carries="commands",
        partitions=6,
        # Commands become events (kept forever) or DLQ records; a week covers any outage.
        config=MappingProxyType({"retention.ms": str(7 * 24 * 3600 * 1000)}),
        description="Commands from clinical apps; plan_service validates and handles them.",
    ),
    TopicSpec(
        name=SUBMISSIONS_DLQ,
        key="the rejected command's key, unchanged",
        carries="rejected_commands",
        partitions=1,
        # Rejected commands hold personal data in clear; keep them only long enough to act on.
        config=MappingProxyType({"retention.ms": str(30 * 24 * 3600 * 1000)}),
        description="Rejected submissions, value unchanged, with dlq-* headers saying why.",
    ),
    TopicSpec(
        name=PLAN_EVENTS,
        key="plan id (EventEnvelope.stream_id), UUID text",
        carries="events",
        partitions=6,
        config=MappingProxyType({"retention.ms": KEEP_FOREVER, "cleanup.policy": "delete"}),
        description="Every safety-plan event, in stream order per key.",
    ),
    TopicSpec(
        name=USE_OF_FORCE_EVENTS,
        key="incident id (EventEnvelope.stream_id), UUID text",
        carries="events",
        partitions=6,
        config=MappingProxyType({"retention.ms": KEEP_FOREVER, "cleanup.policy": "delete"}),
        description="Every use-of-force event, in stream order per key.",
    ),
    TopicSpec(
        name=ERASURES,
        key="person id (the provider's pseudonymous id), UTF-8 text",
        carries="erasure_notices",
        partitions=1,
        # Compacted: a projection rebuilt from offset 0 still learns of every erasure.
        config=MappingProxyType({"retention.ms": KEEP_FOREVER, "cleanup.policy": "compact"}),
        description="A patient's data key was destroyed: drop what was derived from it.",
    ),
    TopicSpec(
        name=EVENTS_DLQ,
        key="the refused event record's key, unchanged",
        carries="rejected_events",
        partitions=1,
        # A refused record may not be a sealed contract event (personal values in clear): keep
        # it only long enough to act on, like rejected submissions.
        config=MappingProxyType({"retention.ms": str(30 * 24 * 3600 * 1000)}),
        description="Event records a projection refused (plan read model, audit, reporting),"
        " value unchanged, with dlq-* headers saying why.",
    ),
)

TOPIC_BY_NAME = MappingProxyType({spec.name: spec for spec in TOPICS})

EVENT_TOPIC_FOR_STREAM = MappingProxyType(
    {"safety_plan": PLAN_EVENTS, "use_of_force_incident": USE_OF_FORCE_EVENTS}
)
"""Which event topic carries which stream type."""


def topic(name: str, prefix: str = "") -> str:
    """Full name of a known topic with an optional prefix; unknown names are a programming error."""
    return TOPIC_BY_NAME[name].topic(prefix)


def event_topic(stream_type: str, prefix: str = "") -> str:
    """The event topic for a stream type (`safety_plan` or `use_of_force_incident`)."""
    return topic(EVENT_TOPIC_FOR_STREAM[stream_type], prefix)


def record_key(stream_id: object) -> bytes:
    """Kafka key bytes for a stream id: the lower-case hyphenated UUID text, UTF-8."""
    return str(stream_id).lower().encode("utf-8")


# --- headers (values are UTF-8 bytes on the wire) -------------------------------------------

HEADER_EVENT_TYPE = "event-type"
HEADER_COMMAND_TYPE = "command-type"
HEADER_SCHEMA_VERSION = "schema-version"
HEADER_STORE_POSITION = "store-position"
"""The event store's notification id of the event: lets consumers detect gaps and duplicates."""
HEADER_CONTENT_TYPE = "content-type"
HEADER_EVENT_ID = "event-id"
HEADER_CORRELATION_ID = "correlation-id"

EVENT_HEADERS = (
    HEADER_EVENT_TYPE,
    HEADER_SCHEMA_VERSION,
    HEADER_STORE_POSITION,
    HEADER_CONTENT_TYPE,
    HEADER_EVENT_ID,
    HEADER_CORRELATION_ID,
)
COMMAND_HEADERS = (HEADER_COMMAND_TYPE, HEADER_SCHEMA_VERSION, HEADER_CONTENT_TYPE)

HEADER_DLQ_REASON = "dlq-reason"
"""The ContractError / domain error text: field and rule, never the input value."""
HEADER_DLQ_FIELD = "dlq-field"
HEADER_DLQ_RULE = "dlq-rule"
HEADER_ORIGINAL_TOPIC = "original-topic"
HEADER_ORIGINAL_PARTITION = "original-partition"
HEADER_ORIGINAL_OFFSET = "original-offset"

DLQ_HEADERS = (
    HEADER_DLQ_REASON,
    HEADER_DLQ_FIELD,
    HEADER_DLQ_RULE,
    HEADER_ORIGINAL_TOPIC,
    HEADER_ORIGINAL_PARTITION,
    HEADER_ORIGINAL_OFFSET,
)


def event_headers(
    event_type: str,
    schema_version: int,
    store_position: int,
    event_id: object,
    correlation_id: object,
) -> list[tuple[str, bytes]]:
    """Headers for an event record, in the order the relay sends them."""
    return [
        (HEADER_EVENT_TYPE, event_type.encode()),
        (HEADER_SCHEMA_VERSION, str(schema_version).encode()),
        (HEADER_STORE_POSITION, str(store_position).encode()),
        (HEADER_CONTENT_TYPE, CONTENT_TYPE_JSON.encode()),
        (HEADER_EVENT_ID, str(event_id).encode()),
        (HEADER_CORRELATION_ID, str(correlation_id).encode()),
    ]


def dlq_headers(
    reason: str, field_path: str, rule: str, original_topic: str, partition: int, offset: int
) -> list[tuple[str, bytes]]:
    """Headers for a rejected submission. `reason` must be a ContractError-style text."""
    return [
        (HEADER_DLQ_REASON, reason.encode()),
        (HEADER_DLQ_FIELD, field_path.encode()),
        (HEADER_DLQ_RULE, rule.encode()),
        (HEADER_ORIGINAL_TOPIC, original_topic.encode()),
        (HEADER_ORIGINAL_PARTITION, str(partition).encode()),
        (HEADER_ORIGINAL_OFFSET, str(offset).encode()),
    ]
