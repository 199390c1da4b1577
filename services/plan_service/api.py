"""HTTP entry point of the plan_service. Thin: parse, call the handlers, map the result."""

from __future__ import annotations

import os
import uuid

from fastapi import APIRouter, FastAPI
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from services.common.app import ServiceState, create_service_app
from services.common.auth import CurrentPrincipal, Protected
from services.common.db import apply_schema
from services.common.http_errors import ERROR_RESPONSES
from services.common.key_vault import KeyVault, VaultRefusal, open_key_vault
from services.common.settings import EntitledSettings
from services.plan_service import read_model, submissions
from services.plan_service.domain.errors import DomainError, NotFound
from services.plan_service.erasure import erasure_router
from services.plan_service.handlers import PlanCommands
from services.plan_service.person_index import PersonIndex
from services.plan_service.read_model import PlanReadModel
from services.plan_service.routes_commands import command_router
from services.plan_service.routes_reads import read_router
from services.plan_service.settings import PlanServiceSettings
from services.plan_service.store import PlanStore, open_store

DESCRIPTION = (
    "Commands from clinical apps become immutable, attributable, hash-chained events; the "
    "current plan, the plan at any past version or moment, and its history come back. "
    "Every command endpoint takes an `Idempotency-Key` (a retry returns the first result and "
    "writes nothing) and an optional `Expected-Version` (409 when the stream moved on)."
)


class About(BaseModel):
    service: str
    description: str
    docs: str


def create_app(settings: EntitledSettings | None = None) -> FastAPI:
    settings = settings or PlanServiceSettings()
    parts: dict[str, object] = {}

    def startup(state: ServiceState) -> None:
        assert state.pool is not None
        os.environ.update(settings.libpq_tls_env())  # the event store's connections use libpq
        store = open_store(settings)
        with state.pool.connection() as conn:
            apply_schema(conn, "plan_read_model", read_model.DDL)
            apply_schema(conn, "submission_outcomes", submissions.DDL)
        vault, parts["vault_pool"] = open_key_vault(settings)
        parts["vault"] = vault
        parts["store"] = store
        parts["commands"] = PlanCommands(store, PersonIndex(state.pool), vault)
        parts["read_model"] = PlanReadModel(state.pool)
        parts["pool"] = state.pool

    def shutdown(_: ServiceState) -> None:
        handlers = parts.get("commands")
        if isinstance(handlers, PlanCommands):
            handlers.close()
        store = parts.get("store")
        if isinstance(store, PlanStore):
            store.close()
        vault_pool = parts.get("vault_pool")
        if isinstance(vault_pool, ConnectionPool):
            vault_pool.close()

    def commands() -> PlanCommands:
        return parts["commands"]  # type: ignore[return-value]

    def store() -> PlanStore:
        return parts["store"]  # type: ignore[return-value]

    def model() -> PlanReadModel:
        return parts["read_model"]  # type: ignore[return-value]

    def vault() -> KeyVault:
        return parts["vault"]  # type: ignore[return-value]

    def pool() -> ConnectionPool:
        return parts["pool"]  # type: ignore[return-value]

    about = APIRouter(tags=["about"])
    outcomes = APIRouter(tags=["submissions"])

    @about.get("/", response_model=About, summary="What this service is")
    def root() -> About:
        return About(service=settings.service_name, description=DESCRIPTION, docs="/docs")

    @outcomes.get(
        "/submissions/{correlation_id}",
        response_model=list[submissions.SubmissionOutcome],
        summary="The outcome of commands submitted on Kafka, by correlation id",
        responses=ERROR_RESPONSES,
    )
    def submission_outcome(
        principal: CurrentPrincipal, correlation_id: uuid.UUID
    ) -> list[submissions.SubmissionOutcome]:
        # a clinical app sees what its own system submitted; admin sees every outcome
        system = None if principal.has("admin") else (principal.system or "")
        found = submissions.outcomes(pool(), correlation_id, system)
        if not found:
            raise NotFound("correlation_id", "submission_seen", "no submission with this id yet")
        return found

    return create_service_app(
        settings,
        title="plan_service",
        description=DESCRIPTION,
        routers=[
            about,
            Protected(command_router(commands), roles=("clinical_app",)),
            Protected(
                read_router(store, model, vault), roles=("clinician", "clinical_app"), audited=True
            ),
            Protected(erasure_router(settings, vault, pool), roles=("admin",), audited=True),
            Protected(outcomes, roles=("clinical_app", "admin"), audited=True),
        ],
        on_startup=startup,
        on_shutdown=shutdown,
        domain_errors=(DomainError, VaultRefusal),
    )
