"""The crisis use cases: one typed method per domain verb (DOMAIN.md, "Crisis"), mixed into the Coordination.

Each is a command of the pipeline in application.coordination: PERMISSIONS authorises it by its name, the
crisis is loaded and its expected version checked, then the body below runs and the crisis is saved. An
entry's time (`occurred_at`) defaults to now.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from application.ports import EventLogReader

from domain.access import Actor, Role, authorise
from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.crisis_records import CrisisRecord
from domain.shared import PUBLIC, Classification, DomainError, Rule

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


LOG_SHOWN = 100  # the latest log entries a crisis answer holds; GET /crises/{id}/timeline pages through them all
TAIL_PAGE = 128  # events read at a time, newest first, to find them
RECORDS = [  # the events of a crisis other than its log: its head and its other records
    get_topic(cls) for cls in vars(Crisis).values()
    if isinstance(cls, type) and issubclass(cls, Crisis.Event) and cls not in (Crisis.LogEntryRecorded, Crisis.LogEntryStruck)
]


RECORD_TOPICS = frozenset(RECORDS)
CRISES_KEPT = 1000  # crises whose other records a process keeps read (the latest read)


class RecordsRead:
    """The events other than its log of the crises read last, each up to the version it was read at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._read: OrderedDict[UUID, tuple[int, tuple[Any, ...]]] = OrderedDict()

    def get(self, crisis: UUID) -> tuple[int, tuple[Any, ...]]:
        with self._lock:
            return self._read.get(crisis, (0, ()))

    def put(self, crisis: UUID, version: int, events: tuple[Any, ...]) -> None:
        with self._lock:
            if self._read.get(crisis, (0,))[0] < version:
                self._read[crisis] = (version, events)
                self._read.move_to_end(crisis)
            while len(self._read) > CRISES_KEPT:
                self._read.popitem(last=False)


