"""Reminders that escalate until someone acknowledges them: one Reminder per deadline derived from the log (an
action due, a situation report due, a decision's review due, a police request unanswered past the threshold).

A reminder's steps follow the ladder (a setting): a notice BEFORE the deadline, one AT it, then ESCALATED to the
duty officer on duty, then ESCALATED to the preparedness manager on call, repeated to the manager until someone
acknowledges. Every step is an event: a notice naming its recipients (a unit, or the person holding a position at
that moment) and their channels; each delivery result (delivered, or failed with its reason, attempt n); the
acknowledgement (who, when); settled (the deadline was met or went away: no further notices). "Who had been told
of what by T" is read from these events. A notice carries structure only (kind, ids, unit, due time): e-mail goes
to people without clearance, so no record's text is ever in it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.access import Actor, Role
from domain.record import Record
from domain.shared import DomainError, N_, Rule, clock_time

# The kinds of deadline a reminder is about, and the steps of its ladder, in order.
KINDS = ("ACTION", "SITUATION_REPORT", "DECISION_REVIEW", "POLICE_REQUEST")
BEFORE, AT, DUTY_OFFICER, MANAGER = "BEFORE", "AT", "ESCALATED_DUTY_OFFICER", "ESCALATED_MANAGER"
STAGES = (BEFORE, AT, DUTY_OFFICER, MANAGER)
CHANNELS = ("email", "webhook")
MAX_ID = 64
_DURATION = re.compile(r"^\s*(\d{1,6})\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def duration(text: str) -> timedelta:
    """`30m`, `2h`, `45s`, `1d` as a timedelta (ValueError otherwise)."""
    found = _DURATION.match(str(text))
    if not found:
        raise ValueError(f"{text!r} is no duration (a number and s, m, h or d)")
    return timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@dataclass(frozen=True)
class Step:
    """One step of a reminder's ladder: its number (its order, from 1), its stage, its round (the manager's
    repeats count from 1; 0 for the other stages) and when it is due."""

    number: int
    stage: str
    round: int
    at: datetime


@dataclass(frozen=True)
class Ladder:
    """When the notices of a deadline are due: `before` it, at it, to the duty officer `duty_officer` after it, to
    the manager `manager` after it, and again to the manager every `repeat` until acknowledged."""

    before: timedelta = timedelta(minutes=30)
    duty_officer: timedelta = timedelta(minutes=15)
    manager: timedelta = timedelta(minutes=30)
    repeat: timedelta = timedelta(minutes=30)

    @classmethod
    def parse(cls, text: str) -> Ladder:
        """The ladder from JSON: {"before": "30m", "duty_officer": "15m", "manager": "30m", "repeat": "30m"}
        (each optional; ValueError naming what is wrong)."""
        given = json.loads(text)
        if not isinstance(given, dict) or set(given) - {"before", "duty_officer", "manager", "repeat"}:
            raise ValueError("a JSON object with before, duty_officer, manager and repeat (durations like 30m)")
        ladder = cls(**{name: duration(value) for name, value in given.items()})
        if ladder.duty_officer > ladder.manager:
            raise ValueError("the duty officer is told before the manager: duty_officer <= manager")
        if ladder.repeat <= timedelta(0):
            raise ValueError("repeat must be more than 0")
        return ladder

    def step(self, number: int, due_at: datetime) -> Step:
        if number == 1:
            return Step(1, BEFORE, 0, due_at - self.before)
        if number == 2:
            return Step(2, AT, 0, due_at)
        if number == 3:
            return Step(3, DUTY_OFFICER, 0, due_at + self.duty_officer)
        round_ = number - 3
        return Step(number, MANAGER, round_, due_at + self.manager + (round_ - 1) * self.repeat)

    def due(self, due_at: datetime, after: int, now: datetime) -> Step | None:
        """The latest step due by `now` beyond step number `after` (steps passed over while nobody sent, such as
        the notice before a deadline after it, are not sent late), or None."""
        found, number = None, after + 1
        while (step := self.step(number, due_at)).at <= now:
            found, number = step, number + 1
        return found


def reminder_id(deadline: str) -> str:
    """The reminder's id from its deadline's key: the key itself where it is a valid id, else a digest of it."""
    if len(deadline) <= MAX_ID and re.fullmatch(r"[A-Za-z0-9._-]+", deadline):
        return deadline
    return "R-" + hashlib.sha256(deadline.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Delivery:
    """Where one notice stands for one recipient on one channel."""

    attempts: int = 0
    delivered: bool = False
    gave_up: bool = False

    @property
    def done(self) -> bool:
        return self.delivered or self.gave_up


class Reminder(Record):
    """The reminders of one deadline: its notices by number, their deliveries, the acknowledgement, settled."""

    kind, key = "reminder", "reminder_id"

    class Event(Record.Event):
        reminder_id: str

    class Opened(Event, Record.Created):
        deadline: str  # the deadline's key: its kind, its record and its due time
        deadline_kind: str
        crisis_id: str | None
        ref: str | None  # the action, decision or police request (None for a situation report)
        unit: str | None  # the unit responsible (an action's)
        due_at: datetime

        def apply(self, reminder: Reminder) -> None:
            reminder.reminder_id, reminder.deadline, reminder.deadline_kind = self.reminder_id, self.deadline, self.deadline_kind
            reminder.crisis_id, reminder.ref, reminder.unit, reminder.due_at = self.crisis_id, self.ref, self.unit, self.due_at
            reminder.step = 0
            reminder.notices = {}  # number -> its recipients
            reminder.deliveries = {}  # (number, recipient, channel) -> Delivery
            reminder.acknowledged_by = None
            reminder.settled = None

        def summary(self) -> str:
            return N_("reminder {reminder_id} opened for a deadline at {time}", reminder_id=self.reminder_id, time=clock_time(self.due_at))

    class NoticeRecorded(Event):
        notice: int  # the step of the ladder (1 before, 2 at, 3 the duty officer, 4… the manager)
        stage: str
        round: int
        recipients: list[dict[str, Any]]  # {"recipient": user or unit, "as": UNIT or a position, "channels": [...]}
        due_at: datetime

        def apply(self, reminder: Reminder) -> None:
            reminder.step = self.notice
            reminder.notices[self.notice] = self.recipients
            for recipient in self.recipients:
                for channel in recipient["channels"]:
                    reminder.deliveries[(self.notice, recipient["recipient"], channel)] = Delivery()

        def summary(self) -> str:
            return N_("reminder {reminder_id}: notice {notice} ({stage}) to {recipients}", reminder_id=self.reminder_id,
                      notice=self.notice, stage=self.stage, recipients=", ".join(r["recipient"] for r in self.recipients) or "-")

    class DeliveryRecorded(Event):
        notice: int
        recipient: str
        channel: str
        delivered: bool
        reason: str | None  # why an attempt failed
        attempt: int
        gave_up: bool  # the last attempt failed: no more tries
        message_id: str

        def apply(self, reminder: Reminder) -> None:
            reminder.deliveries[(self.notice, self.recipient, self.channel)] = Delivery(self.attempt, self.delivered, self.gave_up)

        def summary(self) -> str:
            if self.delivered:
                return N_("reminder {reminder_id}: notice {notice} delivered to {recipient} by {channel}",
                          reminder_id=self.reminder_id, notice=self.notice, recipient=self.recipient, channel=self.channel)
            return N_("reminder {reminder_id}: notice {notice} to {recipient} by {channel} failed (attempt {attempt})",
                      reminder_id=self.reminder_id, notice=self.notice, recipient=self.recipient, channel=self.channel, attempt=self.attempt)

    class Acknowledged(Event):
        by: str
        role: str
        occurred_at: datetime

        def apply(self, reminder: Reminder) -> None:
            reminder.acknowledged_by = self.by

        def summary(self) -> str:
            return N_("reminder {reminder_id} acknowledged by {by} at {time}", reminder_id=self.reminder_id, by=self.by, time=clock_time(self.occurred_at))

    class Settled(Event):
        reason: str  # MET (the deadline was met) or GONE (it went away: a new due time, a closed crisis, …)

        def apply(self, reminder: Reminder) -> None:
            reminder.settled = self.reason

        def summary(self) -> str:
            return N_("reminder {reminder_id} settled ({reason})", reminder_id=self.reminder_id, reason=self.reason)

    # --- commands ------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls, *, deadline: str, deadline_kind: str, crisis_id: str | None, ref: str | None, unit: str | None,
        due_at: datetime, actor: str, now: datetime,
    ) -> Reminder:
        if deadline_kind not in KINDS:
            raise ValueError(f"no kind of deadline {deadline_kind!r}")
        rid = reminder_id(deadline)
        return cls._create(
            cls.Opened, id=cls.id_for(rid), reminder_id=rid, deadline=deadline, deadline_kind=deadline_kind,
            crisis_id=crisis_id, ref=ref, unit=unit, due_at=due_at, actor=actor, recorded_at=now,
        )

    def record_notice(self, *, step: Step, recipients: list[dict[str, Any]], actor: Actor, now: datetime) -> None:
        """Record the notice of `step` to `recipients` (before it is delivered: recording is exactly once)."""
        self._check_open()
        if self.acknowledged_by is not None:
            raise DomainError(Rule.ALREADY_ACKNOWLEDGED, "reminder {reminder_id} was acknowledged by {by}: no further notices",
                              {"reminder_id": self.reminder_id, "by": self.acknowledged_by})
        if step.number <= self.step:
            raise DomainError(Rule.NOTICE_RECORDED, "reminder {reminder_id} has notice {notice} already",
                              {"reminder_id": self.reminder_id, "notice": step.number})
        for recipient in recipients:
            if set(recipient["channels"]) - set(CHANNELS):
                raise ValueError(f"unknown channels in {recipient['channels']}")
        self.trigger_event(self.NoticeRecorded, notice=step.number, stage=step.stage, round=step.round,
                           recipients=recipients, due_at=self.due_at, actor=actor.user, recorded_at=now)

    def record_delivery(
        self, *, notice: int, recipient: str, channel: str, delivered: bool, reason: str | None, attempt: int,
        gave_up: bool, message_id: str, actor: Actor, now: datetime,
    ) -> None:
        """Record one attempt's result. A delivery done (delivered, or given up) takes no further results."""
        current = self.deliveries.get((notice, recipient, channel))
        if current is None:
            raise DomainError(Rule.NOT_FOUND, "reminder {reminder_id} has no notice {notice} to {recipient} by {channel}",
                              {"reminder_id": self.reminder_id, "notice": notice, "recipient": recipient, "channel": channel})
        if current.done or attempt <= current.attempts:
            raise DomainError(Rule.DELIVERY_RECORDED, "the delivery of notice {notice} to {recipient} by {channel} is recorded already",
                              {"notice": notice, "recipient": recipient, "channel": channel})
        self.trigger_event(self.DeliveryRecorded, notice=notice, recipient=recipient, channel=channel, delivered=delivered,
                           reason=None if delivered else reason, attempt=attempt, gave_up=gave_up and not delivered,
                           message_id=message_id, actor=actor.user, recorded_at=now)

    def acknowledge(self, *, actor: Actor, now: datetime) -> None:
        """A recipient says they have it in hand: no further escalation. The unit's division contact (the police
        coordinator, of a police request), duty officers and the preparedness manager may."""
        if self.acknowledged_by is not None:
            raise DomainError(Rule.ALREADY_ACKNOWLEDGED, "reminder {reminder_id} was acknowledged by {by} already",
                              {"reminder_id": self.reminder_id, "by": self.acknowledged_by})
        self._check_open()
        if not self.is_recipient(actor):
            raise DomainError(Rule.NOT_A_RECIPIENT, "{user} is not a recipient of reminder {reminder_id}",
                              {"user": actor.user, "reminder_id": self.reminder_id})
        self.trigger_event(self.Acknowledged, by=actor.user, role=str(actor.role), occurred_at=now, actor=actor.user, recorded_at=now)

    def settle(self, *, reason: str, actor: Actor, now: datetime) -> None:
        """The deadline was met or went away: no further notices (deliveries under way are still recorded)."""
        self._check_open()
        self.trigger_event(self.Settled, reason=reason, actor=actor.user, recorded_at=now)

    # --- rules ---------------------------------------------------------------------------------------

    def is_recipient(self, actor: Actor) -> bool:
        if actor.role in (Role.DUTY_OFFICER, Role.PREPAREDNESS_MANAGER):
            return True
        if actor.role is Role.POLICE_COORDINATOR:  # who keeps the requests between the city and the police
            return self.deadline_kind == "POLICE_REQUEST"
        return actor.role is Role.DIVISION_CONTACT and self.unit is not None and actor.unit == self.unit

    def pending(self) -> list[tuple[int, str, str, Delivery]]:
        """The deliveries not done (no success, not given up), oldest notice first."""
        return [(n, who, channel, d) for (n, who, channel), d in sorted(self.deliveries.items()) if not d.done]

    def _check_open(self) -> None:
        if self.settled is not None:
            raise DomainError(Rule.REMINDER_SETTLED, "reminder {reminder_id} is settled ({reason})",
                              {"reminder_id": self.reminder_id, "reason": self.settled})
