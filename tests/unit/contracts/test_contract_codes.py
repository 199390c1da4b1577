"""Code lists carry the official MHSDS codes and labels exactly as domain.md sources them."""

from __future__ import annotations

import pytest

from contracts.codes import (
    ContributionMode,
    ForceCategory,
    ParticipantRole,
    RestrictiveInterventionReason,
    RestrictiveInterventionType,
    RestrictivePracticePreference,
)


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("01", "Physical restraint \u2013 Prone"),
        ("04", "Mechanical restraint"),
        ("05", "Seclusion"),
        ("06", "Segregation"),
        ("08", "Physical restraint \u2013 Restrictive escort"),
        ("13", "Physical restraint \u2013 Other (not listed)"),
        ("14", "Chemical restraint \u2013 Injection (Rapid Tranquillisation)"),
        ("15", "Chemical restraint \u2013 Injection (Non Rapid Tranquillisation)"),
        ("17", "Chemical restraint \u2013 Other (not listed)"),
    ],
)
def test_restrictive_intervention_types_carry_the_official_labels(code: str, label: str) -> None:
    assert RestrictiveInterventionType(code).label == label


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("10", "Prevent a patient being violent to others"),
        ("15", "Facilitate nasogastric (NG) feeding"),
        (
            "18",
            "Undertake a search of the patient's clothing or property to ensure the safety of "
            "others",
        ),
        ("19", "Prevent the patient absconding from lawful custody"),
        ("98", "Other (not listed)"),
        ("99", "Not Known (Not Recorded)"),
    ],
)
def test_restrictive_intervention_reasons_carry_the_official_labels(code: str, label: str) -> None:
    assert RestrictiveInterventionReason(code).label == label


def test_type_code_list_is_01_to_17_with_02_and_03_marked_legacy() -> None:
    assert [t.value for t in RestrictiveInterventionType] == [f"{n:02d}" for n in range(1, 18)]
    legacy = [t.value for t in RestrictiveInterventionType if t.is_legacy]
    assert legacy == ["02", "03"]
    assert all("unconfirmed" in RestrictiveInterventionType(c).label for c in legacy)


def test_reason_code_list_is_10_to_19_98_and_99() -> None:
    expected = [str(n) for n in range(10, 20)] + ["98", "99"]
    assert [r.value for r in RestrictiveInterventionReason] == expected


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("01", ForceCategory.PHYSICAL),
        ("07", ForceCategory.PHYSICAL),
        ("13", ForceCategory.PHYSICAL),
        ("14", ForceCategory.CHEMICAL),
        ("17", ForceCategory.CHEMICAL),
        ("04", ForceCategory.MECHANICAL),
        ("05", ForceCategory.SECLUSION),
        ("06", ForceCategory.SEGREGATION),
        ("02", ForceCategory.PHYSICAL),
        ("03", ForceCategory.CHEMICAL),
    ],
)
def test_each_force_type_has_a_category_for_duration_bands(
    code: str, category: ForceCategory
) -> None:
    assert RestrictiveInterventionType(code).category is category


def test_code_values_are_what_travels_on_the_wire() -> None:
    assert RestrictiveInterventionType("01") == "01"
    assert ContributionMode("recorded_on_behalf").label == "Recorded on the person's behalf"
    assert RestrictivePracticePreference("does_not_want").label == "Does not want it used"


def test_participant_roles_cover_everyone_who_co_produces_a_plan() -> None:
    assert {r.value for r in ParticipantRole} == {
        "service_user",
        "carer_or_family",
        "nominated_person",
        "advocate",
        "care_coordinator",
        "psychiatrist",
        "nurse",
        "psychologist",
        "occupational_therapist",
        "social_worker",
        "peer_support_worker",
        "other",
    }


def test_code_list_docstrings_cite_their_source() -> None:
    assert "1b54a481a621" in (RestrictiveInterventionType.__doc__ or "")
    assert "Restraints_Prep.py" in (RestrictiveInterventionReason.__doc__ or "")
