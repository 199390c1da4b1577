"""Settings of the reporting_service: the shared connection settings plus what only this service
needs. Plain data: never opens a connection."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from services.common import settings as common

STATUTORY_MINIMUM_YEARS = 3
"""Mental Health Units (Use of Force) Act 2018 s.6(6): keep the record 3 years from when made."""


class ReportingServiceSettings(common.EntitledSettings):
    service_name: str = Field(
        "reporting_service", description="Name used in logs, metrics and client ids."
    )
    pg_dbname: str = Field(
        "safetyplan_reporting",
        validation_alias=AliasChoices(
            "SAFETYPLAN_REPORTING_SERVICE_PG_DBNAME", "SAFETYPLAN_PG_DBNAME"
        ),
        description="Database holding this service's tables.",
    )
    http_port: int = Field(
        8103,
        validation_alias=AliasChoices(
            "SAFETYPLAN_REPORTING_SERVICE_HTTP_PORT", "SAFETYPLAN_HTTP_PORT"
        ),
        description="Port the HTTP API listens on.",
    )
    use_of_force_retention_years: int = Field(
        10,
        ge=STATUTORY_MINIMUM_YEARS,
        validation_alias=AliasChoices("SAFETYPLAN_REPORTING_SERVICE_RETENTION_YEARS"),
        description="Years a use-of-force record is kept from the date it was made before it is "
        "listed as due for destruction. Floor 3 (Act s.6(6)); default 10 (Records Management "
        "Code of Practice 2021, non-serious incidents).",
    )
    serious_incident_retention_years: int = Field(
        20,
        ge=STATUTORY_MINIMUM_YEARS,
        validation_alias=AliasChoices("SAFETYPLAN_REPORTING_SERVICE_SERIOUS_RETENTION_YEARS"),
        description="Years for records of a death or serious injury (s.6(5)(n)). Floor 3; "
        "default 20 (Records Management Code of Practice 2021, serious incidents).",
    )
    consumer_max_poll_records: int = Field(
        2000,
        ge=1,
        le=50_000,
        validation_alias=AliasChoices("SAFETYPLAN_REPORTING_SERVICE_MAX_POLL_RECORDS"),
        description="Most records the projection consumer applies in one transaction.",
    )
