"""Requests and responses of received CAP alerts: the document itself, linking, the alert and the watch list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ConfigDict, Field

from domain.access import Actor
from domain.received_alert import AlertRecord, alert_id_for
from domain.secrecy import redact
from domain.shared import Policy
from interfaces.cap import CAP_MEDIA_TYPE, EXAMPLE_PATH
from interfaces.cap.alerts_in import MAX_DOCUMENT_BYTES, read_alert
from interfaces.http.schemas.common import CommandRequest, Id, Text, time_out
from interfaces.http.schemas.read_models import Label, ReadResponse, Record

# The example of the CAP body: a wind warning shaped as the Finnish Meteorological Institute sends them (in short:
# one language, a polygon); the id of the alert it makes is the path parameters' example.
EXAMPLE_DOCUMENT = EXAMPLE_PATH.read_text(encoding="utf-8")
EXAMPLE_ALERT = read_alert(EXAMPLE_DOCUMENT.encode())
EXAMPLE_ALERT_ID = alert_id_for(EXAMPLE_ALERT.sender, EXAMPLE_ALERT.identifier, EXAMPLE_ALERT.sent)
ACCEPTED_TYPES = (CAP_MEDIA_TYPE, "application/xml", "text/xml")

CAP_BODY: dict[str, Any] = {  # the operation's request body, as the OpenAPI document shows it
    "required": True,
    "description": "A CAP 1.2 alert (OASIS), as its sender published it, at most "
    f"{MAX_DOCUMENT_BYTES // 1024} KiB; also taken as application/xml or text/xml.",
    "content": {CAP_MEDIA_TYPE: {
        "schema": {"type": "string", "maxLength": MAX_DOCUMENT_BYTES}, "example": EXAMPLE_DOCUMENT,
    }},
}


class LinkReceivedAlertRequest(CommandRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"crisis_id": "C-S1"}]})

    crisis_id: Id = Field(examples=["C-S1"], description="The crisis the alert concerns; it exists and is open.")


class UnlinkReceivedAlertRequest(CommandRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "linked to the wrong crisis"}]})

    reason: Text | None = Field(None, examples=["linked to the wrong crisis"])


class AlertShown(Record):
    """What names a received alert wherever it is shown: who sent it and when, its codes and state are shown to
    every reader; what it says only to cleared readers of RECEIVED content."""

    record_kind = "received_alert"
    record_id = "alert_id"

    alert_id: str
    sender: str
    identifier: str
    sent: str | None
    status: str
    msg_type: str
    scope: str
    expires: str | None = Field(description="The latest expiry of its infos; none: in force until superseded or "
                                "cancelled.")
    received_at: str | None
    state: str = Field(description="`IN_FORCE`, `SUPERSEDED` (by an update) or `CANCELLED` (by a cancel).")


class ReceivedAlertResponse(AlertShown):
    """A received CAP alert whole: each info's texts and areas, and the document as received, to cleared readers."""

    version: int
    restriction: str | None
    references: list[str] = Field(description="The ids of the alerts of the same sender it refers to.")
    digest: str = Field(description="SHA-256 of the document as received.")
    source: str = Field(description="Where it came from: `http`, a feed's URL or a file's name.")
    received_by: str
    by_alert_id: str | None = Field(description="The alert that superseded or cancelled it.")
    crisis_id: str | None = Field(description="The crisis it is linked to.")
    linked_to_exercise: bool = Field(False, description="Linked to a crisis declared as an exercise, which the real "
                                     "picture does not name: `crisis_id` is then null.")
    links: list[dict[str, Any]] = Field(description="Each linking to a crisis: by whom and when, and its unlinking.")
    infos: list[dict[str, Any]] | Label
    document: str | None


class WatchedAlertResponse(AlertShown):
    """An alert on the watch list: its first info's event, headline and codes, its languages and areas."""

    languages: list[str | None]
    urgency: str | None
    severity: str | None
    certainty: str | None
    event: str | None
    headline: str | None
    areas: list[str] | Label | None


class ReceivedAlertWatchListResponse(ReadResponse):
    at: str
    alerts: list[WatchedAlertResponse]
    next: str | None = Field(None, description="The cursor of the next page (`after=`); absent on the last page.")


def present_alert(
    alert: AlertRecord, actor: Actor, policy: Policy, is_exercise: Callable[[str], bool] = lambda crisis_id: False
) -> ReceivedAlertResponse:
    """The alert for `actor`; its links to crises declared as exercises (`is_exercise`) are not shown (the real
    picture names no exercise): `linked_to_exercise` says it is linked to one now."""
    assert alert.classification is not None
    names, cleared, given = policy.units.short_names, actor.clearance, alert.fields
    exercises = {c for c in {alert.crisis_id, *(link.get("crisis_id") for link in alert.links)} if c and is_exercise(c)}
    links = [redact("received_alert", alert.classification, cleared, names, **link) for link in alert.links
             if link.get("crisis_id") not in exercises]
    return ReceivedAlertResponse(**redact(
        "received_alert", alert.classification, cleared, names,
        alert_id=alert.alert_id,
        version=alert.version,
        sender=given["sender"],
        identifier=given["identifier"],
        sent=time_out(given["sent"]),
        status=given["status"],
        msg_type=given["msg_type"],
        scope=given["scope"],
        restriction=given["restriction"],
        references=given["references"],
        expires=time_out(given["expires"]),
        digest=given["digest"],
        source=given["source"],
        received_at=time_out(given["recorded_at"]),
        received_by=given["actor"],
        state=alert.state,
        by_alert_id=alert.by_alert_id,
        crisis_id=None if alert.crisis_id in exercises else alert.crisis_id,
        links=[{k: v for k, v in link.items() if k not in ("classification", "redacted")} for link in links],
        infos=given["infos"],
        document=given["document"],
    ), linked_to_exercise=alert.crisis_id in exercises)
