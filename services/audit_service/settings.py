"""Settings of the audit_service: the shared connection settings plus what only this service
needs. Plain data: never opens a connection, never read outside start-up."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.common.settings import CommonSettings


class AuditServiceSettings(CommonSettings):
    service_name: str = Field(
        "audit_service", description="Name used in logs, metrics and client ids."
    )
    pg_dbname: str = Field(
        "safetyplan_audit",
        validation_alias=AliasChoices("SAFETYPLAN_AUDIT_SERVICE_PG_DBNAME", "SAFETYPLAN_PG_DBNAME"),
        description="Database holding this service's tables.",
    )
    http_port: int = Field(
        8102,
        validation_alias=AliasChoices("SAFETYPLAN_AUDIT_SERVICE_HTTP_PORT", "SAFETYPLAN_HTTP_PORT"),
        description="Port the HTTP API listens on.",
    )
    consumer_max_poll_records: int = Field(
        2000,
        ge=1,
        le=50_000,
        validation_alias=AliasChoices("SAFETYPLAN_AUDIT_SERVICE_MAX_POLL_RECORDS"),
        description="Most records the audit projection applies in one transaction.",
    )
