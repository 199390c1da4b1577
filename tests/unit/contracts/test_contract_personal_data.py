"""Personal data is marked, listed per event type, and never echoed in errors."""

from __future__ import annotations

import pytest

from contracts.personal_data import nhs_number_is_valid
from contracts.registry import event_types, personal_data_paths


def test_person_name_nhs_number_and_birth_date_are_personal_when_a_plan_starts() -> None:
    paths = personal_data_paths("safety_plan.plan_started")
    assert {"payload.person.name", "payload.person.nhs_number"} <= set(paths)
    assert "payload.person.date_of_birth" in paths
    assert "payload.person.person_id" not in paths


def test_incident_record_marks_names_identifiers_narratives_and_characteristics() -> None:
    paths = set(personal_data_paths("use_of_force.incident_recorded"))
    assert {
        "payload.patient.name",
        "payload.patient.nhs_number",
        "payload.description",
        "payload.outcome",
        "payload.staff_involved[].name",
        "payload.notifications[].recipient_name",
        "payload.non_staff_involved[].reason",
        "payload.mental_disorders[].description",
        "payload.relevant_characteristics.ethnicity",
        "payload.relevant_characteristics.sexual_orientation",
        "payload.relevant_characteristics.religion_or_belief",
        "payload.efforts_to_avoid_force[]",
    } <= paths
    assert "payload.staff_involved[].job_title" not in paths


def test_contribution_content_written_by_people_is_personal() -> None:
    paths = set(personal_data_paths("safety_plan.contribution_made"))
    assert {"payload.content.text", "payload.content.items[]"} <= paths
    assert "payload.content.contacts[].name" in paths
    assert "payload.content.preferences[].conditions" in paths


def test_dissent_reason_and_what_the_person_wants_instead_are_personal() -> None:
    paths = set(personal_data_paths("safety_plan.dissent_recorded"))
    assert {"payload.reason", "payload.wants_instead"} <= paths


def test_corrections_treat_every_new_value_as_personal() -> None:
    assert "payload.changes[].new_value" in personal_data_paths("use_of_force.incident_amended")


@pytest.mark.parametrize("event_type", event_types())
def test_envelope_fields_are_never_marked_personal(event_type: str) -> None:
    assert all(p.startswith("payload.") for p in personal_data_paths(event_type))


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("9990000018", True),
        ("9990000026", True),
        ("9990000019", False),
        ("999000001", False),
        ("99900000a8", False),
    ],
)
def test_nhs_numbers_are_checked_with_modulus_11(number: str, valid: bool) -> None:
    assert nhs_number_is_valid(number) is valid
