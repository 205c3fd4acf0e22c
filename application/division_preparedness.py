"""The use cases of a unit's preparedness: readiness along the ladder and continuity plans, one typed method per
domain verb, mixed into the Coordination.

Division contacts act for their own unit, the preparedness manager for any (PERMISSIONS, `own_unit`).
Activating a plan for a crisis records it on the crisis too, and deactivating it takes it off, in the same
save: the crisis cannot close while a plan is active for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.access import Actor, authorise
from domain.division_preparedness import CriticalFunction, DivisionPreparedness, PreparednessRecord
from domain.shared import PUBLIC, Classification, DomainError, Rule

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


class DivisionPreparednessUseCases(UseCases):
    def get_division_preparedness(self, actor: Actor, unit: str) -> PreparednessRecord:
        authorise(actor, "get_division_preparedness")
        return self.preparedness_record(unit)

    def list_division_preparedness(self, actor: Actor) -> list[PreparednessRecord]:
        return [self.get_division_preparedness(actor, unit) for unit in self.policy.units.units]

    def preparedness_record(self, unit: str, version: int | None = None) -> PreparednessRecord:
        """The unit's preparedness with all it recorded (at `version`), folded from its events: the aggregate
        keeps no texts."""
        self.policy.units.check_unit(unit)
        record = PreparednessRecord.of(self.events.get(DivisionPreparedness.id_for(unit), lte=version))
        if not record.version:
            raise DomainError(Rule.NOT_FOUND, "there is no preparedness record for {unit}", {"unit": unit})
        return record

    def _change_preparedness(
        self,
        use_case: str,
        actor: Actor,
        unit: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[DivisionPreparedness, datetime], Iterable[Aggregate] | None],
    ) -> int:
        return self._command(
            use_case, actor, unit, lambda: self.load_preparedness(unit), expected_version, payload, change, unit=unit
        )

    def change_readiness(
        self,
        actor: Actor,
        unit: str,
        *,
        to_level: str,
        from_level: str | None = None,
        decided_by: str | None = None,
        reason: str | None = None,
        crisis_ref: str | None = None,
        decision_ref: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Move the unit along the readiness ladder; `decided_by` defaults to the acting user. A unit's readiness is
        real: it does not move for a crisis declared as an exercise (NOT_IN_AN_EXERCISE), whose practised changes
        are logged in the exercise."""

        def change(preparedness: DivisionPreparedness, now: datetime) -> None:
            if crisis_ref is not None and self.load_crisis(crisis_ref).exercise:
                raise DomainError(
                    Rule.NOT_IN_AN_EXERCISE, "{crisis_id} is an exercise: a unit's real readiness does not change "
                    "for it; log the practised change in the exercise", {"crisis_id": crisis_ref},
                )
            preparedness.change_readiness(
                to_level=to_level,
                from_level=from_level,
                decided_by=decided_by or actor.user,
                reason=reason,
                crisis_ref=crisis_ref,
                decision_ref=decision_ref,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                emergency_conditions_in_force=self.emergency_conditions_in_force(),
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"to_level": to_level, "from_level": from_level, "decided_by": decided_by, "reason": reason}
        return self._change_preparedness("change_readiness", actor, unit, expected_version, payload, change)

    def draft_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        title: str,
        critical_functions: list[CriticalFunction],
        owner: str | None = None,
        next_review_due: datetime | None = None,
        classification: Classification = PUBLIC,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> None:
            preparedness.draft_plan(
                plan_id=plan_id,
                title=title,
                owner=owner,
                critical_functions=critical_functions,
                next_review_due=next_review_due,
                classification=classification,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"plan_id": plan_id, "title": title}
        return self._change_preparedness("draft_continuity_plan", actor, unit, expected_version, payload, change)

    def approve_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        approved_by: str,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> None:
            preparedness.approve_plan(
                plan_id=plan_id,
                approved_by=approved_by,
                occurred_at=occurred_at or now,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(plan_id=plan_id, approved_by=approved_by, occurred_at=occurred_at)
        return self._change_preparedness("approve_continuity_plan", actor, unit, expected_version, payload, change)

    def record_plan_review(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        notes: str | None = None,
        next_review_due: datetime | None = None,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> None:
            preparedness.record_plan_review(
                plan_id=plan_id,
                notes=notes,
                next_review_due=next_review_due,
                occurred_at=occurred_at or now,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(plan_id=plan_id, notes=notes, next_review_due=next_review_due, occurred_at=occurred_at)
        return self._change_preparedness("record_plan_review", actor, unit, expected_version, payload, change)

    def record_exercise(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        title: str,
        findings: list[str] | None = None,
        occurred_at: datetime | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> None:
            preparedness.record_exercise(
                plan_id=plan_id,
                title=title,
                findings=findings,
                occurred_at=occurred_at or now,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(plan_id=plan_id, title=title, findings=findings, occurred_at=occurred_at)
        return self._change_preparedness("record_exercise", actor, unit, expected_version, payload, change)

    def activate_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        crisis_id: str,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Activate an approved plan for a crisis, and record it on the crisis."""

        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            crisis = self.load_crisis(crisis_id)
            when = occurred_at or now
            crisis.link_plan(plan_id=plan_id, unit=unit, actor=actor.user, now=now)
            crisis.check_time(when, now, self.policy, late_entry_reason)
            preparedness.activate_plan(
                plan_id=plan_id,
                crisis_id=crisis_id,
                occurred_at=when,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            return [crisis]

        payload = {"plan_id": plan_id, "crisis_id": crisis_id}
        return self._change_preparedness("activate_continuity_plan", actor, unit, expected_version, payload, change)

    def deactivate_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Deactivate an active plan, and take it off its crisis."""

        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            crisis_id = preparedness.deactivate_plan(
                plan_id=plan_id,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            crisis = self.load_crisis(crisis_id)
            crisis.unlink_plan(plan_id=plan_id, actor=actor.user, now=now)
            return [crisis]

        payload = {"plan_id": plan_id, "reason": reason}
        return self._change_preparedness("deactivate_continuity_plan", actor, unit, expected_version, payload, change)
