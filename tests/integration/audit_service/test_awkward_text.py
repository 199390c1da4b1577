"""Text the audit stores (unit names) reaches PostgreSQL unchanged through the bulk writes,
whatever quotes, backslashes, braces or commas it holds."""

from __future__ import annotations

import psycopg

from services.audit_service.settings import AuditServiceSettings
from services.common.settings import CommonSettings
from tests.integration.audit_service.builders import co_produced, produce
from tests.integration.audit_service.test_audit_projection import close, run_to_end

AWKWARD = 'Ward "A", {east} \\ wing; NULL'


def test_a_unit_name_with_quotes_backslashes_and_braces_is_stored_as_written(
    settings: CommonSettings,
) -> None:
    own = AuditServiceSettings().model_copy(
        update={"pg_schema": settings.pg_schema, "topic_prefix": settings.topic_prefix}
    )
    plan = co_produced("awkward", unit=AWKWARD)
    produce(own, plan.events)
    close(run_to_end(own, len(plan.events)))
    with psycopg.connect(own.pg_conninfo()) as conn:
        units = conn.execute("SELECT unit FROM au_plans WHERE plan_id = %s", (plan.plan_id,))
        assert units.fetchall() == [(AWKWARD,)]
