"""The decision log of each crisis: decisions with their rationale and options, supersessions, reviews
appended, and the reviews that are due (derived at read time).

A review is a row of its own (rm_decision_reviews), so that recording one never reads the decision it
reviews: following and rebuilding the log only write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.ports import Store, Tx
from application.projections.paging import Page, microseconds, page_rows
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, where as exercise_where
from application.projections.read_model import ReadModel
from application.projections.values import (
    by_instant,
    classification_json,
    dump,
    iso,
    load,
    parse,
    stored_classification,
)
from domain.crisis import Crisis
from domain.secrecy import redact
from domain.shared import DomainError, Policy, Rule, display


class DecisionLog(KeepsExercises, ReadModel):
    name = "decision_log"
    tables = {
        "rm_decisions": (
            "(crisis_id TEXT, decision_id TEXT, decided_by TEXT, authority TEXT, decision TEXT, rationale TEXT,"
            " options TEXT, refs TEXT, classification TEXT, decided_at TEXT, recorded_at TEXT, actor TEXT,"
            " review_at TEXT, supersedes TEXT, superseded_by TEXT, reviewed INTEGER,"
            " PRIMARY KEY (crisis_id, decision_id))"
        ),
        "rm_decision_reviews": (
            "(crisis_id TEXT, position BIGINT, decision_id TEXT, occurred_at TEXT, recorded_at TEXT, actor TEXT,"
            " outcome TEXT, PRIMARY KEY (crisis_id, position))"
        ),
        # the order pages read: by the instant decided, then id (rm_decisions keeps the shape the history
        # snapshots hold); the cursor's row is found by its id
        "rm_decision_pages": (
            "(crisis_id TEXT, decided_us BIGINT, decision_id TEXT, PRIMARY KEY (crisis_id, decided_us, decision_id),"
            " UNIQUE (crisis_id, decision_id))"
        ),
        "rm_decision_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }
    paging_tables = frozenset({"rm_decision_pages"})
    indexes = {"rm_decision_reviews_of_decision": "rm_decision_reviews (crisis_id, decision_id, position)"}

    keys = {"rm_decisions": ("crisis_id", "decision_id")}
    exercises_table = "rm_decision_exercises"
    later_tables = frozenset({exercises_table})
    REVIEW_COLUMNS = ("crisis_id", "position", "decision_id", "occurred_at", "recorded_at", "actor", "outcome")
    PAGE_COLUMNS = ("crisis_id", "decided_us", "decision_id")

    def subscriptions(self) -> dict:
        return {Crisis.DecisionRecorded: self.recorded, Crisis.DecisionReviewed: self.reviewed,
                Crisis.Declared: self.exercise_declared}

    def recorded(self, tx: Tx, e: Crisis.DecisionRecorded, position: int) -> None:
        self.insert(tx, "rm_decisions", {
            "crisis_id": e.crisis_id, "decision_id": e.decision_id, "decided_by": e.decided_by,
            "authority": e.authority, "decision": e.decision, "rationale": e.rationale, "options": dump(e.options),
            "refs": dump(e.references), "classification": classification_json(e), "decided_at": iso(e.occurred_at),
            "recorded_at": iso(e.recorded_at), "actor": e.actor, "review_at": iso(e.review_at),
            "supersedes": e.supersedes, "reviewed": 0,
        })
        self.append(
            tx, "rm_decision_pages", self.PAGE_COLUMNS, (e.crisis_id, microseconds(e.occurred_at), e.decision_id)
        )
        if e.supersedes:
            self.update(tx, "rm_decisions", (e.crisis_id, e.supersedes), {"superseded_by": e.decision_id})

    def reviewed(self, tx: Tx, e: Crisis.DecisionReviewed, position: int) -> None:
        self.append(tx, "rm_decision_reviews", self.REVIEW_COLUMNS, (
            e.crisis_id, position, e.decision_id, iso(e.occurred_at), iso(e.recorded_at), e.actor, e.outcome,
        ))
        self.update(tx, "rm_decisions", (e.crisis_id, e.decision_id), {"reviewed": 1})


def _review_due(row: dict[str, Any], at: datetime, reviewed: bool) -> bool:
    review_at = parse(row["review_at"])
    return bool(review_at and review_at <= at and not reviewed and not row["superseded_by"])


def counts(store: Store, at: datetime, *, exercise: bool = False) -> dict[str, dict[str, Any]]:
    """Per crisis: how many decisions, and which are due for review at `at` (read among those awaiting one); of
    the real crises, or with `exercise` of the exercises."""
    of = exercise_where("crisis_id", DecisionLog.exercises_table, exercise)
    out: dict[str, dict[str, Any]] = {
        row["crisis_id"]: {"total": int(row["total"]), "review_due": []}
        for row in store.query(
            f"SELECT crisis_id, COUNT(*) AS total FROM rm_decisions WHERE {of} GROUP BY crisis_id ORDER BY crisis_id"
        )
    }
    awaiting = store.query(
        "SELECT crisis_id, decision_id, review_at, superseded_by FROM rm_decisions WHERE review_at IS NOT NULL"
        f" AND reviewed = 0 AND superseded_by IS NULL AND {of} ORDER BY crisis_id, decision_id"
    )
    for row in awaiting:
        if _review_due(row, at, False):
            out[row["crisis_id"]]["review_due"].append(
                {"crisis_id": row["crisis_id"], "decision_id": row["decision_id"],
                 "review_at": display(parse(row["review_at"]))}
            )
    return out


def decision_log(
    store: Store, crisis_id: str, at: datetime, cleared: bool, policy: Policy, page: Page | None = None
) -> dict[str, Any]:
    """The crisis's decisions ordered by the instant they were decided (then by id), with their reviews and
    those due; with a `page`, only that page (its reviews due among them), and the cursors of its neighbours
    (`next`, `previous`: a decision id, absent where there is nothing more)."""
    names = policy.units.short_names
    order, neighbours = page_rows(store, "rm_decision_pages", ("decided_us", "decision_id"), crisis_id, page or Page())
    ids = [r["decision_id"] for r in order]
    among = None if page is None else ids  # unpaged: every decision and review of the crisis, a read each
    found = {r["decision_id"]: r for r in _of_crisis(store, "rm_decisions", crisis_id, among)}
    rows = [found[i] for i in ids]
    reviews: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for review in _of_crisis(store, "rm_decision_reviews", crisis_id, among, " ORDER BY position"):
        reviews.setdefault(review["decision_id"], []).append(review)
    decisions = [_present(r, reviews[r["decision_id"]], at, cleared, names) for r in rows]
    return {
        "crisis_id": crisis_id,
        "at": display(at, seconds=True),
        "decisions": decisions,
        "review_due": [d["decision_id"] for d in decisions if d["review_due"]],
        **{cursor: key for cursor, key in neighbours.items() if key is not None},
    }


def _of_crisis(
    store: Store, table: str, crisis_id: str, ids: list[str] | None, order: str = ""
) -> list[dict[str, Any]]:
    """The rows of `table` of the crisis; only those of the decisions `ids` when given."""
    among = "" if ids is None else f" AND decision_id IN ({', '.join(['%s'] * len(ids)) or 'NULL'})"
    return store.query(f"SELECT * FROM {table} WHERE crisis_id = %s{among}{order}", (crisis_id, *(ids or ())))


def _present(
    r: dict[str, Any], reviews: list[dict[str, Any]], at: datetime, cleared: bool, names: dict[str, str]
) -> dict[str, Any]:
    classification = stored_classification(r["classification"])
    return {
        **redact(
            "decision", classification, cleared, names,
            decision_id=r["decision_id"],
            decided_by=r["decided_by"],
            authority=r["authority"],
            decided_at=display(parse(r["decided_at"])),
            recorded_at=display(parse(r["recorded_at"]), seconds=True),
            recorded_by=r["actor"],
            review_at=display(parse(r["review_at"])),
            review_due=_review_due(r, at, bool(reviews)),  # what was read after the row, not its flag
            supersedes=r["supersedes"],
            superseded_by=r["superseded_by"],
            decision=r["decision"],
            rationale=r["rationale"],
            options=load(r["options"]),
            references=load(r["refs"]),
        ),
        "reviews": [  # a review is as secret as the decision it reviews
            redact(
                "decision", classification, cleared, names,
                occurred_at=display(parse(rv["occurred_at"])),
                recorded_at=display(parse(rv["recorded_at"]), seconds=True),
                actor=rv["actor"],
                outcome=rv["outcome"],
            )
            for rv in reviews
        ],
    }
