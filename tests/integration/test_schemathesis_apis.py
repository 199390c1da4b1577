"""Bad input at scale: schemathesis generates requests from each service's own OpenAPI document
and sends them, with a valid token of an allowed role, to the real service on the real stack.

Whatever it sends, no response is a 5xx: bad input is a 4xx naming the field and rule. The number
of examples per operation is bounded so the three services together stay within about two
minutes; the hypothesis seed is printed by pytest on failure (`--hypothesis-seed` reproduces it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.python.asgi import ASGIClient

from services.audit_service.api import create_app as audit_app
from services.audit_service.settings import AuditServiceSettings
from services.common.settings import CommonSettings
from services.plan_service.api import create_app as plan_app
from services.plan_service.settings import PlanServiceSettings
from services.reporting_service.api import create_app as reporting_app
from services.reporting_service.settings import ReportingServiceSettings
from tests.auth_tokens import EXAMPLE_UNITS, WARD_APP, bearer

EXAMPLES = 25  # per operation, valid and invalid (negative) requests mixed; bounded in time

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[CommonSettings], Any]] = {
    # each with a token whose roles reach every route of that service
    "plan": (
        plan_app,
        PlanServiceSettings,
        lambda: bearer("clinical_app", "clinician", **{**WARD_APP, "units": EXAMPLE_UNITS}),
    ),
    "audit": (
        audit_app,
        AuditServiceSettings,
        lambda: bearer("governance", "admin", subject="gov-1", provider="RXX"),
    ),
    "reporting": (
        reporting_app,
        ReportingServiceSettings,
        lambda: bearer(
            "governance", "regulator", "admin", subject="ops-1", provider="RXX", identifiable=True
        ),
    ),
}


def _call_every_operation(schema: Any, client: ASGIClient, headers: dict[str, str]) -> list[str]:
    """Run each operation's generated cases; return one line per operation that got a 5xx."""
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(
            case=operation.as_strategy(GenerationMode.POSITIVE)
            | operation.as_strategy(GenerationMode.NEGATIVE)
        )
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate, Phase.target],
        )
        def check(case: Any) -> None:
            response = case.call(session=client, headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:2000]}")
    return failures


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(SERVICES))
def test_no_generated_request_gets_a_server_error(name: str, settings: CommonSettings) -> None:
    make_app, settings_class, headers = SERVICES[name]
    own = settings_class().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    app = make_app(own)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with ASGIClient(cast(Any, app)) as client:
        failures = _call_every_operation(schema, client, headers())
    assert not failures, "\n".join(failures)
