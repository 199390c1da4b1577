"""Settings of the reporting_service: the shared connection settings plus what only this service needs."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.common.settings import CommonSettings


class ReportingServiceSettings(CommonSettings):
    service_name: str = Field("reporting_service", description="Name used in logs, metrics and client ids.")
    pg_dbname: str = Field(
        "safetyplan_reporting",
        validation_alias=AliasChoices("SAFETYPLAN_REPORTING_SERVICE_PG_DBNAME", "SAFETYPLAN_PG_DBNAME"),
        description="Database holding this service's tables.",
    )
    http_port: int = Field(
        8103,
        validation_alias=AliasChoices("SAFETYPLAN_REPORTING_SERVICE_HTTP_PORT", "SAFETYPLAN_HTTP_PORT"),
        description="Port the HTTP API listens on.",
    )
