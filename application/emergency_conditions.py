"""The emergency conditions use cases: recording that emergency conditions under the Emergency Powers Act are in
force city-wide, or lifted (the preparedness manager's), mixed into the Coordination. Both are authorised and
kept as `record_emergency_conditions`, the name of their one route."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.access import Actor
from domain.emergency_conditions import EmergencyConditions
from domain.shared import N_

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


class EmergencyConditionsUseCases(UseCases):
    def _record_emergency_conditions(
        self,
        actor: Actor,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[EmergencyConditions, datetime], None],
    ) -> int:
        return self._command(
            "record_emergency_conditions", actor, "emergency-conditions", self.load_emergency_conditions,
            expected_version, payload, change, label=N_("emergency conditions"),
        )

    def declare_emergency_conditions(
        self,
        actor: Actor,
        *,
        basis: str,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Record emergency conditions in force, on `basis` (the Government's decree)."""

        def change(conditions: EmergencyConditions, now: datetime) -> None:
            conditions.declare_in_force(
                basis=basis,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        return self._record_emergency_conditions(actor, expected_version, {"in_force": True, "basis": basis}, change)

    def lift_emergency_conditions(
        self,
        actor: Actor,
        *,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Record emergency conditions lifted, with the reason."""

        def change(conditions: EmergencyConditions, now: datetime) -> None:
            conditions.lift(
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        return self._record_emergency_conditions(actor, expected_version, {"in_force": False, "basis": reason}, change)
