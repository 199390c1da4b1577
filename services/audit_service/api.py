"""HTTP entry point of the audit_service. Thin: parse, call the use case in ``audit``, map the
result. Errors name the field and the rule (one handler, services.common.http_errors), never a
submitted value.

This module must never compute an answer itself, write to the database, or log request values.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, StringConstraints

from services.audit_service import audit, dashboard
from services.audit_service import models as m
from services.audit_service.projection import DDL, NAME
from services.audit_service.settings import AuditServiceSettings
from services.common.app import ServiceState, create_service_app
from services.common.auth import CurrentPrincipal, Principal, Protected, forbidden
from services.common.consumer import apply_projection_schema
from services.common.http_errors import ERROR_RESPONSES
from services.common.settings import CommonSettings

DESCRIPTION = (
    "The governance audit: who was involved in each safety plan and version, and whether the "
    "log is intact."
)

OdsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,9}$")]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Checkpoint = Annotated[
    list[str] | None,
    Query(
        description="Log end per partition, `topic:partition:end_offset` (repeatable); "
        "default: everything the audit has consumed."
    ),
]


class About(BaseModel):
    service: str
    description: str
    docs: str


def _connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    state: ServiceState = request.app.state.service
    if state.pool is None:
        raise RuntimeError("service not started")
    with state.pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection[Any], Depends(_connection)]


def _aware(value: datetime | None, field: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        raise audit.AuditError(422, field, "timezone_required", "give a timezone (e.g. Z)")
    return value


def _period(start: date, end: date) -> tuple[datetime, datetime]:
    """``from`` and ``to`` are whole days in UTC, both included."""
    return (
        datetime.combine(start, time(), UTC),
        datetime.combine(end + timedelta(days=1), time(), UTC),
    )


ReportQuery = tuple[OdsCode, UnitName | None, date, date]


def report_query(
    provider: Annotated[OdsCode, Query(description="Provider ODS code.")],
    period_from: Annotated[date, Query(alias="from", description="First day (UTC).")],
    period_to: Annotated[date, Query(alias="to", description="Last day, included.")],
    unit: Annotated[UnitName | None, Query(description="One unit; default all.")] = None,
) -> ReportQuery:
    return provider, unit, period_from, period_to


def ensure_provider(principal: Principal, provider: str, field: str) -> None:
    """Governance reads the audit of its own provider (the token's `provider` claim) only."""
    if principal.provider != provider:
        raise forbidden(field, "own_provider", "the token's provider does not cover this")


def build(conn: psycopg.Connection[Any], q: ReportQuery, principal: Principal) -> m.PeriodReportOut:
    provider, unit, start, end = q
    ensure_provider(principal, provider, "provider")
    if end < start:
        raise audit.AuditError(422, "to", "after_from", "the period ends before it starts")
    return audit.period_report(conn, provider, unit, *_period(start, end))


def create_app(settings: CommonSettings | None = None) -> FastAPI:
    settings = settings or AuditServiceSettings()
    about = APIRouter(tags=["about"])
    plans = APIRouter(prefix="/audit", tags=["involvement"], responses=ERROR_RESPONSES)
    logs = APIRouter(prefix="/integrity", tags=["integrity"], responses=ERROR_RESPONSES)

    @about.get("/", response_model=About, summary="What this service is")
    def root() -> About:
        return About(service=settings.service_name, description=DESCRIPTION, docs="/docs")

    @plans.get(
        "/plans/{plan_id}",
        response_model=m.PlanAuditOut,
        summary="Who was involved in each version of a plan, and how",
    )
    def plan_audit(
        conn: Conn,
        principal: CurrentPrincipal,
        plan_id: Annotated[UUID, Path()],
        as_of: Annotated[datetime | None, Query(description="Default: now.")] = None,
    ) -> m.PlanAuditOut:
        found = audit.plan_audit(conn, plan_id, _aware(as_of, "as_of"))
        ensure_provider(principal, found.provider, "plan_id")
        return found

    @plans.get(
        "/reports/involvement",
        response_model=m.PeriodReportOut,
        summary="Involvement rates per unit of a provider over a period",
    )
    def involvement_report(
        conn: Conn, principal: CurrentPrincipal, q: Annotated[ReportQuery, Depends(report_query)]
    ) -> m.PeriodReportOut:
        return build(conn, q, principal)

    @plans.get(
        "/reports/involvement.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "The report as CSV"}},
        summary="The involvement report as CSV (one line per unit, then the total)",
    )
    def involvement_report_csv(
        conn: Conn, principal: CurrentPrincipal, q: Annotated[ReportQuery, Depends(report_query)]
    ) -> Response:
        body = audit.report_csv(build(conn, q, principal))
        return Response(
            content=body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="involvement.csv"'},
        )

    @logs.get(
        "/streams",
        response_model=m.IntegritySummaryOut,
        summary="Every stream's hash chain: how many are intact, and the first break of others",
    )
    def streams(
        conn: Conn, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
    ) -> m.IntegritySummaryOut:
        return audit.integrity_summary(conn, limit)

    @logs.get(
        "/streams/{stream_id}",
        response_model=m.StreamIntegrityOut,
        summary="One stream's hash chain: verified up to which version, first broken link",
    )
    def stream(conn: Conn, stream_id: UUID) -> m.StreamIntegrityOut:
        return audit.stream_integrity(conn, stream_id)

    @logs.get(
        "/merkle-root",
        response_model=m.MerkleRootOut,
        summary="RFC 6962 Merkle root over the event log up to a checkpoint",
    )
    def merkle_root(conn: Conn, upto: Checkpoint = None) -> m.MerkleRootOut:
        return audit.merkle_root(conn, NAME, upto)

    @logs.get(
        "/proofs/{event_id}",
        response_model=m.InclusionProofOut,
        summary="Inclusion proof of one event in the log up to a checkpoint",
    )
    def proof(conn: Conn, event_id: UUID, upto: Checkpoint = None) -> m.InclusionProofOut:
        return audit.inclusion_proof(conn, NAME, event_id, upto)

    def on_startup(state: ServiceState) -> None:
        # the tables exist before the consumer first runs, so every route answers from start
        if state.pool is not None:
            with state.pool.connection() as conn:
                apply_projection_schema(conn, NAME, DDL)

    pages = dashboard.routers()
    app = create_service_app(
        settings,
        title="audit_service",
        description=DESCRIPTION,
        routers=[
            about,
            Protected(plans, roles=("governance",), audited=True),
            Protected(logs, roles=("governance", "admin"), audited=True),
            Protected(pages["governance"], roles=("governance",), audited=True),
            Protected(pages["integrity"], roles=("governance", "admin"), audited=True),
        ],
        on_startup=on_startup,
        domain_errors=[audit.AuditError],
    )
    dashboard.install(app)
    return app
