"""A thin way to run our own SQL in the event store's database (SQLite or PostgreSQL).

The side tables (tokens, idempotency keys, refused attempts) live next to the stored events and use the
eventsourcing datastore's own connection pool, so there is one database and one configuration. Queries are
written with `%s` placeholders; for SQLite they become `?`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.sqlite import SQLiteDatastore

from infrastructure import postgres_batch


class Sql:
    def __init__(self, datastore: Any, dialect: str) -> None:
        self.datastore = datastore
        self.dialect = dialect

    @classmethod
    def of(cls, app: Application) -> Sql:
        """The database of the application's event store; an in-memory SQLite one for POPO."""
        datastore = getattr(app.factory, "datastore", None)
        if datastore is None:
            return cls(SQLiteDatastore(f"file:valmius-{uuid4().hex}?mode=memory&cache=shared"), "sqlite")
        dialect = "sqlite" if isinstance(datastore, SQLiteDatastore) else "postgres"
        return cls(datastore, dialect)

    def _sql(self, statement: str) -> str:
        return statement.replace("%s", "?") if self.dialect == "sqlite" else statement

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=True) as cursor:
            yield _Cursor(cursor, self)

    @contextmanager
    def batch_transaction(self) -> Iterator[Any]:
        """The transaction a batch of events is applied in (application.ports.Store). On PostgreSQL its
        statements are sent in bulk and its commit is announced (infrastructure.postgres_batch); elsewhere it
        is an ordinary transaction."""
        if self.dialect == "postgres":
            with postgres_batch.batch_transaction(self.datastore) as tx:
                yield tx
        else:
            with self.transaction() as tx:
                yield tx

    def execute(self, statement: str, params: tuple = ()) -> int:
        """One statement, committed. On PostgreSQL it runs in autocommit: a single statement is its own
        transaction, so BEGIN and COMMIT would only add two round trips to the server."""
        if self.dialect == "postgres":
            with self.datastore.get_connection() as conn:
                return conn.execute(statement, params).rowcount
        with self.transaction() as cursor:
            return cursor.execute(statement, params)

    def query(self, statement: str, params: tuple = ()) -> list[dict[str, Any]]:
        """One read. On PostgreSQL in autocommit (one round trip instead of BEGIN, SELECT, ROLLBACK): every
        caller reads with one statement, which sees one consistent snapshot by itself."""
        if self.dialect == "postgres":
            with self.datastore.get_connection() as conn:
                return [dict(row) for row in conn.execute(statement, params).fetchall()]
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(statement), params)
            return [dict(row) for row in cursor.fetchall()]

    def create(self, *statements: str) -> None:
        """Run DDL (CREATE … IF NOT EXISTS). Processes starting together take turns through the start-up lock
        (infrastructure.persistence.postgres_startup_lock)."""
        with self.transaction() as cursor:
            for statement in statements:
                cursor.execute(statement)

    def cursor(self, cursor: Any) -> _Cursor:
        """Our statements on a cursor of the event store's own transaction (one that stores events)."""
        return _Cursor(cursor, self)

    def autoincrement(self) -> str:
        return "INTEGER PRIMARY KEY AUTOINCREMENT" if self.dialect == "sqlite" else "BIGSERIAL PRIMARY KEY"

    def binary(self) -> str:
        """The type of a column of bytes."""
        return "BLOB" if self.dialect == "sqlite" else "BYTEA"


class _Cursor:
    def __init__(self, cursor: Any, sql: Sql) -> None:
        self._cursor = getattr(cursor, "sqlite_cursor", cursor)  # the library wraps sqlite3's cursor
        self._sql = sql

    def execute(self, statement: str, params: tuple = ()) -> int:
        self._cursor.execute(self._sql._sql(statement), params)
        return self._cursor.rowcount

    def fetchall(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self._cursor.fetchall()]
