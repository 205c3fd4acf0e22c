"""Reads of the live situation picture: one GET per read model.

Every answer says how current it is, in headers: `Valmius-Position`, the log position its read model reflects;
`Valmius-Head`, the log's head; `Valmius-As-Of`, when the last event it reflects was recorded; and
`Valmius-Freshness`: `live`, `behind` (it misses an event older than a few seconds) or `stale` (it misses one
older than a minute, or its read model is stopped by an event it fails on). A client that has just written (its
command answer carries the write's position) may ask for `min_position=N`: the read waits, for at most `wait`
seconds (10 at most), until the read model has applied N, and is refused with 503 if it has not.

The lists that grow with a crisis, its timeline and decision log, answer a page at a time: `limit` items (100
unless asked, at most 1000) after or before a cursor, within a `from`/`to` window; the answer's `next` and
`previous` are the cursors of its neighbours, also given as `Link` headers (application.projections.paging).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from interfaces.http.live import EventStream

from application.projections.crisis_timeline import CrisisTimeline
from application.projections.decision_log import DecisionLog
from application.projections.paging import DEFAULT_LIMIT, MAX_LIMIT, Page
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.readiness_board import ReadinessBoard
from application.projections.runner import MAX_WAIT_SECONDS, Projections
from application.projections.situation_overview import SituationOverview
from domain.shared import DomainError, Rule
from interfaces.http.dependencies import POSITION_HEADER, CurrentActor, PathId, get_projections, query_time
from interfaces.http.routing import Route
from interfaces.http.schemas.common import BIGINT, LATER_EXAMPLE, TIME_EXAMPLE, Id, Time
from interfaces.http.schemas.read_models import (
    CrisisTimelineResponse,
    DecisionLogResponse,
    PoliceLiaisonBoardResponse,
    ReadinessBoardResponse,
    SituationOverviewResponse,
)

router = APIRouter(tags=["situation picture"], route_class=Route)

# An answer holds the keys its read model gave it and no others (a police request on the boards shows
# `age_minutes` while open and `answer_minutes` once closed).
READ: dict[str, Any] = {"response_model_exclude_unset": True}

Views = Annotated[Projections, Depends(get_projections)]


def caught_up(model: str) -> Any:
    """The dependency of a read of `model`: waits for `min_position`, and sets the freshness headers."""

    def dependency(
        response: Response,
        views: Views,
        min_position: Annotated[int | None, Query(ge=0, le=BIGINT, description="Wait until the read model includes this log position (your write's Valmius-Position).")] = None,
        wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description="How long to wait for min_position, in seconds.")] = 5.0,
    ) -> None:
        if min_position is not None and not views.wait_for(min_position, wait, model):
            raise DomainError(
                Rule.READ_MODEL_BEHIND,
                "the read model is at position {position}, not yet {min_position}; retry shortly", {"position": views.read_position(model), "min_position": min_position},
            )
        fresh = views.freshness(model)
        response.headers[POSITION_HEADER] = str(fresh["position"])
        response.headers["Valmius-Head"] = str(fresh["head"])
        response.headers["Valmius-Freshness"] = fresh["state"]
        if fresh["as_of"] is not None:
            response.headers["Valmius-As-Of"] = fresh["as_of"]

    return Depends(dependency)


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many items (≤ {MAX_LIMIT}).")]
ListLimit = Annotated[int, Query(
    ge=1, le=MAX_LIMIT, description=f"At most this many items in each list of the answer (≤ {MAX_LIMIT}); the "
    "answer's `cut` names the lists that hold more.",
)]
From = Annotated[
    Time | None,
    Query(alias="from", description="Items that occurred at or after this time (explicit offset).",
          examples=[TIME_EXAMPLE]),
]
To = Annotated[
    Time | None,
    Query(alias="to", description="Items that occurred before this time (explicit offset).", examples=[LATER_EXAMPLE]),
]
AFTER = "The items after this cursor (a page's `next`)."
BEFORE = "The items before this cursor (a page's `previous`)."


def paged(
    views: Views,
    limit: Limit = DEFAULT_LIMIT,
    after: Annotated[int | None, Query(ge=0, le=BIGINT, description=AFTER + " An entry's position.")] = None,
    before: Annotated[int | None, Query(ge=0, le=BIGINT, description=BEFORE + " An entry's position.")] = None,
    start: From = None,
    end: To = None,
) -> Page:
    """A page of the timeline (application.projections.paging): `limit` entries after or before a cursor,
    within a window of occurrence times."""
    return Page(limit, after, before, *window(views, start, end))


def window(views: Views, start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    return query_time(views.app, start, "from"), query_time(views.app, end, "to")


def paged_by_id(
    views: Views,
    limit: Limit = DEFAULT_LIMIT,
    after: Annotated[Id | None, Query(description=AFTER + " A record's id.")] = None,
    before: Annotated[Id | None, Query(description=BEFORE + " A record's id.")] = None,
    start: From = None,
    end: To = None,
) -> Page:
    """A page of a list whose cursors are record ids (the decision log)."""
    return Page(limit, after, before, *window(views, start, end))


Paged = Annotated[Page, Depends(paged)]
PagedById = Annotated[Page, Depends(paged_by_id)]


def linked(request: Request, response: Response, answer: dict[str, Any]) -> dict[str, Any]:
    """The neighbours of a page as `Link` headers (RFC 8288): rel="next" and rel="prev"."""
    links = [
        f'<{request.url.remove_query_params(["after", "before"]).include_query_params(**{cursor: answer[key]})}>;'
        f' rel="{rel}"'
        for key, cursor, rel in (("next", "after", "next"), ("previous", "before", "prev"))
        if answer.get(key) is not None
    ]
    if links:
        response.headers["Link"] = ", ".join(links)
    return answer


def exercise_marked(views: Views, answer: dict[str, Any]) -> dict[str, Any]:
    """A crisis's own read, `exercise`: true when it was declared as an exercise."""
    return {**answer, "exercise": True} if views.app.is_exercise(answer["crisis_id"]) else answer


