"""The access audit: every read of a plan, a record or a report is written to ``access_log`` in
the service's own database — who (subject, roles, system), what (route and resource id), when,
and the purpose of use (``X-Purpose-Of-Use``, else the default of the caller's role).

``record_access`` is a dependency ``create_service_app`` puts on audited routers; a read whose
row cannot be written is not served. ``access_log_router`` lets governance and admin query the
log. Only identifiers and route templates are stored, never a body or a personal value.

Each row carries the provider the read concerns: the ``provider`` the request names (reports,
audits), else the reader's own ``provider`` claim (a trust's staff read its own plans).
Governance sees only its provider's rows; a read that names no provider by a reader without one
(a regulator's national report) is seen by admin only, never by another provider's governance.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel

from services.common.auth import AuthError, CurrentPrincipal, Principal, require_roles

DDL = [
    """
    CREATE TABLE IF NOT EXISTS access_log (
        id          bigserial   PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        subject     text        NOT NULL,
        roles       text[]      NOT NULL,
        system      text,
        method      text        NOT NULL,
        route       text        NOT NULL,
        resource_id text,
        query       jsonb       NOT NULL DEFAULT '{}'::jsonb,
        purpose     text        NOT NULL
    )
    """,
    "ALTER TABLE access_log ADD COLUMN IF NOT EXISTS provider text",
    "CREATE INDEX IF NOT EXISTS access_log_provider ON access_log (provider, at)",
    "CREATE INDEX IF NOT EXISTS access_log_at ON access_log (at)",
    "CREATE INDEX IF NOT EXISTS access_log_subject ON access_log (subject, at)",
]

# The purpose of use when the caller gives none: the reason its role exists.
DEFAULT_PURPOSE = {
    "clinician": "direct_care",
    "clinical_app": "direct_care",
    "governance": "clinical_governance",
    "regulator": "regulatory_oversight",
    "admin": "operations",
}
PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def default_purpose(principal: Principal) -> str:
    for role, purpose in DEFAULT_PURPOSE.items():
        if role in principal.roles:
            return purpose
    return "unspecified"


def record_access(
    request: Request,
    principal: CurrentPrincipal,
    purpose: Annotated[
        str | None,
        Header(
            alias="X-Purpose-Of-Use",
            description="Why you read this (e.g. direct_care, clinical_governance); "
            "default: from your role.",
        ),
    ] = None,
) -> None:
    """Write one access-log row for this request before it is answered."""
    if purpose is not None and not PURPOSE.fullmatch(purpose):
        raise AuthError(422, "X-Purpose-Of-Use", "purpose_code", "give a code like direct_care")
    route = getattr(request.scope.get("route"), "path", request.url.path)
    params = request.path_params
    resource_id = str(next(iter(params.values()))) if params else None
    pool = request.app.state.service.pool
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO access_log (subject, roles, system, method, route, resource_id, query, "
            "purpose, provider) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                principal.subject,
                sorted(principal.roles),
                principal.system,
                request.method,
                route,
                resource_id,
                json.dumps(_storable(dict(request.query_params))),
                purpose or default_purpose(principal),
                _provider_of(request, principal),
            ),
        )


def _provider_of(request: Request, principal: Principal) -> str | None:
    """The provider a read concerns (see the module docstring), as text PostgreSQL can hold."""
    named = request.query_params.get("provider") or principal.provider
    return named.replace("\x00", "\ufffd") if named else None


NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: such a filter is a 422, not a 500


def _storable(query: dict[str, str]) -> dict[str, str]:
    """The query as jsonb can hold it: PostgreSQL text cannot contain NUL, so it becomes U+FFFD."""
    return {k.replace("\x00", "\ufffd"): v.replace("\x00", "\ufffd") for k, v in query.items()}


class AccessOut(BaseModel):
    at: datetime
    subject: str
    roles: list[str]
    system: str | None
    method: str
    route: str
    resource_id: str | None
    query: dict[str, Any]
    purpose: str
    provider: str | None


def access_log_router() -> APIRouter:
    router = APIRouter(tags=["access audit"])

    @router.get(
        "/access-log",
        response_model=list[AccessOut],
        summary="Who read what in this service, when and why (governance: its provider's reads;"
        " admin: all)",
        dependencies=[Depends(require_roles("governance", "admin"))],
    )
    def access_log(
        request: Request,
        principal: CurrentPrincipal,
        subject: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        resource_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        since: Annotated[datetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[AccessOut]:
        everything = principal.has("admin")
        if not everything and principal.provider is None:
            raise AuthError(403, "provider", "provider_claim", "the token names no provider")
        pool = request.app.state.service.pool
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT at, subject, roles, system, method, route, resource_id, query, purpose, "
                "provider FROM access_log WHERE (%(s)s::text IS NULL OR subject = %(s)s) "
                "AND (%(r)s::text IS NULL OR resource_id = %(r)s) "
                "AND (%(t)s::timestamptz IS NULL OR at >= %(t)s) "
                "AND (%(all)s OR provider = %(p)s) ORDER BY id DESC LIMIT %(n)s",
                {
                    "s": subject,
                    "r": resource_id,
                    "t": since,
                    "n": limit,
                    "all": everything,
                    "p": principal.provider,
                },
            ).fetchall()
        names = list(AccessOut.model_fields)
        return [AccessOut(**dict(zip(names, r, strict=True))) for r in rows]

    return router
