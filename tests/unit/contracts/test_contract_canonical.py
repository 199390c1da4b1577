"""Canonical serialisation and hashing: same event -> same bytes -> same hash, on any machine."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from contracts.canonical import reference_canonical_bytes
from contracts.codes import PlanCloseReason
from contracts.envelope import (
    Actor,
    EventEnvelope,
    canonical_bytes,
    compute_hash,
    envelope_dict,
    seal,
    verify_hash,
)
from contracts.errors import ContractError
from contracts.plan_events import PlanClosedV1

# Computed once from the event below and frozen. If this test fails, the serialisation changed:
# every stored hash would break. Do not update these literals; fix the serialisation instead.
GOLDEN_BYTES = (
    b'{"actor":{"id":"staff-1","on_behalf_of":null,"role":"care_coordinator"},'
    b'"causation_id":null,"correlation_id":"00000000-0000-4000-8000-000000000002",'
    b'"event_id":"00000000-0000-4000-8000-000000000001","event_type":"safety_plan.plan_closed",'
    b'"occurred_at":"2025-01-02T02:04:05.000000Z",'
    b'"payload":{"detail":"Moved to \\"Zo\xc3\xab\'s\\" house\\nin Caf\xc3\xa9 Street",'
    b'"reason":"other"},'
    b'"previous_hash":"sha256:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f",'
    b'"recorded_at":"2025-01-02T02:04:06.000007Z","schema_version":1,'
    b'"stream_id":"00000000-0000-4000-8000-0000000000aa","stream_type":"safety_plan",'
    b'"stream_version":2,"submitting_system":"golden_test"}'
)
GOLDEN_HASH = "sha256:d3c96d3e7cda353d65ea828733469572ec853222fecca48723353630ae53a203"


def golden_event() -> EventEnvelope[PlanClosedV1]:
    return seal(
        {
            "event_id": UUID("00000000-0000-4000-8000-000000000001"),
            "event_type": "safety_plan.plan_closed",
            "schema_version": 1,
            "stream_type": "safety_plan",
            "stream_id": UUID("00000000-0000-4000-8000-0000000000AA"),
            "stream_version": 2,
            # +01:00 on purpose: the canonical form is UTC.
            "occurred_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1))),
            "recorded_at": datetime(2025, 1, 2, 2, 4, 6, 7, tzinfo=UTC),
            "actor": Actor(id="staff-1", role="care_coordinator"),
            "submitting_system": "golden_test",
            "correlation_id": UUID("00000000-0000-4000-8000-000000000002"),
            "causation_id": None,
            "previous_hash": "sha256:" + "0f" * 32,
            "payload": PlanClosedV1(
                reason=PlanCloseReason.OTHER, detail='Moved to "Zoë\'s" house\nin Café Street'
            ),
        }
    )


def test_canonical_bytes_of_the_golden_event_are_frozen() -> None:
    assert canonical_bytes(envelope_dict(golden_event(), with_hash=False)) == GOLDEN_BYTES


def test_hash_of_the_golden_event_is_sha256_of_the_frozen_bytes() -> None:
    assert "sha256:" + hashlib.sha256(GOLDEN_BYTES).hexdigest() == GOLDEN_HASH
    assert golden_event().hash == GOLDEN_HASH


def test_the_same_event_always_gives_the_same_bytes_and_hash() -> None:
    first, second = golden_event(), golden_event()
    assert envelope_dict(first) == envelope_dict(second)
    assert compute_hash(first) == compute_hash(second) == GOLDEN_HASH


def test_key_order_of_the_input_does_not_change_the_bytes() -> None:
    data = {"b": 1, "a": {"d": None, "c": [True, "x"]}}
    reordered = {"a": {"c": [True, "x"], "d": None}, "b": 1}
    assert (
        canonical_bytes(data)
        == canonical_bytes(reordered)
        == (b'{"a":{"c":[true,"x"],"d":null},"b":1}')
    )


def test_datetimes_and_uuids_have_one_written_form() -> None:
    at = datetime(2025, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    value = {"at": at, "id": UUID("ABCDEF00-0000-4000-8000-000000000000")}
    assert canonical_bytes(value) == (
        b'{"at":"2025-01-01T17:00:00.000000Z","id":"abcdef00-0000-4000-8000-000000000000"}'
    )


def test_floats_are_refused_by_the_canonical_form() -> None:
    with pytest.raises(ContractError) as caught:
        canonical_bytes({"duration": 1.5})
    assert (caught.value.field, caught.value.rule) == ("duration", "no_floats")


def test_naive_datetimes_are_refused_by_the_canonical_form() -> None:
    with pytest.raises(ContractError) as caught:
        canonical_bytes({"at": datetime(2025, 1, 1)})
    assert caught.value.rule == "timezone_required"


def test_integers_beyond_the_safe_range_are_refused() -> None:
    with pytest.raises(ContractError) as caught:
        canonical_bytes({"n": 2**53})
    assert caught.value.rule == "integer_range"


def test_a_sealed_event_verifies_and_a_changed_one_does_not() -> None:
    event = golden_event()
    assert verify_hash(event)
    changed = event.model_copy(update={"stream_version": 3})
    assert not verify_hash(changed)


def test_seal_refuses_a_caller_supplied_hash() -> None:
    fields = {**envelope_dict(golden_event()), "payload": golden_event().payload}
    with pytest.raises(ContractError) as caught:
        seal(fields)
    assert (caught.value.field, caught.value.rule) == ("hash", "sealed_by_seal")


def test_the_fast_writer_gives_the_reference_bytes_for_every_code_point_and_key_order() -> None:
    for start in range(0, 0x110000, 0x1000):
        text = "".join(chr(cp) for cp in range(start, start + 0x1000) if not 0xD800 <= cp <= 0xDFFF)
        value = {"z": [text, 2**53 - 1, None, True], "a": {"é": text, "E": -(2**53 - 1)}}
        assert canonical_bytes(value) == reference_canonical_bytes(value)


def test_text_the_fast_writer_refuses_is_decided_by_the_reference() -> None:
    with pytest.raises(ContractError) as caught:
        canonical_bytes({"text": "a\ud800b"})
    assert caught.value.rule == "utf8"
    deep: dict[str, object] = {}
    node = deep
    for _ in range(300):  # deeper than orjson's limit
        node["n"] = node = {}
    assert canonical_bytes(deep) == reference_canonical_bytes(deep)
