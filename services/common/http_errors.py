"""Errors mapped to HTTP once, for every service: field and rule named, input never echoed.

FastAPI's default 422 body repeats the submitted value (`input`), which can be personal data; this
replaces it. Domain errors are duck-typed: any exception with `status`, `field`, `rule` and
`message` attributes becomes that status with one violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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
