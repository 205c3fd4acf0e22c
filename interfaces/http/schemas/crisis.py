"""Requests and responses of the crisis resource."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from domain.access import Actor
from domain import crisis_records
from domain.secrecy import redact
from domain.shared import Policy
from interfaces.http.schemas.common import (
    ClassificationRequest,
    Code,
    CommandRequest,
    EntryRequest,
    Id,
    Instant,
    Int32,
    Line,
    Text,
    Time,
    time_out,
)
from interfaces.http.schemas.read_models import (
    ActionResponse,
    AfterActionReviewResponse,
    CrisisRecord,
    DecisionResponse,
    LogEntryResponse,
    SituationReportResponse,
)


class DeclareCrisisRequest(EntryRequest):
    crisis_id: Id = Field(examples=["C-S1"])
    title: Line = Field(examples=["Storm: power outages in eastern Helsinki"])
    category: Code = Field(examples=["SEVERE_WEATHER"])
    severity: Int32 = Field(examples=[2])
    condition: Code = "NORMAL_DISRUPTION"
    areas: list[Line] = Field(default_factory=list, max_length=100, examples=[["Vuosaari", "Kontula"]])
    lead_authority: Line | None = None
    external_lead: Line | None = Field(None, examples=["HSY"])
    classification: ClassificationRequest | None = None
    exercise: bool = Field(False, description="Declared as an exercise: never in the real picture; fixed at declaration.")


class ChangeSeverityRequest(EntryRequest):
    to_severity: Int32 = Field(examples=[3])
    from_severity: Int32 | None = Field(None, description="The severity you saw; refused if it has changed.")
    reason: Text | None = None


class ChangeConditionRequest(EntryRequest):
    to_condition: Code = Field(examples=["EMERGENCY_CONDITIONS"])
    reason: Text | None = None


class StatusChangeRequest(EntryRequest):
    reason: Text | None = None


class RecordLogEntryRequest(EntryRequest):
    text: Text = Field(examples=["Helen: 12,000 customers still without power"])
    source: Line | None = Field(None, examples=["HSY"])
    classification: ClassificationRequest | None = None


class StrikeLogEntryRequest(CommandRequest):
    reason: Text = Field(examples=["entered in the wrong crisis"])


class AssignActionRequest(EntryRequest):
    action_id: Id = Field(examples=["A-S1-01"])
    unit: Id = Field(examples=["STARA"])
    task: Text = Field(examples=["Clear fallen trees blocking home-care routes, Vuosaari"])
    due_at: Time | None = Instant("When the action is due; required, after the time of assignment.")
    classification: ClassificationRequest | None = None


class CloseActionRequest(EntryRequest):
    note: Text | None = None


class IssueSituationReportRequest(EntryRequest):
    number: Int32 | None = Field(None, description="Consecutive per crisis; defaults to the next number.", examples=[2])
    summary: Text | None = None
    next_due_at: Time | None = Instant("When the next report is due.")
    classification: ClassificationRequest | None = None


class RecordDecisionRequest(EntryRequest):
    decision_id: Id = Field(examples=["D-S1-01"])
    decided_by: Line = Field(examples=["Executive Director, SOTEPE"])
    authority: Line | None = Field(None, examples=["division delegation"])
    decision: Text = Field(examples=["Evacuate the home-care clients of Vuosaari to the Kontula service centre"])
    rationale: Text = Field(examples=["Power will not be back before the MTPD of home care runs out"])
    options: list[Text] = Field(
        max_length=50, description="At least two options considered.", examples=[["evacuate", "wait for power"]]
    )
    review_at: Time | None = Instant("When the decision is to be reviewed.")
    references: list[Line] = Field(default_factory=list, max_length=50)
    supersedes: Id | None = Field(None, description="The decision of this crisis this one supersedes.")
    classification: ClassificationRequest | None = None


class RecordDecisionReviewRequest(EntryRequest):
    outcome: Text = Field(examples=["clients returned home 07:40"])


class RecordAfterActionReviewRequest(EntryRequest):
    findings: list[Text] = Field(max_length=100, examples=[["Home-care routes were blocked for 6 hours"]])
    recommendations: list[Text] = Field(default_factory=list, max_length=100)


class ChangeAreasRequest(EntryRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "added": ["Mellunkylä", "Itäkeskus"], "reason": "the outages spread north and east of Vuosaari",
    }]})

    added: list[Line] = Field(
        default_factory=list, max_length=100, description="Districts to add: a code, or a Finnish or Swedish name "
        "of the registry (GET /districts).", examples=[["Mellunkylä"]],
    )
    removed: list[Line] = Field(
        default_factory=list, max_length=100, description="Affected areas to remove, by any name of their district "
        "or as the crisis names them.", examples=[["Kontula"]],
    )
    reason: Text = Field(examples=["the outages spread north of Itäkeskus; Kontula has power again"])


class CrisisResponse(CrisisRecord):
    """A crisis as it stands now. Content the reader is not cleared for is replaced by its label."""

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
    log: list[LogEntryResponse]
    actions: list[ActionResponse]
    situation_reports: list[SituationReportResponse]
    decisions: list[DecisionResponse]
    after_action_review: AfterActionReviewResponse | None
    active_plans: list[str]
    open_police_requests: list[str]
    next_situation_report_due: str | None
    next_situation_report_overdue: bool
    exercise: bool = False  # declared as an exercise: never in the real picture


def present_crisis(crisis: crisis_records.CrisisRecord, actor: Actor, now: datetime, policy: Policy) -> CrisisResponse:
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
        exercise=crisis.exercise,
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
