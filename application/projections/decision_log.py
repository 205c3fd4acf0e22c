"""The decision log of each crisis: decisions with their rationale and options, supersessions, reviews
appended, and the reviews that are due (derived at read time).

A review is a row of its own (rm_decision_reviews), so that recording one never reads the decision it
reviews: following and rebuilding the log only write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.ports import Store, Tx
from application.projections.paging import Page
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


class DecisionLog(ReadModel):
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
    }

    keys = {"rm_decisions": ("crisis_id", "decision_id")}
    REVIEW_COLUMNS = ("crisis_id", "position", "decision_id", "occurred_at", "recorded_at", "actor", "outcome")

    def subscriptions(self) -> dict:
        return {Crisis.DecisionRecorded: self.recorded, Crisis.DecisionReviewed: self.reviewed}

    def recorded(self, tx: Tx, e: Crisis.DecisionRecorded, position: int) -> None:
        self.insert(tx, "rm_decisions", {
            "crisis_id": e.crisis_id, "decision_id": e.decision_id, "decided_by": e.decided_by,
            "authority": e.authority, "decision": e.decision, "rationale": e.rationale, "options": dump(e.options),
            "refs": dump(e.references), "classification": classification_json(e), "decided_at": iso(e.occurred_at),
            "recorded_at": iso(e.recorded_at), "actor": e.actor, "review_at": iso(e.review_at),
            "supersedes": e.supersedes, "reviewed": 0,
        })
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


def counts(store: Store, at: datetime) -> dict[str, dict[str, Any]]:
    """Per crisis: how many decisions, and which are due for review at `at`."""
    out: dict[str, dict[str, Any]] = {}
    for row in store.query("SELECT crisis_id, decision_id, review_at, reviewed, superseded_by FROM rm_decisions"):
        entry = out.setdefault(row["crisis_id"], {"total": 0, "review_due": []})
        entry["total"] += 1
        if _review_due(row, at, bool(row["reviewed"])):
            entry["review_due"].append(
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
    rows = by_instant(
        store.query("SELECT * FROM rm_decisions WHERE crisis_id = %s ORDER BY decision_id", (crisis_id,)), "decided_at"
    )
    rows, neighbours = _page(rows, page or Page(), crisis_id)
    reviews: dict[str, list[dict[str, Any]]] = {r["decision_id"]: [] for r in rows}
    if page is None:  # every review of the crisis, in one read
        found = store.query("SELECT * FROM rm_decision_reviews WHERE crisis_id = %s ORDER BY position", (crisis_id,))
    else:
        found = store.query(
            f"SELECT * FROM rm_decision_reviews WHERE crisis_id = %s AND decision_id IN"
            f" ({', '.join(['%s'] * len(reviews)) or 'NULL'}) ORDER BY position", (crisis_id, *reviews),
        )
    for review in found:
        reviews.setdefault(review["decision_id"], []).append(review)
    decisions = [_present(r, reviews[r["decision_id"]], at, cleared, names) for r in rows]
    return {
        "crisis_id": crisis_id,
        "at": display(at, seconds=True),
        "decisions": decisions,
        "review_due": [d["decision_id"] for d in decisions if d["review_due"]],
        **{cursor: key for cursor, key in neighbours.items() if key is not None},
    }


def _page(rows: list[dict[str, Any]], page: Page, crisis_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The page of a crisis's decisions (few beside its timeline entries: read whole, then cut, so that the
    table keeps its shape and the overview's history snapshots stay valid)."""
    cursor = page.before if page.before is not None else page.after
    order = {r["decision_id"]: n for n, r in enumerate(rows)}
    if cursor is not None and cursor not in order:
        name = "before" if page.before is not None else "after"
        raise DomainError(Rule.INVALID_INPUT, "{name}={cursor} names nothing of {crisis_id} here", {"name": name, "cursor": cursor, "crisis_id": crisis_id}, field=name)
    inside = [
        r for r in rows
        if (page.start is None or parse(r["decided_at"]) >= page.start)
        and (page.end is None or parse(r["decided_at"]) < page.end)
        and (page.after is None or order[r["decision_id"]] > order[page.after])
        and (page.before is None or order[r["decision_id"]] < order[page.before])
    ]
    more = page.limit is not None and len(inside) > page.limit
    chosen = (inside[-page.limit:] if page.before is not None else inside[: page.limit]) if more else inside
    more_after, more_before = (cursor is not None, more) if page.before is not None else (more, cursor is not None)
    return chosen, {
        "next": chosen[-1]["decision_id"] if chosen and more_after else None,
        "previous": chosen[0]["decision_id"] if chosen and more_before else None,
    }


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
