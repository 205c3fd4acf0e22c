"""Following the event log into the read models and the other followers bootstrap hands in.

`Projections` keeps every read model up to date with the log: it reads new notifications in batches, decodes
each once, and applies each batch to every read model, with their tracking positions, in one transaction
(see `_apply` and tracking.apply_locked). It is woken by:

- the process's own writes (the Coordination's listeners), which is all the embedded SQLite default needs
  since the library offers no SQLite subscription; a slow poll catches writes of other processes (the CLI);
- on PostgreSQL, the store's own notifications, heard through the Listener bootstrap hands in
  (infrastructure.postgres_listen): every write announces itself when it commits, so a separate worker process
  follows the writes of every API process. Each batch the follower commits is announced in turn, which other
  processes (the live overview of every API process) can `watch`.

A read model that fails on an event (a bug in its handler, a row its tables refuse) stops alone: the batch is
applied again to each model in a transaction of its own, and the failing model's batch is halved until the
event it fails on is found. Its position stays before that event, the failure (position, error) is kept in
the store next to the positions, where every process sees it (`failures`, /health/ready, the dashboard), and
the model is tried again with backoff: a transient error heals by itself, a deterministic one stays reported
until a fixed version resumes the model at that event and applies it exactly once. The other read models go
on meanwhile. A store that does not answer at all is no read model's failure: the whole follower backs off.

Failures (a store out of reach among them) are logged and retried with capped, jittered backoff
(application.backoff); the position is in the store, so a restarted follower resumes exactly where the last
committed batch left it.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.backoff import doubling, retry_delay
from application.ports import Listener, Store
from application.projections.crisis_timeline import CrisisTimeline
from application.projections.decision_log import DecisionLog
from application.projections.district_overview import DistrictOverview
from application.projections.after_action_items import AfterActionItems
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.public_warning_register import PublicWarningRegister
from application.projections.deadlines import Deadlines
from application.projections.queries import MADE_OF, Queries
from application.projections.read_model import ReadModel
from application.projections.readiness_board import ReadinessBoard
from application.projections.received_alert import ReceivedAlertWatchList
from application.projections.situation_overview import SituationOverview
from application.projections.tracking import (
    FAILURES_TABLE,
    TRACKING_TABLE,
    Failure,
    Recorded,
    apply_locked,
    lock_positions,
    lock_tracking,
    positions,
    prepare,
    topics_of,
)
from domain.shared import DomainError, Rule

if TYPE_CHECKING:
    from application.coordination import Coordination

log = logging.getLogger("valmius.projections")

# The read models of the situation picture. Bootstrap hands them to Projections with the other followers (the
# audit hash chain).
READ_MODELS: tuple[type[ReadModel], ...] = (
    SituationOverview,
    CrisisTimeline,
    ReadinessBoard,
    PoliceLiaisonBoard,
    DecisionLog,
    DistrictOverview,
    AfterActionItems,
    ReceivedAlertWatchList,
    PublicWarningRegister,
    Deadlines,
)

TAIL_BATCH = 2000  # a rebuild's last batches (see _write_behind)
RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS = 1.0, 60.0  # a failed read model is tried again after 1, 2, 4 … 60 s
MAX_WAIT_SECONDS = 10.0


class Moved(Exception):
    """A read model is not where this process's rebuild left it: another process applied or reset it."""


