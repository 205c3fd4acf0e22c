"""Requests and responses of emergency conditions under the Emergency Powers Act, city-wide."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from interfaces.http.schemas.common import EntryRequest, Text


class RecordEmergencyConditionsRequest(EntryRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "in_force": True, "basis": "Government decree on the use of powers under the Emergency Powers Act",
    }]})

    in_force: bool = Field(description="true: recorded in force; false: lifted")
    basis: Text | None = Field(None, description="The decree in force, or why they were lifted.")


class EmergencyConditionsResponse(BaseModel):
    in_force: bool
    since: str | None
    basis: str | None
    version: int
