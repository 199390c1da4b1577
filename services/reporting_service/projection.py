"""The reporting projection: use-of-force records, the plan history they need, and the log.

Fed by `services.common.consumer.TransactionalConsumer` from `useofforce.events` and
`safetyplan.events`: one PostgreSQL transaction per poll batch together with the offsets, so each
event has its effect exactly once. Every row carries the Kafka partition and offset it came from,
so a report can be computed *as of* any set of offsets and recomputed later to the same bytes.

A redelivered event (the relay is at-least-once) is recognised by (stream_id, stream_version)
and changes nothing but the log of positions; a different event claiming the same place in its
stream is refused (dead-lettered) as `stream_version`/`conflicting_duplicate`.

Personal data (names, NHS numbers, narratives, characteristics as written) goes only to
`rs_incident_personal`, keyed by incident and person, so it can be crypto-shredded without
touching the statistics tables. The statistics tables hold codes, dates, bands, the recorded
gender and ethnicity category and the pseudonymous person id - never a name or NHS number.

This module must never log or raise with a value from an event: only fields and rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from contracts import topics
from contracts.codes import PlanSection
from contracts.envelope import EventEnvelope
from contracts.erasure import PersonErasedNotice, parse_notice
from contracts.incident_events import IncidentFields
from contracts.merkle import leaf_hash
from contracts.personal_data import SEALED_CONTEXT
from contracts.registry import parse_event, personal_tree
from services.common.consumer import Record, Rejection, apply_projection_schema
from services.common.key_vault import KeyVault, open_key_vault
from services.common.settings import EntitledSettings
from services.reporting_service import records, statistics_facts

NAME = "reporting_service-projection"

DDL = [
    """
    CREATE TABLE IF NOT EXISTS rs_events (
        topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
        event_id uuid NOT NULL, event_hash text NOT NULL, event_type text NOT NULL,
        stream_id uuid NOT NULL, stream_version int NOT NULL,
        PRIMARY KEY (topic, partition, "offset")
    )
    """,
    # Written with each event so a report's provenance neither rehashes the log nor reads every
    # event id: `leaf` is the event's Merkle leaf digest (`contracts.merkle.leaf_hash`), `repeat`
    # marks a copy of an event already stored when it was written (a redelivery). Nullable: rows
    # from before these columns (or from an older process during a rolling upgrade) count as
    # unknown, and the provenance falls back to the definition for them.
    "ALTER TABLE rs_events ADD COLUMN IF NOT EXISTS leaf bytea",
    "ALTER TABLE rs_events ADD COLUMN IF NOT EXISTS repeat boolean",
    # a report asks "any redelivery, or a row of unknown kind, in these ranges?": a tiny index
    """
    CREATE INDEX IF NOT EXISTS rs_events_repeats ON rs_events (topic, partition, "offset")
    WHERE repeat IS NOT false
    """,
    # rows from before the columns: filled once (later copies of an event in log order marked);
    # `repeat IS NOT false` repeats the partial index's predicate so that index answers the check
    r"""
    DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM rs_events WHERE repeat IS NOT false AND repeat IS NULL) THEN
        UPDATE rs_events e
        SET leaf = coalesce(e.leaf, sha256('\x00'::bytea || convert_to(e.event_hash, 'UTF8'))),
            repeat = d.n > 1
        FROM (
            SELECT topic, partition, "offset", row_number() OVER (
                PARTITION BY event_id ORDER BY topic COLLATE "C", partition, "offset") AS n
            FROM rs_events
        ) d
        WHERE e.repeat IS NULL
          AND (d.topic, d.partition, d."offset") = (e.topic, e.partition, e."offset");
    END IF;
    END $$
    """,
    # what a report's provenance reads, for index-only scans (`provenance._PARTITION_LEAVES`);
    # after the fill above, which would otherwise update it row by row
    """
    CREATE INDEX IF NOT EXISTS rs_events_log ON rs_events (topic, partition, "offset")
    INCLUDE (leaf, event_hash)
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_rejected (
        topic text NOT NULL, partition int NOT NULL, "offset" bigint NOT NULL,
        field text NOT NULL, rule text NOT NULL,
        PRIMARY KEY (topic, partition, "offset")
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_stream_events (
        stream_id uuid NOT NULL, stream_version int NOT NULL, event_id uuid NOT NULL,
        event_hash text NOT NULL, PRIMARY KEY (stream_id, stream_version)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_incident_versions (
        incident_id uuid NOT NULL, stream_version int NOT NULL,
        partition int NOT NULL, "offset" bigint NOT NULL,
        event_type text NOT NULL, occurred_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL, actor_role text NOT NULL,
        provider text NOT NULL, unit text NOT NULL, started_at timestamptz NOT NULL,
        person_id text NOT NULL, state jsonb NOT NULL, change jsonb,
        PRIMARY KEY (incident_id, stream_version)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_incident_personal (
        incident_id uuid NOT NULL, stream_version int NOT NULL, person_id text NOT NULL,
        state jsonb, change jsonb,
        PRIMARY KEY (incident_id, stream_version)
    )
    """,
    "CREATE INDEX IF NOT EXISTS rs_incident_personal_person ON rs_incident_personal (person_id)",
    *statistics_facts.DDL,
    """
    CREATE TABLE IF NOT EXISTS rs_plans (
        plan_id uuid PRIMARY KEY, partition int NOT NULL, "offset" bigint NOT NULL,
        provider text NOT NULL, unit text NOT NULL, person_id text NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_plan_contributions (
        plan_id uuid NOT NULL, contribution_id uuid NOT NULL, stream_version int NOT NULL,
        section text NOT NULL, content jsonb,
        PRIMARY KEY (plan_id, contribution_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_plan_versions (
        plan_id uuid NOT NULL, version_number int NOT NULL, stream_version int NOT NULL,
        partition int NOT NULL, "offset" bigint NOT NULL, proposed_at timestamptz NOT NULL,
        preferences jsonb, notify jsonb,
        PRIMARY KEY (plan_id, version_number)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_plan_reviews (
        plan_id uuid NOT NULL, stream_version int NOT NULL,
        partition int NOT NULL, "offset" bigint NOT NULL,
        review_id uuid, trigger text NOT NULL, incident_id uuid,
        completed_at timestamptz NOT NULL,
        PRIMARY KEY (plan_id, stream_version)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_bed_days (
        provider text NOT NULL, unit text NOT NULL, period_start date NOT NULL,
        period_end date NOT NULL, bed_days int NOT NULL CHECK (bed_days >= 0),
        PRIMARY KEY (provider, unit, period_start, period_end)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS rs_legal_holds (
        hold_id uuid PRIMARY KEY, incident_id uuid NOT NULL, reason_code text NOT NULL,
        placed_by text NOT NULL, placed_at timestamptz NOT NULL,
        lifted_by text, lifted_at timestamptz
    )
    """,
    "CREATE INDEX IF NOT EXISTS rs_legal_holds_incident ON rs_legal_holds (incident_id)",
]

PLAN_SECTIONS = (
    PlanSection.RESTRICTIVE_PRACTICE_PREFERENCES.value,
    PlanSection.NOTIFY_IF_FORCE_USED.value,
)


class ProjectionError(ValueError):
    """An event the projection refuses; names the field and rule (dead-letter headers)."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field} violates {rule}")
        self.field = field
        self.rule = rule


def _state_tree() -> records.Tree:
    return {
        "record": personal_tree("use_of_force.incident_recorded"),
        "pi_review": personal_tree("use_of_force.post_incident_review_recorded"),
    }


def _change_tree() -> records.Tree:
    return {
        "reason": True,
        "changes": {"[]": {"new_value": True, "old_value": True}},
        **personal_tree("use_of_force.post_incident_review_recorded"),
    }


def apply_reporting_schema(conn: psycopg.Connection) -> None:
    """The consumer's offsets table and the projection's tables, brought up to date (what an
    older schema lacks is derived there: `projection.DDL`, `statistics_facts.BACKFILL`)."""
    apply_projection_schema(conn, NAME, DDL)


class ReportingProjection:
    """The Projection (services.common.consumer) behind every report of this service."""

    name = NAME

    def __init__(self, settings: EntitledSettings, vault: KeyVault | None = None) -> None:
        self.settings = settings
        self.incident_topic = topics.topic(topics.USE_OF_FORCE_EVENTS, settings.topic_prefix)
        self.plan_topic = topics.topic(topics.PLAN_EVENTS, settings.topic_prefix)
        self.erasure_topic = topics.topic(topics.ERASURES, settings.topic_prefix)
        self._vault = vault
        self._written: dict[tuple[str, str], tuple[int, str, Any] | None] = {}
        self._vault_pool: ConnectionPool | None = None

    @property
    def vault(self) -> KeyVault:
        if self._vault is None:  # opened on first use, closed with the consumer
            self._vault, self._vault_pool = open_key_vault(self.settings)
        return self._vault

    def close(self) -> None:
        if self._vault_pool is not None:
            self._vault_pool.close()
            self._vault, self._vault_pool = None, None

    def topics(self) -> Sequence[str]:
        return [self.incident_topic, self.plan_topic, self.erasure_topic]

    def schema(self) -> Sequence[str]:
        return DDL

    def on_rejected(self, cur: psycopg.Cursor[Any], record: Record, why: Rejection) -> None:
        cur.execute(
            "INSERT INTO rs_rejected VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            (record.topic, record.partition, record.offset, why.field, why.rule),
        )

    def apply(self, cur: psycopg.Cursor[Any], record: Record) -> None:
        self.apply_batch(cur, [record])

    def apply_batch(self, cur: psycopg.Cursor[Any], records: Sequence[Record]) -> None:
        """A poll batch in log order: the bookkeeping rows of every event in two statements,
        then each new event's effects, sent in one pipeline (a round trip only where a read
        needs an answer). Erasure notices apply where they stand in the batch. Anything that
        raises rolls the batch back and the consumer retries it record by record."""
        run: list[tuple[Record, EventEnvelope[Any]]] = []
        for record in records:
            if record.topic == self.erasure_topic:
                self._apply_events(cur, run)
                run = []
                self._erase(cur, parse_notice(record.value or b""))
            else:
                run.append((record, self._parse(record)))
        self._apply_events(cur, run)

    def _parse(self, record: Record) -> EventEnvelope[Any]:
        # Incident records need personal values (s.6(5)(e), characteristics): opened here with
        # the patient's key; plan events are used only for their non-personal parts.
        keys = self.vault.key if record.topic == self.incident_topic else None
        event = parse_event(record.value or b"", keys=keys)
        expected = "use_of_force_incident" if record.topic == self.incident_topic else "safety_plan"
        if event.stream_type != expected:
            raise ProjectionError("stream_type", "topic_carries_stream_type")
        return event

    def _apply_events(
        self, cur: psycopg.Cursor[Any], run: Sequence[tuple[Record, EventEnvelope[Any]]]
    ) -> None:
        if not run:
            return
        ids, versions = [e.stream_id for _, e in run], [e.stream_version for _, e in run]
        fresh = {
            (stream_id, version)
            for stream_id, version in cur.execute(
                "INSERT INTO rs_stream_events SELECT * FROM "
                "unnest(%s::uuid[], %s::int[], %s::uuid[], %s::text[]) "
                "ON CONFLICT DO NOTHING RETURNING stream_id, stream_version",
                (ids, versions, [e.event_id for _, e in run], [e.hash for _, e in run]),
            ).fetchall()
        }
        firsts = set(fresh)  # a place's first copy in this run is new; any other is a repeat
        rows = []
        for r, e in run:
            place = (e.stream_id, e.stream_version)
            rows.append(
                (
                    *(r.topic, r.partition, r.offset, e.event_id, e.hash, e.event_type),
                    *(e.stream_id, e.stream_version, leaf_hash(e.hash), place not in firsts),
                )
            )
            firsts.discard(place)
        cur.executemany(
            "INSERT INTO rs_events VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            rows,
        )
        known = {  # the hash of every place in a stream this run names: stored, or first seen
            (stream_id, version): event_hash
            for stream_id, version, event_hash in cur.execute(
                "SELECT stream_id, stream_version, event_hash FROM rs_stream_events "
                "JOIN unnest(%s::uuid[], %s::int[]) AS k(stream_id, stream_version) "
                "USING (stream_id, stream_version)",
                (ids, versions),
            ).fetchall()
        }
        self._written = {}  # contributions of this run, so a version reads them without a query
        with cur.connection.pipeline():
            for record, event in run:
                place = (event.stream_id, event.stream_version)
                if known.get(place) != event.hash:
                    raise ProjectionError("stream_version", "conflicting_duplicate")
                if place not in fresh:
                    continue  # a redelivery (or a second copy in this batch): already applied
                fresh.discard(place)
                if event.stream_type == "use_of_force_incident":
                    self._incident(cur, record, event)
                else:
                    self._plan(cur, record, event)

    # --- incidents ---------------------------------------------------------------------------
    def _incident(
        self, cur: psycopg.Cursor[Any], record: Record, event: EventEnvelope[Any]
    ) -> None:
        data = event.model_dump(mode="json")
        payload = data["payload"]
        kind = event.event_type.split(".", 1)[1]
        change: dict[str, Any] | None = None
        if kind == "incident_recorded":
            state: dict[str, Any] = {"record": payload, "pi_review": None}
        else:
            state = self._previous_state(cur, event)
            if kind == "incident_amended":
                full = state["record"]
                changed = records.apply_changes(full, payload["changes"])
                try:
                    fields = {k: changed[k] for k in IncidentFields.model_fields if k in changed}
                    normal = IncidentFields.model_validate(
                        fields, context=SEALED_CONTEXT
                    ).model_dump(mode="json")
                except ValueError:
                    raise ProjectionError("changes", "amended_record_valid") from None
                state["record"] = {**changed, **normal}
                change = {
                    "amendment_number": payload["amendment_number"],
                    "reason": payload["reason"],
                    "changes": [
                        {
                            "path": c["path"],
                            "old_value": records.get_path(full, c["path"]),
                            "new_value": c["new_value"],
                        }
                        for c in payload["changes"]
                    ],
                }
            elif kind == "post_incident_review_recorded":
                state["pi_review"] = payload
                change = dict(payload)
        full_record = state["record"]
        public_state, personal_state = records.split(state, _state_tree())
        public_change, personal_change = records.split(change, _change_tree())
        person_id = full_record["patient"]["person_id"]
        setting = full_record["setting"]
        cur.execute(
            "INSERT INTO rs_incident_versions VALUES "
            "(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            (
                event.stream_id,
                event.stream_version,
                record.partition,
                record.offset,
                event.event_type,
                event.occurred_at,
                event.recorded_at,
                event.actor.role,
                setting["provider_ods_code"],
                setting["unit_name"],
                full_record["started_at"],
                person_id,
                Jsonb(public_state),
                Jsonb(public_change) if public_change is not None else None,
            ),
        )
        cur.execute(
            "INSERT INTO rs_incident_personal VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            (
                event.stream_id,
                event.stream_version,
                person_id,
                Jsonb(personal_state) if personal_state is not None else None,
                Jsonb(personal_change) if personal_change is not None else None,
            ),
        )
        if kind in ("incident_recorded", "incident_amended"):
            statistics_facts.write_version(
                cur,
                record.partition,
                record.offset,
                event.stream_id,
                event.stream_version,
                full_record,
            )

    def _previous_state(self, cur: psycopg.Cursor[Any], event: EventEnvelope[Any]) -> Any:
        row = cur.execute(
            """
            SELECT v.state, p.state FROM rs_incident_versions v
            LEFT JOIN rs_incident_personal p USING (incident_id, stream_version)
            WHERE v.incident_id = %s AND v.stream_version < %s
            ORDER BY v.stream_version DESC LIMIT 1
            """,
            (event.stream_id, event.stream_version),
        ).fetchone()
        if row is None:
            raise ProjectionError("stream_version", "incident_recorded_first")
        return records.merge(row[0], row[1])

    # --- erasure -----------------------------------------------------------------------------
    def _erase(self, cur: psycopg.Cursor[Any], notice: PersonErasedNotice) -> None:
        """Drop what was derived from the person's personal data; counts stay, so statistics
        still reconcile (their characteristics become 'not known')."""
        self.vault.forget(notice.key_id, notice.person_id)
        cur.execute("DELETE FROM rs_incident_personal WHERE person_id = %s", (notice.person_id,))
        statistics_facts.erase_person(cur, notice.person_id)

    # --- plans -------------------------------------------------------------------------------
    def _plan(self, cur: psycopg.Cursor[Any], record: Record, event: EventEnvelope[Any]) -> None:
        data = event.model_dump(mode="json")
        p = data["payload"]
        kind = event.event_type.split(".", 1)[1]
        if kind == "plan_started":
            cur.execute(
                "INSERT INTO rs_plans VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                (
                    event.stream_id,
                    record.partition,
                    record.offset,
                    p["setting"]["provider_ods_code"],
                    p["setting"]["unit_name"],
                    p["person"]["person_id"],
                ),
            )
        elif kind == "contribution_made" and p["section"] not in PLAN_SECTIONS:
            self._written[(str(event.stream_id), p["contribution_id"])] = None  # not kept
        elif kind == "contribution_made":
            tree = personal_tree("safety_plan.contribution_made").get("content", {})
            public, _ = records.split(p["content"], tree)
            self._written[(str(event.stream_id), p["contribution_id"])] = (
                event.stream_version,
                p["section"],
                public,
            )
            cur.execute(
                "INSERT INTO rs_plan_contributions VALUES (%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                (
                    event.stream_id,
                    p["contribution_id"],
                    event.stream_version,
                    p["section"],
                    Jsonb(public),
                ),
            )
        elif kind == "version_proposed":
            self._version(cur, record, event, p)
        elif kind == "review_completed":
            cur.execute(
                "INSERT INTO rs_plan_reviews VALUES (%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT DO NOTHING",
                (
                    event.stream_id,
                    event.stream_version,
                    record.partition,
                    record.offset,
                    p["review_id"],
                    p["trigger"],
                    p["incident_id"],
                    event.occurred_at,
                ),
            )

    def _version(
        self, cur: psycopg.Cursor[Any], record: Record, event: EventEnvelope[Any], p: Any
    ) -> None:
        plan = str(event.stream_id)
        unseen = [c for c in p["contribution_ids"] if (plan, c) not in self._written]
        named = (self._written[(plan, c)] for c in p["contribution_ids"] if c not in unseen)
        rows = [row for row in named if row is not None]
        if unseen:  # written by an earlier batch: a round trip only then
            rows += cur.execute(
                "SELECT stream_version, section, content FROM rs_plan_contributions "
                "WHERE plan_id = %s AND contribution_id = ANY(%s::uuid[])",
                (event.stream_id, unseen),
            ).fetchall()
        latest_last = sorted(rows, key=lambda row: row[0])
        by_section = {str(section): content for _, section, content in latest_last}
        prefs_content = by_section.get(PlanSection.RESTRICTIVE_PRACTICE_PREFERENCES.value)
        notify_content = by_section.get(PlanSection.NOTIFY_IF_FORCE_USED.value)
        preferences = (
            {x["force_type"]: x["preference"] for x in prefs_content["preferences"]}
            if prefs_content
            else None
        )
        notify = (
            {
                "nobody_to_notify": bool(notify_content.get("nobody_to_notify")),
                "contacts": [
                    {"contact_id": c["contact_id"], "method": c["method"]}
                    for c in notify_content.get("contacts") or []
                ],
            }
            if notify_content
            else None
        )
        cur.execute(
            "INSERT INTO rs_plan_versions VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
            (
                event.stream_id,
                p["version_number"],
                event.stream_version,
                record.partition,
                record.offset,
                event.occurred_at,
                Jsonb(preferences) if preferences is not None else None,
                Jsonb(notify) if notify is not None else None,
            ),
        )
