"""Requests and responses of after-action reviews and their improvement items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.access import Actor
from domain.after_action_review import FINAL, MAX_EVIDENCE, ReviewRecord
from domain.secrecy import redact
from domain.shared import Policy
from interfaces.http.schemas.common import (
    ClassificationRequest,
    Code,
    CommandRequest,
    EntryRequest,
    Id,
    Instant,
    Text,
    Time,
    time_out,
)
from interfaces.http.schemas.read_models import Entry, Label, ReadResponse, Record

FINDINGS = [["Home-care clients with powered devices were found late: the device register was out of date"]]


class DraftAfterActionReviewRequest(EntryRequest):
    findings: list[Text] = Field(max_length=100, examples=FINDINGS)
    recommendations: list[Text] = Field(
        default_factory=list, max_length=100, examples=[["Check the device register monthly"]]
    )
    classification: ClassificationRequest | None = None


class ReviseAfterActionReviewRequest(EntryRequest):
    findings: list[Text] = Field(max_length=100, examples=FINDINGS)
    recommendations: list[Text] = Field(default_factory=list, max_length=100)


class CommentAfterActionReviewRequest(EntryRequest):
    text: Text = Field(examples=["SOTEPE: the register is kept by the home-care districts, not centrally"])


class EvidenceRequest(BaseModel):
    """A record of the same crisis: a log entry (its number), a decision (its id) or a situation report (its
    number)."""

    model_config = ConfigDict(extra="forbid")

    kind: Code = Field(examples=["LOG_ENTRY"], description="LOG_ENTRY, DECISION or SITUATION_REPORT")
    ref: Id = Field(examples=["1"])


class AddImprovementItemRequest(EntryRequest):
    item_id: Id = Field(examples=["I-S1-01"])
    unit: Code = Field(examples=["STARA"], description="The city unit that owns the item.")
    task: Text = Field(examples=["Keep the register of clients with powered medical devices current"])
    due_at: Time | None = Instant("When it is due: after it is added.")
    evidence: list[EvidenceRequest] = Field(default_factory=list, max_length=MAX_EVIDENCE)

    def args(self) -> dict[str, Any]:
        return {**super().args(), "evidence": [e.model_dump() for e in self.evidence]}


class FinaliseAfterActionReviewRequest(EntryRequest):
    pass


class CompleteImprovementItemRequest(EntryRequest):
    note: Text | None = Field(None, examples=["Register checked monthly by the home-care districts from 1.12."])


class DropImprovementItemRequest(EntryRequest):
    reason: Text = Field(examples=["Covered by the city-wide client register project"])


class SetPlanReviewFromItemRequest(CommandRequest):
    plan_id: Id = Field(examples=["CP-SOTEPE-01"], description="A continuity plan of the item's unit.")
    next_review_due: Time | None = Instant("When the plan is next to be reviewed.")


# --- the review, as a reader sees it --------------------------------------------------------------------------


class CommentResponse(Entry):
    record_kind = "review"

    number: int
    text: str | None


class ImprovementItemResponse(Record):
    """An improvement item; `overdue` is derived at read time (its review final, still OPEN, past due)."""

    record_kind = "improvement_item"
    record_id = "item_id"

    crisis_id: str
    item_id: str
    unit: str
    due_at: str | None
    status: str
    overdue: bool
    added_at: str | None
    closed_at: str | None
    closed_by: str | None
    task: str | None
    note: str | None


class ReviewItemResponse(ImprovementItemResponse):
    added_by: str | None
    evidence: list[dict[str, str]] | None
    plan_reviews: list[dict[str, str | None]] | None


class AfterActionReviewResponse(Record):
    """The after-action review of a crisis: DRAFT while commented and revised, then FINAL, never changed again."""

    record_kind = "review"

    crisis_id: str
    version: int
    review_status: str
    recorded_on_crisis: bool
    drafted_by: str | None
    drafted_at: str | None
    revisions: int
    finalised_by: str | None
    finalised_at: str | None
    findings: list[str] | Label | None
    recommendations: list[str] | Label | None
    comments: list[CommentResponse]
    items: list[ReviewItemResponse]


class AfterActionItemsResponse(ReadResponse):
    """Improvement items of final reviews by due time; `next` is the cursor of the following page."""

    at: str
    items: list[ImprovementItemResponse]
    next: str | None = None


def present_review(review: ReviewRecord, actor: Actor, now: datetime, policy: Policy) -> dict[str, Any]:
    names, cleared, kind = policy.units.short_names, actor.clearance, review.classification
    final = review.status == FINAL
    return {
        **redact(
            "review", kind, cleared, names, crisis_id=review.crisis_id, version=review.version,
            review_status=review.status, recorded_on_crisis=review.recorded_on_crisis, drafted_by=review.drafted_by,
            drafted_at=time_out(review.drafted_at), revisions=review.revisions, finalised_by=review.finalised_by,
            finalised_at=time_out(review.finalised_at), findings=review.findings,
            recommendations=review.recommendations,
        ),
        "comments": [
            redact(
                "review", kind, cleared, names, number=c.number, occurred_at=time_out(c.occurred_at),
                recorded_at=time_out(c.recorded_at), actor=c.actor, text=c.text,
            )
            for c in review.comments
        ],
        "items": [
            redact(
                "improvement_item", kind, cleared, names, crisis_id=review.crisis_id, item_id=i.item_id, unit=i.unit,
                due_at=time_out(i.due_at), status=i.status, overdue=i.overdue(now, final), added_by=i.added_by,
                added_at=time_out(i.added_at), closed_at=time_out(i.closed_at), closed_by=i.closed_by,
                evidence=i.evidence,
                plan_reviews=[
                    {"plan_id": r["plan_id"], "next_review_due": time_out(r["next_review_due"]), "actor": r["actor"],
                     "recorded_at": time_out(r["recorded_at"])}
                    for r in i.plan_reviews
                ],
                task=i.task, note=i.note,
            )
            for i in review.items.values()
        ],
    }
