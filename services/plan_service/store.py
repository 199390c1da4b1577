"""The event store: an eventsourcing Application on PostgreSQL in the library's default mode.

Default mode on purpose (architecture.md): POSTGRES_ENABLE_DB_FUNCTIONS drops the table lock and
a reader tailing the notification log, such as the relay, then misses events.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import Application

from contracts.envelope import EventEnvelope
from contracts.registry import parse_event
from services.common.db import schema_lock
from services.common.settings import CommonSettings
from services.plan_service.domain.incident import UseOfForceIncident
from services.plan_service.domain.plan import SafetyPlan

Stream = SafetyPlan | UseOfForceIncident


class PlanStore(Application):
    """Holds both kinds of stream; its events table (`planstore_events`) is the outbox."""

    name = "PlanStore"


def open_store(settings: CommonSettings) -> PlanStore:
    env = settings.eventsourcing_env()
    # The writer trusts its cache (no query per command). Another process that wrote a cached
    # stream first makes the save fail on the (stream, version) key; the writer then evicts the
    # stale aggregate and retries on fresh state. Reads that must be fresh use `fresh()`.
    env["AGGREGATE_CACHE_MAXSIZE"] = "5000"
    env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
    with schema_lock(settings, "planstore_events"):  # the library creates its tables here
        return PlanStore(env=env)


def stored_envelopes(
    store: PlanStore, stream_id: UUID, *, upto_version: int | None = None
) -> Iterator[EventEnvelope[Any]]:
    """The stream's sealed envelopes in order, as written (no upcasting: the hash is of this)."""
    for event in store.repository.event_store.get(stream_id, lte=upto_version):
        yield parse_event(cast(Any, event).envelope, upcast=False)


def envelopes_as_of(store: PlanStore, stream_id: UUID, at: datetime) -> list[EventEnvelope[Any]]:
    """What the record said at ``at``: events the store had accepted by then (recorded_at)."""
    return [e for e in stored_envelopes(store, stream_id) if e.recorded_at <= at]
