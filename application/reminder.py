"""The reminder use cases (recording notices and delivery results, acknowledging, settling), mixed into the
Coordination; who had been told of what by a moment (for auditors); and the sender the `valmius remind` process
runs: each tick it reads the deadlines read model (application.projections.deadlines), records the notices due
(first), delivers what is recorded and not delivered (a notice recorded before a crash is resumed), and records
each result.

Recording is exactly once: a notice is one step of its reminder's ladder, and the store takes each version of a
reminder once, so a second sender's attempt is refused (NOTICE_RECORDED) and skipped. Delivery is at least once:
a notice is delivered only after it is recorded, its result recorded after it is sent, so a crash between the
send and the record sends it again on restart (with the same Message-ID / delivery id, so the receiver can tell).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from application.backoff import doubling
from application.ports import Store
from application.audit.refusals import reminder_target
from application.projections import deadlines as deadlines_model
from application.projections.deadlines import Deadline
from domain.access import Actor, authorise
from domain.reminder import AT, BEFORE, DUTY_OFFICER, MANAGER, Ladder, Reminder, Step, reminder_id
from domain.shared import DomainError, N_, Rule, display

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object

log = logging.getLogger("valmius.remind")
MET_STATUSES = frozenset({"COMPLETED", "REVIEWED", "ANSWERED"})


class ReminderUseCases(UseCases):
    def load_reminder(self, rid: str) -> Reminder:
        return self._load(Reminder, Reminder.id_for(rid), N_("reminder {reminder_id}", reminder_id=rid))

    def record_reminder_notice(self, actor: Actor, deadline: Deadline, step: Step, recipients: list[dict[str, Any]]) -> int:
        """Record the notice of `step` of the deadline's reminder (opened by its first notice)."""
        rid = reminder_id(deadline.key)

        def attempt(now: datetime) -> list[Reminder]:
            try:
                reminder = self.load_reminder(rid)
            except DomainError as missing:
                if missing.rule is not Rule.NOT_FOUND:
                    raise
                reminder = Reminder.open(
                    deadline=deadline.key, deadline_kind=deadline.kind, crisis_id=deadline.crisis_id, ref=deadline.ref,
                    unit=deadline.unit, due_at=deadline.due_at, actor=actor.user, now=now,
                )
            reminder.record_notice(step=step, recipients=recipients, actor=actor, now=now)
            return [reminder]

        payload = {"reminder_id": rid, "notice": step.number}
        return self._run("send_reminders", actor, reminder_target(rid), payload, attempt)[0].version

    def record_reminder_delivery(self, actor: Actor, rid: str, **result: Any) -> int:
        """Record the result of one attempt to deliver a notice to one recipient by one channel."""
        payload = {"reminder_id": rid, "notice": result["notice"], "recipient": result["recipient"], "channel": result["channel"]}
        return self._command("send_reminders", actor, reminder_target(rid), lambda: self.load_reminder(rid), None, payload,
                             lambda reminder, now: reminder.record_delivery(**result, actor=actor, now=now))

    def settle_reminder(self, actor: Actor, rid: str, reason: str) -> int:
        return self._command("send_reminders", actor, reminder_target(rid), lambda: self.load_reminder(rid), None,
                             {"reminder_id": rid, "reason": reason},
                             lambda reminder, now: reminder.settle(reason=reason, actor=actor, now=now))

    def acknowledge_reminder(self, actor: Actor, rid: str, *, expected_version: int | None = None) -> int:
        """A recipient has it in hand: the reminder escalates no further."""
        return self._command("acknowledge_reminder", actor, reminder_target(rid), lambda: self.load_reminder(rid),
                             expected_version, {"reminder_id": rid},
                             lambda reminder, now: reminder.acknowledge(actor=actor, now=now))

    # --- reads ---------------------------------------------------------------------------------------

    def get_reminder(self, actor: Actor, rid: str) -> list[Reminder.Event]:
        """A reminder's events: its notices, their deliveries, its acknowledgement, settled."""
        authorise(actor, "list_reminders")
        self.load_reminder(rid)
        return list(self.events.get(Reminder.id_for(rid)))

    def list_reminders(self, actor: Actor, store: Store, limit: int) -> list[dict[str, Any]]:
        """Reminders not settled, by due time (the deadlines read model)."""
        authorise(actor, "list_reminders")
        return [deadlines_model.presented(row) for row in deadlines_model.open_reminders(store, limit)]

    def reminders_known_at(self, actor: Actor, rids: list[str], at: datetime) -> list[Reminder.Event]:
        """Who had been told of what by `at`: the notices and delivery results (and acknowledgements) recorded by
        then, of the reminders named (auditors)."""
        authorise(actor, "get_reminders_at")
        told = []
        for rid in rids:
            for event in self.events.get(Reminder.id_for(rid)):
                if event.recorded_at > at:
                    break
                if isinstance(event, (Reminder.NoticeRecorded, Reminder.DeliveryRecorded, Reminder.Acknowledged)):
                    told.append(event)
        return sorted(told, key=lambda event: event.recorded_at)


