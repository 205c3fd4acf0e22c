"""Received CAP alerts: taken in as CAP 1.2 documents, the watch list, one alert, linking to a crisis."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from application.projections.paging import DEFAULT_LIMIT, MAX_LIMIT
from application.projections.received_alert import ReceivedAlertWatchList
from domain.shared import DomainError, Rule
from interfaces.cap.alerts_in import read_alert
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, answered, etag
from interfaces.http.routers.read_models import READ, Views, caught_up
from interfaces.http.routing import Route
from interfaces.http.schemas.common import ID_LENGTH, ID_PATTERN, CommandResponse, Id
from interfaces.http.schemas.received_alert import (
    ACCEPTED_TYPES,
    CAP_BODY,
    EXAMPLE_ALERT_ID,
    LinkReceivedAlertRequest,
    ReceivedAlertResponse,
    ReceivedAlertWatchListResponse,
    UnlinkReceivedAlertRequest,
    present_alert,
)

router = APIRouter(prefix="/received-alerts", tags=["received alerts"], route_class=Route)

async def cap_document(request: Request, actor: CurrentActor) -> bytes:
    """The body, a CAP document: read once the actor may write (read-only roles are refused before it)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ACCEPTED_TYPES:
        raise DomainError(
            Rule.INVALID_CAP, "send the CAP document as application/cap+xml, not {media}", {"media": media or "nothing"}
        )
    return await request.body()


# An alert's id in a path, its example the id of the example document's alert.
AlertId = Annotated[
    str,
    Path(min_length=1, max_length=ID_LENGTH, pattern=ID_PATTERN, examples=[EXAMPLE_ALERT_ID],
         description="A received alert's id (`cap-` and 32 hex digits, from its sender, identifier and sent)."),
]


@router.post("", status_code=status.HTTP_201_CREATED, openapi_extra={"requestBody": CAP_BODY})
def take_received_alert(
    actor: CurrentActor, document: Annotated[bytes, Depends(cap_document)], app: App, response: Response
) -> CommandResponse:
    """Take in a CAP 1.2 alert (duty officer, preparedness manager): kept whole as RECEIVED content of its sender,
    once (the same sender, identifier and sent is 409 ALREADY_EXISTS); the alerts of its sender it refers to are
    superseded by an Update and cancelled by a Cancel. A document that is not a valid CAP 1.2 alert is refused
    with 422 INVALID_CAP saying why (not XML, another version, the schema's error and where); nothing is stored."""
    alert_id, version = app.take_received_alert(actor, document, read_alert, source="http")
    response.headers["Location"] = f"/received-alerts/{alert_id}"
    return answered(response, app, alert_id, version)


@router.get(
    "",
    response_model=ReceivedAlertWatchListResponse,
    dependencies=[caught_up(ReceivedAlertWatchList.name)],
    **READ,
)
def list_received_alerts(
    views: Views,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many alerts (≤ {MAX_LIMIT}).")] = DEFAULT_LIMIT,
    after: Annotated[Id | None, Query(description="The alerts after this cursor (a page's `next`): an alert id.")] = None,
) -> dict[str, Any]:
    """The watch list: Actual alerts received and linked to no crisis, in force (not expired, superseded or
    cancelled), newest sent first, `limit` at a time (page on with `after=next`). Their texts are shown to
    cleared readers only."""
    return views.list_received_alerts(actor, limit, after)


@router.get("/{alert_id}")
def get_received_alert(alert_id: AlertId, app: App, actor: CurrentActor, response: Response) -> ReceivedAlertResponse:
    """One received alert: its codes, state and links; what it says (each language's texts and areas, and the
    document as received) to cleared readers only."""
    alert = app.get_received_alert(actor, alert_id)
    response.headers["ETag"] = etag(alert.version)
    return present_alert(alert, actor, app.policy, app.is_exercise)


@router.post("/{alert_id}/link")
def link_received_alert(
    alert_id: AlertId, body: LinkReceivedAlertRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Link the alert to a crisis (which exists and is open): it leaves the watch list and shows on the crisis's
    timeline. One crisis at a time (INVALID_TRANSITION)."""
    version = app.link_received_alert(actor, alert_id, expected_version=expected, **body.args())
    return answered(response, app, alert_id, version)


@router.post("/{alert_id}/unlink")
def unlink_received_alert(
    alert_id: AlertId, body: UnlinkReceivedAlertRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Take the alert off its crisis, with the reason: back on the watch list while in force."""
    version = app.unlink_received_alert(actor, alert_id, expected_version=expected, **body.args())
    return answered(response, app, alert_id, version)
