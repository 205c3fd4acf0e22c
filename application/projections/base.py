"""What every read model shares: its tables, its event handlers, and exactly-once processing.

A read model applies a batch of events and moves its tracking position in ONE transaction of the store the
events live in. The transaction first takes the read model's tracking row for update, then applies only the
events after the recorded position: so however many processes follow the log (a worker, a rebuild, an
embedded follower), every event is applied to every read model exactly once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from datetime import datetime
from typing import Any, ClassVar, Protocol

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.shared import Classification

log = logging.getLogger("valmius.projections")

TRACKING_TABLE = "valmius_tracking"
SHAPES_TABLE = "valmius_read_model_shapes"  # per read model: the shape its stored rows were written in
FAILURES_TABLE = "valmius_read_model_failures"  # per read model stopped by an event it fails on: where, and why


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


_MISSING: Any = object()


class _BatchRows:
    """The rows a batch keeps in memory until it ends (see ReadModel.insert and ReadModel.append)."""

    __slots__ = ("appended", "inserted", "updated", "after")

    def __init__(self) -> None:
        self.appended: dict[tuple[str, tuple[str, ...]], list[tuple]] = {}  # (table, columns) -> rows
        self.inserted: dict[str, dict[tuple, dict[str, Any]]] = {}  # table -> key -> row
        self.updated: dict[str, dict[tuple, dict[str, Any]]] = {}  # table -> key -> column -> value
        self.after: list[tuple[str, tuple]] = []  # statements to run once the rows are written


class Memory(dict):
    """What a model remembers between events (a record's classification, a liaison's crisis) so as not to
    read it back from its tables, bounded: trimmed to `limit`, oldest first, when a batch begins and never
    during one, so that what a batch put there stays while the batch's rows are not written yet. A model
    reads its table for what it forgot."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def trim(self) -> None:
        excess = len(self) - self.limit
        if excess > 0:
            for key in list(islice(self, excess)):
                self.pop(key, None)  # another thread (history's shared models) may have trimmed it


class ReadModel:
    """One read model: a name, its tables (portable DDL), and a handler per event class it cares about.

    Inside a batch (`begin_batch` … `end_batch`, see apply_locked) a model keeps its rows in memory: rows
    `append`ed (insert only, never changed in the batch) are written in one run per table; a row `insert`ed
    in the batch takes the batch's later `update`s in memory and is written once, and the updates of a row
    stored before are merged into one UPDATE per row (updates set constants: later values win); statements
    given to `after_rows` run last. `end_batch` writes them, in the batch's transaction, before the tracking
    position moves. Outside a batch each writes at once. The batch is the calling thread's own. Columns left
    out of a buffered row are NULL, so the tables in `keys` must have no column DEFAULT."""

    name: ClassVar[str]
    tables: ClassVar[dict[str, str]]  # table name -> "(columns…)"
    keys: ClassVar[dict[str, tuple[str, ...]]] = {}  # table -> primary key columns, for insert and update
    version: ClassVar[int] = 1  # raise it when the handlers change what they write into the same tables
    rebuildable: ClassVar[bool] = True  # False for evidence (the audit chain): never emptied, never rebuilt

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = self.subscriptions()
        self._local = threading.local()
        self._memories: list[Memory] = []

    # --- the rows of a batch ---------------------------------------------------------------------------

    def memory(self, limit: int) -> Memory:
        """A bounded memory of this model (see Memory), for `remember`."""
        memory = Memory(limit)
        self._memories.append(memory)
        return memory

    def remember(self, memory: Memory, key: Any, value: Any) -> None:
        memory[key] = value
        if self._batch() is None:  # rows are written at once outside a batch: the table has it
            memory.trim()

    def begin_batch(self) -> None:
        for memory in self._memories:
            memory.trim()
        self._local.batch = _BatchRows()

    def abandon_batch(self) -> None:
        """Forget what the batch kept (its transaction failed)."""
        self._local.batch = None

    def _batch(self) -> _BatchRows | None:
        return getattr(self._local, "batch", None)

    def append(self, tx: Tx, table: str, columns: tuple[str, ...], values: tuple) -> None:
        """INSERT a row no later event of the batch changes (it may be changed by `after_rows`)."""
        batch = self._batch()
        if batch is None:
            tx.execute(_insert_statement(table, columns), values)
            return
        rows = batch.appended.get((table, columns))
        if rows is None:
            rows = batch.appended[(table, columns)] = []
        rows.append(values)

    def after_rows(self, tx: Tx, statement: str, params: tuple) -> None:
        """Run `statement` once the batch's rows are written (at once outside a batch)."""
        batch = self._batch()
        if batch is None:
            tx.execute(statement, params)
        else:
            batch.after.append((statement, params))

    def insert(self, tx: Tx, table: str, row: dict[str, Any]) -> None:
        """INSERT `row` (column -> value) into `table`; inside a batch, when the batch ends."""
        batch = self._batch()
        if batch is None:
            tx.execute(_insert_statement(table, tuple(row)), tuple(row.values()))
            return
        key = tuple(row[column] for column in self.keys[table])
        updated = batch.updated.get(table)
        if updated:
            updated.pop(key, None)  # an UPDATE before the row was inserted found no row: it changed nothing
        rows = batch.inserted.setdefault(table, {})
        if key in rows:  # a second row with the key: written at once, it fails as it would have
            tx.execute(_insert_statement(table, tuple(row)), tuple(row.values()))
            return
        rows[key] = row

    def inserted_by_statement(self, tx: Tx, table: str, key: tuple, statement: str, params: tuple) -> None:
        """An INSERT of the row of `key` the model writes itself (INSERT … SELECT): at once. The batch's
        earlier updates of the row found no row, and its later ones are written after it."""
        batch = self._batch()
        updated = batch.updated.get(table) if batch is not None else None
        if updated:
            updated.pop(key, None)
        tx.execute(statement, params)

    def update(self, tx: Tx, table: str, key: tuple, values: dict[str, Any]) -> None:
        """UPDATE `table` SET `values` (constants) WHERE its primary key is `key`."""
        batch = self._batch()
        if batch is None:
            tx.execute(_update_statement(table, tuple(values), self.keys[table]), (*values.values(), *key))
            return
        rows = batch.inserted.get(table)
        row = rows.get(key) if rows else None
        if row is not None:
            row.update(values)
        else:
            batch.updated.setdefault(table, {}).setdefault(key, {}).update(values)

    def end_batch(self, tx: Tx) -> None:
        """Write what the batch kept: its new rows (one INSERT statement a table: a run, sent as COPY on
        PostgreSQL), then one UPDATE per row stored before, grouped by the columns they set, then the
        statements given to `after_rows`."""
        batch = self._batch()
        self._local.batch = None
        if batch is None:
            return
        for (table, columns), values in batch.appended.items():
            statement = _insert_statement(table, columns)
            for row in values:
                tx.execute(statement, row)
        for table, rows in batch.inserted.items():
            if not rows:
                continue
            columns = tuple(dict.fromkeys(column for row in rows.values() for column in row))
            statement = _insert_statement(table, columns)
            for row in rows.values():
                tx.execute(statement, tuple([row.get(column) for column in columns]))
        for table, updates in batch.updated.items():
            grouped: dict[tuple[str, ...], list[tuple]] = {}
            for key, values in updates.items():
                grouped.setdefault(tuple(values), []).append((*values.values(), *key))
            for columns, params in grouped.items():
                statement = _update_statement(table, columns, self.keys[table])
                for values in params:
                    tx.execute(statement, values)
        for statement, params in batch.after:
            tx.execute(statement, params)

    def shape(self) -> str:
        """What this model's stored rows look like: its tables and its version (see `prepare`)."""
        return hashlib.sha256(json.dumps([self.version, self.tables], sort_keys=True).encode()).hexdigest()[:16]

    def create(self, tx: Tx) -> None:
        for table, columns in self.tables.items():
            tx.execute(f"CREATE TABLE IF NOT EXISTS {table} {columns}")

    def clear(self, tx: Tx, dialect: str = "sqlite") -> None:
        """Empty the model's tables: TRUNCATE on PostgreSQL (transactional there, and it leaves no dead rows
        for the rebuild to write among), DELETE elsewhere."""
        for table in self.tables:
            tx.execute(f"TRUNCATE {table}" if dialect == "postgres" else f"DELETE FROM {table}")

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(tx, event, position)

    def apply_notification(self, tx: Tx, notification: Notification, event: Any) -> None:
        """A model that needs the stored form of an event (the audit hash chain) overrides this."""
        self.apply(tx, event, notification.id)

    def topics(self) -> list[str] | None:
        """The topics of the events the model applies; None when it needs every event (the audit chain)."""
        return sorted(get_topic(cls) for cls in self.handlers)


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

    Event by event: each is decoded once, applied to every model that has not seen it, and let go. Decoding a
    whole batch first and keeping it alive while it is applied made decoding a third slower."""
    if not models:
        return 0
    for model, _ in models:
        model.begin_batch()
    try:
        applied = 0
        first = min(position for _, position in models)
        for notification in notifications:
            at = notification.id
            if at <= first:
                continue
            event = decode(notification)
            for model, position in models:
                if at > position:
                    model.apply_notification(tx, notification, event)
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


_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w\s,]+)\) VALUES \(((?:\s*%s\s*,)*\s*%s\s*)\)")
COPY_RUN = 8  # consecutive plain INSERTs into one table sent as one COPY


@functools.lru_cache(maxsize=256)
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"


@functools.lru_cache(maxsize=256)
def _update_statement(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    sets = ", ".join(f"{column} = %s" for column in columns)
    return f"UPDATE {table} SET {sets} WHERE {' AND '.join(f'{column} = %s' for column in key)}"


@functools.lru_cache(maxsize=256)
def _copy_of(statement: str) -> str | None:
    """COPY … FROM STDIN for an INSERT of placeholders only (no literal, no SELECT, no ON CONFLICT), else None."""
    found = _PLAIN_INSERT.fullmatch(statement.strip())
    if found is None or len(found.group(2).split(",")) != found.group(3).count("%s"):
        return None
    return f"COPY {found.group(1)} ({found.group(2)}) FROM STDIN"


class _Buffered:
    """A PostgreSQL transaction, as a Tx, that sends its statements in bulk. They are kept until something is
    read (fetchall) or the transaction ends, then sent in order: in a pipeline, without waiting for each
    answer, and a run of one plain INSERT as a single COPY. Any failing statement still fails the transaction."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._pending: list[tuple[str, tuple]] = []

    def execute(self, statement: str, params: tuple = ()) -> int:
        self._pending.append((statement, params))
        return -1  # not known before the statement is sent

    def fetchall(self) -> list[dict[str, Any]]:
        if self._pending:
            statement, params = self._pending.pop()  # the read itself, sent after what came before it
            self.flush()
            self._cursor.execute(statement, params)
        return [dict(row) for row in self._cursor.fetchall()]

    def flush(self) -> None:
        runs: list[tuple[str, list[tuple]]] = []
        for statement, params in self._pending:
            if runs and runs[-1][0] == statement:
                runs[-1][1].append(params)
            else:
                runs.append((statement, [params]))
        self._pending = []
        piped: list[tuple[str, list[tuple]]] = []
        for statement, rows in runs:
            copy = _copy_of(statement) if len(rows) >= COPY_RUN else None
            if copy is None:
                piped.append((statement, rows))
                continue
            self._pipeline(piped)
            piped = []
            with self._cursor.copy(copy) as data:
                for params in rows:
                    data.write_row(params)
        self._pipeline(piped)

    def _pipeline(self, runs: list[tuple[str, list[tuple]]]) -> None:
        """Send runs of statements in a pipeline, a run of one statement with executemany (one wait for all)."""
        if len(runs) == 1 and len(runs[0][1]) == 1:
            self._cursor.execute(runs[0][0], runs[0][1][0])
        elif runs:
            with self._cursor.connection.pipeline():
                for statement, rows in runs:
                    if len(rows) == 1:
                        self._cursor.execute(statement, rows[0])
                    else:
                        self._cursor.executemany(statement, rows)


