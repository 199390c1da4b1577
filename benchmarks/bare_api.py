"""The framework's ceiling for a command on this machine: a FastAPI endpoint that validates the
same contribution body as plan_service and stores nothing (no token, no writer, no database).

Ingest over HTTP cannot be faster than this in one process; `plan_service.ingest_ceiling` drives
it with the same wrk load as the real API so the two figures share a run.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

from contracts.commands import MakeContributionV1
from services.common.app import NATIVE_TELEMETRY_OFF

app = FastAPI(telemetry=NATIVE_TELEMETRY_OFF)  # as every service is configured


@app.post("/plans/{stream_id}/contributions")
async def contribute(stream_id: uuid.UUID, body: MakeContributionV1) -> dict[str, Any]:
    return {"stream_id": str(stream_id), "section": body.section, "replayed": False}
