"""The audit_service's background process: the projection consumer
(`python -m services.audit_service consumer`). Runs until the stop event is set.

No dead-letter topic exists for events yet (contracts/topics.py defines one for submissions
only): a refused record is logged by field and rule by the consumer and kept in `au_rejected`.
This module must never apply events itself: that is the projection's job.
"""

from __future__ import annotations

import threading

from psycopg_pool import ConnectionPool

from services.audit_service.projection import AuditProjection
from services.audit_service.settings import AuditServiceSettings
from services.common.consumer import TransactionalConsumer
from services.common.db import open_pool
from services.common.settings import CommonSettings


def make_consumer(settings: CommonSettings, pool: ConnectionPool) -> TransactionalConsumer:
    max_records = (
        settings.consumer_max_poll_records if isinstance(settings, AuditServiceSettings) else 2000
    )
    return TransactionalConsumer(
        settings, AuditProjection(settings), pool, max_poll_records=max_records
    )


def run_consumer(settings: CommonSettings, stop: threading.Event) -> None:
    pool = open_pool(settings)
    try:
        make_consumer(settings, pool).run_until(stop)
    finally:
        pool.close()
