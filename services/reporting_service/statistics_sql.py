"""The statistics report's SQL, over the compact fact tables (`rs_stat_incident`,
`rs_stat_force`): the fast statement the report runs, and the plain reference statement that
says the same thing in the obvious way (tests check that both agree; the benchmark times both).

Both take the latest version of each incident within the report's offsets (an anti-join: no
later version within the offsets), so amendments are applied and the answer depends only on the
`AsOf`.

Why the fast statement is shaped as it is. The reference groups the year's ~350,000 restrictive
interventions by eight GROUPING SETS with `count(DISTINCT ...)` and `percentile_cont`, which makes
PostgreSQL sort every set by its key and then sort again inside every group for each distinct
count and each median: some thirty sorts of the whole year. The fast statement reads the rows
once into a CTE with small integer codes and a rank `r` by minutes (one sort), then:

* counts, sums and maxima: one hashed GROUPING SETS pass;
* distinct incidents and people: one hash pass per incident and one per person that OR together
  a bit per code (`bit_or(1 << code)`), then the bits are counted per distinct mask, which is
  a few thousand rows; the free-text gender and ethnicity use a distinct (value, person) pass;
* medians: per set, one `percentile_disc` over `code << 32 | r` (a sort of plain integers) picks
  the two middle ranks of every group at once; their minutes are then interpolated exactly as
  `percentile_cont(0.5)` does (`lo + 0.5 * (hi - lo)`).

Fractions for `percentile_disc` are `(position - 0.5) / N`, so `ceil(fraction * N)` lands on the
wanted position whatever the floating-point rounding.

This module must never hold anything but SQL text and the code lists it is given.
"""

from __future__ import annotations

from typing import Final

from contracts.codes import (
    ForceCategory,
    RestrictiveInterventionReason,
    RestrictiveInterventionType,
)
from services.reporting_service import statistics as st

MISSING_BAND: Final = "Missing/Invalid"
_BANDS_OF = {
    ForceCategory.PHYSICAL: st.RESTRAINT_BANDS,
    ForceCategory.CHEMICAL: st.RESTRAINT_BANDS,
    ForceCategory.MECHANICAL: st.RESTRAINT_BANDS,
    ForceCategory.SECLUSION: st.SECLUSION_BANDS,
    ForceCategory.SEGREGATION: st.SEGREGATION_BANDS,
}

# code lists: a value's code is its index (at most 63 per list: codes are bits of a bigint)
TYPES: Final = tuple(t.value for t in RestrictiveInterventionType)
REASONS: Final = tuple(r.value for r in RestrictiveInterventionReason)
AGES: Final = (*st.AGE_GROUPS, st.AGE_UNKNOWN)
BANDS: Final = tuple(f"{c.value}:{b}" for c in ForceCategory for b in (*_BANDS_OF[c], MISSING_BAND))

# the code lists as the statement's parameters: reasons (set 2) and age groups (set 5) by value;
# force periods by (type, band), the category being the type's
CODE_LISTS: Final = {
    "list_sets": [2] * len(REASONS) + [5] * len(AGES),
    "list_values": [*REASONS, *AGES],
    "list_codes": [*range(len(REASONS)), *range(len(AGES))],
    "force_types": [t.value for t in RestrictiveInterventionType for _ in _BANDS_OF[t.category]]
    + [t.value for t in RestrictiveInterventionType],
    "force_bands": [b for t in RestrictiveInterventionType for b in _BANDS_OF[t.category]]
    + [MISSING_BAND for _ in RestrictiveInterventionType],
    "force_type_codes": [
        TYPES.index(t.value) for t in RestrictiveInterventionType for _ in _BANDS_OF[t.category]
    ]
    + [TYPES.index(t.value) for t in RestrictiveInterventionType],
    "force_band_codes": [
        BANDS.index(f"{t.category.value}:{b}")
        for t in RestrictiveInterventionType
        for b in _BANDS_OF[t.category]
    ]
    + [BANDS.index(f"{t.category.value}:{MISSING_BAND}") for t in RestrictiveInterventionType],
}

# set numbers of the eight breakdowns, as the statement numbers them
SETS: Final = (
    "total",
    "restrictive_intervention_type",
    "reason",
    "patient_injury",
    "length_of_restraint",
    "age_group",
    "gender",
    "ethnicity",
)


# the latest version of each incident in scope within the offsets (amendments applied), the
# rows both statements start from
LATEST_IN_SCOPE: Final = """\
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
"""