@contextmanager
def batch_transaction(store: Store) -> Iterator[Tx]:
    """The transaction a batch of events is applied in. On PostgreSQL its statements are sent in bulk (see
    _Buffered): one round trip per statement was most of the time of following the log and of rebuilding.
    Elsewhere it is the store's own transaction."""
    datastore = getattr(store, "datastore", None)
    if store.dialect == "postgres" and hasattr(datastore, "transaction"):
        with datastore.transaction(commit=True) as cursor:
            tx = _Buffered(cursor)
            yield tx
            tx.flush()
    else:
        with store.transaction() as tx:
            yield tx


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


# --- values in rows ------------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """Times are stored as ISO-8601 with the offset they were given in."""
    return moment.isoformat() if moment is not None else None


def parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def by_instant(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows ordered by the instant in `column`. The stored text keeps the offset it was given in, so ordering
    by the text would order by clock reading, not by instant (10:20+00:00 would come before 12:00+03:00).
    Rows of equal instants keep the order they came in: read them in key order, so that every store and
    every as-of replay answers alike."""
    return sorted(rows, key=lambda row: parse(row[column]))


def _encoder() -> Callable[[Any], str]:
    """JSON as json.dumps(value, ensure_ascii=False, default=str) writes it, at a third of the cost: the C
    encoder json.dumps itself uses, made once (json.dumps with options makes one per call). A rebuild dumps
    about one value per event."""
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - an interpreter without the C accelerator
        c_make_encoder = None
    if c_make_encoder is None:  # pragma: no cover
        return json.JSONEncoder(ensure_ascii=False, default=str).encode
    encode = c_make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


dump = _encoder()


def load(text: str | None) -> Any:
    return json.loads(text) if text else None


_CLASSIFICATIONS: dict[Any, str] = {}  # a classification -> its JSON (a few distinct ones: most are PUBLIC)


_STORED: dict[str, Classification] = {}  # the other way round: stored JSON -> classification


def stored_classification(text: str | None) -> Classification:
    """The classification a row stores (its JSON), remembered: rows are read far more often than written.
    No row (an outer join) or none stored is PUBLIC."""
    if not text:
        return Classification()
    found = _STORED.get(text)
    if found is None:
        if len(_STORED) >= 4096:
            _STORED.clear()
        found = _STORED[text] = Classification(**load(text))
    return found


def classification_json(event: Any) -> str:
    return classification_text(event.classification)


def classification_text(classification: Any) -> str:
    """The JSON of a classification, remembered (a few distinct ones: most are PUBLIC)."""
    try:
        return _CLASSIFICATIONS[classification]
    except KeyError:
        text = dump(classification.as_dict())
        if len(_CLASSIFICATIONS) >= 4096:
            _CLASSIFICATIONS.clear()
        _CLASSIFICATIONS[classification] = text
        return text
    except TypeError:  # not hashable
        return dump(classification.as_dict())
