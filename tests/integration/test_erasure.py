"""Personal data sealed per patient, and erased by destroying the key — on the real stack.

One patient's plan, contributions, an incident and Kafka submissions (one rejected) go through
every process: plan API, submissions worker, relay, plan read model, audit and reporting
projections. Before erasure, the event store, the read model and every Kafka topic hold only
sealed tokens. A legal hold blocks the erasure; once lifted, the erasure destroys the key, the
projections drop what they derived, and a dump of every database schema and every topic of the
test contains none of the person's name, NHS number or free text — while the statistics still
count the incident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition

from contracts import commands as c
from contracts import examples, topics
from contracts.sealed_values import is_token
from services.audit_service.settings import AuditServiceSettings
from services.audit_service.workers import make_consumer as audit_consumer
from services.common.consumer import TransactionalConsumer, projection_consumer
from services.common.db import open_pool
from services.common.key_vault import open_key_vault
from services.common.settings import CommonSettings
from services.plan_service.api import create_app as plan_app
from services.plan_service.handlers import PlanCommands
from services.plan_service.person_index import PersonIndex
from services.plan_service.read_model import PlanProjection
from services.plan_service.relay import Relay
from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import open_store
from services.plan_service.submissions import SubmissionsProjection
from services.plan_service.workers import TRANSIENT
from services.reporting_service.api import create_app as reporting_app
from services.reporting_service.settings import ReportingServiceSettings
from services.reporting_service.statistics import age_group, category_label
from services.reporting_service.workers import make_consumer as reporting_consumer
from tests.auth_tokens import admin, bearer, ward_app
from tests.conftest import DATABASES
from tests.integration.plan_service.test_submissions import command, produce

pytestmark = pytest.mark.integration

TAG = uuid.uuid4().hex[:8]
NAME = f"Zebedee Quillfeather {TAG}"
NHS = "9434765870"
PLAN_TEXT = f"hears the sea at night {TAG}"
SUBMITTED_TEXT = f"wants the window open {TAG}"
INCIDENT_TEXT = f"was pacing the corridor shouting {TAG}"
REJECTED_TEXT = f"rejected submission about {NAME}"
SECRETS = (NAME, NHS, PLAN_TEXT, SUBMITTED_TEXT, INCIDENT_TEXT, f"Quillfeather {TAG}")
PERSON_ID = f"P-ERASE-{TAG}"
PERSON_PARTICIPANT = str(uuid.uuid4())
REGULATOR = bearer("regulator", subject="rg-1", identifiable=True)
SUBMISSION_TOPICS = (topics.SUBMISSIONS, topics.SUBMISSIONS_DLQ)  # arrive in clear by design
NOT_KNOWN = (age_group(None), category_label(None), category_label(None))
YEAR = {"from_date": "2025-01-01", "to_date": "2025-12-31", "provider": "RXX"}


@pytest.fixture
def own(settings: CommonSettings) -> dict[str, Any]:
    scope = {"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    return {
        "plan": PlanServiceSettings().model_copy(update=scope),
        "audit": AuditServiceSettings().model_copy(update=scope),
        "reporting": ReportingServiceSettings().model_copy(update=scope),
    }


class Workers:
    """Every background process of the platform, driven by hand so the test knows when each is
    caught up."""

    def __init__(self, own: dict[str, Any]) -> None:
        plan: PlanServiceSettings = own["plan"]
        self.plan_pool = open_pool(plan)
        self.store = open_store(plan)
        self.vault, self.vault_pool = open_key_vault(plan)
        self.handlers = PlanCommands(self.store, PersonIndex(self.plan_pool), self.vault)
        submissions = SubmissionsProjection(plan, self.handlers)
        self.audit_pool = open_pool(own["audit"])
        self.reporting_pool = open_pool(own["reporting"])
        self.consumers: list[TransactionalConsumer] = [
            TransactionalConsumer(
                plan,
                submissions,
                self.plan_pool,
                dlq_topic=submissions.dlq_topic(),
                transient=TRANSIENT,
            ),
            projection_consumer(plan, PlanProjection(plan), self.plan_pool),
            audit_consumer(own["audit"], self.audit_pool),
            reporting_consumer(own["reporting"], self.reporting_pool),
        ]
        self.relay = Relay(plan, self.store, self.plan_pool)
        for consumer in self.consumers:
            consumer.setup()

    def drain(self, seconds: float = 4.0) -> None:
        """Run everything until nothing moved for a while (bounded)."""
        deadline = time.monotonic() + 60
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < seconds:
            assert time.monotonic() < deadline, "the workers did not settle"
            moved = self.relay.relay_once()
            for consumer in self.consumers:
                moved += consumer.poll_once(200) or 0
            if moved:
                quiet_since = time.monotonic()

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.close()
        self.handlers.close()
        self.store.close()
        for pool in (self.plan_pool, self.audit_pool, self.reporting_pool, self.vault_pool):
            pool.close()


@pytest.fixture
def workers(own: dict[str, Any]) -> Iterator[Workers]:
    running = Workers(own)
    yield running
    running.close()


def test_personal_data_is_sealed_everywhere_and_gone_after_erasure(
    own: dict[str, Any], workers: Workers
) -> None:
    with (
        TestClient(plan_app(own["plan"]), headers=ward_app()) as plan,
        TestClient(reporting_app(own["reporting"])) as reporting,
    ):
        plan_id, incident_id = _record_a_plan_and_an_incident(plan)
        _submit_on_kafka(own["plan"], plan_id)
        workers.drain()

        # --- sealed before anything is erased: store, read model, topics hold no plaintext
        plaintext = _plaintext_found(own, skip_topics=SUBMISSION_TOPICS)
        assert plaintext["kafka"] == set(), "plaintext on Kafka besides the submissions"
        for db in ("safetyplan_plan", "safetyplan_audit", "safetyplan_keys"):
            assert plaintext[db] == set(), f"plaintext in {db}"
        assert NAME in plaintext["safetyplan_reporting"]  # the entitled projection opened it
        submitted = _found(_kafka_dump(own["plan"], set()))
        assert {NAME, SUBMITTED_TEXT} <= submitted  # commands arrive in clear, by design
        read = plan.get(f"/plans/{plan_id}").json()
        assert read["person"]["name"] == NAME  # an entitled reader gets the value back
        written = plan.get(f"/plans/{plan_id}/events").json()["events"]
        assert is_token(written[0]["payload"]["person"]["name"])
        before = _statistics(own, reporting)

        # --- a legal hold blocks the erasure
        hold = reporting.post(
            "/admin/legal-holds",
            json={"incident_id": incident_id, "reason_code": "coroner", "placed_by": "rp-1"},
            headers=admin(),
        )
        assert hold.status_code == 201, hold.text
        blocked = plan.post(
            f"/persons/{PERSON_ID}/erasure", json={"reason": "erasure_request"}, headers=admin()
        )
        assert blocked.status_code == 409
        assert blocked.json()["detail"][0]["rule"] == "no_legal_hold"
        lifted = reporting.post(
            f"/admin/legal-holds/{hold.json()['hold_id']}/lift",
            json={"lifted_by": "rp-1"},
            headers=admin(),
        )
        assert lifted.status_code == 200

        # --- erase, let the projections hear of it
        erased = plan.post(
            f"/persons/{PERSON_ID}/erasure", json={"reason": "erasure_request"}, headers=admin()
        )
        assert erased.status_code == 200, erased.text
        assert erased.json()["first_time"] is True
        assert erased.json()["submission_partitions_purged"] >= 1
        workers.drain()

        # --- nothing of them remains in clear; what does not identify them still counts
        assert _plaintext_found(own) == {key: set() for key in [*DATABASES, "kafka"]}
        assert plan_id.encode() in _kafka_dump(own["plan"], set())  # the dumps are not empty
        assert plan_id.encode() in _pg_dump(own["plan"], "safetyplan_plan")
        assert plan.get(f"/plans/{plan_id}").json()["person"]["name"] is None
        after = _statistics(own, reporting)
        assert after["incidents"] == before["incidents"]
        assert after["people"] == before["people"]
        assert after["total_row"] == before["total_row"]
        assert before["their_characteristics"] != {NOT_KNOWN}
        assert after["their_characteristics"] == {NOT_KNOWN}
        refused = plan.post("/plans", json=_start_body())
        assert refused.status_code == 410
        assert refused.json()["detail"][0]["rule"] == "not_erased"
        again = plan.post(
            f"/persons/{PERSON_ID}/erasure", json={"reason": "erasure_request"}, headers=admin()
        )
        assert again.status_code == 200
        assert again.json()["first_time"] is False


# --- the scenario --------------------------------------------------------------------------------
def _start_body() -> dict[str, Any]:
    person = {**examples.PERSON.model_dump(mode="json"), "person_id": PERSON_ID}
    person |= {"name": NAME, "nhs_number": NHS}
    return {"person": person, "setting": examples.SETTING.model_dump(mode="json")}


def _record_a_plan_and_an_incident(plan: TestClient) -> tuple[str, str]:
    made = plan.post("/plans", json=_start_body())
    assert made.status_code == 201, made.text
    plan_id = made.json()["stream_id"]
    invite = {"participant_id": PERSON_PARTICIPANT, "role": "service_user", "name": NAME}
    assert plan.post(f"/plans/{plan_id}/participants", json=invite).status_code == 200
    contribution = {
        "section": "warning_signs",
        "content": {"kind": "items", "items": [PLAN_TEXT]},
        "author_participant_id": PERSON_PARTICIPANT,
        "present": [{"participant_id": PERSON_PARTICIPANT, "attendance": "in_person"}],
        "mode": "in_person",
    }
    assert plan.post(f"/plans/{plan_id}/contributions", json=contribution).status_code == 200
    incident = examples.incident_stream()[0].payload.model_dump(mode="json")
    body = {k: v for k, v in incident.items() if k not in ("plan_id", "plan_version_in_force")}
    body["patient"] = {**body["patient"], "person_id": PERSON_ID, "name": NAME, "nhs_number": NHS}
    body["description"] = INCIDENT_TEXT
    recorded = plan.post("/incidents", json=body)
    assert recorded.status_code == 201, recorded.text
    return plan_id, recorded.json()["stream_id"]


def _submit_on_kafka(settings: PlanServiceSettings, plan_id: str) -> None:
    """A valid contribution and a rejected one, both carrying their words in clear."""
    stream = uuid.UUID(plan_id)
    good = c.MakeContributionV1.model_validate(
        {
            "section": "internal_coping",
            "content": {"kind": "items", "items": [SUBMITTED_TEXT]},
            "author_participant_id": PERSON_PARTICIPANT,
            "present": [{"participant_id": PERSON_PARTICIPANT, "attendance": "in_person"}],
            "mode": "in_person",
        }
    )
    bad = command(good, stream, uuid.uuid4()).replace(b'"in_person"', b'"by_pigeon"', 1)
    bad = bad.replace(SUBMITTED_TEXT.encode(), REJECTED_TEXT.encode())
    produce(settings, [(stream, command(good, stream, uuid.uuid4())), (stream, bad)])


# --- what is left ------------------------------------------------------------------------------
def _plaintext_found(own: dict[str, Any], skip_topics: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Which of the person's values a dump of each database schema and of Kafka contains."""
    settings: CommonSettings = own["plan"]
    found = {db: _found(_pg_dump(settings, db)) for db in DATABASES}
    skip = {topics.topic(t, settings.topic_prefix) for t in skip_topics}
    found["kafka"] = _found(_kafka_dump(settings, skip))
    return found


