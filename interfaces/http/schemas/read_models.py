"""The answers of the reads: the records they show and the read models that gather them.

A record (`Record`) is shown as the reader may see it (domain.secrecy): with its classification, whether its
content was replaced by the classification's label, and its fields. A content field of a classified record
shown to an uncleared reader holds the label, a string, in place of its content: a field whose content is not
a string is typed `... | Label`; a string field already takes it.

Each record model names the kind of record it shows (`record_kind`, the kinds of domain.secrecy) and the field
that identifies it (`record_id`). They are class attributes, not fields: answers keep their shape. The
disclosure keeping (interfaces.http.disclosure) walks an answer by its route's response model and reads the
kind and id of every record shown from these declarations.

Fields a record shows only in some answers (a police request's `age_minutes` while open, `answer_minutes` once
closed) have no default: routes that return these models serialise what was set (`response_model_exclude_unset`),
so an answer holds exactly the keys it was given.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from application.projections.crisis_timeline import RECORD_OF_ENTRY
from interfaces.http.schemas.common import ClassificationResponse

Label = str  # what an uncleared reader sees in place of content: "[SECRET JulkL 24.1 § 7 k]"


class ReadResponse(BaseModel):
    """Part of an answer to a read: it declares every key the answer holds. A key it does not declare is an
    error (500), never dropped without a word: the read answers exactly what the OpenAPI document shows."""

    model_config = ConfigDict(extra="forbid")


class Record(ReadResponse):
    """A record as the reader sees it: its classification, and whether its content was replaced by the label."""

    record_kind: ClassVar[str]  # the kind of record shown (domain.secrecy.RECORDS), named in disclosures
    record_id: ClassVar[str | None] = None  # the field naming it; None: it is named by the record it belongs to

    classification: ClassificationResponse
    redacted: bool

    @classmethod
    def disclosed_as(cls, fields: dict[str, Any], within: str | None, crisis_id: str | None) -> tuple[str, str | None]:
        """The kind and id a disclosure names this record by, from its fields; `within` is the id of the
        record holding it (a review is named by its decision, an answer by its request)."""
        if cls.record_id is None:
            return cls.record_kind, within
        value = fields.get(cls.record_id)
        return cls.record_kind, None if value is None else str(value)


# -- a crisis and its records ------------------------------------------------------------------------------------


class Entry(Record):
    """What every entry of a crisis's record says of itself: when it happened, when it was recorded, by whom."""

    occurred_at: str | None
    recorded_at: str | None
    actor: str | None


class LogEntryResponse(Entry):
    record_kind = "log_entry"
    record_id = "number"

    number: int
    struck: bool
    struck_by: str | None
    text: str | None
    source: str | None
    late_entry_reason: str | None
    struck_reason: str | None


class ActionResponse(Entry):
    record_kind = "action"
    record_id = "action_id"

    action_id: str
    unit: str
    due_at: str | None
    status: str
    overdue: bool
    closed_at: str | None
    closed_by: str | None
    task: str | None
    note: str | None


class SituationReportResponse(Entry):
    record_kind = "situation_report"
    record_id = "number"

    number: int
    next_due_at: str | None
    summary: str | None


class DecisionReviewResponse(Entry):
    """A review of a decision: as secret as the decision it reviews, and named by it."""

    record_kind = "decision"

    outcome: str | None


class Decision(Record):
    """A decision with its rationale and options, its supersessions and its reviews."""

    record_kind = "decision"
    record_id = "decision_id"

    decision_id: str
    decided_by: str | None
    authority: str | None
    review_at: str | None
    review_due: bool
    supersedes: str | None
    superseded_by: str | None
    decision: str | None
    rationale: str | None
    options: list[str] | Label | None
    references: list[str] | Label | None
    reviews: list[DecisionReviewResponse]


class DecisionResponse(Entry, Decision):
    """A decision as its crisis shows it."""


class AfterActionReviewResponse(Entry):
    """What the crisis records of itself when it closes: as secret as the crisis."""

    record_kind = "after_action_review"

    findings: list[str] | Label | None
    recommendations: list[str] | Label | None


class CrisisRecord(Record):
    """The crisis itself: its structure, and its title, areas and lead as its content."""

    record_kind = "crisis"
    record_id = "crisis_id"

    crisis_id: str


# -- continuity plans ---------------------------------------------------------------------------------------------


class ExerciseResponse(Record):
    """An exercise of a continuity plan: as secret as its plan, and named by it."""

    record_kind = "continuity_plan"

    held_at: str | None
    actor: str | None
    title: str | None
    findings: list[str] | Label


class CriticalFunctionResponse(ReadResponse):
    name: str
    mtpd_minutes: int
    rto_minutes: int


