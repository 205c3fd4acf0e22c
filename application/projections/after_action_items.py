"""The improvement items of after-action reviews (domain.after_action_review), tracked once their review is final:
GET /after-action-items lists them by due time, filtered by unit, status and overdue, a page at a time; the
situation overview counts the overdue ones per unit. Overdue is derived at read time, as for actions: the review
is final, the item still OPEN, and the moment read is past its due time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.ports import Store, Tx
from application.projections.paging import Page, microseconds
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, where as exercise_where
from application.projections.read_model import ReadModel
from application.projections.values import classification_json, iso, parse, stored_classification
from domain.after_action_review import FINAL, OPEN, AfterActionReview
from domain.crisis import Crisis
from domain.secrecy import redact
from domain.shared import DomainError, Policy, Rule, display

TABLE = "rm_improvement_items"
STATUSES = ("OPEN", "DONE", "DROPPED")


class AfterActionItems(KeepsExercises, ReadModel):
    name = "after_action_items"
    tables = {
        TABLE: (
            "(crisis_id TEXT, item_id TEXT, item_key TEXT, unit TEXT, task TEXT, classification TEXT, added_at TEXT,"
            " due_at TEXT, due_us BIGINT, status TEXT, review_status TEXT, closed_at TEXT, closed_by TEXT, note TEXT,"
            " PRIMARY KEY (crisis_id, item_id))"
        ),
        "rm_improvement_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }
    keys = {TABLE: ("crisis_id", "item_id")}
    exercises_table = "rm_improvement_exercises"
    later_tables = frozenset({exercises_table})
    indexes = {
        "rm_improvement_items_by_due": f"{TABLE} (review_status, due_us, item_key)",  # the list's order
        "rm_improvement_items_by_unit": f"{TABLE} (unit, status, due_us)",
    }

    def subscriptions(self) -> dict:
        R = AfterActionReview
        return {R.ItemAdded: self.item_added, R.Finalised: self.finalised, R.ItemClosed: self.item_closed,
                Crisis.Declared: self.exercise_declared}

    def item_added(self, tx: Tx, e: AfterActionReview.ItemAdded, position: int) -> None:
        self.insert(tx, TABLE, {
            "crisis_id": e.crisis_id, "item_id": e.item_id, "item_key": cursor_of(e.crisis_id, e.item_id),
            "unit": e.unit, "task": e.task, "classification": classification_json(e), "added_at": iso(e.occurred_at),
            "due_at": iso(e.due_at), "due_us": microseconds(e.due_at), "status": OPEN, "review_status": "DRAFT",
        })

    def finalised(self, tx: Tx, e: AfterActionReview.Finalised, position: int) -> None:
        self.after_rows(  # once the batch's rows are written: the review's items may be among them
            tx, f"UPDATE {TABLE} SET review_status = %s WHERE crisis_id = %s", (FINAL, e.crisis_id)
        )

    def item_closed(self, tx: Tx, e: AfterActionReview.ItemClosed, position: int) -> None:
        self.update(tx, TABLE, (e.crisis_id, e.item_id), {
            "status": e.outcome, "closed_at": iso(e.occurred_at), "closed_by": e.actor, "note": e.note,
        })


def cursor_of(crisis_id: str, item_id: str) -> str:
    """An item's cursor: its crisis and its id (ids hold no `:`)."""
    return f"{crisis_id}:{item_id}"


def items(
    store: Store, at: datetime, cleared: bool, policy: Policy, page: Page, *, unit: str | None = None,
    status: str | None = None, overdue: bool | None = None,
) -> dict[str, Any]:
    """The items of final reviews by due time (then crisis and id), `page.limit` after the cursor `page.after`;
    `next` names the cursor of the following page when there is one."""
    if status is not None and status not in STATUSES:
        raise DomainError(Rule.INVALID_INPUT, "status {status!r} is not one of {statuses}", {"status": status, "statuses": ", ".join(STATUSES)}, field="status")
    if unit is not None:
        policy.units.check_unit(unit)
    now = microseconds(at)
    where, args = ["review_status = %s", exercise_where("crisis_id", AfterActionItems.exercises_table, False)], [FINAL]
    if unit is not None:
        where.append("unit = %s")
        args.append(unit)
    if status is not None:
        where.append("status = %s")
        args.append(status)
    if overdue is True:
        where.append("status = %s AND due_us < %s")
        args += [OPEN, now]
    elif overdue is False:
        where.append("(status <> %s OR due_us >= %s)")
        args += [OPEN, now]
    if page.after is not None:
        found = store.query(f"SELECT due_us FROM {TABLE} WHERE item_key = %s", (str(page.after),))
        if not found:
            raise DomainError(Rule.INVALID_INPUT, "after={cursor} names no improvement item", {"cursor": page.after}, field="after")
        due = found[0]["due_us"]
        where.append("(due_us > %s OR (due_us = %s AND item_key > %s))")
        args += [due, due, str(page.after)]
    limit = page.limit or 100
    rows = store.query(
        f"SELECT * FROM {TABLE} WHERE {' AND '.join(where)} ORDER BY due_us, item_key LIMIT {int(limit) + 1}",
        tuple(args),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    names = policy.units.short_names
    answer: dict[str, Any] = {
        "at": display(at, seconds=True),
        "items": [_item(row, at, cleared, names) for row in rows],
    }
    if more and rows:
        answer["next"] = rows[-1]["item_key"]
    return answer


def _item(row: dict[str, Any], at: datetime, cleared: bool, names: dict[str, str]) -> dict[str, Any]:
    due = parse(row["due_at"])
    return redact(
        "improvement_item", stored_classification(row["classification"]), cleared, names,
        crisis_id=row["crisis_id"], item_id=row["item_id"], unit=row["unit"], due_at=display(due),
        status=row["status"], overdue=row["status"] == OPEN and at > due, added_at=display(parse(row["added_at"])),
        closed_at=display(parse(row["closed_at"])), closed_by=row["closed_by"], task=row["task"], note=row["note"],
    )


def overdue_by_unit(store: Store, at: datetime, *, exercise: bool = False) -> dict[str, int]:
    """How many items of final reviews are overdue, per unit (units with none left out); of the real crises, or
    with `exercise` of the exercises."""
    of = exercise_where("crisis_id", AfterActionItems.exercises_table, exercise)
    rows = store.query(
        f"SELECT unit, COUNT(*) AS overdue FROM {TABLE} WHERE review_status = %s AND status = %s AND due_us < %s"
        f" AND {of} GROUP BY unit ORDER BY unit",
        (FINAL, OPEN, microseconds(at)),
    )
    return {row["unit"]: int(row["overdue"]) for row in rows}
