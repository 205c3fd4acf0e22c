"""ReceivedAlert: a CAP 1.2 alert another authority sent us (a weather warning, an Amber alert), kept as received.

One record per alert, its id derived from what names an alert in CAP, (sender, identifier, sent): the same
alert taken twice, even by two takers at once, is the same record, and the store's uniqueness of (record,
version) keeps the second out. It is RECEIVED content (Act on the Openness of Government Activities): its
originator is the CAP sender, its marking says the alert's scope; an uncleared reader sees that it exists, its
times, codes and state, never its texts.

A duty officer links an alert to a crisis (and may unlink it). A later alert of the same sender referring to it
follows it: an Update supersedes it, a Cancel (or an Error) cancels it. A CAP sender is only what the document
says, so a feed speaks for the alerts it brought, not for every sender it names: an alert taken from a feed follows
the alerts that came through the same channel (`channel_of`: the feed's origin, or its folder) and those a person
took (posted, or taken from a file: the feed brings what the person stood in for), never those another feed
brought; one a person took follows any, that person vouching for it. A feed claiming another feed's sender cannot
end its warnings. The aggregate keeps what those rules need;
the texts live in the `Received` event, and `AlertRecord` folds them for reading.
"""

from __future__ import annotations

import hashlib
import posixpath
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from domain.record import Folded, Record
from domain.shared import Classification, DomainError, N_, Rule, display

IN_FORCE, SUPERSEDED, CANCELLED = "IN_FORCE", "SUPERSEDED", "CANCELLED"
FOLLOWING = {"Update": SUPERSEDED, "Cancel": CANCELLED, "Error": CANCELLED}  # msgType -> what it does to its references
FOLLOWED = {"Superseded": SUPERSEDED, "Cancelled": CANCELLED}  # the event -> the state it leaves


@dataclass(frozen=True)
class Alert:
    """A CAP 1.2 alert as read from its document (interfaces.cap.alerts_in): what is kept of it."""

    sender: str
    identifier: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    references: tuple[tuple[str, str, datetime], ...]
    infos: tuple[dict[str, Any], ...]
    digest: str
    document: str
    restriction: str | None = None
    expires: datetime | None = field(default=None)

    @property
    def alert_id(self) -> str:
        return alert_id_for(self.sender, self.identifier, self.sent)

    def referred(self) -> list[str]:
        """The ids of the alerts of its own sender it refers to (another sender's alerts it does not follow)."""
        return [alert_id_for(*reference) for reference in self.references if reference[0] == self.sender]


def alert_id_for(sender: str, identifier: str, sent: datetime) -> str:
    """The record id of the alert CAP names by (sender, identifier, sent): the same instant written with another
    offset is the same alert. An id of ours (`cap-` and 32 hex digits), as CAP identifiers may hold anything."""
    key = f"{sender}\n{identifier}\n{sent.astimezone(timezone.utc).isoformat()}"
    return "cap-" + hashlib.sha256(key.encode()).hexdigest()[:32]


PEOPLE = "people"


def channel_of(source: str) -> str:
    """Through what an alert with `source` came (module docstring): the origin of a URL (a feed and the documents
    it links), the folder a follower read, or PEOPLE for one posted over HTTP or taken from a named file."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    folder = posixpath.dirname(source)
    return f"folder {folder}" if folder else PEOPLE


def classification_for(alert: Alert) -> Classification:
    """RECEIVED, from the CAP sender, marked with the alert's scope (and restriction, for a Restricted one)."""
    marking = f"CAP {alert.scope}" + (f": {alert.restriction}" if alert.restriction else "")
    return Classification.of("RECEIVED", marking=marking[:200], originator=alert.sender)


