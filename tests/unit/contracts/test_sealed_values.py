"""Personal values are sealed per patient before hashing; only their key opens them."""

from __future__ import annotations

import os
import uuid

import pytest

from contracts import examples
from contracts.errors import ContractError
from contracts.registry import encode_event, parse_event, seal_personal
from contracts.sealed_values import (
    SealError,
    drop_tokens,
    is_token,
    key_id_of,
    key_ids_in,
    open_tokens,
    open_value,
    seal_value,
)

KEY_ID = uuid.uuid4().hex
KEY = os.urandom(32)


def keys(key_id: str) -> bytes | None:
    return KEY if key_id == KEY_ID else None


def test_a_value_round_trips_through_its_token_and_the_token_hides_it() -> None:
    token = seal_value(KEY_ID, KEY, {"name": "Ada Lovelace", "born": "1815-12-10"})
    assert is_token(token)
    assert key_id_of(token) == KEY_ID
    assert "Lovelace" not in token
    assert open_value(token, KEY) == {"name": "Ada Lovelace", "born": "1815-12-10"}
    assert seal_value(KEY_ID, KEY, "x") != seal_value(KEY_ID, KEY, "x")  # fresh nonce each time


def test_a_token_refuses_the_wrong_key_a_changed_byte_and_a_moved_key_id() -> None:
    token = seal_value(KEY_ID, KEY, "Ada")
    with pytest.raises(SealError, match="token_authentication"):
        open_value(token, os.urandom(32))
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(SealError):
        open_value(flipped, KEY)
    moved = token.replace(KEY_ID, uuid.uuid4().hex)  # the key id is bound as associated data
    with pytest.raises(SealError, match="token_authentication"):
        open_value(moved, KEY)


def _sealed_plan_started() -> tuple[bytes, str]:
    plain = examples.example_events()["safety_plan.plan_started"]
    name = plain.payload.person.name
    sealed_payload = seal_personal(plain.payload, KEY_ID, KEY)
    from contracts.envelope import seal

    fields = plain.model_dump()
    fields.pop("hash")
    fields["payload"] = sealed_payload
    return encode_event(seal(fields)), name


def test_a_sealed_event_verifies_without_keys_and_hides_every_personal_value() -> None:
    raw, name = _sealed_plan_started()
    assert name.encode() not in raw
    event = parse_event(raw)  # hash checked over the tokens
    assert is_token(event.payload.person.name)
    assert event.payload.person.person_id  # pseudonymous id stays readable


def test_an_entitled_reader_opens_the_values_and_an_erased_one_stays_sealed() -> None:
    raw, name = _sealed_plan_started()
    opened = parse_event(raw, keys=keys)
    assert opened.payload.person.name == name
    assert opened.payload.person.date_of_birth is None or not isinstance(
        opened.payload.person.date_of_birth, str
    )
    erased = parse_event(raw, keys=lambda _kid: None)  # still valid: the token stays
    assert is_token(erased.payload.person.name)


def test_commands_refuse_a_token_in_place_of_a_plain_value() -> None:
    from contracts.commands import parse_command

    command = examples.example_commands()["safety_plan.start_plan"]
    data = command.model_dump(mode="json")
    data["payload"]["person"]["name"] = seal_value(KEY_ID, KEY, "Ada")
    with pytest.raises(ContractError) as refused:
        parse_command(data)
    assert any(
        v.field == "payload.person.name" and v.rule == "plain_value"
        for v in refused.value.violations
    )


def test_documents_are_opened_dropped_and_listed_by_key() -> None:
    other = uuid.uuid4().hex
    doc = {
        "a": seal_value(KEY_ID, KEY, "Ada"),
        "b": [seal_value(other, os.urandom(32), "Bob"), "plain"],
    }
    assert key_ids_in(doc) == {KEY_ID, other}
    assert open_tokens(doc, keys) == {"a": "Ada", "b": [None, "plain"]}
    assert drop_tokens(doc, KEY_ID)["a"] is None
    assert is_token(drop_tokens(doc, KEY_ID)["b"][0])


def test_a_correction_is_sealed_only_where_it_corrects_a_personal_field() -> None:
    from contracts import incident_parts as ip
    from contracts.incident_events import IncidentAmendedV1

    amended = IncidentAmendedV1(
        amendment_number=1,
        changes=[
            ip.FieldChange(path="staff_involved[0].name", new_value="Jo Bloggs"),
            ip.FieldChange(path="location_detail", new_value="Ward corridor"),
        ],
        reason="Corrected after review with the staff involved",
    )
    sealed = seal_personal(amended, KEY_ID, KEY)
    assert is_token(sealed.changes[0].new_value)  # a name: sealed
    assert sealed.changes[1].new_value == "Ward corridor"  # a place: readable after erasure
    assert is_token(sealed.reason)  # free text: sealed
