"""The watch list of received alerts: the Actual CAP alerts received and not linked to a crisis, in force (neither
expired, nor superseded, nor cancelled), newest sent first, a page at a time. Whether an alert has expired is
derived when read, from the server clock. Every alert received has its row (state, link), so that one unlinked
again, or whose update arrives, is found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.ports import Store, Tx
from application.projections.paging import microseconds
from application.projections.exercises import EXERCISES_TABLE, KeepsExercises, only
from application.projections.read_model import ReadModel
from application.projections.values import classification_json, dump, iso, load, parse, stored_classification
from domain.crisis import Crisis
from domain.received_alert import CANCELLED, IN_FORCE, SUPERSEDED, ReceivedAlert
from domain.secrecy import redact
from domain.shared import DomainError, Policy, Rule, display

NEVER_US = 2**62  # an alert without an expiry is in force until superseded or cancelled


class ReceivedAlertWatchList(KeepsExercises, ReadModel):
    name = "received_alert_watch_list"
    tables = {
        "rm_received_alerts": (
            "(alert_id TEXT PRIMARY KEY, sender TEXT, identifier TEXT, sent TEXT, sent_us BIGINT, status TEXT,"
            " msg_type TEXT, scope TEXT, expires TEXT, expires_us BIGINT, received_at TEXT, summary TEXT,"
            " languages TEXT, areas TEXT, classification TEXT, state TEXT, by_alert_id TEXT, crisis_id TEXT)"
        ),
        "rm_alert_exercises": EXERCISES_TABLE,  # the crises declared as exercises (exercises.KeepsExercises)
    }
    keys = {"rm_received_alerts": ("alert_id",)}
    exercises_table = "rm_alert_exercises"
    later_tables = frozenset({exercises_table})
    indexes = {"rm_received_alerts_watched": "rm_received_alerts (state, sent_us)"}

    def subscriptions(self) -> dict:
        E = ReceivedAlert
        return {
            E.Received: self.received,
            E.LinkedToCrisis: lambda tx, e, p: self.update(tx, "rm_received_alerts", (e.alert_id,),
                                                           {"crisis_id": e.crisis_id}),
            E.Unlinked: lambda tx, e, p: self.update(tx, "rm_received_alerts", (e.alert_id,), {"crisis_id": None}),
            E.Superseded: lambda tx, e, p: self.followed(tx, e, SUPERSEDED),
            E.Cancelled: lambda tx, e, p: self.followed(tx, e, CANCELLED),
            Crisis.Declared: self.exercise_declared,
        }

    def received(self, tx: Tx, e: ReceivedAlert.Received, position: int) -> None:
        first = e.infos[0] if e.infos else {}
        self.insert(tx, "rm_received_alerts", {
            "alert_id": e.alert_id, "sender": e.sender, "identifier": e.identifier, "sent": iso(e.sent),
            "sent_us": microseconds(e.sent), "status": e.status, "msg_type": e.msg_type, "scope": e.scope,
            "expires": iso(e.expires), "expires_us": microseconds(e.expires) if e.expires else NEVER_US,
            "received_at": iso(e.recorded_at),
            "summary": dump({name: first.get(name) for name in (
                "event", "headline", "urgency", "severity", "certainty", "onset", "effective")}),
            "languages": dump([info.get("language") for info in e.infos]),
            "areas": dump([area.get("area_desc") for info in e.infos[:1] for area in info.get("areas", [])]),
            "classification": classification_json(e), "state": IN_FORCE, "by_alert_id": None, "crisis_id": None,
        })

    def followed(self, tx: Tx, e: Any, state: str) -> None:
        self.update(tx, "rm_received_alerts", (e.alert_id,), {"state": state, "by_alert_id": e.by_alert_id})


def present(row: dict[str, Any], cleared: bool, policy: Policy) -> dict[str, Any]:
    summary = load(row["summary"]) or {}
    return redact(
        "received_alert", stored_classification(row["classification"]), cleared, policy.units.short_names,
        alert_id=row["alert_id"],
        sender=row["sender"],
        identifier=row["identifier"],
        sent=display(parse(row["sent"]), seconds=True),
        status=row["status"],
        msg_type=row["msg_type"],
        scope=row["scope"],
        expires=display(parse(row["expires"]), seconds=True),
        received_at=display(parse(row["received_at"]), seconds=True),
        state=row["state"],
        languages=load(row["languages"]),
        urgency=summary.get("urgency"),
        severity=summary.get("severity"),
        certainty=summary.get("certainty"),
        event=summary.get("event"),
        headline=summary.get("headline"),
        areas=load(row["areas"]),
    )


def watch_list(
    store: Store, at: datetime, cleared: bool, policy: Policy, limit: int, after: str | None = None
) -> dict[str, Any]:
    """The alerts to watch at `at`: `limit` of them after the cursor `after` (an alert id), and `next` when
    there are more."""
    linked_to_exercise = only("crisis_id", ReceivedAlertWatchList.exercises_table)  # not linked, in the real picture
    where = ["state = %s", f"(crisis_id IS NULL OR {linked_to_exercise})", "status = 'Actual'", "expires_us > %s"]
    args: list[Any] = [IN_FORCE, microseconds(at)]
    if after is not None:
        found = store.query("SELECT sent_us FROM rm_received_alerts WHERE alert_id = %s", (after,))
        if not found:
            raise DomainError(Rule.INVALID_INPUT, "after={cursor} names no alert received", {"cursor": after}, field="after")
        sent_us = found[0]["sent_us"]
        where.append("(sent_us < %s OR (sent_us = %s AND alert_id < %s))")
        args += [sent_us, sent_us, after]
    rows = store.query(
        f"SELECT * FROM rm_received_alerts WHERE {' AND '.join(where)} ORDER BY sent_us DESC, alert_id DESC"
        f" LIMIT {int(limit) + 1}",
        tuple(args),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "at": display(at, seconds=True),
        "alerts": [present(row, cleared, policy) for row in rows],
        **({"next": rows[-1]["alert_id"]} if more and rows else {}),
    }
