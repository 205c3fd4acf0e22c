"""Requests and responses of positions and handover briefs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.position import POSITIONS, Position
from domain.shared import display
from interfaces.http.schemas.common import CommandRequest, CommandResponse

DIGEST_EXAMPLE = "9f2c1e0b" * 8


class AcceptHandoverBriefRequest(CommandRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"digest": DIGEST_EXAMPLE}]})

    digest: str = Field(
        pattern="^[0-9a-f]{64}$", max_length=64, description="The SHA-256 digest of the brief as read (its `digest`): the record "
        "says exactly what the incoming person was given.",
    )


class PositionResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: str = Field(examples=["DUTY_OFFICER"])
    name: str = Field(examples=["duty officer on duty"])
    roles: list[str] = Field(description="The roles that may hold it.")
    holder: str | None = Field(description="Who holds it now; null while vacant.")
    held_since: str | None
    briefs: int = Field(description="Handover briefs prepared (numbered from 1).")
    accepted: int = Field(description="The number of the last brief accepted; 0 for none.")
    version: int | None = Field(description="The position's version (its ETag for If-Match); null if never held.")


class PositionsResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    positions: list[PositionResponse]
    cut: dict[str, int] | None = None


class PreparedBriefResponse(CommandResponse):
    """A prepared handover brief: read it, then accept it with its number and digest."""

    number: int
    digest: str


class HandoverBriefResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: str
    number: int
    prepared_by: str
    prepared_at: str
    since_position: int = Field(description="The brief covers the log after this position …")
    until_position: int = Field(description="… up to this one.")
    digest: str = Field(description="SHA-256 of the brief's canonical JSON (sorted keys, no spaces, UTF-8).")
    brief: dict[str, Any] = Field(description="What is open, what happened and what was decided, as an uncleared "
                                  "reader sees it (classified records by their labels).")
    cut: dict[str, int] | None = None


class HoldingResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: str
    holder: str
    since: str


class HandoverResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    position: str
    number: int
    from_holder: str | None
    to_holder: str
    at: str
    digest: str


class PositionsAsKnownResponse(BaseModel):
    """Who held which position at `as_of`, and every handover accepted by then."""

    model_config = ConfigDict(extra="forbid")

    as_of: str
    holders: list[HoldingResponse]
    handovers: list[HandoverResponse]
    cut: dict[str, int] | None = None


def present_position(found: Position | str) -> dict[str, Any]:
    code = found if isinstance(found, str) else found.position
    post = POSITIONS[code]
    base = {"position": code, "name": str(post.name), "roles": sorted(str(role) for role in post.roles)}
    if isinstance(found, str):
        return {**base, "holder": None, "held_since": None, "briefs": 0, "accepted": 0, "version": None}
    return {**base, "holder": found.holder, "held_since": display(found.held_since), "briefs": found.briefs,
            "accepted": found.accepted, "version": found.version}


def present_brief(event: Position.BriefPrepared) -> dict[str, Any]:
    return {"position": event.position, "number": event.number, "prepared_by": event.actor,
            "prepared_at": display(event.recorded_at, seconds=True), "since_position": event.since,
            "until_position": event.until, "digest": event.digest, "brief": event.brief}
