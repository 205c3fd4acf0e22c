"""What of a classified record a reader without clearance may see: one declaration per kind of record.

A SECRET or RECEIVED record shows an uncleared reader its structure: which record it is (ids, its kind),
when (times), who recorded it (the acting user and role), its state (status, severity, due, overdue, …)
and its classification label. Everything else is its content and is replaced by the label: every free-text
field and every person or authority field. The declaration below lists, per kind of record, the fields
that are structure and the fields that are content; `redact` fails closed: a field declared in neither is
content. Every field of every domain event is declared (a test holds the events to it), so a new field must
be decided on here before it is written.

A record recorded with a classification of its own (a log entry, an action, a situation report, a decision,
a police request, information shared, a continuity plan) is shown by it: a PUBLIC decision of a SECRET crisis
is public, its text written not to copy the secret. What is recorded without one belongs to a record and is
as secret as that record: the reason for a change of severity, status or condition, the after-action review
and the topic and people of a liaison matter are as secret as their crisis; the note closing an action, the
outcome of a decision's review and the reason a log entry was struck through as their record; whatever is
recorded of a continuity plan as the plan; an answer to a police request, and who gave it, as the request
or the answer's own classification, whichever is classified. `classification_of` says which classification
governs a stored event, from the current state of its aggregate (a record's classification never changes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.position import Position
from domain.received_alert import ReceivedAlert
from domain.public_warning import PublicWarning
from domain.reminder import Reminder
from domain.shared import PUBLIC, Classification


@dataclass(frozen=True)
class RecordKind:
    """The fields of one kind of record shown to every reader (structure) and those shown only to cleared
    readers of its classified records (content)."""

    structure: frozenset[str]
    content: frozenset[str]


def _kind(structure: str, content: str) -> RecordKind:
    return RecordKind(EVERY_RECORD | frozenset(structure.split()), frozenset(content.split()))


# Structure of every record: what it is, whose, when, in which state, under which classification.
EVERY_RECORD = frozenset(
    """originator_id originator_version originator_topic timestamp actor recorded_at recorded_by occurred_at
    classification redacted version position kind ref type crisis_id liaison_id unit number action_id decision_id
    request_id plan_id status late late_minutes struck struck_by struck_at item_id exercise""".split()
)

RECORDS: dict[str, RecordKind] = {
    "crisis": _kind(
        """category severity condition from_severity to_severity from_condition to_condition from_status to_status
        declared_at declared_by status_changed_at outcome open_actions overdue_actions decisions decisions_review_due
        active_plans open_police_requests next_situation_report_due next_situation_report_overdue""",
        "title areas lead_authority external_lead lead reason late_entry_reason added removed",
    ),
    "log_entry": _kind("", "text source reason struck_reason late_entry_reason"),
    "action": _kind("due_at overdue closed_at closed_by outcome", "task note late_entry_reason"),
    "situation_report": _kind(
        "next_due_at issued_at overdue form section figures figures_digest drafted_by drafted_at missing",
        "summary summary_text late_entry_reason sections text",
    ),
    "decision": _kind(
        "decided_at review_at review_due supersedes superseded_by",
        "decided_by authority decision rationale options references outcome late_entry_reason",
    ),
    "after_action_review": _kind("", "findings recommendations late_entry_reason"),
    "readiness": _kind(
        "name readiness from_level to_level crisis_ref decision_ref changed_at", "decided_by reason late_entry_reason"
    ),
    "continuity_plan": _kind(
        """approved_at mtpd_minutes next_review_due last_review_at review_due active_for activated_at active_minutes
        beyond_mtpd held_at""",
        "title owner approved_by critical_functions notes findings reason late_entry_reason",
    ),
    "police_liaison": _kind("opened_at", "topic city_people police_people"),
    "police_request": _kind(
        "direction request_type raised_at age_minutes answer_minutes unanswered_beyond_threshold closed_at closed_by"
        " outcome",
        "subject legal_basis response text answered_by late_entry_reason",
    ),
    "information_share": _kind("shared_at", "what to_whom late_entry_reason"),
    "emergency_conditions": _kind("in_force since", "basis reason late_entry_reason"),
    # a position is never classified; its brief was built as an uncleared reader sees the picture
    "position": _kind("position holder from_holder to_holder held_since since until brief digest", ""),
    # the after-action review drafted, commented and made final (domain.after_action_review), and its items
    "review": _kind(
        "review_status drafted_by drafted_at finalised_by finalised_at revisions recorded_on_crisis",
        "findings recommendations text comments late_entry_reason",
    ),
    "improvement_item": _kind(
        "due_at overdue evidence added_by added_at outcome closed_at closed_by next_review_due plan_reviews"
        " review_status",
        "task note late_entry_reason",
    ),
    # a CAP alert received: its ids, times, codes and state are structure; what it says (and where) is content
    "received_alert": _kind(
        """alert_id sender identifier sent status msg_type scope references expires digest source state
        by_alert_id urgency severity certainty language category effective onset received_at linked_by
        linked_at unlinked_by unlinked_at languages received_by links""",
        "infos document restriction headline event description instruction areas area_desc polygons circles"
        " geocodes sender_name web contact reason",
    ),
    # A public warning is public content by definition (drafted only for a PUBLIC crisis); declared all the same.
    "public_warning": _kind(
        "warning_id msg_type number identifier sender cap_status sent references urgency certainty based_on category"
        " severity in_force pending first_sent cap drafted_by drafted_at revised_by revised_at approved_by approved_at issued_by"
        " digest approved_digest",
        "texts areas note approval_note",
    ),
    # a reminder carries structure only (kinds, ids, units, times, who was told by which channel): never classified
    "reminder": _kind(
        "reminder_id deadline deadline_kind ref due_at notice stage round recipients recipient channel delivered reason"
        " attempt gave_up message_id by role",
        "",
    ),
}

# The kind of record each stored event writes (an event class not named here shows structure only).
EVENT_RECORDS: dict[type, str] = {
    **dict.fromkeys(
        (Crisis.Declared, Crisis.SeverityChanged, Crisis.ConditionChanged, Crisis.StatusChanged,
         Crisis.ContinuityPlanActivated, Crisis.ContinuityPlanDeactivated, Crisis.PoliceRequestOpened,
         Crisis.PoliceRequestClosed, Crisis.AreasChanged),
        "crisis",
    ),
    Crisis.LogEntryRecorded: "log_entry",
    Crisis.LogEntryStruck: "log_entry",
    Crisis.ActionAssigned: "action",
    Crisis.ActionClosed: "action",
    Crisis.SituationReportIssued: "situation_report",
    Crisis.DecisionRecorded: "decision",
    Crisis.DecisionReviewed: "decision",
    Crisis.AfterActionReviewRecorded: "after_action_review",
    Crisis.SituationReportDrafted: "situation_report",
    Crisis.SituationReportContributed: "situation_report",
    Crisis.DraftSituationReportIssued: "situation_report",
    DivisionPreparedness.Registered: "readiness",
    DivisionPreparedness.ReadinessChanged: "readiness",
    **dict.fromkeys(
        (DivisionPreparedness.PlanDrafted, DivisionPreparedness.PlanApproved, DivisionPreparedness.PlanReviewed,
         DivisionPreparedness.ExerciseRecorded, DivisionPreparedness.PlanActivated,
         DivisionPreparedness.PlanDeactivated),
        "continuity_plan",
    ),
    PoliceLiaison.Opened: "police_liaison",
    PoliceLiaison.PeopleChanged: "police_liaison",
    PoliceLiaison.RequestRaised: "police_request",
    PoliceLiaison.RequestClosed: "police_request",
    PoliceLiaison.InformationShared: "information_share",
    EmergencyConditions.Started: "emergency_conditions",
    EmergencyConditions.DeclaredInForce: "emergency_conditions",
    EmergencyConditions.Lifted: "emergency_conditions",
    **dict.fromkeys(
        (Position.Established, Position.SignedOn, Position.SignedOff, Position.BriefPrepared, Position.HandedOver),
        "position",
    ),
    DivisionPreparedness.PlanReviewDueSet: "continuity_plan",
    **dict.fromkeys(
        (AfterActionReview.Drafted, AfterActionReview.RecordedOnCrisis, AfterActionReview.Revised,
         AfterActionReview.Commented, AfterActionReview.Finalised),
        "review",
    ),
    **dict.fromkeys(
        (AfterActionReview.ItemAdded, AfterActionReview.ItemClosed, AfterActionReview.PlanReviewSet),
        "improvement_item",
    ),
    **dict.fromkeys(
        (ReceivedAlert.Received, ReceivedAlert.LinkedToCrisis, ReceivedAlert.Unlinked, ReceivedAlert.Ended,
         ReceivedAlert.Superseded, ReceivedAlert.Cancelled),
        "received_alert",
    ),
    PublicWarning.Event: "public_warning",
    Reminder.Event: "reminder",
}
UNDECLARED = RecordKind(EVERY_RECORD, frozenset())


def record_of(event: Any) -> str | None:
    for cls in type(event).__mro__:
        if cls in EVENT_RECORDS:
            return EVENT_RECORDS[cls]
    return None


def stricter(*classifications: Classification | None) -> Classification:
    """The classification of a record within others: the innermost one that is not PUBLIC (a SECRET crisis's
    RECEIVED answer shows the answer's marking; its PUBLIC action shows the crisis's legal basis)."""
    for classification in reversed(classifications):
        if classification is not None and not classification.is_public:
            return classification
    return PUBLIC


def shown(
    kind: str, classification: Classification, cleared: bool, short_names: Mapping[str, str] | None,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields of a record of `kind` as the reader sees them: all of them if the record is PUBLIC or the
    reader is cleared; otherwise its structure, and the label in place of everything else (None stays None)."""
    if classification.is_public or cleared:
        return dict(fields)
    label = classification.label(dict(short_names or {}))
    structure = RECORDS.get(kind, UNDECLARED).structure
    return {key: (value if key in structure or value is None else label) for key, value in fields.items()}