def headline_of(infos: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """What names the alert in a list: its first info's event, headline, urgency, severity and certainty."""
    first = infos[0] if infos else {}
    return {name: first.get(name) for name in ("event", "headline", "urgency", "severity", "certainty")}


class ReceivedAlert(Record):
    kind, key = "received-alert", "alert_id"

    class Event(Record.Event):
        alert_id: str

    class Received(Event, Record.Created):
        alert_id: str
        sender: str
        identifier: str
        sent: datetime
        status: str
        msg_type: str
        scope: str
        restriction: str | None
        references: list[str]  # the ids of the alerts it refers to (of its own sender)
        infos: list[dict[str, Any]]
        expires: datetime | None
        digest: str
        document: str
        source: str  # where it came from: "http", a feed's URL, a file's name
        classification: Classification

        def apply(self, alert: ReceivedAlert) -> None:
            alert.alert_id = self.alert_id
            alert.sender = self.sender
            alert.sent = self.sent
            alert.msg_type = self.msg_type
            alert.classification = self.classification
            alert.headline = headline_of(self.infos)
            alert.state = IN_FORCE
            alert.crisis_id = None
            alert.channel = channel_of(self.source)

        def summary(self) -> str:
            return N_("alert from {sender} received by {actor}", sender=self.sender, actor=self.actor)

    class LinkedToCrisis(Event):
        crisis_id: str
        headline: dict[str, Any]  # the alert's event, headline and codes, for the crisis's timeline
        classification: Classification

        def apply(self, alert: ReceivedAlert) -> None:
            alert.crisis_id = self.crisis_id

        def summary(self) -> str:
            return N_("alert linked to crisis {crisis_id} by {actor}", crisis_id=self.crisis_id, actor=self.actor)

    class Unlinked(Event):
        crisis_id: str
        reason: str | None
        classification: Classification

        def apply(self, alert: ReceivedAlert) -> None:
            alert.crisis_id = None

        def summary(self) -> str:
            return N_("alert unlinked from crisis {crisis_id} by {actor}", crisis_id=self.crisis_id, actor=self.actor)

    class Ended(Event):
        """Base of Superseded and Cancelled: what a later alert referring to it did to it."""

        by_alert_id: str

        def apply(self, alert: ReceivedAlert) -> None:
            alert.state = FOLLOWED[type(self).__name__]

    class Superseded(Ended):
        def summary(self) -> str:
            return N_("alert superseded by {by_alert_id}", by_alert_id=self.by_alert_id)

    class Cancelled(Ended):
        def summary(self) -> str:
            return N_("alert cancelled by {by_alert_id}", by_alert_id=self.by_alert_id)

    @classmethod
    def receive(cls, alert: Alert, *, source: str, actor: str, now: datetime) -> ReceivedAlert:
        return cls._create(
            cls.Received,
            id=cls.id_for(alert.alert_id),
            alert_id=alert.alert_id,
            sender=alert.sender,
            identifier=alert.identifier,
            sent=alert.sent,
            status=alert.status,
            msg_type=alert.msg_type,
            scope=alert.scope,
            restriction=alert.restriction,
            references=alert.referred(),
            infos=[dict(info) for info in alert.infos],
            expires=alert.expires,
            digest=alert.digest,
            document=alert.document,
            source=source,
            classification=classification_for(alert),
            actor=actor,
            recorded_at=now,
        )

    def link_to_crisis(self, crisis_id: str, *, actor: str, now: datetime) -> None:
        """Link to a crisis (the application has found it, and open); one crisis at a time."""
        if self.crisis_id == crisis_id:
            raise DomainError(Rule.INVALID_TRANSITION, "the alert is already linked to crisis {crisis_id}", {"crisis_id": crisis_id})
        if self.crisis_id is not None:
            raise DomainError(
                Rule.INVALID_TRANSITION, "the alert is linked to crisis {linked}; unlink it first", {"linked": self.crisis_id}
            )
        self.trigger_event(
            self.LinkedToCrisis, crisis_id=crisis_id, headline=self.headline, classification=self.classification,
            actor=actor, recorded_at=now,
        )

    def unlink(self, *, reason: str | None, actor: str, now: datetime) -> None:
        if self.crisis_id is None:
            raise DomainError(Rule.INVALID_TRANSITION, "the alert is linked to no crisis")
        self.trigger_event(
            self.Unlinked, crisis_id=self.crisis_id, reason=reason, classification=self.classification,
            actor=actor, recorded_at=now,
        )

    def follow(self, later: Alert, *, source: str, actor: str, now: datetime) -> bool:
        """What a later alert of the same sender referring to this one, taken from `source`, does to it: an
        Update supersedes it, a Cancel or an Error cancels it (a superseded one too); nothing to a cancelled one,
        nor for an Ack, nor from another feed than the one this came through (module docstring). Whether it
        changed."""
        state = FOLLOWING.get(later.msg_type)
        if state is None or self.state == CANCELLED or self.state == state or later.sent < self.sent:
            return False
        if PEOPLE not in (self.channel, channel_of(source)) and channel_of(source) != self.channel:
            return False
        event = self.Superseded if state == SUPERSEDED else self.Cancelled
        self.trigger_event(event, by_alert_id=later.alert_id, actor=actor, recorded_at=now)
        return True


ENTITY_CLASSES: tuple[type, ...] = ()


class AlertRecord(Folded):
    """An alert as readers are shown it, folded from its events."""

    def __init__(self) -> None:
        self.version = 0
        self.alert_id = ""
        self.fields: dict[str, Any] = {}
        self.classification: Classification | None = None
        self.state = IN_FORCE
        self.by_alert_id: str | None = None
        self.crisis_id: str | None = None
        self.links: list[dict[str, Any]] = []

    def apply(self, event: Any) -> None:
        self.version = event.originator_version
        if isinstance(event, ReceivedAlert.Received):
            self.alert_id = event.alert_id
            self.classification = event.classification
            self.fields = {
                name: getattr(event, name)
                for name in ("sender", "identifier", "sent", "status", "msg_type", "scope", "restriction",
                             "references", "infos", "expires", "digest", "document", "source", "recorded_at", "actor")
            }
        elif isinstance(event, ReceivedAlert.LinkedToCrisis):
            self.crisis_id = event.crisis_id
            self.links.append({"crisis_id": event.crisis_id, "linked_by": event.actor,
                               "linked_at": display(event.recorded_at, seconds=True), "unlinked_at": None,
                               "unlinked_by": None, "reason": None})
        elif isinstance(event, ReceivedAlert.Unlinked):
            self.crisis_id = None
            self.links[-1].update(unlinked_at=display(event.recorded_at, seconds=True), unlinked_by=event.actor,
                                  reason=event.reason)
        elif isinstance(event, ReceivedAlert.Ended):
            self.state = FOLLOWED[type(event).__name__]
            self.by_alert_id = event.by_alert_id
