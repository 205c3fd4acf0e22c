"""The Crisis aggregate: declaration, severity and status, crisis log, actions, situation reports, decisions.

Every event records the acting user and the server's recording time; entries also record when they
occurred (given by the user). Rules are checked before an event is triggered, so a refused command
appends nothing.
"""

from __future__ import annotations

from datetime import datetime

from domain.crisis_records import ENTITY_CLASSES  # noqa: F401 - the snapshot transcodings read it here
from domain.crisis_records import ActionState, ActionStatus, DecisionState, Entry
from domain.record import Record
from domain.situation_report import ReportDraft, check_form, check_sections, figures_digest
from domain.shared import (
    CATEGORIES,
    CONDITIONS,
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

ACTIVE, CONTAINED, RESOLVED, CLOSED = "ACTIVE", "CONTAINED", "RESOLVED", "CLOSED"


class Crisis(Record):
    """One crisis, from its declaration to its after-action review.

    It keeps what its rules need and no more (the texts of its records live in its events; CrisisRecord in
    domain.crisis_records folds them for reading): how many log entries, which were struck through and by whom,
    its actions by id with their units and status, its decisions by id with their successors, the
    classification of each log entry, action and decision that is not public, when and by whom each situation report and the after-action review were
    recorded, the plans active and the police requests open for it, and of a situation report in the making its
    form and which sections were given (`ReportDraft`)."""

    kind, key = "crisis", "crisis_id"
    class_version = 5

    # --- events ------------------------------------------------------------------------------------

    class Event(Record.Event):
        crisis_id: str

    class Declared(Event, Record.Created):
        crisis_id: str
        title: str
        category: str
        severity: int
        condition: str
        areas: list[str]
        lead_authority: str | None
        external_lead: str | None
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None
        exercise: bool = False  # declared as an exercise (stored before exercise mode: a real crisis)

        def apply(self, crisis: Crisis) -> None:
            crisis.crisis_id = self.crisis_id
            crisis.exercise = bool(self.exercise)
            crisis.title = self.title
            crisis.category = self.category
            crisis.severity = self.severity
            crisis.condition = self.condition
            crisis.areas = list(self.areas)
            crisis.lead_authority = self.lead_authority
            crisis.external_lead = self.external_lead
            crisis.classification = self.classification
            crisis.declared_at = self.occurred_at
            crisis.declared_by = self.actor
            crisis.status = ACTIVE
            crisis.status_changed_at = self.occurred_at
            crisis.entries = 0
            crisis.struck = {}
            crisis.classified_entries = {}
            crisis.actions = {}
            crisis.classified_actions = {}
            crisis.situation_reports = []
            crisis.decisions = {}
            crisis.classified_decisions = {}
            crisis.after_action_review = None
            crisis.active_plans = {}
            crisis.open_police_requests = {}
            crisis.sitrep_draft = None

        def summary(self) -> str:
            return N_("declared by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))

    class SeverityChanged(Event):
        from_severity: int
        to_severity: int
        reason: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.severity = self.to_severity

        def summary(self) -> str:
            return N_("severity changed to {severity} by {actor} at {time}", severity=self.to_severity, actor=self.actor, time=clock_time(self.occurred_at))

    class ConditionChanged(Event):
        from_condition: str
        to_condition: str
        reason: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.condition = self.to_condition

        def summary(self) -> str:
            return N_("condition changed to {condition} by {actor} at {time}", condition=self.to_condition, actor=self.actor, time=clock_time(self.occurred_at))

    class StatusChanged(Event):
        from_status: str
        to_status: str
        reason: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.status = self.to_status
            crisis.status_changed_at = self.occurred_at

        def summary(self) -> str:
            return N_("status changed to {status} by {actor} at {time}", status=self.to_status, actor=self.actor, time=clock_time(self.occurred_at))

    class LogEntryRecorded(Event):
        number: int
        text: str
        source: str | None
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.entries = self.number
            if not self.classification.is_public:
                crisis.classified_entries[str(self.number)] = self.classification

        def summary(self) -> str:
            return N_("log entry #{number} recorded by {actor} at {time}", number=self.number, actor=self.actor, time=clock_time(self.occurred_at))

    class LogEntryStruck(Event):
        number: int
        reason: str

        def apply(self, crisis: Crisis) -> None:
            crisis.struck[str(self.number)] = self.actor

        def summary(self) -> str:
            return N_("log entry #{number} struck through by {actor} at {time}", number=self.number, actor=self.actor, time=clock_time(self.recorded_at))

    class ActionAssigned(Event):
        action_id: str
        unit: str
        task: str
        due_at: datetime
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.actions[self.action_id] = ActionStatus(unit=self.unit)
            if not self.classification.is_public:
                crisis.classified_actions[self.action_id] = self.classification

        def summary(self) -> str:
            return N_("action {action_id} assigned to {unit} by {actor} at {time}", action_id=self.action_id, unit=self.unit, actor=self.actor, time=clock_time(self.occurred_at))

    class ActionClosed(Event):
        action_id: str
        outcome: str  # COMPLETED or CANCELLED
        note: str | None
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            action = crisis.actions[self.action_id]
            action.status = self.outcome
            action.closed_at = self.occurred_at
            action.closed_by = self.actor

        def summary(self) -> str:
            return N_("action {action_id} {outcome} by {actor} at {time}", action_id=self.action_id, outcome=outcome_words(self.outcome), actor=self.actor, time=clock_time(self.occurred_at))

    class SituationReportIssued(Event):
        number: int
        summary_text: str | None
        next_due_at: datetime | None
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.situation_reports.append(
                Entry(occurred_at=self.occurred_at, recorded_at=self.recorded_at, actor=self.actor)
            )

        def summary(self) -> str:
            return N_("situation report #{number} issued by {actor} at {time}", number=self.number, actor=self.actor, time=clock_time(self.occurred_at))

    class DecisionRecorded(Event):
        decision_id: str
        decided_by: str
        authority: str | None
        decision: str
        rationale: str
        options: list[str]
        review_at: datetime | None
        references: list[str]
        supersedes: str | None
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.decisions[self.decision_id] = None
            if self.supersedes:
                crisis.decisions[self.supersedes] = self.decision_id
            if not self.classification.is_public:
                crisis.classified_decisions[self.decision_id] = self.classification

        def summary(self) -> str:
            if self.supersedes:
                return N_("decision {decision_id} superseding {supersedes} by {actor} at {time}", decision_id=self.decision_id, supersedes=self.supersedes, actor=self.actor, time=clock_time(self.occurred_at))
            return N_("decision {decision_id} recorded by {actor} at {time}", decision_id=self.decision_id, actor=self.actor, time=clock_time(self.occurred_at))

    class DecisionReviewed(Event):
        decision_id: str
        outcome: str
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            pass  # a review changes no rule: it is read from the event

        def summary(self) -> str:
            return N_("decision {decision_id} reviewed by {actor} at {time}", decision_id=self.decision_id, actor=self.actor, time=clock_time(self.occurred_at))

    class ContinuityPlanActivated(Event):
        plan_id: str
        unit: str

        def apply(self, crisis: Crisis) -> None:
            crisis.active_plans[self.plan_id] = self.unit

        def summary(self) -> str:
            return N_("continuity plan {plan_id} activated by {actor} at {time}", plan_id=self.plan_id, actor=self.actor, time=clock_time(self.recorded_at))

    class ContinuityPlanDeactivated(Event):
        plan_id: str

        def apply(self, crisis: Crisis) -> None:
            crisis.active_plans.pop(self.plan_id, None)

        def summary(self) -> str:
            return N_("continuity plan {plan_id} deactivated by {actor} at {time}", plan_id=self.plan_id, actor=self.actor, time=clock_time(self.recorded_at))

    class PoliceRequestOpened(Event):
        request_id: str
        liaison_id: str

        def apply(self, crisis: Crisis) -> None:
            crisis.open_police_requests[self.request_id] = self.liaison_id

        def summary(self) -> str:
            return N_("police request {request_id} raised by {actor} at {time}", request_id=self.request_id, actor=self.actor, time=clock_time(self.recorded_at))

    class PoliceRequestClosed(Event):
        request_id: str
        outcome: str

        def apply(self, crisis: Crisis) -> None:
            crisis.open_police_requests.pop(self.request_id, None)

        def summary(self) -> str:
            return N_("police request {request_id} {outcome} by {actor} at {time}", request_id=self.request_id, outcome=outcome_words(self.outcome), actor=self.actor, time=clock_time(self.recorded_at))

    class AfterActionReviewRecorded(Event):
        findings: list[str]
        recommendations: list[str]
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.after_action_review = Entry(
                occurred_at=self.occurred_at, recorded_at=self.recorded_at, actor=self.actor
            )

        def summary(self) -> str:
            return N_("after-action review recorded by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))

    class SituationReportDrafted(Event):
        form: str
        classification: Classification

        def apply(self, crisis: Crisis) -> None:
            crisis.sitrep_draft = ReportDraft(form=self.form, classification=self.classification, drafted_by=self.actor)

        def summary(self) -> str:
            return N_("situation report drafted ({form}) by {actor} at {time}", form=self.form, actor=self.actor, time=clock_time(self.recorded_at))

    class SituationReportContributed(Event):
        unit: str | None
        sections: dict[str, str]
        classification: Classification

        def apply(self, crisis: Crisis) -> None:
            given = crisis.sitrep_draft.sections
            given.extend(section for section in self.sections if section not in given)

        def summary(self) -> str:
            return N_("situation report sections contributed by {actor} at {time}", actor=self.actor, time=clock_time(self.recorded_at))

    class DraftSituationReportIssued(Event):
        """The draft approved and issued: numbered with the other reports, its figures frozen with their digest."""

        number: int
        form: str
        next_due_at: datetime | None
        figures: dict
        figures_digest: str
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.situation_reports.append(
                Entry(occurred_at=self.occurred_at, recorded_at=self.recorded_at, actor=self.actor)
            )
            crisis.sitrep_draft = None

        def summary(self) -> str:
            return N_("situation report #{number} issued by {actor} at {time}", number=self.number, actor=self.actor, time=clock_time(self.occurred_at))

    class AreasChanged(Event):
        """Districts added to the affected areas (as named) or removed from them (as the crisis named them)."""

        added: list[str]
        removed: list[str]
        reason: str
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, crisis: Crisis) -> None:
            crisis.areas = [a for a in crisis.areas if a not in self.removed] + list(self.added)

        def summary(self) -> str:
            return N_("affected areas changed by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))


    # --- commands ------------------------------------------------------------------------------------

    @classmethod
    def declare(
        cls,
        *,
        crisis_id: str,
        title: str,
        category: str,
        severity: int,
        condition: str = "NORMAL_DISRUPTION",
        areas: list[str] | None = None,
        lead_authority: str | None = None,
        external_lead: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        exercise: bool = False,
        emergency_conditions_in_force: bool,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> Crisis:
        required_text(crisis_id, "the crisis id")
        required_text(title, "the title")
        if category not in CATEGORIES:
            raise DomainError(Rule.INVALID_INPUT, "category {category!r} is not one of {categories}", {"category": category, "categories": ', '.join(CATEGORIES)})
        policy.check_severity(severity)
        _check_condition(condition, emergency_conditions_in_force)
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)
        areas = policy.districts.check_areas(areas or [])
        return cls._create(
            cls.Declared,
            id=cls.id_for(crisis_id),
            crisis_id=crisis_id,
            title=title.strip(),
            category=category,
            severity=severity,
            condition=condition,
            areas=list(areas or []),
            lead_authority=lead_authority,
            external_lead=external_lead,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            exercise=exercise,
            actor=actor,
            recorded_at=now,
        )

    def change_severity(
        self,
        *,
        to_severity: int,
        reason: str | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        policy.check_severity(to_severity)
        self.check_time(occurred_at, now, policy, late_entry_reason)
        if to_severity == self.severity:
            raise DomainError(Rule.INVALID_TRANSITION, "{crisis_id} is already at severity {to_severity}", {"crisis_id": self.crisis_id, "to_severity": to_severity})
        self.trigger_event(
            self.SeverityChanged,
            from_severity=self.severity,
            to_severity=to_severity,
            reason=reason,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def change_condition(
        self,
        *,
        to_condition: str,
        reason: str | None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        emergency_conditions_in_force: bool,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        _check_condition(to_condition, emergency_conditions_in_force)
        self.check_time(occurred_at, now, policy, late_entry_reason)
        if to_condition == self.condition:
            raise DomainError(Rule.INVALID_TRANSITION, "{crisis_id} is already under {to_condition}", {"crisis_id": self.crisis_id, "to_condition": to_condition})
        self.trigger_event(
            self.ConditionChanged,
            from_condition=self.condition,
            to_condition=to_condition,
            reason=reason,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def contain(self, **kwargs: object) -> None:
        self._move(CONTAINED, {ACTIVE}, **kwargs)

    def reopen(self, **kwargs: object) -> None:
        self._move(ACTIVE, {CONTAINED}, **kwargs)

    def resolve(self, **kwargs: object) -> None:
        self._move(RESOLVED, {CONTAINED}, **kwargs)

    def close(self, **kwargs: object) -> None:
        if self.status == RESOLVED:
            open_actions = sorted(i for i, a in self.actions.items() if a.status == "OPEN")
            if open_actions:
                raise DomainError(Rule.OPEN_ITEMS, "open actions: [{open_actions}]", {"open_actions": ', '.join(open_actions)})
            if self.open_police_requests:
                requests = ", ".join(sorted(self.open_police_requests))
                raise DomainError(Rule.OPEN_ITEMS, "open police requests: [{requests}]", {"requests": requests})
            if self.active_plans:
                plans = ", ".join(sorted(self.active_plans))
                raise DomainError(
                    Rule.PLAN_STILL_ACTIVE, "{plans} still active; the unit deactivates it before the crisis can close", {"plans": plans}
                )
        self._move(CLOSED, {RESOLVED}, **kwargs)

    def record_log_entry(
        self,
        *,
        text: str,
        source: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> int:
        self.check_open()
        required_text(text, "the log entry text")
        self.check_time(occurred_at, now, policy, late_entry_reason)
        number = self.entries + 1
        self.trigger_event(
            self.LogEntryRecorded,
            number=number,
            text=text,
            source=source,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )
        return number

    def strike_log_entry(self, *, number: int, reason: str, actor: str, now: datetime) -> None:
        self.check_open()
        required_text(reason, "the reason for striking the entry through")
        if not 1 <= number <= self.entries:
            raise DomainError(Rule.NOT_FOUND, "{crisis_id} has no log entry #{number}", {"crisis_id": self.crisis_id, "number": number})
        struck_by = self.struck.get(str(number))
        if struck_by is not None:
            raise DomainError(
                Rule.IMMUTABLE_RECORD,
                "log entry #{number} was already struck through by {struck_by}; entries are never changed", {"number": number, "struck_by": struck_by},
            )
        self.trigger_event(self.LogEntryStruck, number=number, reason=reason, actor=actor, recorded_at=now)

    def assign_action(
        self,
        *,
        action_id: str,
        unit: str,
        task: str,
        due_at: datetime | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        required_text(action_id, "the action id")
        policy.units.check_unit(unit)
        required_text(task, "the task")
        self.check_time(occurred_at, now, policy, late_entry_reason)
        if action_id in self.actions:
            raise DomainError(Rule.ALREADY_EXISTS, "{crisis_id} already has an action {action_id}", {"crisis_id": self.crisis_id, "action_id": action_id})
        check_assigned_due(
            due_at, occurred_at, now, policy.time,
            N_("action {action_id} needs a due time after its assignment", action_id=action_id),
        )
        self.trigger_event(
            self.ActionAssigned,
            action_id=action_id,
            unit=unit,
            task=task,
            due_at=due_at,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def action(self, action_id: str) -> ActionStatus:
        try:
            return self.actions[action_id]
        except KeyError:
            raise DomainError(Rule.NOT_FOUND, "{crisis_id} has no action {action_id}", {"crisis_id": self.crisis_id, "action_id": action_id}) from None

    def complete_action(self, **kwargs: object) -> None:
        self._close_action("COMPLETED", **kwargs)

    def cancel_action(self, **kwargs: object) -> None:
        self._close_action("CANCELLED", **kwargs)

    def issue_situation_report(
        self,
        *,
        number: int | None = None,
        summary: str | None = None,
        next_due_at: datetime | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> int:
        self.check_open()
        self.check_time(occurred_at, now, policy, late_entry_reason)
        expected = len(self.situation_reports) + 1
        number = expected if number is None else number
        if number < expected:
            issued = self.situation_reports[number - 1] if number >= 1 else None
            if issued is None:
                raise DomainError(Rule.DUPLICATE_SEQUENCE, "sitrep #{number} is not valid; next is #{expected}", {"number": number, "expected": expected})
            raise DomainError(Rule.DUPLICATE_SEQUENCE, "sitrep #{number} already issued {at} by {actor}; next is #{expected}", {"number": number, "at": clock_time(issued.occurred_at), "actor": issued.actor, "expected": expected})
        if number > expected:
            raise DomainError(
                Rule.DUPLICATE_SEQUENCE, "sitrep #{number} would skip a number; next is #{expected}", {"number": number, "expected": expected}
            )
        _check_next_report_due(next_due_at, occurred_at, now, policy)
        self.trigger_event(
            self.SituationReportIssued,
            number=number,
            summary_text=summary,
            next_due_at=next_due_at,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )
        return number

    def draft_situation_report(
        self, *, form: str | None = None, classification: Classification = PUBLIC, actor: str, now: datetime
    ) -> str:
        """Start the next structured report: METHANE for the first, STANDARD after (domain.situation_report)."""
        self.check_open()
        draft = self.sitrep_draft
        if draft is not None:
            raise DomainError(
                Rule.ALREADY_EXISTS,
                "{crisis_id} already has a situation report draft ({form}, by {actor}); issue it first",
                {"crisis_id": self.crisis_id, "form": draft.form, "actor": draft.drafted_by},
            )
        first = not self.situation_reports
        form = check_form(form or ("METHANE" if first else "STANDARD"), first, self.crisis_id)
        self.trigger_event(
            self.SituationReportDrafted, form=form, classification=classification, actor=actor, recorded_at=now
        )
        return form

    def contribute_situation_report(
        self, *, unit: str | None, sections: dict[str, str], policy: Policy, actor: str, now: datetime
    ) -> None:
        """Sections of the draft from a unit (or from the duty officer, for none)."""
        self.check_open()
        draft = self.report_draft()
        if unit is not None:
            policy.units.check_unit(unit)
        sections = check_sections(draft.form, sections)
        self.trigger_event(
            self.SituationReportContributed, unit=unit, sections=sections, classification=draft.classification,
            actor=actor, recorded_at=now,
        )

    def issue_drafted_situation_report(
        self,
        *,
        figures: dict,
        next_due_at: datetime | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> int:
        """Approve and issue the draft as the next report, with the figures read at this moment."""
        self.check_open()
        draft = self.report_draft()
        self.check_time(occurred_at, now, policy, late_entry_reason)
        missing = draft.missing()
        if missing and draft.form == "METHANE":
            raise DomainError(
                Rule.METHANE_REQUIRED, "the METHANE report of {crisis_id} lacks {missing}",
                {"crisis_id": self.crisis_id, "missing": ", ".join(missing)},
            )
        if missing:
            raise DomainError(
                Rule.REPORT_INCOMPLETE, "the situation report of {crisis_id} lacks {missing}",
                {"crisis_id": self.crisis_id, "missing": ", ".join(missing)},
            )
        _check_next_report_due(next_due_at, occurred_at, now, policy)
        number = len(self.situation_reports) + 1
        self.trigger_event(
            self.DraftSituationReportIssued,
            number=number,
            form=draft.form,
            next_due_at=next_due_at,
            figures=figures,
            figures_digest=figures_digest(figures),
            classification=draft.classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )
        return number

    def report_draft(self) -> ReportDraft:
        if self.sitrep_draft is None:
            raise DomainError(
                Rule.REPORT_NOT_DRAFTED, "{crisis_id} has no situation report draft; draft one first",
                {"crisis_id": self.crisis_id},
            )
        return self.sitrep_draft

    def record_decision(
        self,
        *,
        decision_id: str,
        decided_by: str,
        authority: str | None = None,
        decision: str,
        rationale: str,
        options: list[str],
        review_at: datetime | None = None,
        references: list[str] | None = None,
        supersedes: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        required_text(decision_id, "the decision id")
        required_text(decided_by, "decided by (the competent office-holder)")
        required_text(decision, "the decision")
        required_text(rationale, "the rationale")
        if len([o for o in options if o.strip()]) < 2:
            raise DomainError(Rule.TOO_FEW_OPTIONS, "a decision records at least two options considered")
        self.check_time(occurred_at, now, policy, late_entry_reason)
        if decision_id in self.decisions:
            raise DomainError(
                Rule.IMMUTABLE_RECORD,
                "decision {decision_id} is already recorded and cannot be changed; supersede it with a new decision", {"decision_id": decision_id},
            )
        if supersedes is not None:
            if supersedes not in self.decisions:
                raise DomainError(
                    Rule.WRONG_CRISIS,
                    "{supersedes} is not a decision of {crisis_id}; a decision is superseded within its own crisis", {"supersedes": supersedes, "crisis_id": self.crisis_id},
                )
            successor = self.decisions[supersedes]
            if successor:
                raise DomainError(
                    Rule.IMMUTABLE_RECORD,
                    "{supersedes} was already superseded by {superseded_by}; supersede {superseded_by} instead", {"supersedes": supersedes, "superseded_by": successor},
                )
        check_due_time(review_at, now, policy.time, "review_at")
        if review_at is not None and review_at <= occurred_at:
            raise DomainError(Rule.INVALID_DUE_TIME, "review time {review_at} must be after the decision", {"review_at": display(review_at)})
        self.trigger_event(
            self.DecisionRecorded,
            decision_id=decision_id,
            decided_by=decided_by,
            authority=authority,
            decision=decision,
            rationale=rationale,
            options=[o for o in options if o.strip()],
            review_at=review_at,
            references=list(references or []),
            supersedes=supersedes,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def record_decision_review(
        self,
        *,
        decision_id: str,
        outcome: str,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        if decision_id not in self.decisions:
            raise DomainError(Rule.NOT_FOUND, "{crisis_id} has no decision {decision_id}", {"crisis_id": self.crisis_id, "decision_id": decision_id})
        required_text(outcome, "the review outcome")
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.DecisionReviewed,
            decision_id=decision_id,
            outcome=outcome,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def link_plan(self, *, plan_id: str, unit: str, actor: str, now: datetime) -> None:
        """A unit activated one of its continuity plans for this crisis."""
        self.check_open()
        self.trigger_event(self.ContinuityPlanActivated, plan_id=plan_id, unit=unit, actor=actor, recorded_at=now)

    def unlink_plan(self, *, plan_id: str, actor: str, now: datetime) -> None:
        if plan_id in self.active_plans:
            self.trigger_event(self.ContinuityPlanDeactivated, plan_id=plan_id, actor=actor, recorded_at=now)

    def link_police_request(self, *, request_id: str, liaison_id: str, actor: str, now: datetime) -> None:
        """A police request was raised for this crisis: it must be closed before the crisis is."""
        self.check_open()
        self.trigger_event(
            self.PoliceRequestOpened, request_id=request_id, liaison_id=liaison_id, actor=actor, recorded_at=now
        )

    def unlink_police_request(self, *, request_id: str, outcome: str, actor: str, now: datetime) -> None:
        if request_id in self.open_police_requests:
            self.trigger_event(
                self.PoliceRequestClosed, request_id=request_id, outcome=outcome, actor=actor, recorded_at=now
            )

    def record_after_action_review(
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
        self.check_reviewable()
        review_findings(findings)
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.AfterActionReviewRecorded,
            findings=list(findings),
            recommendations=list(recommendations or []),
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def check_reviewable(self) -> None:
        """The after-action review waits until the crisis is CLOSED, and one recorded here is its only one (a
        drafted review, domain.after_action_review, checks this too)."""
        if self.status != CLOSED:
            raise DomainError(
                Rule.CRISIS_NOT_CLOSED,
                "{crisis_id} is {status}; the after-action review is recorded once it is CLOSED", {"crisis_id": self.crisis_id, "status": self.status},
            )
        if self.after_action_review is not None:
            raise DomainError(
                Rule.IMMUTABLE_RECORD,
                "the after-action review of {crisis_id} was recorded by {actor} "
                "at {recorded_at}; it is recorded once", {"crisis_id": self.crisis_id, "actor": self.after_action_review.actor, "recorded_at": display(self.after_action_review.recorded_at)},
            )

    def change_areas(
        self,
        *,
        added: list[str] | None = None,
        removed: list[str] | None = None,
        reason: str,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        """Add districts of the registry to the affected areas (UNKNOWN_AREA, AREA_ALREADY_AFFECTED) or remove
        areas the crisis names (UNKNOWN_AREA), with the reason. An area is matched by its district, whichever of
        its names is given; one recorded before the registry knew it is removed by the name it was recorded with."""
        self.check_open()
        required_text(reason, "the reason for changing the areas")
        if not (added or removed):
            raise DomainError(Rule.INVALID_INPUT, "name the areas to add or to remove")
        registry = policy.districts
        districts = {a: registry.find(a) for a in self.areas}
        affected = {d.code: a for a, d in districts.items() if d is not None}
        adding = registry.check_areas(added or [])
        for name in adding:
            if registry.get(name).code in affected:
                raise DomainError(
                    Rule.AREA_ALREADY_AFFECTED, "{area} is already an affected area of {crisis_id}",
                    {"area": name, "crisis_id": self.crisis_id},
                )
        removing: list[str] = []
        for area in removed or []:
            named = next((a for a in self.areas if a.casefold() == area.strip().casefold()), None)
            district = registry.find(area)
            named = named or (affected.get(district.code) if district is not None else None)
            if named is None:
                raise DomainError(
                    Rule.UNKNOWN_AREA, "{area} is not an affected area of {crisis_id}",
                    {"area": area, "crisis_id": self.crisis_id},  # (its areas are content: a SECRET crisis's too)
                )
            if named not in removing:
                removing.append(named)
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.AreasChanged,
            added=adding,
            removed=removing,
            reason=reason,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    # --- reads ---------------------------------------------------------------------------------------

    def entry_classification(self, number: int) -> Classification | None:
        """The classification of log entry #`number`, None for an entry it does not have."""
        return self.classified_entries.get(str(number), PUBLIC) if 1 <= number <= self.entries else None

    def action_classification(self, action_id: str) -> Classification | None:
        """The classification of an action (what its closing is as secret as), None for one it does not have."""
        return self.classified_actions.get(action_id, PUBLIC) if action_id in self.actions else None

    def decision_classification(self, decision_id: str) -> Classification | None:
        """The classification of a decision (what its reviews are as secret as), None for one it does not have."""
        return self.classified_decisions.get(decision_id, PUBLIC) if decision_id in self.decisions else None

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        """A snapshot of version 1 held the whole records: keep what the rules need (class docstring)."""
        log = state.pop("log")
        state["entries"] = len(log)
        state["struck"] = {str(e.number): e.struck_by for e in log if e.struck}
        state["classified_entries"] = {str(e.number): e.classification for e in log if not e.classification.is_public}
        state["actions"] = {
            i: ActionState(a.unit, a.classification, a.status, a.closed_at, a.closed_by)
            for i, a in state["actions"].items()
        }
        state["situation_reports"] = [Entry(r.occurred_at, r.recorded_at, r.actor) for r in state["situation_reports"]]
        state["decisions"] = {i: DecisionState(d.classification, d.superseded_by) for i, d in state["decisions"].items()}
        review = state["after_action_review"]
        state["after_action_review"] = review and Entry(review.occurred_at, review.recorded_at, review.actor)

    @staticmethod
    def upcast_v2_v3(state: dict) -> None:
        """A snapshot of version 2 kept each action's and decision's classification beside it: keep only those
        not public, apart, and of a decision only its successor (it grew by some 150 bytes a record)."""
        actions, decisions = state["actions"], state["decisions"]
        state["actions"] = {i: ActionStatus(a.unit, a.status, a.closed_at, a.closed_by) for i, a in actions.items()}
        state["classified_actions"] = {i: a.classification for i, a in actions.items() if not a.classification.is_public}
        state["decisions"] = {i: d.superseded_by for i, d in decisions.items()}
        state["classified_decisions"] = {
            i: d.classification for i, d in decisions.items() if not d.classification.is_public
        }

    @staticmethod
    def upcast_v3_v4(state: dict) -> None:
        """A snapshot of version 3 was taken before structured situation reports: it has no draft."""
        state["sitrep_draft"] = None

    @staticmethod
    def upcast_v4_v5(state: dict) -> None:
        """A snapshot of version 4 was taken before exercise mode: its crisis is a real one."""
        state["exercise"] = False

    # --- helpers -------------------------------------------------------------------------------------

    def check_open(self) -> None:
        if self.status == CLOSED:
            raise DomainError(
                Rule.CRISIS_CLOSED,
                "{crisis_id} is CLOSED; only the after-action review can be recorded now", {"crisis_id": self.crisis_id},
            )

    def check_time(
        self, occurred_at: datetime, now: datetime, policy: Policy, late_entry_reason: str | None
    ) -> None:
        check_entry_time(
            occurred_at,
            now,
            policy.time,
            late_entry_reason=late_entry_reason,
            not_before=self.declared_at,
            not_before_label=N_("{crisis_id} was declared", crisis_id=self.crisis_id),
        )

    def _move(
        self,
        to_status: str,
        allowed_from: set[str],
        *,
        reason: str | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        if self.status not in allowed_from:
            raise DomainError(
                Rule.INVALID_TRANSITION,
                "{crisis_id} is {status}; it can become {to_status} only from {allowed_from}", {"crisis_id": self.crisis_id, "status": self.status, "to_status": to_status, "allowed_from": ' or '.join(sorted(allowed_from))},
            )
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.StatusChanged,
            from_status=self.status,
            to_status=to_status,
            reason=reason,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def _close_action(
        self,
        outcome: str,
        *,
        action_id: str,
        note: str | None = None,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        self.check_open()
        action = self.action(action_id)
        if action.status != "OPEN":
            raise DomainError(
                Rule.ACTION_NOT_OPEN,
                "action {action_id} was already {action_status} by {closed_by} "
                "at {closed_at}", {"action_id": action_id, "action_status": outcome_words(action.status), "closed_by": action.closed_by, "closed_at": display(action.closed_at)},
            )
        self.check_time(occurred_at, now, policy, late_entry_reason)
        self.trigger_event(
            self.ActionClosed,
            action_id=action_id,
            outcome=outcome,
            note=note,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )


def _check_next_report_due(next_due_at: datetime | None, occurred_at: datetime, now: datetime, policy: Policy) -> None:
    """When the next situation report is due: within the due window, and after this one."""
    check_due_time(next_due_at, now, policy.time, "next_due_at")
    if next_due_at is not None and next_due_at <= occurred_at:
        raise DomainError(
            Rule.INVALID_DUE_TIME, "the next report's due time {next_due_at} must be after this one", {"next_due_at": display(next_due_at)}
        )
def review_findings(findings: list[str]) -> list[str]:
    """The findings of an after-action review given (blank ones left out): at least one."""
    kept = [finding for finding in findings if finding.strip()]
    if not kept:
        raise DomainError(Rule.INVALID_INPUT, "an after-action review records at least one finding")
    return kept


def _check_condition(condition: str, emergency_conditions_in_force: bool) -> None:
    if condition not in CONDITIONS:
        raise DomainError(Rule.INVALID_INPUT, "condition {condition!r} is not one of {conditions}", {"condition": condition, "conditions": ', '.join(CONDITIONS)})
    if condition == "EMERGENCY_CONDITIONS" and not emergency_conditions_in_force:
        raise DomainError(
            Rule.NO_EMERGENCY_CONDITIONS,
            "EMERGENCY_CONDITIONS applies only while emergency conditions under the Emergency Powers Act "
            "are recorded as in force",
        )
