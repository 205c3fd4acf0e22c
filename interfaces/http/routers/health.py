"""Liveness and readiness of the service, its store and its read models.

- `/health/live`: the process answers. Nothing more, to anyone (a load balancer or systemd restarts on it).
- `/health/ready`: the store answers, no read model is stopped by an event it fails on, and every read model is
  within VALMIUS_READY_MAX_LAG_EVENTS of the log's head. Not ready is 503 with a problem detail; what is wrong
  is named to an authenticated caller only (an anonymous one learns ready or not ready).
- `/health`: `ok` while the store answers (503 otherwise); to an authenticated caller also the store's kind and
  the position of the last stored event (tools and tests read it), to an anonymous one nothing more.
- `/metrics`: the Prometheus series of interfaces.http.metrics, to an admin or an auditor (to anyone with
  VALMIUS_METRICS_PUBLIC).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

from application.projections.runner import Projections
from domain.access import Actor, Role
from domain.shared import DomainError, Rule, joined
from interfaces.http.dependencies import App, bearer, get_reader
from interfaces.http.errors import PROBLEM_JSON, problem
from interfaces.http.metrics import exposition
from interfaces.http.routing import Route

router = APIRouter(tags=["health"], route_class=Route)


class HealthResponse(BaseModel):
    status: str
    store: str | None = None  # authenticated callers only
    last_event: int | None = None  # authenticated callers only


class LiveResponse(BaseModel):
    status: str


class ReadModelStateResponse(BaseModel):
    position: int = Field(description="The log position the read model reflects.")
    behind: int = Field(description="Events between it and the log's head.")
    failed: bool = Field(description="Whether it is stopped by an event it fails on.")


class ReadyResponse(BaseModel):
    status: str
    read_models: dict[str, ReadModelStateResponse] | None = None  # authenticated callers only


async def get_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Actor | None:
    """The authenticated caller, or None for an anonymous one. A token that is sent is checked like on any
    read (a bad one is refused with 401): readiness tells no one whether a token is valid."""
    if credentials is None and not request.headers.get("authorization"):
        return None
    return await get_reader(request, credentials)


Caller = Annotated[Actor | None, Depends(get_caller)]
SCRAPERS = frozenset({Role.ADMIN, Role.AUDITOR})
NOT_READY = {503: {"description": "Not ready: NOT_READY to an anonymous caller; to an authenticated one "
                   "READ_MODEL_BEHIND or STORE_UNAVAILABLE, naming what is wrong",
                   "content": {PROBLEM_JSON: {}}}}


@router.get("/health", response_model_exclude_none=True)
def health(app: App, caller: Caller) -> HealthResponse:
    """`ok` when the store answers; to an authenticated caller also the store's kind and the position of the
    last stored event."""
    last_event = app.recorder.max_notification_id() or 0
    if caller is None:
        return HealthResponse(status="ok")
    return HealthResponse(status="ok", store=type(app.recorder).__name__, last_event=last_event)


@router.get("/health/live")
async def live() -> LiveResponse:
    """`up` while the process answers; nothing else, to anyone."""
    return LiveResponse(status="up")


@router.get("/health/ready", response_model=ReadyResponse, responses=NOT_READY)
def ready(request: Request, caller: Caller) -> Any:
    """`ready` when the store answers, no read model is stopped by an event it fails on, and every read model is
    within VALMIUS_READY_MAX_LAG_EVENTS of the log's head; otherwise 503, a problem detail whose `problems` name
    each (to authenticated callers only)."""
    services = request.app.state.services
    projections: Projections = services.projections
    readiness = projections.readiness(services.settings.ready_max_lag_events)
    if not readiness.problems:
        return ReadyResponse(status="ready", read_models=readiness.read_models if caller else None)
    if caller is None:
        return problem(Rule.NOT_READY, "not ready", status=503, instance=request.url.path)
    rule = Rule.STORE_UNAVAILABLE if readiness.store_unreachable else Rule.READ_MODEL_BEHIND
    detail = joined(readiness.problems)  # what is wrong, said in the request's language
    return problem(
        rule, detail, status=503, instance=request.url.path, problems=readiness.problems,
        read_models=readiness.read_models,
    )



async def get_scraper(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Anyone when VALMIUS_METRICS_PUBLIC is set; otherwise an admin or an auditor."""
    if request.app.state.services.settings.metrics_public:
        return
    actor = await get_reader(request, credentials)
    if actor.role not in SCRAPERS:
        raise DomainError(Rule.FORBIDDEN_ROLE, "only admins and auditors read the service's metrics")


@router.get("/metrics", dependencies=[Depends(get_scraper)], response_class=Response,
            responses={200: {"description": "The Prometheus text format", "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    """The service's metrics in the Prometheus text format: request latency by route template, commands by use
    case, refusals by rule code, each read model's position and lag, open streams."""
    return Response(exposition(request.app.state.services), media_type=CONTENT_TYPE_LATEST)
