"""HTTP routes for commands: one endpoint per command, all through PlanCommands.execute.

Endpoints are generated from one table so every command gets the same headers (Idempotency-Key,
Expected-Version, X-On-Behalf-Of), the same responses and an example in the OpenAPI document.
Who acts comes from the bearer token, never from a header: the actor is the token's `sub` in its
`actor_role`, and the submitting system is its `system` claim.
"""

import inspect
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, Header, Path, Request, Response
from pydantic import BaseModel, ValidationError

from contracts import commands as c
from contracts import examples
from contracts.common import CommandPayload, StreamType
from contracts.envelope import Actor
from services.common.auth import Principal, current_principal, forbidden
from services.common.http_errors import ERROR_RESPONSES
from services.plan_service.command_context import build_context, command_id_for, fingerprint
from services.plan_service.handlers import CommandResult, PlanCommands

ROUTES: list[tuple[str, type[CommandPayload], str]] = [
    ("/plans", c.StartPlanV1, "Start a safety plan for a person"),
    ("/plans/{stream_id}/participants", c.InviteParticipantV1, "Invite a participant"),
    ("/plans/{stream_id}/joins", c.RecordJoinV1, "Record that a participant joined"),
    ("/plans/{stream_id}/contributions", c.MakeContributionV1, "Contribute to a section"),
    ("/plans/{stream_id}/versions", c.ProposeVersionV1, "Propose the next plan version"),
    ("/plans/{stream_id}/agreements", c.GiveAgreementV1, "Record agreement to a version"),
    ("/plans/{stream_id}/dissents", c.RecordDissentV1, "Record a dissent"),
    ("/plans/{stream_id}/dissent-responses", c.RespondToDissentV1, "Respond to a dissent"),
    ("/plans/{stream_id}/reviews", c.ScheduleReviewV1, "Schedule a review"),
    ("/plans/{stream_id}/review-completions", c.CompleteReviewV1, "Record a completed review"),
    ("/plans/{stream_id}/shares", c.SharePlanV1, "Record that the plan was shared"),
    ("/plans/{stream_id}/closure", c.ClosePlanV1, "Close the plan"),
    ("/incidents", c.RecordIncidentV1, "Record a use-of-force incident (s.6 record)"),
    ("/incidents/{stream_id}/amendments", c.AmendIncidentV1, "Correct an incident record"),
    (
        "/incidents/{stream_id}/post-incident-reviews",
        c.RecordPostIncidentReviewV1,
        "Record the post-incident review",
    ),
]


class EventRefOut(BaseModel):
    event_id: uuid.UUID
    event_type: str
    stream_version: int
    hash: str


class CommandOut(BaseModel):
    """What the command recorded; a retry with the same Idempotency-Key returns the same."""

    stream_type: StreamType
    stream_id: uuid.UUID
    stream_version: int
    events: list[EventRefOut]
    created: dict[str, Any]
    replayed: bool


def _body(result: CommandResult) -> bytes:
    """The response as `CommandOut` documents it, written by orjson (UUIDs as text)."""
    return orjson.dumps(
        {
            "stream_type": result.stream_type,
            "stream_id": result.stream_id,
            "stream_version": result.stream_version,
            "events": [vars(e) for e in result.events],
            "created": result.created,
            "replayed": result.replayed,
        }
    )


ACTOR_ID = re.compile(r"^[A-Za-z0-9._:@/-]{1,128}$")
CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def submitter(principal: Principal) -> tuple[str, str, str]:
    """(actor id, actor role, submitting system) from the token; 403 when a claim is unusable."""
    claims = (
        ("sub", principal.subject, ACTOR_ID),
        ("actor_role", principal.actor_role, CODE),
        ("system", principal.system, CODE),
    )
    for claim, value, pattern in claims:
        if value is None or not pattern.fullmatch(value):
            raise forbidden(f"token.{claim}", "claim_for_commands", "the token cannot submit")
    return principal.subject, str(principal.actor_role), str(principal.system)


