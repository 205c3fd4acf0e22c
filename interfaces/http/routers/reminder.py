"""Reminders: the open ones, one with its notices, deliveries and acknowledgement, its acknowledgement by a
recipient, and who had been told of what by a moment (auditors). The notices themselves are recorded and sent by
`valmius remind` (interfaces.cli.remind)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from application.projections import deadlines
from application.projections.paging import DEFAULT_LIMIT, bounded
from domain.shared import display
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, answered, query_time
from interfaces.http.routers.audit_history import AsOf
from interfaces.http.routers.read_models import READ, ListLimit, Views
from interfaces.http.routing import Route
from interfaces.http.schemas.common import ID_LENGTH, ID_PATTERN, CommandResponse
from interfaces.http.schemas.reminder import (
    ReminderResponse,
    RemindersAsKnownResponse,
    RemindersResponse,
    present_known,
    present_reminder,
)

router = APIRouter(tags=["reminders"], route_class=Route)

ReminderId = Annotated[str, Path(
    min_length=1, max_length=ID_LENGTH, pattern=ID_PATTERN, examples=["ACTION.C-1.A-1.20261206T010000Z"],
    description="The reminder: its deadline's key (kind, record, due time in UTC), or `R-` and a digest of a long one.",
)]


@router.get("/reminders", response_model=RemindersResponse, **READ)
def list_reminders(app: App, actor: CurrentActor, views: Views, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """Reminders not settled (their deadline neither met nor gone), by due time: how far each has escalated and
    who acknowledged it."""
    return bounded({"reminders": app.list_reminders(actor, views.store, limit + 1)}, limit)


@router.get("/reminders/{reminder_id}", response_model=ReminderResponse, **READ)
def get_reminder(reminder_id: ReminderId, app: App, actor: CurrentActor, response: Response,
                 limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """A reminder: each notice (stage, recipients, channels), each delivery attempt's result, its acknowledgement
    and whether it is settled, with its version in the ETag."""
    answer = present_reminder(app.get_reminder(actor, reminder_id))
    response.headers["ETag"] = f'"{answer["version"]}"'
    return bounded(answer, limit)


@router.post("/reminders/{reminder_id}/acknowledgement")
def acknowledge_reminder(reminder_id: ReminderId, app: App, actor: CurrentActor, expected: ExpectedVersion,
                         response: Response) -> CommandResponse:
    """Acknowledge a reminder: it escalates no further. Its recipients may: the division contact of its unit (the
    police coordinator, of a police request), duty officers and the preparedness manager (NOT_A_RECIPIENT otherwise; ALREADY_ACKNOWLEDGED the second time;
    REMINDER_SETTLED once its deadline was met or went away)."""
    return answered(response, app, reminder_id, app.acknowledge_reminder(actor, reminder_id, expected_version=expected))


@router.get("/audit/reminders", response_model=RemindersAsKnownResponse, **READ)
def get_reminders_as_known(app: App, actor: CurrentActor, views: Views, as_of: AsOf,
                           limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """Who had been told of what by `as_of`: every notice recorded by then (its recipients and channels), every
    delivery result and every acknowledgement, in the order they were recorded."""
    at = query_time(app, as_of, "as_of")
    events = app.reminders_known_at(actor, deadlines.all_reminder_ids(views.store), at)
    return bounded({"as_of": display(at, seconds=True), **present_known(events)}, limit)
