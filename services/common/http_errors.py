"""Errors mapped to HTTP once, for every service: field and rule named, input never echoed.

FastAPI's default 422 body repeats the submitted value (`input`), which can be personal data; this
replaces it. Domain errors are duck-typed: any exception with `status`, `field`, `rule` and
`message` attributes becomes that status with one violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from contracts.errors import ContractError, field_path
from services.common.auth import AuthError


class ViolationOut(BaseModel):
    field: str
    rule: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx body: what was wrong, never the submitted value."""

    detail: list[ViolationOut]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No, or no valid, bearer token"},
    403: {"model": ErrorBody, "description": "The token's roles or scope do not allow this"},
    404: {"model": ErrorBody, "description": "No such plan or incident"},
    409: {"model": ErrorBody, "description": "Version conflict or idempotency key reused"},
    422: {"model": ErrorBody, "description": "A field broke a named rule"},
}


def _body(violations: list[tuple[str, str, str]]) -> dict[str, Any]:
    return {"detail": [{"field": f, "rule": r, "message": m} for f, r, m in violations]}


class RefuseNulCharacters:
    """422 for a NUL character in the path or a query parameter, before any route runs.

    PostgreSQL text cannot hold NUL, so such a value reached the database as a 500 (schemathesis
    found it on `GET /plans?unit=%00`); every service's parameters end up in SQL.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = _nul_in(scope) if scope["type"] == "http" else None
        if where is None:
            await self.app(scope, receive, send)
            return
        violation = (where, "no_nul_character", "text may not contain the NUL character")
        await JSONResponse(status_code=422, content=_body([violation]))(scope, receive, send)


def _nul_in(scope: Scope) -> str | None:
    """Where a NUL character is: `path`, `query.<name>`, or `query` (in a name); else None."""
    if "\x00" in scope.get("path", ""):
        return "path"
    raw: bytes = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name:
            return "query"
        if "\x00" in value:
            return f"query.{name}"
    return None


def install_error_handlers(app: FastAPI, domain_errors: Iterable[type[Exception]] = ()) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        violations = []
        for err in exc.errors():
            loc = list(err.get("loc", ()))
            where = str(loc[0]) if loc else "request"
            path = field_path(loc[1:], prefix="payload" if where == "body" else where)
            violations.append((path or where, str(err.get("type", "invalid")), str(err["msg"])))
        return JSONResponse(status_code=422, content=_body(violations))

    @app.exception_handler(ContractError)
    async def contract_error(_: Request, exc: ContractError) -> JSONResponse:
        return JSONResponse(
            status_code=422,
            content=_body([(v.field, v.rule, v.message) for v in exc.violations]),
        )

    @app.exception_handler(AuthError)
    async def auth_error(_: Request, exc: AuthError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status,
            content=_body([(exc.field, exc.rule, exc.message)]),
            headers=exc.headers,
        )

    async def domain_error(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            status_code=int(getattr(exc, "status", 422)),
            content=_body([(exc.field, exc.rule, exc.message)]),  # type: ignore[attr-defined]
        )

    for cls in domain_errors:
        app.add_exception_handler(cls, domain_error)
