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
from services.common.consumer import TransactionalConsumer, projection_consumer, run_projection
from services.common.settings import CommonSettings


def make_consumer(settings: CommonSettings, pool: ConnectionPool) -> TransactionalConsumer:
    return projection_consumer(settings, AuditProjection(settings), pool)


def run_consumer(settings: CommonSettings, stop: threading.Event) -> None:
    run_projection(settings, AuditProjection, stop)
