"""The ports: what the application asks of the outside world, as Protocols. The adapters that answer them live
in infrastructure/ and are built and handed in by infrastructure/bootstrap.py."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from application.projections.base import Store

if TYPE_CHECKING:
    from eventsourcing.persistence import Notification

    from application.projections.base import ReadModel


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
