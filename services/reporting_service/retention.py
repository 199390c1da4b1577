"""Retention of use-of-force records and legal holds.

Act s.6(6): a record is kept at least 3 years from the date it was made (here: `recorded_at` of
its IncidentRecorded event). The service's settings choose the period (floor 3 years; defaults
follow the Records Management Code of Practice 2021: non-serious incidents 10 years, serious
incidents - death or serious injury - 20 years, domain.md §7.2). Listing a record as due never
destroys anything: destruction (crypto-shredding) is a separate, later decision. A record under
an active legal hold is never listed as due.

This module must never delete rows, and never store free text on a hold (it could be personal).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

import psycopg
from pydantic import BaseModel, StringConstraints

from services.reporting_service.scope import ReportError

HoldReason = Literal["public_inquiry", "coroner", "litigation", "regulator", "other"]
ActorId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")
]


class HoldIn(BaseModel):
    incident_id: uuid.UUID
    reason_code: HoldReason
    placed_by: ActorId


class LiftIn(BaseModel):
    lifted_by: ActorId


class Hold(BaseModel):
    hold_id: uuid.UUID
    incident_id: uuid.UUID
    reason_code: str
    placed_by: str
    placed_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None


class DueRecord(BaseModel):
    incident_id: uuid.UUID
    provider: str
    unit: str
    record_made_at: datetime
    serious: bool
    retention_years: int
    keep_until: date


class DueList(BaseModel):
    on_date: date
    retention_years: int
    serious_incident_retention_years: int
    records: list[DueRecord]


DUE_SQL = """
WITH latest AS (
  SELECT DISTINCT ON (incident_id) incident_id, provider, unit,
    coalesce((state->'record'->>'patient_died')::boolean, false)
      OR coalesce((state->'record'->>'patient_serious_injury')::boolean, false) AS serious
  FROM rs_incident_versions ORDER BY incident_id, stream_version DESC),
made AS (
  SELECT DISTINCT ON (incident_id) incident_id, recorded_at AS made_at
  FROM rs_incident_versions ORDER BY incident_id, stream_version),
due AS (
  SELECT l.incident_id, l.provider, l.unit, m.made_at, l.serious,
    CASE WHEN l.serious THEN %(serious_years)s ELSE %(years)s END AS years
  FROM latest l JOIN made m USING (incident_id))
SELECT incident_id, provider, unit, made_at, serious, years,
       ((made_at AT TIME ZONE 'Europe/London')::date + make_interval(years => years))::date
FROM due
WHERE ((made_at AT TIME ZONE 'Europe/London')::date + make_interval(years => years))::date
      <= %(on)s
  AND (%(provider)s::text IS NULL OR provider = %(provider)s)
  AND NOT EXISTS (
    SELECT 1 FROM rs_legal_holds h WHERE h.incident_id = due.incident_id AND h.lifted_at IS NULL)
ORDER BY made_at, incident_id
"""


def due(
    cur: psycopg.Cursor[Any], on: date, years: int, serious_years: int, provider: str | None
) -> DueList:
    rows = cur.execute(
        DUE_SQL,
        {"on": on, "years": years, "serious_years": serious_years, "provider": provider},
    ).fetchall()
    return DueList(
        on_date=on,
        retention_years=years,
        serious_incident_retention_years=serious_years,
        records=[
            DueRecord(
                incident_id=i,
                provider=p,
                unit=u,
                record_made_at=m,
                serious=s,
                retention_years=y,
                keep_until=k,
            )
            for i, p, u, m, s, y, k in rows
        ],
    )


_HOLD_COLUMNS = "hold_id, incident_id, reason_code, placed_by, placed_at, lifted_by, lifted_at"


def _hold(row: Any) -> Hold:
    return Hold(**dict(zip(_HOLD_COLUMNS.split(", "), row, strict=True)))


def place_hold(cur: psycopg.Cursor[Any], hold: HoldIn) -> Hold:
    known = cur.execute(
        "SELECT 1 FROM rs_incident_versions WHERE incident_id = %s LIMIT 1", (hold.incident_id,)
    ).fetchone()
    if known is None:
        raise ReportError("incident_id", "known_incident", "no such incident", 404)
    row = cur.execute(
        f"INSERT INTO rs_legal_holds ({_HOLD_COLUMNS}) "  # noqa: S608 - literal column list
        "VALUES (%s,%s,%s,%s,now(),NULL,NULL) RETURNING " + _HOLD_COLUMNS,
        (uuid.uuid4(), hold.incident_id, hold.reason_code, hold.placed_by),
    ).fetchone()
    return _hold(row)


def person_of(cur: psycopg.Cursor[Any], incident_id: uuid.UUID) -> str:
    """The (pseudonymous) person an incident's record is about."""
    row = cur.execute(
        "SELECT person_id FROM rs_incident_versions WHERE incident_id = %s LIMIT 1", (incident_id,)
    ).fetchone()
    if row is None:
        raise ReportError("incident_id", "known_incident", "no such incident", 404)
    return str(row[0])


def lift_hold(cur: psycopg.Cursor[Any], hold_id: uuid.UUID, lift: LiftIn) -> Hold:
    row = cur.execute(
        "UPDATE rs_legal_holds SET lifted_by = %s, lifted_at = now() "  # noqa: S608
        "WHERE hold_id = %s AND lifted_at IS NULL RETURNING " + _HOLD_COLUMNS,
        (lift.lifted_by, hold_id),
    ).fetchone()
    if row is None:
        raise ReportError("hold_id", "active_hold", "no active hold with this id", 404)
    return _hold(row)


def holds(cur: psycopg.Cursor[Any], active_only: bool) -> list[Hold]:
    rows = cur.execute(
        f"SELECT {_HOLD_COLUMNS} FROM rs_legal_holds "  # noqa: S608
        "WHERE (NOT %s OR lifted_at IS NULL) ORDER BY placed_at, hold_id",
        (active_only,),
    ).fetchall()
    return [_hold(r) for r in rows]
