"""Two command writers on one event store, as two API processes or replicas are: each sees the
other's events, catches its cached aggregate up instead of reloading the stream, and the stream
stays one unbroken chain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contracts import commands as c
from contracts import examples
from contracts.envelope import Actor, verify_chain
from services.common.db import open_pool
from services.common.key_vault import open_key_vault
from services.plan_service.command_context import build_context
from services.plan_service.handlers import PlanCommands
from services.plan_service.person_index import PersonIndex
from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import PlanStore, open_store, stored_envelopes

PERSON = str(uuid.uuid4())


def ctx() -> Any:
    return build_context(
        command_id=uuid.uuid4(),
        fingerprint="two-writers",
        actor=Actor(id="staff-1", role="nurse"),
        submitting_system="ward_app",
        correlation_id=None,
        occurred_at=None,
    )


@pytest.fixture
def writers(
    plan_settings: PlanServiceSettings,
) -> Iterator[list[tuple[PlanCommands, PlanStore]]]:
    pool = open_pool(plan_settings)
    vault, vault_pool = open_key_vault(plan_settings)
    stores = [open_store(plan_settings) for _ in range(2)]  # two caches, as two processes
    pairs = [(PlanCommands(store, PersonIndex(pool), vault), store) for store in stores]
    yield pairs
    for commands, store in pairs:
        commands.close()
        store.close()
    vault_pool.close()
    pool.close()


def contribution() -> c.MakeContributionV1:
    return c.MakeContributionV1.model_validate(
        {
            "section": "warning_signs",
            "content": {"kind": "items", "items": ["Not sleeping"]},
            "author_participant_id": PERSON,
            "present": [{"participant_id": PERSON, "attendance": "in_person"}],
            "mode": "in_person",
        }
    )


def test_alternating_writers_catch_up_on_each_others_events(
    writers: list[tuple[PlanCommands, PlanStore]],
) -> None:
    (first, first_store), (second, second_store) = writers
    plan_id = first.execute(c.StartPlanV1(person=examples.PERSON, setting=examples.SETTING), ctx())
    invite = c.InviteParticipantV1(participant_id=PERSON, role="service_user", name="Synthetic")
    first.execute(invite, ctx(), plan_id.stream_id)
    stream = plan_id.stream_id
    assert second.execute(contribution(), ctx(), stream).stream_version == 3  # loads: not cached
    cache = second_store.repository.cache
    assert cache is not None
    cached = cache.get(stream)
    for version in range(4, 12):
        commands = first if version % 2 == 0 else second
        assert commands.execute(contribution(), ctx(), stream).stream_version == version
    assert cache.get(stream) is cached  # caught up in place, never evicted and reloaded
    assert cached.version == 11
    envelopes = list(stored_envelopes(first_store, stream))
    verify_chain(envelopes)
    assert [e.stream_version for e in envelopes] == list(range(1, 12))
    assert len(cached.contributions) == 9
