"""The readiness board: each unit's readiness, active continuity plans with time active against MTPD, and
plan reviews due. Time-derived facts are computed at read time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from application.projections.base import ReadModel, Store, Tx, classification_json, dump, iso, load, parse
from domain.division_preparedness import DivisionPreparedness
from domain.shared import Classification, Policy, display, redact


class ReadinessBoard(ReadModel):
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
    }

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
        }

    def registered(self, tx: Tx, e: DivisionPreparedness.Registered, position: int) -> None:
        tx.execute(
            "INSERT INTO rm_readiness (unit, name, readiness) VALUES (%s, %s, %s)", (e.unit, e.name, e.readiness)
        )

    def readiness_changed(self, tx: Tx, e: DivisionPreparedness.ReadinessChanged, position: int) -> None:
        tx.execute(
            "UPDATE rm_readiness SET readiness = %s, changed_at = %s, decided_by = %s, reason = %s, crisis_ref = %s"
            " WHERE unit = %s",
            (e.to_level, iso(e.occurred_at), e.decided_by, e.reason, e.crisis_ref, e.unit),
        )

    def plan_drafted(self, tx: Tx, e: DivisionPreparedness.PlanDrafted, position: int) -> None:
        tx.execute(
            "INSERT INTO rm_plans (unit, plan_id, title, status, classification, mtpd_minutes, critical_functions,"
            " next_review_due) VALUES (%s, %s, %s, 'DRAFT', %s, %s, %s, %s)",
            (
                e.unit, e.plan_id, e.title, classification_json(e),
                min(f["mtpd_minutes"] for f in e.critical_functions), dump(e.critical_functions),
                iso(e.next_review_due),
            ),
        )

    def plan_approved(self, tx: Tx, e: DivisionPreparedness.PlanApproved, position: int) -> None:
        tx.execute("UPDATE rm_plans SET status = 'APPROVED' WHERE unit = %s AND plan_id = %s", (e.unit, e.plan_id))

    def plan_reviewed(self, tx: Tx, e: DivisionPreparedness.PlanReviewed, position: int) -> None:
        tx.execute(
            "UPDATE rm_plans SET last_review_at = %s, next_review_due = %s WHERE unit = %s AND plan_id = %s",
            (iso(e.occurred_at), iso(e.next_review_due), e.unit, e.plan_id),
        )

    def plan_activated(self, tx: Tx, e: DivisionPreparedness.PlanActivated, position: int) -> None:
        tx.execute(
            "UPDATE rm_plans SET active_for = %s, activated_at = %s WHERE unit = %s AND plan_id = %s",
            (e.crisis_id, iso(e.occurred_at), e.unit, e.plan_id),
        )

    def plan_deactivated(self, tx: Tx, e: DivisionPreparedness.PlanDeactivated, position: int) -> None:
        tx.execute(
            "UPDATE rm_plans SET active_for = NULL, activated_at = NULL WHERE unit = %s AND plan_id = %s",
            (e.unit, e.plan_id),
        )


def board(store: Store, at: datetime, cleared: bool, policy: Policy) -> dict[str, Any]:
    names = policy.units.short_names
    units = store.query("SELECT * FROM rm_readiness ORDER BY unit")
    plans = store.query("SELECT * FROM rm_plans ORDER BY unit, plan_id")
    active, reviews_due = [], []
    for p in plans:
        content = redact(Classification(**load(p["classification"])), cleared, names, title=p["title"])
        if p["active_for"]:
            since = parse(p["activated_at"])
            minutes = int((at - since) / timedelta(minutes=1))
            active.append(
                {
                    "unit": p["unit"],
                    "plan_id": p["plan_id"],
                    "crisis_id": p["active_for"],
                    "activated_at": display(since),
                    "active_minutes": minutes,
                    "mtpd_minutes": p["mtpd_minutes"],
                    "beyond_mtpd": minutes > p["mtpd_minutes"],
                    **content,
                }
            )
        due = parse(p["next_review_due"])
        if due is not None and due <= at:
            reviews_due.append({"unit": p["unit"], "plan_id": p["plan_id"], "next_review_due": display(due), **content})
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
