"""HTTP routes for reading plans and incidents: the plan now, at a past version or moment, and
its event history (from the event store: strongly consistent), plus lists and searches (from the
Kafka-fed read model). Each read is limited to the caller's scope (``access``) and recorded in
the access log by the router's dependencies (``create_service_app``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from contracts.sealed_values import open_tokens
from services.common.auth import CurrentPrincipal, Principal
from services.common.http_errors import ERROR_RESPONSES
from services.common.key_vault import KeyVault
from services.plan_service import plan_document
from services.plan_service.access import ensure_may_read, list_scope
from services.plan_service.domain.errors import NotFound, RuleViolation
from services.plan_service.read_model import PlanReadModel, PlanSummary
from services.plan_service.store import PlanStore, envelopes_as_of, stored_envelopes

MAX_INT = 2**31 - 1  # PostgreSQL integer: a larger number is a 422 naming the field, not a 500


class PlanDocumentOut(BaseModel):
    """The plan as folded from its events (sections, participants, versions, dissents, reviews)."""

    plan_id: uuid.UUID
    stream_version: int
    status: str
    person: dict[str, Any]
    setting: dict[str, Any]
    participants: dict[str, Any]
    sections: dict[str, Any]
    versions: dict[str, Any]
    dissents: dict[str, Any]
    reviews: dict[str, Any]
    shared: list[dict[str, Any]]
    closed: dict[str, Any] | None
    last_event_at: str | None


class EventsOut(BaseModel):
    stream_id: uuid.UUID
    events: list[dict[str, Any]]


def read_router(
    store: Callable[[], PlanStore],
    read_model: Callable[[], PlanReadModel],
    vault: Callable[[], KeyVault],
) -> APIRouter:
    router = APIRouter(responses=ERROR_RESPONSES)

    @router.get(
        "/plans/{plan_id}",
        response_model=PlanDocumentOut,
        tags=["plans"],
        summary="The plan now, at a past version, or as recorded at a past moment",
    )
    def get_plan(
        principal: CurrentPrincipal,
        plan_id: uuid.UUID,
        version: int | None = Query(
            None, ge=1, le=MAX_INT, description="Stream version to read up to."
        ),
        at: datetime | None = Query(None, description="Read the plan as recorded at this time."),
    ) -> dict[str, Any]:
        if version is not None and at is not None:
            raise RuleViolation("query", "version_or_at", "give version or at, not both")
        if at is not None:
            events = envelopes_as_of(store(), plan_id, at)
        else:
            events = list(stored_envelopes(store(), plan_id, upto_version=version))
        if not events or events[0].stream_type != "safety_plan":
            raise NotFound("plan_id", "plan_exists", "no such plan (at that time)")
        ensure_may_read(principal, events, "plan_id")
        # personal values are opened for the entitled reader; an erased person's read as null
        return open_tokens(plan_document.fold(events), vault().key)

    @router.get(
        "/plans/{plan_id}/events",
        response_model=EventsOut,
        tags=["plans"],
        summary="The plan's event history, as written (hash-chained; personal values sealed)",
    )
    def plan_events(
        principal: CurrentPrincipal, plan_id: uuid.UUID, opened: bool = OPENED
    ) -> EventsOut:
        return _history(store(), plan_id, "safety_plan", principal, vault() if opened else None)

    @router.get(
        "/incidents/{incident_id}/events",
        response_model=EventsOut,
        tags=["incidents"],
        summary="The incident record's event history, as written (personal values sealed)",
    )
    def incident_events(
        principal: CurrentPrincipal, incident_id: uuid.UUID, opened: bool = OPENED
    ) -> EventsOut:
        keys = vault() if opened else None
        return _history(store(), incident_id, "use_of_force_incident", principal, keys)

    @router.get(
        "/plans",
        response_model=list[PlanSummary],
        tags=["plans"],
        summary="List and search plans (read model, fed from Kafka)",
    )
    def list_plans(
        principal: CurrentPrincipal,
        provider: str | None = Query(None, description="Provider ODS code"),
        unit: str | None = Query(None, description="Unit name"),
        status: str | None = Query(None, pattern="^(open|closed)$"),
        review_due_by: date | None = Query(None, description="Plans with a review due by then"),
        open_dissent: bool | None = Query(None, description="Only plans with open dissent"),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=MAX_INT),
    ) -> list[PlanSummary]:
        return read_model().search(
            units=list_scope(principal),
            provider=provider,
            unit=unit,
            status=status,
            review_due_by=review_due_by,
            open_dissent=open_dissent,
            limit=limit,
            offset=offset,
        )

    return router


def _history(
    store: PlanStore,
    stream_id: uuid.UUID,
    stream_type: str,
    principal: Principal,
    vault: KeyVault | None,
) -> EventsOut:
    events = list(stored_envelopes(store, stream_id))
    if not events or events[0].stream_type != stream_type:
        raise NotFound("stream_id", "stream_exists", "no such plan or incident")
    ensure_may_read(principal, events, "stream_id")
    written = [e.model_dump(mode="json") for e in events]
    if vault is not None:
        written = [{**e, "payload": open_tokens(e["payload"], vault.key)} for e in written]
    return EventsOut(stream_id=stream_id, events=written)


OPENED = Query(
    False,
    description="Open the personal values (sealed per patient as written). The hashes still "
    "refer to the events as written, so verify chains with opened=false.",
)
