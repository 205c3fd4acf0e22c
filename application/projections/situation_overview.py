"""The situation overview leadership reads (DOMAIN.md, "What leadership must see").

This read model keeps the crises and their actions; the overview query combines them with the readiness
board, the police liaison board, the decision log and the after-action items (overdue ones counted per unit). Facts that change with time alone (overdue actions
and situation reports, requests unanswered beyond the threshold, plan time against MTPD, reviews due) are
derived at read time from the given moment, never stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from application.ports import Store, Tx
from application.projections import after_action_items, decision_log, police_liaison_board, readiness_board
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, where as exercise_where
from application.projections.read_model import ReadModel
from application.projections.values import by_instant, classification_json, iso, parse, stored_classification
from domain.crisis import Crisis
from domain.secrecy import redact
from domain.shared import Policy, display

CLOSED = "CLOSED"
MINUTE = timedelta(minutes=1)


EXERCISES = "rm_overview_exercises"


class SituationOverview(KeepsExercises, ReadModel):
    name = "situation_overview"
    tables = {
        "rm_crises": (
            "(crisis_id TEXT PRIMARY KEY, title TEXT, category TEXT, severity INTEGER, condition TEXT, status TEXT,"
            " lead TEXT, classification TEXT, declared_at TEXT, status_changed_at TEXT, sitrep_number INTEGER,"
            " sitrep_at TEXT, sitrep_next_due TEXT)"
        ),
        "rm_actions": (
            "(crisis_id TEXT, action_id TEXT, unit TEXT, task TEXT, classification TEXT, assigned_at TEXT,"
            " due_at TEXT, status TEXT, closed_at TEXT, PRIMARY KEY (crisis_id, action_id))"
        ),
        "rm_overview_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }

    keys = {"rm_crises": ("crisis_id",), "rm_actions": ("crisis_id", "action_id")}
    exercises_table = EXERCISES
    later_tables = frozenset({exercises_table})
    indexes = {"rm_actions_by_status": "rm_actions (status, crisis_id)"}  # the open ones, not every action ever

    def subscriptions(self) -> dict:
        return {
            Crisis.Declared: self.declared,
            Crisis.SeverityChanged: self.severity_changed,
            Crisis.ConditionChanged: self.condition_changed,
            Crisis.StatusChanged: self.status_changed,
            Crisis.SituationReportIssued: self.situation_report_issued,
            Crisis.DraftSituationReportIssued: self.situation_report_issued,
            Crisis.ActionAssigned: self.action_assigned,
            Crisis.ActionClosed: self.action_closed,
        }

    def declared(self, tx: Tx, e: Crisis.Declared, position: int) -> None:
        at = iso(e.occurred_at)
        self.insert(tx, "rm_crises", {
            "crisis_id": e.crisis_id, "title": e.title, "category": e.category, "severity": e.severity,
            "condition": e.condition, "status": "ACTIVE", "lead": e.lead_authority or e.external_lead,
            "classification": classification_json(e), "declared_at": at, "status_changed_at": at,
        })
        self.exercise_declared(tx, e, position)

    def severity_changed(self, tx: Tx, e: Crisis.SeverityChanged, position: int) -> None:
        self.update(tx, "rm_crises", (e.crisis_id,), {"severity": e.to_severity})

    def condition_changed(self, tx: Tx, e: Crisis.ConditionChanged, position: int) -> None:
        self.update(tx, "rm_crises", (e.crisis_id,), {"condition": e.to_condition})

    def status_changed(self, tx: Tx, e: Crisis.StatusChanged, position: int) -> None:
        self.update(tx, "rm_crises", (e.crisis_id,), {"status": e.to_status, "status_changed_at": iso(e.occurred_at)})

    def situation_report_issued(
        self, tx: Tx, e: Crisis.SituationReportIssued | Crisis.DraftSituationReportIssued, position: int
    ) -> None:
        self.update(tx, "rm_crises", (e.crisis_id,), {
            "sitrep_number": e.number, "sitrep_at": iso(e.occurred_at), "sitrep_next_due": iso(e.next_due_at)
        })

    def action_assigned(self, tx: Tx, e: Crisis.ActionAssigned, position: int) -> None:
        self.insert(tx, "rm_actions", {
            "crisis_id": e.crisis_id, "action_id": e.action_id, "unit": e.unit, "task": e.task,
            "classification": classification_json(e), "assigned_at": iso(e.occurred_at), "due_at": iso(e.due_at),
            "status": "OPEN",
        })

    def action_closed(self, tx: Tx, e: Crisis.ActionClosed, position: int) -> None:
        self.update(tx, "rm_actions", (e.crisis_id, e.action_id), {"status": e.outcome, "closed_at": iso(e.occurred_at)})


def overview(
    store: Store, at: datetime, cleared: bool, policy: Policy, *, improvement_items: bool = True,
    exercise: bool = False,
) -> dict[str, Any]:
    """The overview as it stands at `at` (the server clock, or a past moment for auditors); with
    `improvement_items` (not in the history snapshots' models), `overdue_improvement_items` per unit while any are.
    The real picture, never a crisis declared as an exercise; with `exercise` the exercises' own (the units'
    readiness is the real one in both)."""
    names = policy.units.short_names
    of = exercise_where("crisis_id", EXERCISES, exercise)
    crises = by_instant(
        store.query(f"SELECT * FROM rm_crises WHERE status <> %s AND {of} ORDER BY crisis_id", (CLOSED,)),
        "declared_at",
    )
    actions = by_instant(
        store.query(
            "SELECT a.* FROM rm_actions a JOIN rm_crises c ON c.crisis_id = a.crisis_id"
            f" WHERE a.status = 'OPEN' AND c.status <> %s AND {exercise_where('c.crisis_id', EXERCISES, exercise)}"
            " ORDER BY a.crisis_id, a.action_id",
            (CLOSED,),
        ),
        "due_at",
    )
    decisions = decision_log.counts(store, at, exercise=exercise)
    open_actions = []
    per_unit: dict[str, dict[str, int]] = {}
    for a in actions:
        due = parse(a["due_at"])
        overdue = at > due
        open_actions.append(
            redact(
                "action", stored_classification(a["classification"]), cleared, names, crisis_id=a["crisis_id"], action_id=a["action_id"],
                unit=a["unit"], due_at=display(due), overdue=overdue, task=a["task"],
            )
        )
        counts = per_unit.setdefault(a["unit"], {"open": 0, "overdue": 0})
        counts["open"] += 1
        counts["overdue"] += int(overdue)
    active = []
    for c in crises:
        mine = [a for a in open_actions if a["crisis_id"] == c["crisis_id"]]
        next_due = parse(c["sitrep_next_due"])
        rhythm = policy.rhythm(c["severity"])
        rhythm_due = parse(c["sitrep_at"] or c["declared_at"]) + rhythm if rhythm else None
        crisis_decisions = decisions.get(c["crisis_id"], {"total": 0, "review_due": []})
        active.append(
            {
                **redact(
                    "crisis", stored_classification(c["classification"]), cleared, names, crisis_id=c["crisis_id"],
                    severity=c["severity"], status=c["status"], condition=c["condition"], category=c["category"],
                    lead=c["lead"], declared_at=display(parse(c["declared_at"])), title=c["title"],
                ),
                "open_actions": len(mine),
                "overdue_actions": sum(a["overdue"] for a in mine),
                "latest_situation_report": (
                    {
                        "number": c["sitrep_number"],
                        "issued_at": display(parse(c["sitrep_at"])),
                        "next_due_at": display(next_due),
                        "overdue": bool(next_due and at > next_due),
                    }
                    if c["sitrep_number"]
                    else None
                ),
                "situation_report_rhythm": {
                    "every_minutes": rhythm // MINUTE if rhythm else None,
                    "due_at": display(rhythm_due),
                    "overdue": bool(rhythm_due and at > rhythm_due),
                },
                "decisions": crisis_decisions["total"],
                "decisions_review_due": crisis_decisions["review_due"],
            }
        )
    board = readiness_board.board(store, at, cleared, policy, exercise=exercise)
    police = police_liaison_board.board(store, at, cleared, policy, open_only=True, exercise=exercise)
    return {
        "at": display(at, seconds=True),
        **({"exercise": True} if exercise else {}),
        "active_crises": active,
        "open_actions": open_actions,
        "overdue_actions": [a for a in open_actions if a["overdue"]],
        "actions_by_unit": per_unit,
        "readiness": {u["unit"]: u["readiness"] for u in board["units"]},
        "active_plans": board["active_plans"],
        "plan_reviews_due": board["reviews_due"],
        "police_requests": {
            "open": police["open"],
            "unanswered_beyond_threshold": police["unanswered_beyond_threshold"],
            "threshold_minutes": police["threshold_minutes"],
        },
        "decisions": sum(d["total"] for d in decisions.values()),
        "decisions_review_due": [d for v in decisions.values() for d in v["review_due"]],
        **({"overdue_improvement_items": overdue} if improvement_items and (overdue := after_action_items.overdue_by_unit(store, at, exercise=exercise)) else {}),
    }


class ReportFigures:
    """The figures a situation report freezes at its issue (application.ports.SituationFigures), read from the
    read models' tables as they stand: the crisis's open actions and those overdue at `at`, the city units at
    each readiness level, the continuity plans active for the crisis and its open police requests. On
    PostgreSQL the read models are followed by the projection worker: the figures are what the picture held at
    that moment, which is what the report says it knew."""

    def __init__(self, store: Store, policy: Policy) -> None:
        self.store = store
        self.policy = policy

    def __call__(self, crisis_id: str, at: datetime) -> dict[str, Any]:
        actions = self.store.query(
            "SELECT due_at FROM rm_actions WHERE crisis_id = %s AND status = 'OPEN'", (crisis_id,)
        )
        readiness = {level: 0 for level in self.policy.readiness_ladder}
        for row in self.store.query("SELECT readiness FROM rm_readiness"):
            readiness[row["readiness"]] = readiness.get(row["readiness"], 0) + 1
        plans = self.store.query("SELECT COUNT(*) AS n FROM rm_plans WHERE active_for = %s", (crisis_id,))
        requests = self.store.query(
            "SELECT COUNT(*) AS n FROM rm_police_requests WHERE crisis_id = %s AND status = 'OPEN'", (crisis_id,)
        )
        return {
            "at": display(at, seconds=True),
            "open_actions": len(actions),
            "overdue_actions": sum(at > parse(a["due_at"]) for a in actions),
            "readiness": readiness,
            "active_plans": int(plans[0]["n"]),
            "open_police_requests": int(requests[0]["n"]),
        }

