"""The declared contract of a read model: its name, its tables, the events it subscribes to and how it processes
them, and the rows of a batch it keeps in memory until the batch ends (application.projections.tracking applies
batches, exactly once).
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
import re
import threading
from collections.abc import Callable
from itertools import islice
from typing import Any, ClassVar

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.ports import Tx

Handler = Callable[[Tx, Any, int], None]
_DEFAULT = re.compile(r"\bDEFAULT\b", re.IGNORECASE)


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
    """One read model: a name, its tables (portable DDL), and a handler per event class it subscribes to.

    The contract, in the library's words (eventsourcing.projection.Projection): `subscriptions` declares the
    event classes it processes, hence its `topics`; `apply_notification` processes one event at its position,
    in the transaction that moves its tracking position (application.projections.tracking); `version` and
    `tables` make its `shape`, and a changed shape empties and rebuilds it (tracking.prepare).

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
    # Tables that only order the model's other rows for paged reads (written by its handlers like the others,
    # rebuilt with them): the overview's history snapshots leave them out, so adding one keeps old snapshots
    # valid (application.audit.snapshots).
    paging_tables: ClassVar[frozenset[str]] = frozenset()
    # Tables added after history snapshots were first taken, whose rows no event stored before them could write
    # (the crises declared as exercises: application.projections.exercises): empty in every snapshot taken before
    # them, so they are left out of the snapshots' shape like the paging tables and the snapshots taken before
    # stay valid (a scratch store creates them empty); the snapshots taken since hold their rows.
    later_tables: ClassVar[frozenset[str]] = frozenset()
    # Index name -> "table (columns)": made when missing at every start (not part of the shape: adding one
    # rebuilds nothing, and the snapshots hold rows, not indexes).
    indexes: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The rules of `keys`, checked where a model is declared: each names one of its tables, and that table
        has no column DEFAULT (a buffered row is written with NULL in the columns it leaves out)."""
        super().__init_subclass__(**kwargs)
        tables = getattr(cls, "tables", {})
        for table, key in cls.keys.items():
            if table not in tables:
                raise TypeError(f"{cls.__name__}.keys names {table}, which is not one of its tables")
            if _DEFAULT.search(tables[table]) or not key:
                raise TypeError(f"{cls.__name__}: table {table} in `keys` needs key columns and no column DEFAULT")

    def __init__(self) -> None:
        self.handlers: dict[type, Handler] = self.subscriptions()
        self._key_of = {table: _key_getter(columns) for table, columns in self.keys.items()}  # row -> its key
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

    def forget(self) -> None:
        """Forget what the model remembers (a batch it applied was not written: what it remembered of that batch
        is not in its tables, and applying the batch again must not find it)."""
        for memory in self._memories:
            memory.clear()

    def _batch(self) -> _BatchRows | None:
        return getattr(self._local, "batch", None)

    def append(self, tx: Tx, table: str, columns: tuple[str, ...], values: tuple) -> None:
        """INSERT a row no later event of the batch changes (it may be changed by `after_rows`)."""
        batch = getattr(self._local, "batch", None)  # (self._batch(), one call less: once per event in a rebuild)
        if batch is None:
            tx.execute(_insert_statement(table, columns), values)
            return
        try:
            batch.appended[(table, columns)].append(values)
        except KeyError:
            batch.appended[(table, columns)] = [values]

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
        key = self._key_of[table](row)
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

    def shape(self, *, paging: bool = True) -> str:
        """What this model's stored rows look like: its tables and its version (see `prepare`); without its
        `paging_tables` and `later_tables` when `paging` is false (the shape a history snapshot is valid for)."""
        tables = {t: c for t, c in self.tables.items() if paging or t not in self.paging_tables | self.later_tables}
        return hashlib.sha256(json.dumps([self.version, tables], sort_keys=True).encode()).hexdigest()[:16]

    def create(self, tx: Tx) -> None:
        for table, columns in self.tables.items():
            tx.execute(f"CREATE TABLE IF NOT EXISTS {table} {columns}")
        for index, columns in self.indexes.items():
            tx.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {columns}")

    def clear(self, tx: Tx, dialect: str = "sqlite") -> None:
        """Empty the model's tables: TRUNCATE on PostgreSQL (transactional there, and it leaves no dead rows
        for the rebuild to write among), DELETE elsewhere."""
        for table in self.tables:
            tx.execute(f"TRUNCATE {table}" if dialect == "postgres" else f"DELETE FROM {table}")

    def subscriptions(self) -> dict[type, Handler]:
        """The handler of each event class the model processes: its topics."""
        raise NotImplementedError(f"{type(self).__name__} declares no subscriptions")

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


def _key_getter(columns: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple]:
    """A row's key, the values of `columns` as a tuple, read in one C call: 0.1 µs per row inserted instead of
    0.3 µs for a generator over the columns (timeit; small, but once per inserted row of every rebuild)."""
    if len(columns) == 1:
        column = columns[0]
        return lambda row: (row[column],)
    return operator.itemgetter(*columns)


@functools.lru_cache(maxsize=256)
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"


@functools.lru_cache(maxsize=256)
def _update_statement(table: str, columns: tuple[str, ...], key: tuple[str, ...]) -> str:
    sets = ", ".join(f"{column} = %s" for column in columns)
    return f"UPDATE {table} SET {sets} WHERE {' AND '.join(f'{column} = %s' for column in key)}"
