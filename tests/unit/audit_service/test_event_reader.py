"""The audit's event reader: the fast path reads exactly what the strict contract parser reads,
hands everything unusual to it, and refuses naming field and rule."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from contracts import examples, topics
from contracts.envelope import EventEnvelope, seal
from contracts.errors import ContractError
from contracts.plan_events import ContributionMadeV1
from contracts.registry import encode_event, seal_personal
from services.audit_service import reader
from services.audit_service.facts import FACT_EVENT_TYPES
from services.audit_service.reader import ProjectionError, read_event


@dataclass
class FakeRecord:
    value: bytes | None
    key: bytes | None
    topic: str = "t.events"
    partition: int = 3
    offset: int = 42
    timestamp: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def record_of(event: EventEnvelope[Any], value: bytes | None = None) -> FakeRecord:
    return FakeRecord(
        value if value is not None else encode_event(event), topics.record_key(event.stream_id)
    )


def all_examples() -> list[EventEnvelope[Any]]:
    return [*examples.plan_stream(), *examples.incident_stream()]


def sealed(event: EventEnvelope[Any]) -> EventEnvelope[Any]:
    """The event as plan_service now writes it: personal values as tokens, then hashed."""
    fields = event.model_dump()
    fields.pop("hash")
    fields["payload"] = seal_personal(event.payload, uuid.uuid4().hex, os.urandom(32))
    return seal(fields)


@pytest.mark.parametrize("event", all_examples(), ids=lambda e: e.event_type)
def test_the_fast_path_reads_every_example_event_as_the_strict_parser_does(
    event: EventEnvelope[Any],
) -> None:
    record = record_of(event)
    fast = reader._fast(record, event.stream_type)
    assert fast is not None, "an intact canonical event must not need the strict parser"
    assert fast == reader._strict(record, event.stream_type)
    assert fast.hash_ok
    assert bool(fast.facts) == (event.event_type in FACT_EVENT_TYPES)


@pytest.mark.parametrize("event", all_examples(), ids=lambda e: e.event_type)
def test_sealed_personal_values_are_never_needed(event: EventEnvelope[Any]) -> None:
    event = sealed(event)
    record = record_of(event)
    fast = reader._fast(record, event.stream_type)
    assert fast is not None
    assert fast == reader._strict(record, event.stream_type)


def test_an_older_schema_version_is_upcast_on_the_fast_path() -> None:
    v2 = next(e for e in all_examples() if e.event_type == "safety_plan.contribution_made")
    payload = v2.payload.model_dump(mode="json")
    old_payload = {k: v for k, v in payload.items() if k != "present"}
    old_payload["present_participant_ids"] = [p["participant_id"] for p in payload["present"]]
    fields = v2.model_dump()
    fields.pop("hash")
    old = seal(
        {**fields, "schema_version": 1, "payload": ContributionMadeV1.model_validate(old_payload)}
    )
    record = record_of(old)
    fast = reader._fast(record, old.stream_type)
    assert fast is not None
    assert fast.schema_version == 2
    assert fast == reader._strict(record, old.stream_type)


def test_bytes_that_are_not_canonical_are_read_strictly_with_the_same_result() -> None:
    event = examples.plan_stream()[1]
    pretty = json.dumps(json.loads(encode_event(event)), indent=2).encode()
    record = record_of(event, pretty)
    assert reader._fast(record, event.stream_type) is None
    before = reader.STRICT_READS._value.get()
    assert read_event(record, event.stream_type) == read_event(record_of(event), "safety_plan")
    assert reader.STRICT_READS._value.get() == before + 1


def test_a_tampered_event_is_judged_by_the_strict_parser_and_gives_no_facts() -> None:
    event = next(e for e in examples.plan_stream() if e.event_type.endswith("participant_joined"))
    changed = event.payload.model_copy(update={"information_sharing_consent": False})
    tampered = event.model_copy(update={"payload": changed})
    record = record_of(tampered)
    assert reader._fast(record, event.stream_type) is None
    read = read_event(record, event.stream_type)
    assert not read.hash_ok
    assert read.facts == []


@pytest.mark.parametrize(
    ("change", "where", "rule"),
    [
        (lambda d: d["payload"].update(role="wizard"), "payload.role", "unknown_code"),
        (lambda d: d["payload"].update(participant_id="nope"), "payload.participant_id", None),
        (lambda d: d.update(stream_version=0), "stream_version", "minimum"),
        (lambda d: d.update(occurred_at="2025-02-30T00:00:00.000000Z"), "occurred_at", None),
        (lambda d: d.pop("actor"), "actor", "required"),
    ],
)
def test_an_off_contract_value_the_audit_reads_is_refused_naming_field_and_rule(
    change: Any, where: str, rule: str | None
) -> None:
    event = next(e for e in examples.plan_stream() if e.event_type.endswith("participant_invited"))
    data = json.loads(encode_event(event))
    change(data)
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    with pytest.raises(ContractError) as refused:
        read_event(record_of(event, body), event.stream_type)
    assert refused.value.field == where
    if rule is not None:
        assert refused.value.rule == rule
    assert "wizard" not in str(refused.value)
    assert "nope" not in str(refused.value)


def test_an_event_on_the_wrong_topic_or_under_another_key_is_refused() -> None:
    event = examples.plan_stream()[0]
    with pytest.raises(ProjectionError) as wrong_topic:
        read_event(record_of(event), "use_of_force_incident")
    assert (wrong_topic.value.field, wrong_topic.value.rule) == (
        "stream_type",
        "topic_carries_stream_type",
    )
    other_key = FakeRecord(encode_event(event), topics.record_key(uuid.uuid4()))
    with pytest.raises(ProjectionError) as wrong_key:
        read_event(other_key, "safety_plan")
    assert (wrong_key.value.field, wrong_key.value.rule) == ("stream_id", "key_is_stream_id")


def test_a_body_that_is_not_json_is_refused_as_json_syntax() -> None:
    with pytest.raises(ContractError) as refused:
        read_event(FakeRecord(b'{"event_type": ', None), "safety_plan")
    assert refused.value.rule == "json_syntax"
