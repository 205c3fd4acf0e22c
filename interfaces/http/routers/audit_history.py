"""Auditors' history: the event log, any record as it was, and the live picture as it was known at a moment.

Auditors only (FORBIDDEN_ROLE for every other role). Everything is computed from the stored events, not
from the live read models. A moment is a recording time: "as known at T" is what had been recorded by T,
and time-derived facts (overdue, ages, time against MTPD, reviews due) are computed for T.

Times in the query string need an explicit offset (a local time is AMBIGUOUS_TIME). Encode `+` as `%2B`;
a `+` that arrives as a space before the offset is read as `+`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from application.audit.history import MAX_PAGE, AggregateAt, EventFilter, History
from application.audit.redaction import Classifier
from domain.shared import display
from interfaces.http.dependencies import CurrentActor, PathId, get_history, query_time
from application.projections.paging import DEFAULT_LIMIT, bounded
from interfaces.http.routers.read_models import READ, ListLimit, Paged, PagedById, linked
from interfaces.http.routing import Route
from interfaces.http.schemas.audit import EventPageResponse
from interfaces.http.schemas.common import BIGINT, Code, Id, Line, Time
from interfaces.http.schemas.crisis import CrisisResponse, present_crisis
from interfaces.http.schemas.division_preparedness import DivisionPreparednessResponse, present_preparedness
from interfaces.http.schemas.police_liaison import PoliceLiaisonResponse, present_liaison
from interfaces.http.schemas.read_models import (
    CrisisTimelineAsKnownResponse,
    DecisionLogAsKnownResponse,
    PoliceLiaisonBoardAsKnownResponse,
    ReadinessBoardAsKnownResponse,
    SituationOverviewAsKnownResponse,
)

router = APIRouter(prefix="/audit", tags=["audit: history"], route_class=Route)


Histories = Annotated[History, Depends(get_history)]

TIME = "2025-10-26T12:00+02:00"
MAX_FILTER_VALUES = 50


AsOf = Annotated[
    Time,
    Query(
        description="The moment, a recording time with an explicit offset: the picture from what had been "
        "recorded by then, time-derived facts computed for then.",
        examples=[TIME],
    ),
]
OptionalAsOf = Annotated[
    Time | None,
    Query(
        description="Instead of a version: the last version recorded at or before this moment (explicit offset).",
        examples=[TIME],
    ),
]
Version = Annotated[int | None, Query(ge=1, le=BIGINT, description="The version to show (1 is the first event).")]
FullReplay = Annotated[
    bool,
    Query(
        description="Recompute from the first event, ignoring the snapshots the follower keeps: slower, "
        "for verifying that the snapshots give the same answer."
    ),
]


class CrisisAsItWasResponse(BaseModel):
    """A crisis as it was: `as_of` is the moment its time-derived facts are computed for (the recording time
    of the version when asked by version)."""

    as_of: str
    version: int
    version_recorded_at: str
    latest_version: int
    crisis: CrisisResponse


class DivisionPreparednessAsItWasResponse(BaseModel):
    as_of: str
    version: int
    version_recorded_at: str
    latest_version: int
    preparedness: DivisionPreparednessResponse


class PoliceLiaisonAsItWasResponse(BaseModel):
    as_of: str
    version: int
    version_recorded_at: str
    latest_version: int
    liaison: PoliceLiaisonResponse


def _frame(found: AggregateAt) -> dict[str, Any]:
    return {
        "as_of": display(found.at, seconds=True),
        "version": found.version,
        "version_recorded_at": display(found.version_recorded_at, seconds=True),
        "latest_version": found.latest_version,
    }


@router.get("/events", response_model=EventPageResponse)
def list_events(
    history: Histories,
    actor: CurrentActor,
    after: Annotated[
        int, Query(ge=0, le=BIGINT, description="Start after this log position (a page's `next_after`).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most this many events (≤ {MAX_PAGE}).")] = 100,
    crisis_id: Annotated[
        list[Id] | None, Query(max_length=MAX_FILTER_VALUES, description="Events of these crises.")
    ] = None,
    unit: Annotated[
        list[Id] | None, Query(max_length=MAX_FILTER_VALUES, description="Events of these units' preparedness.")
    ] = None,
    liaison_id: Annotated[
        list[Id] | None, Query(max_length=MAX_FILTER_VALUES, description="Events of these police liaison matters.")
    ] = None,
    aggregate_kind: Annotated[
        list[Code] | None,
        Query(
            max_length=MAX_FILTER_VALUES,
            description="crisis, division_preparedness, police_liaison or emergency_conditions.",
        ),
    ] = None,
    event_type: Annotated[
        list[Line] | None,
        Query(
            max_length=MAX_FILTER_VALUES, description="Event types, e.g. SeverityChanged or Crisis.SeverityChanged."
        ),
    ] = None,
    by: Annotated[Line | None, Query(alias="actor", description="Events recorded for this user.")] = None,
    recorded_from: Annotated[
        Time | None, Query(description="Recorded at or after (explicit offset).", examples=[TIME])
    ] = None,
    recorded_to: Annotated[
        Time | None, Query(description="Recorded at or before (explicit offset).", examples=[TIME])
    ] = None,
    exercise: Annotated[
        bool | None, Query(description="true: only the events of crises declared as exercises; false: none of them.")
    ] = None,
) -> dict[str, Any]:
    """The global event log in log order: position, aggregate kind and id, version, type, actor, recording
    time (Europe/Helsinki) and the event's data, redacted where the event is classified and you are not
    cleared. Page on with `after=next_after`. Aggregate filters are combined with OR, the others with AND.
    Filtering by actor or time reads at most 10,000 stored events per page, so a page can hold fewer items
    than `limit` before `end_of_log`."""
    wanted = EventFilter(
        after=after,
        limit=limit,
        crisis_ids=tuple(crisis_id or ()),
        units=tuple(unit or ()),
        liaison_ids=tuple(liaison_id or ()),
        aggregate_kinds=tuple(aggregate_kind or ()),
        event_types=tuple(event_type or ()),
        actor=by,
        recorded_from=query_time(history.app, recorded_from, "recorded_from"),
        recorded_to=query_time(history.app, recorded_to, "recorded_to"),
        exercise=exercise,
    )
    return history.list_events(actor, wanted)


@router.get("/crises/{crisis_id}")
def get_crisis_as_it_was(
    crisis_id: PathId, history: Histories, actor: CurrentActor, version: Version = None, as_of: OptionalAsOf = None
) -> CrisisAsItWasResponse:
    """The crisis at a version, or as it was at a moment (the last version recorded by then), shown as the
    live GET shows it."""
    found = history.get_crisis_at(actor, crisis_id, version=version, as_of=query_time(history.app, as_of, "as_of"))
    crisis = present_crisis(found.aggregate, actor, found.at, history.app.policy)
    return CrisisAsItWasResponse(**_frame(found), crisis=crisis)


@router.get("/division-preparedness/{unit}")
def get_division_preparedness_as_it_was(
    unit: PathId, history: Histories, actor: CurrentActor, version: Version = None, as_of: OptionalAsOf = None
) -> DivisionPreparednessAsItWasResponse:
    """A unit's readiness history and continuity plans at a version, or as they were at a moment."""
    at = query_time(history.app, as_of, "as_of")
    found = history.get_division_preparedness_at(actor, unit, version=version, as_of=at)
    preparedness = present_preparedness(found.aggregate, actor, found.at, history.app.policy, history.app.is_exercise)
    return DivisionPreparednessAsItWasResponse(**_frame(found), preparedness=preparedness)


