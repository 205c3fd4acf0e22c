"""Public warnings: drafted for a crisis, approved by a second person, issued, updated and cancelled; each issued
message as a CAP 1.2 document, and the warnings in force as a register and an Atom feed.

The feed is read with a token like every other read (any role that reads crises): the service is the city's
system of record, not a publisher to the public; a distributor (a CAP aggregator, the city's web site) reads
the feed and the CAP documents with a token of its own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from application.projections.paging import DEFAULT_LIMIT
from application.projections.public_warning_register import PublicWarningRegister
from domain.access import authorise
from domain.public_warning import WarningRecord
from domain.shared import DomainError, Rule
from interfaces.cap import CAP_MEDIA_TYPE
from interfaces.cap.alerts_out import ATOM_MEDIA_TYPE, atom_feed, cap_document
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathId, answered, etag
from interfaces.http.routers.read_models import READ, ListLimit, Views, caught_up
from interfaces.http.routing import Route
from interfaces.http.schemas.common import INT32, CommandResponse
from interfaces.http.schemas.public_warning import (
    ApprovePublicWarningRequest,
    DraftPublicWarningCancellationRequest,
    DraftPublicWarningRequest,
    DraftPublicWarningUpdateRequest,
    PublicWarningRegisterResponse,
    PublicWarningResponse,
    ReviseWarningRequest,
    WarningStepRequest,
    cap_path,
    present_warning,
)

router = APIRouter(tags=["public warnings"], route_class=Route)

CAP_EXAMPLE = """<?xml version='1.0' encoding='utf-8'?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>W-C-S1-1.1</identifier>
  <sender>valmius@localhost</sender>
  <sent>2025-10-25T21:40:00+03:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <incidents>C-S1</incidents>
  <info>
    <language>fi-FI</language>
    <category>Met</category>
    <event>Vaarallinen sää</event>
    <urgency>Immediate</urgency>
    <severity>Moderate</severity>
    <certainty>Observed</certainty>
    <headline>Myrskyvaroitus: sähkökatkoja Itä-Helsingissä</headline>
    <description>Myrsky on katkaissut sähköt Vuosaaressa ja Kontulassa.</description>
    <area>
      <areaDesc>Vuosaari</areaDesc>
    </area>
  </info>
  <info>
    <language>sv-FI</language>
    <category>Met</category>
    <event>Farligt väder</event>
    <urgency>Immediate</urgency>
    <severity>Moderate</severity>
    <certainty>Observed</certainty>
    <headline>Stormvarning: elavbrott i östra Helsingfors</headline>
    <description>Stormen har orsakat elavbrott i Nordsjö och Gårdsbacka.</description>
    <area>
      <areaDesc>Vuosaari</areaDesc>
    </area>
  </info>
