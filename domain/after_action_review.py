"""The after-action review of a closed crisis, and the improvement items that make it lead somewhere.

A review is drafted once its crisis is CLOSED, commented and revised while a draft, then made final, after which
it never changes (IMMUTABLE_RECORD). Its improvement items (an owner unit of the city, a task, a due date, links
to the crisis's log entries, decisions and situation reports as evidence) are added while it is a draft and
tracked once it is final: each goes OPEN → DONE (with a note) or DROPPED (with a reason), exactly once. From an
item, the next review of one of its unit's continuity plans can be set (recorded here and on the unit).

One review per crisis, an aggregate of its own (id from the crisis id), so that a closed crisis's stream stays
closed. A review recorded in one step on the crisis (Crisis.AfterActionReviewRecorded, as before) is final from
the start: it is marked here by `RecordedOnCrisis`, which also makes the one-step path and the drafting path
exclude each other through the store (both create this aggregate).

Like the other aggregates it keeps only what its rules need (status, classification, its items' units and
states, how many comments): the texts live in its events and are folded for reading by `ReviewRecord`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.crisis import Crisis, review_findings
from domain.record import Folded, Record
from domain.shared import (
    PUBLIC,
    Classification,
    DomainError,
    N_,
    Policy,
    Rule,
    check_assigned_due,
    check_due_time,
    check_entry_time,
    clock_time,
    display,
    outcome_words,
    required_text,
)

DRAFT, FINAL = "DRAFT", "FINAL"
OPEN, DONE, DROPPED = "OPEN", "DONE", "DROPPED"
EVIDENCE_KINDS = ("LOG_ENTRY", "DECISION", "SITUATION_REPORT")
MAX_EVIDENCE = 50  # links of one item


@dataclass
class ItemState:
    """What the review keeps of an improvement item: its owner unit and its state."""

    unit: str
    status: str = OPEN
    closed_at: datetime | None = None
    closed_by: str | None = None


ENTITY_CLASSES = (ItemState,)


class AfterActionReview(Record):
    """The after-action review of one crisis (module docstring)."""

    kind, key = "after-action-review", "crisis_id"

    class Event(Record.Event):
        crisis_id: str
        classification: Classification  # the review's, repeated by each event: its texts are as secret as it

    class Drafted(Event, Record.Created):
        findings: list[str]
        recommendations: list[str]
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, review: AfterActionReview) -> None:
            review.start(self, DRAFT)

        def summary(self) -> str:
            return N_("after-action review drafted by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))

    class RecordedOnCrisis(Event, Record.Created):
        """The review was recorded in one step on the crisis (Crisis.AfterActionReviewRecorded): final."""

        def apply(self, review: AfterActionReview) -> None:
            review.start(self, FINAL)
            review.finalised_by, review.finalised_at = self.actor, self.recorded_at

        def summary(self) -> str:
            return N_("after-action review recorded by {actor} at {time}", actor=self.actor, time=clock_time(self.recorded_at))

    class Revised(Event):
        findings: list[str]
        recommendations: list[str]
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, review: AfterActionReview) -> None:
            pass  # the texts are read from the event

        def summary(self) -> str:
            return N_("after-action review revised by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))

    class Commented(Event):
        number: int
        text: str
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, review: AfterActionReview) -> None:
            review.comments = self.number

        def summary(self) -> str:
            return N_("comment #{number} on the after-action review by {actor} at {time}", number=self.number, actor=self.actor, time=clock_time(self.occurred_at))

    class ItemAdded(Event):
        item_id: str
        unit: str
        task: str
        due_at: datetime
        evidence: list[dict]
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, review: AfterActionReview) -> None:
            review.items[self.item_id] = ItemState(unit=self.unit)

        def summary(self) -> str:
            return N_("improvement item {item_id} for {unit} added by {actor} at {time}", item_id=self.item_id, unit=self.unit, actor=self.actor, time=clock_time(self.occurred_at))

    class Finalised(Event):
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, review: AfterActionReview) -> None:
            review.status = FINAL
            review.finalised_by, review.finalised_at = self.actor, self.occurred_at

        def summary(self) -> str:
            return N_("after-action review made final by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))

    class ItemClosed(Event):
        item_id: str
        outcome: str  # DONE or DROPPED
        note: str | None  # what was done; for DROPPED the reason, required
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, review: AfterActionReview) -> None:
            item = review.items[self.item_id]
            item.status, item.closed_at, item.closed_by = self.outcome, self.occurred_at, self.actor

        def summary(self) -> str:
            return N_("improvement item {item_id} {outcome} by {actor} at {time}", item_id=self.item_id, outcome=outcome_words(self.outcome), actor=self.actor, time=clock_time(self.occurred_at))

    class PlanReviewSet(Event):
        item_id: str
        unit: str
        plan_id: str
        next_review_due: datetime

        def apply(self, review: AfterActionReview) -> None:
            pass  # recorded on the unit too (DivisionPreparedness.PlanReviewDueSet)

        def summary(self) -> str:
            return N_("next review of plan {plan_id} set from improvement item {item_id} by {actor}", plan_id=self.plan_id, item_id=self.item_id, actor=self.actor)

    def start(self, event: AfterActionReview.Event, status: str) -> None:
        self.crisis_id = event.crisis_id
        self.classification = event.classification
        self.status = status
        self.drafted_by = event.actor
        self.finalised_by: str | None = None
        self.finalised_at: datetime | None = None
        self.comments = 0
        self.items: dict[str, ItemState] = {}

    def trigger_event(self, event_class: type, **kwargs: Any) -> None:
        kwargs.setdefault("classification", self.classification)
        super().trigger_event(event_class, **kwargs)

    # --- commands ------------------------------------------------------------------------------------

    @classmethod
    def draft(
        cls,
        *,
        crisis: Crisis,
        findings: list[str],
        recommendations: list[str] | None = None,
        classification: Classification | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> AfterActionReview:
        """Draft the review of `crisis`, once it is CLOSED; a review it recorded in one step is final already. The
        review is at least as secret as its crisis: classified as given when that is not PUBLIC, otherwise as the
        crisis is (a review of a SECRET crisis drafted without a classification, or as PUBLIC, is SECRET)."""
        crisis.check_reviewable()
        if classification is None or classification.is_public:
            classification = crisis.classification
        findings = review_findings(findings)
        crisis.check_time(occurred_at, now, policy, late_entry_reason)
        return cls._create(
            cls.Drafted, id=cls.id_for(crisis.crisis_id), crisis_id=crisis.crisis_id, classification=classification,
            findings=findings, recommendations=_texts(recommendations), occurred_at=occurred_at,
            late_entry_reason=late_entry_reason, actor=actor, recorded_at=now,
        )

    @classmethod
    def recorded_on_crisis(cls, *, crisis_id: str, actor: str, now: datetime) -> AfterActionReview:
        """The mark of a review recorded in one step on the crisis (its texts are the crisis's event)."""
        return cls._create(
            cls.RecordedOnCrisis, id=cls.id_for(crisis_id), crisis_id=crisis_id, classification=PUBLIC,
            actor=actor, recorded_at=now,
        )

    def revise(
        self,
        *,
        findings: list[str],
        recommendations: list[str] | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_draft()
        findings = review_findings(findings)
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.Revised, findings=findings, recommendations=_texts(recommendations), occurred_at=occurred_at,
            late_entry_reason=late_entry_reason, actor=actor, recorded_at=now,
        )

    def comment(
        self,
        *,
        text: str,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> int:
        self.check_draft()
        required_text(text, "the comment")
        self.check_time(occurred_at, now, policy, late_entry_reason)
        number = self.comments + 1
        self.trigger_event(
            self.Commented, number=number, text=text, occurred_at=occurred_at, late_entry_reason=late_entry_reason,
            actor=actor, recorded_at=now,
        )
        return number

    def add_item(
        self,
        *,
        crisis: Crisis,
        item_id: str,
        unit: str,
        task: str,
        due_at: datetime | None = None,
        evidence: list[dict[str, str]] | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        """An improvement item for a city unit, due after it is added, linking evidence of the same crisis."""
        self.check_draft()
        required_text(item_id, "the item id")
        policy.units.check_unit(unit)
        required_text(task, "the task")
        self.check_time(occurred_at, now, policy, late_entry_reason)
        if item_id in self.items:
            raise DomainError(Rule.ALREADY_EXISTS, "the after-action review of {crisis_id} already has an item {item_id}", {"crisis_id": self.crisis_id, "item_id": item_id})
        check_assigned_due(
            due_at, occurred_at, now, policy.time,
            N_("improvement item {item_id} needs a due time after it is added", item_id=item_id),
        )
        links = [_evidence(crisis, link) for link in evidence or []]
        if len(links) > MAX_EVIDENCE:
            raise DomainError(Rule.OUT_OF_RANGE, "an item links at most {most} pieces of evidence", {"most": MAX_EVIDENCE}, field="evidence")
        self.trigger_event(
            self.ItemAdded, item_id=item_id, unit=unit, task=task, due_at=due_at, evidence=links,
            occurred_at=occurred_at, late_entry_reason=late_entry_reason, actor=actor, recorded_at=now,
        )

    def finalise(
        self, *, occurred_at: datetime, late_entry_reason: str | None = None, policy: Policy, actor: str, now: datetime
    ) -> None:
        self.check_draft()
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.Finalised, occurred_at=occurred_at, late_entry_reason=late_entry_reason, actor=actor, recorded_at=now
        )

    def item(self, item_id: str) -> ItemState:
        try:
            return self.items[item_id]
        except KeyError:
            raise DomainError(Rule.NOT_FOUND, "the after-action review of {crisis_id} has no item {item_id}", {"crisis_id": self.crisis_id, "item_id": item_id}) from None

    def complete_item(self, **kwargs: Any) -> None:
        self._close_item("DONE", **kwargs)

    def drop_item(self, *, note: str | None = None, **kwargs: Any) -> None:
        required_text(note, "the reason for dropping the item")
        self._close_item("DROPPED", note=note, **kwargs)

    def set_plan_review(
        self, *, item_id: str, plan_id: str, next_review_due: datetime, policy: Policy, actor: str, now: datetime
    ) -> ItemState:
        """Record that item `item_id` set the next review of its unit's plan `plan_id` (the unit records it too).
        The item, for the unit to check."""
        self.check_final()
        item = self.item(item_id)
        check_due_time(next_review_due, now, policy.time, "next_review_due")
        self.trigger_event(
            self.PlanReviewSet, item_id=item_id, unit=item.unit, plan_id=plan_id, next_review_due=next_review_due,
            actor=actor, recorded_at=now,
        )
        return item

    # --- helpers -------------------------------------------------------------------------------------

    def check_draft(self) -> None:
        """Only a draft is revised, commented or given items; a final review never changes."""
        if self.status != DRAFT:
            raise DomainError(
                Rule.IMMUTABLE_RECORD,
                "the after-action review of {crisis_id} was made final by {actor} at {at}; a final review is never changed",
                {"crisis_id": self.crisis_id, "actor": self.finalised_by, "at": display(self.finalised_at)},
            )

    def check_final(self) -> None:
        if self.status != FINAL:
            raise DomainError(
                Rule.INVALID_TRANSITION,
                "the after-action review of {crisis_id} is a draft; its items are tracked once it is final", {"crisis_id": self.crisis_id},
            )

    def check_time(self, occurred_at: datetime, now: datetime, policy: Policy, late_entry_reason: str | None) -> None:
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)

    def _close_item(
        self,
        outcome: str,
        *,
        item_id: str,
        note: str | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_final()
        item = self.item(item_id)
        if item.status != OPEN:
            raise DomainError(
                Rule.INVALID_TRANSITION,
                "improvement item {item_id} was already {item_status} by {closed_by} at {closed_at}",
                {"item_id": item_id, "item_status": outcome_words(item.status), "closed_by": item.closed_by, "closed_at": display(item.closed_at)},
            )
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.ItemClosed, item_id=item_id, outcome=outcome, note=note, occurred_at=occurred_at,
            late_entry_reason=late_entry_reason, actor=actor, recorded_at=now,
        )


def _texts(texts: list[str] | None) -> list[str]:
    return [text for text in texts or [] if text.strip()]


def _evidence(crisis: Crisis, link: dict[str, str]) -> dict[str, str]:
    """A link to a log entry (its number), a decision (its id) or a situation report (its number) of the crisis."""
    kind, ref = str(link.get("kind", "")), str(link.get("ref", ""))
    if kind not in EVIDENCE_KINDS:
        raise DomainError(Rule.INVALID_INPUT, "evidence kind {kind!r} is not one of {kinds}", {"kind": kind, "kinds": ", ".join(EVIDENCE_KINDS)})
    number = int(ref) if ref.isdigit() else 0
    found = (
        1 <= number <= crisis.entries if kind == "LOG_ENTRY"
        else 1 <= number <= len(crisis.situation_reports) if kind == "SITUATION_REPORT"
        else ref in crisis.decisions
    )
    if not found:
        raise DomainError(Rule.NOT_FOUND, "{crisis_id} has no {kind} {ref} to link as evidence", {"crisis_id": crisis.crisis_id, "kind": kind, "ref": ref})
    return {"kind": kind, "ref": ref}


# --- reading ------------------------------------------------------------------------------------------


@dataclass
class Comment:
    number: int
    text: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime


@dataclass
class ImprovementItem:
    item_id: str
    unit: str
    task: str
    due_at: datetime
    evidence: list[dict]
    added_by: str
    added_at: datetime
    status: str = OPEN
    note: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    plan_reviews: list[dict] = field(default_factory=list)  # {plan_id, next_review_due, actor, recorded_at}

    def overdue(self, now: datetime, final: bool) -> bool:
        """Derived at read time, as for actions: the review is final, the item still OPEN and past its due time."""
        return final and self.status == OPEN and now > self.due_at


@dataclass
class ReviewRecord(Folded):
    """The review with all it recorded, folded from its events: what GET /crises/{id}/after-action-review shows."""

    crisis_id: str = ""
    version: int = 0
    classification: Classification = PUBLIC
    status: str = DRAFT
    recorded_on_crisis: bool = False
    drafted_by: str | None = None
    drafted_at: datetime | None = None
    findings: list[str] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    revisions: int = 0
    comments: list[Comment] = field(default_factory=list)
    items: dict[str, ImprovementItem] = field(default_factory=dict)
    finalised_by: str | None = None
    finalised_at: datetime | None = None

    def apply(self, e: Any) -> None:
        self.version = e.originator_version
        match type(e).__name__:
            case "Drafted":
                self.crisis_id, self.classification = e.crisis_id, e.classification
                self.drafted_by, self.drafted_at = e.actor, e.occurred_at
                self.findings, self.recommendations = list(e.findings), list(e.recommendations)
            case "RecordedOnCrisis":
                self.crisis_id, self.status, self.recorded_on_crisis = e.crisis_id, FINAL, True
                self.finalised_by, self.finalised_at = e.actor, e.recorded_at
            case "Revised":
                self.findings, self.recommendations = list(e.findings), list(e.recommendations)
                self.revisions += 1
            case "Commented":
                self.comments.append(Comment(e.number, e.text, e.actor, e.occurred_at, e.recorded_at))
            case "ItemAdded":
                self.items[e.item_id] = ImprovementItem(
                    item_id=e.item_id, unit=e.unit, task=e.task, due_at=e.due_at, evidence=list(e.evidence),
                    added_by=e.actor, added_at=e.occurred_at,
                )
            case "Finalised":
                self.status, self.finalised_by, self.finalised_at = FINAL, e.actor, e.occurred_at
            case "ItemClosed":
                item = self.items[e.item_id]
                item.status, item.note, item.closed_by, item.closed_at = e.outcome, e.note, e.actor, e.occurred_at
            case "PlanReviewSet":
                self.items[e.item_id].plan_reviews.append({
                    "plan_id": e.plan_id, "next_review_due": e.next_review_due, "actor": e.actor,
                    "recorded_at": e.recorded_at,
                })
