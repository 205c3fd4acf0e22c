"""The answers of the auditors' reads: the event log, refused attempts and the disclosures kept."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from application.audit.export import RECORD_OF_EVENT
from domain.secrecy import EVENT_RECORDS
from interfaces.http.schemas.read_models import ReadResponse

# The kind of record each stored event writes, by the event's name in the log ("Crisis.DecisionRecorded").
RECORD_OF_EVENT_NAME = {cls.__qualname__: kind for cls, kind in EVENT_RECORDS.items()}


class EventResponse(ReadResponse):
    """A stored event as the log lists it. `data` is the event's fields, redacted by the record it writes."""

    position: int
    aggregate_kind: str | None
    aggregate_id: str | None
    version: int
    type: str
    actor: str | None
    recorded_at: str
    data: dict[str, Any]
    exercise: bool = Field(False, description="True for an event of a crisis declared as an exercise.")

    @classmethod
    def data_disclosed_as(cls, fields: dict[str, Any], record_ids: dict[str, str | None]) -> tuple[str, str | None]:
        """The kind and id a disclosure names the record the event writes by: the archive's naming
        (application.audit.export), else the record of the event's kind (domain.secrecy) by its id field
        (`record_ids`: the id field of each kind), else the event's log position."""
        event_type, data = fields.get("type"), fields.get("data") or {}
        if event_type in RECORD_OF_EVENT:
            kind, id_field = RECORD_OF_EVENT[event_type]
        else:
            kind = RECORD_OF_EVENT_NAME.get(event_type, "record")
            id_field = record_ids.get(kind)
        record_id = data.get(id_field) if id_field else f"position {fields.get('position')}"
        return kind, None if record_id is None else str(record_id)


class EventPageResponse(ReadResponse):
    items: list[EventResponse]
    next_after: int = Field(description="The last position read: ask for the next page with `after=next_after`.")
    end_of_log: bool
    log_position: int = Field(description="The log's head when the page was read.")


class RefusalResponse(ReadResponse):
    id: int
    at: str
    user: str | None = Field(description="None: an attempt without a valid token.")
    role: str | None
    command: str
    target: str | None
    rule: str
    message: str | None
    payload: dict[str, Any] | None = Field(
        description="The arguments of the attempt (withheld from an uncleared reader)."
    )
    exercise: bool = Field(False, description="The attempt concerned a crisis declared as an exercise.")


class RefusalPageResponse(ReadResponse):
    refusals: list[RefusalResponse]
    next_after: int | None


class DisclosureResponse(ReadResponse):
    """One record a cleared reader was shown; rows of one read share a `read_id`."""

    id: int
    read_id: str
    at: str
    user: str | None
    role: str | None
    endpoint: str
    kind: str
    record_id: str | None
    crisis_id: str | None
    level: str | None
    legal_basis: str | None
    marking: str | None
    originator: str | None
    exercise: bool = Field(False, description="The record's crisis was declared as an exercise.")


class DisclosurePageResponse(ReadResponse):
    disclosures: list[DisclosureResponse]
    next_after: int | None
