"""Regression tests for the 5xx answers schemathesis found (test_schemathesis_apis.py): each of
these inputs is now a 4xx naming the field, or served, never an unhandled server error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from contracts import examples
from services.audit_service.api import create_app as audit_app
from services.audit_service.settings import AuditServiceSettings
from services.common.settings import CommonSettings
from services.plan_service.api import create_app as plan_app
from services.plan_service.settings import PlanServiceSettings
from tests.auth_tokens import bearer, ward_app

FAR_PAST_WITH_OFFSET = "0001-01-01T00:00:00+01:00"  # valid RFC 3339, but before year 1 in UTC


@pytest.fixture
def audit(settings: CommonSettings) -> Iterator[TestClient]:
    own = AuditServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    with TestClient(
        audit_app(own), headers=bearer("governance", "admin", subject="gov-1", provider="RXX")
    ) as client:
        yield client


@pytest.fixture
def plan(settings: CommonSettings) -> Iterator[TestClient]:
    own = PlanServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    with TestClient(plan_app(own), headers=ward_app()) as client:
        yield client


def test_a_nul_character_in_a_query_or_path_is_a_422_before_any_route(
    audit: TestClient, plan: TestClient
) -> None:
    # was: DataError "PostgreSQL text fields cannot contain NUL" from GET /plans?unit=
    cases = [
        (plan, "/plans", {"unit": "Oak\x00Ward"}, "query.unit"),
        (plan, "/plans", {"provider": "RXX", "odd\x00name": "x"}, "query"),
        (plan, "/plans/Oak%00Ward", {}, "path"),
        (audit, "/integrity/merkle-root", {"odd": "odd\x00value"}, "query.odd"),
    ]
    for client, path, params, field in cases:
        answer = client.get(path, params=params)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["detail"] == [
            {
                "field": field,
                "rule": "no_nul_character",
                "message": "text may not contain the NUL character",
            }
        ]
        assert "Oak" not in answer.text  # nothing echoed
        assert "value" not in answer.text


def test_a_nul_character_in_an_access_log_filter_is_a_422(audit: TestClient) -> None:
    # was: DataError "PostgreSQL text fields cannot contain NUL" from the filter query
    for name in ("subject", "resource_id"):
        answer = audit.get("/access-log", params={name: "gov\x001"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["field"].endswith(name)
        assert "gov" not in answer.text  # the value is not echoed


def test_a_time_before_year_1_in_utc_is_a_422_in_a_body(plan: TestClient) -> None:
    # was: OverflowError normalising the timestamp to UTC
    incident = examples.incident_stream()[0].payload.model_dump(mode="json")
    body = {k: v for k, v in incident.items() if k not in ("plan_id", "plan_version_in_force")}
    body["started_at"] = FAR_PAST_WITH_OFFSET
    answer = plan.post("/incidents", json=body)
    assert answer.status_code == 422, answer.text
    assert any(d["field"].endswith("started_at") for d in answer.json()["detail"])


def test_a_time_before_year_1_in_utc_is_a_422_in_the_occurred_at_header(
    plan: TestClient,
) -> None:
    # was: OverflowError comparing the Occurred-At header with the clock
    body = {
        "person": examples.PERSON.model_dump(mode="json"),
        "setting": examples.SETTING.model_dump(mode="json"),
    }
    answer = plan.post("/plans", json=body, headers={"Occurred-At": FAR_PAST_WITH_OFFSET})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["field"] == "Occurred-At"


def test_numbers_beyond_postgresql_integers_are_a_422_naming_the_field(plan: TestClient) -> None:
    # was: NumericValueOutOfRange (bigint out of range) from the list query's OFFSET
    huge = str(2**63)
    listed = plan.get("/plans", params={"offset": huge})
    assert listed.status_code == 422, listed.text
    assert listed.json()["detail"][0]["field"].endswith("offset")
    at_version = plan.get(f"/plans/{examples.PLAN_ID}", params={"version": huge})
    assert at_version.status_code == 422, at_version.text
    assert at_version.json()["detail"][0]["field"].endswith("version")
    assert plan.get("/plans", params={"offset": str(2**31 - 1)}).status_code == 200
