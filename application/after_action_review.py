"""The after-action review use cases (domain.after_action_review), mixed into the Coordination.

The preparedness manager drafts, revises and makes final a closed crisis's review and gives it its improvement
items; duty officers and division contacts comment on a draft too. Once final, the items are tracked: a division
contact marks its own unit's items done, the preparedness manager any, and only the preparedness manager drops
one. Setting a continuity plan's next review from an item changes the review and the unit's preparedness in one
atomic write, as activating a plan for a crisis does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.access import Actor, Role, authorise
from domain.after_action_review import AfterActionReview, ItemState, ReviewRecord
from domain.shared import Classification, DomainError, N_, Rule

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


class AfterActionReviewUseCases(UseCases):
    def load_after_action_review(self, crisis_id: str) -> AfterActionReview:
        return self._load(
            AfterActionReview, AfterActionReview.id_for(crisis_id),
            N_("after-action review of {crisis_id}", crisis_id=crisis_id),
        )

    def get_after_action_review(self, actor: Actor, crisis_id: str) -> ReviewRecord:
        authorise(actor, "get_after_action_review")
        return self.after_action_review_record(crisis_id)

    def after_action_review_record(self, crisis_id: str, version: int | None = None) -> ReviewRecord:
        """The review with all it recorded (at `version`), folded from its events; a review recorded in one
        step on the crisis takes its findings and recommendations from there."""
        record = ReviewRecord.of(self.events.get(AfterActionReview.id_for(crisis_id), lte=version))
        if not record.version:
            self.load_crisis(crisis_id)  # NOT_FOUND for a crisis that does not exist, named so
            raise DomainError(Rule.NOT_FOUND, "there is no after-action review of {crisis_id}", {"crisis_id": crisis_id})
        if record.recorded_on_crisis:
            crisis = self.crisis_record(crisis_id)  # type: ignore[attr-defined]
            review = crisis.after_action_review
            record.classification = crisis.classification
            if review is not None:
                record.findings, record.recommendations = list(review.findings), list(review.recommendations)
                record.drafted_by, record.drafted_at = review.actor, review.occurred_at
        return record

    def check_no_review(self, crisis_id: str) -> None:
        """A crisis has one after-action review, drafted or recorded in one step (ALREADY_EXISTS)."""
        try:
            existing = self.repository.get(AfterActionReview.id_for(crisis_id))
        except AggregateNotFoundError:
            return
        raise DomainError(
            Rule.ALREADY_EXISTS, "{crisis_id} already has an after-action review, drafted by {actor} ({status})",
            {"crisis_id": crisis_id, "actor": existing.drafted_by, "status": existing.status},
        )

    def _change_review(
        self,
        use_case: str,
        actor: Actor,
        crisis_id: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[AfterActionReview, datetime], Iterable[Aggregate] | None],
    ) -> int:
        return self._command(
            use_case, actor, f"after-action-review:{crisis_id}", lambda: self.load_after_action_review(crisis_id),
            expected_version, payload, change, label=N_("after-action review of {crisis_id}", crisis_id=crisis_id),
        )

    def draft_after_action_review(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        findings: list[str],
        recommendations: list[str] | None = None,
        classification: Classification | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
    ) -> int:
        """Draft the review of a CLOSED crisis (preparedness manager), once; at least as secret as the crisis."""

        def attempt(now: datetime) -> list[Aggregate]:
            review = AfterActionReview.draft(
                crisis=self.load_crisis(crisis_id), findings=findings, recommendations=recommendations,
                classification=classification, occurred_at=occurred_at or now, late_entry_reason=late_entry_reason,
                policy=self.policy, actor=actor.user, now=now,
            )
            self.check_no_review(crisis_id)
            return [review]

        payload = self._given(findings=findings, recommendations=recommendations, occurred_at=occurred_at)
        return self._run("draft_after_action_review", actor, f"after-action-review:{crisis_id}", payload, attempt)[0].version

    def revise_after_action_review(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        findings: list[str],
        recommendations: list[str] | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Revise the findings and recommendations of a draft."""

        def change(review: AfterActionReview, now: datetime) -> None:
            review.revise(
                findings=findings, recommendations=recommendations, occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason, policy=self.policy, actor=actor.user, now=now,
            )

        payload = self._given(findings=findings, recommendations=recommendations, occurred_at=occurred_at)
        return self._change_review("revise_after_action_review", actor, crisis_id, expected_version, payload, change)

    def comment_after_action_review(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        text: str,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Comment on a draft (preparedness manager, duty officers, division contacts)."""

        def change(review: AfterActionReview, now: datetime) -> None:
            review.comment(
                text=text, occurred_at=occurred_at or now, late_entry_reason=late_entry_reason, policy=self.policy,
                actor=actor.user, now=now,
            )

        payload = self._given(text=text, occurred_at=occurred_at)
        return self._change_review("comment_after_action_review", actor, crisis_id, expected_version, payload, change)

    def add_improvement_item(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        item_id: str,
        unit: str,
        task: str,
        due_at: datetime | None = None,
        evidence: list[dict[str, str]] | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Give a draft an improvement item for a city unit, due after it is added, with evidence of the crisis."""

        def change(review: AfterActionReview, now: datetime) -> None:
            review.add_item(
                crisis=self.load_crisis(crisis_id), item_id=item_id, unit=unit, task=task, due_at=due_at,
                evidence=evidence, occurred_at=occurred_at or now, late_entry_reason=late_entry_reason,
                policy=self.policy, actor=actor.user, now=now,
            )

        payload = self._given(item_id=item_id, unit=unit, task=task, due_at=due_at, evidence=evidence)
        return self._change_review("add_improvement_item", actor, crisis_id, expected_version, payload, change)

    def finalise_after_action_review(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Make the review final: it never changes again, and its items are tracked."""

        def change(review: AfterActionReview, now: datetime) -> None:
            review.finalise(
                occurred_at=occurred_at or now, late_entry_reason=late_entry_reason, policy=self.policy,
                actor=actor.user, now=now,
            )

        payload = self._given(occurred_at=occurred_at)
        return self._change_review("finalise_after_action_review", actor, crisis_id, expected_version, payload, change)

    def complete_improvement_item(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        item_id: str,
        note: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Mark an item DONE, with a note: its unit's division contact, or the preparedness manager."""

        def change(review: AfterActionReview, now: datetime) -> None:
            _check_own_item(actor, item_id, review.item(item_id))
            review.complete_item(
                item_id=item_id, note=note, occurred_at=occurred_at or now, late_entry_reason=late_entry_reason,
                policy=self.policy, actor=actor.user, now=now,
            )

        payload = self._given(item_id=item_id, note=note, occurred_at=occurred_at)
        return self._change_review("complete_improvement_item", actor, crisis_id, expected_version, payload, change)

    def drop_improvement_item(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        item_id: str,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Drop an item, with the reason (preparedness manager)."""

        def change(review: AfterActionReview, now: datetime) -> None:
            review.drop_item(
                item_id=item_id, note=reason, occurred_at=occurred_at or now, late_entry_reason=late_entry_reason,
                policy=self.policy, actor=actor.user, now=now,
            )

        payload = self._given(item_id=item_id, reason=reason, occurred_at=occurred_at)
        return self._change_review("drop_improvement_item", actor, crisis_id, expected_version, payload, change)

    def set_plan_review_from_item(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        item_id: str,
        plan_id: str,
        next_review_due: datetime | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Set the next review due of a continuity plan of the item's unit, recorded on the review and on the
        unit in one write: its unit's division contact, or the preparedness manager."""

        def change(review: AfterActionReview, now: datetime) -> list[Aggregate]:
            review.check_final()
            item = review.item(item_id)
            _check_own_item(actor, item_id, item)
            preparedness = self.load_preparedness(item.unit)
            due = preparedness.set_review_due(
                plan_id=plan_id, next_review_due=next_review_due, crisis_id=crisis_id, item_id=item_id,
                actor=actor.user, now=now,
            )
            review.set_plan_review(
                item_id=item_id, plan_id=plan_id, next_review_due=due, policy=self.policy, actor=actor.user, now=now,
            )
            return [preparedness]

        payload = self._given(item_id=item_id, plan_id=plan_id, next_review_due=next_review_due)
        return self._change_review("set_plan_review_from_item", actor, crisis_id, expected_version, payload, change)


def _check_own_item(actor: Actor, item_id: str, item: ItemState) -> None:
    """A division contact acts on its own unit's items only."""
    if actor.role is Role.DIVISION_CONTACT and item.unit != actor.unit:
        raise DomainError(
            Rule.FORBIDDEN_ROLE,
            "improvement item {item_id} is {item_unit}'s; the division contact of {unit} acts on its own unit's items only",
            {"item_id": item_id, "item_unit": item.unit, "unit": actor.unit},
        )
