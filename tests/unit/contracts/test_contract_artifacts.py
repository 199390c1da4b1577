"""Published artifacts: every example validates against its JSON Schema, round-trips, and the
checked-in schemas and AsyncAPI document match the models."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from contracts import generate, topics
from contracts.commands import command_types, encode_command, parse_command
from contracts.examples import example_commands, example_events
from contracts.registry import current_version, encode_event, event_types, parse_event

EVENTS = example_events()
COMMANDS = example_commands()


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((generate.SCHEMA_DIR / name).read_text(encoding="utf-8"))
    return data


def test_every_event_type_has_an_example_at_its_current_version() -> None:
    assert sorted(EVENTS) == event_types()
    assert all(e.schema_version == current_version(t) for t, e in EVENTS.items())


def test_every_command_type_has_an_example() -> None:
    assert sorted(COMMANDS) == command_types()


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_example_event_validates_against_its_published_json_schema(event_type: str) -> None:
    event = EVENTS[event_type]
    schema = _load(generate.event_schema_filename(event_type, event.schema_version))
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(json.loads(encode_event(event)))


@pytest.mark.parametrize("command_type", sorted(COMMANDS))
def test_every_example_command_validates_against_its_published_json_schema(
    command_type: str,
) -> None:
    command = COMMANDS[command_type]
    schema = _load(generate.command_schema_filename(command_type, command.schema_version))
    Draft202012Validator(schema).validate(json.loads(encode_command(command)))


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_example_event_round_trips_byte_identically(event_type: str) -> None:
    encoded = encode_event(EVENTS[event_type])
    parsed = parse_event(encoded)
    assert parsed == EVENTS[event_type]
    assert encode_event(parsed) == encoded


@pytest.mark.parametrize("command_type", sorted(COMMANDS))
def test_every_example_command_round_trips_byte_identically(command_type: str) -> None:
    encoded = encode_command(COMMANDS[command_type])
    assert encode_command(parse_command(encoded)) == encoded


def test_published_artifacts_are_not_stale() -> None:
    assert generate.stale_artifacts() == [], "run: python -m contracts.generate"


def test_json_schema_pins_type_and_version_of_each_event() -> None:
    schema = _load("safety_plan.contribution_made.v2.json")
    assert schema["properties"]["event_type"]["const"] == "safety_plan.contribution_made"
    assert schema["properties"]["schema_version"]["const"] == 2
    assert schema["additionalProperties"] is False


def test_json_schema_refuses_what_the_models_refuse() -> None:
    event = json.loads(encode_event(EVENTS["safety_plan.plan_closed"]))
    schema = _load("safety_plan.plan_closed.v1.json")
    validator = Draft202012Validator(schema)
    assert not validator.is_valid({**event, "surprise": 1})
    assert not validator.is_valid({**event, "payload": {"reason": "42", "detail": None}})


def test_asyncapi_document_describes_every_topic_message_key_and_header() -> None:
    doc = yaml.safe_load(generate.ASYNCAPI_PATH.read_text(encoding="utf-8"))
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"]: c for c in doc["channels"].values()}
    assert set(addresses) == {spec.name for spec in topics.TOPICS}
    for spec in topics.TOPICS:
        assert addresses[spec.name]["bindings"]["kafka"]["partitions"] == spec.partitions
    event_messages = addresses[topics.PLAN_EVENTS]["messages"]
    assert "safety_plan_contribution_made_v1" in event_messages
    assert "safety_plan_contribution_made_v2" in event_messages
    for message in doc["components"]["messages"].values():
        ref = message["payload"].get("schema", {}).get("$ref")
        if ref:
            assert (generate.PACKAGE_DIR / ref).is_file()
        key = message["bindings"]["kafka"]["key"]
        assert key.get("format") == "uuid" or message["name"] == "person_erased", message["name"]
    erased = addresses[topics.ERASURES]["messages"]
    assert set(erased) == {"person_erased"}
    dlq = doc["components"]["messages"]["rejected_command"]["headers"]["properties"]
    assert set(dlq) == set(topics.DLQ_HEADERS)


def test_check_mode_exits_zero_when_artifacts_are_fresh() -> None:
    assert generate.main(["--check"]) == 0
