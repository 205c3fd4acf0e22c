"""Scratch stores: private in-memory SQLite databases with read-model tables, on which the same read-model
handlers and query functions answer "as it was known at T" (application.audit.history) and from which the
overview's snapshots are made (application.audit.snapshots)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from application.projections.read_model import ReadModel


@lru_cache(maxsize=512)
def _qmarks(statement: str) -> str:
    return statement.replace("%s", "?")


class _ScratchTx:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, statement: str, params: tuple = ()) -> int:
        self._cursor.execute(_qmarks(statement), params)
        return self._cursor.rowcount

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(_qmarks(statement), rows)

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._cursor.fetchall()]


class ScratchStore:
    """A private in-memory SQLite database with the read models' tables: the Store the same handlers and
    query functions run on. One connection, no pool: it lives for one as-of answer (or one snapshot).

    The tables are clustered on their primary keys (WITHOUT ROWID), so rows the queries do not order fully
    (two crises declared at the same instant) come in key order, whether the store was filled from a
    snapshot or by replaying every event: the same question always gets the same answer."""

    dialect = "sqlite"

    def __init__(self, models: Iterable[ReadModel], image: bytes | None = None) -> None:
        self.connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.connection.row_factory = sqlite3.Row
        if image is not None:  # a snapshot: it holds every table but the models' paging tables
            self.connection.deserialize(image)
        self.create(
            *(
                f"CREATE TABLE IF NOT EXISTS {table} {columns}" + (" WITHOUT ROWID" if "PRIMARY KEY" in columns else "")
                for model in models
                for table, columns in model.tables.items()
            )
        )

    @contextmanager
    def transaction(self) -> Iterator[_ScratchTx]:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN")
        try:
            yield _ScratchTx(cursor)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def query(self, statement: str, params: tuple = ()) -> list[dict[str, Any]]:
        return [dict(row) for row in self.connection.execute(_qmarks(statement), params).fetchall()]

    def create(self, *statements: str) -> None:
        for statement in statements:
            self.connection.execute(statement)

    def image(self) -> bytes:
        return self.connection.serialize()

    def close(self) -> None:
        self.connection.close()


@contextmanager
def scratch_store(models: Iterable[ReadModel], image: bytes | None = None) -> Iterator[ScratchStore]:
    """A scratch store with the tables of `models` (or the database `image` of a snapshot), gone after (the
    application's ScratchStores)."""
    store = ScratchStore(models, image)
    try:
        yield store
    finally:
        store.close()
