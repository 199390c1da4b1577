"""The Kafka topics the platform needs, with partition counts and retention, for creating them.

Names, keys and headers are part of the public contract (``contracts.topics``); this module only
adds what an operator needs to create them. Event topics keep messages for ever because every
projection rebuilds by replaying from offset 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(replication_factor: int = 1) -> list[TopicSpec]:
    """Every topic, from the contract's names and partition counts."""
    from contracts import topics as t

    return [
        TopicSpec(spec.name, spec.partitions, replication_factor, dict(spec.config))
        for spec in t.TOPICS
    ]
