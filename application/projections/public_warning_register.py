"""The register of public warnings: each warning with its crisis, its state (drafted, in force, cancelled), the
message waiting to be issued (and who approved it), and its latest issued message (identifier, kind, sent time,
texts) with when it was first issued. The warnings in force are what the Atom feed serves."""

from __future__ import annotations

from typing import Any

from application.ports import Store, Tx
from application.projections.paging import microseconds
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, real
from application.projections.read_model import ReadModel
from application.projections.values import dump, iso, load, parse
from domain.crisis import Crisis
from domain.public_warning import CANCEL, CANCELLED, DRAFTED, IN_FORCE, PublicWarning
from domain.secrecy import redact
from domain.shared import PUBLIC, Policy, display


class PublicWarningRegister(KeepsExercises, ReadModel):
    name = "public_warning_register"
    tables = {
        "rm_public_warnings": (
            "(warning_id TEXT PRIMARY KEY, crisis_id TEXT, status TEXT, pending TEXT, approved_by TEXT,"
            " drafted_texts TEXT, number INTEGER, identifier TEXT, msg_type TEXT, sent TEXT, sent_us BIGINT,"
            " first_sent TEXT, texts TEXT)"
        ),
        "rm_warning_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }
    keys = {"rm_public_warnings": ("warning_id",)}
    exercises_table = "rm_warning_exercises"
    later_tables = frozenset({exercises_table})
    indexes = {"rm_public_warnings_by_crisis": "rm_public_warnings (crisis_id)"}

    REMEMBERED = 10_000  # the texts of each warning's latest draft, kept in memory until it is issued

    def __init__(self) -> None:
        super().__init__()
        self._drafted = self.memory(self.REMEMBERED)  # warning -> JSON of its pending message's texts

    def subscriptions(self) -> dict:
        W = PublicWarning
        return {
            W.Drafted: self.drafted,
            W.UpdateDrafted: self.drafted,
            W.CancellationDrafted: self.drafted,
            W.Revised: self.drafted,
            W.Approved: self.approved,
            W.Issued: self.issued,
            Crisis.Declared: self.exercise_declared,
        }

    def drafted(self, tx: Tx, e: Any, position: int) -> None:
        texts = dump(e.texts)
        self.remember(self._drafted, e.warning_id, texts)
        if isinstance(e, PublicWarning.Drafted):
            self.insert(tx, "rm_public_warnings", {
                "warning_id": e.warning_id, "crisis_id": e.crisis_id, "status": DRAFTED, "pending": e.msg_type,
                "approved_by": None, "drafted_texts": texts,
            })
            return
        changed = {"approved_by": None, "drafted_texts": texts}
        if not isinstance(e, PublicWarning.Revised):
            changed["pending"] = e.msg_type
        self.update(tx, "rm_public_warnings", (e.warning_id,), changed)

    def approved(self, tx: Tx, e: PublicWarning.Approved, position: int) -> None:
        self.update(tx, "rm_public_warnings", (e.warning_id,), {"approved_by": e.actor})

    def issued(self, tx: Tx, e: PublicWarning.Issued, position: int) -> None:
        """The message issued takes its texts from its draft: remembered when this model applied it or a later
        revision; otherwise (a draft applied in an earlier batch, and forgotten since) from the table, which
        then holds it, no later draft of the warning being in this batch."""
        texts = self._drafted.get(e.warning_id)
        if texts is None:
            tx.execute("SELECT drafted_texts FROM rm_public_warnings WHERE warning_id = %s", (e.warning_id,))
            rows = tx.fetchall()
            texts = rows[0]["drafted_texts"] if rows else None
        changed = {
            "status": CANCELLED if e.msg_type == CANCEL else IN_FORCE, "pending": None, "approved_by": None,
            "number": e.number, "identifier": e.identifier, "msg_type": e.msg_type, "sent": iso(e.sent),
            "sent_us": microseconds(e.sent), "texts": texts,
        }
        if e.number == 1:
            changed["first_sent"] = iso(e.sent)
        self.update(tx, "rm_public_warnings", (e.warning_id,), changed)


def register(
    store: Store, cleared: bool, policy: Policy, *, crisis_id: str | None = None, in_force_only: bool = False
) -> list[dict[str, Any]]:
    """The warnings of a crisis (every one, drafts too), or of all real crises (never those of an exercise); with
    `in_force_only`, those in force, the latest issued first."""
    where: list[str] = []
    params: list[Any] = []
    if crisis_id is not None:
        where.append("crisis_id = %s")
        params.append(crisis_id)
    else:
        where.append(real("crisis_id", PublicWarningRegister.exercises_table))
    if in_force_only:
        where.append("status = %s")
        params.append(IN_FORCE)
    rows = store.query(
        "SELECT * FROM rm_public_warnings" + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY sent_us IS NULL, sent_us DESC, warning_id", tuple(params),  # drafts last, on every store
    )
    return [present(row, cleared, policy) for row in rows]


def present(row: dict[str, Any], cleared: bool, policy: Policy) -> dict[str, Any]:
    """A warning of the register: public by definition (only a PUBLIC crisis has one), shown through `redact`
    all the same."""
    return redact(
        "public_warning", PUBLIC, cleared, policy.units.short_names,
        warning_id=row["warning_id"], crisis_id=row["crisis_id"], status=row["status"], pending=row["pending"],
        approved_by=row["approved_by"], number=row["number"], identifier=row["identifier"], msg_type=row["msg_type"],
        sent=display(parse(row["sent"]), seconds=True), first_sent=display(parse(row["first_sent"]), seconds=True),
        texts=load(row["texts"]),
    )
