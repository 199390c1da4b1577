"""How the statistics facts (`rs_stat_facts`) hold their values as small integers, and the byte
layouts the report reads them in. Pure data and conversions; no I/O.

Why integers: the report reads a year of facts (some 350,000 restrictive interventions) in one
scan and counts them in numpy; small codes make that a few array passes instead of ~30 sorts.

* Restrictive intervention type and reason: the national MHSDS code as a number ("07" -> 7).
  National codes never change meaning, so stored codes stay valid.
* Duration band: the position of (category, band) in `BANDS`; age group: the position in `AGES`.
  Both lists are the publication's (`statistics`); a change to them changes what the projection
  writes, so it needs a replay, like a change to the bands themselves always did.
* Gender and ethnicity (free text) and the person: keys from the dictionaries `rs_stat_labels`
  and `rs_stat_people`, assigned by PostgreSQL when a value is first written.

Layouts (big-endian, as PostgreSQL's `int4send` writes the header):

* header, one per incident version, computed by PostgreSQL from the version's columns:
  person key, gender key, ethnicity key (int32), reason code, age code, number of restrictive
  interventions (int16);
* intervention, one per force period, packed by the projection: duration in microseconds
  (int64), type code, patient injured (0/1), band code (uint8), one spare byte.
"""

from __future__ import annotations

import struct
from typing import Final

from contracts.codes import (
    ForceCategory,
    RestrictiveInterventionReason,
    RestrictiveInterventionType,
)
from services.reporting_service import statistics as st

# the published order of the breakdowns; a breakdown's index is its number in the aggregation
BREAKDOWNS: Final = (
    "total",
    "restrictive_intervention_type",
    "reason",
    "patient_injury",
    "length_of_restraint",
    "age_group",
    "gender",
    "ethnicity",
)

MISSING_BAND: Final = "Missing/Invalid"
_BANDS_OF: Final = {
    ForceCategory.PHYSICAL: st.RESTRAINT_BANDS,
    ForceCategory.CHEMICAL: st.RESTRAINT_BANDS,
    ForceCategory.MECHANICAL: st.RESTRAINT_BANDS,
    ForceCategory.SECLUSION: st.SECLUSION_BANDS,
    ForceCategory.SEGREGATION: st.SEGREGATION_BANDS,
}
BANDS: Final = tuple((c.value, b) for c in ForceCategory for b in (*_BANDS_OF[c], MISSING_BAND))
AGES: Final = (*st.AGE_GROUPS, st.AGE_UNKNOWN)

TYPE_OF_CODE: Final = {int(t.value): t.value for t in RestrictiveInterventionType}
REASON_OF_CODE: Final = {int(r.value): r.value for r in RestrictiveInterventionReason}
_BAND_CODE: Final = {band: code for code, band in enumerate(BANDS)}
_AGE_CODE: Final = {age: code for code, age in enumerate(AGES)}

HEADER: Final = struct.Struct(">iiihhh")
INTERVENTION: Final = struct.Struct(">qBBBx")
MICROSECONDS_PER_MINUTE: Final = 60 * 1_000_000


def type_code(force_type: str) -> int:
    return int(RestrictiveInterventionType(force_type).value)


def reason_code(reason: str) -> int:
    return int(RestrictiveInterventionReason(reason).value)


def band_code(category: str, band: str) -> int:
    return _BAND_CODE[(category, band)]


def age_code(age_group: str) -> int:
    return _AGE_CODE[age_group]


def pack_intervention(
    micros: int, force_type: str, injured: bool, category: str, band: str
) -> bytes:
    return INTERVENTION.pack(micros, type_code(force_type), int(injured), band_code(category, band))


def minutes(micros: int) -> float:
    """Minutes as the projection computes them from a timedelta (`total_seconds() / 60`): the
    same two correctly rounded divisions, so the same float."""
    return micros / 1_000_000 / 60
