"""The hash chain: event N's previous_hash is event N-1's hash, and breaks are found."""

from __future__ import annotations

from itertools import pairwise
from typing import Any
from uuid import uuid4

import pytest

from contracts.canonical import is_sealed_canonical
from contracts.envelope import EventEnvelope, seal, verify_chain
from contracts.errors import ContractError
from contracts.examples import incident_stream, plan_stream
from contracts.registry import encode_event, parse_event


def test_example_streams_form_intact_hash_chains() -> None:
    verify_chain(plan_stream())
    verify_chain(incident_stream())


def test_each_event_names_the_previous_events_hash() -> None:
    events = plan_stream()
    assert events[0].previous_hash is None
    for previous, event in pairwise(events):
        assert event.previous_hash == previous.hash


def _reseal(event: EventEnvelope[Any], **changes: Any) -> EventEnvelope[Any]:
    fields = {name: getattr(event, name) for name in type(event).model_fields if name != "hash"}
    return seal({**fields, **changes})


def test_a_resealed_edit_in_the_middle_breaks_the_chain_at_the_next_event() -> None:
    events = list(plan_stream())
    events[3] = _reseal(events[3], submitting_system="someone_else")
    with pytest.raises(ContractError) as caught:
        verify_chain(events)
    assert (caught.value.field, caught.value.rule) == ("[4].previous_hash", "chain_broken")


def test_an_edit_without_resealing_is_a_hash_mismatch() -> None:
    events = list(plan_stream())
    events[2] = events[2].model_copy(update={"submitting_system": "tampered"})
    with pytest.raises(ContractError) as caught:
        verify_chain(events)
    assert (caught.value.field, caught.value.rule) == ("[2].hash", "hash_mismatch")


def test_a_missing_event_is_found() -> None:
    events = list(plan_stream())
    del events[5]
    with pytest.raises(ContractError) as caught:
        verify_chain(events)
    assert caught.value.rule == "consecutive"


def test_a_first_event_with_a_previous_hash_is_refused() -> None:
    first = plan_stream()[0]
    with pytest.raises(ContractError) as caught:
        _reseal(first, previous_hash="sha256:" + "1" * 64)
    assert caught.value.rule == "chain_start"


def test_a_later_event_without_a_previous_hash_is_refused() -> None:
    with pytest.raises(ContractError) as caught:
        _reseal(plan_stream()[1], previous_hash=None)
    assert caught.value.rule == "chain_start"


def test_a_received_event_whose_body_was_altered_is_refused() -> None:
    raw = encode_event(plan_stream()[0]).replace(b"Oak Ward", b"Elm Ward")
    with pytest.raises(ContractError) as caught:
        parse_event(raw)
    assert (caught.value.field, caught.value.rule) == ("hash", "hash_mismatch")


def test_sealed_bytes_are_proven_canonical_by_their_own_hash_and_nothing_else_is() -> None:
    for event in (*plan_stream(), *incident_stream()):
        raw = encode_event(event)
        assert is_sealed_canonical(raw, event.hash)
        spaced = raw.replace(b'","', b'", "', 1)  # same JSON value, other bytes
        assert not is_sealed_canonical(spaced, event.hash)
        changed = raw.replace(str(event.stream_id).encode(), str(uuid4()).encode(), 1)
        assert not is_sealed_canonical(changed, event.hash)
        assert not is_sealed_canonical(raw, "sha256:" + "0" * 64)
