"""The statistics report's SQL: the scan of the coded facts the report runs, and the plain
reference statement that says the same thing in the obvious way over the plain facts (tests check
that both agree; the benchmark times both). Tables: `statistics_facts`.

Both take the latest version of each incident within the report's offsets, so amendments are
applied and the answer depends only on the `AsOf`. The reference finds it with an anti-join (no
later version within the offsets); the report with the offsets each coded version carries
(`written_offset`, `superseded_offset`), a plain filter. The report's scan aggregates nothing but
two `string_agg`s: every version's header and its packed interventions, which
`statistics_tally` counts. A JIT compile would cost more than the scan, so the report turns it
off.

This module must never hold anything but SQL text.
"""

from __future__ import annotations

from typing import Final

SCOPED_FACTS: Final = """
SELECT coalesce(string_agg(header, ''), ''::bytea),
       coalesce(string_agg(interventions, ''), ''::bytea)
FROM rs_stat_facts
WHERE started_at >= %(start)s AND started_at < %(end)s
  AND written_offset < (%(ends)s::bigint[])[partition + 1]
  AND (superseded_offset IS NULL OR superseded_offset >= (%(ends)s::bigint[])[partition + 1])
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND (%(unit)s::text IS NULL OR unit = %(unit)s)
"""

LABELS: Final = "SELECT label_key, label FROM rs_stat_labels WHERE label_key = ANY(%(keys)s::int[])"

# the latest version of each incident in scope within the offsets (amendments applied), found
# the obvious way: no later version within the offsets
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
