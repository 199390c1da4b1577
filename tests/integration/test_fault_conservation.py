"""kill -9 at random points under load, then a conservation check on the real stack.

Clinical commands go in through the Kafka submissions topic while the submissions worker, the
relay, the plan read model, the audit and the reporting consumers are killed with SIGKILL and
restarted at random (seeded, bounded). Afterwards: every submitted command's event is in the
store exactly once, on Kafka at least once, and applied exactly once in the plan read model, the
audit and the reporting projection. (Broker and database outages: test_fault_stack_outages.py.)
"""

from __future__ import annotations

import random
import time
import uuid

import pytest

from contracts import commands as c
from contracts import examples, topics
from services.common.kafka_client import make_producer
from services.common.settings import CommonSettings
from services.plan_service.settings import PlanServiceSettings
from tests.integration.fault_helpers import (
    Workers,
    command,
    kafka_event_ids,
    projected,
    rows,
    stored_events,
)

WORKERS = ("submissions", "relay", "read-model", "audit", "reporting")
PLANS = 12
CONTRIBUTIONS = 60  # per plan: 12 * (2 + 60) = 744 commands


def workload() -> list[tuple[uuid.UUID, uuid.UUID, bytes]]:
    """(plan id, command id, bytes) in an order that is valid per plan."""
    out = []
    for _ in range(PLANS):
        plan_id, person = uuid.uuid4(), uuid.uuid4()
        out.append(
            (
                plan_id,
                *command(c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING), plan_id),
            )
        )
        invite = c.InviteParticipantV1(
            participant_id=person, role="service_user", name="Fault Test"
        )
        out.append((plan_id, *command(invite, plan_id)))
        for i in range(CONTRIBUTIONS):
            body = c.MakeContributionV1.model_validate(
                {
                    "section": "warning_signs",
                    "content": {"kind": "items", "items": [f"sign {i}"]},
                    "author_participant_id": person,
                    "present": [],
                    "mode": "in_person",
                }
            )
            out.append((plan_id, *command(body, plan_id)))
    return out


@pytest.mark.timeout(420)
def test_random_kill_9_of_every_worker_under_load_loses_and_duplicates_nothing(
    settings: CommonSettings,
) -> None:
    plan = PlanServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    work = workload()
    rng = random.Random(20261123)
    workers = Workers(plan)
    for name in WORKERS:
        workers.start(name)
    producer = make_producer(plan)
    submissions = topics.topic(topics.SUBMISSIONS, plan.topic_prefix)
    try:
        # produce in slices; after each slice kill -9 one worker at a random moment, restart it
        for start in range(0, len(work), 60):
            for plan_id, _, value in work[start : start + 60]:
                producer.send(submissions, key=topics.record_key(plan_id), value=value)
            producer.flush()
            time.sleep(rng.uniform(0.05, 0.8))
            victim = rng.choice(sorted(WORKERS))
            workers.kill9(victim)
            time.sleep(rng.uniform(0.0, 0.3))
            workers.start(victim)
        expected = {str(command_id) for _, command_id, _ in work}
        deadline = time.monotonic() + 180
        while True:  # recovery: the restarted workers catch up by themselves
            store = stored_events(plan)
            causes, versions, event_ids = store.causes, store.versions, store.event_ids
            now = projected(plan)
            if (
                set(causes) >= expected
                and now.read_model == versions
                and now.audited == store.events
                and now.reported == store.events
            ):
                break
            assert time.monotonic() < deadline, (
                f"no recovery: {len(set(causes) & expected)}/{len(expected)} commands stored, "
                f"{len(now.read_model)} plans in the read model, {len(now.audited)} audited, "
                f"{len(now.reported)} reported"
            )
            time.sleep(1)
    finally:
        producer.close()
        workers.stop_all()

    assert sum(workers.kills.values()) >= 10
    assert set(workers.kills) == set(WORKERS)  # every worker was killed at least once
    # in the store exactly once
    assert set(causes) == expected
    assert max(causes.values()) == 1
    # on Kafka at least once
    on_kafka = kafka_event_ids(plan, topics.topic(topics.PLAN_EVENTS, plan.topic_prefix))
    assert set(on_kafka) >= event_ids
    # applied exactly once: the read model is at each plan's last version, the audit has each
    # stored event once, and each submission has exactly one outcome
    assert now.read_model == versions
    assert now.audited == store.events
    assert now.reported == store.events
    outcomes = rows(
        plan,
        "safetyplan_plan",
        "SELECT command_id::text, count(*) FROM submission_outcomes GROUP BY command_id",
    )
    assert {cid for cid, _ in outcomes} == expected
    assert all(n == 1 for _, n in outcomes)