def _found(blob: bytes) -> set[str]:
    return {s for s in SECRETS if s.encode() in blob}


def _pg_dump(settings: CommonSettings, dbname: str) -> bytes:
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump (Debian postgresql-client) is needed"
    env = {**os.environ, "PGPASSWORD": settings.pg_password.get_secret_value()}
    args = ["-h", settings.pg_host, "-p", str(settings.pg_port), "-U", settings.pg_user]
    out = subprocess.run(
        [pg_dump, *args, "--data-only", "-n", str(settings.pg_schema), dbname],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return out.stdout


def _kafka_dump(settings: CommonSettings, skip: set[str]) -> bytes:
    consumer = KafkaConsumer(**settings.kafka_config(), enable_auto_commit=False)
    try:
        names = [
            t for t in consumer.topics() if t.startswith(settings.topic_prefix) and t not in skip
        ]
        parts = [TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t)]
        consumer.assign(parts)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(parts)
        chunks: list[bytes] = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            assert time.monotonic() < deadline, "could not read every topic to its end"
            for records in consumer.poll(timeout_ms=300).values():
                for r in records:
                    chunks += [r.key or b"", r.value or b""]
                    chunks += [v for _, v in r.headers]
        return b"\n".join(chunks)
    finally:
        consumer.close()


def _statistics(own: dict[str, Any], reporting: TestClient) -> dict[str, Any]:
    report = reporting.get("/reports/statistics", params=YEAR, headers=REGULATOR)
    assert report.status_code == 200, report.text
    rows = report.json()["report"]["rows"]
    with psycopg.connect(own["reporting"].pg_conninfo()) as conn:
        counted = conn.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM rs_stat_incident"
        ).fetchone()
        theirs = conn.execute(
            "SELECT DISTINCT age_group, gender, ethnicity FROM rs_stat_incident "
            "WHERE person_id = %s",
            (PERSON_ID,),
        ).fetchall()
    assert counted is not None
    return {
        "incidents": counted[0],
        "people": counted[1],
        "total_row": [r for r in rows if r["breakdown"] == "total"],
        "their_characteristics": set(theirs),
    }
