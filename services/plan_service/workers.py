"""The plan_service's background processes: the relay, the read-model consumer and the Kafka
submissions consumer. Each runs in its own process (`python -m services.plan_service <name>`)."""

from __future__ import annotations

import threading

from eventsourcing.persistence import InterfaceError, OperationalError

from services.common.consumer import TransactionalConsumer, run_projection
from services.common.db import open_pool
from services.common.key_vault import open_key_vault
from services.common.settings import CommonSettings, EntitledSettings
from services.plan_service.handlers import PlanCommands
from services.plan_service.person_index import PersonIndex
from services.plan_service.read_model import PlanProjection
from services.plan_service.relay import Relay
from services.plan_service.store import open_store
from services.plan_service.submissions import SubmissionsProjection

TRANSIENT = (OperationalError, InterfaceError)


def run_relay(settings: CommonSettings, stop: threading.Event) -> None:
    pool = open_pool(settings)
    store = open_store(settings)
    try:
        Relay(settings, store, pool).run(stop)
    finally:
        store.close()
        pool.close()


def run_read_model(settings: CommonSettings, stop: threading.Event) -> None:
    run_projection(settings, PlanProjection, stop)


def run_submissions(settings: EntitledSettings, stop: threading.Event) -> None:
    pool = open_pool(settings)
    store = open_store(settings)
    vault, vault_pool = open_key_vault(settings)
    handlers = PlanCommands(store, PersonIndex(pool), vault)
    projection = SubmissionsProjection(settings, handlers)
    consumer = TransactionalConsumer(
        settings,
        projection,
        pool,
        dlq_topic=projection.dlq_topic(),
        transient=TRANSIENT,
        max_poll_records=500,
    )
    consumer.run_until(stop)
    handlers.close()
    store.close()
    vault_pool.close()
    pool.close()
