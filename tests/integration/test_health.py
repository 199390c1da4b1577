"""Every service answers /healthz, /readyz (PostgreSQL and Kafka really checked) and /metrics."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.audit_service.api import create_app as audit_app
from services.audit_service.settings import AuditServiceSettings
from services.common.settings import CommonSettings
from services.plan_service.api import create_app as plan_app
from services.plan_service.settings import PlanServiceSettings
from services.reporting_service.api import create_app as reporting_app
from services.reporting_service.settings import ReportingServiceSettings

SERVICES: list[tuple[type[CommonSettings], Callable[..., FastAPI]]] = [
    (PlanServiceSettings, plan_app),
    (AuditServiceSettings, audit_app),
    (ReportingServiceSettings, reporting_app),
]


@pytest.mark.parametrize(("settings_cls", "create_app"), SERVICES)
def test_service_is_live_ready_and_exports_metrics(
    settings_cls: type[CommonSettings],
    create_app: Callable[..., FastAPI],
    settings: CommonSettings,
) -> None:
    own = settings_cls().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    with TestClient(create_app(own)) as client:
        assert client.get("/healthz").json() == {"status": "ok", "service": own.service_name}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["postgres"]["ok"] is True
        assert ready.json()["checks"]["kafka"]["ok"] is True
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "http_requests_total" in metrics.text
        assert client.get("/openapi.json").json()["info"]["title"] == own.service_name


@pytest.mark.parametrize(("settings_cls", "create_app"), SERVICES)
def test_service_is_not_ready_when_kafka_cannot_be_reached(
    settings_cls: type[CommonSettings],
    create_app: Callable[..., FastAPI],
    stack: CommonSettings,
) -> None:
    own = settings_cls().model_copy(update={"kafka_bootstrap_servers": "127.0.0.1:1"})
    with TestClient(create_app(own)) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["checks"]["kafka"]["ok"] is False
        assert body["checks"]["postgres"]["ok"] is True
