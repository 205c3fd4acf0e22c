"""The records a crisis keeps: log entries, actions, situation reports, decisions and their reviews, the
after-action review.

Snapshots of a crisis encode these by class name (`DataclassAsDict` in application/coordination.py): the
names, not the module, are persisted, so they are free to live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.shared import Classification


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
class SituationReport(Entry):
    number: int
    summary: str | None
    next_due_at: datetime | None
    classification: Classification


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


ENTITY_CLASSES = (LogEntry, Action, SituationReport, DecisionReview, Decision, AfterActionReview)
