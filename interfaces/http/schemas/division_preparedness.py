"""Requests and responses of a unit's preparedness: readiness and continuity plans."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from domain.access import Actor
from domain.division_preparedness import CriticalFunction, DivisionPreparedness
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


class ChangeReadinessRequest(EntryRequest):
    to_level: str = Field(max_length=40, examples=["ENHANCED"])
    from_level: str | None = Field(None, max_length=40, description="The level you saw; refused if it has changed.")
    decided_by: str | None = Field(
        None, max_length=SHORT, examples=["Executive Director, SOTEPE"], description="Defaults to you."
    )
    reason: str | None = Field(None, max_length=LONG)
    crisis_ref: str | None = Field(None, max_length=64, examples=["C-S1"])
    decision_ref: str | None = Field(None, max_length=64)


class CriticalFunctionRequest(BaseModel):
    name: str = Field(max_length=SHORT)
    mtpd_minutes: int = Field(gt=0, description="Maximum tolerable period of disruption")
    rto_minutes: int = Field(gt=0, description="Recovery time objective, at most the MTPD")


class DraftContinuityPlanRequest(CommandRequest):
    plan_id: str = Field(max_length=64, examples=["CP-SOTEPE-01"])
    title: str = Field(max_length=SHORT, examples=["Home care in power outage"])
    owner: str | None = Field(None, max_length=SHORT)
    critical_functions: list[CriticalFunctionRequest] = Field(max_length=50)
    next_review_due: str | None = Instant("When the plan is next to be reviewed.")
    classification: ClassificationRequest | None = None

    def args(self) -> dict[str, Any]:
        out = super().args()
        out["critical_functions"] = [CriticalFunction(**f.model_dump()) for f in self.critical_functions]
        return out


class ApproveContinuityPlanRequest(CommandRequest):
    approved_by: str = Field(max_length=SHORT)
    occurred_at: str | None = Instant()


class RecordPlanReviewRequest(CommandRequest):
    notes: str | None = Field(None, max_length=LONG)
    next_review_due: str | None = Instant()
    occurred_at: str | None = Instant()


class RecordExerciseRequest(CommandRequest):
    title: str = Field(max_length=SHORT)
    findings: list[str] = Field(default_factory=list, max_length=100)
    occurred_at: str | None = Instant("When the exercise was held.")


class ActivateContinuityPlanRequest(EntryRequest):
    crisis_id: str = Field(max_length=64, examples=["C-S1"])


class DeactivateContinuityPlanRequest(EntryRequest):
    reason: str | None = Field(None, max_length=LONG)


class DivisionPreparednessResponse(BaseModel):
    unit: str
    name: str
    version: int
    readiness: str
    readiness_history: list[dict[str, Any]]
    plans: list[dict[str, Any]]


def present_preparedness(prep: DivisionPreparedness, actor: Actor, now: datetime, policy: Policy) -> DivisionPreparednessResponse:
    names = policy.units.short_names
    return DivisionPreparednessResponse(
        unit=prep.unit,
        name=prep.name,
        version=prep.version,
        readiness=prep.readiness,
        readiness_history=[
            {
                "from_level": c.from_level,
                "to_level": c.to_level,
                "decided_by": c.decided_by,
                "reason": c.reason,
                "crisis_ref": c.crisis_ref,
                "decision_ref": c.decision_ref,
                "occurred_at": time_out(c.occurred_at),
                "recorded_at": time_out(c.recorded_at),
                "actor": c.actor,
            }
            for c in prep.readiness_history
        ],
        plans=[
            {
                **redact(
                    "continuity_plan", p.classification, actor.clearance, names,
                    plan_id=p.plan_id,
                    status=p.status,
                    owner=p.owner,
                    approved_by=p.approved_by,
                    approved_at=time_out(p.approved_at),
                    mtpd_minutes=p.mtpd_minutes,
                    last_review_at=time_out(p.last_review_at),
                    next_review_due=time_out(p.next_review_due),
                    review_due=p.next_review_due is not None and p.next_review_due <= now,
                    active_for=p.active_for,
                    activated_at=time_out(p.activated_at),
                    active_minutes=int((now - p.activated_at) / timedelta(minutes=1)) if p.activated_at else None,
                    title=p.title,
                    critical_functions=[vars(f) for f in p.critical_functions],
                ),
                "exercises": [  # as secret as their plan
                    redact(
                        "continuity_plan", p.classification, actor.clearance, names,
                        held_at=time_out(e.held_at), actor=e.actor, title=e.title, findings=e.findings,
                    )
                    for e in p.exercises
                ],
            }
            for p in prep.plans.values()
        ],
    )