def _example(model: type[CommandPayload]) -> dict[str, Any] | None:
    """A realistic request body, taken from the contract's example events."""
    for envelope in (*examples.plan_stream(), *examples.incident_stream()):
        data = envelope.payload.model_dump(mode="json")
        try:
            return model.model_validate(
                {k: v for k, v in data.items() if k in model.model_fields}
            ).model_dump(mode="json")
        except ValidationError:
            continue
    return None


def command_router(commands: Callable[[], PlanCommands]) -> APIRouter:
    router = APIRouter()
    for path, model, summary in ROUTES:
        _add_route(router, commands, path, model, summary)
    return router


def _add_route(
    router: APIRouter,
    commands: Callable[[], PlanCommands],
    path: str,
    model: type[CommandPayload],
    summary: str,
) -> None:
    creates = "{stream_id}" not in path
    tag = "plans" if model.STREAM_TYPE == "safety_plan" else "incidents"

    async def endpoint(request: Request, **kw: Any) -> Response:
        payload: CommandPayload = kw["body"]
        stream_id: uuid.UUID | None = kw.get("stream_id")
        actor_id, actor_role, system = submitter(kw["principal"])
        actor = Actor(id=actor_id, role=actor_role, on_behalf_of=kw["x_on_behalf_of"])
        ctx = build_context(
            command_id=command_id_for(system, kw["idempotency_key"]),
            fingerprint=fingerprint(path, stream_id, payload),
            actor=actor,
            submitting_system=system,
            correlation_id=kw["x_correlation_id"],
            occurred_at=kw["occurred_at"],
        )
        result = await commands().execute_async(payload, ctx, stream_id, kw["expected_version"])
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        if creates:
            headers["Location"] = f"{request.url.path}/{result.stream_id}"
        # Written here, not by FastAPI: it would validate the model again and use json.dumps.
        return Response(
            _body(result),
            status_code=201 if creates else 200,
            headers=headers,
            media_type="application/json",
        )

    example = _example(model)
    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        _kw(
            "body",
            Annotated[
                model, Body(openapi_examples={"example": {"value": example}} if example else None)
            ],
        ),
    ]
    if creates:
        params.append(
            _kw(
                "stream_id",
                Annotated[
                    uuid.UUID | None,
                    Header(
                        alias="Stream-Id",
                        description="Choose the new stream's id "
                        "(else derived from the Idempotency-Key).",
                    ),
                ],
                None,
            )
        )
    else:
        params.append(
            _kw("stream_id", Annotated[uuid.UUID, Path(description="Plan or incident id")])
        )
    params += [
        _kw(
            "idempotency_key",
            Annotated[
                str | None,
                Header(
                    alias="Idempotency-Key",
                    max_length=200,
                    description="Retry-safe key: the same key returns the first result "
                    "and writes nothing new.",
                ),
            ],
            None,
        ),
        _kw(
            "expected_version",
            Annotated[
                int | None,
                Header(
                    alias="Expected-Version",
                    ge=0,
                    description="The stream version you last saw; 409 if it moved on.",
                ),
            ],
            None,
        ),
        _kw("principal", Annotated[Principal, Depends(current_principal)]),
        _kw(
            "x_on_behalf_of",
            Annotated[
                str | None,
                Header(
                    alias="X-On-Behalf-Of",
                    max_length=128,
                    pattern=r"^[A-Za-z0-9._:@/-]+$",
                    description="Pseudonymous id of the person acted for, if any.",
                ),
            ],
            None,
        ),
        _kw(
            "x_correlation_id", Annotated[uuid.UUID | None, Header(alias="X-Correlation-Id")], None
        ),
        _kw(
            "occurred_at",
            Annotated[
                datetime | None,
                Header(
                    alias="Occurred-At", description="When it happened (RFC 3339); default now."
                ),
            ],
            None,
        ),
    ]
    endpoint.__signature__ = inspect.Signature(params, return_annotation=CommandOut)  # type: ignore[attr-defined]
    endpoint.__name__ = f"command_{model.MESSAGE_TYPE.split('.')[1]}"
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        response_model=CommandOut,
        status_code=201 if creates else 200,
        summary=summary,
        tags=[tag],
        responses=ERROR_RESPONSES,
    )


def _kw(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )
