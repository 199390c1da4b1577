"""HTTP entry point of the reporting_service. Thin: parse, call the application, map the result."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from services.common.app import create_service_app
from services.common.settings import CommonSettings
from services.reporting_service.settings import ReportingServiceSettings

DESCRIPTION = "Mental Health Units (Use of Force) Act 2018 compliance reports a regulator can check."


class About(BaseModel):
    service: str
    description: str
    docs: str


def create_app(settings: CommonSettings | None = None) -> FastAPI:
    settings = settings or ReportingServiceSettings()
    about = APIRouter(tags=["about"])

    @about.get("/", response_model=About, summary="What this service is")
    def root() -> About:
        return About(service=settings.service_name, description=DESCRIPTION, docs="/docs")

    return create_service_app(
        settings, title="reporting_service", description=DESCRIPTION, routers=[about]
    )
