"""The reporting_service's background processes: the projection consumer
(`python -m services.reporting_service consumer`), which runs until the stop event is set, and
the schema migration (`... migrate`), which brings the schema up to date and exits: run it as a
one-off job before rolling out a version onto a large schema, so that no API process has to do
it inside its start-up probe's budget.

A refused event goes to the events dead-letter topic (`safetyplan.events.dlq`, original key and
bytes, dlq-* headers naming field and rule), is kept in `rs_rejected` and is listed in every
report's provenance.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from psycopg_pool import ConnectionPool

from services.common.consumer import TransactionalConsumer, projection_consumer, run_projection
from services.common.settings import EntitledSettings
from services.reporting_service.projection import ReportingProjection, apply_reporting_schema

log = logging.getLogger(__name__)


def make_consumer(settings: EntitledSettings, pool: ConnectionPool) -> TransactionalConsumer:
    return projection_consumer(settings, ReportingProjection(settings), pool)


def run_consumer(settings: EntitledSettings, stop: threading.Event) -> None:
    run_projection(settings, ReportingProjection, stop)


def run_migration(settings: EntitledSettings, stop: threading.Event) -> None:
    started = time.monotonic()
    with psycopg.connect(settings.pg_conninfo()) as conn:
        apply_reporting_schema(conn)
    log.info("reporting schema up to date (%.1f s)", time.monotonic() - started)