@router.get(
    "/situation-overview",
    response_model=SituationOverviewResponse,
    dependencies=[caught_up(SituationOverview.name)],
    **READ,
)
def get_situation_overview(views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """What leadership must see: active crises, open and overdue actions, readiness, police requests, active
    plans against MTPD, latest situation reports and decisions due for review. Overdue is derived from the
    server clock at the moment of reading. Each list holds its first `limit` items (actions by due time); `cut`
    says which hold more, and how many (the counts beside them are of all)."""
    return views.get_situation_overview(actor, limit=limit)


@router.get(
    "/situation-overview/stream",
    response_class=EventStream,
    status_code=200,
    responses={200: {
        "description": "Server-Sent Events: `event: overview`, its `data:` a situation overview as GET "
        "/situation-overview answers it (SituationOverviewResponse), then `event: patch`, each `data:` the JSON "
        "Patch (RFC 6902) from the previous frame's picture; `id:` the log position shown. With Last-Event-ID "
        "the stream resumes with the patches after that frame while they are retained, else the full picture.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }},
)
async def stream_situation_overview(request: Request, actor: CurrentActor) -> EventStream:
    """Server-Sent Events: an `overview` event now, then a `patch` event at every change of the picture (and
    every 10 s, as items turn overdue with time alone), each redacted for the subscriber's own role and clearance.
    Refused like the plain read (403 to admins); the stream ends within seconds when its token is revoked."""
    return await request.app.state.broadcaster.subscribe(
        actor, request.state.token_hash, request.headers.get("last-event-id")
    )


@router.get(
    "/crises/{crisis_id}/timeline",
    response_model=CrisisTimelineResponse,
    dependencies=[caught_up(CrisisTimeline.name)],
    **READ,
)
def get_crisis_timeline(
    crisis_id: PathId, views: Views, actor: CurrentActor, page: Paged, request: Request, response: Response
) -> dict[str, Any]:
    """The entries of the crisis ordered by instant, both times with offsets, actor, late and struck entries;
    a page at a time (`limit`, at most 1000): page on with `after=next` (or back with `before=previous`), also
    given as `Link` headers. A cursor is an entry's `position`, stable while entries arrive; `from`/`to` cut
    the timeline to the entries that occurred in that window."""
    return linked(request, response, exercise_marked(views, views.get_crisis_timeline(actor, crisis_id, page)))


@router.get(
    "/crises/{crisis_id}/decision-log",
    response_model=DecisionLogResponse,
    dependencies=[caught_up(DecisionLog.name)],
    **READ,
)
def get_decision_log(
    crisis_id: PathId, views: Views, actor: CurrentActor, page: PagedById, request: Request, response: Response
) -> dict[str, Any]:
    """The crisis's decisions with rationale and options, supersessions, reviews, and the reviews due among
    them; ordered by when they were decided, a page at a time (`limit`, at most 1000): page on with
    `after=next` (or back with `before=previous`), also given as `Link` headers. A cursor is a decision id;
    `from`/`to` keep the decisions decided in that window."""
    return linked(request, response, exercise_marked(views, views.get_decision_log(actor, crisis_id, page)))


@router.get(
    "/readiness-board",
    response_model=ReadinessBoardResponse,
    dependencies=[caught_up(ReadinessBoard.name)],
    **READ,
)
def get_readiness_board(views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """Each unit's readiness, active plans with time active against MTPD, and plan reviews due; each list at
    most `limit` items (`cut` says which hold more)."""
    return views.get_readiness_board(actor, limit)


@router.get(
    "/police-liaison-board",
    response_model=PoliceLiaisonBoardResponse,
    dependencies=[caught_up(PoliceLiaisonBoard.name)],
    **READ,
)
def get_police_liaison_board(
    views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Open police requests with their age by direction and type, those beyond the threshold, answer times;
    each list at most `limit` items (`cut` says which hold more)."""
    return views.get_police_liaison_board(actor, limit)