</alert>
"""


def with_links(answer: dict[str, Any]) -> dict[str, Any]:
    for warning in answer["warnings"]:
        warning["cap"] = cap_path(warning["warning_id"], warning["number"])
    return answer


@router.post("/crises/{crisis_id}/warnings", status_code=status.HTTP_201_CREATED)
def draft_public_warning(
    crisis_id: PathId, body: DraftPublicWarningRequest, app: App, actor: CurrentActor, response: Response
) -> CommandResponse:
    """Draft a warning to the public for an open PUBLIC crisis (NOT_PUBLIC otherwise): its first message, an
    alert, in Finnish and Swedish (TEXT_REQUIRED), English optional. A second person approves it."""
    version = app.draft_public_warning(actor, crisis_id, **body.args())
    response.headers["Location"] = f"/warnings/{body.warning_id}"
    return answered(response, app, body.warning_id, version)


@router.get(
    "/crises/{crisis_id}/warnings",
    response_model=PublicWarningRegisterResponse,
    dependencies=[caught_up(PublicWarningRegister.name)],
    **READ,
)
def list_crisis_warnings(
    crisis_id: PathId, views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """The crisis's warnings, drafts too: each one's state, the message waiting (and who approved it), its
    latest issued message; at most `limit` (`cut` says how many there are)."""
    return with_links(views.list_public_warnings(actor, crisis_id, limit))


@router.get(
    "/warnings",
    response_model=PublicWarningRegisterResponse,
    dependencies=[caught_up(PublicWarningRegister.name)],
    **READ,
)
def list_public_warnings(views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """The warnings in force, of every crisis, the latest issued first, each with its latest message and where
    its CAP document is; at most `limit` (`cut` says how many there are)."""
    return with_links(views.list_public_warnings(actor, limit=limit))


@router.get(
    "/warnings/feed",
    response_class=Response,
    dependencies=[caught_up(PublicWarningRegister.name)],
    responses={200: {
        "description": "An Atom feed (RFC 4287) of the warnings in force: an entry per warning, its latest "
        "message, linking its CAP document (rel alternate, application/cap+xml).",
        "content": {ATOM_MEDIA_TYPE: {"schema": {"type": "string"}}},
    }},
)
def get_public_warnings_feed(request: Request, views: Views, actor: CurrentActor, response: Response) -> Response:
    """The warnings in force as an Atom feed, for whoever passes them on to the public (read with a token)."""
    authorise(actor, "get_public_warnings_feed")
    register = views.list_public_warnings(actor, limit=1000)
    in_force = register["warnings"]
    document = atom_feed(in_force, feed_url=str(request.url.remove_query_params(["min_position", "wait"])),
                         updated=in_force[0]["sent"] if in_force else register["at"],  # the latest first
                         author=views.app.policy.cap_sender)
    fresh = {name: value for name, value in response.headers.items() if name.lower().startswith("valmius-")}
    return Response(document, media_type=ATOM_MEDIA_TYPE, headers=fresh)  # with the freshness headers (caught_up)


@router.get("/warnings/{warning_id}")
def get_public_warning(warning_id: PathId, app: App, actor: CurrentActor, response: Response) -> PublicWarningResponse:
    """The warning with every message: who drafted, revised and approved it, when it was issued, its CAP
    identifier and the messages it references."""
    warning = app.get_public_warning(actor, warning_id)
    response.headers["ETag"] = etag(warning.version)
    return present_warning(warning, actor, app.policy).model_copy(update={"exercise": app.is_exercise(warning.crisis_id)})


@router.get(
    "/warnings/{warning_id}/cap",
    response_class=Response,
    responses={200: {
        "description": "The CAP 1.2 alert of the message (valid against the OASIS schema).",
        "content": {CAP_MEDIA_TYPE: {"schema": {"type": "string"}, "example": CAP_EXAMPLE}},
    }},
)
def get_public_warning_cap(
    warning_id: PathId, app: App, actor: CurrentActor,
    number: Annotated[int | None, Query(ge=1, le=INT32, description="The message (1 the first); the latest "
                                        "issued unless given.")] = None,
) -> Response:
    """An issued message of the warning as a CAP 1.2 document: Alert, Update or Cancel, referencing the messages
    before it."""
    authorise(actor, "get_public_warning_cap")
    warning = app.get_public_warning(actor, warning_id)
    return Response(cap_document(warning, issued_number(warning, number), app.policy), media_type=CAP_MEDIA_TYPE)


def issued_number(warning: WarningRecord, number: int | None) -> int:
    issued = [m.number for m in warning.issued]
    if not issued:
        raise DomainError(Rule.NOT_FOUND, "warning {warning_id} has issued no message yet",
                          {"warning_id": warning.warning_id})
    if number is None:
        return issued[-1]
    if number not in issued:
        raise DomainError(Rule.NOT_FOUND, "warning {warning_id} has issued no message {number}",
                          {"warning_id": warning.warning_id, "number": number})
    return number


@router.post("/warnings/{warning_id}/revision")
def revise_public_warning(
    warning_id: PathId, body: ReviseWarningRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Rewrite the message waiting to be issued; an approval it had lapses (it is approved afresh)."""
    version = app.revise_public_warning(actor, warning_id, expected_version=expected, **body.args())
    return answered(response, app, warning_id, version)


@router.post("/warnings/{warning_id}/approval")
def approve_public_warning(
    warning_id: PathId, body: ApprovePublicWarningRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Approve the message waiting to be issued. Whoever wrote its text never approves it (FOUR_EYES); name the
    `digest` of the text you read, and a text revised since is not approved (TEXT_CHANGED)."""
    version = app.approve_public_warning(actor, warning_id, expected_version=expected, **body.args())
    return answered(response, app, warning_id, version)


@router.post("/warnings/{warning_id}/issue")
def issue_public_warning(
    warning_id: PathId, body: WarningStepRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Issue the approved message (WARNING_NOT_APPROVED otherwise): the public is told now. It gets its CAP
    identifier and sent time, and carries the crisis's category, severity and areas as they stand."""
    version = app.issue_public_warning(actor, warning_id, expected_version=expected, **body.args())
    return answered(response, app, warning_id, version)


@router.post("/warnings/{warning_id}/update")
def draft_public_warning_update(
    warning_id: PathId, body: DraftPublicWarningUpdateRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Draft an update of the warning in force; approved and issued like the first message, it references the
    messages before it."""
    version = app.draft_public_warning_update(actor, warning_id, expected_version=expected, **body.args())
    return answered(response, app, warning_id, version)


@router.post("/warnings/{warning_id}/cancellation")
def draft_public_warning_cancellation(
    warning_id: PathId, body: DraftPublicWarningCancellationRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Draft the cancellation of the warning in force (also once its crisis is closed); approved and issued
    like the other messages."""
    version = app.draft_public_warning_cancellation(actor, warning_id, expected_version=expected, **body.args())
    return answered(response, app, warning_id, version)
