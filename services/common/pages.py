"""What every service's server-rendered pages share: the login that keeps the caller's bearer
token in a session cookie, HTML answers for 401/403 and named errors on page routes, the page
templates and the security headers.

Pages sit behind the same verifier, roles and access log as the API (``Protected`` routers of
``PageRoute``s); only they read the cookie (``services.common.auth.current_principal``). The
cookie is HttpOnly and SameSite=Strict, Secure unless the page was reached on a loopback host.
Page forms are GET, except login and logout, which carry a CSRF token (double submit: a random
value in a cookie and in the form). This module must never log or render a token, a claim value
or a submitted value: errors name the field and the rule only.
"""

from __future__ import annotations

import hmac
import inspect
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
import jwt
from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.common.auth import (
    LOOPBACK_HOSTS,
    SESSION_COOKIE,
    AuthError,
    PageRoute,
    Principal,
    TokenVerifier,
)

COMMON_TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
CSRF_COOKIE = "safetyplan_csrf"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Site:
    """One service's pages: title, navigation, templates and where a login lands."""

    title: str
    templates: Jinja2Templates
    nav: tuple[NavLink, ...]
    landing: Callable[[Principal], str]
    mint_example: str
    """The local token command the login page suggests (e.g. ``--role regulator``)."""


def page_templates(service_templates: Path) -> Jinja2Templates:
    """The service's own templates first, then the shared base, login and error pages."""
    loader = jinja2.ChoiceLoader(
        [jinja2.FileSystemLoader(service_templates), jinja2.FileSystemLoader(COMMON_TEMPLATES)]
    )
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    return Jinja2Templates(env=env)


def page_router(**kwargs: Any) -> APIRouter:
    """A router of pages: HTML, left out of the OpenAPI document, cookie login accepted."""
    return APIRouter(
        route_class=PageRoute,
        include_in_schema=False,
        default_response_class=HTMLResponse,
        **kwargs,
    )


def _site(request: Request) -> Site:
    site: Site = request.app.state.pages
    return site


def _secure(request: Request) -> bool:
    return request.url.hostname not in LOOPBACK_HOSTS


def _csrf(request: Request) -> tuple[str, bool]:
    """The CSRF value of this browser, and whether it is new (then the cookie must be set)."""
    known = request.cookies.get(CSRF_COOKIE)
    if known and len(known) >= 32:
        return known, False
    return secrets.token_urlsafe(32), True


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """One page with the shared context (site, navigation for the caller, CSRF value)."""
    site = _site(request)
    csrf, new = _csrf(request)
    who = principal or getattr(request.state, "principal", None)
    nav = [n for n in site.nav if who is not None and who.has(*n.roles)]
    response = site.templates.TemplateResponse(
        request,
        name,
        {"site": site, "principal": who, "nav": nav, "csrf": csrf, **(context or {})},
        status_code=status,
        headers=SECURITY_HEADERS,
    )
    if new:
        response.set_cookie(
            CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request)
        )
    return response


def _local_path(target: str) -> str | None:
    """``target`` when it is a path on this site: no scheme, host, backslash or control
    character (browsers drop tabs and newlines, which would turn ``/\t/host`` into ``//host``)."""
    ok = (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    )
    return target if ok else None


def error_page(request: Request, status: int, field: str, rule: str, message: str) -> Response:
    """A page route's 401 (to the login page), 403 or named error, as HTML."""
    if status == 401:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(f"/login?next={quote(path, safe='')}", 303)
        if request.cookies.get(SESSION_COOKIE):
            response.delete_cookie(SESSION_COOKIE, samesite="strict", secure=_secure(request))
        response.headers.update(SECURITY_HEADERS)
        return response
    context = {"status": status, "field": field, "rule": rule, "message": message}
    return render(request, "pages/error.html", context, status=status)


def install_pages(
    app: FastAPI,
    *,
    title: str,
    templates: Jinja2Templates,
    nav: Sequence[NavLink],
    landing: Callable[[Principal], str],
    mint_example: str,
    domain_errors: Iterable[type[Exception]] = (),
) -> None:
    """Add the login, logout and stylesheet routes, and HTML errors for page routes (every other
    route keeps the JSON errors ``services.common.http_errors`` installed)."""
    app.state.pages = Site(title, templates, tuple(nav), landing, mint_example)
    app.include_router(_login_router())

    def html_for_pages(cls: type[Exception]) -> None:
        json_handler = app.exception_handlers[cls]

        async def handler(request: Request, exc: Exception) -> Response:
            if not isinstance(request.scope.get("route"), PageRoute):
                answer = json_handler(request, exc)
                return await answer if inspect.isawaitable(answer) else answer
            if isinstance(exc, RequestValidationError):
                where = [str(p) for p in (exc.errors()[0].get("loc") or ("request",))]
                field = where[-1] if where else "request"
                return error_page(request, 422, field, "invalid", "check this field's value")
            status = int(getattr(exc, "status", 422))
            field, rule = str(getattr(exc, "field", "")), str(getattr(exc, "rule", ""))
            return error_page(request, status, field, rule, str(getattr(exc, "message", "")))

        app.add_exception_handler(cls, handler)

    for cls in (AuthError, RequestValidationError, *domain_errors):
        html_for_pages(cls)


def _login_router() -> APIRouter:
    router = page_router(tags=["pages"])

    @router.get("/login")
    def login_form(request: Request, next: str = "") -> Response:
        return render(request, "pages/login.html", {"next": _local_path(next) or "", "error": None})

    @router.post("/login")
    def login(
        request: Request,
        token: Annotated[str, Form(max_length=16_384)],
        csrf: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=2_000)] = "",
    ) -> Response:
        known = request.cookies.get(CSRF_COOKIE) or ""
        if not known or not hmac.compare_digest(known.encode(), csrf.encode()):
            return error_page(request, 403, "csrf", "csrf_token", "reload the login page and retry")
        verifier: TokenVerifier = request.app.state.token_verifier
        token = token.strip()
        try:
            principal = verifier.verify(token)
        except AuthError as exc:
            context = {"next": _local_path(next) or "", "error": exc.message}
            return render(request, "pages/login.html", context, status=401)
        expires = int(jwt.decode(token, options={"verify_signature": False})["exp"])
        target = _local_path(next) or _site(request).landing(principal)
        response = RedirectResponse(target, 303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=max(0, expires - int(time.time())),
            path="/",
            httponly=True,
            samesite="strict",
            secure=_secure(request),
        )
        response.headers.update(SECURITY_HEADERS)
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form(max_length=200)]) -> Response:
        known = request.cookies.get(CSRF_COOKIE) or ""
        if not known or not hmac.compare_digest(known.encode(), csrf.encode()):
            return error_page(request, 403, "csrf", "csrf_token", "reload the page and retry")
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, samesite="strict", secure=_secure(request))
        response.headers.update(SECURITY_HEADERS)
        return response

    @router.get("/pages/static/pages.css")
    def stylesheet() -> FileResponse:
        return FileResponse(
            STATIC / "pages.css", media_type="text/css", headers={"Cache-Control": "max-age=3600"}
        )

    return router
