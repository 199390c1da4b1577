"""The current-plan read model: fed from Kafka like every projection, so it scales and rebuilds
the same way (replay `safetyplan.events` from offset 0 into empty tables).

One row per plan with the folded document (jsonb) and the columns lists and searches filter on.
A redelivered event (at-least-once relay) is at or below the stored stream version and changes
nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from contracts import topics
from contracts.erasure import PersonErasedNotice, parse_notice
from contracts.registry import parse_event
from contracts.sealed_values import drop_tokens
from services.common.consumer import Record
from services.common.settings import CommonSettings
from services.plan_service import plan_document

DDL = [
    """
    CREATE TABLE IF NOT EXISTS plan_read_model (
        plan_id         uuid PRIMARY KEY,
        stream_version  int  NOT NULL,
        provider        text,
        unit            text,
        ward            text,
        status          text NOT NULL,
        current_version int,
        open_dissents   int  NOT NULL DEFAULT 0,
        next_review_due date,
        last_event_at   timestamptz,
        document        jsonb NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS plan_read_model_unit ON plan_read_model (provider, unit)",
    "CREATE INDEX IF NOT EXISTS plan_read_model_due ON plan_read_model (next_review_due)",
]


class PlanSummary(BaseModel):
    """One plan in a list: enough to triage, no personal data beyond the ids."""

    plan_id: uuid.UUID
    stream_version: int
    provider: str | None
    unit: str | None
    ward: str | None
    status: str
    current_version: int | None
    open_dissents: int
    next_review_due: date | None


class PlanProjection:
    """The Projection (services.common.consumer) behind the read model."""

    name = "plan_service-read-model"

    def __init__(self, settings: CommonSettings) -> None:
        self.settings = settings

    def topics(self) -> Sequence[str]:
        prefix = self.settings.topic_prefix
        return [topics.topic(topics.PLAN_EVENTS, prefix), topics.topic(topics.ERASURES, prefix)]

    def schema(self) -> Sequence[str]:
        return DDL

    def apply(self, cur: psycopg.Cursor[Any], record: Record) -> None:
        self.apply_batch(cur, [record])

    def apply_batch(self, cur: psycopg.Cursor[Any], records: Sequence[Record]) -> None:
        """Fold the batch's events into each plan's document: one read, one write per plan.

        Documents keep personal values sealed, as the events carry them (the API opens them for
        an entitled reader). An erasure notice drops the erased key's tokens from the person's
        documents, so not even ciphertext of theirs stays in this table.
        """
        erasures = [parse_notice(r.value or b"") for r in records if r.topic == self.erasure_topic]
        records = [r for r in records if r.topic != self.erasure_topic]
        # the hash chain is audit_service's to verify; the read model only needs the content
        events = [parse_event(r.value or b"", verify=False) for r in records]
        plan_ids = list({e.stream_id for e in events})
        docs: dict[uuid.UUID, plan_document.Document] = {
            row[0]: row[1]
            for row in cur.execute(
                "SELECT plan_id, document FROM plan_read_model WHERE plan_id = ANY(%s) "
                "ORDER BY plan_id FOR UPDATE",
                (plan_ids,),
            ).fetchall()
        }
        changed: set[uuid.UUID] = set()
        for event in events:
            doc = docs.get(event.stream_id) or plan_document.empty()
            if event.stream_version <= doc["stream_version"]:
                continue  # a redelivery
            docs[event.stream_id] = plan_document.apply(doc, event)
            changed.add(event.stream_id)
        rows = []
        for plan_id in sorted(changed):
            doc = docs[plan_id]
            setting = doc["setting"] or {}
            rows.append(
                (
                    plan_id,
                    doc["stream_version"],
                    setting.get("provider_ods_code"),
                    setting.get("unit_name"),
                    setting.get("ward_name"),
                    doc["status"],
                    plan_document.current_version(doc),
                    plan_document.open_dissents(doc),
                    plan_document.next_review_due(doc),
                    doc["last_event_at"],
                    Jsonb(doc),
                )
            )
        if rows:
            cur.executemany(UPSERT, rows)
        self._erase(cur, erasures)  # after the batch's events: nothing of theirs comes back

    @property
    def erasure_topic(self) -> str:
        return topics.topic(topics.ERASURES, self.settings.topic_prefix)

    def _erase(self, cur: psycopg.Cursor[Any], notices: Sequence[PersonErasedNotice]) -> None:
        for notice in notices:
            if notice.key_id is None:
                continue
            rows = cur.execute(
                "SELECT plan_id, document FROM plan_read_model "
                "WHERE document->'person'->>'person_id' = %s FOR UPDATE",
                (notice.person_id,),
            ).fetchall()
            for plan_id, doc in rows:
                cur.execute(
                    "UPDATE plan_read_model SET document = %s WHERE plan_id = %s",
                    (Jsonb(drop_tokens(doc, notice.key_id)), plan_id),
                )


UPSERT = """
    INSERT INTO plan_read_model AS m VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
    ON CONFLICT (plan_id) DO UPDATE SET
      stream_version = excluded.stream_version, provider = excluded.provider,
      unit = excluded.unit, ward = excluded.ward, status = excluded.status,
      current_version = excluded.current_version, open_dissents = excluded.open_dissents,
      next_review_due = excluded.next_review_due, last_event_at = excluded.last_event_at,
      document = excluded.document
"""


class PlanReadModel:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def search(
        self,
        *,
        units: Sequence[str] | None = None,
        provider: str | None = None,
        unit: str | None = None,
        status: str | None = None,
        review_due_by: date | None = None,
        open_dissent: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[PlanSummary]:
        where: list[sql.Composable] = [sql.SQL("TRUE")]
        args: list[Any] = []
        for column, value in (("provider", provider), ("unit", unit), ("status", status)):
            if value is not None:
                where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
                args.append(value)
        if units is not None:  # a caller's scope: plans whose unit or ward is one of these
            where.append(sql.SQL("(unit = ANY(%s) OR ward = ANY(%s))"))
            args += [list(units), list(units)]
        if review_due_by is not None:
            where.append(sql.SQL("next_review_due <= %s AND status = 'open'"))
            args.append(review_due_by)
        if open_dissent is not None:
            where.append(sql.SQL("open_dissents > 0" if open_dissent else "open_dissents = 0"))
        query = sql.SQL(
            "SELECT plan_id, stream_version, provider, unit, ward, status, current_version, "
            "open_dissents, next_review_due FROM plan_read_model WHERE {} "
            "ORDER BY next_review_due NULLS LAST, plan_id LIMIT %s OFFSET %s"
        ).format(sql.SQL(" AND ").join(where))
        with self.pool.connection() as conn:
            rows = conn.execute(query, (*args, limit, offset)).fetchall()
        fields = list(PlanSummary.model_fields)
        return [PlanSummary(**dict(zip(fields, r, strict=True))) for r in rows]
