"""plan_service over HTTP on the real stack: commands become hash-chained events, retries are
idempotent, conflicts and bad input are named, and the plan reads back now and as it was."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from contracts import examples
from contracts.envelope import verify_chain
from contracts.registry import parse_event
from services.plan_service.routes_commands import CommandOut
from tests.integration.plan_service.conftest import post

PERSON = str(uuid.uuid4())
NURSE = str(uuid.uuid4())


def start_body(person_id: str = "P-100") -> dict[str, Any]:
    return {
        "person": {**examples.PERSON.model_dump(mode="json"), "person_id": person_id},
        "setting": examples.SETTING.model_dump(mode="json"),
    }


def new_plan(client: TestClient, person_id: str = "P-100") -> str:
    r = post(client, "/plans", start_body(person_id))
    assert r.status_code == 201, r.text
    plan_id = r.json()["stream_id"]
    for pid, role in ((PERSON, "service_user"), (NURSE, "nurse")):
        body = {"participant_id": pid, "role": role, "name": "Synthetic Person"}
        assert post(client, f"/plans/{plan_id}/participants", body).status_code == 200
    return plan_id


def contribute(client: TestClient, plan_id: str, **headers: str) -> Any:
    body = {
        "section": "warning_signs",
        "content": {"kind": "items", "items": ["Not sleeping"]},
        "author_participant_id": PERSON,
        "present": [{"participant_id": PERSON, "attendance": "in_person"}],
        "mode": "in_person",
    }
    return post(client, f"/plans/{plan_id}/contributions", body, **headers)


def test_commands_become_a_hash_chained_history_that_reads_back(client: TestClient) -> None:
    plan_id = new_plan(client)
    assert contribute(client, plan_id).status_code == 200
    proposed = post(client, f"/plans/{plan_id}/versions", {"proposed_by_participant_id": NURSE})
    assert proposed.json()["created"]["version_number"] == 1
    history = client.get(f"/plans/{plan_id}/events").json()["events"]
    envelopes = [parse_event(e, upcast=False) for e in history]
    verify_chain(envelopes)
    assert [e.event_type.split(".")[1] for e in envelopes] == [
        "plan_started",
        "participant_invited",
        "participant_invited",
        "contribution_made",
        "version_proposed",
    ]
    plan = client.get(f"/plans/{plan_id}").json()
    assert plan["sections"]["warning_signs"]["in_version"] == 1
    assert plan["stream_version"] == 5
    as_before = client.get(f"/plans/{plan_id}", params={"version": 3}).json()
    assert as_before["sections"] == {}
    assert len(as_before["participants"]) == 2


def test_a_command_answers_in_the_documented_shape_with_what_it_stored(
    client: TestClient,
) -> None:
    plan_id = new_plan(client)
    answer = contribute(client, plan_id)
    assert answer.headers["content-type"] == "application/json"
    assert "Idempotent-Replayed" not in answer.headers
    out = CommandOut.model_validate_json(answer.content)
    stored = parse_event(client.get(f"/plans/{plan_id}/events").json()["events"][-1], upcast=False)
    assert (str(out.stream_id), out.stream_type, out.stream_version) == (
        plan_id,
        "safety_plan",
        stored.stream_version,
    )
    assert [(e.event_id, e.event_type, e.hash) for e in out.events] == [
        (stored.event_id, stored.event_type, stored.hash)
    ]
    assert out.created == {"contribution_id": str(stored.payload.contribution_id)}
    assert out.replayed is False
    created = post(client, "/plans", start_body())
    assert created.headers["Location"] == f"/plans/{created.json()['stream_id']}"


def test_a_retried_request_returns_the_first_result_and_writes_nothing(client: TestClient) -> None:
    plan_id = new_plan(client)
    first = contribute(client, plan_id, **{"Idempotency-Key": "k-1"})
    again = contribute(client, plan_id, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["events"] == first.json()["events"]
    assert len(client.get(f"/plans/{plan_id}/events").json()["events"]) == 4


def test_a_reused_idempotency_key_with_another_body_is_a_conflict(client: TestClient) -> None:
    plan_id = new_plan(client)
    contribute(client, plan_id, **{"Idempotency-Key": "k-2"})
    other = post(
        client,
        f"/plans/{plan_id}/versions",
        {"proposed_by_participant_id": NURSE},
        **{"Idempotency-Key": "k-2"},
    )
    assert other.status_code == 409
    assert other.json()["detail"][0]["rule"] == "same_key_same_request"


def test_a_stale_expected_version_is_a_409(client: TestClient) -> None:
    plan_id = new_plan(client)
    stale = contribute(client, plan_id, **{"Expected-Version": "1"})
    assert stale.status_code == 409
    assert stale.json()["detail"][0]["field"] == "expected_version"
    assert contribute(client, plan_id, **{"Expected-Version": "3"}).status_code == 200


def test_bad_input_is_a_422_naming_the_field_without_echoing_it(client: TestClient) -> None:
    body = start_body()
    body["person"]["nhs_number"] = "9434765918"  # a wrong check digit
    bad = post(client, "/plans", body)
    assert bad.status_code == 422
    detail = bad.json()["detail"]
    assert any(d["field"].endswith("nhs_number") for d in detail)
    assert "9434765918" not in bad.text
    assert examples.PERSON.name not in bad.text


def test_unknown_plans_are_404_and_broken_rules_422(client: TestClient) -> None:
    missing = contribute(client, str(uuid.uuid4()))
    assert missing.status_code == 404
    plan_id = new_plan(client)
    agree = {"version_number": 3, "participant_id": PERSON, "mode": "in_person"}
    refused = post(client, f"/plans/{plan_id}/agreements", agree)
    assert refused.status_code == 422
    assert refused.json()["detail"][0] == {
        "field": "payload.version_number",
        "rule": "version_exists",
        "message": "no such version of this plan",
    }
    assert client.get(f"/plans/{uuid.uuid4()}").status_code == 404


def agree_version(client: TestClient, plan_id: str, at: str) -> int:
    contribute(client, plan_id, **{"Occurred-At": at})
    proposed = post(
        client,
        f"/plans/{plan_id}/versions",
        {"proposed_by_participant_id": NURSE},
        **{"Occurred-At": at},
    )
    number = int(proposed.json()["created"]["version_number"])
    agreed = post(
        client,
        f"/plans/{plan_id}/agreements",
        {"version_number": number, "participant_id": PERSON, "mode": "in_person"},
        **{"Occurred-At": at},
    )
    assert agreed.status_code == 200, agreed.text
    return number


def test_an_incident_carries_the_plan_version_in_force_at_its_start(client: TestClient) -> None:
    incident = examples.incident_stream()[0].payload.model_dump(mode="json")
    assert incident["started_at"].startswith("2025-03-10")
    plan_id = new_plan(client, person_id=incident["patient"]["person_id"])
    agree_version(client, plan_id, "2025-03-01T10:00:00Z")  # version 1, before the incident
    agree_version(client, plan_id, "2025-03-20T10:00:00Z")  # version 2, after it
    body = {k: v for k, v in incident.items() if k not in ("plan_id", "plan_version_in_force")}
    recorded = post(client, "/incidents", body)
    assert recorded.status_code == 201, recorded.text
    events = client.get(f"/incidents/{recorded.json()['stream_id']}/events").json()["events"]
    assert events[0]["payload"]["plan_id"] == plan_id
    assert events[0]["payload"]["plan_version_in_force"] == 1


def test_an_incident_before_any_agreed_version_has_no_plan_in_force(client: TestClient) -> None:
    incident = examples.incident_stream()[0].payload.model_dump(mode="json")
    plan_id = new_plan(client, person_id=incident["patient"]["person_id"])
    agree_version(client, plan_id, "2025-04-01T10:00:00Z")
    body = {k: v for k, v in incident.items() if k not in ("plan_id", "plan_version_in_force")}
    recorded = post(client, "/incidents", body)
    events = client.get(f"/incidents/{recorded.json()['stream_id']}/events").json()["events"]
    assert events[0]["payload"]["plan_id"] is None
    assert events[0]["payload"]["plan_version_in_force"] is None
