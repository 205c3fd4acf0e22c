"""Emergency conditions under the Emergency Powers Act, city-wide."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, answered, etag
from interfaces.http.schemas.common import CommandResponse, EntryRequest, Text, time_out

router = APIRouter(prefix="/emergency-conditions", tags=["emergency conditions"])


class RecordEmergencyConditionsRequest(EntryRequest):
    in_force: bool = Field(description="true: recorded in force; false: lifted")
    basis: Text | None = Field(None, description="The decree in force, or why they were lifted.")


class EmergencyConditionsResponse(BaseModel):
    in_force: bool
    since: str | None
    basis: str | None
    version: int


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
    version = app.record_emergency_conditions(actor, expected_version=expected, **body.args())
    return answered(response, app, "emergency-conditions", version)
