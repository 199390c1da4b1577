"""HTTP entry point of the audit_service. Thin: parse, call the application, map the result."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from services.common.app import create_service_app
from services.common.settings import CommonSettings
from services.audit_service.settings import AuditServiceSettings

DESCRIPTION = "The governance audit: who was involved in each safety plan and version, and whether the log is intact."


class About(BaseModel):
    service: str
    description: str
    docs: str


def create_app(settings: CommonSettings | None = None) -> FastAPI:
    settings = settings or AuditServiceSettings()
    about = APIRouter(tags=["about"])

    @about.get("/", response_model=About, summary="What this service is")
    def root() -> About:
        return About(service=settings.service_name, description=DESCRIPTION, docs="/docs")

    return create_service_app(
        settings, title="audit_service", description=DESCRIPTION, routers=[about]
    )
