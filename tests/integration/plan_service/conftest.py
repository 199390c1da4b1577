"""A plan_service wired to the real PostgreSQL and Kafka, isolated per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.settings import CommonSettings
from services.plan_service.api import create_app
from services.plan_service.settings import PlanServiceSettings
from tests.auth_tokens import ward_app

HEADERS = ward_app()  # the token says who acts (staff-0042, nurse) and from where (ward_app)


@pytest.fixture
def plan_settings(settings: CommonSettings) -> PlanServiceSettings:
    return PlanServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )


@pytest.fixture
def client(plan_settings: PlanServiceSettings) -> Iterator[TestClient]:
    with TestClient(create_app(plan_settings), headers=HEADERS) as c:
        yield c


def post(client: TestClient, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(path, json=body, headers={**HEADERS, **headers})
