"""Emergency conditions under the Emergency Powers Act, city-wide: recorded in force and lifted.

A single aggregate for the whole city. It is the gate for EMERGENCY readiness and for crises under
EMERGENCY_CONDITIONS; only the preparedness manager records it.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

from domain.record import Record
from domain.shared import DomainError, N_, Policy, Rule, check_entry_time, display, required_text


class EmergencyConditions(Record):
    """The one record of the city (no key): its `ID` is fixed."""

    ID = uuid5(NAMESPACE_URL, "valmius:emergency-conditions")

    class Event(Record.Event):
        pass

    class Started(Event, Record.Created):
        def apply(self, conditions: EmergencyConditions) -> None:
            conditions.in_force = False
            conditions.since = None
            conditions.basis = None
            conditions.history = []

    class DeclaredInForce(Event):
        basis: str
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, conditions: EmergencyConditions) -> None:
            conditions.in_force = True
            conditions.since = self.occurred_at
            conditions.basis = self.basis
            conditions.history.append({"in_force": True, "at": self.occurred_at, "basis": self.basis, "by": self.actor})

        def summary(self) -> str:
            return N_("emergency conditions recorded in force by {actor}", actor=self.actor)

    class Lifted(Event):
        reason: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, conditions: EmergencyConditions) -> None:
            conditions.in_force = False
            conditions.since = self.occurred_at
            conditions.history.append({"in_force": False, "at": self.occurred_at, "basis": self.reason, "by": self.actor})

        def summary(self) -> str:
            return N_("emergency conditions lifted by {actor}", actor=self.actor)


    @classmethod
    def start(cls, *, actor: str, now: datetime) -> EmergencyConditions:
        return cls._create(cls.Started, id=cls.ID, actor=actor, recorded_at=now)

    def declare_in_force(
        self,
        *,
        basis: str,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        required_text(basis, "the basis (the Government's decree under the Emergency Powers Act)")
        if self.in_force:
            raise DomainError(Rule.INVALID_TRANSITION, "emergency conditions are in force since {since}", {"since": display(self.since)})
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)
        self.trigger_event(
            self.DeclaredInForce,
            basis=basis,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def lift(
        self,
        *,
        reason: str | None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        if not self.in_force:
            raise DomainError(Rule.INVALID_TRANSITION, "emergency conditions are not in force")
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)
        self.trigger_event(
            self.Lifted,
            reason=reason,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )
