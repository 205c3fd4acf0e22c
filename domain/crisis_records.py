"""The records of a crisis: log entries, actions, situation reports, decisions and their reviews, the
after-action review; `CrisisRecord`, the whole crisis folded from its events, as readers are shown it; and the
little the Crisis aggregate keeps of its records to decide its rules (`Entry`, `ActionStatus`).

The aggregate keeps no texts: they live in its events and in the read models, so that a crisis, its
snapshots and its cached copy stay small however long its log grows. Snapshots of a crisis encode these
classes by class name (`DataclassAsDict` in application/coordination.py): the names, not the module, are
persisted. Snapshots written before the aggregate was slimmed hold the full records (`LogEntry`, `Action`,
…), and those of version 2 `ActionState` and `DecisionState`; `Crisis.upcast_v1_v2` and `upcast_v2_v3` turn
them into what it keeps now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.record import Folded
from domain.shared import Classification
from domain.situation_report import ReportDraft


@dataclass
class Entry:
    """When something happened and when it was recorded, by whom: every record of a crisis has these."""

    occurred_at: datetime
    recorded_at: datetime
    actor: str


@dataclass
class LogEntry(Entry):
    number: int
    text: str
    source: str | None
    classification: Classification
    late_entry_reason: str | None = None
    struck: bool = False
    struck_reason: str | None = None
    struck_by: str | None = None
    struck_at: datetime | None = None


@dataclass
class Action(Entry):
    action_id: str
    unit: str
    task: str
    due_at: datetime
    classification: Classification
    status: str = "OPEN"
    closed_at: datetime | None = None
    closed_by: str | None = None
    note: str | None = None

    def is_overdue(self, now: datetime) -> bool:
        return self.status == "OPEN" and now > self.due_at


@dataclass
class ReportSection:
    """One section of a structured situation report as a unit (or the duty officer) contributed it."""

    section: str
    text: str
    unit: str | None
    actor: str
    recorded_at: datetime


@dataclass
class SituationReport(Entry):
    number: int
    summary: str | None
    next_due_at: datetime | None
    classification: Classification
    # a structured report (domain.situation_report): its form, sections, and the figures frozen at its issue
    form: str | None = None
    sections: list[ReportSection] = field(default_factory=list)
    figures: dict[str, Any] | None = None
    figures_digest: str | None = None


@dataclass
class ReportDraftRecord:
    """The situation report in the making, with the sections contributed so far."""

    form: str
    classification: Classification
    drafted_by: str
    drafted_at: datetime
    sections: list[ReportSection] = field(default_factory=list)


@dataclass
class DecisionReview(Entry):
    outcome: str


@dataclass
class Decision(Entry):
    decision_id: str
    decided_by: str
    authority: str | None
    decision: str
    rationale: str
    options: list[str]
    review_at: datetime | None
    references: list[str]
    classification: Classification
    supersedes: str | None = None
    superseded_by: str | None = None
    reviews: list[DecisionReview] = field(default_factory=list)


@dataclass
class AfterActionReview(Entry):
    findings: list[str]
    recommendations: list[str]


@dataclass
class ActionStatus:
    """What the crisis keeps of an action: its unit (who may complete it), and whether, when and by whom it was
    closed."""

    unit: str
    status: str = "OPEN"
    closed_at: datetime | None = None
    closed_by: str | None = None


@dataclass
class ActionState:
    """What snapshots of version 2 kept of an action (Crisis.upcast_v2_v3)."""

    unit: str
    classification: Classification
    status: str = "OPEN"
    closed_at: datetime | None = None
    closed_by: str | None = None


@dataclass
class DecisionState:
    """What snapshots of version 2 kept of a decision (Crisis.upcast_v2_v3)."""

    classification: Classification
    superseded_by: str | None = None


@dataclass
class CrisisRecord(Folded):
    """A crisis with all it recorded, folded from its events in order: what GET /crises/{id} and the audit
    history show. The Crisis aggregate decides the rules; this is read."""

    crisis_id: str = ""
    version: int = 0
    title: str = ""
    category: str = ""
    severity: int = 0
    condition: str = ""
    areas: list[str] = field(default_factory=list)
    lead_authority: str | None = None
    external_lead: str | None = None
    classification: Classification | None = None
    declared_at: datetime | None = None
    declared_by: str = ""
    status: str = ""
    status_changed_at: datetime | None = None
    log: list[LogEntry] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    situation_reports: list[SituationReport] = field(default_factory=list)
    decisions: dict[str, Decision] = field(default_factory=dict)
    after_action_review: AfterActionReview | None = None
    active_plans: dict[str, str] = field(default_factory=dict)
    open_police_requests: dict[str, str] = field(default_factory=dict)
    situation_report_draft: ReportDraftRecord | None = None
    exercise: bool = False  # declared as an exercise

    @classmethod
    def of(cls, events: Iterable[Any], log_shown: int | None = None) -> CrisisRecord:
        """The crisis folded from `events`, in order. They may leave out log entries and strikes older than the
        latest entries they hold; with `log_shown`, only the latest that many entries are kept."""
        record = super().of(events)
        if log_shown is not None:
            del record.log[:-log_shown]
        return record

    @property
    def latest_situation_report(self) -> SituationReport | None:
        return self.situation_reports[-1] if self.situation_reports else None

    def open_actions(self) -> list[Action]:
        return [a for a in self.actions.values() if a.status == "OPEN"]

    def apply(self, e: Any) -> None:  # noqa: C901 - one case per event of a crisis
        self.version = e.originator_version
        when = {"occurred_at": getattr(e, "occurred_at", e.recorded_at), "recorded_at": e.recorded_at, "actor": e.actor}
        match type(e).__name__:
            case "Declared":
                self.crisis_id, self.title, self.category = e.crisis_id, e.title, e.category
                self.severity, self.condition, self.areas = e.severity, e.condition, list(e.areas)
                self.lead_authority, self.external_lead = e.lead_authority, e.external_lead
                self.classification, self.declared_at, self.declared_by = e.classification, e.occurred_at, e.actor
                self.status, self.status_changed_at = "ACTIVE", e.occurred_at
                self.exercise = bool(getattr(e, "exercise", False))
            case "SeverityChanged":
                self.severity = e.to_severity
            case "ConditionChanged":
                self.condition = e.to_condition
            case "StatusChanged":
                self.status, self.status_changed_at = e.to_status, e.occurred_at
            case "LogEntryRecorded":
                self.log.append(LogEntry(
                    **when, number=e.number, text=e.text, source=e.source, classification=e.classification,
                    late_entry_reason=e.late_entry_reason,
                ))
            case "LogEntryStruck":
                if self.log and 0 <= e.number - self.log[0].number < len(self.log):  # one of the entries read
                    entry = self.log[e.number - self.log[0].number]
                    entry.struck, entry.struck_reason, entry.struck_by, entry.struck_at = (
                        True, e.reason, e.actor, e.recorded_at
                    )
            case "ActionAssigned":
                self.actions[e.action_id] = Action(
                    **when, action_id=e.action_id, unit=e.unit, task=e.task, due_at=e.due_at,
                    classification=e.classification,
                )
            case "ActionClosed":
                action = self.actions[e.action_id]
                action.status, action.closed_at, action.closed_by, action.note = e.outcome, e.occurred_at, e.actor, e.note
            case "SituationReportIssued":
                self.situation_reports.append(SituationReport(
                    **when, number=e.number, summary=e.summary_text, next_due_at=e.next_due_at,
                    classification=e.classification,
                ))
            case "DecisionRecorded":
                self.decisions[e.decision_id] = Decision(
                    **when, decision_id=e.decision_id, decided_by=e.decided_by, authority=e.authority,
                    decision=e.decision, rationale=e.rationale, options=list(e.options), review_at=e.review_at,
                    references=list(e.references), classification=e.classification, supersedes=e.supersedes,
                )
                if e.supersedes:
                    self.decisions[e.supersedes].superseded_by = e.decision_id
            case "DecisionReviewed":
                self.decisions[e.decision_id].reviews.append(DecisionReview(**when, outcome=e.outcome))
            case "ContinuityPlanActivated":
                self.active_plans[e.plan_id] = e.unit
            case "ContinuityPlanDeactivated":
                self.active_plans.pop(e.plan_id, None)
            case "PoliceRequestOpened":
                self.open_police_requests[e.request_id] = e.liaison_id
            case "PoliceRequestClosed":
                self.open_police_requests.pop(e.request_id, None)
            case "SituationReportDrafted":
                self.situation_report_draft = ReportDraftRecord(
                    form=e.form, classification=e.classification, drafted_by=e.actor, drafted_at=e.recorded_at
                )
            case "SituationReportContributed":
                self.situation_report_draft.sections.extend(
                    ReportSection(section=name, text=text, unit=e.unit, actor=e.actor, recorded_at=e.recorded_at)
                    for name, text in e.sections.items()
                )
            case "DraftSituationReportIssued":
                draft = self.situation_report_draft
                self.situation_reports.append(SituationReport(
                    **when, number=e.number, summary=None, next_due_at=e.next_due_at,
                    classification=e.classification, form=e.form, sections=draft.sections if draft else [],
                    figures=dict(e.figures), figures_digest=e.figures_digest,
                ))
                self.situation_report_draft = None
            case "AreasChanged":
                self.areas = [a for a in self.areas if a not in e.removed] + list(e.added)
            case "AfterActionReviewRecorded":
                self.after_action_review = AfterActionReview(
                    **when, findings=list(e.findings), recommendations=list(e.recommendations)
                )


ENTITY_CLASSES = (
    LogEntry, Action, SituationReport, DecisionReview, Decision, AfterActionReview, Entry, ActionState, DecisionState,
    ActionStatus, ReportDraft,
)
