"""Settings of the plan_service: the shared connection settings plus its own."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.common import settings as common


class PlanServiceSettings(common.EntitledSettings):
    service_name: str = Field(
        "plan_service", description="Name used in logs, metrics and client ids."
    )
    pg_dbname: str = Field(
        "safetyplan_plan",
        validation_alias=AliasChoices("SAFETYPLAN_PLAN_SERVICE_PG_DBNAME", "SAFETYPLAN_PG_DBNAME"),
        description="Database holding this service's tables.",
    )
    http_port: int = Field(
        8101,
        validation_alias=AliasChoices("SAFETYPLAN_PLAN_SERVICE_HTTP_PORT", "SAFETYPLAN_HTTP_PORT"),
        description="Port the HTTP API listens on.",
    )
