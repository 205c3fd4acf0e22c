"""Responses of reminders: open ones, one with its notices, deliveries and acknowledgement, and who had been told
of what by a moment (auditors). Structure only: kinds, ids, units, times, who, by which channel."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.reminder import Reminder
from domain.shared import display


class ReminderSummaryResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_id: str = Field(examples=["ACTION.C-1.A-1.20261206T010000Z"])
    deadline_kind: str = Field(description="ACTION, SITUATION_REPORT, DECISION_REVIEW or POLICE_REQUEST.")
    crisis_id: str | None
    ref: str | None = Field(description="The action, decision or police request; null for a situation report.")
    unit: str | None
    due_at: str
    notices: int = Field(description="The last step of the ladder recorded (1 before, 2 at, 3 the duty officer, 4… the manager).")
    acknowledged_by: str | None
    acknowledged_at: str | None


class RemindersResponse(BaseModel):
    """Reminders not settled, by due time."""

    model_config = ConfigDict(extra="forbid")

    reminders: list[ReminderSummaryResponse]
    cut: dict[str, int] | None = None


class DeliveryResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_id: str | None = Field(None, description="Named in the auditors' answer, which lists every reminder's.")
    notice: int
    recipient: str
    channel: str
    attempt: int
    delivered: bool
    gave_up: bool
    reason: str | None
    message_id: str
    at: str


class NoticeResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notice: int
    stage: str
    round: int
    recipients: list[dict[str, Any]] = Field(description='Each {"recipient", "as" (UNIT or a position), "channels"}.')
    at: str


class ReminderResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reminder_id: str
    deadline: str
    deadline_kind: str
    crisis_id: str | None
    ref: str | None
    unit: str | None
    due_at: str
    notices: list[NoticeResponse]
    deliveries: list[DeliveryResponse]
    acknowledged_by: str | None
    acknowledged_at: str | None
    settled: str | None = Field(description="MET or GONE once the deadline was met or went away; null while open.")
    version: int
    cut: dict[str, int] | None = None


class RemindersAsKnownResponse(BaseModel):
    """Who had been told of what by `as_of`: the notices, delivery results and acknowledgements recorded by then."""

    model_config = ConfigDict(extra="forbid")

    as_of: str
    notices: list[dict[str, Any]]
    deliveries: list[DeliveryResponse]
    acknowledgements: list[dict[str, Any]]
    cut: dict[str, int] | None = None


def present_notice(event: Reminder.NoticeRecorded) -> dict[str, Any]:
    return {"notice": event.notice, "stage": event.stage, "round": event.round, "recipients": event.recipients,
            "at": display(event.recorded_at, seconds=True)}


def present_delivery(event: Reminder.DeliveryRecorded) -> dict[str, Any]:
    return {"notice": event.notice, "recipient": event.recipient, "channel": event.channel, "attempt": event.attempt,
            "delivered": event.delivered, "gave_up": event.gave_up, "reason": event.reason,
            "message_id": event.message_id, "at": display(event.recorded_at, seconds=True)}


def present_reminder(events: list[Any]) -> dict[str, Any]:
    opened = events[0]
    answer: dict[str, Any] = {
        "reminder_id": opened.reminder_id, "deadline": opened.deadline, "deadline_kind": opened.deadline_kind,
        "crisis_id": opened.crisis_id, "ref": opened.ref, "unit": opened.unit, "due_at": display(opened.due_at),
        "notices": [], "deliveries": [], "acknowledged_by": None, "acknowledged_at": None, "settled": None,
        "version": events[-1].originator_version,
    }
    for event in events[1:]:
        if isinstance(event, Reminder.NoticeRecorded):
            answer["notices"].append(present_notice(event))
        elif isinstance(event, Reminder.DeliveryRecorded):
            answer["deliveries"].append(present_delivery(event))
        elif isinstance(event, Reminder.Acknowledged):
            answer["acknowledged_by"], answer["acknowledged_at"] = event.by, display(event.occurred_at, seconds=True)
        elif isinstance(event, Reminder.Settled):
            answer["settled"] = event.reason
    return answer


def present_known(events: list[Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        "notices": [{"reminder_id": e.reminder_id, **present_notice(e)} for e in events if isinstance(e, Reminder.NoticeRecorded)],
        "deliveries": [present_delivery(e) | {"reminder_id": e.reminder_id} for e in events if isinstance(e, Reminder.DeliveryRecorded)],
        "acknowledgements": [{"reminder_id": e.reminder_id, "by": e.by, "role": e.role, "at": display(e.occurred_at, seconds=True)}
                             for e in events if isinstance(e, Reminder.Acknowledged)],
    }
