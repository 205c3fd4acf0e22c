"""Positions and handover: sign on and off, prepare a handover brief and accept it; who held which position at
any moment (auditors)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response, status

from application.projections.paging import DEFAULT_LIMIT, bounded
from domain.position import POSITIONS
from domain.shared import display
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathNumber, answered, etag, query_time
from interfaces.http.routers.audit_history import AsOf
from interfaces.http.routers.read_models import READ, ListLimit, Views
from interfaces.http.routing import Route
from interfaces.http.schemas.common import ID_LENGTH, ID_PATTERN, CommandResponse
from interfaces.http.schemas.position import (
    AcceptHandoverBriefRequest,
    HandoverBriefResponse,
    PositionsAsKnownResponse,
    PositionsResponse,
    PreparedBriefResponse,
    present_brief,
    present_position,
)
from interfaces.http.security import page
from interfaces.web import handover_brief as brief_page

router = APIRouter(tags=["positions"], route_class=Route)

PositionCode = Annotated[str, Path(
    min_length=1, max_length=ID_LENGTH, pattern=ID_PATTERN, examples=["DUTY_OFFICER"],
    description=f"The position: {', '.join(POSITIONS)}.",
)]
Format = Annotated[Literal["json", "html"], Query(description="`html`: the brief as a printable page.")]


@router.get("/positions", response_model=PositionsResponse, **READ)
def get_positions(app: App, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """Each position, who holds it since when, and its handover briefs (readers of the situation picture)."""
    return bounded({"positions": [present_position(found) for found in app.get_positions(actor)]}, limit)


@router.post("/positions/{position_id}/sign-on")
def sign_on(position_id: PositionCode, app: App, actor: CurrentActor, expected: ExpectedVersion,
            response: Response) -> CommandResponse:
    """Take a vacant position (POSITION_HELD if someone holds it: take it over by accepting a handover brief).
    Duty officer on duty: duty officers and preparedness managers; preparedness manager on call: preparedness
    managers; police coordinator: police coordinators."""
    return answered(response, app, position_id, app.sign_on(actor, position_id, expected_version=expected))


@router.post("/positions/{position_id}/sign-off")
def sign_off(position_id: PositionCode, app: App, actor: CurrentActor, expected: ExpectedVersion,
             response: Response) -> CommandResponse:
    """Leave the position one holds; it is vacant until someone signs on."""
    return answered(response, app, position_id, app.sign_off(actor, position_id, expected_version=expected))


@router.post("/positions/{position_id}/handover-briefs", status_code=status.HTTP_201_CREATED)
def prepare_handover_brief(
    position_id: PositionCode, app: App, actor: CurrentActor, expected: ExpectedVersion, response: Response,
    views: Views,
) -> PreparedBriefResponse:
    """Prepare a handover brief: what is open now and what happened since the position's previous handover,
    frozen with its SHA-256 digest. The incoming person reads it and accepts it by number and digest."""
    version, number = app.prepare_handover_brief(actor, position_id, views.handover_brief, expected_version=expected)
    answered(response, app, position_id, version)
    response.headers["Location"] = f"/positions/{position_id}/handover-briefs/{number}"
    prepared, _ = app.get_handover_brief(actor, position_id, number)
    return PreparedBriefResponse(id=position_id, version=version, number=number, digest=prepared.digest)


@router.get(
    "/positions/{position_id}/handover-briefs/{number}", response_model=HandoverBriefResponse, **READ,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def get_handover_brief(
    position_id: PositionCode, number: PathNumber, app: App, actor: CurrentActor, request: Request,
    response: Response, format: Format = "json", limit: ListLimit = DEFAULT_LIMIT,
) -> Any:
    """A handover brief as it was prepared (`format=html`: a printable page, whole), with the position's version
    in the ETag (for the If-Match of its acceptance)."""
    prepared, version = app.get_handover_brief(actor, position_id, number)
    answer = present_brief(prepared)
    if format == "html":
        return page(request, brief_page.render(answer), ETag=etag(version))
    response.headers["ETag"] = etag(version)
    return bounded(answer, limit)


@router.post("/positions/{position_id}/handover-briefs/{number}/accept")
def accept_handover_brief(
    position_id: PositionCode, number: PathNumber, body: AcceptHandoverBriefRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Take the position over, having read brief `number`: the acceptance is recorded with the brief's digest
    (BRIEF_MISMATCH if it is not the brief's; STALE_BRIEF unless it is the latest, not yet accepted)."""
    version = app.accept_handover_brief(actor, position_id, number=number, digest=body.digest, expected_version=expected)
    return answered(response, app, position_id, version)


@router.get("/audit/positions", response_model=PositionsAsKnownResponse, **READ)
def get_positions_as_known(app: App, actor: CurrentActor, as_of: AsOf,
                           limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """Who held which position at `as_of`, and what had been handed over by then: every handover accepted, with
    the digest of the brief the incoming person was given (GET /positions/{position_id}/handover-briefs/{number})."""
    at = query_time(app, as_of, "as_of")
    held, handed = app.holdings_at(actor, at)
    return bounded({
        "as_of": display(at, seconds=True),
        "holders": [{"position": h.position, "holder": h.holder, "since": display(h.since)} for h in held],
        "handovers": [{"position": e.position, "number": e.number, "from_holder": e.from_holder,
                       "to_holder": e.to_holder, "at": display(e.recorded_at), "digest": e.digest} for e in handed],
    }, limit)
