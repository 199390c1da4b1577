"""The audit_service HTTP API over a consumed log: a plan's involvement, a period report and
its CSV, and a Merkle proof that a third party checks with a few lines of hashlib."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from contracts.merkle import verify_inclusion
from services.audit_service.api import create_app
from services.audit_service.settings import AuditServiceSettings
from services.common.settings import CommonSettings
from tests.auth_tokens import governance
from tests.integration.audit_service.builders import co_produced, produce
from tests.integration.audit_service.test_audit_projection import close, run_to_end


def standalone_verify(event_hash: str, index: int, size: int, proof: list[str], root: str) -> bool:
    """The README's snippet: RFC 9162 inclusion check with hashlib only."""
    node = hashlib.sha256(b"\x00" + event_hash.encode()).digest()
    fn, sn = index, size - 1
    for sibling in map(bytes.fromhex, proof):
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            node = hashlib.sha256(b"\x01" + sibling + node).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            node = hashlib.sha256(b"\x01" + node + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and node.hex() == root


def test_the_api_answers_who_was_involved_and_proves_an_event_is_in_the_log(
    settings: CommonSettings,
) -> None:
    own = AuditServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    plans = [co_produced("a", "Oak Unit"), co_produced("b", "Elm Unit")]
    events = [e for p in plans for e in p.events]
    produce(own, events)
    close(run_to_end(own, len(events)))
    with TestClient(create_app(own), headers=governance("RXX")) as client:
        audit = client.get(
            f"/audit/plans/{plans[0].plan_id}", params={"as_of": "2025-03-01T00:00:00Z"}
        )
        assert audit.status_code == 200
        body = audit.json()
        v1, v2 = body["versions"]
        assert (v1["classification"], v2["classification"]) == ("with", "partial")
        assert v1["persons_view_recorded"]
        assert v1["shared_with_person"]
        assert v1["carer_involved"]
        assert [c["person_present"] for c in v1["contributions"]] == [True, True]
        assert v2["person_open_dissent"]
        assert v2["open_dissents"] == 1
        assert v2["dissents"][0]["age_days"] == 24  # 2025-02-04T04:00Z to 2025-03-01T00:00Z
        assert body["reviews"][0]["status"] == "on_time"
        assert body["integrity"]["intact"]
        assert "Test Person" not in audit.text
        assert "Some words" not in audit.text

        q = {"provider": "RXX", "from": "2025-02-01", "to": "2025-02-28"}
        report = client.get("/audit/reports/involvement", params=q).json()
        total = report["total"]
        assert [u["unit"] for u in report["units"]] == ["Elm Unit", "Oak Unit"]
        assert (total["plans"], total["versions"]) == (2, 4)
        assert total["with_person"] == {"numerator": 2, "denominator": 4, "rate": 0.5}
        assert total["with_unresolved_dissent"]["numerator"] == 2
        assert total["reviewed_on_time"] == {"numerator": 2, "denominator": 2, "rate": 1.0}
        assert total["information_sharing_agreed"]["rate"] == 1.0
        assert total["by_role"]["service_user"]["agreed"] == 2
        csv = client.get("/audit/reports/involvement.csv", params=q)
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.splitlines()
        assert len(lines) == 4
        assert lines[3].startswith("RXX,,")
        bad = client.get("/audit/reports/involvement", params={**q, "to": "2025-01-01"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["rule"] == "after_from"

        root = client.get("/integrity/merkle-root").json()
        assert root["size"] == len(events)
        target = plans[1].events[3]
        proof = client.get(f"/integrity/proofs/{target.event_id}").json()
        assert proof["root"] == root["root"]
        args = (target.hash, proof["index"], proof["size"], proof["proof"], proof["root"])
        assert verify_inclusion(*args)
        assert standalone_verify(*args)
        assert not standalone_verify(plans[0].events[0].hash, *args[1:])
        upto = [f"{c['topic']}:{c['partition']}:{c['end_offset']}" for c in root["checkpoint"]]
        assert client.get("/integrity/merkle-root", params={"upto": upto}).json() == root
        beyond = client.get("/integrity/merkle-root", params={"upto": [upto[0] + "9"]})
        assert beyond.json()["detail"][0]["rule"] == "beyond_consumed"
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/audit/plans/{plan_id}", "/integrity/proofs/{event_id}"} <= set(paths)
