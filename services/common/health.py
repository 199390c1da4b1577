"""Health, readiness and metrics endpoints that every service mounts.

/healthz answers as long as the process serves HTTP; /readyz checks that PostgreSQL and Kafka
answer (an orchestrator stops routing traffic when they do not); /metrics is Prometheus text.
Readiness results are cached for a second so probes cannot hammer the dependencies.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

Check = Callable[[], None]


class CheckResult(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, CheckResult]


class Liveness(BaseModel):
    status: str
    service: str


class ReadinessProbe:
    """Runs named checks; a check raises to say 'not ready'. Only the exception class is kept."""

    def __init__(self, checks: dict[str, Check], cache_s: float = 1.0) -> None:
        self.checks = checks
        self.cache_s = cache_s
        self._lock = threading.Lock()
        self._last: tuple[float, Readiness] | None = None

    def run(self) -> Readiness:
        with self._lock:
            if self._last and time.monotonic() - self._last[0] < self.cache_s:
                return self._last[1]
            results: dict[str, CheckResult] = {}
            for name, check in self.checks.items():
                try:
                    check()
                    results[name] = CheckResult(ok=True, detail="reachable")
                except Exception as exc:  # any failure means not ready; keep only the class
                    results[name] = CheckResult(ok=False, detail=type(exc).__name__)
            ready = all(r.ok for r in results.values())
            readiness = Readiness(status="ready" if ready else "not ready", checks=results)
            self._last = (time.monotonic(), readiness)
            return readiness


def health_router(service: str, probe: Callable[[], ReadinessProbe]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Liveness, summary="The process is up")
    def healthz() -> Liveness:
        return Liveness(status="ok", service=service)

    @router.get(
        "/readyz",
        response_model=Readiness,
        summary="PostgreSQL and Kafka are reachable",
        responses={503: {"model": Readiness, "description": "A dependency is unreachable"}},
    )
    def readyz(response: Response) -> Readiness:
        result = probe().run()
        if result.status != "ready":
            response.status_code = 503
        return result

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
