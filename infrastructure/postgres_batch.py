"""A PostgreSQL transaction that sends a batch's statements in bulk: pipelined, and runs of one plain INSERT as
COPY (infrastructure.sql.Sql.batch_transaction). One round trip per statement was most of the time of following
the log and of rebuilding the read models.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.postgres_listen import TRACKING_CHANNEL

_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w\s,]+)\) VALUES \(((?:\s*%s\s*,)*\s*%s\s*)\)")
COPY_RUN = 8  # consecutive plain INSERTs into one table sent as one COPY


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
def batch_transaction(datastore: Any) -> Iterator[_Buffered]:
    """A transaction of the PostgreSQL datastore whose statements are sent in bulk (see _Buffered). When it
    commits it NOTIFYs the tracking channel, which other processes' watchers hear (postgres_listen)."""
    with datastore.transaction(commit=True) as cursor:
        tx = _Buffered(cursor)
        yield tx
        tx.execute(f"NOTIFY {TRACKING_CHANNEL}")  # delivered when this commits
        tx.flush()