class ContinuityPlanResponse(Record):
    """A continuity plan as its unit's preparedness shows it."""

    record_kind = "continuity_plan"
    record_id = "plan_id"

    plan_id: str
    status: str
    owner: str | None
    approved_by: str | None
    approved_at: str | None
    mtpd_minutes: int | None
    last_review_at: str | None
    next_review_due: str | None
    review_due: bool
    active_for: str | None
    activated_at: str | None
    active_minutes: int | None
    title: str | None
    critical_functions: list[CriticalFunctionResponse] | Label
    exercises: list[ExerciseResponse]
    active_in_exercise: bool = Field(False, description="Active for a crisis declared as an exercise (which the "
                                     "real picture does not name): `active_for` is then null.")


class ReadinessChangeResponse(ReadResponse):
    from_level: str | None
    to_level: str
    decided_by: str | None
    reason: str | None
    crisis_ref: str | None
    decision_ref: str | None
    occurred_at: str | None
    recorded_at: str | None
    actor: str | None
    in_exercise: bool = Field(False, description="Decided for a crisis declared as an exercise, which the real "
                              "picture does not name: `crisis_ref` and `decision_ref` are then null.")


# -- police liaison -----------------------------------------------------------------------------------------------


class PoliceAnswerResponse(Record):
    """The answer to a police request: as secret as the request or its own classification, whichever is
    classified; named by its request."""

    record_kind = "police_request_response"

    text: str | None


class PoliceRequest(Record):
    """A police request: its direction and type, when it was raised and closed, and who answered."""

    record_kind = "police_request"
    record_id = "request_id"

    request_id: str
    direction: str
    request_type: str
    legal_basis: str | None
    status: str
    raised_at: str | None
    unanswered_beyond_threshold: bool
    closed_at: str | None
    subject: str | None
    answered_by: str | None


class PoliceRequestResponse(PoliceRequest):
    """A police request of a liaison matter, with its age (to its closing, once closed)."""

    recorded_at: str | None
    actor: str | None
    age_minutes: int
    closed_by: str | None
    response: PoliceAnswerResponse


class InformationShareResponse(Record):
    record_kind = "information_share"
    record_id = "shared_at"

    shared_at: str | None
    recorded_at: str | None
    actor: str | None
    to_whom: str | None
    what: str | None


# -- the read models ----------------------------------------------------------------------------------------------


class OverviewCrisisResponse(CrisisRecord):
    """An active crisis as the overview shows it."""

    severity: int
    status: str
    condition: str
    category: str
    lead: str | None
    declared_at: str | None
    title: str | None
    open_actions: int
    overdue_actions: int
    latest_situation_report: LatestSituationReportResponse | None
    situation_report_rhythm: SituationReportRhythmResponse
    decisions: int
    decisions_review_due: list[DecisionDueResponse]


class LatestSituationReportResponse(ReadResponse):
    number: int
    issued_at: str | None
    next_due_at: str | None
    overdue: bool


class SituationReportRhythmResponse(ReadResponse):
    """The reporting rhythm of the crisis's severity (VALMIUS_SITREP_RHYTHM): the next report is due this long
    after the last (or the declaration), and is overdue once that has passed without one."""

    every_minutes: int | None
    due_at: str | None
    overdue: bool


class DecisionDueResponse(ReadResponse):
    crisis_id: str
    decision_id: str
    review_at: str | None


class OpenActionResponse(Record):
    record_kind = "action"
    record_id = "action_id"

    crisis_id: str
    action_id: str
    unit: str
    due_at: str | None
    overdue: bool
    task: str | None


class OpenAndOverdueResponse(ReadResponse):
    open: int
    overdue: int


class BoardPlanResponse(Record):
    """A continuity plan on the readiness board."""

    record_kind = "continuity_plan"
    record_id = "plan_id"

    unit: str
    plan_id: str
    title: str | None


class ActivePlanResponse(BoardPlanResponse):
    """A continuity plan active for a crisis, against its MTPD."""

    crisis_id: str
    activated_at: str | None
    active_minutes: int
    mtpd_minutes: int | None
    beyond_mtpd: bool


class PlanReviewDueResponse(BoardPlanResponse):
    """A continuity plan due for review."""

    next_review_due: str | None


class BoardPoliceRequestResponse(PoliceRequest):
    """A police request on the boards: its age while open, or how long its answer took once closed."""

    liaison_id: str
    crisis_id: str | None
    age_minutes: int | None = Field(None, description="While open (the key is absent once closed).")
    answer_minutes: int | None = Field(None, description="Once closed (the key is absent while open).")
    response: PoliceAnswerResponse | None = Field(description="Once closed.")


class OverviewPoliceRequestsResponse(ReadResponse):
    open: list[BoardPoliceRequestResponse]
    unanswered_beyond_threshold: list[BoardPoliceRequestResponse]
    threshold_minutes: int


class PictureResponse(ReadResponse):
    """A picture (the overview, a board): each of its lists holds at most `limit` items (application.projections.
    paging.bounded)."""

    cut: dict[str, int] | None = Field(
        None, description="The lists cut to `limit` items, each by its JSON Pointer (RFC 6901) with how many items "
        "it has; absent when none was cut. Ask again with a larger `limit` (at most 1000) for more.",
        examples=[{"/open_actions": 1250}],
    )


