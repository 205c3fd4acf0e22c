"""Snapshots of the overview's read models, so that the overview as known at T does not replay the whole log.

After a batch, once every model of the overview has applied the same position P and P is at least
`history_snapshot_every` events past the last snapshot, the follower (a Projections listener registered by
infrastructure/bootstrap.py) copies their tables into `valmius_history_snapshots` (a compressed SQLite
database image, restored in one step) with P and the range of recording times of the overview's events it
covers. As-of T (application.audit.history) starts from the latest snapshot whose events were all recorded by
T and applies the later events recorded by T; ranges of the log whose events were all recorded after T are
skipped. The snapshots are only a shortcut: `full_replay=True` recomputes from the first event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import Notification

from application.ports import Clock
from application.ports import EventLogReader, ScratchStore, ScratchStores, SnapshotStore
from application.projections.read_model import ReadModel
from application.projections.tracking import lock_position, positions, topics_of
from application.projections.decision_log import DecisionLog
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.readiness_board import ReadinessBoard
from application.projections.situation_overview import SituationOverview

log = logging.getLogger("valmius.history")

SNAPSHOT_TABLE = "valmius_history_snapshots"
SNAPSHOT_FORMAT = 2  # 1: rows as JSON; 2: a SQLite database image
OVERVIEW_MODELS: tuple[type[ReadModel], ...] = (SituationOverview, ReadinessBoard, PoliceLiaisonBoard, DecisionLog)


def micros(moment: datetime) -> int:
    """A recording time as microseconds since the epoch: exact, and ordered by instant in any database."""
    return (moment - EPOCH) // timedelta(microseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def apply_known(store: ScratchStore, models: Sequence[ReadModel], batch: Iterable[tuple[Notification, Any]]) -> int:
    """Apply already-filtered events to the models in one transaction (no tracking: the store is ours)."""
    applied = 0
    with store.transaction() as tx:
        for notification, event in batch:
            for model in models:
                model.apply(tx, event, notification.id)
            applied += 1
    return applied



@dataclass(frozen=True)
class Snapshot:
    position: int
    known_by: int | None  # the latest recording time (micros) of the overview's events up to `position`
    segment_start: int
    segment_first: int | None  # the earliest recording time of those in (segment_start, position]


class OverviewSnapshots:
    """Snapshots of the overview's read-model tables, taken by the follower, kept next to the events."""

    def __init__(
        self, event_log: EventLogReader, store: SnapshotStore, scratch: ScratchStores, clock: Clock, *, every: int
    ) -> None:
        self.log = event_log
        self.store = store
        self.scratch = scratch
        self.clock = clock
        self.every = every
        self.models = [cls() for cls in OVERVIEW_MODELS]
        self.topics = topics_of(self.models)
        shapes = [(m.name, m.shape(paging=False)) for m in self.models]  # what a snapshot holds of each
        fingerprint = json.dumps([SNAPSHOT_FORMAT, shapes], sort_keys=True).encode()
        self.fingerprint = hashlib.sha256(fingerprint).hexdigest()[:16]
        self._last: int | None = None
        self._taking = threading.Lock()
        store.create(
            f"CREATE TABLE IF NOT EXISTS {SNAPSHOT_TABLE} (fingerprint TEXT NOT NULL, position BIGINT NOT NULL,"
            " known_by BIGINT, segment_start BIGINT NOT NULL, segment_first BIGINT, taken_at TEXT NOT NULL,"
            f" data {store.binary()} NOT NULL, PRIMARY KEY (fingerprint, position))"
        )

    # -- taking them (the follower) -----------------------------------------------------------------------

    def after_batch(self, position: int) -> None:
        """A Projections listener: called after each batch the follower applied. Never stops the follower."""
        if self.every <= 0:
            return
        if self._last is not None and position - self._last < self.every:
            return
        if not self._taking.acquire(blocking=False):
            return
        try:
            self.take()
        except Exception:  # a missed snapshot only makes as-of reads slower; the next batch tries again
            log.exception("history snapshot failed at position %d; trying again after the next batch", position)
        finally:
            self._taking.release()

    def take(self) -> int | None:
        """Snapshot the overview's tables if they all stand at one position P, `every` events past the last
        snapshot. Returns P, or None when there was nothing to take."""
        known = positions(self.store)
        standing = {known.get(m.name, 0) for m in self.models}
        if len(standing) != 1:
            return None  # a model is being rebuilt or another follower is between models: a later batch
        position = standing.pop()
        last = self.latest()
        start = last.position if last else 0
        self._last = start
        if position - start < self.every:
            return None
        first, latest = self._recorded_between(start, position)
        known_by = max((t for t in (last.known_by if last else None, latest) if t is not None), default=None)
        with self.store.transaction() as tx:
            # Tracking rows are taken in name order, as the follower takes them: never crosswise.
            if {lock_position(tx, name) for name in sorted(m.name for m in self.models)} != {position}:
                return None  # the models moved on while we read the events: a later batch
            with self.scratch(self.models) as copy:
                with copy.transaction() as into:
                    for model in self.models:
                        for table in (t for t in model.tables if t not in model.paging_tables):
                            tx.execute(f"SELECT * FROM {table}")
                            rows = tx.fetchall()
                            if rows:
                                columns = list(rows[0])
                                into.executemany(
                                    f"INSERT INTO {table} ({', '.join(columns)})"
                                    f" VALUES ({', '.join(['%s'] * len(columns))})",
                                    ([r[c] for c in columns] for r in rows),
                                )
                data = zlib.compress(copy.image(), 6)
            tx.execute(
                f"INSERT INTO {SNAPSHOT_TABLE} (fingerprint, position, known_by, segment_start, segment_first,"
                " taken_at, data) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (self.fingerprint, position, known_by, start, first, self.clock().isoformat(), data),
            )
        self._last = position
        log.info("history snapshot of the overview at position %d (%d bytes)", position, len(data))
        return position

    def _recorded_between(self, after: int, stop: int) -> tuple[int | None, int | None]:
        first = latest = None
        for page in self.log.scan(after=after, stop=stop, topics=self.topics):
            for notification in page:
                moment = micros(self.log.decode(notification).recorded_at)
                first = moment if first is None else min(first, moment)
                latest = moment if latest is None else max(latest, moment)
        return first, latest

    # -- using them ---------------------------------------------------------------------------------------

    def _rows(self, where: str = "", params: tuple = (), order: str = "position") -> list[dict[str, Any]]:
        return self.store.query(
            f"SELECT position, known_by, segment_start, segment_first FROM {SNAPSHOT_TABLE}"
            f" WHERE fingerprint = %s {where} ORDER BY {order}",
            (self.fingerprint, *params),
        )

    @staticmethod
    def _snapshot(row: dict[str, Any]) -> Snapshot:
        return Snapshot(int(row["position"]), row["known_by"], int(row["segment_start"]), row["segment_first"])

    def latest(self) -> Snapshot | None:
        rows = self._rows(order="position DESC LIMIT 1")
        return self._snapshot(rows[0]) if rows else None

    def all(self) -> list[Snapshot]:
        return [self._snapshot(r) for r in self._rows()]

    def known_by(self, at: datetime, stop: int) -> Snapshot | None:
        """The latest snapshot, up to log position `stop`, whose events were all recorded by `at`."""
        rows = self._rows(
            "AND position <= %s AND (known_by IS NULL OR known_by <= %s)", (stop, micros(at)),
            order="position DESC LIMIT 1",
        )
        return self._snapshot(rows[0]) if rows else None

    def image(self, snapshot: Snapshot) -> bytes:
        """The snapshot's tables, as a SQLite database image for a scratch store."""
        rows = self.store.query(
            f"SELECT data FROM {SNAPSHOT_TABLE} WHERE fingerprint = %s AND position = %s",
            (self.fingerprint, snapshot.position),
        )
        return zlib.decompress(bytes(rows[0]["data"]))

    def ranges_to_read(self, after: int, stop: int, at: datetime) -> list[tuple[int, int]]:
        """The position ranges after `after` (up to `stop`) that may hold overview events recorded by `at`:
        every range between later snapshots whose earliest event was recorded after `at` is left out."""
        moment = micros(at)
        ranges: list[tuple[int, int]] = []
        start = after
        for snapshot in self.all():
            if snapshot.position <= after:
                continue
            if snapshot.position > stop:
                break
            # Its segment covers (segment_start, position] ⊇ (start, position]: its earliest time bounds ours.
            if snapshot.segment_first is not None and snapshot.segment_first <= moment:
                ranges.append((start, snapshot.position))
            start = snapshot.position
        if start < stop:
            ranges.append((start, stop))
        merged: list[tuple[int, int]] = []
        for gt, lte in ranges:
            if merged and merged[-1][1] == gt:
                merged[-1] = (merged[-1][0], lte)
            else:
                merged.append((gt, lte))
        return merged
