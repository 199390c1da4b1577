"""Authentication, roles and the access audit of all three services, on the real PostgreSQL and
Kafka: every cell of the README's role matrix, every way a token can be bad, the scoping claims,
and the access log that records each read.

The three apps start once for the module (one schema, one topic prefix): a cell is one request.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from contracts import examples
from services.audit_service.api import create_app as audit_app
from services.audit_service.settings import AuditServiceSettings
from services.common import tokens
from services.common.kafka_admin import ensure_topics
from services.common.settings import CommonSettings
from services.plan_service.api import create_app as plan_app
from services.plan_service.settings import PlanServiceSettings
from services.reporting_service.api import create_app as reporting_app
from services.reporting_service.settings import ReportingServiceSettings
from tests.auth_tokens import EXAMPLE_UNITS, SETTINGS, WARD_APP, bearer
from tests.conftest import fresh_schema

ROLE_TOKENS: dict[str, dict[str, Any]] = {
    "clinical_app": {**WARD_APP},
    "clinician": {"subject": "clin-1", "units": EXAMPLE_UNITS},
    "governance": {"subject": "gov-1", "provider": "RXX"},
    "regulator": {"subject": "cqc-1"},
    "admin": {"subject": "ops-1"},
}
ROLES = list(ROLE_TOKENS)
ALL = set(ROLES)
PERIOD = {"from": "2025-01-01", "to": "2025-12-31"}
REPORT = {"provider": "RXX", "from_date": "2025-01-01", "to_date": "2025-12-31"}


def as_role(role: str, **extra: Any) -> dict[str, str]:
    return bearer(role, **{**ROLE_TOKENS[role], **extra})


@pytest.fixture(scope="module")
def clients(stack: CommonSettings) -> Iterator[dict[str, Any]]:
    """The three services on one fresh schema and topic prefix, plus a plan and an incident
    that ward_app submitted in the example unit."""
    with fresh_schema(stack) as schema:
        yield from _clients(stack, schema)


def _clients(stack: CommonSettings, schema: str) -> Iterator[dict[str, Any]]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    ensure_topics(stack.model_copy(update={"topic_prefix": prefix}))
    own = {"pg_schema": schema, "topic_prefix": prefix}
    apps = {
        "plan": plan_app(PlanServiceSettings().model_copy(update=own)),
        "audit": audit_app(AuditServiceSettings().model_copy(update=own)),
        "reporting": reporting_app(ReportingServiceSettings().model_copy(update=own)),
    }
    with (
        TestClient(apps["plan"]) as plan,
        TestClient(apps["audit"]) as audit,
        TestClient(apps["reporting"]) as reporting,
    ):
        start = {
            "person": examples.PERSON.model_dump(mode="json"),
            "setting": examples.SETTING.model_dump(mode="json"),
        }
        made = plan.post("/plans", json=start, headers=as_role("clinical_app"))
        assert made.status_code == 201, made.text
        incident = examples.incident_stream()[0].payload.model_dump(mode="json")
        body = {k: v for k, v in incident.items() if k not in ("plan_id", "plan_version_in_force")}
        recorded = plan.post("/incidents", json=body, headers=as_role("clinical_app"))
        assert recorded.status_code == 201, recorded.text
        yield {
            "plan": plan,
            "audit": audit,
            "reporting": reporting,
            "plan_id": made.json()["stream_id"],
            "incident_id": recorded.json()["stream_id"],
        }


# (service, route group, method, path, who may) — the README's role matrix, row by row.
MATRIX: list[tuple[str, str, str, str, set[str]]] = [
    ("plan", "about", "GET", "/", ALL),
    ("plan", "commands", "POST", "/plans", {"clinical_app"}),
    ("plan", "plan reads", "GET", "/plans/{plan_id}", {"clinical_app", "clinician"}),
    ("plan", "plan history", "GET", "/plans/{plan_id}/events", {"clinical_app", "clinician"}),
    ("plan", "plan list", "GET", "/plans", {"clinician"}),
    (
        "plan",
        "incident history",
        "GET",
        "/incidents/{incident_id}/events",
        {"clinical_app", "clinician"},
    ),
    ("plan", "submission outcomes", "GET", "/submissions/{random}", {"clinical_app", "admin"}),
    ("plan", "access log", "GET", "/access-log", {"governance", "admin"}),
    ("plan", "erasure", "GET", "/persons/P-NOBODY/erasure", {"admin"}),
    ("audit", "about", "GET", "/", ALL),
    ("audit", "plan audit", "GET", "/audit/plans/{plan_id}", {"governance"}),
    (
        "audit",
        "involvement reports",
        "GET",
        "/audit/reports/involvement?provider=RXX",
        {"governance"},
    ),
    ("audit", "integrity", "GET", "/integrity/streams", {"governance", "admin"}),
    ("audit", "access log", "GET", "/access-log", {"governance", "admin"}),
    ("reporting", "about", "GET", "/", ALL),
    ("reporting", "reports", "GET", "/reports/statistics", {"regulator", "governance"}),
    ("reporting", "section 6", "GET", "/reports/section6", {"regulator", "governance"}),
    ("reporting", "provenance", "GET", "/reports/provenance", {"regulator", "governance"}),
    ("reporting", "bed days", "GET", "/bed-days", {"admin"}),
    ("reporting", "retention", "GET", "/retention/due", {"admin"}),
    ("reporting", "legal holds", "GET", "/admin/legal-holds", {"admin"}),
    ("reporting", "access log", "GET", "/access-log", {"governance", "admin"}),
]


def call(clients: dict[str, Any], service: str, method: str, path: str, **kw: Any) -> Any:
    url = path.format(
        plan_id=clients["plan_id"], incident_id=clients["incident_id"], random=uuid.uuid4()
    )
    params: dict[str, str] = {}
    if url.startswith("/audit/reports"):
        params = PERIOD
    if url.startswith("/reports/") and not url.endswith("provenance"):
        params = REPORT
    if method == "POST":  # a valid new plan, so an allowed call succeeds
        body = {
            "person": {**examples.PERSON.model_dump(mode="json"), "person_id": "P-MATRIX"},
            "setting": examples.SETTING.model_dump(mode="json"),
        }
        return clients[service].post(url, json=body, **kw)
    return clients[service].request(method, url, params=params, **kw)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("service", "group", "method", "path", "allowed"),
    MATRIX,
    ids=[f"{s}:{g}" for s, g, *_ in MATRIX],
)
def test_each_role_reaches_exactly_the_route_groups_of_the_matrix(
    clients: dict[str, Any],
    service: str,
    group: str,
    method: str,
    path: str,
    allowed: set[str],
    role: str,
) -> None:
    response = call(clients, service, method, path, headers=as_role(role))
    if role in allowed:
        assert response.status_code < 500, response.text
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["detail"][0]["field"] == "roles"
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("service", "group", "method", "path", "allowed"),
    MATRIX,
    ids=[f"{s}:{g}" for s, g, *_ in MATRIX],
)
def test_every_route_group_refuses_a_request_without_a_token(
    clients: dict[str, Any], service: str, group: str, method: str, path: str, allowed: set[str]
) -> None:
    response = call(clients, service, method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["detail"] == [
        {
            "field": "authorization",
            "rule": "token_missing",
            "message": "send a bearer token in Authorization",
        }
    ]


def forged(**overrides: Any) -> str:
    body = tokens.claims(SETTINGS, roles=["admin"], subject="ops-1")
    key = overrides.pop("key", SETTINGS.auth_dev_hs256_secret.get_secret_value())  # type: ignore[union-attr]
    drop = overrides.pop("drop", ())
    body = {k: v for k, v in {**body, **overrides}.items() if k not in drop}
    return jwt.encode(body, key, algorithm="HS256")


BAD_TOKENS = {
    "signature": lambda: forged(key="another-secret-of-at-least-thirty-two-bytes!"),
    "issuer": lambda: forged(iss="https://someone-else.example"),
    "audience": lambda: forged(aud="another-api"),
    "token_expired": lambda: forged(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "claim_required": lambda: forged(drop=("exp",)),
    "token_invalid": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("service", ["plan", "audit", "reporting"])
@pytest.mark.parametrize("rule", list(BAD_TOKENS))
def test_a_bad_token_is_a_401_naming_the_rule_and_never_echoing_the_token(
    clients: dict[str, Any], service: str, rule: str
) -> None:
    token = BAD_TOKENS[rule]()
    response = clients[service].get("/access-log", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer realm="safetyplan", error="invalid_token"'
    )
    assert response.json()["detail"][0]["rule"] == rule
    assert token not in response.text
    assert "ops-1" not in response.text


def test_a_token_within_the_leeway_still_counts(clients: dict[str, Any]) -> None:
    now = int(time.time())
    token = forged(iat=now - 3600, exp=now - SETTINGS.auth_leeway_seconds // 2)
    response = clients["plan"].get("/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("service", ["plan", "audit", "reporting"])
def test_health_metrics_and_docs_need_no_token(clients: dict[str, Any], service: str) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert clients[service].get(path).status_code == 200, path
    scheme = clients[service].get("/openapi.json").json()["components"]["securitySchemes"]
    assert scheme["HTTPBearer"]["scheme"] == "bearer"


# --- scoping claims ------------------------------------------------------------------------------
def test_the_actor_and_submitting_system_come_from_the_token_not_from_headers(
    clients: dict[str, Any],
) -> None:
    spoof = {"X-Actor-Id": "someone-else", "X-Submitting-System": "other_app"}
    participant = {"participant_id": str(uuid.uuid4()), "role": "nurse", "name": "Synthetic"}
    headers = {**as_role("clinical_app"), **spoof, "X-On-Behalf-Of": "advocate-7"}
    path = f"/plans/{clients['plan_id']}/participants"
    assert clients["plan"].post(path, json=participant, headers=headers).status_code == 200
    events = clients["plan"].get(
        f"/plans/{clients['plan_id']}/events", headers=as_role("clinical_app")
    )
    last = events.json()["events"][-1]
    assert last["actor"] == {"id": "staff-0042", "role": "nurse", "on_behalf_of": "advocate-7"}
    assert last["submitting_system"] == "ward_app"


def test_a_clinical_app_token_without_system_or_actor_role_cannot_submit(
    clients: dict[str, Any],
) -> None:
    headers = bearer("clinical_app", subject="staff-0042", system="ward_app")
    response = call(clients, "plan", "POST", "/plans", headers=headers)
    assert response.status_code == 403
    assert response.json()["detail"][0]["field"] == "token.actor_role"


def test_a_clinical_app_reads_only_what_its_system_submitted(clients: dict[str, Any]) -> None:
    other = as_role("clinical_app", system="other_app")
    for path in (f"/plans/{clients['plan_id']}", f"/incidents/{clients['incident_id']}/events"):
        refused = clients["plan"].get(path, headers=other)
        assert refused.status_code == 403
        assert refused.json()["detail"][0]["rule"] == "within_token_scope"
        assert clients["plan"].get(path, headers=as_role("clinical_app")).status_code == 200


def test_a_clinician_reads_the_plans_of_their_units_only(clients: dict[str, Any]) -> None:
    elsewhere = as_role("clinician", units=["Cedar Ward"])
    path = f"/plans/{clients['plan_id']}"
    assert clients["plan"].get(path, headers=elsewhere).status_code == 403
    assert clients["plan"].get(path, headers=as_role("clinician")).status_code == 200
    incident = f"/incidents/{clients['incident_id']}/events"
    assert clients["plan"].get(incident, headers=elsewhere).status_code == 403
    assert clients["plan"].get("/plans", headers=elsewhere).json() == []


def test_governance_reads_the_audit_and_reports_of_its_own_provider_only(
    clients: dict[str, Any],
) -> None:
    other = as_role("governance", provider="RYY")
    audit = clients["audit"].get(
        "/audit/reports/involvement", params={**PERIOD, "provider": "RXX"}, headers=other
    )
    assert audit.status_code == 403
    assert audit.json()["detail"][0]["rule"] == "own_provider"
    report = clients["reporting"].get("/reports/statistics", params=REPORT, headers=other)
    assert report.status_code == 403
    everything = {k: v for k, v in REPORT.items() if k != "provider"}
    all_providers = clients["reporting"].get(
        "/reports/statistics", params=everything, headers=as_role("governance")
    )
    assert all_providers.status_code == 403
    regulator = clients["reporting"].get(
        "/reports/statistics", params=everything, headers=as_role("regulator")
    )
    assert regulator.status_code == 200


# --- the access audit ----------------------------------------------------------------------------
def test_every_read_is_in_the_access_log_with_who_what_when_and_why(
    clients: dict[str, Any],
) -> None:
    plan_id = clients["plan_id"]
    reader = as_role("clinician", subject="clin-audit", provider="RXX")
    clients["plan"].get(f"/plans/{plan_id}", headers=reader)
    clients["plan"].get(
        f"/plans/{plan_id}/events", headers={**reader, "X-Purpose-Of-Use": "safeguarding"}
    )
    log = clients["plan"].get(
        "/access-log", params={"subject": "clin-audit"}, headers=as_role("governance")
    )
    assert log.status_code == 200
    rows = log.json()
    assert [(r["route"], r["purpose"]) for r in rows] == [
        ("/plans/{plan_id}/events", "safeguarding"),
        ("/plans/{plan_id}", "direct_care"),
    ]
    assert all(r["resource_id"] == plan_id and r["roles"] == ["clinician"] for r in rows)
    assert all(r["method"] == "GET" and r["at"] for r in rows)
    assert "Alex Example" not in log.text


def test_governance_sees_only_the_reads_that_concern_its_own_provider(
    clients: dict[str, Any],
) -> None:
    plan_id = clients["plan_id"]
    clients["plan"].get(
        f"/plans/{plan_id}", headers=as_role("clinician", subject="clin-ryy", provider="RYY")
    )
    clients["plan"].get(f"/plans/{plan_id}", headers=as_role("clinician", subject="clin-none"))

    def seen_by(headers: dict[str, str]) -> set[str]:
        answer = clients["plan"].get("/access-log", params={"limit": 10_000}, headers=headers)
        assert answer.status_code == 200
        return {r["subject"] for r in answer.json()}

    rxx = seen_by(as_role("governance", provider="RXX"))
    assert {"clin-ryy", "clin-none"}.isdisjoint(rxx)
    assert "clin-ryy" in seen_by(as_role("governance", provider="RYY"))
    assert "clin-none" not in seen_by(as_role("governance", provider="RYY"))
    assert {"clin-ryy", "clin-none"} <= seen_by(as_role("admin"))
    no_provider = clients["plan"].get("/access-log", headers=bearer("governance", subject="g"))
    assert no_provider.status_code == 403
    assert no_provider.json()["detail"][0]["field"] == "provider"


def test_audit_and_report_reads_are_logged_in_their_own_service(clients: dict[str, Any]) -> None:
    clients["audit"].get("/integrity/streams", headers=as_role("admin", subject="ops-audit"))
    clients["reporting"].get(
        "/reports/section6", params=REPORT, headers=as_role("regulator", subject="cqc-audit")
    )
    audit_log = (
        clients["audit"]
        .get("/access-log", params={"subject": "ops-audit"}, headers=as_role("admin"))
        .json()
    )
    assert [(r["route"], r["purpose"]) for r in audit_log] == [("/integrity/streams", "operations")]
    reads = (
        clients["reporting"]
        .get("/access-log", params={"subject": "cqc-audit"}, headers=as_role("governance"))
        .json()
    )
    assert [(r["route"], r["purpose"]) for r in reads] == [
        ("/reports/section6", "regulatory_oversight")
    ]
    assert reads[0]["query"]["provider"] == "RXX"


def test_an_unusable_purpose_of_use_is_refused_and_not_served(clients: dict[str, Any]) -> None:
    response = clients["plan"].get(
        f"/plans/{clients['plan_id']}",
        headers={**as_role("clinician"), "X-Purpose-Of-Use": "Because I Can"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "X-Purpose-Of-Use"
    assert "Because" not in response.text
