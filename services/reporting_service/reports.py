"""Builds each report in one consistent snapshot and renders it as deterministic JSON, CSV or PDF.

A report document is `{"report": ..., "provenance": ..., "report_sha256": ...}` in canonical
JSON (`contracts.canonical`: sorted keys, no whitespace, no floats), computed from the projection
as of the offsets in its provenance. Nothing in it depends on the clock, so the same offsets give
the same bytes; the generation time travels in an HTTP header only. CSV carries the provenance
as leading `# name: value` lines, then a header row and rows in the report's fixed order.

This module must never put a generation time, a random value or an unsuppressed count into a
document.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from psycopg_pool import ConnectionPool

from contracts.canonical import canonical_bytes
from services.common.settings import CommonSettings
from services.reporting_service import (
    concordance,
    mhsds,
    provenance,
    report_pdf,
    section6,
    statistics_queries,
    store,
)
from services.reporting_service.scope import AsOf, Period, Scope

Kind = Literal["section6", "statistics", "concordance", "mhsds"]

SOURCES = {
    "statistics": "NHSDigital/mental-health-monthly-statistics @7b4d742, Restraints/ "
    "(Published_CSV_Suppression.py, Restraints_Prep.py); see services/reporting_service/README.md",
}


@dataclass(frozen=True)
class Built:
    document: dict[str, Any]
    body: bytes


def _section6(cur: Any, settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf) -> Any:
    entries = [section6.entry(i) for i in store.incidents(cur, settings, scope, period, as_of)]
    return {
        "incidents": entries,
        "summary": {
            "incidents": len(entries),
            "complete": sum(1 for e in entries if e["completeness"]["complete"]),
            "amended": sum(1 for e in entries if e["amendments"]),
        },
    }


def _concordance(
    cur: Any, settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> Any:
    found = store.incidents(cur, settings, scope, period, as_of)
    keys = {k for k in map(_plan_key, found) if k is not None}
    versions = store.plan_versions(cur, settings, as_of, keys)
    reviews = store.plan_reviews(cur, settings, as_of, {p for p, _ in keys})
    out = []
    for incident in found:
        key = _plan_key(incident)
        out.append(
            concordance.assess(
                incident,
                versions.get(key) if key else None,
                reviews.get(key[0], []) if key else [],
            )
        )
    return {"incidents": out}


def _plan_key(incident: store.Incident) -> tuple[uuid.UUID, int] | None:
    plan_id = incident.record.get("plan_id")
    number = incident.record.get("plan_version_in_force")
    return (uuid.UUID(str(plan_id)), int(number)) if plan_id and number else None


def _mhsds(cur: Any, settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf) -> Any:
    found = store.incidents(cur, settings, scope, period, as_of)
    return {
        "MHS505RestrictiveInterventInc": [mhsds.mhs505(i) for i in found],
        "MHS515RestrictiveInterventType": [row for i in found for row in mhsds.mhs515(i)],
    }


def _statistics(
    cur: Any, settings: CommonSettings, scope: Scope, period: Period, as_of: AsOf
) -> Any:
    return {
        **statistics_queries.report_body(cur, settings, scope, period, as_of),
        "rules": {
            "counts": "under 5 shown as '*'; otherwise round(value/5)*5, half up",
            "rates": "per 1,000 bed days, rounded half up to a whole number; '*' when people "
            "or restrictive interventions (or the rate's own count) are under 5 or bed days "
            "under 100; null when bed days are not known; only on total and type rows",
            "durations": "average/median/maximum minutes are not suppressed",
            "source": SOURCES["statistics"],
        },
    }


BUILDERS: dict[str, Callable[..., Any]] = {
    "section6": _section6,
    "statistics": _statistics,
    "concordance": _concordance,
    "mhsds": _mhsds,
}


def build(
    pool: ConnectionPool,
    settings: CommonSettings,
    kind: Kind,
    scope: Scope,
    period: Period,
    as_of_text: str | None,
    identifiable: bool = True,
) -> Built:
    """One report from one REPEATABLE READ snapshot (offsets and rows agree). Without
    ``identifiable``, section 6 entries lose names, NHS numbers and narratives before hashing."""
    with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        as_of = provenance.resolve_as_of(cur, as_of_text)
        body = BUILDERS[kind](cur, settings, scope, period, as_of)
        prov = provenance.compute(cur, as_of)
    if kind == "section6" and not identifiable:
        body = {**body, "incidents": [section6.without_identifiers(i) for i in body["incidents"]]}
    report = {"kind": kind, "scope": scope.describe(), "period": period.describe(), **body}
    document = {
        "report": report,
        "provenance": prov.model_dump(mode="json"),
        "report_sha256": "sha256:" + hashlib.sha256(canonical_bytes(report)).hexdigest(),
    }
    return Built(document, canonical_bytes(document))


def provenance_only(pool: ConnectionPool, as_of_text: str | None) -> provenance.Provenance:
    with pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return provenance.compute(cur, provenance.resolve_as_of(cur, as_of_text))


# --- CSV ---------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


CONCORDANCE_COLUMNS = (
    "incident_id",
    "started_at",
    "plan_id",
    "plan_version_in_force",
    "plan_version_found",
    "force_type",
    "force_type_label",
    "plan_preference",
    "in_plan",
    "person_did_not_want",
    "recorded_as_part_of_care_plan",
    "recorded_matches_plan",
    "notification_followed",
    "pi_review_held_with_patient",
    "pi_review_days_after",
    "plan_reviewed_after",
    "plan_review_linked",
    "plan_review_days_after",
)


def _concordance_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for item in report["incidents"]:
        for force in item["force_types"]:
            rows.append(
                {
                    "incident_id": item["incident_id"],
                    "started_at": item["started_at"],
                    "plan_id": item["plan_id"],
                    "plan_version_in_force": item["plan_version_in_force"],
                    "plan_version_found": item["plan_version_found"],
                    "force_type": force["code"],
                    "force_type_label": force["label"],
                    "plan_preference": force["plan_preference"],
                    "in_plan": force["in_plan"],
                    "person_did_not_want": force["person_did_not_want"],
                    "recorded_as_part_of_care_plan": force["recorded_as_part_of_care_plan"],
                    "recorded_matches_plan": force["recorded_matches_plan"],
                    "notification_followed": item["notification"]["followed"],
                    "pi_review_held_with_patient": item["post_incident_review"][
                        "held_with_patient"
                    ],
                    "pi_review_days_after": item["post_incident_review"]["days_after"],
                    "plan_reviewed_after": item["plan_review_after"]["reviewed"],
                    "plan_review_linked": item["plan_review_after"]["linked_to_incident"],
                    "plan_review_days_after": item["plan_review_after"]["days_after"],
                }
            )
    return rows


def csv_rows(kind: Kind, report: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if kind == "statistics":
        return list(report["rows"])
    if kind == "section6":
        return [section6.csv_row(i) for i in report["incidents"]]
    if kind == "concordance":
        return _concordance_rows(report)
    return list(report[table])


CSV_FIELDS: dict[str, tuple[str, ...]] = {
    "MHS505RestrictiveInterventInc": mhsds.MHS505_FIELDS,
    "MHS515RestrictiveInterventType": mhsds.MHS515_FIELDS,
    "section6": section6.CSV_COLUMNS,
    "statistics": statistics_queries.CSV_COLUMNS,
    "concordance": CONCORDANCE_COLUMNS,
}


def render_csv(built: Built, kind: Kind, table: str = "MHS505RestrictiveInterventInc") -> bytes:
    doc = built.document
    rows = csv_rows(kind, doc["report"], table)
    prov = doc["provenance"]
    out = io.StringIO()
    for name in ("as_of", "events", "events_digest", "merkle_root"):
        out.write(f"# {name}: {prov[name]}\n")
    out.write(f"# report_sha256: {doc['report_sha256']}\n")
    fields = CSV_FIELDS[table if kind == "mhsds" else kind]
    writer = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in fields})
    return out.getvalue().encode("utf-8")


# --- PDF ---------------------------------------------------------------------------------------


def render_pdf(built: Built, kind: Kind) -> bytes:
    """The printable report (`report_pdf`), drawn from the same document as JSON and CSV."""
    doc = built.document
    if kind == "concordance":
        return report_pdf.render(doc, kind, concordance_rows=_concordance_rows(doc["report"]))
    if kind == "mhsds":
        tables = {name: CSV_FIELDS[name] for name in MHSDS_TABLES}
        return report_pdf.render(doc, kind, mhsds_tables=tables)
    return report_pdf.render(doc, kind)


MHSDS_TABLES = ("MHS505RestrictiveInterventInc", "MHS515RestrictiveInterventType")
