"""The publication rules of NHS England's restrictive-intervention statistics, as pure functions.

Source: NHSDigital/mental-health-monthly-statistics (commit 7b4d742),
`Mental_Health_Monthly_Statistics/Restraints/Restraints_Suppression/Published_CSV_Suppression.py`
and `Restraints/Restraints_Prep.py` (duration bands, age groups); summarised in domain.md §2.4.

* Counts (MHS76 people, MHS77 restrictive interventions, MHS136 incidents): under 5 -> `*`;
  otherwise `round(value/5, 0) * 5`. That is Spark SQL's `round`, which rounds half *up*
  (HALF_UP), not Python's banker's rounding; we use `Decimal.quantize(ROUND_HALF_UP)`. For whole
  counts the two never differ (value/5 never ends in .5); they differ only for fractional inputs
  such as 12.5 (half up: 15; banker's: 10).
* Rates per 1,000 bed days: suppressed when the people count or the restrictive-intervention
  count (and, for our incident/people rates, that count too) is under 5, or bed days under 100;
  otherwise rounded half up to a whole number.
* Durations (average, median, maximum minutes) are not suppressed.

This module must never do I/O or look at people: it maps numbers to published values.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from contracts.codes import ForceCategory

SUPPRESSED: Final = "*"
SUPPRESS_BELOW: Final = 5
ROUND_TO: Final = 5
MIN_BED_DAYS: Final = 100

PublishedCount = int | str


def round_half_up(value: Decimal | int | float | str, places: int = 0) -> Decimal:
    """Round half away from zero for positive values (Spark SQL `round`)."""
    quantum = Decimal(1).scaleb(-places)
    return Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)


def round_to_nearest_5(value: Decimal | int | float | str) -> int:
    """`round(value/5, 0) * 5` with Spark's half-up rounding: 7 -> 5, 7.5 -> 10, 12.5 -> 15."""
    return int(round_half_up(Decimal(str(value)) / ROUND_TO) * ROUND_TO)


def publish_count(value: int | Decimal | float) -> PublishedCount:
    """A count as published: `*` under 5, otherwise to the nearest 5."""
    if Decimal(str(value)) < SUPPRESS_BELOW:
        return SUPPRESSED
    return round_to_nearest_5(value)


def publish_rate(
    count: int, bed_days: int | None, *, guards: tuple[int, ...] = ()
) -> PublishedCount | None:
    """Count per 1,000 bed days as published; None when bed days are not known.

    Suppressed (`*`) when `count` or any guard count is under 5, or bed days under 100.
    """
    if bed_days is None:
        return None
    if bed_days < MIN_BED_DAYS or any(c < SUPPRESS_BELOW for c in (count, *guards)):
        return SUPPRESSED
    return int(round_half_up(Decimal(count) * 1000 / Decimal(bed_days)))


def unsuppressed_minutes(value: float | Decimal | None) -> str | None:
    """A duration statistic (not suppressed), as a decimal string with one place."""
    if value is None:
        return None
    return str(round_half_up(Decimal(str(value)), 1))


# --- bands -------------------------------------------------------------------------------------

AGE_GROUPS: Final = ("Under 18", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_UNKNOWN: Final = "Unknown"


def age_group(age_years: int | None) -> str:
    """NHS England's age groups (domain.md §2.4); `Unknown` when age is not recorded."""
    if age_years is None:
        return AGE_UNKNOWN
    if age_years < 18:
        return "Under 18"
    for upper, label in ((24, "18-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"), (64, "55-64")):
        if age_years <= upper:
            return label
    return "65+"


MINUTES_PER_DAY: Final = 1440

RESTRAINT_BANDS: Final = ("0-10 Minutes", "11-30 Minutes", "31-60 Minutes", "60+ Minutes")
SECLUSION_BANDS: Final = (
    "0-24 Hours",
    "24-72 Hours",
    "72 Hours-7 Days",
    "1-2 Weeks",
    "2-4 Weeks",
    "1-3 Months",
    "3 Months+",
)
SEGREGATION_BANDS: Final = (
    "0-1 Months",
    "1-3 Months",
    "3-6 Months",
    "6-12 Months",
    "12 Months+",
)


def duration_band(category: ForceCategory | str, minutes: float) -> str:
    """The publication's length-of-restraint band for one restrictive intervention.

    NHS England's CASE uses inclusive integer ranges over fractional minutes/days
    (`minutes BETWEEN 0 AND 10`, `BETWEEN 11 AND 30`, ...), which leaves gaps (10.5 minutes is
    'Missing/Invalid' there). We keep every published edge as an inclusive upper bound and put a
    value in a gap in the band above. For seclusion, NHS England tests `days BETWEEN 3 AND 7`
    before `minutes BETWEEN 1441 AND 4320`, so exactly 72 hours is '72 Hours-7 Days'; so here.
    """
    category = ForceCategory(category)
    if minutes < 0:
        return "Missing/Invalid"
    if category in (ForceCategory.PHYSICAL, ForceCategory.CHEMICAL, ForceCategory.MECHANICAL):
        for upper, label in zip((10, 30, 60), RESTRAINT_BANDS, strict=False):
            if minutes <= upper:
                return label
        return RESTRAINT_BANDS[-1]
    days = minutes / MINUTES_PER_DAY
    if category is ForceCategory.SECLUSION:
        if minutes <= MINUTES_PER_DAY:
            return "0-24 Hours"
        if minutes < 3 * MINUTES_PER_DAY:
            return "24-72 Hours"
        for upper, label in zip((7, 14, 28, 90), SECLUSION_BANDS[2:], strict=False):
            if days <= upper:
                return label
        return SECLUSION_BANDS[-1]
    for upper, label in zip((30, 90, 180, 365), SEGREGATION_BANDS, strict=False):
        if days <= upper:
            return label
    return SEGREGATION_BANDS[-1]


NOT_KNOWN: Final = "Not known"


def category_label(value: str | None) -> str:
    """A recorded demographic value as a breakdown key (free text in the contracts)."""
    if value is None or not value.strip():
        return NOT_KNOWN
    return value.strip()