# --- the sender ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What a channel sends: structure only (never a record's text), with a stable id per notice and recipient."""

    message_id: str
    subject: str
    body: dict[str, Any]


class DeliveryFailed(Exception):
    """One attempt failed; `reason` says why in one line (no secret in it)."""


class Channel(Protocol):
    name: str

    def send(self, address: str, message: Message) -> None:
        """Deliver, or raise DeliveryFailed (or an OSError)."""
        ...


@dataclass(frozen=True)
class Contacts:
    """Addresses by person (user name) and by unit: {"people": {"DO-1": {"email": …, "webhook": …}}, "units": …}."""

    people: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    units: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def of(self, recipient: str, as_: str) -> Mapping[str, str]:
        return (self.units if as_ == "UNIT" else self.people).get(recipient, {})


def message_id(rid: str, notice: int, recipient: str) -> str:
    """The same for every resend of a notice to a recipient: a receiver recognises a resend after a crash."""
    digest = hashlib.sha256(f"{rid}\n{notice}\n{recipient}".encode()).hexdigest()[:24]
    return f"<{digest}.{notice}@valmius.reminder>"


@dataclass
class Sender:
    """One tick at a time: record the notices due, deliver what is undelivered, settle what went away."""

    app: Any  # the Coordination
    store: Store
    ladder: Ladder
    contacts: Contacts
    channels: Mapping[str, Channel]
    actor: Actor
    link_base: str = ""
    attempts: int = 5  # tries per delivery (each recorded), then given up
    first_retry: float = 0.5  # seconds before the second try, doubled after each failure …
    max_retry: float = 30.0  # … up to this
    sleep: Callable[[float], None] = time.sleep

    def tick(self) -> dict[str, int]:
        """Record, deliver, settle: what was done, counted."""
        now = self.app.now()
        done = {"recorded": 0, "delivered": 0, "failed": 0, "settled": 0}
        standing = {reminder_id(d.key): d for d in deadlines_model.open_deadlines(self.store, self.app.policy)}
        touched: set[str] = set()
        for rid, deadline in standing.items():
            if self._record_due(rid, deadline, now):
                done["recorded"] += 1
                touched.add(rid)
        for row in deadlines_model.open_reminders(self.store, limit=100_000):
            if row["reminder_id"] not in standing:
                self._settle(row, done)
        for rid in sorted(touched | set(deadlines_model.unfinished_deliveries(self.store))):
            self._deliver(rid, done)
        return done

    def _record_due(self, rid: str, deadline: Deadline, now: datetime) -> bool:
        try:
            reminder = self.app.load_reminder(rid)
        except DomainError:
            reminder = None
        if reminder is not None and (reminder.acknowledged_by is not None or reminder.settled is not None):
            return False
        step = self.ladder.due(deadline.due_at, reminder.step if reminder else 0, now)
        if step is None:
            return False
        recipients = self.recipients(step, deadline)
        try:
            self.app.record_reminder_notice(self.actor, deadline, step, recipients)
        except DomainError as skipped:
            if skipped.rule in (Rule.NOTICE_RECORDED, Rule.ALREADY_ACKNOWLEDGED, Rule.REMINDER_SETTLED):
                log.info("reminder %s step %s: %s (another sender, or a recipient, was first)", rid, step.number, skipped.rule)
                return False
            raise
        log.info("reminder %s: notice %s (%s) recorded for %s", rid, step.number, step.stage,
                 ", ".join(r["recipient"] for r in recipients) or "nobody")
        return True

    def recipients(self, step: Step, deadline: Deadline) -> list[dict[str, Any]]:
        """Who a step tells: who is responsible (the unit; the police coordinator on duty, for a police request
        unanswered), else the duty officer on duty, before the deadline; the responsible and the duty officer
        at it; then the duty officer on duty; then the preparedness manager on call. A position's holder is the
        one holding it now; a vacant position tells nobody (and says so in the log)."""
        found: list[dict[str, Any]] = []

        def add(recipient: str | None, as_: str) -> bool:
            if recipient is None:
                log.warning("reminder for %s: nobody holds %s", deadline.key, as_)
                return False
            channels = [name for name in ("email", "webhook") if self.contacts.of(recipient, as_).get(name)]
            if not channels:
                log.warning("reminder for %s: no address for %s (%s)", deadline.key, recipient, as_)
            found.append({"recipient": recipient, "as": as_, "channels": channels})
            return True

        told = False
        if step.stage in (BEFORE, AT) and deadline.unit:
            told = add(deadline.unit, "UNIT")
        elif step.stage in (BEFORE, AT) and deadline.kind == "POLICE_REQUEST":
            told = add(self._holder("POLICE_COORDINATOR"), "POLICE_COORDINATOR")
        if (step.stage == BEFORE and not told) or step.stage in (AT, DUTY_OFFICER):
            add(self._holder("DUTY_OFFICER"), "DUTY_OFFICER")
        if step.stage == MANAGER:
            add(self._holder("PREPAREDNESS_MANAGER"), "PREPAREDNESS_MANAGER")
        return found

    def _holder(self, code: str) -> str | None:
        try:
            return self.app.load_position(code).holder
        except DomainError:
            return None

    def _settle(self, row: dict[str, Any], done: dict[str, int]) -> None:
        rows = self.store.query("SELECT crisis_id, status FROM rm_deadlines WHERE kind = %s AND ref = %s",
                                (row["deadline_kind"], row["ref"])) if row["ref"] else []
        met = row["deadline_kind"] == "SITUATION_REPORT" or any(
            r["status"] in MET_STATUSES and r["crisis_id"] in (row["crisis_id"], None) for r in rows)
        try:
            self.app.settle_reminder(self.actor, row["reminder_id"], "MET" if met else "GONE")
        except DomainError as skipped:
            if skipped.rule is not Rule.REMINDER_SETTLED:
                raise
            return
        done["settled"] += 1
        log.info("reminder %s settled (%s)", row["reminder_id"], "MET" if met else "GONE")

    def _deliver(self, rid: str, done: dict[str, int]) -> None:
        reminder = self.app.load_reminder(rid)
        for notice, recipient, channel_name, delivery in reminder.pending():
            as_ = next(r["as"] for r in reminder.notices[notice] if r["recipient"] == recipient)
            stage = self._stage(reminder, notice)
            message = self.message(reminder, notice, recipient, stage)
            address = self.contacts.of(recipient, as_).get(channel_name)
            channel = self.channels.get(channel_name)
            attempt = delivery.attempts
            while True:
                attempt += 1
                reason = None
                if address is None or channel is None:
                    reason = f"no {channel_name} address or channel for {recipient}"
                else:
                    try:
                        channel.send(address, message)
                    except (DeliveryFailed, OSError) as failed:
                        reason = (str(failed).splitlines() or [type(failed).__name__])[0][:300] or type(failed).__name__
                last = reason is not None and (attempt >= self.attempts or address is None or channel is None)
                try:
                    self.app.record_reminder_delivery(
                        self.actor, rid, notice=notice, recipient=recipient, channel=channel_name, delivered=reason is None,
                        reason=reason, attempt=attempt, gave_up=last, message_id=message.message_id,
                    )
                except DomainError as skipped:
                    if skipped.rule is Rule.DELIVERY_RECORDED:
                        break  # another sender recorded it
                    raise
                if reason is None:
                    done["delivered"] += 1
                    log.info("reminder %s notice %s (%s) delivered to %s by %s, attempt %s, %s", rid, notice, stage,
                             recipient, channel_name, attempt, message.message_id)
                    break
                done["failed"] += 1
                log.warning("reminder %s notice %s to %s by %s failed, attempt %s: %s", rid, notice, recipient,
                            channel_name, attempt, reason)
                if last:
                    break
                self.sleep(doubling(attempt - 1, self.first_retry, self.max_retry))

    @staticmethod
    def _stage(reminder: Reminder, notice: int) -> str:
        return Ladder().step(notice, reminder.due_at).stage  # a step's stage follows from its number alone

    def message(self, reminder: Reminder, notice: int, recipient: str, stage: str) -> Message:
        """The notice as sent: kinds, ids, unit, due time, a link; never a record's text."""
        body = {
            "delivery_id": message_id(reminder.reminder_id, notice, recipient),
            "reminder_id": reminder.reminder_id,
            "notice": notice,
            "stage": stage,
            "kind": reminder.deadline_kind,
            "crisis_id": reminder.crisis_id,
            "ref": reminder.ref,
            "unit": reminder.unit,
            "due_at": display(reminder.due_at),
            "recipient": recipient,
            "link": f"{self.link_base}/reminders/{reminder.reminder_id}",
        }
        what = " ".join(str(part) for part in (reminder.deadline_kind, reminder.crisis_id, reminder.ref) if part)
        subject = f"[Valmius] {stage}: {what} due {display(reminder.due_at)}"
        return Message(body["delivery_id"], subject, body)
