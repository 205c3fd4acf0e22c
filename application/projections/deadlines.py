"""Deadlines derived from the log, for the reminders (domain.reminder), and the reminders themselves.

The deadlines: actions due (an action's due time and unit; gone once it is closed), situation reports due (the
next due time the last report named, or the reporting rhythm VALMIUS_SITREP_RHYTHM after the last report or the
declaration, as the situation overview derives it: whichever comes first), decision reviews due (a decision's
review time; gone once reviewed or superseded) and police requests unanswered past
VALMIUS_POLICE_ANSWER_THRESHOLD_MINUTES (gone once answered, declined or withdrawn). A deadline's key says what it
is and when it is due (`ACTION.C-1.A-1.20261206T010000Z`): a new due time is a new deadline. Deadlines of a closed
crisis are gone; those of a crisis declared as an exercise (`exercise` on Crisis.Declared) are never reminded.
Times derived from settings (the rhythm, the threshold) are derived when read, never stored.

The reminders' rows: each reminder with its deadline, its last step, who acknowledged it and whether it is
settled, and each delivery of each notice with whether it is done (delivered or given up), so that the sender
finds the deliveries a crash left unfinished.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from application.ports import Store, Tx
from application.projections.read_model import ReadModel
from application.projections.values import iso, parse
from domain.crisis import Crisis
from domain.police_liaison import PoliceLiaison
from domain.reminder import Reminder
from domain.shared import Policy, display

OPEN = "OPEN"


@dataclass(frozen=True)
class Deadline:
    key: str
    kind: str
    crisis_id: str | None
    ref: str | None
    unit: str | None
    due_at: datetime


def deadline_key(kind: str, scope: str | None, ref: str | None, due_at: datetime) -> str:
    stamp = due_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return ".".join(part for part in (kind, scope, ref, stamp) if part)


class Deadlines(ReadModel):
    name = "deadlines"
    tables = {
        "rm_deadline_crises": (
            "(crisis_id TEXT PRIMARY KEY, severity INTEGER, exercise INTEGER, status TEXT, declared_at TEXT,"
            " sitrep_at TEXT, sitrep_next_due TEXT)"
        ),
        "rm_deadline_liaisons": "(liaison_id TEXT PRIMARY KEY, crisis_id TEXT)",
        # kind ACTION (scope: the crisis), DECISION_REVIEW (the crisis), POLICE_REQUEST (the liaison; due_at is
        # when it was raised: the threshold is added when read)
        "rm_deadlines": (
            "(kind TEXT, scope TEXT, ref TEXT, crisis_id TEXT, unit TEXT, due_at TEXT, status TEXT,"
            " PRIMARY KEY (kind, scope, ref))"
        ),
        "rm_reminders": (
            "(reminder_id TEXT PRIMARY KEY, deadline TEXT, deadline_kind TEXT, crisis_id TEXT, ref TEXT, unit TEXT,"
            " due_at TEXT, step INTEGER, acknowledged_by TEXT, acknowledged_at TEXT, settled TEXT, opened_at TEXT)"
        ),
        "rm_reminder_deliveries": (
            "(reminder_id TEXT, notice INTEGER, recipient TEXT, channel TEXT, done INTEGER,"
            " PRIMARY KEY (reminder_id, notice, recipient, channel))"
        ),
    }
    keys = {
        "rm_deadline_crises": ("crisis_id",),
        "rm_deadline_liaisons": ("liaison_id",),
        "rm_deadlines": ("kind", "scope", "ref"),
        "rm_reminders": ("reminder_id",),
        "rm_reminder_deliveries": ("reminder_id", "notice", "recipient", "channel"),
    }
    indexes = {"rm_reminder_deliveries_undone": "rm_reminder_deliveries (done, reminder_id)"}

    def subscriptions(self) -> dict:
        P = PoliceLiaison
        return {
            Crisis.Declared: self.declared,
            Crisis.SeverityChanged: self.severity_changed,
            Crisis.StatusChanged: self.status_changed,
            Crisis.SituationReportIssued: self.situation_report_issued,
            Crisis.DraftSituationReportIssued: self.situation_report_issued,
            Crisis.ActionAssigned: self.action_assigned,
            Crisis.ActionClosed: self.action_closed,
            Crisis.DecisionRecorded: self.decision_recorded,
            Crisis.DecisionReviewed: self.decision_reviewed,
            P.Opened: self.liaison_opened,
            P.RequestRaised: self.request_raised,
            P.RequestAnswered: self.request_closed,
            P.RequestDeclined: self.request_closed,
            P.RequestWithdrawn: self.request_closed,
            Reminder.Opened: self.reminder_opened,
            Reminder.NoticeRecorded: self.notice_recorded,
            Reminder.DeliveryRecorded: self.delivery_recorded,
            Reminder.Acknowledged: self.acknowledged,
            Reminder.Settled: self.settled,
        }

    # --- crises and their records ----------------------------------------------------------------------

    def declared(self, tx: Tx, e: Crisis.Declared, position: int) -> None:
        self.insert(tx, "rm_deadline_crises", {
            "crisis_id": e.crisis_id, "severity": e.severity, "exercise": int(bool(getattr(e, "exercise", False))),
            "status": "ACTIVE", "declared_at": iso(e.occurred_at),
        })

    def severity_changed(self, tx: Tx, e: Crisis.SeverityChanged, position: int) -> None:
        self.update(tx, "rm_deadline_crises", (e.crisis_id,), {"severity": e.to_severity})

    def status_changed(self, tx: Tx, e: Crisis.StatusChanged, position: int) -> None:
        self.update(tx, "rm_deadline_crises", (e.crisis_id,), {"status": e.to_status})

    def situation_report_issued(self, tx: Tx, e: Any, position: int) -> None:
        self.update(tx, "rm_deadline_crises", (e.crisis_id,), {"sitrep_at": iso(e.occurred_at), "sitrep_next_due": iso(e.next_due_at)})

    def action_assigned(self, tx: Tx, e: Crisis.ActionAssigned, position: int) -> None:
        self.insert(tx, "rm_deadlines", {"kind": "ACTION", "scope": e.crisis_id, "ref": e.action_id, "crisis_id": e.crisis_id,
                                         "unit": e.unit, "due_at": iso(e.due_at), "status": OPEN})

    def action_closed(self, tx: Tx, e: Crisis.ActionClosed, position: int) -> None:
        self.update(tx, "rm_deadlines", ("ACTION", e.crisis_id, e.action_id), {"status": e.outcome})

    def decision_recorded(self, tx: Tx, e: Crisis.DecisionRecorded, position: int) -> None:
        if e.review_at is not None:
            self.insert(tx, "rm_deadlines", {"kind": "DECISION_REVIEW", "scope": e.crisis_id, "ref": e.decision_id,
                                             "crisis_id": e.crisis_id, "due_at": iso(e.review_at), "status": OPEN})
        if e.supersedes:
            self.update(tx, "rm_deadlines", ("DECISION_REVIEW", e.crisis_id, e.supersedes), {"status": "SUPERSEDED"})

    def decision_reviewed(self, tx: Tx, e: Crisis.DecisionReviewed, position: int) -> None:
        self.update(tx, "rm_deadlines", ("DECISION_REVIEW", e.crisis_id, e.decision_id), {"status": "REVIEWED"})

    def liaison_opened(self, tx: Tx, e: PoliceLiaison.Opened, position: int) -> None:
        self.insert(tx, "rm_deadline_liaisons", {"liaison_id": e.liaison_id, "crisis_id": e.crisis_id})

    def request_raised(self, tx: Tx, e: PoliceLiaison.RequestRaised, position: int) -> None:
        self.insert(tx, "rm_deadlines", {"kind": "POLICE_REQUEST", "scope": e.liaison_id, "ref": e.request_id,
                                         "due_at": iso(e.occurred_at), "status": OPEN})

    def request_closed(self, tx: Tx, e: PoliceLiaison.RequestClosed, position: int) -> None:
        self.update(tx, "rm_deadlines", ("POLICE_REQUEST", e.liaison_id, e.request_id), {"status": e.outcome})

    # --- reminders ---------------------------------------------------------------------------------------

    def reminder_opened(self, tx: Tx, e: Reminder.Opened, position: int) -> None:
        self.insert(tx, "rm_reminders", {
            "reminder_id": e.reminder_id, "deadline": e.deadline, "deadline_kind": e.deadline_kind, "crisis_id": e.crisis_id,
            "ref": e.ref, "unit": e.unit, "due_at": iso(e.due_at), "step": 0, "opened_at": iso(e.recorded_at),
        })

    def notice_recorded(self, tx: Tx, e: Reminder.NoticeRecorded, position: int) -> None:
        self.update(tx, "rm_reminders", (e.reminder_id,), {"step": e.notice})
        for recipient in e.recipients:
            for channel in recipient["channels"]:
                self.insert(tx, "rm_reminder_deliveries", {"reminder_id": e.reminder_id, "notice": e.notice,
                                                           "recipient": recipient["recipient"], "channel": channel, "done": 0})

    def delivery_recorded(self, tx: Tx, e: Reminder.DeliveryRecorded, position: int) -> None:
        if e.delivered or e.gave_up:
            self.update(tx, "rm_reminder_deliveries", (e.reminder_id, e.notice, e.recipient, e.channel), {"done": 1})

    def acknowledged(self, tx: Tx, e: Reminder.Acknowledged, position: int) -> None:
        self.update(tx, "rm_reminders", (e.reminder_id,), {"acknowledged_by": e.by, "acknowledged_at": iso(e.occurred_at)})

    def settled(self, tx: Tx, e: Reminder.Settled, position: int) -> None:
        self.update(tx, "rm_reminders", (e.reminder_id,), {"settled": e.reason})


def open_deadlines(store: Store, policy: Policy) -> list[Deadline]:
    """Every deadline standing now, of crises that are not closed and not exercises, by due time."""
    crises = {row["crisis_id"]: row for row in store.query(
        "SELECT * FROM rm_deadline_crises WHERE status <> 'CLOSED' AND exercise = 0")}
    liaisons = {row["liaison_id"]: row["crisis_id"] for row in store.query("SELECT * FROM rm_deadline_liaisons")}
    found: list[Deadline] = []
    for row in store.query("SELECT * FROM rm_deadlines WHERE status = %s", (OPEN,)):
        if row["kind"] == "POLICE_REQUEST":
            crisis_id = liaisons.get(row["scope"])
            if crisis_id is not None and crisis_id not in crises:
                continue  # its crisis is closed, or an exercise
            due = parse(row["due_at"]) + policy.police_answer_threshold
        else:
            crisis_id = row["crisis_id"]
            if crisis_id not in crises:
                continue
            due = parse(row["due_at"])
        found.append(Deadline(deadline_key(row["kind"], row["scope"], row["ref"], due), row["kind"], crisis_id, row["ref"], row["unit"], due))
    for crisis_id, crisis in crises.items():
        due = situation_report_due(crisis, policy)
        if due is not None:
            found.append(Deadline(deadline_key("SITUATION_REPORT", crisis_id, None, due), "SITUATION_REPORT", crisis_id, None, None, due))
    return sorted(found, key=lambda deadline: (deadline.due_at, deadline.key))


def situation_report_due(crisis: dict[str, Any], policy: Policy) -> datetime | None:
    """The next report's due time: the one the last report named, or the rhythm's (as situation_overview
    derives it: the rhythm after the last report, or the declaration), whichever comes first."""
    named = parse(crisis["sitrep_next_due"])
    rhythm = policy.rhythm(crisis["severity"])
    by_rhythm = parse(crisis["sitrep_at"] or crisis["declared_at"]) + rhythm if rhythm else None
    candidates = [due for due in (named, by_rhythm) if due is not None]
    return min(candidates) if candidates else None


def open_reminders(store: Store, limit: int = 1000) -> list[dict[str, Any]]:
    """Reminders not settled, by due time (at most `limit`)."""
    rows = store.query("SELECT * FROM rm_reminders WHERE settled IS NULL ORDER BY due_at, reminder_id")
    return sorted(rows, key=lambda row: (parse(row["due_at"]), row["reminder_id"]))[:limit]


def presented(row: dict[str, Any]) -> dict[str, Any]:
    """A reminder's row as readers are shown it (GET /reminders, the handover brief)."""
    return {
        "reminder_id": row["reminder_id"], "deadline_kind": row["deadline_kind"], "crisis_id": row["crisis_id"],
        "ref": row["ref"], "unit": row["unit"], "due_at": display(parse(row["due_at"])), "notices": row["step"],
        "acknowledged_by": row["acknowledged_by"], "acknowledged_at": display(parse(row["acknowledged_at"]), seconds=True),
    }


def unfinished_deliveries(store: Store) -> list[str]:
    """The reminders with a delivery neither delivered nor given up (a crash between record and result)."""
    return [row["reminder_id"] for row in store.query(
        "SELECT DISTINCT reminder_id FROM rm_reminder_deliveries WHERE done = 0 ORDER BY reminder_id")]


def all_reminder_ids(store: Store) -> list[str]:
    return [row["reminder_id"] for row in store.query("SELECT reminder_id FROM rm_reminders ORDER BY reminder_id")]
