"""Reads of the live situation picture: one GET per read model.

Every answer carries the read models' log position in `Valmius-Position`. A client that has just written
(its command answer carries the write's position) may ask for `min_position=N`: the read waits, for at most
`wait` seconds (10 at most), until the read models have applied N, and is refused with 503 if they have not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from application.projections.runner import MAX_WAIT_SECONDS, Projections
from domain.shared import DomainError, Rule
from interfaces.http.dependencies import POSITION_HEADER, CurrentActor, PathId, get_projections
from interfaces.http.schemas.common import BIGINT

router = APIRouter(tags=["situation picture"])

Views = Annotated[Projections, Depends(get_projections)]


def caught_up(
    response: Response,
    views: Views,
    min_position: Annotated[
        int | None,
        Query(
            ge=0, le=BIGINT,
            description="Wait until the read models include this log position (your write's Valmius-Position).",
        ),
    ] = None,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="How long to wait for min_position, in seconds.")] = 5.0,
) -> None:
    if min_position is not None and not views.wait_for(min_position, wait):
        raise DomainError(
            Rule.READ_MODEL_BEHIND,
            f"the read models are at position {views.position()}, not yet {min_position}; retry shortly",
        )
    response.headers[POSITION_HEADER] = str(views.position())


CaughtUp = Depends(caught_up)


@router.get("/situation-overview", dependencies=[CaughtUp])
def get_situation_overview(views: Views, actor: CurrentActor) -> dict[str, Any]:
    """What leadership must see: active crises, open and overdue actions, readiness, police requests, active
    plans against MTPD, latest situation reports and decisions due for review. Overdue is derived from the
    server clock at the moment of reading."""
    return views.get_situation_overview(actor)


@router.get("/situation-overview/stream", response_class=StreamingResponse)
async def stream_situation_overview(request: Request, actor: CurrentActor) -> StreamingResponse:
    """Server-Sent Events: an `overview` event now and at every change of the picture (and every 10 s, as items turn overdue with time alone)."""
    broadcaster = request.app.state.broadcaster
    return StreamingResponse(
        broadcaster.stream(actor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/crises/{crisis_id}/timeline", dependencies=[CaughtUp])
def get_crisis_timeline(crisis_id: PathId, views: Views, actor: CurrentActor) -> dict[str, Any]:
    """Every entry of the crisis ordered by instant, both times with offsets, actor, late and struck entries."""
    return views.get_crisis_timeline(actor, crisis_id)


@router.get("/crises/{crisis_id}/decision-log", dependencies=[CaughtUp])
def get_decision_log(crisis_id: PathId, views: Views, actor: CurrentActor) -> dict[str, Any]:
    """The crisis's decisions with rationale and options, supersessions, reviews, and reviews due."""
    return views.get_decision_log(actor, crisis_id)


@router.get("/readiness-board", dependencies=[CaughtUp])
def get_readiness_board(views: Views, actor: CurrentActor) -> dict[str, Any]:
    """Each unit's readiness, active plans with time active against MTPD, and plan reviews due."""
    return views.get_readiness_board(actor)


@router.get("/police-liaison-board", dependencies=[CaughtUp])
def get_police_liaison_board(views: Views, actor: CurrentActor) -> dict[str, Any]:
    """Open police requests with their age by direction and type, those beyond the threshold, answer times."""
    return views.get_police_liaison_board(actor)
