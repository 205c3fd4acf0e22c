"""Exactly-once processing: the tracking rows of the read models, and applying a batch of events to them.

A read model applies a batch of events and moves its tracking position in ONE transaction of the store the
events live in. The transaction first takes the read model's tracking row for update, then applies only the
events after the recorded position: so however many processes follow the log (a worker, a rebuild, an
embedded follower), every event is applied to every read model exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from eventsourcing.persistence import Notification

from application.ports import Store, Tx
from application.projections.read_model import ReadModel
from application.projections.values import dump, load

log = logging.getLogger("valmius.projections")

TRACKING_TABLE = "valmius_tracking"
SHAPES_TABLE = "valmius_read_model_shapes"  # per read model: the shape its stored rows were written in
FAILURES_TABLE = "valmius_read_model_failures"  # per read model stopped by an event it fails on: where, and why


@dataclass(frozen=True)
class Failure:
    """A read model stopped before the event at `position`, which it fails on."""

    model: str
    position: int
    error: str
    failed_at: str  # when it first failed there (ISO-8601, the server clock)
    attempts: int


def lock_position(tx: Tx, name: str) -> int:
    """Take the read model's tracking row for the rest of the transaction and return its position."""
    tx.execute(f"UPDATE {TRACKING_TABLE} SET position = position WHERE view = %s", (name,))
    tx.execute(f"SELECT position FROM {TRACKING_TABLE} WHERE view = %s", (name,))
    rows = tx.fetchall()
    return int(rows[0]["position"]) if rows else 0


def apply_batch(
    store: Store,
    model: ReadModel,
    notifications: Sequence[Notification],
    decode: Callable[[Notification], Any],
    after: int | None = None,
) -> int:
    """Apply the notifications the model has not seen yet, and track them, atomically. Returns the count.

    `after` is the position the notifications were read after (they are every one from there to the last). A
    model found behind it, emptied by a rebuild since they were read, is left alone: applying them would skip
    the notifications in between for good, since its position would then move past them.
    """
    if not notifications:
        return 0
    with store.transaction() as tx:
        position = lock_position(tx, model.name)
        if after is not None and position < after:
            return 0
        return apply_locked(tx, [(model, position)], notifications, decode, notifications[-1].id)


def lock_positions(tx: Tx, names: Sequence[str], dialect: str) -> dict[str, int]:
    """Take the tracking rows of `names` for the rest of the transaction and return their positions."""
    return {name: position for name, (position, _) in lock_tracking(tx, names, dialect).items()}


def lock_tracking(tx: Tx, names: Sequence[str], dialect: str) -> dict[str, tuple[int, str | None]]:
    """Take the tracking rows of `names` for the rest of the transaction and return their positions and the
    shapes their rows are stored in: one statement, rows always taken in name order (two followers never wait
    for each other crosswise)."""
    ordered = tuple(sorted(names))
    marks = ", ".join(["%s"] * len(ordered))
    select = (
        f"SELECT t.view, t.position, s.shape FROM {TRACKING_TABLE} t LEFT JOIN {SHAPES_TABLE} s ON s.view = t.view"
        f" WHERE t.view IN ({marks})"
    )
    if dialect == "postgres":
        tx.execute(f"{select} ORDER BY t.view FOR UPDATE OF t", ordered)
    else:  # SQLite has no row locks: the UPDATE takes the database's write lock at once
        tx.execute(f"UPDATE {TRACKING_TABLE} SET position = position WHERE view IN ({marks})", ordered)
        tx.execute(select, ordered)
    found = {row["view"]: (int(row["position"]), row["shape"]) for row in tx.fetchall()}
    return {name: found.get(name, (0, None)) for name in names}


def apply_locked(
    tx: Tx,
    models: Sequence[tuple[ReadModel, int]],
    notifications: Sequence[Notification],
    decode: Callable[[Notification], Any],
    last: int,
) -> int:
    """Apply each notification to every model whose position (tracking row already taken in `tx`) is before
    it, and move the models' positions to `last` (notifications read by topic cover the log up to `last`, of
    which they are the ones of the models' topics). Returns how many notifications were applied.

    Event by event: each is decoded once, handed to the handler of every model that has not seen it and
    subscribes to its class, and let go (decoding a whole batch first and keeping it alive while it is applied
    made decoding a third slower). Which models take an event of a class is worked out once per batch (see
    `_routes`), not asked of every model for every event."""
    if not models:
        return 0
    for model, _ in models:
        model.begin_batch()
    try:
        applied = 0
        first = min(position for _, position in models)
        routes: dict[type, list[tuple[int, Callable[..., None], bool]]] = {}
        for notification in notifications:
            at = notification.id
            if at <= first:
                continue
            event = decode(notification)
            route = routes.get(type(event))
            if route is None:
                route = routes[type(event)] = _routes(models, type(event))
            for position, handle, whole in route:
                if at > position:
                    if whole:
                        handle(tx, notification, event)
                    else:
                        handle(tx, event, at)
            applied += 1
        for model, _ in models:
            model.end_batch(tx)
    except BaseException:
        for model, _ in models:
            model.abandon_batch()
        raise
    for model, position in models:
        if last > position:
            tx.execute(f"UPDATE {TRACKING_TABLE} SET position = %s WHERE view = %s", (last, model.name))
    return applied


class Unwritten(Exception):
    """A handler read its tables while the batch before was still being written (see Recorded)."""


