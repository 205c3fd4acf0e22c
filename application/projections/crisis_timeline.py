"""The crisis timeline: every entry of a crisis ordered by instant (never by local clock reading), with both
times and their offsets, the actor, late entries flagged, and struck entries shown struck (never removed)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from application.ports import Store, Tx
from application.projections.paging import Page, microseconds, page_rows
from application.projections.read_model import ReadModel
from application.projections.values import classification_text, dump, iso, load, parse, stored_classification
from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.received_alert import ReceivedAlert
from domain.public_warning import PublicWarning
from domain.secrecy import redact
from domain.shared import PUBLIC, Classification, Policy, display


MINUTE = timedelta(minutes=1)


class CrisisTimeline(ReadModel):
    name = "crisis_timeline"
    tables = {
        "rm_timeline": (
            "(crisis_id TEXT, position BIGINT, kind TEXT, ref TEXT, occurred_at TEXT, occurred_us BIGINT,"
            " recorded_at TEXT, actor TEXT, late_minutes INTEGER, late_entry_reason TEXT, content TEXT,"
            " classification TEXT, struck INTEGER DEFAULT 0, struck_reason TEXT, struck_by TEXT, struck_at TEXT,"
            " PRIMARY KEY (crisis_id, position), UNIQUE (crisis_id, occurred_us, position))"  # the index pages read
        ),
    }

    PARENT: ClassVar[dict[str, str]] = {
        "action_completed": "action_assigned", "action_cancelled": "action_assigned", "decision_review": "decision"
    }
    PARENTS: ClassVar[frozenset[str]] = frozenset(PARENT.values())
    REMEMBERED = 100_000  # parents' classifications kept in memory (a record's classification never changes)
    COLUMNS = (
        "crisis_id", "position", "kind", "ref", "occurred_at", "occurred_us", "recorded_at", "actor", "late_minutes",
        "late_entry_reason", "content", "classification",
    )

    def __init__(self) -> None:
        super().__init__()
        self._parents = self.memory(self.REMEMBERED)  # (crisis, kind, ref) -> Classification

    def subscriptions(self) -> dict:
        C = Crisis
        entry = self.entry
        return {
            C.Declared: lambda tx, e, p: entry(tx, e, p, "declared", None, title=e.title, severity=e.severity,
                                               category=e.category, areas=e.areas),
            C.SeverityChanged: lambda tx, e, p: entry(tx, e, p, "severity_changed", None, from_severity=e.from_severity,
                                                      to_severity=e.to_severity, reason=e.reason),
            C.ConditionChanged: lambda tx, e, p: entry(tx, e, p, "condition_changed", None, to_condition=e.to_condition,
                                                       reason=e.reason),
            C.StatusChanged: lambda tx, e, p: entry(tx, e, p, "status_changed", None, from_status=e.from_status,
                                                    to_status=e.to_status, reason=e.reason),
            C.LogEntryRecorded: lambda tx, e, p: entry(tx, e, p, "log_entry", str(e.number), text=e.text,
                                                       source=e.source),
            C.LogEntryStruck: self.struck,
            C.ActionAssigned: lambda tx, e, p: entry(tx, e, p, "action_assigned", e.action_id, unit=e.unit,
                                                     task=e.task, due_at=display(e.due_at)),
            C.ActionClosed: lambda tx, e, p: entry(tx, e, p, f"action_{e.outcome.lower()}", e.action_id,
                                                   note=e.note),
            C.SituationReportIssued: lambda tx, e, p: entry(tx, e, p, "situation_report", str(e.number),
                                                            summary=e.summary_text,
                                                            next_due_at=display(e.next_due_at)),
            C.DecisionRecorded: lambda tx, e, p: entry(tx, e, p, "decision", e.decision_id, decision=e.decision,
                                                       decided_by=e.decided_by, supersedes=e.supersedes),
            C.DecisionReviewed: lambda tx, e, p: entry(tx, e, p, "decision_review", e.decision_id, outcome=e.outcome),
            C.AfterActionReviewRecorded: lambda tx, e, p: entry(tx, e, p, "after_action_review", None,
                                                                findings=e.findings,
                                                                recommendations=e.recommendations),
            C.ContinuityPlanActivated: lambda tx, e, p: entry(tx, e, p, "plan_activated", e.plan_id, unit=e.unit),
            C.ContinuityPlanDeactivated: lambda tx, e, p: entry(tx, e, p, "plan_deactivated", e.plan_id),
            C.PoliceRequestOpened: lambda tx, e, p: entry(tx, e, p, "police_request_raised", e.request_id),
            C.PoliceRequestClosed: lambda tx, e, p: entry(tx, e, p, "police_request_closed", e.request_id,
                                                          outcome=e.outcome),
            C.SituationReportDrafted: lambda tx, e, p: entry(tx, e, p, "situation_report_drafted", None,
                                                             form=e.form),
            C.SituationReportContributed: lambda tx, e, p: entry(tx, e, p, "situation_report_contributed", e.unit,
                                                                 sections=e.sections),
            C.DraftSituationReportIssued: lambda tx, e, p: entry(tx, e, p, "situation_report", str(e.number),
                                                                 form=e.form, next_due_at=display(e.next_due_at),
                                                                 figures=e.figures,
                                                                 figures_digest=e.figures_digest),
            C.AreasChanged: lambda tx, e, p: entry(tx, e, p, "areas_changed", None, added=e.added,
                                                   removed=e.removed, reason=e.reason),
            ReceivedAlert.LinkedToCrisis: lambda tx, e, p: entry(tx, e, p, "received_alert_linked", e.alert_id,
                                                                 **e.headline),
            ReceivedAlert.Unlinked: lambda tx, e, p: entry(tx, e, p, "received_alert_unlinked", e.alert_id,
                                                           reason=e.reason),
            **self.review_steps(),
            **self.warning_subscriptions(),
        }

    def review_steps(self) -> dict:
        """The steps of the crisis's after-action review (domain.after_action_review), each as secret as the
        review (its events carry its classification)."""
        R = AfterActionReview
        entry = self.entry
        return {
            R.Drafted: lambda tx, e, p: entry(tx, e, p, "after_action_review_drafted", None, findings=e.findings,
                                              recommendations=e.recommendations),
            R.Revised: lambda tx, e, p: entry(tx, e, p, "after_action_review_revised", None, findings=e.findings,
                                              recommendations=e.recommendations),
            R.Commented: lambda tx, e, p: entry(tx, e, p, "after_action_review_comment", str(e.number), text=e.text),
            R.ItemAdded: lambda tx, e, p: entry(tx, e, p, "improvement_item_added", e.item_id, unit=e.unit,
                                                task=e.task, due_at=display(e.due_at), evidence=e.evidence),
            R.Finalised: lambda tx, e, p: entry(tx, e, p, "after_action_review_final", None),
            R.ItemClosed: lambda tx, e, p: entry(tx, e, p, f"improvement_item_{e.outcome.lower()}", e.item_id,
                                                 note=e.note),
            R.PlanReviewSet: lambda tx, e, p: entry(tx, e, p, "improvement_item_plan_review", e.item_id, unit=e.unit,
                                                    plan_id=e.plan_id, next_review_due=display(e.next_review_due)),
        }

    def warning_subscriptions(self) -> dict:
        """A public warning of the crisis: who drafted, revised and approved each message, and when it was
        issued (its CAP identifier and the messages it references); each with the headlines it had then."""
        W, entry = PublicWarning, self.entry

        def headlines(e: Any) -> dict[str, str]:
            return {language: text["headline"] for language, text in e.texts.items()}

        def drafted(tx: Tx, e: Any, p: int) -> None:  # an alert or update with its scales, a cancellation without
            scales = {"urgency": e.urgency, "certainty": e.certainty} if hasattr(e, "urgency") else {}
            entry(tx, e, p, "warning_drafted", e.warning_id, msg_type=e.msg_type, headlines=headlines(e), **scales)

        return {
            W.Drafted: drafted,
            W.UpdateDrafted: drafted,
            W.CancellationDrafted: drafted,
            W.Revised: lambda tx, e, p: entry(tx, e, p, "warning_revised", e.warning_id, headlines=headlines(e)),
            W.Approved: lambda tx, e, p: entry(tx, e, p, "warning_approved", e.warning_id, msg_type=e.msg_type,
                                               note=e.note),
            W.Issued: lambda tx, e, p: entry(tx, e, p, "warning_issued", e.warning_id, msg_type=e.msg_type,
                                             identifier=e.identifier, sent=display(e.sent, seconds=True),
                                             references=e.references, note=e.note),
        }

    def entry(self, tx: Tx, e: Any, position: int, kind: str, ref: str | None, **content: Any) -> None:
        """One row per event: the occurred time as given (with its offset) and as microseconds since the epoch
        (an instant, to order by), the recorded time, and the content as JSON. A rebuild writes one such row per
        crisis event: keep this lean (it is most of a rebuild's own work). An entry recorded as it happened
        (occurred_at defaults to the time of recording) has its time written out once."""
        recorded = e.recorded_at
        occurred = getattr(e, "occurred_at", None) or recorded
        own = getattr(e, "classification", None)
        classification = own if own is not None else self.classification_of(tx, e, kind, ref)
        if kind in self.PARENTS:
            self.remember(self._parents, (e.crisis_id, kind, ref), classification)
        recorded_text = recorded.isoformat()
        if occurred is recorded or (occurred == recorded and occurred.utcoffset() == recorded.utcoffset()):
            occurred_text, late = recorded_text, 0
        else:
            occurred_text, late = occurred.isoformat(), max((recorded - occurred) // MINUTE, 0)
        self.append(tx, "rm_timeline", self.COLUMNS, (
            e.crisis_id, position, kind, ref, occurred_text, microseconds(occurred), recorded_text,
            e.actor, late, getattr(e, "late_entry_reason", None), dump(content), classification_text(classification),
        ))

    def classification_of(self, tx: Tx, e: Any, kind: str, ref: str | None) -> Classification:
        """An entry's own classification; what is added to a record later (an action's completion note, a
        decision's review) is as secret as that record. The record's classification is remembered from its
        own entry when this model applied it (it never changes), so that following and rebuilding do not wait
        for a read per completion or review; otherwise (a record applied by another process, or forgotten since)
        it is read from the table. A record of the batch being applied is always remembered (Memory): its row
        is not written yet."""
        own = getattr(e, "classification", None)
        if own is not None:
            return own
        parent = self.PARENT.get(kind)
        if parent is None:
            return PUBLIC
        remembered = self._parents.get((e.crisis_id, parent, ref))
        if remembered is not None:
            return remembered
        tx.execute(
            "SELECT classification FROM rm_timeline WHERE crisis_id = %s AND kind = %s AND ref = %s",
            (e.crisis_id, parent, ref),
        )
        rows = tx.fetchall()
        return stored_classification(rows[0]["classification"]) if rows else PUBLIC

    def struck(self, tx: Tx, e: Crisis.LogEntryStruck, position: int) -> None:
        self.after_rows(  # once the batch's rows are written: the entry may be one of them
            tx,
            "UPDATE rm_timeline SET struck = 1, struck_reason = %s, struck_by = %s, struck_at = %s"
            " WHERE crisis_id = %s AND kind = 'log_entry' AND ref = %s",
            (e.reason, e.actor, iso(e.recorded_at), e.crisis_id, str(e.number)),
        )


# The kind of record each kind of timeline entry belongs to (domain.secrecy).
RECORD_OF_ENTRY = {
    "log_entry": "log_entry", "action_assigned": "action", "action_completed": "action", "action_cancelled": "action",
    "situation_report": "situation_report", "decision": "decision", "decision_review": "decision",
    "after_action_review": "after_action_review",
    "situation_report_drafted": "situation_report", "situation_report_contributed": "situation_report",
    **dict.fromkeys(("after_action_review_drafted", "after_action_review_revised", "after_action_review_comment",
                     "after_action_review_final"), "review"),
    **dict.fromkeys(("improvement_item_added", "improvement_item_done", "improvement_item_dropped",
                     "improvement_item_plan_review"), "improvement_item"),
    "received_alert_linked": "received_alert", "received_alert_unlinked": "received_alert",
    **dict.fromkeys(("warning_drafted", "warning_revised", "warning_approved", "warning_issued"), "public_warning"),
}


def timeline(
    store: Store, crisis_id: str, at: datetime, cleared: bool, policy: Policy, page: Page | None = None
) -> dict[str, Any]:
    """The crisis's entries ordered by instant; with a `page`, only that page, and the cursors of its
    neighbours (`next`, `previous`: absent where there is nothing more)."""
    names = policy.units.short_names
    rows, neighbours = page_rows(store, "rm_timeline", ("occurred_us", "position"), crisis_id, page or Page())
    # what the crisis records of itself (a reason for a change of severity, the after-action review) is as
    # secret as the crisis; its log entries, actions, reports and decisions carry their own classification
    first = store.query(  # its declaration, the crisis's first event: one row along the primary key
        "SELECT kind, classification FROM rm_timeline WHERE crisis_id = %s ORDER BY position LIMIT 1", (crisis_id,)
    )
    declared = [row for row in first if row["kind"] == "declared"]
    crisis = stored_classification(declared[0]["classification"]) if declared else PUBLIC
    return {
        "crisis_id": crisis_id,
        "at": display(at, seconds=True),
        "entries": [_entry(r, crisis, cleared, names, policy) for r in rows],
        **{cursor: key for cursor, key in neighbours.items() if key is not None},
    }


def _entry(
    r: dict[str, Any], crisis: Classification, cleared: bool, names: dict[str, str], policy: Policy
) -> dict[str, Any]:
    occurred, recorded = parse(r["occurred_at"]), parse(r["recorded_at"])
    record = RECORD_OF_ENTRY.get(r["kind"], "crisis")
    return redact(
        record,
        crisis if record in ("crisis", "after_action_review") else stored_classification(r["classification"]),
        cleared,
        names,
        position=r["position"],
        kind=r["kind"],
        ref=r["ref"],
        occurred_at=display(occurred),
        recorded_at=display(recorded, seconds=True),
        actor=r["actor"],
        # the rule that asked for a late-entry reason, to the second (late_minutes is rounded down)
        late=recorded - occurred > policy.time.late_entry_after,
        late_minutes=r["late_minutes"],
        struck=bool(r["struck"]),
        struck_by=r["struck_by"],
        content=load(r["content"]),
        late_entry_reason=r["late_entry_reason"],
        struck_reason=r["struck_reason"],
    )
