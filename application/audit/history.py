"""History for auditors: the event log, any record as it was, and the live picture as it was known.

Everything here is computed from the stored events, never from the live read-model tables:

- the global event log, paged by position and filtered by aggregate, event type, actor and recording time;
- any crisis, unit's preparedness or police liaison at a version, or at a recording time (the last version
  recorded at or before it), for the HTTP presenters of the live GETs;
- the situation overview (with the readiness and police liaison boards it is made of), a crisis timeline and
  a decision log AS THEY WERE KNOWN at a past moment T: the events recorded at or before T are replayed
  through the same ReadModel classes into a scratch in-memory SQLite store, and the same query functions
  run on it with at=T, so time-derived facts (overdue, ages, time against MTPD, reviews due) are those of T.

A moment is a recording time (the server's `recorded_at`), not an occurred time: "as known at 14:00" is
what had been recorded by 14:00, even if it happened earlier.

So that the overview as known at T does not replay the whole log, the follower keeps snapshots of the
overview's read models (`OverviewSnapshots`): after a batch, once every model of the overview has applied
the same position P and P is at least `history_snapshot_every` events past the last snapshot, it copies
their tables into `valmius_history_snapshots` (a compressed SQLite database image, restored in one step) with
P and the range of recording times of the overview's events it covers. As-of T starts from the latest snapshot whose events were all recorded by T
and applies the later events recorded by T; ranges of the log whose events were all recorded after T are
skipped. The snapshots are only a shortcut: `full_replay=True` recomputes from the first event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.coordination import Coordination
from application.audit.redaction import Classifier, redact_event
from application.ports import Store
from application.projections import (
    crisis_timeline,
    decision_log,
    police_liaison_board,
    readiness_board,
    situation_overview,
)
from application.projections.read_model import ReadModel
from application.projections.tracking import lock_position, log_pages, positions, topics_of
from application.projections.crisis_timeline import CrisisTimeline
from application.projections.decision_log import DecisionLog
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.readiness_board import ReadinessBoard
from application.projections.situation_overview import SituationOverview
from domain.access import Actor, require_auditor
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.shared import Classification, DomainError, Rule, display, in_helsinki

log = logging.getLogger("valmius.history")

MAX_PAGE = 1000
SCAN_BUDGET = 10_000  # stored events one page of a filtered event log reads at most
READ_PAGE = 1000

SNAPSHOT_TABLE = "valmius_history_snapshots"
SNAPSHOT_FORMAT = 2  # 1: rows as JSON; 2: a SQLite database image
OVERVIEW_MODELS: tuple[type[ReadModel], ...] = (SituationOverview, ReadinessBoard, PoliceLiaisonBoard, DecisionLog)
CRISIS_MODELS: tuple[type[ReadModel], ...] = (CrisisTimeline, DecisionLog)

# --- the aggregates and their events, as the log names them ---------------------------------------------

AGGREGATE_KINDS: dict[str, type[Aggregate]] = {
    "crisis": Crisis,
    "division_preparedness": DivisionPreparedness,
    "police_liaison": PoliceLiaison,
    "emergency_conditions": EmergencyConditions,
}


def _event_classes(aggregate: type[Aggregate]) -> list[type]:
    base = aggregate.Event  # type: ignore[attr-defined]
    return [c for c in vars(aggregate).values() if isinstance(c, type) and issubclass(c, base) and c is not base]


EVENT_TYPES: dict[str, tuple[str, str]] = {  # "Crisis.SeverityChanged" -> (kind, topic)
    f"{cls.__name__}.{event.__name__}": (kind, get_topic(event))
    for kind, cls in AGGREGATE_KINDS.items()
    for event in _event_classes(cls)
}
KIND_OF_TOPIC: dict[str, str] = {topic: kind for kind, topic in EVENT_TYPES.values()}
NAME_OF_TOPIC: dict[str, str] = {topic: name for name, (_, topic) in EVENT_TYPES.items()}

# Never shown inside `data`: the log item shows them itself, or they are the library's bookkeeping.
BOOKKEEPING = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp", "actor", "recorded_at"})
def natural_id(event: Any) -> str:
    for name in ("crisis_id", "unit", "liaison_id"):
        if isinstance(event, _OWNER_EVENT[name]):
            return getattr(event, name)
    return "emergency-conditions"


_OWNER_EVENT = {"crisis_id": Crisis.Event, "unit": DivisionPreparedness.Event, "liaison_id": PoliceLiaison.Event}


def plain(value: Any, *, local: bool = True) -> Any:
    """Event values as JSON: exact times in Europe/Helsinki with their offset (or, with local=False, with the
    offset they were stored with), value objects and entities as their fields."""
    if isinstance(value, datetime):
        return in_helsinki(value).isoformat() if local else value.isoformat()
    if isinstance(value, Classification):
        return value.as_dict()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v, local=local) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, local=local) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), local=local) for f in fields(value)}
    return value


def event_data(event: Any, classification: Classification, cleared: bool, short_names: dict[str, str]) -> dict[str, Any]:
    """An event's stored fields as the reader sees them under the classification governing it (its record's,
    or that of the record it belongs to), with whether its content was replaced by the label."""
    data = {k: plain(v) for k, v in vars(event).items() if k not in BOOKKEEPING}
    shown, redacted = redact_event(data, event, classification, cleared, short_names)
    if "classification" in data or not classification.is_public:
        shown.setdefault("classification", classification.as_dict())  # the governing one, if none of its own
        shown["redacted"] = redacted
    return shown


def micros(moment: datetime) -> int:
    """A recording time as microseconds since the epoch: exact, and ordered by instant in any database."""
    return (moment - EPOCH) // timedelta(microseconds=1)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- the stored log with its positions -------------------------------------------------------------------


class EventLog:
    """The stored events with their log positions. Filters on the aggregate and the event type go into SQL
    where the store is a database (the aggregate's primary key and the position index serve them); the
    in-memory store of the tests is scanned instead."""

    def __init__(self, app: Coordination, sql: Store) -> None:
        self.app = app
        self.recorder = app.recorder
        datastore = getattr(app.factory, "datastore", None)
        table = getattr(self.recorder, "events_table_name", None)
        self.sql = sql if datastore is not None and sql.datastore is datastore and table else None
        if self.sql is not None and sql.dialect == "sqlite":
            self.table, self.position = table, "rowid"
        elif self.sql is not None:
            self.table, self.position = f'"{datastore.schema}"."{table}"', "notification_id"
            self.uuid_ids = getattr(datastore, "originator_id_type", "uuid") == "uuid"

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def decode(self, notification: Notification) -> Any:
        return self.app.mapper.to_domain_event(notification)

    def select(
        self,
        *,
        after: int,
        limit: int,
        stop: int | None = None,
        originators: Sequence[UUID] = (),
        topics: Sequence[str] = (),
    ) -> list[Notification]:
        """Up to `limit` notifications after position `after` (up to `stop`), of those aggregates and topics."""
        if self.sql is None:
            return self._scan_select(after, limit, stop, originators, topics)
        where, params = [f"{self.position} > %s"], [after]
        if stop is not None:
            where.append(f"{self.position} <= %s")
            params.append(stop)
        for column, values in (("originator_id", [self._id(o) for o in originators]), ("topic", list(topics))):
            if not values:
                continue
            if self.sql.dialect == "sqlite":
                where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
                params.extend(values)
            else:
                where.append(f"{column} = ANY(%s)")
                params.append(values)
        rows = self.sql.query(
            f"SELECT {self.position} AS position, originator_id, originator_version, topic, state FROM {self.table}"
            f" WHERE {' AND '.join(where)} ORDER BY {self.position} LIMIT %s",
            (*params, limit),
        )
        return [
            Notification(
                id=int(r["position"]),
                originator_id=r["originator_id"] if isinstance(r["originator_id"], UUID) else UUID(str(r["originator_id"])),
                originator_version=int(r["originator_version"]),
                topic=r["topic"],
                state=bytes(r["state"]),
            )
            for r in rows
        ]

    def _id(self, originator: UUID) -> Any:
        if self.sql is not None and self.sql.dialect == "sqlite":
            return originator.hex
        return originator if self.uuid_ids else str(originator)

    def _scan_select(
        self, after: int, limit: int, stop: int | None, originators: Sequence[UUID], topics: Sequence[str]
    ) -> list[Notification]:
        wanted = set(originators)
        found: list[Notification] = []
        while len(found) < limit:
            page = self.recorder.select_notifications(
                start=after + 1, limit=READ_PAGE, stop=stop, topics=list(topics)
            )
            if not page:
                break
            found += [n for n in page if not wanted or n.originator_id in wanted]
            after = page[-1].id
        return found[:limit]

    def scan(
        self, *, after: int = 0, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Iterator[list[Notification]]:
        """Pages of notifications after `after` up to `stop`, of those topics."""
        return log_pages(self.recorder, after=after, stop=stop, topics=topics, size=READ_PAGE)

    def of_aggregate(self, originator: UUID) -> list[Notification]:
        """Every stored event of one aggregate, with its log position."""
        found: list[Notification] = []
        while True:
            page = self.select(after=found[-1].id if found else 0, limit=READ_PAGE, originators=[originator])
            found += page
            if len(page) < READ_PAGE:
                return found


# --- scratch stores ---------------------------------------------------------------------------------------


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
        if image is not None:
            self.connection.deserialize(image)
        else:
            self.create(
                *(
                    f"CREATE TABLE {table} {columns}" + (" WITHOUT ROWID" if "PRIMARY KEY" in columns else "")
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
    """A scratch store with the tables of `models` (or the database `image` of a snapshot), gone after."""
    store = ScratchStore(models, image)
    try:
        yield store
    finally:
        store.close()


def apply_known(store: ScratchStore, models: Sequence[ReadModel], batch: Iterable[tuple[Notification, Any]]) -> int:
    """Apply already-filtered events to the models in one transaction (no tracking: the store is ours)."""
    applied = 0
    with store.transaction() as tx:
        for notification, event in batch:
            for model in models:
                model.apply(tx, event, notification.id)
            applied += 1
    return applied


# --- snapshots of the overview's read models --------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    position: int
    known_by: int | None  # the latest recording time (micros) of the overview's events up to `position`
    segment_start: int
    segment_first: int | None  # the earliest recording time of those in (segment_start, position]


class OverviewSnapshots:
    """Snapshots of the overview's read-model tables, taken by the follower, kept next to the events."""

    def __init__(self, event_log: EventLog, store: Store, *, every: int) -> None:
        self.log = event_log
        self.store = store
        self.every = every
        self.models = [cls() for cls in OVERVIEW_MODELS]
        self.topics = topics_of(self.models)
        self.fingerprint = hashlib.sha256(
            json.dumps([SNAPSHOT_FORMAT, [(m.name, m.shape()) for m in self.models]], sort_keys=True).encode()
        ).hexdigest()[:16]
        self._last: int | None = None
        self._taking = threading.Lock()
        blob = "BLOB" if store.dialect == "sqlite" else "BYTEA"
        store.create(
            f"CREATE TABLE IF NOT EXISTS {SNAPSHOT_TABLE} (fingerprint TEXT NOT NULL, position BIGINT NOT NULL,"
            " known_by BIGINT, segment_start BIGINT NOT NULL, segment_first BIGINT, taken_at TEXT NOT NULL,"
            f" data {blob} NOT NULL, PRIMARY KEY (fingerprint, position))"
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
            with scratch_store(self.models) as copy:
                with copy.transaction() as into:
                    for model in self.models:
                        for table in model.tables:
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
                (self.fingerprint, position, known_by, start, first, datetime.now(UTC).isoformat(), data),
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


# --- the use cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Which events of the log: all of them unless narrowed."""

    after: int = 0
    limit: int = 100
    crisis_ids: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    liaison_ids: tuple[str, ...] = ()
    aggregate_kinds: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    actor: str | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None

    def originators(self) -> list[UUID]:
        ids = [Crisis.id_for(c) for c in self.crisis_ids]
        ids += [DivisionPreparedness.id_for(u) for u in self.units]
        ids += [PoliceLiaison.id_for(i) for i in self.liaison_ids]
        return ids

    def topics(self) -> list[str]:
        for kind in self.aggregate_kinds:
            if kind not in AGGREGATE_KINDS:
                raise DomainError(
                    Rule.INVALID_INPUT, f"aggregate kind {kind!r} is not one of {', '.join(AGGREGATE_KINDS)}"
                )
        chosen = {
            topic for name, (kind, topic) in EVENT_TYPES.items()
            if (not self.aggregate_kinds or kind in self.aggregate_kinds)
            and (not self.event_types or name in self.event_types or name.split(".", 1)[1] in self.event_types)
        }
        unknown = [t for t in self.event_types if t not in EVENT_TYPES and not any(
            name.split(".", 1)[1] == t for name in EVENT_TYPES
        )]
        if unknown:
            raise DomainError(
                Rule.INVALID_INPUT,
                f"no event type {', '.join(unknown)}; the types are {', '.join(sorted(EVENT_TYPES))}",
            )
        if (self.aggregate_kinds or self.event_types) and not chosen:
            raise DomainError(Rule.INVALID_INPUT, "no event type is of that aggregate kind")
        return sorted(chosen) if (self.aggregate_kinds or self.event_types) else []

    def matches(self, event: Any) -> bool:
        if self.actor is not None and getattr(event, "actor", None) != self.actor:
            return False
        if self.recorded_from is not None and event.recorded_at < self.recorded_from:
            return False
        return self.recorded_to is None or event.recorded_at <= self.recorded_to

    @property
    def decodes_to_filter(self) -> bool:
        return self.actor is not None or self.recorded_from is not None or self.recorded_to is not None


@dataclass
class Basis:
    """What an as-of answer was computed from, for the auditor to see."""

    as_of: datetime
    log_position: int
    snapshot_position: int | None = None
    events_read: int = 0
    events_applied: int = 0
    full_replay: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": display(self.as_of, seconds=True),
            "known_by": "events recorded at or before as_of",
            "log_position": self.log_position,
            "snapshot_position": self.snapshot_position,
            "events_read": self.events_read,
            "events_applied": self.events_applied,
            "full_replay": self.full_replay,
        }


@dataclass(frozen=True)
class AggregateAt:
    """An aggregate as it was, and the moment its time-derived facts are computed for."""

    aggregate: Any
    version: int
    version_recorded_at: datetime
    at: datetime
    latest_version: int


class History:
    """The auditors' reads of history. Every read is the auditor's alone (FORBIDDEN_ROLE otherwise)."""

    def __init__(self, app: Coordination, sql: Store, projections: Any = None, *, snapshot_every: int = 5000) -> None:
        self.app = app
        self.log = EventLog(app, sql)
        self.snapshots = OverviewSnapshots(self.log, sql, every=snapshot_every)
        self.overview_models = [cls() for cls in OVERVIEW_MODELS]
        self.crisis_models = [cls() for cls in CRISIS_MODELS]
        if projections is not None and snapshot_every > 0:
            projections.listeners.append(self.snapshots.after_batch)

    # -- the event log ------------------------------------------------------------------------------------

    def list_events(self, actor: Actor, wanted: EventFilter = EventFilter()) -> dict[str, Any]:
        """A page of the log in position order. Filters on actor and time read at most SCAN_BUDGET stored
        events per page: a page may then hold fewer items than asked while `end_of_log` is false; go on from
        `next_after`."""
        require_auditor(actor, "read the event log")
        if not 1 <= wanted.limit <= MAX_PAGE:
            raise DomainError(Rule.INVALID_INPUT, f"limit must be between 1 and {MAX_PAGE}")
        end = self.log.last_position()
        originators, topics = wanted.originators(), wanted.topics()
        names = self.app.policy.units.short_names
        items: list[dict[str, Any]] = []
        classifier = Classifier(self.app.repository)
        reached = wanted.after
        budget = SCAN_BUDGET
        exhausted = False
        while len(items) < wanted.limit and budget > 0:
            size = min(READ_PAGE, budget) if wanted.decodes_to_filter else wanted.limit - len(items)
            page = self.log.select(after=reached, limit=size, stop=end, originators=originators, topics=topics)
            budget -= len(page)
            for notification in page:
                reached = notification.id
                event = self.log.decode(notification)
                if wanted.matches(event):
                    items.append(self._item(notification, event, classifier(event), actor.clearance, names))
                    if len(items) == wanted.limit:
                        break
            if len(page) < size:
                exhausted = True
                break
        if exhausted and len(items) < wanted.limit:
            reached = max(reached, end)
        return {
            "items": items,
            "next_after": reached,
            "end_of_log": reached >= end,
            "log_position": end,
        }

    @staticmethod
    def _item(
        notification: Notification, event: Any, classification: Classification, cleared: bool, names: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "position": notification.id,
            "aggregate_kind": KIND_OF_TOPIC.get(notification.topic),
            "aggregate_id": natural_id(event),
            "version": notification.originator_version,
            "type": NAME_OF_TOPIC.get(notification.topic, notification.topic),
            "actor": getattr(event, "actor", None),
            "recorded_at": in_helsinki(event.recorded_at).isoformat(),
            "data": event_data(event, classification, cleared, names),
        }

    # -- aggregates as they were ----------------------------------------------------------------------------

    def _aggregate_at(
        self, aggregate_id: UUID, label: str, version: int | None, as_of: datetime | None
    ) -> AggregateAt:
        if (version is None) == (as_of is None):
            raise DomainError(Rule.INVALID_INPUT, "give either version=N or as_of=<time with offset>, not both")
        events = list(self.app.events.get(aggregate_id))
        if not events:
            raise DomainError(Rule.NOT_FOUND, f"there is no {label}")
        latest = events[-1].originator_version
        if version is not None:
            chosen = next((e for e in events if e.originator_version == version), None)
            if chosen is None:
                raise DomainError(Rule.NOT_FOUND, f"{label} has versions 1–{latest}, not {version}")
            at = chosen.recorded_at
        else:
            known = [e for e in events if e.recorded_at <= as_of]
            if not known:
                raise DomainError(
                    Rule.NOT_FOUND,
                    f"{label} was first recorded at {display(events[0].recorded_at, seconds=True)}, "
                    f"after {display(as_of, seconds=True)}",
                )
            chosen = max(known, key=lambda e: e.originator_version)
            at = as_of
        try:
            aggregate = self.app.repository.get(aggregate_id, version=chosen.originator_version)
        except AggregateNotFoundError:  # pragma: no cover - the events were just read
            raise DomainError(Rule.NOT_FOUND, f"there is no {label}") from None
        return AggregateAt(aggregate, chosen.originator_version, chosen.recorded_at, at, latest)

    def get_crisis_at(
        self, actor: Actor, crisis_id: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        require_auditor(actor, "read a crisis as it was")
        return self._aggregate_at(Crisis.id_for(crisis_id), f"crisis {crisis_id}", version, as_of)

    def get_division_preparedness_at(
        self, actor: Actor, unit: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        require_auditor(actor, "read a unit's preparedness as it was")
        return self._aggregate_at(
            DivisionPreparedness.id_for(unit), f"preparedness record for {unit}", version, as_of
        )

    def get_police_liaison_at(
        self, actor: Actor, liaison_id: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        require_auditor(actor, "read a police liaison as it was")
        return self._aggregate_at(PoliceLiaison.id_for(liaison_id), f"police liaison {liaison_id}", version, as_of)

    # -- the live picture as it was known -------------------------------------------------------------------

    @contextmanager
    def _overview_known_at(self, at: datetime, full_replay: bool = False) -> Iterator[tuple[ScratchStore, Basis]]:
        """A scratch store holding the overview's read models as they stood with the events recorded by `at`."""
        stop = self.log.last_position()
        basis = Basis(at, stop, full_replay=full_replay)
        snapshot = None if full_replay else self.snapshots.known_by(at, stop)
        image = self.snapshots.image(snapshot) if snapshot is not None else None
        with scratch_store(self.overview_models, image) as store:
            if snapshot is not None:
                basis.snapshot_position = snapshot.position
            after = snapshot.position if snapshot else 0
            ranges = [(after, stop)] if full_replay else self.snapshots.ranges_to_read(after, stop, at)
            topics = self.snapshots.topics
            for gt, lte in ranges:
                for page in self.log.scan(after=gt, stop=lte, topics=topics):
                    basis.events_read += len(page)
                    decoded = ((n, self.log.decode(n)) for n in page)
                    known = [(n, e) for n, e in decoded if e.recorded_at <= at]
                    basis.events_applied += apply_known(store, self.overview_models, known)
            yield store, basis

    def get_situation_overview_at(self, actor: Actor, at: datetime, *, full_replay: bool = False) -> dict[str, Any]:
        require_auditor(actor, "read the situation overview as it was known")
        with self._overview_known_at(at, full_replay) as (store, basis):
            picture = situation_overview.overview(store, at, actor.clearance, self.app.policy)
        return {**picture, "history": basis.as_dict()}

    def get_readiness_board_at(self, actor: Actor, at: datetime, *, full_replay: bool = False) -> dict[str, Any]:
        require_auditor(actor, "read the readiness board as it was known")
        with self._overview_known_at(at, full_replay) as (store, basis):
            board = readiness_board.board(store, at, actor.clearance, self.app.policy)
        return {**board, "history": basis.as_dict()}

    def get_police_liaison_board_at(
        self, actor: Actor, at: datetime, *, full_replay: bool = False
    ) -> dict[str, Any]:
        require_auditor(actor, "read the police liaison board as it was known")
        with self._overview_known_at(at, full_replay) as (store, basis):
            board = police_liaison_board.board(store, at, actor.clearance, self.app.policy)
        return {**board, "history": basis.as_dict()}

    @contextmanager
    def _crisis_known_at(self, crisis_id: str, at: datetime) -> Iterator[tuple[ScratchStore, Basis]]:
        """A scratch store with the crisis's timeline and decision log from its events recorded by `at`."""
        notifications = self.log.of_aggregate(Crisis.id_for(crisis_id))
        if not notifications:
            raise DomainError(Rule.NOT_FOUND, f"there is no crisis {crisis_id}")
        decoded = [(n, self.log.decode(n)) for n in notifications]
        known = [(n, e) for n, e in decoded if e.recorded_at <= at]
        if not known:
            raise DomainError(
                Rule.NOT_FOUND,
                f"crisis {crisis_id} was first recorded at {display(decoded[0][1].recorded_at, seconds=True)}, "
                f"after {display(at, seconds=True)}",
            )
        basis = Basis(at, self.log.last_position(), events_read=len(decoded), full_replay=True)
        with scratch_store(self.crisis_models) as store:
            basis.events_applied = apply_known(store, self.crisis_models, known)
            yield store, basis

    def get_crisis_timeline_at(self, actor: Actor, crisis_id: str, at: datetime) -> dict[str, Any]:
        require_auditor(actor, "read a crisis timeline as it was known")
        with self._crisis_known_at(crisis_id, at) as (store, basis):
            timeline = crisis_timeline.timeline(store, crisis_id, at, actor.clearance, self.app.policy)
        return {**timeline, "history": basis.as_dict()}

    def get_decision_log_at(self, actor: Actor, crisis_id: str, at: datetime) -> dict[str, Any]:
        require_auditor(actor, "read a decision log as it was known")
        with self._crisis_known_at(crisis_id, at) as (store, basis):
            decisions = decision_log.decision_log(store, crisis_id, at, actor.clearance, self.app.policy)
        return {**decisions, "history": basis.as_dict()}
