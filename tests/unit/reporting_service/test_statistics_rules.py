"""The publication rules, checked against hand-computed tables at, just below and just above
every threshold (domain.md §2.4; NHS England Restraints/ code, commit 7b4d742)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contracts.codes import ForceCategory
from services.reporting_service import statistics as st
from services.reporting_service.statistics_queries import RawRow, published_row

DAY = 1440


@pytest.mark.parametrize(
    ("count", "published"),
    [
        (0, "*"),
        (1, "*"),
        (4, "*"),
        (5, 5),
        (6, 5),
        (7, 5),
        (8, 10),
        (12, 10),
        (13, 15),
        (100, 100),
        (102, 100),
        (103, 105),
    ],
)
def test_counts_under_5_are_starred_and_others_rounded_to_the_nearest_5(
    count: int, published: int | str
) -> None:
    assert st.publish_count(count) == published


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (2, 0),
        ("2.5", 5),
        (3, 5),
        (7, 5),
        ("7.5", 10),
        (8, 10),
        ("12.5", 15),
        ("17.5", 20),
    ],
)
def test_rounding_to_5_is_half_up_like_spark_sql_round(value: str | int, rounded: int) -> None:
    assert st.round_to_nearest_5(value) == rounded


def test_half_up_differs_from_pythons_bankers_rounding_only_for_fractional_values() -> None:
    assert round(12.5 / 5) * 5 == 10  # Python's round: half to even
    assert st.round_to_nearest_5("12.5") == 15  # Spark SQL round: half up
    for whole in range(0, 500):  # whole counts: value/5 never ends in .5, so no difference
        assert st.round_to_nearest_5(whole) == round(whole / 5) * 5


@pytest.mark.parametrize(
    ("count", "bed_days", "guards", "published"),
    [
        (5, 99, (), "*"),  # bed days under 100
        (5, 100, (), 50),  # 5 * 1000 / 100
        (5, 101, (), 50),  # 49.50... -> 50
        (4, 1000, (), "*"),  # count under 5
        (6, 1000, (), 6),
        (6, 1000, (4,), "*"),  # the people count is under 5
        (6, 1000, (5,), 6),
        (5, 400, (), 13),  # 12.5 -> 13 half up (banker's would give 12)
        (7, 101, (), 69),  # 69.30...
        (5, None, (), None),  # bed days not known
    ],
)
def test_rates_per_1000_bed_days(
    count: int, bed_days: int | None, guards: tuple[int, ...], published: int | str | None
) -> None:
    assert st.publish_rate(count, bed_days, guards=guards) == published


@pytest.mark.parametrize(
    ("category", "minutes", "band"),
    [
        ("physical", 0, "0-10 Minutes"),
        ("physical", 10, "0-10 Minutes"),
        ("physical", 10.5, "11-30 Minutes"),
        ("physical", 11, "11-30 Minutes"),
        ("chemical", 30, "11-30 Minutes"),
        ("chemical", 31, "31-60 Minutes"),
        ("mechanical", 60, "31-60 Minutes"),
        ("mechanical", 60.5, "60+ Minutes"),
        ("physical", 61, "60+ Minutes"),
        ("seclusion", 1439, "0-24 Hours"),
        ("seclusion", DAY, "0-24 Hours"),
        ("seclusion", DAY + 1, "24-72 Hours"),
        ("seclusion", 3 * DAY - 1, "24-72 Hours"),
        ("seclusion", 3 * DAY, "72 Hours-7 Days"),
        ("seclusion", 7 * DAY, "72 Hours-7 Days"),
        ("seclusion", 7 * DAY + 1, "1-2 Weeks"),
        ("seclusion", 14 * DAY, "1-2 Weeks"),
        ("seclusion", 14 * DAY + 1, "2-4 Weeks"),
        ("seclusion", 28 * DAY, "2-4 Weeks"),
        ("seclusion", 28 * DAY + 1, "1-3 Months"),
        ("seclusion", 90 * DAY, "1-3 Months"),
        ("seclusion", 90 * DAY + 1, "3 Months+"),
        ("segregation", 0, "0-1 Months"),
        ("segregation", 30 * DAY, "0-1 Months"),
        ("segregation", 30 * DAY + 1, "1-3 Months"),
        ("segregation", 90 * DAY, "1-3 Months"),
        ("segregation", 91 * DAY, "3-6 Months"),
        ("segregation", 180 * DAY, "3-6 Months"),
        ("segregation", 181 * DAY, "6-12 Months"),
        ("segregation", 365 * DAY, "6-12 Months"),
        ("segregation", 365 * DAY + 1, "12 Months+"),
        ("physical", -1, "Missing/Invalid"),
    ],
)
def test_duration_bands_at_every_edge(category: str, minutes: float, band: str) -> None:
    assert st.duration_band(ForceCategory(category), minutes) == band


@pytest.mark.parametrize(
    ("age", "group"),
    [
        (None, "Unknown"),
        (0, "Under 18"),
        (17, "Under 18"),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (34, "25-34"),
        (35, "35-44"),
        (44, "35-44"),
        (45, "45-54"),
        (54, "45-54"),
        (55, "55-64"),
        (64, "55-64"),
        (65, "65+"),
        (101, "65+"),
    ],
)
def test_age_groups(age: int | None, group: str) -> None:
    assert st.age_group(age) == group


def test_durations_are_not_suppressed_and_keep_one_decimal_place() -> None:
    assert st.unsuppressed_minutes(2) == "2.0"
    assert st.unsuppressed_minutes(Decimal("7.25")) == "7.3"
    assert st.unsuppressed_minutes(None) is None


def _raw(breakdown: str, people: int, ris: int, incidents: int) -> RawRow:
    return RawRow(breakdown, "k", "K", people, ris, incidents, 3.0, 2.0, 9.0)


@pytest.mark.parametrize(
    ("raw", "beds", "expected"),
    [
        # people, RIs, incidents -> published; rates only on total/type rows
        (
            _raw(
                "total",
                4,
                7,
                6,
            ),
            1000,
            ("*", 5, 5, "*", "*", "*"),
        ),
        (_raw("total", 5, 8, 6), 1000, (5, 10, 5, 8, 5, 6)),
        (_raw("total", 6, 12, 5), 99, (5, 10, 5, "*", "*", "*")),
        (_raw("total", 6, 12, 5), 100, (5, 10, 5, 120, 60, 50)),
        (_raw("total", 6, 12, 4), 101, (5, 10, "*", 119, 59, "*")),
        (_raw("restrictive_intervention_type", 5, 5, 5), None, (5, 5, 5, None, None, None)),
        (_raw("age_group", 9, 9, 9), 1000, (10, 10, 10, None, None, None)),
    ],
)
def test_published_rows_match_the_hand_computed_table(
    raw: RawRow, beds: int | None, expected: tuple[object, ...]
) -> None:
    row = published_row(raw, beds)
    got = (
        row["MHS76_people"],
        row["MHS77_restrictive_interventions"],
        row["MHS136_incidents"],
        row["MHS96_restrictive_interventions_per_1000_bed_days"],
        row["people_per_1000_bed_days"],
        row["incidents_per_1000_bed_days"],
    )
    assert got == expected
    assert (row["average_minutes"], row["median_minutes"], row["maximum_minutes"]) == (
        "3.0",
        "2.0",
        "9.0",
    )
