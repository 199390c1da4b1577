"""The statistics report: scans the coded facts of its scope (`statistics_sql.SCOPED_FACTS`),
counts them per breakdown group (`statistics_tally`), turns codes back into keys and labels, then
applies the publication rules of `statistics`.

Durations come out of the tally in whole microseconds and become minutes here exactly as the
plain facts hold them (`statistics_codes.minutes`); medians are interpolated as
`percentile_cont(0.5)` does. `reference_raw_rows` runs the plain reference statement; the two
must agree (tests) and the benchmark times both.

Bed days are an input (no event carries them): the sum of `rs_bed_days` rows of the scope whose
period lies within the report period; the rows used are listed in the report.

This module must never return an unsuppressed count to a caller outside this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from contracts.codes import (
    ForceCategory,
    RestrictiveInterventionReason,
    RestrictiveInterventionType,
)
from services.common.settings import CommonSettings
from services.reporting_service import statistics as st
from services.reporting_service import statistics_codes as codes
from services.reporting_service import statistics_sql as sql
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.statistics_tally import Group, tally
from services.reporting_service.store import incident_topic

BREAKDOWNS = codes.BREAKDOWNS

BED_DAYS_SQL = """
SELECT provider, unit, period_start, period_end, bed_days FROM rs_bed_days
WHERE period_start >= %(from_date)s AND period_end <= %(to_date)s
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND (%(unit)s::text IS NULL OR unit = %(unit)s)
ORDER BY provider, unit, period_start, period_end
"""


@dataclass(frozen=True)
class RawRow:
    breakdown: str
    key: str
    label: str
    people: int
    interventions: int
    incidents: int
    avg_minutes: float | None
    median_minutes: float | None
    max_minutes: float | None


_CATEGORY_ORDER = {c.value: i for i, c in enumerate(ForceCategory)}
_BAND_ORDER = {
    b: i for i, b in enumerate((*st.RESTRAINT_BANDS, *st.SECLUSION_BANDS, *st.SEGREGATION_BANDS))
}
_TYPE_ORDER = {t.value: i for i, t in enumerate(RestrictiveInterventionType)}
_AGE_ORDER = {a: i for i, a in enumerate((*st.AGE_GROUPS, st.AGE_UNKNOWN))}


def _key(row: Any) -> tuple[str, str, tuple[Any, ...]]:
    """(key, label, sort key) of one aggregate row."""
    breakdown, ftype, reason, injury, category, band, age, gender, ethnicity = row[:9]
    if breakdown == "restrictive_intervention_type":
        return ftype, RestrictiveInterventionType(ftype).label, (_TYPE_ORDER.get(ftype, 99),)
    if breakdown == "reason":
        return reason, RestrictiveInterventionReason(reason).label, (reason,)
    if breakdown == "patient_injury":
        label = "Yes" if injury else "No"
        return label, label, (0 if injury else 1,)
    if breakdown == "length_of_restraint":
        return (
            f"{category}:{band}",
            f"{category.capitalize()}: {band}",
            (_CATEGORY_ORDER.get(category, 99), _BAND_ORDER.get(band, 99)),
        )
    if breakdown == "age_group":
        return age, age, (_AGE_ORDER.get(age, 99),)
    if breakdown == "gender":
        return gender, gender, (gender,)
    if breakdown == "ethnicity":
        return ethnicity, ethnicity, (ethnicity,)
    return "all", "All", ()


def _ordered(rows: list[Any]) -> list[RawRow]:
    """Rows laid out as (breakdown, type, reason, injury, category, band, age, gender,
    ethnicity, people, interventions, incidents, avg, median, max), in report order."""
    keyed = []
    for row in rows:
        key, label, order = _key(row)
        keyed.append(
            (
                (BREAKDOWNS.index(row[0]), order, key),
                RawRow(row[0], key, label, int(row[9]), int(row[10]), int(row[11]), *row[12:15]),
            )
        )
    return [r for _, r in sorted(keyed, key=lambda kv: kv[0])]


def _params(settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf) -> dict[str, Any]:
    return {
        "start": period.start_utc,
        "end": period.end_utc_exclusive,
        "ends": as_of.array(incident_topic(settings)),
        "provider": scope.provider,
        "unit": scope.unit,
    }


def _median(lo: float, hi: float) -> float:
    """`percentile_cont(0.5)` between the two middle values (PostgreSQL's float8 lerp)."""
    return lo if lo == hi else lo + 0.5 * (hi - lo)


def _keys(group: Group, labels: dict[int, str]) -> list[Any]:
    """The (breakdown, type, reason, injury, category, band, age, gender, ethnicity) keys."""
    keys: list[Any] = [BREAKDOWNS[group.breakdown], None, None, None, None, None, None, None, None]
    try:
        if group.breakdown == 1:
            keys[1] = codes.TYPE_OF_CODE[group.code]
        elif group.breakdown == 2:
            keys[2] = codes.REASON_OF_CODE[group.code]
        elif group.breakdown == 3:
            keys[3] = bool(group.code)
        elif group.breakdown == 4:
            keys[4], keys[5] = codes.BANDS[group.code]
        elif group.breakdown == 5:
            keys[6] = codes.AGES[group.code]
        elif group.breakdown in (6, 7):
            keys[group.breakdown + 1] = labels[group.code]
    except (KeyError, IndexError):
        raise RuntimeError(f"statistics facts carry a code outside the {keys[0]} list") from None
    return keys


def _measures(group: Group) -> list[Any]:
    """(people, interventions, incidents, average, median, maximum minutes), as the reference."""
    lower, upper = group.middle_micros
    return [
        group.people,
        group.interventions,
        group.incidents,
        group.total_micros / (group.interventions * codes.MICROSECONDS_PER_MINUTE),
        _median(codes.minutes(lower), codes.minutes(upper)),
        codes.minutes(group.max_micros),
    ]


def raw_rows(
    cur: psycopg.Cursor[Any], settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> list[RawRow]:
    """The aggregate rows in report order (unsuppressed: keep inside this module and tests)."""
    cur.execute("SET LOCAL jit = off")
    found = cur.execute(sql.SCOPED_FACTS, _params(settings, scope, period, as_of), binary=True)
    headers, interventions = found.fetchone() or (b"", b"")
    groups = tally(bytes(headers), bytes(interventions))
    if not groups:  # no use of force at all: only the total row, as in the reference
        return _ordered([[BREAKDOWNS[0], *[None] * 8, 0, 0, 0, None, None, None]])
    named = sorted({g.code for g in groups if g.breakdown in (6, 7)})
    labels = dict(cur.execute(sql.LABELS, {"keys": named}).fetchall()) if named else {}
    return _ordered([[*_keys(g, labels), *_measures(g)] for g in groups])


def reference_raw_rows(
    cur: psycopg.Cursor[Any], settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> list[RawRow]:
    """The same rows from `statistics_sql.REFERENCE_SQL` (slow; for tests and the benchmark)."""
    cur.execute("SET LOCAL work_mem = '256MB'")
    params = _params(settings, scope, period, as_of)
    return _ordered(list(cur.execute(sql.REFERENCE_SQL, params).fetchall()))


def bed_days(
    cur: psycopg.Cursor[Any], scope: Scope, period: Period
) -> tuple[int | None, list[dict[str, Any]]]:
    rows = cur.execute(
        BED_DAYS_SQL,
        {
            "from_date": period.start,
            "to_date": period.end,
            "provider": scope.provider,
            "unit": scope.unit,
        },
    ).fetchall()
    used = [
        {
            "provider": p,
            "unit": u,
            "period_start": s.isoformat(),
            "period_end": e.isoformat(),
            "bed_days": int(b),
        }
        for p, u, s, e, b in rows
    ]
    return (sum(r["bed_days"] for r in used) if used else None), used


CSV_COLUMNS = (
    "breakdown",
    "key",
    "label",
    "MHS76_people",
    "MHS77_restrictive_interventions",
    "MHS136_incidents",
    "MHS96_restrictive_interventions_per_1000_bed_days",
    "people_per_1000_bed_days",
    "incidents_per_1000_bed_days",
    "average_minutes",
    "median_minutes",
    "maximum_minutes",
)

RATE_BREAKDOWNS = ("total", "restrictive_intervention_type")


def published_row(raw: RawRow, beds: int | None) -> dict[str, Any]:
    """One row as published: counts suppressed and rounded, rates only where bed days apply."""
    rate_applies = raw.breakdown in RATE_BREAKDOWNS
    guards = (raw.people, raw.interventions)
    return {
        "breakdown": raw.breakdown,
        "key": raw.key,
        "label": raw.label,
        "MHS76_people": st.publish_count(raw.people),
        "MHS77_restrictive_interventions": st.publish_count(raw.interventions),
        "MHS136_incidents": st.publish_count(raw.incidents),
        "MHS96_restrictive_interventions_per_1000_bed_days": (
            st.publish_rate(raw.interventions, beds, guards=guards) if rate_applies else None
        ),
        "people_per_1000_bed_days": (
            st.publish_rate(raw.people, beds, guards=guards) if rate_applies else None
        ),
        "incidents_per_1000_bed_days": (
            st.publish_rate(raw.incidents, beds, guards=guards) if rate_applies else None
        ),
        "average_minutes": st.unsuppressed_minutes(raw.avg_minutes),
        "median_minutes": st.unsuppressed_minutes(raw.median_minutes),
        "maximum_minutes": st.unsuppressed_minutes(raw.max_minutes),
    }


def report_body(
    cur: psycopg.Cursor[Any], settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> dict[str, Any]:
    beds, used = bed_days(cur, scope, period)
    rows = raw_rows(cur, settings, scope, period, as_of)
    return {
        "bed_days": {"known": beds is not None, "total": beds, "inputs": used},
        "rows": [published_row(r, beds) for r in rows],
    }
