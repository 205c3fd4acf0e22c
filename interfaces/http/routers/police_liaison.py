"""Police liaison matters: the people on both sides, requests in both directions, information shared."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from application.audit.redaction import Classifier
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathId, answered, etag
from interfaces.http.routing import Route
from interfaces.http.schemas.common import CommandResponse
from interfaces.http.schemas.police_liaison import (
    AnswerPoliceRequestRequest,
    ChangeLiaisonPeopleRequest,
    ClosePoliceRequestRequest,
    OpenPoliceLiaisonRequest,
    PoliceLiaisonResponse,
    RaisePoliceRequestRequest,
    RecordInformationSharedRequest,
    present_liaison,
)

router = APIRouter(prefix="/police-liaisons", tags=["police liaison"], route_class=Route)


@router.post("", status_code=status.HTTP_201_CREATED)
def open_police_liaison(
    body: OpenPoliceLiaisonRequest, app: App, actor: CurrentActor, response: Response
) -> CommandResponse:
    """Open a liaison matter for a crisis or a standing topic (police coordinator)."""
    version = app.open_police_liaison(actor, **body.args())
    response.headers["Location"] = f"/police-liaisons/{body.liaison_id}"
    return answered(response, app, body.liaison_id, version)


@router.get("/{liaison_id}")
def get_police_liaison(liaison_id: PathId, app: App, actor: CurrentActor, response: Response) -> PoliceLiaisonResponse:
    """The matter with its requests (age, outcome) and information shared; redacted per clearance."""
    liaison = app.get_police_liaison(actor, liaison_id)
    response.headers["ETag"] = etag(liaison.version)
    crisis = Classifier(app.repository).crisis(liaison.crisis_id)
    return present_liaison(liaison, crisis, actor, app.now(), app.policy)


@router.post("/{liaison_id}/people")
def change_liaison_people(
    liaison_id: PathId, body: ChangeLiaisonPeopleRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Replace the lists of people involved on the city's and the police's side."""
    version = app.change_liaison_people(actor, liaison_id, expected_version=expected, **body.args())
    return answered(response, app, liaison_id, version)


@router.post("/{liaison_id}/requests", status_code=status.HTTP_201_CREATED)
def raise_police_request(
    liaison_id: PathId, body: RaisePoliceRequestRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Raise a request, city to police or police to city. EXECUTIVE_ASSISTANCE states its legal basis."""
    version = app.raise_police_request(actor, liaison_id, expected_version=expected, **body.args())
    return answered(response, app, liaison_id, version)


@router.post("/{liaison_id}/requests/{request_id}/answer")
def answer_police_request(
    liaison_id: PathId, request_id: PathId, body: AnswerPoliceRequestRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Answer an open request. A request has exactly one outcome (ALREADY_ANSWERED)."""
    version = app.answer_police_request(
        actor, liaison_id, request_id=request_id, expected_version=expected, **body.args()
    )
    return answered(response, app, liaison_id, version)


@router.post("/{liaison_id}/requests/{request_id}/decline")
def decline_police_request(
    liaison_id: PathId, request_id: PathId, body: ClosePoliceRequestRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Decline an open request, with the reason."""
    version = app.decline_police_request(
        actor, liaison_id, request_id=request_id, expected_version=expected, **body.args()
    )
    return answered(response, app, liaison_id, version)


@router.post("/{liaison_id}/requests/{request_id}/withdraw")
def withdraw_police_request(
    liaison_id: PathId, request_id: PathId, body: ClosePoliceRequestRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Withdraw an open request, with the reason."""
    version = app.withdraw_police_request(
        actor, liaison_id, request_id=request_id, expected_version=expected, **body.args()
    )
    return answered(response, app, liaison_id, version)


@router.post("/{liaison_id}/information-shared")
def record_information_shared(
    liaison_id: PathId, body: RecordInformationSharedRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Record information shared with the police: what, to whom, when."""
    version = app.record_information_shared(actor, liaison_id, expected_version=expected, **body.args())
    return answered(response, app, liaison_id, version)
