"""The audit_service's background process: the projection consumer
(`python -m services.audit_service consumer`). Runs until the stop event is set.

A record the audit refuses goes to the events dead-letter topic (`safetyplan.events.dlq`, original
key and bytes, dlq-* headers naming field and rule) and is kept in `au_rejected`; the projection
returns refusals instead of raising, so one bad record never replays the batch.
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
