"""The reporting_service's background process: the projection consumer
(`python -m services.reporting_service consumer`). Runs until the stop event is set.

A refused event goes to the events dead-letter topic (`safetyplan.events.dlq`, original key and
bytes, dlq-* headers naming field and rule), is kept in `rs_rejected` and is listed in every
report's provenance.
"""

from __future__ import annotations

import threading

from psycopg_pool import ConnectionPool

from services.common.consumer import TransactionalConsumer, projection_consumer, run_projection
from services.common.settings import EntitledSettings
from services.reporting_service.projection import ReportingProjection


def make_consumer(settings: EntitledSettings, pool: ConnectionPool) -> TransactionalConsumer:
    return projection_consumer(settings, ReportingProjection(settings), pool)


def run_consumer(settings: EntitledSettings, stop: threading.Event) -> None:
    run_projection(settings, ReportingProjection, stop)
