"""The received alert use cases: taking in a CAP 1.2 alert, linking it to a crisis and unlinking it (those who
run crises), reading it; mixed into the Coordination.

An alert is taken once: its record's id derives from (sender, identifier, sent), so a second taking is refused
(ALREADY_EXISTS), and two takers at once are kept apart by the store (one's write is refused, it runs again and
finds the alert taken). A document that is not a CAP 1.2 alert is refused (INVALID_CAP, with the reason the
reader gave) and kept as a refused attempt for auditors, its digest and where it came from with it; nothing is
stored. The alerts a new one refers to, of its own sender and held here, are superseded or cancelled in the
same save, if it came through the same feed as they did or was taken by a person (domain.received_alert).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from domain.access import Actor, authorise
from domain.received_alert import Alert, AlertRecord, ReceivedAlert
from domain.shared import DomainError, N_, Rule, display

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object

Reader = Callable[[bytes], Alert]  # reads a document into an alert, or raises ValueError naming why it is none


class ReceivedAlertUseCases(UseCases):
    def take_received_alert(self, actor: Actor, document: bytes, read: Reader, *, source: str) -> tuple[str, int]:
        """Take in the alert `document` holds (read by `read`), from `source`; its record's id and version."""
        given = {"source": source, "digest": hashlib.sha256(document).hexdigest(), "bytes": len(document)}
        try:
            authorise(actor, "take_received_alert")  # before the document is read
            try:
                alert = read(document)
            except ValueError as error:
                raise DomainError(Rule.INVALID_CAP, "not a CAP 1.2 alert: {reason}", {"reason": str(error)}) from None
        except DomainError as refused:
            self.record_refusal("take_received_alert", actor, source, given, refused)
            raise

        def attempt(now: datetime) -> list[Aggregate]:
            if ReceivedAlert.id_for(alert.alert_id) in self.repository:
                raise DomainError(
                    Rule.ALREADY_EXISTS,
                    "alert {identifier} of {sender} sent {sent} was received already, as {alert_id}",
                    {"identifier": alert.identifier, "sender": alert.sender, "sent": display(alert.sent, seconds=True),
                     "alert_id": alert.alert_id},
                    alert_id=alert.alert_id,
                )
            taken = ReceivedAlert.receive(alert, source=source, actor=actor.user, now=now)
            followed = []
            for alert_id in dict.fromkeys(alert.referred()):
                if ReceivedAlert.id_for(alert_id) not in self.repository:
                    continue  # an alert we never took: nothing of ours to follow
                earlier = self.load_received_alert(alert_id)
                if earlier.follow(alert, source=source, actor=actor.user, now=now):
                    followed.append(earlier)
            return [taken, *followed]

        saved = self._run("take_received_alert", actor, alert.alert_id, {**given, "alert_id": alert.alert_id}, attempt)
        return alert.alert_id, saved[0].version

    def has_received_alert(self, alert_id: str) -> bool:
        return ReceivedAlert.id_for(alert_id) in self.repository

    def load_received_alert(self, alert_id: str) -> ReceivedAlert:
        return self._load(ReceivedAlert, ReceivedAlert.id_for(alert_id), N_("received alert {alert_id}", alert_id=alert_id))

    def link_received_alert(
        self, actor: Actor, alert_id: str, *, crisis_id: str, expected_version: int | None = None
    ) -> int:
        """Link the alert to a crisis, which must exist and be open: it shows on the crisis's timeline and leaves
        the watch list."""

        def change(alert: ReceivedAlert, now: datetime) -> None:
            self.load_crisis(crisis_id).check_open()
            alert.link_to_crisis(crisis_id, actor=actor.user, now=now)

        return self._command(
            "link_received_alert", actor, alert_id, lambda: self.load_received_alert(alert_id), expected_version,
            {"crisis_id": crisis_id}, change,
        )

    def unlink_received_alert(
        self, actor: Actor, alert_id: str, *, reason: str | None = None, expected_version: int | None = None
    ) -> int:
        """Take the alert off its crisis (linked by mistake): back on the watch list while in force."""

        def change(alert: ReceivedAlert, now: datetime) -> None:
            alert.unlink(reason=reason, actor=actor.user, now=now)

        return self._command(
            "unlink_received_alert", actor, alert_id, lambda: self.load_received_alert(alert_id), expected_version,
            self._given(reason=reason), change,
        )

    def get_received_alert(self, actor: Actor, alert_id: str) -> AlertRecord:
        authorise(actor, "get_received_alert")
        record = AlertRecord.of(self.events.get(ReceivedAlert.id_for(alert_id)))
        if not record.version:
            raise DomainError(Rule.NOT_FOUND, "there is no received alert {alert_id}", {"alert_id": alert_id})
        return record
