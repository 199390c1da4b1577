"""The governance dashboard: server-rendered pages over the audit's own use cases.

``/dashboard`` (a provider's involvement by month), ``/dashboard/units/{unit}`` (one unit and its
plans), ``/dashboard/plans/{plan_id}`` (one plan's versions: who contributed, agreed and
dissented) for governance of that provider; ``/dashboard/integrity`` (hash chains and the Merkle
root) for governance and admin. ``api.create_app`` wires them as audited ``Protected`` routers,
so every page read is in the access log like an API read.

This module must never compute an answer itself (``audit``, ``dashboard_data``) or show a name
or free text (the audit holds none).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any
from uuid import UUID

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from pydantic import StringConstraints

from services.audit_service import audit, dashboard_data
from services.audit_service.dashboard_charts import Series, rate_lines, stacked_bars
from services.audit_service.projection import NAME
from services.common.auth import CurrentPrincipal, Principal, forbidden
from services.common.pages import NavLink, install_pages, page_router, page_templates, render

TEMPLATES = page_templates(FsPath(__file__).parent / "templates")
NAV = (
    NavLink("Involvement", "/dashboard", ("governance",)),
    NavLink("Log integrity", "/dashboard/integrity", ("governance", "admin")),
)
OdsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,9}$")]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
CLASS_NAMES = {
    "with": "made with the person",
    "partial": "partly with the person",
    "without": "made without the person",
}
CLASS_COLOURS = {"with": "#00703c", "partial": "#b35c00", "without": "#a4202b"}
RATE_LINES = (
    ("with_person", "Made with the person", "#00703c"),
    ("with_carer", "Carer involved", "#4c2c92"),
    ("with_unresolved_dissent", "Open dissent", "#a4202b"),
    ("reviewed_on_time", "Reviews on time", "#1d70b8"),
)


def landing(principal: Principal) -> str:
    """Where a login lands: the involvement pages, or log integrity for admin."""
    return "/dashboard" if principal.has("governance") else "/dashboard/integrity"


class Chosen:
    """The chooser's values: provider (default: the token's), period (default: the twelve
    months to today, UTC) and optional unit. Governance sees its own provider only."""

    def __init__(
        self,
        principal: CurrentPrincipal,
        provider: Annotated[OdsCode | None, Query()] = None,
        period_from: Annotated[date | None, Query(alias="from")] = None,
        period_to: Annotated[date | None, Query(alias="to")] = None,
    ) -> None:
        self.provider = provider or principal.provider or ""
        if principal.provider is None or self.provider != principal.provider:
            raise forbidden("provider", "own_provider", "the token's provider does not cover this")
        self.end = period_to or datetime.now(UTC).date()
        self.start = period_from or (self.end.replace(day=1) - timedelta(days=334)).replace(day=1)

    def query(self, **extra: str) -> dict[str, str]:
        base = {"provider": self.provider, "from": self.start.isoformat()}
        return {**base, "to": self.end.isoformat(), **extra}


def _charts(ident: str, months: list[dashboard_data.Month]) -> dict[str, Any]:
    labels = [mo.label for mo in months]
    kinds = [
        Series(CLASS_NAMES[kind], [mo.rates.classifications.get(kind, 0) for mo in months], colour)
        for kind, colour in CLASS_COLOURS.items()
    ]
    rates = [
        Series(label, [getattr(mo.rates, key).rate for mo in months], colour)
        for key, label, colour in RATE_LINES
    ]
    reviews = [
        Series("Due", [mo.reviews_due - mo.reviews_overdue for mo in months], "#1d70b8"),
        Series("Overdue at month end", [mo.reviews_overdue for mo in months], "#a4202b"),
    ]
    span = f"{labels[0]} to {labels[-1]}" if labels else "no months"
    return {
        "classes": stacked_bars(
            f"{ident}-classes",
            "Plan versions by involvement",
            f"Versions proposed each month, {span}, stacked: with, partial, without the person. "
            "The table below gives the numbers.",
            labels,
            kinds,
        ),
        "rates": rate_lines(
            f"{ident}-rates",
            "Involvement rates",
            f"Per month, {span}: share of versions made with the person, with a carer involved, "
            "with an open dissent, and share of reviews done on time. Table below.",
            labels,
            rates,
        ),
        "reviews": stacked_bars(
            f"{ident}-reviews",
            "Scheduled reviews due",
            f"Reviews due each month, {span}, split into those still overdue at the month's "
            "end and the rest. Table below.",
            labels,
            reviews,
        ),
    }


def _connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    pool = request.app.state.service.pool
    if pool is None:
        raise RuntimeError("service not started")
    with pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection[Any], Depends(_connection)]


def routers() -> dict[str, APIRouter]:
    """The dashboard's page routers by who may see them: ``governance`` and ``integrity``."""
    governance = page_router(prefix="/dashboard", tags=["pages"])
    integrity = page_router(prefix="/dashboard", tags=["pages"])

    @governance.get("")
    def overview(request: Request, conn: Conn, chosen: Annotated[Chosen, Depends()]) -> Response:
        months = dashboard_data.trend(conn, chosen.provider, None, chosen.start, chosen.end)
        report = audit.period_report(
            conn, chosen.provider, None, *dashboard_data.day_range(chosen.start, chosen.end)
        )
        summary = audit.integrity_summary(conn, 20)
        context = {
            "chosen": chosen,
            "unit": None,
            "months": months,
            "report": report,
            "charts": _charts("provider", months),
            "integrity": summary,
            "root": audit.merkle_root(conn, NAME, None),
        }
        return render(request, "dashboard/overview.html", context)

    @governance.get("/units/{unit:path}")  # a unit name may hold "/" (e.g. "PICU / Willow")
    def unit_page(
        request: Request,
        conn: Conn,
        chosen: Annotated[Chosen, Depends()],
        unit: Annotated[UnitName, Path()],
    ) -> Response:
        months = dashboard_data.trend(conn, chosen.provider, unit, chosen.start, chosen.end)
        plans = dashboard_data.unit_plans(conn, chosen.provider, unit, chosen.start, chosen.end)
        context = {
            "chosen": chosen,
            "unit": unit,
            "months": months,
            "plans": plans,
            "charts": _charts("unit", months),
            "class_names": CLASS_NAMES,
        }
        return render(request, "dashboard/unit.html", context)

    @governance.get("/plans/{plan_id}")
    def plan_page(
        request: Request,
        conn: Conn,
        principal: CurrentPrincipal,
        plan_id: Annotated[UUID, Path()],
        as_of: Annotated[date | None, Query(description="Last day counted (UTC).")] = None,
    ) -> Response:
        moment = dashboard_data.day_range(as_of, as_of)[1] if as_of else datetime.now(UTC)
        found = audit.plan_audit(conn, plan_id, moment)
        if found.provider != principal.provider:
            raise forbidden("plan_id", "own_provider", "the token's provider does not cover this")
        context = {"plan": found, "as_of": as_of, "class_names": CLASS_NAMES}
        return render(request, "dashboard/plan.html", context)

    @integrity.get("/integrity")
    def integrity_page(request: Request, conn: Conn) -> Response:
        context = {
            "integrity": audit.integrity_summary(conn, 200),
            "root": audit.merkle_root(conn, NAME, None),
        }
        return render(request, "dashboard/integrity.html", context)

    return {"governance": governance, "integrity": integrity}


def install(app: FastAPI) -> None:
    """The login, logout and HTML errors of these pages (after ``create_service_app``)."""
    install_pages(
        app,
        title="Safety-plan governance dashboard",
        templates=TEMPLATES,
        nav=NAV,
        landing=landing,
        mint_example="--role governance --provider RXX",
        domain_errors=[audit.AuditError],
    )
