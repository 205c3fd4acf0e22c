"""Requests and responses of the crisis resource."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain.access import Actor
from domain.crisis import Crisis
from domain.secrecy import redact
from domain.shared import Policy
from interfaces.http.schemas.common import (
    LONG,
    SHORT,
    ClassificationRequest,
    CommandRequest,
    EntryRequest,
    Instant,
    time_out,
)


class DeclareCrisisRequest(EntryRequest):
    crisis_id: str = Field(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", examples=["C-S1"])
    title: str = Field(max_length=SHORT, examples=["Storm: power outages in eastern Helsinki"])
    category: str = Field(max_length=40, examples=["SEVERE_WEATHER"])
    severity: int = Field(examples=[2])
    condition: str = Field("NORMAL_DISRUPTION", max_length=40)
    areas: list[str] = Field(default_factory=list, max_length=100, examples=[["Vuosaari", "Kontula"]])
    lead_authority: str | None = Field(None, max_length=SHORT)
    external_lead: str | None = Field(None, max_length=SHORT, examples=["HSY"])
    classification: ClassificationRequest | None = None


class ChangeSeverityRequest(EntryRequest):
    to_severity: int = Field(examples=[3])
    from_severity: int | None = Field(None, description="The severity you saw; refused if it has changed.")
    reason: str | None = Field(None, max_length=LONG)


class ChangeConditionRequest(EntryRequest):
    to_condition: str = Field(max_length=40, examples=["EMERGENCY_CONDITIONS"])
    reason: str | None = Field(None, max_length=LONG)


class StatusChangeRequest(EntryRequest):
    reason: str | None = Field(None, max_length=LONG)


class RecordLogEntryRequest(EntryRequest):
    text: str = Field(max_length=LONG, examples=["Helen: 12,000 customers still without power"])
    source: str | None = Field(None, max_length=SHORT, examples=["HSY"])
    classification: ClassificationRequest | None = None


class StrikeLogEntryRequest(CommandRequest):
    reason: str = Field(max_length=LONG, examples=["entered in the wrong crisis"])


class AssignActionRequest(EntryRequest):
    action_id: str = Field(max_length=64, examples=["A-S1-01"])
    unit: str = Field(max_length=64, examples=["STARA"])
    task: str = Field(max_length=LONG, examples=["Clear fallen trees blocking home-care routes, Vuosaari"])
    due_at: str | None = Instant("When the action is due; required, after the time of assignment.")
    classification: ClassificationRequest | None = None


class CloseActionRequest(EntryRequest):
    note: str | None = Field(None, max_length=LONG)


class IssueSituationReportRequest(EntryRequest):
    number: int | None = Field(None, description="Consecutive per crisis; defaults to the next number.", examples=[2])
    summary: str | None = Field(None, max_length=LONG)
    next_due_at: str | None = Instant("When the next report is due.")
    classification: ClassificationRequest | None = None


class RecordDecisionRequest(EntryRequest):
    decision_id: str = Field(max_length=64, examples=["D-S1-01"])
    decided_by: str = Field(max_length=SHORT, examples=["Executive Director, SOTEPE"])
    authority: str | None = Field(None, max_length=SHORT, examples=["division delegation"])
    decision: str = Field(max_length=LONG)
    rationale: str = Field(max_length=LONG)
    options: list[str] = Field(max_length=50, description="At least two options considered.")
    review_at: str | None = Instant("When the decision is to be reviewed.")
    references: list[str] = Field(default_factory=list, max_length=50)
    supersedes: str | None = Field(None, max_length=64, description="The decision of this crisis this one supersedes.")
    classification: ClassificationRequest | None = None


class RecordDecisionReviewRequest(EntryRequest):
    outcome: str = Field(max_length=LONG, examples=["clients returned home 07:40"])


class RecordAfterActionReviewRequest(EntryRequest):
    findings: list[str] = Field(max_length=100)
    recommendations: list[str] = Field(default_factory=list, max_length=100)


class CrisisResponse(BaseModel):
    """A crisis as it stands now. Content the reader is not cleared for is replaced by its label."""

    crisis_id: str
    version: int
    status: str
    severity: int
    condition: str
    category: str
    declared_at: str
    declared_by: str
    title: str | None
    areas: list[str] | None
    lead_authority: str | None
    external_lead: str | None
    classification: dict
    redacted: bool
    log: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    situation_reports: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    after_action_review: dict[str, Any] | None
    active_plans: list[str]
    open_police_requests: list[str]
    next_situation_report_due: str | None
    next_situation_report_overdue: bool


def present_crisis(crisis: Crisis, actor: Actor, now: datetime, policy: Policy) -> CrisisResponse:
    """The crisis for `actor`: each of its records redacted by its kind's declaration (domain.secrecy) under its
    own classification, what the crisis records of itself (the after-action review) under the crisis's."""
    names = policy.units.short_names
    cleared = actor.clearance
    whole = crisis.classification

    def entry(record: Any) -> dict[str, Any]:
        return {
            "occurred_at": time_out(record.occurred_at),
            "recorded_at": time_out(record.recorded_at),
            "actor": record.actor,
        }

    latest = crisis.latest_situation_report
    head = redact(
        "crisis", whole, cleared, names,
        crisis_id=crisis.crisis_id,
        version=crisis.version,
        status=crisis.status,
        severity=crisis.severity,
        condition=crisis.condition,
        category=crisis.category,
        declared_at=time_out(crisis.declared_at),
        declared_by=crisis.declared_by,
        lead_authority=crisis.lead_authority,
        external_lead=crisis.external_lead,
        title=crisis.title,
        areas=crisis.areas,
        active_plans=sorted(crisis.active_plans),
        open_police_requests=sorted(crisis.open_police_requests),
        next_situation_report_due=time_out(latest.next_due_at) if latest else None,
        next_situation_report_overdue=bool(
            latest and latest.next_due_at and latest.next_due_at < now and crisis.status != "CLOSED"
        ),
    )
    if head["redacted"]:
        head["areas"] = None
    review = crisis.after_action_review
    return CrisisResponse(
        **head,
        log=[
            redact(
                "log_entry", e.classification, cleared, names,
                number=e.number, **entry(e), struck=e.struck, struck_by=e.struck_by, text=e.text, source=e.source,
                late_entry_reason=e.late_entry_reason, struck_reason=e.struck_reason,
            )
            for e in crisis.log
        ],
        actions=[
            redact(
                "action", a.classification, cleared, names,
                action_id=a.action_id, unit=a.unit, **entry(a), due_at=time_out(a.due_at), status=a.status,
                overdue=a.is_overdue(now), closed_at=time_out(a.closed_at), closed_by=a.closed_by, task=a.task,
                note=a.note,
            )
            for a in crisis.actions.values()
        ],
        situation_reports=[
            redact(
                "situation_report", r.classification, cleared, names,
                number=r.number, **entry(r), next_due_at=time_out(r.next_due_at), summary=r.summary,
            )
            for r in crisis.situation_reports
        ],
        decisions=[
            {
                **redact(
                    "decision", d.classification, cleared, names,
                    decision_id=d.decision_id,
                    **entry(d),
                    decided_by=d.decided_by,
                    authority=d.authority,
                    review_at=time_out(d.review_at),
                    review_due=d.review_at is not None and d.review_at <= now and not d.reviews,
                    supersedes=d.supersedes,
                    superseded_by=d.superseded_by,
                    decision=d.decision,
                    rationale=d.rationale,
                    options=d.options,
                    references=d.references,
                ),
                "reviews": [  # a review is as secret as the decision it reviews
                    redact("decision", d.classification, cleared, names, **entry(r), outcome=r.outcome)
                    for r in d.reviews
                ],
            }
            for d in crisis.decisions.values()
        ],
        after_action_review=(
            redact(
                "after_action_review", whole, cleared, names,
                **entry(review), findings=review.findings, recommendations=review.recommendations,
            )
            if review
            else None
        ),
    )