def redact(
    kind: str, classification: Classification, cleared: bool, short_names: Mapping[str, str] | None = None,
    /, **fields: Any,
) -> dict[str, Any]:
    """A record of `kind` as the reader sees it (see `shown`), with its classification and whether its
    content was replaced by the label. Pass every field of the record: what is not structure is withheld."""
    hidden = not (classification.is_public or cleared)
    return {
        "classification": classification.as_dict(),
        "redacted": hidden,
        **shown(kind, classification, cleared, short_names, fields),
    }


def classification_of(
    event: Any, aggregate: Callable[[], Any], crisis: Callable[[], Classification] = lambda: PUBLIC
) -> Classification:
    """The classification governing a stored event. `aggregate()` gives its aggregate as it stands now (at or
    after the event) and, for a police liaison matter, `crisis()` the classification of its crisis; each is
    asked for only when the event does not say it all itself."""
    own = getattr(event, "classification", None)
    if isinstance(event, PoliceLiaison.RequestClosed):
        request = aggregate().requests.get(event.request_id)
        return stricter(request.classification if request else None, own)
    if own is not None:
        return own
    if isinstance(event, Crisis.Event):
        crisis_now = aggregate()
        return _crisis_record(event, crisis_now) or crisis_now.classification
    if isinstance(event, DivisionPreparedness.Event) and hasattr(event, "plan_id"):
        plan = aggregate().plans.get(event.plan_id)
        return plan.classification if plan is not None else PUBLIC
    if isinstance(event, PoliceLiaison.Event):
        return crisis()
    if isinstance(event, ReceivedAlert.Event):  # superseded or cancelled: as the alert itself
        return aggregate().classification
    return PUBLIC


def _crisis_record(event: Any, crisis: Crisis) -> Classification | None:
    """The classification of the record of a crisis that an event without its own adds to."""
    if isinstance(event, Crisis.LogEntryStruck):
        return crisis.entry_classification(event.number)
    if isinstance(event, Crisis.ActionClosed):
        return crisis.action_classification(event.action_id)
    if isinstance(event, Crisis.DecisionReviewed):
        return crisis.decision_classification(event.decision_id)
    return None
