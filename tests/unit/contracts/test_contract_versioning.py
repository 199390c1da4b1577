"""Versioning: a version-1 message is still read after version 2 exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.codes import AttendanceMode
from contracts.errors import ContractError
from contracts.plan_events import ContributionMadeV1, ContributionMadeV2
from contracts.registry import EVENTS, current_version, encode_event, parse_event
from contracts.upcasters import contribution_made_v1_to_v2

FIXTURES = Path(__file__).parent / "fixtures"
V1_CONTRIBUTION = (FIXTURES / "contribution_made.v1.json").read_bytes().strip()


def test_contribution_made_has_a_version_2() -> None:
    assert current_version("safety_plan.contribution_made") == 2


def test_a_version_1_contribution_is_read_as_version_2() -> None:
    event = parse_event(V1_CONTRIBUTION)
    assert event.schema_version == 2
    assert isinstance(event.payload, ContributionMadeV2)
    assert [str(p.participant_id) for p in event.payload.present] == [
        "aaaaaaaa-0000-4000-8000-000000000005",
        "aaaaaaaa-0000-4000-8000-000000000006",
    ]


def test_attendance_is_null_when_version_1_recorded_on_the_persons_behalf() -> None:
    event = parse_event(V1_CONTRIBUTION)
    assert all(p.attendance is None for p in event.payload.present)


def test_upcasting_keeps_the_stored_hash_and_the_as_written_event_still_verifies() -> None:
    as_written = parse_event(V1_CONTRIBUTION, upcast=False)
    assert isinstance(as_written.payload, ContributionMadeV1)
    assert encode_event(as_written) == V1_CONTRIBUTION
    assert parse_event(V1_CONTRIBUTION).hash == as_written.hash


def test_upcaster_maps_in_person_and_remote_modes_to_attendance() -> None:
    base = {"present_participant_ids": ["x"], "mode": "remote"}
    assert contribution_made_v1_to_v2(base)["present"] == [
        {"participant_id": "x", "attendance": AttendanceMode.REMOTE.value}
    ]


def test_every_older_version_has_an_upcaster_to_the_next() -> None:
    EVENTS.check_complete()


def test_future_schema_version_is_refused() -> None:
    future = V1_CONTRIBUTION.replace(b'"schema_version":1', b'"schema_version":3')
    with pytest.raises(ContractError) as caught:
        parse_event(future)
    assert (caught.value.field, caught.value.rule) == ("schema_version", "future_schema_version")


def test_version_zero_is_refused() -> None:
    zero = V1_CONTRIBUTION.replace(b'"schema_version":1', b'"schema_version":0')
    with pytest.raises(ContractError) as caught:
        parse_event(zero)
    assert caught.value.rule == "unsupported_schema_version"
