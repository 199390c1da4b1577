"""Bad input is refused with the field and the rule named, and never with the value in the text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.commands import parse_command
from contracts.errors import ContractError
from contracts.examples import example_commands, example_events
from contracts.registry import encode_event, parse_event
from contracts.versioning import MAX_MESSAGE_BYTES

SECRET_NAME = "Alex Example"
SECRET_NHS = "9990000018"


def _event(event_type: str = "safety_plan.plan_started") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(encode_event(example_events()[event_type]))
    return data


def _refused(raw: Any) -> ContractError:
    with pytest.raises(ContractError) as caught:
        parse_event(raw, verify=False)
    error = caught.value
    text = str(error)
    assert SECRET_NAME not in text
    assert SECRET_NHS not in text
    assert "input_value" not in text
    # No chained exception may surface in a traceback: pydantic's own text echoes input values.
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


def test_missing_field_is_refused() -> None:
    data = _event()
    del data["payload"]["person"]["name"]
    error = _refused(data)
    assert (error.field, error.rule) == ("payload.person.name", "required")
    assert "payload.person.name: required" in str(error)


def test_wrong_type_is_refused() -> None:
    data = _event()
    data["stream_version"] = "1"
    error = _refused(data)
    assert (error.field, error.rule) == ("stream_version", "wrong_type")


def test_unknown_event_type_is_refused() -> None:
    data = _event()
    data["event_type"] = "safety_plan.plan_deleted"
    error = _refused(data)
    assert (error.field, error.rule) == ("event_type", "unknown_event_type")
    assert "plan_deleted" not in str(error)


def test_unknown_code_is_refused() -> None:
    data = _event("use_of_force.incident_recorded")
    data["payload"]["force_used"][0]["force_type"] = "42"
    error = _refused(data)
    assert (error.field, error.rule) == ("payload.force_used[0].force_type", "unknown_code")


def test_future_schema_version_is_refused() -> None:
    data = _event()
    data["schema_version"] = 2
    error = _refused(data)
    assert (error.field, error.rule) == ("schema_version", "future_schema_version")


def test_unknown_extra_field_is_refused() -> None:
    data = _event()
    data["payload"]["person"]["nickname"] = "Al"
    error = _refused(data)
    assert (error.field, error.rule) == ("payload.person.nickname", "unknown_field")


def test_oversized_body_is_refused_before_it_is_read() -> None:
    data = _event()
    data["payload"]["person"]["name"] = "x" * MAX_MESSAGE_BYTES
    error = _refused(json.dumps(data).encode())
    assert (error.field, error.rule) == ("$", "max_message_bytes")


def test_text_longer_than_its_limit_is_refused_without_echo() -> None:
    data = _event()
    data["payload"]["person"]["name"] = SECRET_NAME * 20
    error = _refused(data)
    assert (error.field, error.rule) == ("payload.person.name", "max_length")


def test_naive_datetime_is_refused() -> None:
    data = _event()
    data["occurred_at"] = "2025-03-03T09:00:00"
    error = _refused(data)
    assert (error.field, error.rule) == ("occurred_at", "timezone_required")


def test_nhs_number_with_a_wrong_check_digit_is_refused_without_echoing_it() -> None:
    data = _event()
    data["payload"]["person"]["nhs_number"] = "9990000019"
    with pytest.raises(ContractError) as caught:
        parse_event(data, verify=False)
    assert (caught.value.field, caught.value.rule) == (
        "payload.person.nhs_number",
        "nhs_number_checksum",
    )
    assert "9990000019" not in str(caught.value)
    assert "9990000019" not in repr(caught.value.violations)


def test_nhs_number_that_is_not_ten_digits_is_refused() -> None:
    data = _event()
    data["payload"]["person"]["nhs_number"] = "999 000 0018"
    error = _refused(data)
    assert error.field == "payload.person.nhs_number"
    assert error.rule in {"nhs_number_format", "max_length"}


def test_a_narrative_in_a_wrong_type_field_is_not_echoed() -> None:
    data = _event("use_of_force.incident_recorded")
    data["payload"]["patient_died"] = "Alex Example was fine"
    error = _refused(data)
    assert (error.field, error.rule) == ("payload.patient_died", "wrong_type")


def test_not_json_is_refused() -> None:
    error = _refused(b'{"event_type": ')
    assert (error.field, error.rule) == ("$", "json_syntax")


def test_duplicate_keys_are_refused() -> None:
    error = _refused(b'{"event_type":"a","event_type":"b"}')
    assert error.rule == "duplicate_key"


def test_a_json_array_is_not_an_event() -> None:
    assert _refused(b"[]").rule == "not_an_object"


def test_float_where_an_integer_is_expected_is_refused() -> None:
    data = _event()
    data["stream_version"] = 1.0
    assert _refused(data).rule == "wrong_type"


def test_several_violations_are_all_reported() -> None:
    data = _event()
    del data["payload"]["person"]["name"]
    data["payload"]["setting"]["colour"] = "blue"
    error = _refused(data)
    assert {(v.field, v.rule) for v in error.violations} == {
        ("payload.person.name", "required"),
        ("payload.setting.colour", "unknown_field"),
    }


def test_cross_field_rule_is_named() -> None:
    data = _event("use_of_force.incident_recorded")
    data["payload"]["reason"] = "98"
    error = _refused(data)
    assert (error.field, error.rule) == ("payload", "reason_detail_required")


def test_section_content_error_paths_do_not_show_the_union_tag() -> None:
    data = _event("safety_plan.contribution_made")
    data["payload"]["content"]["preferences"][0]["force_type"] = "99"
    error = _refused(data)
    assert error.field == "payload.content.preferences[0].force_type"


def test_bad_commands_are_refused_by_the_same_rules() -> None:
    data = example_commands()["use_of_force.record_incident"].model_dump(mode="json")
    data["payload"]["force_used"][0]["force_type"] = "02"
    with pytest.raises(ContractError) as caught:
        parse_command(data)
    assert caught.value.rule == "legacy_code"
    data["command_type"] = "use_of_force.delete_incident"
    with pytest.raises(ContractError) as caught:
        parse_command(data)
    assert (caught.value.field, caught.value.rule) == ("command_type", "unknown_command_type")
