"""The README's classification rule and the period rates, with hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid5

import pytest

from services.audit_service.involvement import (
    Agreement,
    Contribution,
    Dissent,
    Participant,
    PlanInScope,
    Rate,
    Share,
    VersionFacts,
    classify_version,
    dissent_age_days,
    period_rates,
    review_status,
)

NS = UUID("8c1d0e9a-2b3c-4d5e-8f70-1a2b3c4d5e6f")
T = datetime(2025, 4, 1, 9, tzinfo=UTC)
SU, CARER, NURSE = (uuid5(NS, n) for n in ("su", "carer", "nurse"))
PEOPLE = (
    Participant(SU, "service_user", T),
    Participant(CARER, "carer_or_family", T, T, True),
    Participant(NURSE, "nurse", T),
)
LATER = T + timedelta(days=30)


def contribution(
    author: UUID, present: tuple[UUID, ...] = (), mode: str = "in_person", n: int = 0
) -> Contribution:
    return Contribution(uuid5(NS, f"c{n}"), "warning_signs", author, mode, T, present)


def version(*contributions: Contribution, **kwargs: object) -> VersionFacts:
    return VersionFacts(1, T, tuple(contributions), **kwargs)  # type: ignore[arg-type]


def agreed(who: UUID = SU, mode: str = "in_person") -> tuple[Agreement, ...]:
    return (Agreement(who, mode, T),)


def dissent(who: UUID = SU, responded: datetime | None = None) -> tuple[Dissent, ...]:
    return (Dissent(uuid5(NS, "d"), 1, "triggers", who, "in_person", T, responded, None),)


def test_a_version_the_person_contributed_to_and_agreed_is_made_with_them() -> None:
    v = classify_version(version(contribution(SU), agreements=agreed()), PEOPLE, LATER)
    assert v.classification == "with"


def test_being_present_for_a_clinicians_contribution_counts_as_taking_part() -> None:
    v = classify_version(version(contribution(NURSE, (SU,)), agreements=agreed()), PEOPLE, LATER)
    assert v.classification == "with"
    assert v.person_present == {uuid5(NS, "c0"): True}


def test_taking_part_without_agreeing_is_partial() -> None:
    v = classify_version(version(contribution(SU)), PEOPLE, LATER)
    assert v.classification == "partial"


def test_agreeing_to_a_version_made_without_the_person_is_partial() -> None:
    v = classify_version(version(contribution(NURSE), agreements=agreed()), PEOPLE, LATER)
    assert v.classification == "partial"
    assert v.person_present == {uuid5(NS, "c0"): False}


def test_a_version_made_and_agreed_by_staff_alone_is_made_without_the_person() -> None:
    v = classify_version(version(contribution(NURSE), agreements=agreed(NURSE)), PEOPLE, LATER)
    assert v.classification == "without"


def test_words_recorded_on_the_persons_behalf_are_partial_not_presence() -> None:
    on_behalf = contribution(SU, mode="recorded_on_behalf")
    v = classify_version(
        version(on_behalf, agreements=agreed(mode="recorded_on_behalf")), PEOPLE, LATER
    )
    assert v.classification == "partial"
    assert v.person_words_recorded_on_behalf
    assert v.person_agreed_on_behalf
    assert not v.person_agreed


def test_an_open_dissent_by_the_person_makes_an_agreed_version_partial_until_answered() -> None:
    facts = version(
        contribution(SU), agreements=agreed(), dissents=dissent(responded=T + timedelta(days=3))
    )
    assert classify_version(facts, PEOPLE, T + timedelta(days=1)).classification == "partial"
    assert classify_version(facts, PEOPLE, LATER).classification == "with"


def test_a_dissent_alone_is_involvement_so_partial() -> None:
    v = classify_version(version(contribution(NURSE), dissents=dissent()), PEOPLE, LATER)
    assert v.classification == "partial"
    assert v.open_dissents == 1


def test_a_plan_without_a_service_user_participant_is_made_without_them() -> None:
    v = classify_version(version(contribution(NURSE), agreements=agreed(NURSE)), PEOPLE[1:], LATER)
    assert v.classification == "without"


def test_agreement_after_as_of_does_not_count() -> None:
    late = (Agreement(SU, "in_person", LATER),)
    v = classify_version(version(contribution(SU), agreements=late), PEOPLE, T + timedelta(days=1))
    assert v.classification == "partial"


def test_carer_involvement_and_sharing_are_reported() -> None:
    facts = version(contribution(CARER), shares=(Share(SU, "printed_copy", T),))
    v = classify_version(facts, PEOPLE, LATER)
    assert v.carer_involved
    assert v.shared_with_person


def test_a_dissent_age_runs_until_its_response_or_as_of() -> None:
    (d,) = dissent(responded=T + timedelta(days=3, hours=5))
    assert dissent_age_days(d, LATER) == 3
    assert dissent_age_days(d, T + timedelta(days=2)) == 2


@pytest.mark.parametrize(
    ("completed", "as_of", "expected"),
    [
        (datetime(2025, 5, 1, 23, tzinfo=UTC), LATER + timedelta(days=60), "on_time"),
        (datetime(2025, 5, 2, 8, tzinfo=UTC), LATER + timedelta(days=60), "late"),
        (None, datetime(2025, 5, 2, tzinfo=UTC), "overdue"),
        (None, datetime(2025, 5, 1, 12, tzinfo=UTC), "pending"),
    ],
)
def test_review_status(completed: datetime | None, as_of: datetime, expected: str) -> None:
    assert review_status(date(2025, 5, 1), completed, as_of) == expected


def test_a_rate_of_nothing_is_none_not_zero() -> None:
    assert Rate(0, 0).rate is None
    assert Rate(1, 3).rate == 0.3333


def test_period_rates_count_versions_plans_reviews_and_triangle_of_care() -> None:
    with_person = classify_version(
        version(contribution(SU, (CARER,)), agreements=agreed()), PEOPLE, LATER
    )
    partial = classify_version(version(contribution(NURSE), dissents=dissent()), PEOPLE, LATER)
    without = classify_version(version(contribution(NURSE)), PEOPLE, LATER)
    no_carer = (Participant(SU, "service_user", T), Participant(NURSE, "nurse", T))
    plans = [
        PlanInScope(PEOPLE, (with_person, partial), ("on_time", "late")),
        PlanInScope(no_carer, (without,), ("overdue",)),
    ]
    r = period_rates(plans, LATER)
    assert (r.plans, r.versions) == (2, 3)
    assert r.classifications == {"with": 1, "partial": 1, "without": 1}
    assert r.with_person == Rate(1, 3)
    assert r.with_carer == Rate(1, 3)
    assert r.with_person_agreement == Rate(1, 3)
    assert r.with_unresolved_dissent == Rate(1, 3)
    assert r.reviewed_on_time == Rate(1, 3)
    assert r.carer_identified == Rate(1, 2)
    assert r.information_sharing_agreed == Rate(1, 1)
    assert r.by_role["service_user"] == {
        "invited": 2,
        "contributed": 1,
        "present": 0,
        "agreed": 1,
        "dissented": 1,
    }
    assert r.by_role["nurse"]["contributed"] == 2
    assert r.by_role["carer_or_family"]["present"] == 1