@router.get("/police-liaisons/{liaison_id}")
def get_police_liaison_as_it_was(
    liaison_id: PathId, history: Histories, actor: CurrentActor, version: Version = None, as_of: OptionalAsOf = None
) -> PoliceLiaisonAsItWasResponse:
    """A police liaison matter and its requests at a version, or as they were at a moment."""
    at = query_time(history.app, as_of, "as_of")
    found = history.get_police_liaison_at(actor, liaison_id, version=version, as_of=at)
    crisis = Classifier(history.app.repository).crisis(found.aggregate.crisis_id)
    liaison = present_liaison(found.aggregate, crisis, actor, found.at, history.app.policy)
    return PoliceLiaisonAsItWasResponse(**_frame(found), liaison=liaison)


@router.get("/situation-overview", response_model=SituationOverviewAsKnownResponse, **READ)
def get_situation_overview_as_known(
    history: Histories, actor: CurrentActor, as_of: AsOf, full_replay: FullReplay = False,
    limit: ListLimit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """The situation overview leadership would have seen at `as_of`: from the events recorded by then, with
    overdue actions and reports, unanswered requests and time against MTPD computed for then. `history`
    says what it was computed from (a snapshot's position, the events applied). Each list at most `limit` items,
    as the live overview."""
    at = query_time(history.app, as_of, "as_of")
    return bounded(history.get_situation_overview_at(actor, at, full_replay=full_replay), limit)


@router.get("/readiness-board", response_model=ReadinessBoardAsKnownResponse, **READ)
def get_readiness_board_as_known(
    history: Histories, actor: CurrentActor, as_of: AsOf, full_replay: FullReplay = False,
    limit: ListLimit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Each unit's readiness, active plans against MTPD and reviews due, as known at `as_of`."""
    at = query_time(history.app, as_of, "as_of")
    return bounded(history.get_readiness_board_at(actor, at, full_replay=full_replay), limit)


@router.get("/police-liaison-board", response_model=PoliceLiaisonBoardAsKnownResponse, **READ)
def get_police_liaison_board_as_known(
    history: Histories, actor: CurrentActor, as_of: AsOf, full_replay: FullReplay = False,
    limit: ListLimit = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Open police requests with their age, those beyond the threshold, and answer times, as known at `as_of`."""
    at = query_time(history.app, as_of, "as_of")
    return bounded(history.get_police_liaison_board_at(actor, at, full_replay=full_replay), limit)


@router.get("/crises/{crisis_id}/timeline", response_model=CrisisTimelineAsKnownResponse, **READ)
def get_crisis_timeline_as_known(
    crisis_id: PathId, history: Histories, actor: CurrentActor, as_of: AsOf, page: Paged, request: Request,
    response: Response,
) -> dict[str, Any]:
    """The crisis timeline as known at `as_of`: the entries recorded by then, ordered by instant, struck
    entries as struck by then; paged as GET /crises/{crisis_id}/timeline is."""
    at = query_time(history.app, as_of, "as_of")
    return linked(request, response, history.get_crisis_timeline_at(actor, crisis_id, at, page))


@router.get("/crises/{crisis_id}/decision-log", response_model=DecisionLogAsKnownResponse, **READ)
def get_decision_log_as_known(
    crisis_id: PathId, history: Histories, actor: CurrentActor, as_of: AsOf, page: PagedById, request: Request,
    response: Response,
) -> dict[str, Any]:
    """The decision log as known at `as_of`, with the reviews due at that moment; paged as GET
    /crises/{crisis_id}/decision-log is."""
    at = query_time(history.app, as_of, "as_of")
    return linked(request, response, history.get_decision_log_at(actor, crisis_id, at, page))
