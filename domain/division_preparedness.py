"""DivisionPreparedness: one per city unit. Its readiness along the ladder and its continuity plans.

Continuity plans use ISO 22301 words: each covers critical functions with a maximum tolerable period of
disruption (MTPD) and a recovery time objective (RTO ≤ MTPD). A plan is activated for a crisis and later
deactivated; the crisis records the same fact so that it cannot close while a plan is active for it.

The aggregate keeps what its rules need (its level, and each plan's classification, status and activation);
titles, functions, reviews, exercises and the readiness history live in its events, and `PreparednessRecord`
folds them for reading. Snapshots encode the entity classes by class name: `ContinuityPlan`, `PlanReview`,
`Exercise`, `ReadinessChange` and `CriticalFunction` are in snapshots written before the slimming
(`upcast_v1_v2`) and are what readers are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.record import Folded, Record
from domain.shared import (
    PUBLIC,
    Classification,
    DomainError,
    N_,
    Policy,
    Rule,
    check_due_time,
    check_entry_time,
    clock_time,
    display,
    required_text,
)

MAX_MTPD_MINUTES = 366 * 24 * 60  # a maximum tolerable period of disruption of a year is plenty (OUT_OF_RANGE)


@dataclass
class CriticalFunction:
    name: str
    mtpd_minutes: int
    rto_minutes: int


@dataclass
class Exercise:
    held_at: datetime
    recorded_at: datetime
    actor: str
    title: str
    findings: list[str]


@dataclass
class PlanReview:
    reviewed_at: datetime
    recorded_at: datetime
    actor: str
    notes: str | None
    next_review_due: datetime | None


@dataclass
class ContinuityPlan:
    plan_id: str
    title: str
    owner: str | None
    critical_functions: list[CriticalFunction]
    classification: Classification
    status: str = "DRAFT"
    approved_by: str | None = None
    approved_at: datetime | None = None
    last_review_at: datetime | None = None
    next_review_due: datetime | None = None
    reviews: list[PlanReview] = field(default_factory=list)
    exercises: list[Exercise] = field(default_factory=list)
    active_for: str | None = None
    activated_at: datetime | None = None

    @property
    def mtpd_minutes(self) -> int:
        return min(f.mtpd_minutes for f in self.critical_functions)


@dataclass
class ReadinessChange:
    from_level: str
    to_level: str
    decided_by: str
    reason: str | None
    crisis_ref: str | None
    decision_ref: str | None
    occurred_at: datetime
    recorded_at: datetime
    actor: str


@dataclass
class PlanState:
    """What the unit keeps of a plan: its classification (what its reviews and exercises are as secret as), its
    status (only an approved plan is activated) and for which crisis and since when it is active."""

    plan_id: str
    classification: Classification
    status: str = "DRAFT"
    active_for: str | None = None
    activated_at: datetime | None = None


ENTITY_CLASSES = (CriticalFunction, Exercise, PlanReview, ContinuityPlan, ReadinessChange, PlanState)


class DivisionPreparedness(Record):
    """The preparedness of one city unit (KASKO, SOTEPE, STARA, …): its level on the readiness ladder and the
    state of each of its plans (class docstring of the module)."""

    kind, key = "division-preparedness", "unit"
    class_version = 2

    class Event(Record.Event):
        unit: str

    class Registered(Event, Record.Created):
        unit: str
        name: str
        readiness: str

        def apply(self, prep: DivisionPreparedness) -> None:
            prep.unit = self.unit
            prep.name = self.name
            prep.readiness = self.readiness
            prep.plans = {}

        def summary(self) -> str:
            return N_("{unit} registered at {readiness}", unit=self.unit, readiness=self.readiness)

    class ReadinessChanged(Event):
        from_level: str
        to_level: str
        decided_by: str
        reason: str | None
        crisis_ref: str | None
        decision_ref: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, prep: DivisionPreparedness) -> None:
            prep.readiness = self.to_level

        def summary(self) -> str:
            return N_("readiness changed to {level} by {actor} at {time}", level=self.to_level, actor=self.actor, time=clock_time(self.occurred_at))

    class PlanDrafted(Event):
        plan_id: str
        title: str
        owner: str | None
        critical_functions: list[dict]
        next_review_due: datetime | None
        classification: Classification

        def apply(self, prep: DivisionPreparedness) -> None:
            prep.plans[self.plan_id] = PlanState(plan_id=self.plan_id, classification=self.classification)

        def summary(self) -> str:
            return N_("plan {plan_id} drafted by {actor}", plan_id=self.plan_id, actor=self.actor)

    class PlanApproved(Event):
        plan_id: str
        approved_by: str
        occurred_at: datetime

        def apply(self, prep: DivisionPreparedness) -> None:
            prep.plans[self.plan_id].status = "APPROVED"

        def summary(self) -> str:
            return N_("plan {plan_id} approved, recorded by {actor}", plan_id=self.plan_id, actor=self.actor)

    class PlanReviewed(Event):
        plan_id: str
        notes: str | None
        next_review_due: datetime | None
        occurred_at: datetime

        def apply(self, prep: DivisionPreparedness) -> None:
            pass  # a review changes no rule: it is read from the event

        def summary(self) -> str:
            return N_("plan {plan_id} reviewed by {actor} at {time}", plan_id=self.plan_id, actor=self.actor, time=clock_time(self.occurred_at))

    class ExerciseRecorded(Event):
        plan_id: str
        title: str
        findings: list[str]
        occurred_at: datetime

        def apply(self, prep: DivisionPreparedness) -> None:
            pass  # an exercise changes no rule: it is read from the event

        def summary(self) -> str:
            return N_("exercise of plan {plan_id} recorded by {actor}", plan_id=self.plan_id, actor=self.actor)

    class PlanActivated(Event):
        plan_id: str
        crisis_id: str
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, prep: DivisionPreparedness) -> None:
            plan = prep.plans[self.plan_id]
            plan.active_for = self.crisis_id
            plan.activated_at = self.occurred_at

        def summary(self) -> str:
            return N_("plan {plan_id} activated for {crisis_id} by {actor} at {time}", plan_id=self.plan_id, crisis_id=self.crisis_id, actor=self.actor, time=clock_time(self.occurred_at))

    class PlanDeactivated(Event):
        plan_id: str
        crisis_id: str
        reason: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, prep: DivisionPreparedness) -> None:
            plan = prep.plans[self.plan_id]
            plan.active_for = None
            plan.activated_at = None

        def summary(self) -> str:
            return N_("plan {plan_id} deactivated by {actor} at {time}", plan_id=self.plan_id, actor=self.actor, time=clock_time(self.occurred_at))

    class PlanReviewDueSet(Event):
        """The plan's next review due set from an improvement item of a crisis's after-action review (recorded
        on the review too: AfterActionReview.PlanReviewSet)."""

        plan_id: str
        next_review_due: datetime
        crisis_id: str
        item_id: str

        def apply(self, prep: DivisionPreparedness) -> None:
            pass  # the due time changes no rule: it is read from the event

        def summary(self) -> str:
            return N_("next review of plan {plan_id} set from improvement item {item_id} of {crisis_id} by {actor}", plan_id=self.plan_id, item_id=self.item_id, crisis_id=self.crisis_id, actor=self.actor)


    @classmethod
    def register(cls, *, unit: str, name: str, policy: Policy, actor: str, now: datetime) -> DivisionPreparedness:
        policy.units.check_unit(unit)
        return cls._create(
            cls.Registered,
            id=cls.id_for(unit),
            unit=unit,
            name=name,
            readiness=policy.readiness_ladder[0],
            actor=actor,
            recorded_at=now,
        )

    def change_readiness(
        self,
        *,
        to_level: str,
        from_level: str | None = None,
        decided_by: str,
        reason: str | None = None,
        crisis_ref: str | None = None,
        decision_ref: str | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        emergency_conditions_in_force: bool,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        policy.check_readiness(to_level)
        if from_level is not None:  # a level of the ladder, before a conflict names it
            policy.check_readiness(from_level)
        required_text(decided_by, "decided by")
        if from_level is not None and from_level != self.readiness:
            raise DomainError(
                Rule.INVALID_TRANSITION,
                "{unit} is at {readiness}, not {from_level}; reload and decide again", {"unit": self.unit, "readiness": self.readiness, "from_level": from_level},
            )
        if to_level == self.readiness:
            raise DomainError(Rule.INVALID_TRANSITION, "{unit} is already at {to_level}", {"unit": self.unit, "to_level": to_level})
        if to_level == policy.readiness_ladder[-1] and not emergency_conditions_in_force:
            raise DomainError(
                Rule.NO_EMERGENCY_CONDITIONS,
                "{to_level} readiness applies only while emergency conditions are recorded as in force", {"to_level": to_level},
            )
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)
        self.trigger_event(
            self.ReadinessChanged,
            from_level=self.readiness,
            to_level=to_level,
            decided_by=decided_by,
            reason=reason,
            crisis_ref=crisis_ref,
            decision_ref=decision_ref,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def draft_plan(
        self,
        *,
        plan_id: str,
        title: str,
        owner: str | None,
        critical_functions: list[CriticalFunction],
        next_review_due: datetime | None = None,
        classification: Classification = PUBLIC,
        policy: Policy = Policy(),
        actor: str,
        now: datetime,
    ) -> None:
        required_text(plan_id, "the plan id")
        required_text(title, "the plan title")
        if plan_id in self.plans:
            raise DomainError(Rule.ALREADY_EXISTS, "{unit} already has a plan {plan_id}", {"unit": self.unit, "plan_id": plan_id})
        if not critical_functions:
            raise DomainError(Rule.INVALID_INPUT, "a continuity plan covers at least one critical function")
        for number, function in enumerate(critical_functions, 1):  # named by number: a name may be classified
            required_text(function.name, "the critical function's name")
            if function.mtpd_minutes <= 0 or function.rto_minutes <= 0:
                raise DomainError(Rule.INVALID_INPUT, "MTPD and RTO of critical function #{number} must be positive", {"number": number})
            if function.mtpd_minutes > MAX_MTPD_MINUTES:
                raise DomainError(
                    Rule.OUT_OF_RANGE,
                    "the MTPD of critical function #{number} ({mtpd_minutes} min) is longer than a year "
                    "({max_mtpd_minutes} min); a plan for a longer disruption is not a continuity plan", {"number": number, "mtpd_minutes": function.mtpd_minutes, "max_mtpd_minutes": MAX_MTPD_MINUTES},
                    field="mtpd_minutes",
                )
            if function.rto_minutes > function.mtpd_minutes:
                raise DomainError(
                    Rule.INVALID_RTO,
                    "the RTO of critical function #{number} ({rto_minutes} min) exceeds its MTPD "
                    "({mtpd_minutes} min); recovery must come within the tolerable period", {"number": number, "rto_minutes": function.rto_minutes, "mtpd_minutes": function.mtpd_minutes},
                )
        check_due_time(next_review_due, now, policy.time, "next_review_due")
        self.trigger_event(
            self.PlanDrafted,
            plan_id=plan_id,
            title=title,
            owner=owner,
            critical_functions=[vars(f) for f in critical_functions],
            next_review_due=next_review_due,
            classification=classification,
            actor=actor,
            recorded_at=now,
        )

    def plan(self, plan_id: str) -> PlanState:
        try:
            return self.plans[plan_id]
        except KeyError:
            raise DomainError(Rule.NOT_FOUND, "{unit} has no continuity plan {plan_id}", {"unit": self.unit, "plan_id": plan_id}) from None

    def approve_plan(
        self, *, plan_id: str, approved_by: str, occurred_at: datetime, policy: Policy, actor: str, now: datetime
    ) -> None:
        plan = self.plan(plan_id)
        required_text(approved_by, "approved by")
        check_entry_time(occurred_at, now, policy.time, late_entry_reason="approval record")
        if plan.status == "APPROVED":
            raise DomainError(Rule.INVALID_TRANSITION, "{plan_id} is already approved", {"plan_id": plan_id})
        self.trigger_event(
            self.PlanApproved,
            plan_id=plan_id,
            approved_by=approved_by,
            occurred_at=occurred_at,
            actor=actor,
            recorded_at=now,
        )

    def record_plan_review(
        self,
        *,
        plan_id: str,
        notes: str | None = None,
        next_review_due: datetime | None = None,
        occurred_at: datetime,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.plan(plan_id)
        check_entry_time(occurred_at, now, policy.time, late_entry_reason="plan review")
        check_due_time(next_review_due, now, policy.time, "next_review_due")
        if next_review_due is not None and next_review_due <= occurred_at:
            raise DomainError(Rule.INVALID_DUE_TIME, "the next review must be due after this review")
        self.trigger_event(
            self.PlanReviewed,
            plan_id=plan_id,
            notes=notes,
            next_review_due=next_review_due,
            occurred_at=occurred_at,
            actor=actor,
            recorded_at=now,
        )

    def record_exercise(
        self,
        *,
        plan_id: str,
        title: str,
        findings: list[str] | None = None,
        occurred_at: datetime,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.plan(plan_id)
        required_text(title, "the exercise title")
        check_entry_time(occurred_at, now, policy.time, late_entry_reason="exercise record")
        self.trigger_event(
            self.ExerciseRecorded,
            plan_id=plan_id,
            title=title,
            findings=list(findings or []),
            occurred_at=occurred_at,
            actor=actor,
            recorded_at=now,
        )

    def activate_plan(
        self,
        *,
        plan_id: str,
        crisis_id: str,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        plan = self.plan(plan_id)
        if plan.status != "APPROVED":
            raise DomainError(Rule.PLAN_NOT_APPROVED, "{plan_id} is a {plan_status} plan; approve it before activating", {"plan_id": plan_id, "plan_status": plan.status})
        if plan.active_for is not None:
            raise DomainError(
                Rule.INVALID_TRANSITION,
                "{plan_id} is already active for {active_for} since {activated_at}", {"plan_id": plan_id, "active_for": plan.active_for, "activated_at": display(plan.activated_at)},
            )
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)
        self.trigger_event(
            self.PlanActivated,
            plan_id=plan_id,
            crisis_id=crisis_id,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def deactivate_plan(
        self,
        *,
        plan_id: str,
        reason: str | None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> str:
        plan = self.plan(plan_id)
        if plan.active_for is None:
            raise DomainError(Rule.PLAN_NOT_ACTIVE, "{plan_id} is not active", {"plan_id": plan_id})
        check_entry_time(
            occurred_at,
            now,
            policy.time,
            late_entry_reason=late_entry_reason,
            not_before=plan.activated_at,
            not_before_label=N_("{plan_id} was activated", plan_id=plan_id),
        )
        crisis_id = plan.active_for
        self.trigger_event(
            self.PlanDeactivated,
            plan_id=plan_id,
            crisis_id=crisis_id,
            reason=reason,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )
        return crisis_id

    def set_review_due(
        self, *, plan_id: str, next_review_due: datetime | None, crisis_id: str, item_id: str, actor: str, now: datetime
    ) -> datetime:
        """Set the plan's next review due from improvement item `item_id` of `crisis_id`'s after-action review."""
        self.plan(plan_id)
        if next_review_due is None or next_review_due <= now:
            raise DomainError(Rule.INVALID_DUE_TIME, "the next review must be due after now ({now})", {"now": display(now)})
        self.trigger_event(
            self.PlanReviewDueSet, plan_id=plan_id, next_review_due=next_review_due, crisis_id=crisis_id,
            item_id=item_id, actor=actor, recorded_at=now,
        )
        return next_review_due

    def active_minutes(self, plan_id: str, now: datetime) -> int | None:
        plan = self.plans[plan_id]
        if plan.activated_at is None:
            return None
        return int((now - plan.activated_at) / timedelta(minutes=1))

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        """A snapshot of version 1 held the whole plans and the readiness history: keep what the rules need."""
        del state["readiness_history"]
        state["plans"] = {
            i: PlanState(i, p.classification, p.status, p.active_for, p.activated_at) for i, p in state["plans"].items()
        }


@dataclass
class PreparednessRecord(Folded):
    """A unit's preparedness with all it recorded, folded from its events in order: what GET
    /division-preparedness/{unit} and the audit history show. The aggregate decides the rules; this is read."""

    unit: str = ""
    name: str = ""
    version: int = 0
    readiness: str = ""
    readiness_history: list[ReadinessChange] = field(default_factory=list)
    plans: dict[str, ContinuityPlan] = field(default_factory=dict)

    def apply(self, e: Any) -> None:
        self.version = e.originator_version
        match type(e).__name__:
            case "Registered":
                self.unit, self.name, self.readiness = e.unit, e.name, e.readiness
            case "ReadinessChanged":
                self.readiness = e.to_level
                self.readiness_history.append(ReadinessChange(
                    from_level=e.from_level, to_level=e.to_level, decided_by=e.decided_by, reason=e.reason,
                    crisis_ref=e.crisis_ref, decision_ref=e.decision_ref, occurred_at=e.occurred_at,
                    recorded_at=e.recorded_at, actor=e.actor,
                ))
            case "PlanDrafted":
                self.plans[e.plan_id] = ContinuityPlan(
                    plan_id=e.plan_id, title=e.title, owner=e.owner,
                    critical_functions=[CriticalFunction(**f) for f in e.critical_functions],
                    classification=e.classification, next_review_due=e.next_review_due,
                )
            case "PlanApproved":
                plan = self.plans[e.plan_id]
                plan.status, plan.approved_by, plan.approved_at = "APPROVED", e.approved_by, e.occurred_at
            case "PlanReviewed":
                plan = self.plans[e.plan_id]
                plan.last_review_at, plan.next_review_due = e.occurred_at, e.next_review_due
                plan.reviews.append(PlanReview(
                    reviewed_at=e.occurred_at, recorded_at=e.recorded_at, actor=e.actor, notes=e.notes,
                    next_review_due=e.next_review_due,
                ))
            case "ExerciseRecorded":
                self.plans[e.plan_id].exercises.append(Exercise(
                    held_at=e.occurred_at, recorded_at=e.recorded_at, actor=e.actor, title=e.title,
                    findings=list(e.findings),
                ))
            case "PlanActivated":
                plan = self.plans[e.plan_id]
                plan.active_for, plan.activated_at = e.crisis_id, e.occurred_at
            case "PlanDeactivated":
                plan = self.plans[e.plan_id]
                plan.active_for = plan.activated_at = None
            case "PlanReviewDueSet":
                self.plans[e.plan_id].next_review_due = e.next_review_due
