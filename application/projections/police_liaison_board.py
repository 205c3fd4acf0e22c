"""The police liaison board: open requests with their age, by direction and type; those unanswered beyond
the threshold (*configurable*, 30 min); closed requests with their answer times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from application.ports import Store, Tx
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, where as exercise_where
from application.projections.read_model import ReadModel
from application.projections.values import by_instant, classification_json, iso, parse, stored_classification
from domain.crisis import Crisis
from domain.police_liaison import PoliceLiaison
from domain.secrecy import redact, stricter
from domain.shared import Policy, display

_MISSING: Any = object()


class PoliceLiaisonBoard(KeepsExercises, ReadModel):
    name = "police_liaison_board"
    tables = {
        "rm_liaisons": "(liaison_id TEXT PRIMARY KEY, crisis_id TEXT, topic TEXT)",
        "rm_police_requests": (
            "(liaison_id TEXT, request_id TEXT, crisis_id TEXT, direction TEXT, request_type TEXT, subject TEXT,"
            " legal_basis TEXT, classification TEXT, raised_at TEXT, status TEXT, closed_at TEXT, response TEXT,"
            " response_classification TEXT, answered_by TEXT, PRIMARY KEY (liaison_id, request_id))"
        ),
        "rm_police_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }

    keys = {"rm_liaisons": ("liaison_id",), "rm_police_requests": ("liaison_id", "request_id")}
    exercises_table = "rm_police_exercises"
    later_tables = frozenset({exercises_table})
    indexes = {"rm_police_requests_by_status": "rm_police_requests (status)"}  # the overview reads the open ones

    def subscriptions(self) -> dict:
        E = PoliceLiaison
        return {
            E.Opened: self.opened,
            E.RequestRaised: self.raised,
            E.RequestAnswered: self.closed,
            E.RequestDeclined: self.closed,
            E.RequestWithdrawn: self.closed,
            Crisis.Declared: self.exercise_declared,
        }

    REMEMBERED = 100_000  # liaisons' crises kept in memory (a liaison's crisis never changes)

    def __init__(self) -> None:
        super().__init__()
        self._crisis_of = self.memory(self.REMEMBERED)  # liaison -> crisis

    def opened(self, tx: Tx, e: PoliceLiaison.Opened, position: int) -> None:
        self.insert(tx, "rm_liaisons", {"liaison_id": e.liaison_id, "crisis_id": e.crisis_id, "topic": e.topic})
        self.remember(self._crisis_of, e.liaison_id, e.crisis_id)

    def raised(self, tx: Tx, e: PoliceLiaison.RequestRaised, position: int) -> None:
        """The request takes its crisis from its liaison: remembered from the liaison's opening when this
        model applied it, else read from the table (no liaison row, no request row)."""
        classification, raised_at = classification_json(e), iso(e.occurred_at)
        crisis_id = self._crisis_of.get(e.liaison_id, _MISSING)  # a liaison may have no crisis (None)
        if crisis_id is not _MISSING:
            self.insert(tx, "rm_police_requests", {
                "liaison_id": e.liaison_id, "request_id": e.request_id, "crisis_id": crisis_id,
                "direction": e.direction, "request_type": e.request_type, "subject": e.subject,
                "legal_basis": e.legal_basis, "classification": classification, "raised_at": raised_at,
                "status": "OPEN",
            })
            return
        self.inserted_by_statement(
            tx,
            "rm_police_requests",
            (e.liaison_id, e.request_id),
            "INSERT INTO rm_police_requests (liaison_id, request_id, crisis_id, direction, request_type, subject,"
            " legal_basis, classification, raised_at, status)"
            " SELECT %s, %s, crisis_id, %s, %s, %s, %s, %s, %s, 'OPEN' FROM rm_liaisons WHERE liaison_id = %s",
            (
                e.liaison_id, e.request_id, e.direction, e.request_type, e.subject, e.legal_basis,
                classification, raised_at, e.liaison_id,
            ),
        )

    def closed(self, tx: Tx, e: PoliceLiaison.RequestClosed, position: int) -> None:
        self.update(tx, "rm_police_requests", (e.liaison_id, e.request_id), {
            "status": e.outcome, "closed_at": iso(e.occurred_at), "response": e.response,
            "response_classification": classification_json(e), "answered_by": getattr(e, "answered_by", None),
        })


def present(row: dict[str, Any], at: datetime, cleared: bool, policy: Policy) -> dict[str, Any]:
    names = policy.units.short_names
    raised = parse(row["raised_at"])
    closed = parse(row["closed_at"])
    is_open = row["status"] == "OPEN"
    age = int(((at if is_open else closed) - raised) / timedelta(minutes=1))
    classification = stored_classification(row["classification"])
    answer = stricter(classification, stored_classification(row["response_classification"]))
    return {
        **redact(
            "police_request", classification, cleared, names,
            liaison_id=row["liaison_id"],
            request_id=row["request_id"],
            crisis_id=row["crisis_id"],
            direction=row["direction"],
            request_type=row["request_type"],
            legal_basis=row["legal_basis"],
            status=row["status"],
            raised_at=display(raised),
            **{"age_minutes" if is_open else "answer_minutes": age},
            unanswered_beyond_threshold=is_open and at - raised > policy.police_answer_threshold,
            closed_at=display(closed),
            subject=row["subject"],
        ),
        # the answer, and who gave it, are as secret as the request at least
        "answered_by": redact("police_request", answer, cleared, names, answered_by=row["answered_by"])["answered_by"],
        "response": redact("police_request", answer, cleared, names, text=row["response"]) if not is_open else None,
    }


def board(
    store: Store, at: datetime, cleared: bool, policy: Policy, crisis_id: str | None = None, open_only: bool = False,
    *, exercise: bool = False,
) -> dict[str, Any]:
    """The board as it stands at `at`; `open_only` leaves the closed requests out (the overview shows the open
    ones: the closed pile up with every crisis). The requests of real crises (and of none), or with `exercise`
    those of exercises."""
    where: list[str] = []
    params: list[Any] = []
    if crisis_id is not None:  # the crisis's own requests, exercise or not
        where.append("crisis_id = %s")
        params.append(crisis_id)
    else:
        where.append(exercise_where("crisis_id", PoliceLiaisonBoard.exercises_table, exercise))
    if open_only:
        where.append("status = 'OPEN'")
    rows = store.query(
        "SELECT * FROM rm_police_requests"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY liaison_id, request_id",  # equal instants in key order (by_instant keeps it)
        tuple(params),
    )
    requests = [present(r, at, cleared, policy) for r in by_instant(rows, "raised_at")]
    open_requests = [r for r in requests if r["status"] == "OPEN"]
    by: dict[str, dict[str, int]] = {}
    for r in open_requests:
        by.setdefault(r["direction"], {}).setdefault(r["request_type"], 0)
        by[r["direction"]][r["request_type"]] += 1
    return {
        "at": display(at, seconds=True),
        "threshold_minutes": int(policy.police_answer_threshold / timedelta(minutes=1)),
        "open": open_requests,
        "unanswered_beyond_threshold": [r for r in open_requests if r["unanswered_beyond_threshold"]],
        "open_by_direction_and_type": by,
        "closed": [r for r in requests if r["status"] != "OPEN"],
    }
