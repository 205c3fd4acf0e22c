"""The readiness board: each unit's readiness, active continuity plans with time active against MTPD, and
plan reviews due. Time-derived facts are computed at read time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from application.ports import Store, Tx
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, where as exercise_where
from application.projections.read_model import ReadModel
from application.projections.values import classification_json, dump, iso, parse, stored_classification
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.secrecy import redact
from domain.shared import Policy, display


class ReadinessBoard(KeepsExercises, ReadModel):
    name = "readiness_board"
    tables = {
        "rm_readiness": (
            "(unit TEXT PRIMARY KEY, name TEXT, readiness TEXT, changed_at TEXT, decided_by TEXT, reason TEXT,"
            " crisis_ref TEXT)"
        ),
        "rm_plans": (
            "(unit TEXT, plan_id TEXT, title TEXT, status TEXT, classification TEXT, mtpd_minutes INTEGER,"
            " critical_functions TEXT, active_for TEXT, activated_at TEXT, last_review_at TEXT,"
            " next_review_due TEXT, PRIMARY KEY (unit, plan_id))"
        ),
        "rm_readiness_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }

    keys = {"rm_readiness": ("unit",), "rm_plans": ("unit", "plan_id")}
    exercises_table = "rm_readiness_exercises"
    later_tables = frozenset({exercises_table})

    def subscriptions(self) -> dict:
        E = DivisionPreparedness
        return {
            E.Registered: self.registered,
            E.ReadinessChanged: self.readiness_changed,
            E.PlanDrafted: self.plan_drafted,
            E.PlanApproved: self.plan_approved,
            E.PlanReviewed: self.plan_reviewed,
            E.PlanActivated: self.plan_activated,
            E.PlanDeactivated: self.plan_deactivated,
            Crisis.Declared: self.exercise_declared,
        }

    def registered(self, tx: Tx, e: DivisionPreparedness.Registered, position: int) -> None:
        self.insert(tx, "rm_readiness", {"unit": e.unit, "name": e.name, "readiness": e.readiness})

    def readiness_changed(self, tx: Tx, e: DivisionPreparedness.ReadinessChanged, position: int) -> None:
        self.update(tx, "rm_readiness", (e.unit,), {
            "readiness": e.to_level, "changed_at": iso(e.occurred_at), "decided_by": e.decided_by,
            "reason": e.reason, "crisis_ref": e.crisis_ref,
        })

    def plan_drafted(self, tx: Tx, e: DivisionPreparedness.PlanDrafted, position: int) -> None:
        self.insert(tx, "rm_plans", {
            "unit": e.unit, "plan_id": e.plan_id, "title": e.title, "status": "DRAFT",
            "classification": classification_json(e),
            "mtpd_minutes": min(f["mtpd_minutes"] for f in e.critical_functions),
            "critical_functions": dump(e.critical_functions), "next_review_due": iso(e.next_review_due),
        })

    def plan_approved(self, tx: Tx, e: DivisionPreparedness.PlanApproved, position: int) -> None:
        self.update(tx, "rm_plans", (e.unit, e.plan_id), {"status": "APPROVED"})

    def plan_reviewed(self, tx: Tx, e: DivisionPreparedness.PlanReviewed, position: int) -> None:
        self.update(tx, "rm_plans", (e.unit, e.plan_id), {
            "last_review_at": iso(e.occurred_at), "next_review_due": iso(e.next_review_due)
        })

    def plan_activated(self, tx: Tx, e: DivisionPreparedness.PlanActivated, position: int) -> None:
        self.update(tx, "rm_plans", (e.unit, e.plan_id), {"active_for": e.crisis_id, "activated_at": iso(e.occurred_at)})

    def plan_deactivated(self, tx: Tx, e: DivisionPreparedness.PlanDeactivated, position: int) -> None:
        self.update(tx, "rm_plans", (e.unit, e.plan_id), {"active_for": None, "activated_at": None})


def board(store: Store, at: datetime, cleared: bool, policy: Policy, *, exercise: bool = False) -> dict[str, Any]:
    """The board at `at`: the plans active for real crises, or with `exercise` those active for exercises (a
    plan active for an exercise is, in the real picture, not active)."""
    names = policy.units.short_names
    units = store.query(  # a change decided for an exercise names it in the exercises' board only
        "SELECT unit, name, readiness, changed_at, decided_by, reason, CASE WHEN crisis_ref IS NULL OR "
        + exercise_where("crisis_ref", ReadinessBoard.exercises_table, exercise)
        + " THEN crisis_ref END AS crisis_ref FROM rm_readiness ORDER BY unit"
    )
    plans = store.query(
        "SELECT *, CASE WHEN active_for IS NOT NULL AND "
        + exercise_where("active_for", ReadinessBoard.exercises_table, exercise)
        + " THEN active_for END AS shown_for FROM rm_plans ORDER BY unit, plan_id"
    )
    active, reviews_due = [], []
    for p in plans:
        if p["shown_for"]:
            since = parse(p["activated_at"])
            minutes = int((at - since) / timedelta(minutes=1))
            active.append(_plan(
                p, cleared, names,
                crisis_id=p["shown_for"], activated_at=display(since), active_minutes=minutes,
                mtpd_minutes=p["mtpd_minutes"], beyond_mtpd=minutes > p["mtpd_minutes"],
            ))
        due = parse(p["next_review_due"])
        if due is not None and due <= at:
            reviews_due.append(_plan(p, cleared, names, next_review_due=display(due)))
    return {
        "at": display(at, seconds=True),
        "units": [
            {
                "unit": u["unit"],
                "name": u["name"],
                "readiness": u["readiness"],
                "changed_at": display(parse(u["changed_at"])),
                "decided_by": u["decided_by"],
                "reason": u["reason"],
                "crisis_ref": u["crisis_ref"],
                "active_plans": [a["plan_id"] for a in active if a["unit"] == u["unit"]],
            }
            for u in units
        ],
        "active_plans": active,
        "reviews_due": reviews_due,
    }


def _plan(row: dict[str, Any], cleared: bool, names: dict[str, str], **fields: Any) -> dict[str, Any]:
    return redact("continuity_plan", stored_classification(row["classification"]), cleared, names,
                  unit=row["unit"], plan_id=row["plan_id"], title=row["title"], **fields)
