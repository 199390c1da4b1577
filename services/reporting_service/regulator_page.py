"""The regulator's page: choose a period and a provider or unit, read the statistics (with
disclosure control), the s.6 completeness summary and plan concordance, and download each report
as CSV, JSON or PDF with its provenance.

The page does not build reports itself: it calls the API's own report endpoints (passed in by
``api.create_app``), first the statistics at the offsets applied now, then the others *at the
same offsets*, so the three tables and every download come from one part of the log and a
download gives the very bytes whose digest the page shows. Downloads are page routes (the session
cookie works there; the API stays bearer-only) that answer exactly as ``/reports/{kind}`` does.

Names and NHS numbers appear only when the API gives them (a token with ``identifiable``).
"""

from __future__ import annotations

import inspect
import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from pydantic import StringConstraints
from starlette.concurrency import run_in_threadpool

from services.common.auth import CurrentPrincipal, Principal
from services.common.pages import NavLink, install_pages, page_router, page_templates, render
from services.reporting_service.scope import ReportError

TEMPLATES = page_templates(FsPath(__file__).parent / "templates")
NAV = (NavLink("Use of force reports", "/regulator", ("regulator",)),)
KINDS = ("statistics", "section6", "concordance")
Kind = Literal["statistics", "section6", "concordance"]
Endpoint = Callable[..., Response]
OdsCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,9}$")]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def landing(principal: Principal) -> str:
    return "/regulator"


class Chosen:
    """Period (local dates, default: the twelve months to today) and scope (default: all)."""

    def __init__(
        self,
        from_date: Annotated[date | None, Query()] = None,
        to_date: Annotated[date | None, Query()] = None,
        provider: Annotated[OdsCode | None, Query()] = None,
        unit: Annotated[UnitName | None, Query()] = None,
        as_of: Annotated[str | None, Query(max_length=20_000)] = None,
    ) -> None:
        self.to_date = to_date or datetime.now(UTC).date()
        self.from_date = from_date or (
            (self.to_date.replace(day=1) - timedelta(days=334)).replace(day=1)
        )
        self.provider = provider or None
        self.unit = unit or None
        self.as_of = as_of

    def params(self, **extra: str | None) -> dict[str, str]:
        values = {
            "from_date": self.from_date.isoformat(),
            "to_date": self.to_date.isoformat(),
            "provider": self.provider,
            "unit": self.unit,
            "as_of": self.as_of,
            **extra,
        }
        return {k: v for k, v in values.items() if v}


def _summary(section6: dict[str, Any], concordance: dict[str, Any]) -> dict[str, Any]:
    """Counts the page shows above the per-incident tables (from the reports, nothing new)."""
    entries = section6["report"]["incidents"]
    missing = Counter(i for e in entries for i in e["completeness"]["missing_items"])
    not_known = Counter(n["item"] for e in entries for n in e["completeness"]["not_known"])
    found = concordance["report"]["incidents"]
    return {
        "missing_by_item": sorted(missing.items()),
        "not_known_by_item": sorted(not_known.items()),
        "with_plan": sum(1 for c in found if c["plan_in_force"]),
        "did_not_want": sum(1 for c in found if c["any_force_person_did_not_want"]),
        "notification_followed": sum(1 for c in found if c["notification"]["followed"]),
        "pi_review_with_patient": sum(
            1 for c in found if c["post_incident_review"]["held_with_patient"]
        ),
        "plan_reviewed_after": sum(1 for c in found if c["plan_review_after"]["reviewed"]),
    }


def routers(query_type: Callable[..., Any], endpoints: Mapping[str, Endpoint]) -> APIRouter:
    """The page and its downloads. ``query_type`` builds the API's report query and
    ``endpoints`` are the API's report routes by kind (statistics, section6, concordance)."""
    router = page_router(prefix="/regulator", tags=["pages"])

    async def call(
        kind: str, request: Request, principal: Principal, chosen: Chosen, fmt: str
    ) -> Response:
        """The API route's answer (awaited if it is async, else run off the event loop)."""
        query = query_type(
            from_date=chosen.from_date,
            to_date=chosen.to_date,
            provider=chosen.provider,
            unit=chosen.unit,
            as_of=chosen.as_of,
            format=fmt,
        )
        endpoint = endpoints[kind]
        if inspect.iscoroutinefunction(endpoint):
            answer: Response = await endpoint(request=request, principal=principal, query=query)
            return answer
        return await run_in_threadpool(endpoint, request=request, principal=principal, query=query)

    @router.get("")
    async def page(
        request: Request, principal: CurrentPrincipal, chosen: Annotated[Chosen, Depends()]
    ) -> Response:
        documents: dict[str, Any] = {}
        for kind in KINDS:
            answer = await call(kind, request, principal, chosen, "json")
            documents[kind] = json.loads(bytes(answer.body))
            chosen.as_of = chosen.as_of or documents[kind]["provenance"]["as_of"]
        context = {
            "chosen": chosen,
            "docs": documents,
            "summary": _summary(documents["section6"], documents["concordance"]),
            "identifiable": principal.identifiable,
            "formats": ("csv", "json", "pdf"),
        }
        return render(request, "regulator/page.html", context)

    @router.get("/reports/{kind}")
    async def download(
        request: Request,
        principal: CurrentPrincipal,
        chosen: Annotated[Chosen, Depends()],
        kind: Annotated[Kind, Path()],
        format: Annotated[Literal["json", "csv", "pdf"], Query()] = "json",
    ) -> Response:
        response = await call(kind, request, principal, chosen, format)
        name = f"{kind}_{chosen.from_date.isoformat()}_{chosen.to_date.isoformat()}.{format}"
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    return router


def install(app: FastAPI) -> None:
    """The login, logout and HTML errors of this page (after ``create_service_app``)."""
    install_pages(
        app,
        title="Use of force reports for regulators",
        templates=TEMPLATES,
        nav=NAV,
        landing=landing,
        mint_example="--role regulator",
        domain_errors=[ReportError],
    )
