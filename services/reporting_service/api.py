"""HTTP entry point of the reporting_service. Thin: parse, call the report builders, map the
result. Reports answer in JSON (default), CSV (`format=csv` or `Accept: text/csv`) or printable
PDF (`format=pdf` or `Accept: application/pdf`); errors name the field and the rule, never a
submitted value.

This module must never compute a report itself or put the generation time into a report body
(it travels in the `X-Generated-At` header).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field, StringConstraints

from contracts.common import format_utc
from services.common.app import ServiceState, create_service_app
from services.common.auth import CurrentPrincipal, Principal, Protected, forbidden
from services.common.http_errors import ERROR_RESPONSES
from services.common.key_vault import KeyVault, VaultRefusal, open_key_vault
from services.common.settings import CommonSettings
from services.reporting_service import regulator_page, reports, retention
from services.reporting_service.projection import apply_reporting_schema
from services.reporting_service.provenance import Provenance
from services.reporting_service.scope import Period, ReportError, Scope
from services.reporting_service.settings import ReportingServiceSettings

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Mental Health Units (Use of Force) Act 2018 compliance reports a regulator can check."
)

OdsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,9}$")]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class About(BaseModel):
    service: str
    description: str
    docs: str


# --- response models (documentation of the JSON bodies) -----------------------------------------


class ScopeOut(BaseModel):
    level: Literal["all", "provider", "unit"]
    provider: str | None
    unit: str | None


class PeriodOut(BaseModel):
    from_date: date
    to_date: date
    dates: str


class StatisticsRow(BaseModel):
    breakdown: str
    key: str
    label: str
    MHS76_people: int | str = Field(description="'*' when under 5, else to the nearest 5.")
    MHS77_restrictive_interventions: int | str
    MHS136_incidents: int | str
    MHS96_restrictive_interventions_per_1000_bed_days: int | str | None
    people_per_1000_bed_days: int | str | None
    incidents_per_1000_bed_days: int | str | None
    average_minutes: str | None
    median_minutes: str | None
    maximum_minutes: str | None


class BedDaysUsed(BaseModel):
    known: bool
    total: int | None
    inputs: list[dict[str, Any]]


class StatisticsReport(BaseModel):
    kind: Literal["statistics"]
    scope: ScopeOut
    period: PeriodOut
    bed_days: BedDaysUsed
    rows: list[StatisticsRow]
    rules: dict[str, str]


class ReportSection(BaseModel):
    kind: Literal["section6", "concordance", "mhsds"]
    scope: ScopeOut
    period: PeriodOut
    model_config = {"extra": "allow"}


class StatisticsDocument(BaseModel):
    report: StatisticsReport
    provenance: Provenance
    report_sha256: str


class ReportDocument(BaseModel):
    """section6: `incidents` (s.6(5) items a-p, amendments, completeness) and `summary`;
    concordance: `incidents`; mhsds: `MHS505RestrictiveInterventInc`, `MHS515...Type` rows."""

    report: ReportSection
    provenance: Provenance
    report_sha256: str


class BedDaysIn(BaseModel):
    provider: OdsCode
    unit: UnitName
    period_start: date
    period_end: date
    bed_days: int = Field(ge=0, le=100_000_000)


class BedDaysOut(BedDaysIn):
    pass


# --- dependencies -----------------------------------------------------------------------------


class ReportQuery:
    def __init__(
        self,
        from_date: Annotated[date, Query(description="First local date (inclusive).")],
        to_date: Annotated[date, Query(description="Last local date (inclusive).")],
        provider: Annotated[OdsCode | None, Query(description="Provider ODS code.")] = None,
        unit: Annotated[UnitName | None, Query(description="Unit name within provider.")] = None,
        as_of: Annotated[
            str | None,
            Query(
                max_length=20_000,
                description="topic:partition:end_offset,... from a report's provenance; "
                "default: everything applied so far.",
            ),
        ] = None,
        format: Annotated[
            Literal["json", "csv", "pdf"] | None,
            Query(description="json (default), csv or pdf; else from the Accept header."),
        ] = None,
    ) -> None:
        self.scope = Scope(provider, unit)
        self.period = Period(from_date, to_date)
        self.as_of = as_of
        self.format = format


Output = Literal["json", "csv", "pdf"]


def _output(request: Request, query: ReportQuery) -> Output:
    """`format` wins; else `Accept` asking for CSV or PDF and not for JSON; else JSON."""
    if query.format is not None:
        return query.format
    accept = request.headers.get("accept", "")
    if "application/json" in accept:
        return "json"
    if "text/csv" in accept:
        return "csv"
    return "pdf" if "application/pdf" in accept else "json"


def _respond(
    built: reports.Built, output: Output, kind: reports.Kind, table: str | None = None
) -> Response:
    headers = {
        "X-Generated-At": format_utc(datetime.now(UTC)),
        "X-Report-SHA256": built.document["report_sha256"],
        "X-Events-Digest": built.document["provenance"]["events_digest"],
        "X-Merkle-Root": built.document["provenance"]["merkle_root"],
    }
    if output == "csv":
        body = reports.render_csv(built, kind, table or "MHS505RestrictiveInterventInc")
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    if output == "pdf":
        filename = f"{kind}-{built.document['report_sha256'].removeprefix('sha256:')[:16]}.pdf"
        headers["Content-Disposition"] = f'inline; filename="{filename}"'
        return Response(
            reports.render_pdf(built, kind), media_type="application/pdf", headers=headers
        )
    return Response(built.body, media_type="application/json", headers=headers)


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    200: {
        "content": {"text/csv": {}, "application/pdf": {}},
        "description": "The report (JSON, CSV or printable PDF)",
    },
}


def create_app(settings: CommonSettings | None = None) -> FastAPI:
    settings = settings or ReportingServiceSettings()
    own = settings if isinstance(settings, ReportingServiceSettings) else None
    state_holder: dict[str, ServiceState] = {}
    about = APIRouter(tags=["about"])
    router = APIRouter(prefix="/reports", tags=["reports"])
    admin = APIRouter(tags=["retention and inputs"])

    def pool() -> ConnectionPool:
        state = state_holder["state"]
        if state.pool is None:
            raise RuntimeError("service not started")
        return state.pool

    @about.get("/", response_model=About, summary="What this service is")
    def root() -> About:
        return About(service=settings.service_name, description=DESCRIPTION, docs="/docs")

    def report(kind: reports.Kind, query: ReportQuery, principal: Principal) -> reports.Built:
        """Regulators read every provider; governance its own (the token's `provider`). Names,
        NHS numbers and narratives only with the token's `identifiable: true`."""
        if not principal.has("regulator") and query.scope.provider != principal.provider:
            raise forbidden("provider", "own_provider", "the token's provider does not cover this")
        return reports.build(
            pool(),
            settings,
            kind,
            query.scope,
            query.period,
            query.as_of,
            identifiable=principal.identifiable,
        )

    @router.get(
        "/section6",
        response_model=ReportDocument,
        responses=CSV_RESPONSE,
        summary="Section 6 records: every s.6(5) item, amendments, completeness",
    )
    def section6_report(
        request: Request, principal: CurrentPrincipal, query: Annotated[ReportQuery, Depends()]
    ) -> Response:
        built = report("section6", query, principal)
        return _respond(built, _output(request, query), "section6")

    @router.get(
        "/statistics",
        response_model=StatisticsDocument,
        responses=CSV_RESPONSE,
        summary="NHS England-style statistics with disclosure control",
    )
    def statistics_report(
        request: Request, principal: CurrentPrincipal, query: Annotated[ReportQuery, Depends()]
    ) -> Response:
        built = report("statistics", query, principal)
        return _respond(built, _output(request, query), "statistics")

    @router.get(
        "/concordance",
        response_model=ReportDocument,
        responses=CSV_RESPONSE,
        summary="Each use of force against the plan version in force",
    )
    def concordance_report(
        request: Request, principal: CurrentPrincipal, query: Annotated[ReportQuery, Depends()]
    ) -> Response:
        built = report("concordance", query, principal)
        return _respond(built, _output(request, query), "concordance")

    @router.get(
        "/mhsds",
        response_model=ReportDocument,
        responses=CSV_RESPONSE,
        summary="MHSDS-shaped MHS505/MHS515 extract (CSV: one table, chosen by `table`)",
    )
    def mhsds_report(
        request: Request,
        principal: CurrentPrincipal,
        query: Annotated[ReportQuery, Depends()],
        table: Literal["MHS505", "MHS515"] = "MHS505",
    ) -> Response:
        name = (
            "MHS505RestrictiveInterventInc"
            if table == "MHS505"
            else "MHS515RestrictiveInterventType"
        )
        built = report("mhsds", query, principal)
        return _respond(built, _output(request, query), "mhsds", name)

    @router.get(
        "/provenance",
        response_model=Provenance,
        responses=ERROR_RESPONSES,
        summary="Which events the projection holds (or held at `as_of`), with digest and root",
    )
    def provenance_route(
        as_of: Annotated[str | None, Query(max_length=20_000)] = None,
    ) -> Provenance:
        return reports.provenance_only(pool(), as_of)

    @admin.put(
        "/bed-days",
        response_model=BedDaysOut,
        responses=ERROR_RESPONSES,
        summary="Record occupied bed days of a unit for a period (no event carries them)",
    )
    def put_bed_days(body: BedDaysIn) -> BedDaysOut:
        if body.period_end < body.period_start:
            raise ReportError("period_end", "not_before_period_start", "period ends before start")
        with pool().connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO rs_bed_days VALUES (%s,%s,%s,%s,%s) ON CONFLICT "
                "(provider, unit, period_start, period_end) DO UPDATE SET bed_days = "
                "excluded.bed_days",
                (body.provider, body.unit, body.period_start, body.period_end, body.bed_days),
            )
        return BedDaysOut(**body.model_dump())

    @admin.get("/bed-days", response_model=list[BedDaysOut], summary="Bed days recorded")
    def get_bed_days(provider: Annotated[OdsCode | None, Query()] = None) -> list[BedDaysOut]:
        with pool().connection() as conn:
            rows = conn.execute(
                "SELECT provider, unit, period_start, period_end, bed_days FROM rs_bed_days "
                "WHERE %s::text IS NULL OR provider = %s ORDER BY 1, 2, 3, 4",
                (provider, provider),
            ).fetchall()
        return [
            BedDaysOut(provider=p, unit=u, period_start=s, period_end=e, bed_days=b)
            for p, u, s, e, b in rows
        ]

    @admin.get(
        "/retention/due",
        response_model=retention.DueList,
        summary="Records past their retention date and under no legal hold",
    )
    def retention_due(
        on_date: Annotated[date | None, Query(description="Default: today (UTC).")] = None,
        provider: Annotated[OdsCode | None, Query()] = None,
    ) -> retention.DueList:
        years = own.use_of_force_retention_years if own else 10
        serious = own.serious_incident_retention_years if own else 20
        with pool().connection() as conn, conn.cursor() as cur:
            return retention.due(cur, on_date or datetime.now(UTC).date(), years, serious, provider)

    @admin.post(
        "/admin/legal-holds",
        response_model=retention.Hold,
        status_code=201,
        responses=ERROR_RESPONSES,
        summary="Place a legal hold on an incident's record",
    )
    def place_hold(body: retention.HoldIn) -> retention.Hold:
        # the key vault holds the person too, so plan_service cannot erase them meanwhile
        with pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            hold = retention.place_hold(cur, body)
            person = retention.person_of(cur, hold.incident_id)
            vault().place_hold(str(hold.hold_id), person, hold.reason_code, hold.placed_by)
            return hold

    @admin.post(
        "/admin/legal-holds/{hold_id}/lift",
        response_model=retention.Hold,
        responses=ERROR_RESPONSES,
        summary="Lift a legal hold",
    )
    def lift_hold(hold_id: uuid.UUID, body: retention.LiftIn) -> retention.Hold:
        with pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
            hold = retention.lift_hold(cur, hold_id, body)
            vault().release_hold(str(hold_id))
            return hold

    @admin.get("/admin/legal-holds", response_model=list[retention.Hold], summary="Legal holds")
    def list_holds(active_only: bool = True) -> list[retention.Hold]:
        with pool().connection() as conn, conn.cursor() as cur:
            return retention.holds(cur, active_only)

    vaults: dict[str, tuple[KeyVault, ConnectionPool]] = {}

    def vault() -> KeyVault:
        if "vault" not in vaults:
            if own is None:
                raise RuntimeError("legal holds need the reporting service's own settings")
            vaults["vault"] = open_key_vault(own)
        return vaults["vault"][0]

    def on_shutdown(_: ServiceState) -> None:
        if "vault" in vaults:
            vaults.pop("vault")[1].close()

    def on_startup(state: ServiceState) -> None:
        state_holder["state"] = state
        if state.pool is None:
            return
        try:
            with state.pool.connection(timeout=10) as conn:
                apply_reporting_schema(conn)
        except (psycopg.OperationalError, TimeoutError) as exc:
            log.warning("schema not applied at start-up (%s); /readyz will say", type(exc).__name__)

    reports_by_kind = {
        "statistics": statistics_report,
        "section6": section6_report,
        "concordance": concordance_report,
    }
    pages = regulator_page.routers(ReportQuery, reports_by_kind)
    app = create_service_app(
        settings,
        title="reporting_service",
        description=DESCRIPTION,
        routers=[
            about,
            Protected(router, roles=("regulator", "governance"), audited=True),
            Protected(admin, roles=("admin",), audited=True),
            Protected(pages, roles=("regulator",), audited=True),
        ],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        domain_errors=[ReportError, VaultRefusal],
    )
    regulator_page.install(app)
    return app
