"""Emergency conditions under the Emergency Powers Act, city-wide."""

from __future__ import annotations

from fastapi import APIRouter, Response

from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, answered, etag
from interfaces.http.routing import Route
from interfaces.http.schemas.common import CommandResponse, time_out
from interfaces.http.schemas.emergency_conditions import EmergencyConditionsResponse, RecordEmergencyConditionsRequest

router = APIRouter(prefix="/emergency-conditions", tags=["emergency conditions"], route_class=Route)


@router.get("")
def get_emergency_conditions(app: App, actor: CurrentActor, response: Response) -> EmergencyConditionsResponse:
    """Whether emergency conditions are in force: the gate for EMERGENCY readiness and condition."""
    conditions = app.get_emergency_conditions(actor)
    response.headers["ETag"] = etag(conditions.version)
    return EmergencyConditionsResponse(
        in_force=conditions.in_force, since=time_out(conditions.since), basis=conditions.basis,
        version=conditions.version,
    )


@router.post("")
def record_emergency_conditions(
    body: RecordEmergencyConditionsRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Record emergency conditions in force, or lifted (preparedness manager)."""
    entry = {"occurred_at": body.args().get("occurred_at"), "late_entry_reason": body.late_entry_reason}
    if body.in_force:
        version = app.declare_emergency_conditions(actor, basis=body.basis or "", expected_version=expected, **entry)
    else:
        version = app.lift_emergency_conditions(actor, reason=body.basis, expected_version=expected, **entry)
    return answered(response, app, "emergency-conditions", version)
