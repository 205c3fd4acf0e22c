"""The ports of the application: what it needs from the outside, as Protocols. The adapters that fill them live
in `infrastructure/` (built and handed in by infrastructure/bootstrap.py); the application imports no driver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol

# --- the clock, the store of our own tables, and the followers' wake-ups (projections) --------------------

Clock = Callable[[], datetime]  # what time it is now, timezone-aware (domain.shared.utc_now, or a test's clock)


class Tx(Protocol):
    """A transaction on the read-model store: `%s` placeholders, rows as dicts."""

    def execute(self, statement: str, params: tuple = ()) -> int: ...

    def fetchall(self) -> list[dict[str, Any]]: ...


class Store(Protocol):
    """The database the events live in, for our own tables (infrastructure.sql.Sql)."""

    dialect: str

    def transaction(self) -> AbstractContextManager[Tx]: ...

    def batch_transaction(self) -> AbstractContextManager[Tx]:
        """The transaction a batch of events is applied in: its statements may be sent in bulk when it ends or
        something is read (infrastructure.postgres_batch). Each one it commits announces itself to `watch`ers of
        the followers' batches (Listener.watch)."""
        ...

    def query(self, statement: str, params: tuple = ()) -> list[dict[str, Any]]: ...

    def create(self, *statements: str) -> None: ...


class Listener(Protocol):
    """Wakes callbacks when another process writes (infrastructure.postgres_listen). Stores without
    notifications (SQLite, memory) have none: this process's own writes and followers wake it there."""

    def watch_events(self, stop: threading.Event, callback: Callable[[], None]) -> bool:
        """Call `callback` from a thread of its own whenever any process stores events, until `stop` is set;
        also once it listens. False when it cannot listen."""
        ...

    def watch(self, stop: threading.Event, callback: Callable[[], None]) -> bool:
        """Call `callback` from a thread of its own whenever a follower of any process commits a batch, until
        `stop` is set; also once it listens. False when it cannot listen."""
        ...