class CrisisUseCases(UseCases):
    event_log: EventLogReader  # the stored events by aggregate and type (handed in by infrastructure.bootstrap)

    def get_crisis(self, actor: Actor, crisis_id: str) -> CrisisRecord:
        authorise(actor, "get_crisis")
        return self.crisis_record(crisis_id)

    def crisis_record(self, crisis_id: str, version: int | None = None) -> CrisisRecord:
        """The crisis with what it recorded (at `version`), folded from its events: every record but the log, of
        which the latest LOG_SHOWN entries. A long crisis's log is not read whole: its newest events are read
        back to the LOG_SHOWN-th latest entry, and its other records by their types."""
        crisis = Crisis.id_for(crisis_id)
        tail: list[Any] = []
        entries = 0
        while entries < LOG_SHOWN:
            below = tail[-1].originator_version - 1 if tail else version
            page = list(self.events.get(crisis, lte=below, desc=True, limit=TAIL_PAGE))
            tail += page
            entries += sum(isinstance(e, Crisis.LogEntryRecorded) for e in page)
            if len(page) < TAIL_PAGE:
                break
        if not tail:
            raise DomainError(Rule.NOT_FOUND, "there is no crisis {crisis_id}", {"crisis_id": crisis_id})
        head, start = tail[0].originator_version, tail[-1].originator_version
        older = [e for e in self._records_of(crisis, head) if e.originator_version < start]
        return CrisisRecord.of([*older, *reversed(tail)], log_shown=LOG_SHOWN)

    @cached_property
    def _records_read(self) -> RecordsRead:
        return RecordsRead()

    def _records_of(self, crisis: UUID, head: int) -> list[Any]:
        """The crisis's events other than its log, up to version `head`. The first read in this process selects
        them by their types (the database still visits each of the crisis's rows); they are kept, and later
        reads add only those among the events since (read undecoded: a log entry is passed over by its topic)."""
        known, events = self._records_read.get(crisis)
        if head > known:
            if known == 0:
                new = self._select_records(crisis)
            else:
                stored = self.recorder.select_events(crisis, gt=known, lte=head)
                new = [self.mapper.to_domain_event(s) for s in stored if s.topic in RECORD_TOPICS]
            events = (*events, *(e for e in new if known < e.originator_version <= head))
            self._records_read.put(crisis, head, events)
        return [e for e in events if e.originator_version <= head]

    def _select_records(self, crisis: UUID) -> list[Any]:
        found, after = [], 0
        while True:
            page = self.event_log.select(after=after, limit=TAIL_PAGE, originators=[crisis], topics=RECORDS)
            found += [self.event_log.decode(n) for n in page]
            if len(page) < TAIL_PAGE:
                return found
            after = page[-1].id

    def _change_crisis(
        self,
        use_case: str,
        actor: Actor,
        crisis_id: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[Crisis, datetime], list[Aggregate] | None],
    ) -> int:
        return self._command(
            use_case, actor, crisis_id, lambda: self.load_crisis(crisis_id), expected_version, payload, change
        )

    def declare_crisis(
        self,
        actor: Actor,
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
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        exercise: bool = False,
    ) -> int:
        def attempt(now: datetime) -> list[Aggregate]:
            if Crisis.id_for(crisis_id) in self.repository:
                raise DomainError(Rule.ALREADY_EXISTS, "crisis {crisis_id} is already declared; choose another id", {"crisis_id": crisis_id})
            emergency = condition == "EMERGENCY_CONDITIONS" and self.emergency_conditions_in_force()
            crisis = Crisis.declare(
                crisis_id=crisis_id,
                title=title,
                category=category,
                severity=severity,
                condition=condition,
                areas=areas,
                lead_authority=lead_authority,
                external_lead=external_lead,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                exercise=exercise,
                emergency_conditions_in_force=emergency,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            return [crisis]

        payload = {"title": title, "category": category, "severity": severity, "condition": condition}
        if exercise:
            payload["exercise"] = True
        return self._run("declare_crisis", actor, crisis_id, payload, attempt)[0].version

    def change_severity(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        to_severity: int,
        reason: str | None = None,
        from_severity: int | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(crisis: Crisis, now: datetime) -> None:
            if from_severity is not None and from_severity != crisis.severity:
                raise DomainError(
                    Rule.INVALID_TRANSITION, "{crisis_id} is at severity {severity}, not {from_severity}", {"crisis_id": crisis_id, "severity": crisis.severity, "from_severity": from_severity}
                )
            crisis.change_severity(
                to_severity=to_severity,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"to_severity": to_severity, "reason": reason}
        return self._change_crisis("change_severity", actor, crisis_id, expected_version, payload, change)

    def change_condition(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        to_condition: str,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(crisis: Crisis, now: datetime) -> None:
            crisis.change_condition(
                to_condition=to_condition,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                emergency_conditions_in_force=self.emergency_conditions_in_force(),
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"to_condition": to_condition, "reason": reason}
        return self._change_crisis("change_condition", actor, crisis_id, expected_version, payload, change)

    def _move_crisis(
        self,
        use_case: str,
        move: Callable[..., None],
        actor: Actor,
        crisis_id: str,
        reason: str | None,
        occurred_at: datetime | None,
        late_entry_reason: str | None,
        expected_version: int | None,
    ) -> int:
        """A change of status: `move` is the crisis's own verb (Crisis.contain, …)."""

        def change(crisis: Crisis, now: datetime) -> None:
            move(
                crisis,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(reason=reason, occurred_at=occurred_at, late_entry_reason=late_entry_reason)
        return self._change_crisis(use_case, actor, crisis_id, expected_version, payload, change)

    def contain_crisis(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """ACTIVE → CONTAINED."""
        return self._move_crisis(
            "contain_crisis", Crisis.contain, actor, crisis_id, reason, occurred_at, late_entry_reason, expected_version
        )

    def reopen_crisis(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """CONTAINED → ACTIVE."""
        return self._move_crisis(
            "reopen_crisis", Crisis.reopen, actor, crisis_id, reason, occurred_at, late_entry_reason, expected_version
        )

    def resolve_crisis(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """CONTAINED → RESOLVED."""
        return self._move_crisis(
            "resolve_crisis", Crisis.resolve, actor, crisis_id, reason, occurred_at, late_entry_reason, expected_version
        )

    def close_crisis(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """RESOLVED → CLOSED, once nothing is left open for it (OPEN_ITEMS, PLAN_STILL_ACTIVE)."""
        return self._move_crisis(
            "close_crisis", Crisis.close, actor, crisis_id, reason, occurred_at, late_entry_reason, expected_version
        )

    def record_log_entry(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        text: str,
        source: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Division contacts record entries reporting from their own unit."""
        if actor.role is Role.DIVISION_CONTACT and source is None:
            source = actor.unit

        def change(crisis: Crisis, now: datetime) -> None:
            if actor.role is Role.DIVISION_CONTACT and source != actor.unit:
                raise DomainError(
                    Rule.FORBIDDEN_ROLE,
                    "the division contact of {unit} records entries reporting from {unit} only", {"unit": actor.unit},
                )
            crisis.record_log_entry(
                text=text,
                source=source,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(
            text=text, source=source, classification=classification, occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
        )
        return self._change_crisis("record_log_entry", actor, crisis_id, expected_version, payload, change)

    def strike_log_entry(
        self, actor: Actor, crisis_id: str, *, number: int, reason: str, expected_version: int | None = None
    ) -> int:
        def change(crisis: Crisis, now: datetime) -> None:
            crisis.strike_log_entry(number=number, reason=reason, actor=actor.user, now=now)

        payload = {"number": number, "reason": reason}
        return self._change_crisis("strike_log_entry", actor, crisis_id, expected_version, payload, change)

    def assign_action(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        action_id: str,
        unit: str,
        task: str,
        due_at: datetime | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Assign an action to a city unit, due after the time of assignment."""

        def change(crisis: Crisis, now: datetime) -> None:
            crisis.assign_action(
                action_id=action_id,
                unit=unit,
                task=task,
                due_at=due_at,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(
            action_id=action_id, unit=unit, task=task, due_at=due_at, classification=classification,
            occurred_at=occurred_at, late_entry_reason=late_entry_reason,
        )
        return self._change_crisis("assign_action", actor, crisis_id, expected_version, payload, change)

    def _close_action(
        self,
        use_case: str,
        close: Callable[..., None],
        actor: Actor,
        crisis_id: str,
        action_id: str,
        note: str | None,
        occurred_at: datetime | None,
        late_entry_reason: str | None,
        expected_version: int | None,
    ) -> int:
        """Complete or cancel an action: `close` is the crisis's own verb (Crisis.complete_action, …). A division
        contact (allowed to complete only) closes its own unit's actions."""

        def change(crisis: Crisis, now: datetime) -> None:
            action = crisis.action(action_id)
            if actor.role is Role.DIVISION_CONTACT and action.unit != actor.unit:
                raise DomainError(
                    Rule.FORBIDDEN_ROLE,
                    "{action_id} is assigned to {action_unit}; the division contact of {unit} "
                    "completes its own unit's actions only", {"action_id": action_id, "action_unit": action.unit, "unit": actor.unit},
                )
            close(
                crisis,
                action_id=action_id,
                note=note,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"action_id": action_id, "note": note}
        return self._change_crisis(use_case, actor, crisis_id, expected_version, payload, change)

    def complete_action(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        action_id: str,
        note: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Complete an action: a duty officer, or the division contact of the unit it is assigned to."""
        return self._close_action(
            "complete_action", Crisis.complete_action, actor, crisis_id, action_id, note, occurred_at, late_entry_reason,
            expected_version,
        )

    def cancel_action(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        action_id: str,
        note: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Cancel an action, with a note."""
        return self._close_action(
            "cancel_action", Crisis.cancel_action, actor, crisis_id, action_id, note, occurred_at, late_entry_reason,
            expected_version,
        )

    def issue_situation_report(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        number: int | None = None,
        summary: str | None = None,
        next_due_at: datetime | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Issue the next situation report; `number` defaults to the next."""

        def change(crisis: Crisis, now: datetime) -> None:
            crisis.issue_situation_report(
                number=number,
                summary=summary,
                next_due_at=next_due_at,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(
            number=number, summary=summary, next_due_at=next_due_at, classification=classification,
            occurred_at=occurred_at, late_entry_reason=late_entry_reason,
        )
        return self._change_crisis("issue_situation_report", actor, crisis_id, expected_version, payload, change)

    def record_decision(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        decision_id: str,
        decided_by: str,
        decision: str,
        rationale: str,
        options: list[str],
        authority: str | None = None,
        review_at: datetime | None = None,
        references: list[str] | None = None,
        supersedes: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Record a decision on behalf of the decision-maker (`decided_by`); with `supersedes`, superseding one
        of this crisis."""

        def change(crisis: Crisis, now: datetime) -> None:
            crisis.record_decision(
                decision_id=decision_id,
                decided_by=decided_by,
                authority=authority,
                decision=decision,
                rationale=rationale,
                options=options,
                review_at=review_at,
                references=references,
                supersedes=supersedes,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(
            decision_id=decision_id, decided_by=decided_by, authority=authority, decision=decision,
            rationale=rationale, options=options, review_at=review_at, references=references, supersedes=supersedes,
            classification=classification, occurred_at=occurred_at, late_entry_reason=late_entry_reason,
        )
        use_case = "supersede_decision" if supersedes else "record_decision"
        return self._change_crisis(use_case, actor, crisis_id, expected_version, payload, change)

    def record_decision_review(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        decision_id: str,
        outcome: str,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Append a review outcome to a decision."""

        def change(crisis: Crisis, now: datetime) -> None:
            crisis.record_decision_review(
                decision_id=decision_id,
                outcome=outcome,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(
            decision_id=decision_id, outcome=outcome, occurred_at=occurred_at, late_entry_reason=late_entry_reason
        )
        return self._change_crisis("record_decision_review", actor, crisis_id, expected_version, payload, change)

    def record_after_action_review(
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
        """The after-action review, once the crisis is CLOSED (preparedness manager): final in one step. It is
        marked as the crisis's review (AfterActionReview.RecordedOnCrisis) in the same write, so that it and a
        drafted review exclude each other."""

        def change(crisis: Crisis, now: datetime) -> list[Aggregate]:
            crisis.record_after_action_review(
                findings=findings,
                recommendations=recommendations,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            self.check_no_review(crisis_id)  # type: ignore[attr-defined]
            return [AfterActionReview.recorded_on_crisis(crisis_id=crisis_id, actor=actor.user, now=now)]

        payload = self._given(
            findings=findings, recommendations=recommendations, occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
        )
        return self._change_crisis("record_after_action_review", actor, crisis_id, expected_version, payload, change)

    def change_areas(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        reason: str,
        added: list[str] | None = None,
        removed: list[str] | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Add districts of the registry to the affected areas or remove areas, with the reason. The areas of a
        SECRET or RECEIVED crisis are its content: whether one is named would answer a question about them, so
        changing them takes clearance (CLEARANCE_REQUIRED), decided before any area is looked at."""

        def change(crisis: Crisis, now: datetime) -> None:
            if crisis.classification.level != "PUBLIC" and not actor.clearance:
                raise DomainError(
                    Rule.CLEARANCE_REQUIRED, "the areas of {crisis_id} are {level} content: changing them takes "
                    "clearance", {"crisis_id": crisis_id, "level": crisis.classification.level},
                )
            crisis.change_areas(
                added=added,
                removed=removed,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = self._given(
            added=added, removed=removed, reason=reason, occurred_at=occurred_at, late_entry_reason=late_entry_reason
        )
        return self._change_crisis("change_areas", actor, crisis_id, expected_version, payload, change)
