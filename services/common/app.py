"""The FastAPI application shell every service builds on: lifespan-managed PostgreSQL pool and
Kafka readiness, health/metrics routes, request metrics, and one error handler that maps domain
errors to HTTP. No I/O happens at import; ``create_service_app`` wires it at start-up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import Counter, Histogram
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import access_log, db, kafka_admin
from services.common.auth import Protected, current_principal, install_verifier, require_roles
from services.common.health import ReadinessProbe, health_router
from services.common.http_errors import RefuseNulCharacters, install_error_handlers
from services.common.settings import CommonSettings

log = logging.getLogger(__name__)

REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram(
    "http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


@dataclass
class ServiceState:
    """What a running service holds; stored on ``app.state.service``."""

    settings: CommonSettings
    pool: ConnectionPool | None = None
    probe: ReadinessProbe | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def _kafka_check(settings: CommonSettings) -> Callable[[], None]:
    def check() -> None:
        kafka_admin.ping(settings, timeout_s=2.0)

    return check


NATIVE_TELEMETRY_OFF: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}
"""FastAPI's own OpenTelemetry hooks, off: its logs export validation failures with their
messages, which can echo request values (personal data must never be logged), request metrics
are ours (`/metrics`), and checking for configured providers on every request cost ~3% of the
ingest path's CPU."""


class MetricsMiddleware:
    """Request count and latency per route, as plain ASGI (Starlette's BaseHTTPMiddleware costs
    a task and a stream per request, which showed up in the ingest profile)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            LATENCY.labels(self.service, method, path).observe(time.perf_counter() - started)
            REQUESTS.labels(self.service, method, path, status).inc()


def create_service_app(
    settings: CommonSettings,
    *,
    title: str,
    description: str,
    routers: Iterable[APIRouter | Protected] = (),
    on_startup: Callable[[ServiceState], None] | None = None,
    on_shutdown: Callable[[ServiceState], None] | None = None,
    domain_errors: Iterable[type[Exception]] = (),
    version: str = "0.1.0",
) -> FastAPI:
    state = ServiceState(settings=settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.pool = db.open_pool(settings, wait=False)
        pool = state.pool
        try:
            with pool.connection(timeout=10) as conn:
                db.apply_schema(conn, "access_log", access_log.DDL)
        except Exception as exc:  # a down database must not stop start-up; /readyz says
            log.warning("access_log schema not applied at start-up (%s)", type(exc).__name__)
        state.probe = ReadinessProbe(
            {"postgres": lambda: db.ping(pool), "kafka": _kafka_check(settings)}
        )
        if on_startup is not None:
            on_startup(state)
        log.info("%s started on port %d", settings.service_name, settings.http_port)
        try:
            yield
        finally:
            if on_shutdown is not None:
                on_shutdown(state)
            pool.close()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        telemetry=NATIVE_TELEMETRY_OFF,
    )
    app.state.service = state
    install_error_handlers(app, domain_errors)

    def probe() -> ReadinessProbe:
        if state.probe is None:
            raise RuntimeError("service not started")
        return state.probe

    # Open: health, readiness, metrics and the API docs. Everything else needs a bearer token.
    app.include_router(health_router(settings.service_name, probe))
    verifier = install_verifier(app, settings)
    if verifier.source() == "dev_hs256":
        log.warning("bearer tokens are verified with the local/dev HS256 secret")
    for item in (*routers, Protected(access_log.access_log_router())):
        guarded = item if isinstance(item, Protected) else Protected(item)
        deps = [Depends(require_roles(*guarded.roles) if guarded.roles else current_principal)]
        if guarded.audited:
            deps.append(Depends(access_log.record_access))
        app.include_router(guarded.router, dependencies=deps)

    app.add_middleware(RefuseNulCharacters)
    app.add_middleware(MetricsMiddleware, service=settings.service_name)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The class only: messages of unexpected errors can carry request data.
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error"})

    return app
