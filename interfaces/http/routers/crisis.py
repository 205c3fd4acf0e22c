"""The crisis resource: declare, read, and one POST per command on the crisis it changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from fastapi import APIRouter, Response, status

from application.coordination import Coordination
from domain.access import Actor, authorise
from domain.crisis import Crisis
from domain.shared import DomainError, N_, Rule
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathId, PathNumber, answered, etag
from interfaces.http.routing import Route
from interfaces.http.schemas.common import CommandResponse
from interfaces.http.schemas.crisis import (
    AssignActionRequest,
    ChangeAreasRequest,
    ChangeConditionRequest,
    ChangeSeverityRequest,
    CloseActionRequest,
    CrisisResponse,
    DeclareCrisisRequest,
    IssueSituationReportRequest,
    RecordAfterActionReviewRequest,
    RecordDecisionRequest,
    RecordDecisionReviewRequest,
    RecordLogEntryRequest,
    StatusChangeRequest,
    StrikeLogEntryRequest,
    present_crisis,
)

router = APIRouter(prefix="/crises", tags=["crises"], route_class=Route)


@router.post("", status_code=status.HTTP_201_CREATED)
def declare_crisis(body: DeclareCrisisRequest, app: App, actor: CurrentActor, response: Response) -> CommandResponse:
    """Declare a crisis (duty officer, preparedness manager)."""
    version = app.declare_crisis(actor, **body.args())
    response.headers["Location"] = f"/crises/{body.crisis_id}"
    return answered(response, app, body.crisis_id, version)


@router.get("/{crisis_id}")
def get_crisis(crisis_id: PathId, app: App, actor: CurrentActor, response: Response) -> CrisisResponse:
    """The crisis as it stands, with its version in the ETag: its latest 100 log entries (numbered from 1: GET
    /crises/{crisis_id}/timeline pages through them all) and all its other records. Content above the reader's
    clearance is redacted."""
    crisis = app.get_crisis(actor, crisis_id)
    response.headers["ETag"] = etag(crisis.version)
    return present_crisis(crisis, actor, app.now(), app.policy)


@router.post("/{crisis_id}/severity")
def change_severity(
    crisis_id: PathId, body: ChangeSeverityRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Change the severity (1–4)."""
    version = app.change_severity(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/condition")
def change_condition(
    crisis_id: PathId, body: ChangeConditionRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Change the condition: EMERGENCY_CONDITIONS only while emergency conditions are in force."""
    version = app.change_condition(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/contain", summary="Contain the crisis")
def contain_crisis(
    crisis_id: PathId, body: StatusChangeRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """ACTIVE → CONTAINED."""
    version = app.contain_crisis(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/reopen", summary="Reopen the crisis")
def reopen_crisis(
    crisis_id: PathId, body: StatusChangeRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """CONTAINED → ACTIVE."""
    version = app.reopen_crisis(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/resolve", summary="Resolve the crisis")
def resolve_crisis(
    crisis_id: PathId, body: StatusChangeRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """CONTAINED → RESOLVED."""
    version = app.resolve_crisis(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/close", summary="Close the crisis")
def close_crisis(
    crisis_id: PathId, body: StatusChangeRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """RESOLVED → CLOSED, once no action is open, no police request for it is open and no continuity plan is
    active for it (OPEN_ITEMS, PLAN_STILL_ACTIVE)."""
    version = app.close_crisis(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/log-entries")
def record_log_entry(
    crisis_id: PathId, body: RecordLogEntryRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Record a crisis log entry. Division contacts record entries reporting from their own unit."""
    version = app.record_log_entry(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/log-entries/{number}/strike")
def strike_log_entry(
    crisis_id: PathId, number: PathNumber, body: StrikeLogEntryRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Strike a wrong entry through, with the reason. Entries are never deleted."""
    version = app.strike_log_entry(actor, crisis_id, number=number, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/actions")
def assign_action(
    crisis_id: PathId, body: AssignActionRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Assign an action to a city unit with a due time after the time of assignment."""
    version = app.assign_action(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/actions/{action_id}/complete")
def complete_action(
    crisis_id: PathId, action_id: PathId, body: CloseActionRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Complete an action (its unit's division contact, a duty officer)."""
    version = app.complete_action(actor, crisis_id, action_id=action_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/actions/{action_id}/cancel")
def cancel_action(
    crisis_id: PathId, action_id: PathId, body: CloseActionRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Cancel an action, with a note."""
    version = app.cancel_action(actor, crisis_id, action_id=action_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/situation-reports")
def issue_situation_report(
    crisis_id: PathId, body: IssueSituationReportRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Issue the next situation report, numbered consecutively, with when the next one is due."""
    version = app.issue_situation_report(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/decisions")
def record_decision(
    crisis_id: PathId, body: RecordDecisionRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Record a decision on behalf of the decision-maker; with `supersedes`, it supersedes one of this crisis."""
    version = app.record_decision(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/decisions/{decision_id}/reviews")
def record_decision_review(
    crisis_id: PathId, decision_id: PathId, body: RecordDecisionReviewRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Append a review outcome to a decision; the decision itself is never changed."""
    version = app.record_decision_review(
        actor, crisis_id, decision_id=decision_id, expected_version=expected, **body.args()
    )
    return answered(response, app, crisis_id, version)


# Records that are never changed once recorded. PUT, PATCH and DELETE on them are answered in the order
# of any command: the role first (403 to a role that may not write there), then the record (404 when there
# is none), and only then 409 IMMUTABLE_RECORD, saying what to do instead.
# One route per method, so that each has its own OpenAPI operation id.
IMMUTABLE = {"status_code": 409, "responses": {409: {"description": "IMMUTABLE_RECORD"}}}


def refuse_change(
    app: Coordination, actor: Actor, crisis_id: str, use_case: str, found: Callable[[Crisis], bool], record: str,
    record_id: str, instead: str,
) -> NoReturn:
    authorise(actor, use_case)
    authorise(actor, "get_crisis")
    crisis = app.load_crisis(crisis_id)
    said = {"crisis_id": crisis_id, "record": record, "record_id": record_id, "instead": instead}
    if not found(crisis):
        raise DomainError(Rule.NOT_FOUND, "{crisis_id} has no {record} {record_id}", said)
    raise DomainError(Rule.IMMUTABLE_RECORD, "{record} {record_id} cannot be changed or deleted; {instead}", said)


@router.put("/{crisis_id}/decisions/{decision_id}", **IMMUTABLE)
@router.patch("/{crisis_id}/decisions/{decision_id}", **IMMUTABLE)
@router.delete("/{crisis_id}/decisions/{decision_id}", **IMMUTABLE)
def change_decision(crisis_id: PathId, decision_id: PathId, app: App, actor: CurrentActor) -> None:
    """Decisions are append-only: supersede with a new decision, or append a review."""
    refuse_change(
        app, actor, crisis_id, "change_decision", lambda c: decision_id in c.decisions,
        N_("decision"), decision_id, N_("supersede it with a new decision or append a review"),
    )


@router.put("/{crisis_id}/log-entries/{number}", **IMMUTABLE)
@router.patch("/{crisis_id}/log-entries/{number}", **IMMUTABLE)
@router.delete("/{crisis_id}/log-entries/{number}", **IMMUTABLE)
def change_log_entry(crisis_id: PathId, number: PathNumber, app: App, actor: CurrentActor) -> None:
    """Log entries are never changed or deleted: strike a wrong one through with a reason."""
    refuse_change(
        app, actor, crisis_id, "change_log_entry", lambda c: 1 <= number <= c.entries, N_("log entry"), f"#{number}",
        N_("strike it through with a reason instead"),
    )


@router.put("/{crisis_id}/situation-reports/{number}", **IMMUTABLE)
@router.patch("/{crisis_id}/situation-reports/{number}", **IMMUTABLE)
@router.delete("/{crisis_id}/situation-reports/{number}", **IMMUTABLE)
def change_situation_report(crisis_id: PathId, number: PathNumber, app: App, actor: CurrentActor) -> None:
    """Situation reports are never changed or deleted: issue the next one."""
    refuse_change(
        app, actor, crisis_id, "change_situation_report", lambda c: 1 <= number <= len(c.situation_reports),
        N_("situation report"), f"#{number}", N_("issue the next report instead"),
    )


@router.post("/{crisis_id}/after-action-review")
def record_after_action_review(
    crisis_id: PathId, body: RecordAfterActionReviewRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Record the after-action review, once, after the crisis is CLOSED (preparedness manager)."""
    version = app.record_after_action_review(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/areas", summary="Change the affected areas")
def change_areas(
    crisis_id: PathId, body: ChangeAreasRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Add districts of the registry (GET /districts) to the affected areas, or remove areas, with the reason
    (UNKNOWN_AREA, AREA_ALREADY_AFFECTED)."""
    version = app.change_areas(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)
