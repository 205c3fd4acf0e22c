"""Requests and responses of a unit's preparedness: readiness and continuity plans."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.access import Actor
from domain.division_preparedness import MAX_MTPD_MINUTES, CriticalFunction, DivisionPreparedness
from domain.secrecy import redact
from domain.shared import Policy
from interfaces.http.schemas.common import (
    ClassificationRequest,
    Code,
    CommandRequest,
    EntryRequest,
    Id,
    Instant,
    Line,
    Text,
    Time,
    time_out,
)
from interfaces.http.schemas.read_models import ContinuityPlanResponse, ReadinessChangeResponse, ReadResponse


class ChangeReadinessRequest(EntryRequest):
    to_level: Code = Field(examples=["ENHANCED"])
    from_level: Code | None = Field(None, description="The level you saw; refused if it has changed.")
    decided_by: Line | None = Field(None, examples=["Executive Director, SOTEPE"], description="Defaults to you.")
    reason: Text | None = None
    crisis_ref: Id | None = Field(None, examples=["C-S1"])
    decision_ref: Id | None = None


class CriticalFunctionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(examples=["clients depending on powered medical devices"])
    mtpd_minutes: int = Field(
        gt=0, le=MAX_MTPD_MINUTES, description="Maximum tolerable period of disruption, at most a year", examples=[360]
    )
    rto_minutes: int = Field(
        gt=0, le=MAX_MTPD_MINUTES, description="Recovery time objective, at most the MTPD", examples=[120]
    )


class DraftContinuityPlanRequest(CommandRequest):
    plan_id: Id = Field(examples=["CP-SOTEPE-01"])
    title: Line = Field(examples=["Home care in power outage"])
    owner: Line | None = None
    critical_functions: list[CriticalFunctionRequest] = Field(max_length=50)
    next_review_due: Time | None = Instant("When the plan is next to be reviewed.")
    classification: ClassificationRequest | None = None

    def args(self) -> dict[str, Any]:
        out = super().args()
        out["critical_functions"] = [CriticalFunction(**f.model_dump()) for f in self.critical_functions]
        return out


class ApproveContinuityPlanRequest(CommandRequest):
    approved_by: Line = Field(examples=["Executive Director, SOTEPE"])
    occurred_at: Time | None = Instant()


class RecordPlanReviewRequest(CommandRequest):
    notes: Text | None = None
    next_review_due: Time | None = Instant()
    occurred_at: Time | None = Instant()


class RecordExerciseRequest(CommandRequest):
    title: Line = Field(examples=["Tabletop: a winter storm on a weekend"])
    findings: list[Text] = Field(default_factory=list, max_length=100)
    occurred_at: Time | None = Instant("When the exercise was held.")


class ActivateContinuityPlanRequest(EntryRequest):
    crisis_id: Id = Field(examples=["C-S1"])


class DeactivateContinuityPlanRequest(EntryRequest):
    reason: Text | None = None


class DivisionPreparednessResponse(ReadResponse):
    unit: str
    name: str
    version: int
    readiness: str
    readiness_history: list[ReadinessChangeResponse]
    plans: list[ContinuityPlanResponse]


def present_preparedness(
    prep: DivisionPreparedness, actor: Actor, now: datetime, policy: Policy,
    is_exercise: Callable[[str], bool] = lambda crisis_id: False,
) -> DivisionPreparednessResponse:
    """The unit's preparedness for `actor`; a plan active for a crisis declared as an exercise (`is_exercise`)
    says so without naming it (the real picture never names an exercise)."""
    names = policy.units.short_names
    in_exercise = {i for i, p in prep.plans.items() if p.active_for is not None and is_exercise(p.active_for)}
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
                "crisis_ref": None if exercise else c.crisis_ref,
                "decision_ref": None if exercise else c.decision_ref,
                "in_exercise": exercise,
                "occurred_at": time_out(c.occurred_at),
                "recorded_at": time_out(c.recorded_at),
                "actor": c.actor,
            }
            for c in prep.readiness_history
            for exercise in [c.crisis_ref is not None and is_exercise(c.crisis_ref)]
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
                    active_for=None if p.plan_id in in_exercise else p.active_for,
                    activated_at=None if p.plan_id in in_exercise else time_out(p.activated_at),
                    active_minutes=int((now - p.activated_at) / timedelta(minutes=1))
                    if p.activated_at and p.plan_id not in in_exercise else None,
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
                "active_in_exercise": p.plan_id in in_exercise,
            }
            for p in prep.plans.values()
        ],
    )