STATISTICS_SQL: Final = (
    "\nWITH latest AS MATERIALIZED (\n"  # noqa: S608 - this module's SQL constants only
    + LATEST_IN_SCOPE
    + """),
words AS MATERIALIZED (
  SELECT 6 + GROUPING(gender) AS s, coalesce(gender, ethnicity) AS value,
         row_number() OVER (PARTITION BY GROUPING(gender)
                            ORDER BY coalesce(gender, ethnicity) COLLATE "C")::int - 1 AS code
  FROM latest GROUP BY GROUPING SETS ((gender), (ethnicity))
),
listed AS (
  SELECT * FROM unnest(%(list_sets)s::int[], %(list_values)s::text[], %(list_codes)s::int[])
    AS l(s, value, code)
),
forces AS (
  SELECT * FROM unnest(%(force_types)s::text[], %(force_bands)s::text[],
                       %(force_type_codes)s::int[], %(force_band_codes)s::int[])
    AS f(force_type, band, type, band_code)
),
inc AS MATERIALIZED (
  SELECT (row_number() OVER ())::int AS incident, l.incident_id, l.stream_version, l.person_id,
         r.code AS reason, a.code AS age, g.code AS gender, e.code AS ethnicity
  FROM latest l
  LEFT JOIN listed r ON r.s = 2 AND r.value = l.reason
  LEFT JOIN listed a ON a.s = 5 AND a.value = l.age_group
  LEFT JOIN words g ON g.s = 6 AND g.value = l.gender
  LEFT JOIN words e ON e.s = 7 AND e.value = l.ethnicity
),
j AS MATERIALIZED (
  SELECT row_number() OVER (ORDER BY f.minutes) AS r, i.incident, i.person_id, c.type,
         i.reason, f.injury_patient::int AS injury, c.band_code AS band, i.age, i.gender,
         i.ethnicity, f.minutes
  FROM inc i
  JOIN rs_stat_force f ON f.incident_id = i.incident_id AND f.stream_version = i.stream_version
  LEFT JOIN forces c ON c.force_type = f.force_type AND c.band = f.band
),
sums AS MATERIALIZED (
  SELECT CASE
      WHEN GROUPING(type) = 0 THEN 1 WHEN GROUPING(reason) = 0 THEN 2
      WHEN GROUPING(injury) = 0 THEN 3 WHEN GROUPING(band) = 0 THEN 4
      WHEN GROUPING(age) = 0 THEN 5 WHEN GROUPING(gender) = 0 THEN 6
      WHEN GROUPING(ethnicity) = 0 THEN 7 ELSE 0 END AS s,
    coalesce(type, reason, injury, band, age, gender, ethnicity, 0) AS code,
    count(*) AS n, sum(minutes) AS total, max(minutes) AS top
  FROM j
  GROUP BY GROUPING SETS ((), (type), (reason), (injury), (band), (age), (gender), (ethnicity))
),
positions AS (
  SELECT s, code, n, sum(n) OVER (PARTITION BY s ORDER BY code) - n AS start,
         sum(n) OVER (PARTITION BY s) AS all_n
  FROM sums
),
fractions AS MATERIALIZED (
  SELECT s, array_agg(f ORDER BY code, f) AS f FROM (
    SELECT s, code, (start + (n + 1) / 2 - 0.5)::float8 / all_n AS f FROM positions
    WHERE n > 0
    UNION ALL
    SELECT s, code, (start + n / 2 + 1 - 0.5)::float8 / all_n FROM positions WHERE n > 0
  ) x GROUP BY s
),
middles AS MATERIALIZED (
  SELECT
    percentile_disc((SELECT f FROM fractions WHERE s = 0)) WITHIN GROUP
      (ORDER BY r) AS m0,
    percentile_disc((SELECT f FROM fractions WHERE s = 1)) WITHIN GROUP
      (ORDER BY type::int8 << 32 | r) AS m1,
    percentile_disc((SELECT f FROM fractions WHERE s = 2)) WITHIN GROUP
      (ORDER BY reason::int8 << 32 | r) AS m2,
    percentile_disc((SELECT f FROM fractions WHERE s = 3)) WITHIN GROUP
      (ORDER BY injury::int8 << 32 | r) AS m3,
    percentile_disc((SELECT f FROM fractions WHERE s = 4)) WITHIN GROUP
      (ORDER BY band::int8 << 32 | r) AS m4,
    percentile_disc((SELECT f FROM fractions WHERE s = 5)) WITHIN GROUP
      (ORDER BY age::int8 << 32 | r) AS m5,
    percentile_disc((SELECT f FROM fractions WHERE s = 6)) WITHIN GROUP
      (ORDER BY gender::int8 << 32 | r) AS m6,
    percentile_disc((SELECT f FROM fractions WHERE s = 7)) WITHIN GROUP
      (ORDER BY ethnicity::int8 << 32 | r) AS m7
  FROM j
),
mids AS MATERIALIZED (
  SELECT s, o, k & 4294967295 AS r
  FROM middles,
    LATERAL (VALUES (0, m0), (1, m1), (2, m2), (3, m3), (4, m4), (5, m5), (6, m6), (7, m7))
      v(s, m),
    unnest(m) WITH ORDINALITY AS u(k, o)
),
per_incident AS MATERIALIZED (
  SELECT person_id, reason, age, gender, ethnicity, bit_or(1::int8 << type) AS types,
         bit_or(1::int8 << injury) AS injuries, bit_or(1::int8 << band) AS bands
  FROM j GROUP BY incident, person_id, reason, age, gender, ethnicity
),
per_person AS MATERIALIZED (
  SELECT bit_or(types) AS types, bit_or(1::int8 << reason) AS reasons,
         bit_or(injuries) AS injuries, bit_or(bands) AS bands, bit_or(1::int8 << age) AS ages,
         bit_or(CASE WHEN gender < 63 THEN 1::int8 << gender ELSE 0 END) AS genders,
         bit_or(CASE WHEN ethnicity < 63 THEN 1::int8 << ethnicity ELSE 0 END) AS ethnicities
  FROM per_incident GROUP BY person_id
),
masks AS (
  SELECT 'people' AS kind, 0 AS s, 1::int8 AS mask, count(*) AS n FROM per_person
  UNION ALL SELECT 'people', 1, types, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'people', 2, reasons, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'people', 3, injuries, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'people', 4, bands, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'people', 5, ages, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'people', 6, genders, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'people', 7, ethnicities, count(*) FROM per_person GROUP BY 3
  UNION ALL SELECT 'incidents', 1, types, count(*) FROM per_incident GROUP BY 3
  UNION ALL SELECT 'incidents', 3, injuries, count(*) FROM per_incident GROUP BY 3
  UNION ALL SELECT 'incidents', 4, bands, count(*) FROM per_incident GROUP BY 3
)
SELECT 'n' AS kind, s, code::int8, n, total AS x, top AS y, NULL::text AS label FROM sums
UNION ALL SELECT 'mid', s, o, r, NULL, NULL, NULL FROM mids
UNION ALL SELECT 'minutes', NULL, NULL, r, minutes, NULL, NULL FROM j
  WHERE r IN (SELECT r FROM mids)
UNION ALL SELECT kind, s, b, sum(n)::int8, NULL, NULL, NULL
  FROM masks, generate_series(0, 62) b WHERE mask & (1::int8 << b) <> 0 GROUP BY kind, s, b
UNION ALL SELECT 'people', 6, gender, count(*), NULL, NULL, NULL  -- values past 62 bits
  FROM (SELECT gender FROM per_incident WHERE gender >= 63 GROUP BY gender, person_id) d
  GROUP BY gender
UNION ALL SELECT 'people', 7, ethnicity, count(*), NULL, NULL, NULL
  FROM (SELECT ethnicity FROM per_incident WHERE ethnicity >= 63 GROUP BY ethnicity, person_id) d
  GROUP BY ethnicity
UNION ALL SELECT 'incidents', s, code, n, NULL, NULL, NULL FROM (
  SELECT CASE WHEN GROUPING(reason) = 0 THEN 2 WHEN GROUPING(age) = 0 THEN 5
              WHEN GROUPING(gender) = 0 THEN 6 WHEN GROUPING(ethnicity) = 0 THEN 7
              ELSE 0 END AS s,
         coalesce(reason, age, gender, ethnicity, 0)::int8 AS code, count(*) AS n
  FROM per_incident GROUP BY GROUPING SETS ((), (reason), (age), (gender), (ethnicity))) c
UNION ALL SELECT 'label', s, code, NULL, NULL, NULL, value FROM words
UNION ALL SELECT 'uncoded', NULL, NULL, count(*), NULL, NULL, NULL FROM j
  WHERE type IS NULL OR reason IS NULL OR band IS NULL OR age IS NULL OR gender IS NULL
    OR ethnicity IS NULL
"""
)

REFERENCE_SQL: Final = (
    """
WITH inc AS (
"""
    + LATEST_IN_SCOPE
    + """)
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
  count(DISTINCT i.person_id COLLATE "C") AS people,  -- byte order: no locale compares
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
)