class HandOver(Exception):
    """A rebuild written behind met something out of the ordinary: `catch_up` goes on (its cause says why)."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector seldom, for a rebuild: it allocates millions of short-lived objects
    (decoded events, rows) and no cycles worth collecting, and the collector's default of a pass per 700
    allocations took a tenth of its time. The process's thresholds as before afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def forget_failures(tx: Any, names: list[str], last: int) -> None:
    """A failure a model has moved past (to `last`) is over: kept by any process, see Projections._record_failure."""
    marks = ", ".join(["%s"] * len(names))
    tx.execute(f"DELETE FROM {FAILURES_TABLE} WHERE position <= %s AND view IN ({marks})", (last, *names))


def describe(error: BaseException) -> str:
    """An error in one line: its kind and the first line of its message (a database error's DETAIL, which may
    quote a row's content, is left out)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:500]


class Projections(Queries):
    """Follows the log into `followers` (read models and the audit chain), woken by `listener` where the store
    announces other processes' writes (PostgreSQL), and answers the reads of the picture (Queries)."""

    def __init__(
        self,
        app: Coordination,
        store: Store,
        followers: Iterable[ReadModel],
        *,
        listener: Listener | None = None,
        batch_size: int = 500,
        rebuild_batch_size: int = 20_000,
        poll_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self.store = store
        self.batch_size = batch_size
        self.rebuild_batch_size = rebuild_batch_size  # a rebuild writes fewer, larger transactions
        self.poll_seconds = poll_seconds
        self.listener = listener
        self.models: dict[str, ReadModel] = {model.name: model for model in followers}
        prepare(store, self.models.values())
        self._shapes = {name: model.shape() for name, model in self.models.items()}
        self._foreign: set[str] = set()  # models another version of Valmius has taken over (see _leave)
        self._wake = threading.Event()
        self._advanced = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[int], None]] = []
        self._tracked: dict[str, int] = {}  # the models' positions after this process's last batch (a hint)
        self._failed: dict[str, Failure] = {}  # models this process found failing: followed apart, tried again
        self._retry: dict[str, tuple[float, int]] = {}  # a failed model -> (monotonic time of its next try, tries)
        self._times: dict[tuple[int, bool], datetime | None] = {}  # see Queries._event_time
        app.listeners.append(lambda position: self._wake.set())

    # --- following -----------------------------------------------------------------------------------

    def position(self, name: str | None = None) -> int:
        """How far every read model (or the named one) has applied the log."""
        return self._lowest([name] if name else self.models)

    def read_position(self, name: str | None = None) -> int:
        """How far a read of `name` reflects the log: the lowest position of the models it is made of."""
        return self._lowest(MADE_OF.get(name, (name,)) if name else self.models)

    def _lowest(self, names: Iterable[str]) -> int:
        known = positions(self.store)
        return min(known.get(n, 0) for n in names)

    def catch_up(
        self,
        models: list[ReadModel] | None = None,
        progress: Callable[[int], None] | None = None,
        batch_size: int | None = None,
        *,
        durable: bool = True,
    ) -> int:
        """Apply everything stored so far; returns how far the models moved (notifications). Each batch is read
        and decoded once and applied to every model in one transaction (see `_apply`).

        When none of the models needs every event (the audit chain does), only the events of their topics are
        read: a rebuild of one read model reads a part of the log. A batch short of `batch_size` then covers the
        log up to its end as it stood when the catch-up began (`head`), and the models' positions move there:
        notification ids are given in commit order (the store serialises its writers), so every notification
        up to `head` was visible to the read. (The read has no upper bound: with one, PostgreSQL may plan to
        sort the whole rest of the log for every batch.)

        `durable=False` (a rebuild's) commits each batch without waiting for it to reach the disk (see
        `_apply`)."""
        models = [m for m in models or self._healthy() if m.name not in self._foreign]
        if not models:
            return 0
        batch_size = batch_size or self.batch_size
        topics = topics_of(models)
        head = (self.app.recorder.max_notification_id() or 0) if topics is not None else 0
        known = self._tracked if all(m.name in self._tracked for m in models) else positions(self.store)
        start = min(known.get(m.name, 0) for m in models) + 1
        moved = 0
        while True:
            notifications = self.app.recorder.select_notifications(start=start, limit=batch_size, topics=topics or ())
            full = len(notifications) == batch_size
            last = notifications[-1].id if notifications else 0
            if not full:
                last = max(last, head)
            if last < start:
                return moved  # nothing new
            try:
                reached = self._apply(models, notifications, after=start - 1, last=last, durable=durable)
            except Exception as error:
                reached = self._isolate(models, notifications, start - 1, last, error, durable)
                models = [m for m in models if m.name not in self._failed]
            moved += last - start + 1
            if progress:
                progress(last - start + 1)
            self._announce(last)
            if not models or (reached >= last and not full):
                return moved  # the end of the log as it stood; the next write wakes the follower again
            start = reached + 1

    def _healthy(self) -> list[ReadModel]:
        return [m for m in self.models.values() if m.name not in self._failed]  # (another thread may add one)

    def _apply(
        self, models: list[ReadModel], notifications: Sequence[Any], after: int, last: int, durable: bool = True
    ) -> int:
        """Apply `notifications` (every one of the models' topics after `after`, up to `last`) to every model in
        ONE transaction: all the models' tracking rows are taken first, and each model applies only the events
        after its own position. A model found behind `after` (emptied by a rebuild since the batch was read) is
        left for a later round: applying the batch would skip the notifications in between for good. Returns
        the lowest position of the models afterwards.

        One transaction for all models, rather than one per model, is one commit and one pool checkout per
        batch instead of one per model; on PostgreSQL its statements are sent in bulk, and its commit announced
        to `watch`ers (Store.batch_transaction).

        Not `durable` (a rebuild's batches), PostgreSQL commits it without waiting for its WAL to reach the disk
        (synchronous_commit off, for this transaction only). A crash of the server may then lose the last such
        batches, but only whole ones, in commit order: their rows go with the tracking position that moves
        past them, so the rebuild resumes after the last batch that survived, each event still applied once.
        (The rebuild's first transaction, which empties the models, stays durable.)"""
        try:
            with self.store.batch_transaction() as tx:
                if not durable and self.store.dialect == "postgres":
                    tx.execute("SET LOCAL synchronous_commit = off")
                tracked = lock_tracking(tx, [m.name for m in models], self.store.dialect)
                known = {name: position for name, (position, _) in tracked.items()}
                for model in models:
                    shape = tracked[model.name][1]
                    if shape is not None and shape != self._shapes[model.name]:
                        self._leave(model, shape)
                        del known[model.name]
                ready = [(m, known[m.name]) for m in models if m.name in known and known[m.name] >= after]
                apply_locked(tx, ready, notifications, self.app.mapper.to_domain_event, last)
                for model, position in ready:
                    known[model.name] = max(position, last)
                if ready:
                    forget_failures(tx, [m.name for m, _ in ready], last)
        except BaseException:
            for model in models:  # what they remembered of the batch is not in their tables: applied again, it
                model.forget()  # must not be found (a later draft's texts taken for the one issued)
            raise
        self._tracked.update(known)
        for model, _ in ready:
            failure = self._failed.get(model.name)
            if failure is not None and last >= failure.position:
                del self._failed[model.name]
                self._retry.pop(model.name, None)
                log.warning("read model %s applied the event at position %d it failed on; it follows the log again",
                            model.name, failure.position)
        return min(known.values(), default=last)

    def _isolate(self, models: list[ReadModel], notifications: Sequence[Any], after: int, last: int,
                 error: Exception, durable: bool = True) -> int:
        """The batch failed for all the models together: apply it to each in a transaction of its own, and stop
        each one that fails at the event it fails on (see `_find_failure`), so that the others go on. A store
        that does not answer is no read model's failure: `error` is raised again, and the follower backs off.
        Returns the lowest position of the models that did not fail."""
        try:
            self.store.query(f"SELECT count(*) AS n FROM {TRACKING_TABLE}")
        except Exception:
            raise error from None
        log.warning("a batch failed for the read models together (%s); applying it to each alone", describe(error))
        reached: list[int] = []
        for model in models:
            failed = error
            if len(models) > 1:
                try:
                    reached.append(self._apply([model], notifications, after, last, durable))
                    continue
                except Exception as alone:
                    failed = alone  # this is (one of) the failing model(s): find the event
            position = self._find_failure(model, notifications, after, last, failed, durable)
            if model.name not in self._failed:
                reached.append(position)
        return min(reached, default=last)

    def _find_failure(
        self, model: ReadModel, notifications: Sequence[Any], after: int, last: int, failed: Exception,
        durable: bool = True,
    ) -> int:
        """The batch failed for `model` alone (with `failed`): apply it again, halving what is applied at once
        until the one event it fails on is found (a dozen transactions for a batch of 500): the events before it
        are applied, its position stays before it, and the failure is recorded. Returns the model's position."""
        pending = [n for n in notifications if n.id > after]
        known = self._failed.get(model.name)
        position, whole_failed = after, True
        while pending:
            chunk = pending
            if known is not None:  # tried again: the event it failed on first
                chunk = [n for n in pending if n.id <= known.position] or pending
            elif whole_failed and len(pending) == 1:
                self._record_failure(model, pending[0].id, failed)
                return position
            elif whole_failed:
                chunk = pending[: len(pending) // 2]
            known, whole_failed = None, False
            while True:
                try:
                    position = self._apply(
                        [model], chunk, position, last if chunk is pending else chunk[-1].id, durable
                    )
                    break
                except Exception as error:
                    if len(chunk) == 1:
                        self._record_failure(model, chunk[0].id, error)
                        return position
                    chunk = chunk[: len(chunk) // 2]
            pending = pending[len(chunk):]
        return position

    def _record_failure(self, model: ReadModel, position: int, error: Exception) -> None:
        """Keep the failure in the store, where every process sees it (/health/ready of every API process, the
        dashboard, `valmius rebuild`), log it, and set when the model is tried again: after 1, 2, 4 … 60 s."""
        text = describe(error)
        now = self.app.now().isoformat()
        with self.store.transaction() as tx:
            tx.execute(f"SELECT position, failed_at, attempts FROM {FAILURES_TABLE} WHERE view = %s", (model.name,))
            rows = tx.fetchall()
            again = bool(rows) and int(rows[0]["position"]) == position
            failed_at = rows[0]["failed_at"] if again else now
            attempts = int(rows[0]["attempts"]) + 1 if again else 1
            tx.execute(  # an upsert: two followers (processes) may record the same failure at once
                f"INSERT INTO {FAILURES_TABLE} (view, position, error, failed_at, attempts)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (view) DO UPDATE SET position = excluded.position,"
                " error = excluded.error, failed_at = excluded.failed_at, attempts = excluded.attempts",
                (model.name, position, text, failed_at, attempts),
            )
        self._failed[model.name] = Failure(model.name, position, text, failed_at, attempts)
        tries = self._retry.get(model.name, (0.0, 0))[1]
        backoff = doubling(tries, RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS)
        self._retry[model.name] = (time.monotonic() + backoff, tries + 1)
        message = "read model %s fails on the event at position %d (attempt %d); it stops there, the others go on; " \
                  "trying it again in %.0f s"
        if attempts == 1:
            log.error(message, model.name, position, attempts, backoff, exc_info=error)
        else:
            log.warning(message + ": %s", model.name, position, attempts, backoff, text)

    def _retry_failed(self) -> None:
        """Try again each failed model whose time has come, alone: its batch starts at the event it failed on."""
        now = time.monotonic()
        for name in [name for name, (at, _) in list(self._retry.items()) if at <= now and name in self._failed]:
            self.catch_up([self.models[name]])

    def _load_failures(self) -> None:
        """The failures the store keeps (this follower's predecessor's): tried again at once."""
        for name, (_, failure) in self.status().items():
            if failure is not None and name not in self._foreign and name not in self._failed:
                self._failed[name] = failure
                self._retry[name] = (time.monotonic(), 0)

    def _leave(self, model: ReadModel, shape: str) -> None:
        """Stop following a read model whose rows are stored in another shape than this process writes: a
        process of another version of Valmius reset it (see tracking.prepare) and rebuilds it. Applying this
        process's events would mix rows of two versions, and so would reading it again from the start."""
        self._foreign.add(model.name)
        log.error(
            "read model %s is stored in shape %s, this process writes %s: another version of Valmius runs on this "
            "store; this process no longer follows it (stop it, or upgrade it)", model.name, shape,
            self._shapes[model.name],
        )

    def _announce(self, position: int) -> None:
        with self._advanced:
            self._advanced.notify_all()
        for listener in self.listeners:
            listener(position)

    def follow(self, stop: threading.Event) -> None:
        """Follow the log until `stop` is set, surviving failures with backoff."""
        failures = 0
        self._tracked.clear()  # read the positions afresh: another follower may have run meanwhile
        subscription = self._subscribe(stop)
        loaded = False
        while not stop.is_set():
            try:
                if not loaded:
                    self._load_failures()
                    loaded = True
                self._retry_failed()
                self.catch_up()
                failures = 0
            except Exception as error:
                self._tracked.clear()
                delay = retry_delay(failures)
                log.warning("projection batch failed (%s); next attempt in %.1f s", error, delay, exc_info=not failures)
                failures += 1
                stop.wait(delay)
                continue
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        if subscription is not None:
            subscription.stop()

    def _subscribe(self, stop: threading.Event) -> Any:
        """Wake the follower at every write of any process: through the listener where the store announces
        its writes (PostgreSQL), else through the library's subscription where the store has one; SQLite has
        neither (woken by this process's writes, and a poll)."""
        if self.listener is not None and self.listener.watch_events(stop, self._wake.set):
            return None
        try:
            subscription = self.app.recorder.subscribe(gt=self.app.recorder.max_notification_id())
        except NotImplementedError:
            return None

        def listen() -> None:
            try:
                for _ in subscription:
                    self._wake.set()
                    if stop.is_set():
                        break
            except Exception:
                if not stop.is_set():
                    log.exception("store subscription ended; falling back to polling")

        threading.Thread(target=listen, name="valmius-subscription", daemon=True).start()
        return subscription

    def watch(self, stop: threading.Event, callback: Callable[[], None]) -> bool:
        """Call `callback`, from a thread of its own, at every batch a follower of any process commits, until
        `stop` is set; also once it listens, for what was committed before. False where the store announces
        nothing (SQLite: this process's own follower announces its batches through `listeners`)."""
        return self.listener is not None and self.listener.watch(stop, callback)

    def start(self) -> None:
        """Follow the log in a background thread of this process (the embedded default)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.follow, args=(self._stop,), name="valmius-projections", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_for(self, position: int, timeout: float, name: str | None = None) -> bool:
        """Block until every read model (or those a read of `name` is made of) has applied `position`, for at
        most `timeout` seconds."""
        deadline = time.monotonic() + min(timeout, MAX_WAIT_SECONDS)
        while self.read_position(name) < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._advanced:
                self._advanced.wait(min(remaining, 0.05))
        return True

    def rebuild(self, *names: str, progress: Callable[[int], None] | None = None) -> int:
        """Empty the named read models (every one that may be rebuilt, when none is named) and apply the whole
        log to them again, in one pass: the events of their topics are read and decoded once for all of them.
        A model that fails on an event stops there and the others are rebuilt (see `failures`). Returns how
        many notifications of the log the rebuild covered."""
        unknown = [name for name in names if name not in self.models]
        if unknown:
            rebuildable = ", ".join(name for name, model in self.models.items() if model.rebuildable)
            raise DomainError(Rule.NOT_FOUND, "no read model {unknown!r}; there are {rebuildable}", {"unknown": unknown[0], "rebuildable": rebuildable})
        models = (
            [self.models[name] for name in dict.fromkeys(names)]
            if names
            else [m for m in self.models.values() if m.rebuildable]
        )
        with self.store.transaction() as tx:
            lock_positions(tx, [m.name for m in models], self.store.dialect)
            for model in models:
                model.clear(tx, self.store.dialect)
                tx.execute(f"UPDATE {TRACKING_TABLE} SET position = 0 WHERE view = %s", (model.name,))
                tx.execute(f"DELETE FROM {FAILURES_TABLE} WHERE view = %s", (model.name,))
        for model in models:
            self._tracked.pop(model.name, None)
            self._failed.pop(model.name, None)
            self._retry.pop(model.name, None)
        log.info("rebuilding read models %s from the start of the log", ", ".join(m.name for m in models))
        batch_size = max(self.batch_size, self.rebuild_batch_size)
        with fewer_collections():
            if self.store.dialect == "postgres":
                return self._write_behind(models, progress, batch_size)
            return self.catch_up(models, progress, batch_size, durable=False)

    def _write_behind(self, models: list[ReadModel], progress: Callable[[int], None] | None, batch_size: int) -> int:
        """A rebuild's pass on PostgreSQL: each batch is applied (in memory) while the batch before is written by a
        thread of its own, so that the server's part of the writes (the COPY, its indexes, the commit) overlaps
        this process's reading, decoding and applying, instead of each waiting for the other (a third of a
        rebuild's time when they took turns). Each batch's transaction takes the tracking rows and finds every
        model where the batch before left it, or is rolled back (see `_write`).

        Anything out of the ordinary (a handler that reads its tables, which the batch before may not be in yet;
        a model or a write that fails; another process that moved a model) waits for the writer and hands over
        to `catch_up`, which goes on from the positions the store holds, with what the models remembered of the
        batches not written forgotten: each event is still applied once, and a failing model is stopped alone.
        (What `progress` raises ends the rebuild, as in `catch_up`.) Returns how many notifications it covered."""
        models = [m for m in models if m.name not in self._foreign]
        if not models:
            return 0
        moved = 0
        with ThreadPoolExecutor(1, thread_name_prefix="valmius-rebuild-writer") as writer:
            try:
                for batch in self._batches_written(models, batch_size, writer):
                    moved += self._written(models, batch, progress)
                return moved
            except HandOver as handover:
                log.info("the rebuild goes on a batch at a time from position %d (%s)",
                         min(self._tracked.get(m.name, 0) for m in models), describe(handover.__cause__ or handover))
        for model in models:
            model.forget()
            self._tracked.pop(model.name, None)
        return moved + self.catch_up(models, progress, batch_size, durable=False)

    def _batches_written(self, models: list[ReadModel], batch_size: int, writer: ThreadPoolExecutor) -> Iterator[tuple[int, int]]:
        """Each batch applied here and written by `writer` while the next is applied: (after, last) of each once
        it is committed, in order. The last batches are smaller, so that little is left to write at the end. Any
        failure: the batch being written waited for (and given, if it was committed), then HandOver."""
        topics = topics_of(models) or ()
        head = self.app.recorder.max_notification_id() or 0
        start, writing = 1, None
        try:
            while True:
                size = min(batch_size, max((head - start) // 3, TAIL_BATCH))
                notifications = self.app.recorder.select_notifications(start=start, limit=size, topics=topics)
                full = len(notifications) == size
                last = notifications[-1].id if notifications else 0
                if not full:
                    last = max(last, head)
                if last < start:
                    break
                batch = Recorded()
                apply_locked(batch, [(m, start - 1) for m in models], notifications, self.app.mapper.to_domain_event, last)
                if writing is not None:
                    done, writing = writing.result(), None
                    yield done
                writing = writer.submit(self._write, models, batch, start - 1, last)
                start = last + 1
                if not full:
                    break
            if writing is not None:
                done, writing = writing.result(), None
                yield done
        except Exception as error:
            if writing is not None and writing.exception() is None:
                yield writing.result()
            raise HandOver from error

    def _write(self, models: list[ReadModel], batch: Recorded, after: int, last: int) -> tuple[int, int]:
        """Write a batch `_write_behind` applied in memory, in a transaction that first takes the models' tracking
        rows and finds each where the batch before left it (`after`) in the shape this process writes, else
        rolls back (Moved). Not durable: see `_apply`."""
        names = [m.name for m in models]
        with self.store.batch_transaction() as tx:
            tx.execute("SET LOCAL synchronous_commit = off")
            tracked = lock_tracking(tx, names, self.store.dialect)
            moved = [n for n in names if tracked[n][0] != after or tracked[n][1] not in (None, self._shapes[n])]
            if moved:
                raise Moved(f"read model {moved[0]} is not where this rebuild left it (another process moved it)")
            batch.replay(tx)
            forget_failures(tx, names, last)
        return after, last

    def _written(self, models: list[ReadModel], batch: tuple[int, int], progress: Callable[[int], None] | None) -> int:
        """A batch `_write` committed: the models' positions, the progress, the watchers told."""
        after, last = batch
        self._tracked.update(dict.fromkeys((m.name for m in models), last))
        if progress:
            progress(last - after)
        self._announce(last)
        return last - after
