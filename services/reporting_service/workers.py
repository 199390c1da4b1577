"""The reporting_service's background process: the projection consumer
(`python -m services.reporting_service consumer`). Runs until the stop event is set.

No dead-letter topic exists for events yet (contracts/topics.py defines one for submissions
only): a refused event is logged by field and rule by the consumer, kept in `rs_rejected`, and
listed in every report's provenance.
"""

from __future__ import annotations

import threading

from psycopg_pool import ConnectionPool

from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.settings import CommonSettings
from services.reporting_service.projection import ReportingProjection
from services.reporting_service.settings import ReportingServiceSettings


def make_consumer(settings: CommonSettings, pool: ConnectionPool) -> TransactionalConsumer:
    max_records = (
        settings.consumer_max_poll_records
        if isinstance(settings, ReportingServiceSettings)
        else 2000
    )
    return TransactionalConsumer(
        settings, ReportingProjection(settings), pool, max_poll_records=max_records
    )


def run_consumer(settings: CommonSettings, stop: threading.Event) -> None:
    pool = open_pool(settings)
    try:
        make_consumer(settings, pool).run_until(stop)
    finally:
        pool.close()
