"""The ports of the application: what it needs from the outside, as Protocols. The adapters that fill them live
in `infrastructure/` (built and handed in by infrastructure/bootstrap.py); the application imports no driver.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from application.projections.read_model import ReadModel

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


# --- the audit side -----------------------------------------------------------------------------------


class EventLogReader(Protocol):
    """The stored events with their log positions, filtered where the store can filter them."""

    def last_position(self) -> int: ...

    def decode(self, notification: Notification) -> Any: ...

    def select(
        self,
        *,
        after: int,
        limit: int,
        stop: int | None = None,
        originators: Sequence[UUID] = (),
        topics: Sequence[str] = (),
    ) -> list[Notification]: ...

    def scan(
        self, *, after: int = 0, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Iterator[list[Notification]]: ...

    def of_aggregate(self, originator: UUID) -> list[Notification]: ...


class ScratchStore(Store, Protocol):
    """A private store with read-model tables, for one as-of answer or one snapshot: it can be saved as an image."""

    def image(self) -> bytes: ...


class ScratchStores(Protocol):
    """Opens a scratch store with the tables of `models`, or restored from the `image` of a snapshot."""

    def __call__(
        self, models: Iterable[ReadModel], image: bytes | None = None
    ) -> AbstractContextManager[ScratchStore]: ...


class SnapshotStore(Store, Protocol):
    """The store the overview's snapshots are kept in: it names its type for a column of bytes."""

    def binary(self) -> str: ...


class RefusalLog(Protocol):
    """Refused attempts, kept for auditors, in the order they were kept (`id`)."""

    def record(
        self,
        *,
        at: datetime,
        user: str | None,
        role: str | None,
        command: str,
        target: str | None,
        rule: str,
        message: str,
        payload: dict[str, Any] | None = None,
    ) -> None: ...

    def list(
        self,
        *,
        target: str | None = None,
        user: str | None = None,
        rule: str | None = None,
        concerning: Sequence[str] | None = None,
        after: int = 0,
        up_to: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]: ...

    def last_id(self) -> int: ...


# --- what a situation report freezes ------------------------------------------------------------------


class SituationFigures(Protocol):
    """The figures of a crisis as the read models hold them at `at` (open and overdue actions, units at each
    readiness, active plans, open police requests): what a situation report freezes when it is issued
    (application.projections.situation_overview.ReportFigures over the store, handed in by bootstrap)."""

    def __call__(self, crisis_id: str, at: datetime) -> dict[str, Any]: ...
