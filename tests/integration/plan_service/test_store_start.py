"""Several API processes starting at once on an empty schema: the event store's own table set-up
must not make any of them fail (it did: "tuple concurrently updated" with two uvicorn workers)."""

from __future__ import annotations

import threading
from typing import Any

from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import open_store


def test_stores_opened_at_once_on_a_fresh_schema_all_start(
    plan_settings: PlanServiceSettings,
) -> None:
    starters = 6
    ready = threading.Barrier(starters)
    outcomes: list[Any] = []

    def start() -> None:
        ready.wait()
        try:
            store = open_store(plan_settings)
        except Exception as exc:  # the failure under test
            outcomes.append(exc)
        else:
            outcomes.append(store)

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert failures == []
    assert len(outcomes) == starters
    for store in outcomes:
        assert store.recorder.max_notification_id() in (None, 0)
        store.close()