class Recorded:
    """A Tx that keeps a batch's statements, to run them later in the batch's own transaction (a rebuild applies
    a batch while the one before is written: Projections._write_behind). A read cannot be answered before the
    batch before is written: `fetchall` raises Unwritten."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []

    def execute(self, statement: str, params: tuple = ()) -> int:
        self.statements.append((statement, params))
        return -1

    def fetchall(self) -> list[dict[str, Any]]:
        raise Unwritten("a read model read its tables while the batch before was being written")

    def replay(self, tx: Tx) -> None:
        for statement, params in self.statements:
            tx.execute(statement, params)


def _routes(models: Sequence[tuple[ReadModel, int]], kind: type) -> list[tuple[int, Callable[..., None], bool]]:
    """Who takes an event of class `kind`, in the models' order: (model's position, callable, whether it takes
    the notification too). A model that processes events its own way (overrides `apply_notification` or
    `apply`, as the audit chain does, or has them replaced) is called for every event; the others' handler of `kind` directly, and
    a model without one not at all (ReadModel.apply would do nothing)."""
    found: list[tuple[int, Callable[..., None], bool]] = []
    for model, position in models:
        if (getattr(model.apply_notification, "__func__", None) is not ReadModel.apply_notification
                or getattr(model.apply, "__func__", None) is not ReadModel.apply):
            found.append((position, model.apply_notification, True))
        else:
            handler = model.handlers.get(kind)
            if handler is not None:
                found.append((position, handler, False))
    return found


def prepare(store: Store, models: Iterable[ReadModel]) -> list[str]:
    """Make the tables of `models` and their tracking rows. Returns the models found written in another shape
    (another version of Valmius changed their tables or what their handlers write, or rows from before shapes
    were kept): their tables are dropped and made afresh at position 0, so that the follower rebuilds them
    from the log, instead of failing on a missing column or mixing rows of two versions. A follower of the
    other version still running leaves such a model alone from its next batch on (Projections._leave); stop
    the processes of the old version when upgrading, since one started again would reset the model back. One
    transaction with the tracking rows taken first: processes starting together reset nothing twice.
    Evidence is never dropped: a changed shape of a model that is not rebuildable stops the start, to be
    migrated by hand."""
    models = list(models)
    store.create(
        f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (view TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {SHAPES_TABLE} (view TEXT PRIMARY KEY, shape TEXT NOT NULL, tables TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {FAILURES_TABLE} (view TEXT PRIMARY KEY, position BIGINT NOT NULL,"
        " error TEXT NOT NULL, failed_at TEXT NOT NULL, attempts BIGINT NOT NULL)",
    )
    with store.transaction() as tx:
        for model in models:
            tx.execute(
                f"INSERT INTO {TRACKING_TABLE} (view, position) VALUES (%s, 0) ON CONFLICT DO NOTHING", (model.name,)
            )
    reset: list[str] = []
    with store.transaction() as tx:
        known = lock_positions(tx, [model.name for model in models], store.dialect)
        tx.execute(f"SELECT view, shape, tables FROM {SHAPES_TABLE}")
        stored = {row["view"]: row for row in tx.fetchall()}
        for model in models:
            row, shape = stored.get(model.name), model.shape()
            if row is not None and row["shape"] == shape:
                model.create(tx)
                continue
            if row is not None and not model.rebuildable:
                raise RuntimeError(
                    f"the stored tables of {model.name} are of another shape than this version writes; they are "
                    "evidence and are never rebuilt from the log: migrate them by hand"
                )
            if model.rebuildable:
                before = load(row["tables"]) if row is not None else []
                for table in dict.fromkeys([*before, *model.tables]):
                    tx.execute(f"DROP TABLE IF EXISTS {table}")
                tx.execute(f"UPDATE {TRACKING_TABLE} SET position = 0 WHERE view = %s", (model.name,))
                if known[model.name] > 0:
                    reset.append(model.name)
            model.create(tx)
            tx.execute(f"DELETE FROM {SHAPES_TABLE} WHERE view = %s", (model.name,))
            tx.execute(
                f"INSERT INTO {SHAPES_TABLE} (view, shape, tables) VALUES (%s, %s, %s)",
                (model.name, shape, dump(sorted(model.tables))),
            )
    for name in reset:
        log.warning("read model %s was stored in another shape: emptied, it is rebuilt from the log", name)
    return reset


def log_pages(
    recorder: Any, *, after: int = 0, stop: int | None = None, topics: Sequence[str] = (), size: int = 5000
) -> Iterator[list[Notification]]:
    """The stored notifications after `after` up to `stop` (inclusive; the end of the log when None), of
    `topics` (all when empty), in pages of at most `size`: how every full scan of the log reads it."""
    while stop is None or after < stop:
        page = recorder.select_notifications(start=after + 1, limit=size, stop=stop, topics=list(topics))
        if not page:
            return
        yield list(page)
        after = page[-1].id


def topics_of(models: Iterable[ReadModel]) -> list[str] | None:
    """The topics the models apply between them; None when one of them needs every event."""
    found: set[str] = set()
    for model in models:
        topics = model.topics()
        if topics is None:
            return None
        found.update(topics)
    return sorted(found)


def positions(store: Store) -> dict[str, int]:
    return {r["view"]: int(r["position"]) for r in store.query(f"SELECT view, position FROM {TRACKING_TABLE}")}
