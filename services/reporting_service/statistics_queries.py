"""The statistics report's SQL: one aggregation with GROUPING SETS over the compact fact tables
(`rs_stat_incident`, `rs_stat_force`), then the publication rules of `statistics`.

The latest version of each incident within the report's offsets is chosen with an anti-join
(no later version within the offsets), so amendments are applied and the answer depends only on
the `AsOf`. Bed days are an input (no event carries them): the sum of `rs_bed_days` rows of the
scope whose period lies within the report period; the rows used are listed in the report.

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
from services.reporting_service.scope import AsOf, Period, Scope
from services.reporting_service.store import incident_topic

BREAKDOWNS = (
    "total",
    "restrictive_intervention_type",
    "reason",
    "patient_injury",
    "length_of_restraint",
    "age_group",
    "gender",
    "ethnicity",
)

STATISTICS_SQL = """
WITH inc AS (
  SELECT s.incident_id, s.stream_version, s.person_id, s.reason, s.age_group, s.gender,
         s.ethnicity
  FROM rs_stat_incident s
  WHERE s.started_at >= %(start)s AND s.started_at < %(end)s
    AND s."offset" < (%(ends)s::bigint[])[s.partition + 1]
    AND (%(provider)s::text IS NULL OR s.provider = %(provider)s)
    AND (%(unit)s::text IS NULL OR s.unit = %(unit)s)
    AND NOT EXISTS (
      SELECT 1 FROM rs_stat_incident n
      WHERE n.incident_id = s.incident_id AND n.stream_version > s.stream_version
        AND n."offset" < (%(ends)s::bigint[])[n.partition + 1])
)
SELECT
  CASE
    WHEN GROUPING(f.force_type) = 0 THEN 'restrictive_intervention_type'
    WHEN GROUPING(i.reason) = 0 THEN 'reason'
    WHEN GROUPING(f.injury_patient) = 0 THEN 'patient_injury'
    WHEN GROUPING(f.category, f.band) = 0 THEN 'length_of_restraint'
    WHEN GROUPING(i.age_group) = 0 THEN 'age_group'
    WHEN GROUPING(i.gender) = 0 THEN 'gender'
    WHEN GROUPING(i.ethnicity) = 0 THEN 'ethnicity'
    ELSE 'total'
  END AS breakdown,
  f.force_type, i.reason, f.injury_patient, f.category, f.band, i.age_group, i.gender,
  i.ethnicity,
  count(DISTINCT i.person_id COLLATE "C") AS people,  -- byte order: no locale-aware compares
  count(*) AS interventions,
  count(DISTINCT i.incident_id) AS incidents,
  avg(f.minutes) AS avg_minutes,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY f.minutes) AS median_minutes,
  max(f.minutes) AS max_minutes
FROM inc i
JOIN rs_stat_force f ON f.incident_id = i.incident_id AND f.stream_version = i.stream_version
GROUP BY GROUPING SETS (
  (), (f.force_type), (i.reason), (f.injury_patient), (f.category, f.band), (i.age_group),
  (i.gender), (i.ethnicity)
)
"""

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


def raw_rows(
    cur: psycopg.Cursor[Any], settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> list[RawRow]:
    """The aggregate rows in report order (unsuppressed: keep inside this module and tests)."""
    # each grouping set sorts the year's interventions; keep those sorts in memory
    cur.execute("SET LOCAL work_mem = '256MB'")
    rows = cur.execute(
        STATISTICS_SQL,
        {
            "start": period.start_utc,
            "end": period.end_utc_exclusive,
            "ends": as_of.array(incident_topic(settings)),
            "provider": scope.provider,
            "unit": scope.unit,
        },
    ).fetchall()
    keyed = []
    for row in rows:
        key, label, order = _key(row)
        keyed.append(
            (
                (BREAKDOWNS.index(row[0]), order, key),
                RawRow(
                    row[0],
                    key,
                    label,
                    int(row[9]),
                    int(row[10]),
                    int(row[11]),
                    row[12],
                    row[13],
                    row[14],
                ),
            )
        )
    return [r for _, r in sorted(keyed, key=lambda kv: kv[0])]


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