class SituationOverviewResponse(PictureResponse):
    """What leadership must see, computed for `at` (also each frame of the live overview stream)."""

    at: str
    active_crises: list[OverviewCrisisResponse]
    open_actions: list[OpenActionResponse]
    overdue_actions: list[OpenActionResponse]
    actions_by_unit: dict[str, OpenAndOverdueResponse]
    readiness: dict[str, str] = Field(description="Each unit's readiness level.")
    active_plans: list[ActivePlanResponse]
    plan_reviews_due: list[PlanReviewDueResponse]
    police_requests: OverviewPoliceRequestsResponse
    decisions: int
    decisions_review_due: list[DecisionDueResponse]
    overdue_improvement_items: dict[str, int] = Field(
        default_factory=dict,
        description="Improvement items of final after-action reviews overdue, per unit (units with none left out); "
        "only while any are overdue, and not in the overview as known at a past moment."
    )
    exercise: bool = Field(False, description="True in the exercises' own overview (GET /exercises/situation-overview); "
                           "the real overview never shows a crisis declared as an exercise.")


class TimelineEntryResponse(Record):
    """One entry of a crisis timeline. `kind` is the kind of entry and `ref` the record it belongs to; what the
    crisis records of itself (its declaration, changes of severity, status and condition, the after-action
    review) is as secret as the crisis and is named by it. `content` is the entry's own fields."""

    position: int
    kind: str
    ref: str | None
    occurred_at: str | None
    recorded_at: str | None
    actor: str | None
    late: bool
    late_minutes: int | None
    struck: bool
    struck_by: str | None
    content: dict[str, Any] | Label | None
    late_entry_reason: str | None
    struck_reason: str | None

    @classmethod
    def disclosed_as(cls, fields: dict[str, Any], within: str | None, crisis_id: str | None) -> tuple[str, str | None]:
        kind = RECORD_OF_ENTRY.get(fields.get("kind", ""), "crisis")
        if kind in ("crisis", "after_action_review"):  # what the crisis records of itself is named by the crisis
            return "crisis", crisis_id
        return kind, fields.get("ref")


class CrisisTimelineResponse(ReadResponse):
    crisis_id: str
    exercise: bool = Field(False, description="True for a crisis declared as an exercise.")
    at: str
    entries: list[TimelineEntryResponse]
    next: int | None = Field(None, description="The cursor of the next page (`after=`); absent on the last page.")
    previous: int | None = Field(
        None, description="The cursor of the page before (`before=`); absent on the first page."
    )


class DecisionLogEntryResponse(Decision):
    """A decision as the decision log shows it: when it was decided, recorded, and by whom."""

    decided_at: str | None
    recorded_at: str | None
    recorded_by: str | None


class DecisionLogResponse(ReadResponse):
    crisis_id: str
    exercise: bool = Field(False, description="True for a crisis declared as an exercise.")
    at: str
    decisions: list[DecisionLogEntryResponse]
    review_due: list[str] = Field(description="The decisions due for review (of this page).")
    next: str | None = Field(None, description="The cursor of the next page (`after=`); absent on the last page.")
    previous: str | None = Field(
        None, description="The cursor of the page before (`before=`); absent on the first page."
    )


class UnitReadinessResponse(ReadResponse):
    unit: str
    name: str
    readiness: str
    changed_at: str | None
    decided_by: str | None
    reason: str | None
    crisis_ref: str | None
    active_plans: list[str]


class ReadinessBoardResponse(PictureResponse):
    at: str
    units: list[UnitReadinessResponse]
    active_plans: list[ActivePlanResponse]
    reviews_due: list[PlanReviewDueResponse]


class PoliceLiaisonBoardResponse(PictureResponse):
    at: str
    threshold_minutes: int
    open: list[BoardPoliceRequestResponse]
    unanswered_beyond_threshold: list[BoardPoliceRequestResponse]
    open_by_direction_and_type: dict[str, dict[str, int]] = Field(
        description="How many requests are open, by direction and then by request type."
    )
    closed: list[BoardPoliceRequestResponse]


# -- the read models as known at a moment (audit) --------------------------------------------------------------


class HistoryBasisResponse(ReadResponse):
    """What a picture as known at a moment was computed from."""

    as_of: str
    known_by: str
    log_position: int
    snapshot_position: int | None
    events_read: int
    events_applied: int
    full_replay: bool


class SituationOverviewAsKnownResponse(SituationOverviewResponse):
    history: HistoryBasisResponse


class ReadinessBoardAsKnownResponse(ReadinessBoardResponse):
    history: HistoryBasisResponse


class PoliceLiaisonBoardAsKnownResponse(PoliceLiaisonBoardResponse):
    history: HistoryBasisResponse


class CrisisTimelineAsKnownResponse(CrisisTimelineResponse):
    history: HistoryBasisResponse


class DecisionLogAsKnownResponse(DecisionLogResponse):
    history: HistoryBasisResponse


OverviewCrisisResponse.model_rebuild()
