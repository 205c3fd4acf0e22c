"""Each city unit's preparedness: readiness along the ladder and its continuity plans."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathId, answered, etag
from interfaces.http.routing import Route
from interfaces.http.schemas.common import CommandResponse
from interfaces.http.schemas.division_preparedness import (
    ActivateContinuityPlanRequest,
    ApproveContinuityPlanRequest,
    ChangeReadinessRequest,
    DeactivateContinuityPlanRequest,
    DivisionPreparednessResponse,
    DraftContinuityPlanRequest,
    RecordExerciseRequest,
    RecordPlanReviewRequest,
    present_preparedness,
)

router = APIRouter(prefix="/division-preparedness", tags=["division preparedness"], route_class=Route)


@router.get("")
def list_division_preparedness(app: App, actor: CurrentActor) -> list[DivisionPreparednessResponse]:
    """Every unit's readiness and plans."""
    now = app.now()
    return [present_preparedness(p, actor, now, app.policy, app.is_exercise) for p in app.list_division_preparedness(actor)]


@router.get("/{unit}")
def get_division_preparedness(
    unit: PathId, app: App, actor: CurrentActor, response: Response
) -> DivisionPreparednessResponse:
    """One unit's readiness history and continuity plans, with its version in the ETag."""
    prep = app.get_division_preparedness(actor, unit)
    response.headers["ETag"] = etag(prep.version)
    return present_preparedness(prep, actor, app.now(), app.policy, app.is_exercise)


@router.post("/{unit}/readiness")
def change_readiness(
    unit: PathId, body: ChangeReadinessRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Move the unit along the readiness ladder, naming who decided and why. EMERGENCY needs emergency conditions."""
    return answered(response, app, unit, app.change_readiness(actor, unit, expected_version=expected, **body.args()))


@router.post("/{unit}/plans", status_code=status.HTTP_201_CREATED)
def draft_continuity_plan(
    unit: PathId, body: DraftContinuityPlanRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Draft a continuity plan with its critical functions (MTPD, RTO ≤ MTPD)."""
    return answered(response, app, unit, app.draft_continuity_plan(actor, unit, expected_version=expected, **body.args()))


@router.post("/{unit}/plans/{plan_id}/approve")
def approve_continuity_plan(
    unit: PathId, plan_id: PathId, body: ApproveContinuityPlanRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Approve a drafted plan."""
    version = app.approve_continuity_plan(actor, unit, plan_id=plan_id, expected_version=expected, **body.args())
    return answered(response, app, unit, version)


@router.post("/{unit}/plans/{plan_id}/reviews")
def record_plan_review(
    unit: PathId, plan_id: PathId, body: RecordPlanReviewRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Record a review of the plan and when the next one is due."""
    version = app.record_plan_review(actor, unit, plan_id=plan_id, expected_version=expected, **body.args())
    return answered(response, app, unit, version)


@router.post("/{unit}/plans/{plan_id}/exercises")
def record_exercise(
    unit: PathId, plan_id: PathId, body: RecordExerciseRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Record an exercise of the plan with its findings."""
    version = app.record_exercise(actor, unit, plan_id=plan_id, expected_version=expected, **body.args())
    return answered(response, app, unit, version)


@router.post("/{unit}/plans/{plan_id}/activate")
def activate_continuity_plan(
    unit: PathId, plan_id: PathId, body: ActivateContinuityPlanRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Activate an approved plan for a crisis; the crisis cannot close until it is deactivated."""
    version = app.activate_continuity_plan(actor, unit, plan_id=plan_id, expected_version=expected, **body.args())
    return answered(response, app, unit, version)


@router.post("/{unit}/plans/{plan_id}/deactivate")
def deactivate_continuity_plan(
    unit: PathId, plan_id: PathId, body: DeactivateContinuityPlanRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Deactivate an active plan."""
    version = app.deactivate_continuity_plan(actor, unit, plan_id=plan_id, expected_version=expected, **body.args())
    return answered(response, app, unit, version)
