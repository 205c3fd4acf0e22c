"""What every read model shares: its tables, its event handlers, and exactly-once processing.

A read model applies a batch of events and moves its tracking position in ONE transaction of the store the
events live in. The transaction first takes the read model's tracking row for update, then applies only the
events after the recorded position: so however many processes follow the log (a worker, a rebuild, an
embedded follower), every event is applied to every read model exactly once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar, Protocol

from eventsourcing.persistence import Notification

log = logging.getLogger("valmius.projections")

TRACKING_TABLE = "valmius_tracking"


class Tx(Protocol):
    """A transaction on the read-model store: `%s` placeholders, rows as dicts."""

    def execute(self, statement: str, params: tuple = ()) -> int: ...

    def fetchall(self) -> list[dict[str, Any]]: ...


class Store(Protocol):
    dialect: str

    def transaction(self) -> Any: ...

    def query(self, statement: str, params: tuple = ()) -> list[dict[str, Any]]: ...

    def create(self, *statements: str) -> None: ...


Handler = Callable[[Tx, Any, int], None]


class ReadModel:
    """One read model: a name, its tables (portable DDL), and a handler per event class it cares about."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]  # table name -> "(columns…)"

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = self.subscriptions()

    def subscriptions(self) -> dict[type, Handler]:
        raise NotImplementedError

    def create(self, store: Store) -> None:
        store.create(*(f"CREATE TABLE IF NOT EXISTS {table} {columns}" for table, columns in self.tables.items()))

    def clear(self, tx: Tx) -> None:
        for table in self.tables:
            tx.execute(f"DELETE FROM {table}")

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(tx, event, position)

    def apply_notification(self, tx: Tx, notification: Notification, event: Any) -> None:
        """A model that needs the stored form of an event (the audit hash chain) overrides this."""
        self.apply(tx, event, notification.id)


def lock_position(tx: Tx, name: str) -> int:
    """Take the read model's tracking row for the rest of the transaction and return its position."""
    tx.execute(f"UPDATE {TRACKING_TABLE} SET position = position WHERE view = %s", (name,))
    tx.execute(f"SELECT position FROM {TRACKING_TABLE} WHERE view = %s", (name,))
    rows = tx.fetchall()
    return int(rows[0]["position"]) if rows else 0


def apply_batch(
    store: Store, model: ReadModel, batch: Sequence[tuple[Notification, Any]], after: int | None = None
) -> int:
    """Apply the events of `batch` the model has not seen yet, and track them, atomically. Returns the count.

    `after` is the position the batch was read after (it holds every notification from there to its last). A
    model found behind it, emptied by a rebuild since the batch was read, is left alone: applying the batch
    would skip the notifications in between for good, since its position would then move past them.
    """
    if not batch:
        return 0
    with store.transaction() as tx:
        position = lock_position(tx, model.name)
        if after is not None and position < after:
            return 0
        applied = 0
        for notification, event in batch:
            if notification.id <= position:
                continue
            model.apply_notification(tx, notification, event)
            applied += 1
        last = batch[-1][0].id
        if last > position:
            tx.execute(f"UPDATE {TRACKING_TABLE} SET position = %s WHERE view = %s", (last, model.name))
    return applied


def ensure_tracking(store: Store, names: Iterable[str]) -> None:
    store.create(f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (view TEXT PRIMARY KEY, position BIGINT NOT NULL)")
    with store.transaction() as tx:
        for name in names:
            tx.execute(f"INSERT INTO {TRACKING_TABLE} (view, position) VALUES (%s, 0) ON CONFLICT DO NOTHING", (name,))


def positions(store: Store) -> dict[str, int]:
    return {r["view"]: int(r["position"]) for r in store.query(f"SELECT view, position FROM {TRACKING_TABLE}")}


# --- values in rows ------------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """Times are stored as ISO-8601 with the offset they were given in."""
    return moment.isoformat() if moment is not None else None


def utc(moment: datetime | None) -> str | None:
    """A sortable UTC form, for ordering by instant."""
    return moment.astimezone(timezone.utc).isoformat() if moment is not None else None


def parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def by_instant(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows ordered by the instant in `column`. The stored text keeps the offset it was given in, so ordering
    by the text would order by clock reading, not by instant (10:20+00:00 would come before 12:00+03:00)."""
    return sorted(rows, key=lambda row: parse(row[column]))


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def load(text: str | None) -> Any:
    return json.loads(text) if text else None


def classification_json(event: Any) -> str:
    return dump(event.classification.as_dict())
