"""Following the event log into the read models, and reading them.

`Projections` keeps every read model up to date with the log: it reads new notifications in batches, decodes
each once, and applies each batch to every read model, with their tracking positions, in one transaction
(see `_apply` and base.apply_locked). It is woken by:

- the process's own writes (the Coordination's listeners), which is all the embedded SQLite default needs
  since the library offers no SQLite subscription; a slow poll catches writes of other processes (the CLI);
- on PostgreSQL, the store's own notifications: every write NOTIFYs the events table's channel when it
  commits, and the follower LISTENs to it, so a separate worker process follows the writes of every API
  process. Each batch the follower commits NOTIFYs the tracking channel in turn, which other processes (the
  live overview of every API process) can `watch`.

Failures (a store out of reach among them) are logged and retried with capped, jittered backoff; the position
is in the store, so a restarted follower resumes exactly where the last committed batch left it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from application.audit.chain import AuditChain
from application.coordination import Coordination
from application.projections import crisis_timeline, decision_log, police_liaison_board, readiness_board
from application.projections import situation_overview
from application.projections.base import (
    ReadModel,
    Store,
    apply_locked,
    batch_transaction,
    lock_positions,
    lock_tracking,
    positions,
    prepare,
    topics_of,
)
from application.projections.crisis_timeline import CrisisTimeline
from application.projections.decision_log import DecisionLog
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.readiness_board import ReadinessBoard
from application.projections.situation_overview import SituationOverview
from domain.access import READS_CRISES, Actor, require_role, role_hint
from domain.shared import DomainError, Rule

log = logging.getLogger("valmius.projections")

READ_MODELS: tuple[type[ReadModel], ...] = (
    SituationOverview,
    CrisisTimeline,
    ReadinessBoard,
    PoliceLiaisonBoard,
    DecisionLog,
    AuditChain,  # the tamper-evidence hash chain: evidence, never rebuilt
)

MAX_WAIT_SECONDS = 10.0
TRACKING_CHANNEL = "valmius_tracking"  # NOTIFYed by every batch a follower commits (PostgreSQL)
RETRY_CAP_SECONDS = 3.0  # whatever waits out a lost store is working again within seconds of its return


def retry_delay(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubling from half a second, capped, with jitter (so
    processes that lost the store together do not knock on it together)."""
    return round(min(0.5 * 2**failures, RETRY_CAP_SECONDS) * random.uniform(0.5, 1.0), 2)


class Projections:
    def __init__(
        self,
        app: Coordination,
        store: Store,
        *,
        batch_size: int = 500,
        rebuild_batch_size: int = 2000,
        poll_seconds: float = 1.0,
    ) -> None:
        self.app = app
        self.store = store
        self.batch_size = batch_size
        self.rebuild_batch_size = rebuild_batch_size  # a rebuild writes fewer, larger transactions
        self.poll_seconds = poll_seconds
        self.models: dict[str, ReadModel] = {cls.name: cls() for cls in READ_MODELS}
        prepare(store, self.models.values())
        self._shapes = {name: model.shape() for name, model in self.models.items()}
        self._foreign: set[str] = set()  # models another version of Valmius has taken over (see _leave)
        self._wake = threading.Event()
        self._advanced = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[int], None]] = []
        self._tracked: dict[str, int] = {}  # the models' positions after this process's last batch (a hint)
        app.listeners.append(lambda position: self._wake.set())

    # --- following -----------------------------------------------------------------------------------

    def position(self, name: str | None = None) -> int:
        """How far every read model (or the named one) has applied the log."""
        known = positions(self.store)
        return min(known.get(n, 0) for n in ([name] if name else self.models))

    def catch_up(
        self,
        models: list[ReadModel] | None = None,
        progress: Callable[[int], None] | None = None,
        batch_size: int | None = None,
    ) -> int:
        """Apply everything stored so far; returns how far the models moved (notifications). Each batch is read
        and decoded once and applied to every model in one transaction (see `_apply`).

        When none of the models needs every event (the audit chain does), only the events of their topics are
        read: a rebuild of one read model reads a part of the log. A batch short of `batch_size` then covers the
        log up to its end as it stood when the catch-up began (`head`), and the models' positions move there:
        notification ids are given in commit order (the store serialises its writers), so every notification
        up to `head` was visible to the read. (The read has no upper bound: with one, PostgreSQL may plan to
        sort the whole rest of the log for every batch.)"""
        models = [m for m in models or self.models.values() if m.name not in self._foreign]
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
            reached = self._apply(models, notifications, after=start - 1, last=last)
            moved += last - start + 1
            if progress:
                progress(last - start + 1)
            self._announce(last)
            if reached >= last and not full:
                return moved  # the end of the log as it stood; the next write wakes the follower again
            start = reached + 1

    def _apply(self, models: list[ReadModel], notifications: list[Any], after: int, last: int) -> int:
        """Apply `notifications` (every one of the models' topics after `after`, up to `last`) to every model in
        ONE transaction: all the models' tracking rows are taken first, and each model applies only the events
        after its own position. A model found behind `after` (emptied by a rebuild since the batch was read) is
        left for a later round: applying the batch would skip the notifications in between for good. Returns
        the lowest position of the models afterwards.

        One transaction for all models, rather than one per model, is one commit and one pool checkout per
        batch instead of one per model; on PostgreSQL its statements are sent in bulk (base.batch_transaction)."""
        with batch_transaction(self.store) as tx:
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
            if self.store.dialect == "postgres":
                tx.execute(f"NOTIFY {TRACKING_CHANNEL}")  # delivered when this commits
        self._tracked.update(known)
        return min(known.values(), default=last)

    def _leave(self, model: ReadModel, shape: str) -> None:
        """Stop following a read model whose rows are stored in another shape than this process writes: a
        process of another version of Valmius reset it (see base.prepare) and rebuilds it. Applying this
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
        while not stop.is_set():
            try:
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
        """On PostgreSQL: wake the follower at every write of any process. The store NOTIFYs its channel when a
        write commits; LISTENing to it directly wakes the follower at once, where the library's subscription
        would first read the new notifications itself (a read the follower makes anyway) and hand them over
        through two more threads."""
        channel = getattr(self.app.recorder, "channel_name", None)
        if channel is not None and self.watch(stop, self._wake.set, channel=channel):
            return None
        try:
            subscription = self.app.recorder.subscribe(gt=self.app.recorder.max_notification_id())
        except NotImplementedError:
            return None  # SQLite: woken by this process's writes, and a poll

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

    def watch(self, stop: threading.Event, callback: Callable[[], None], channel: str = TRACKING_CHANNEL) -> bool:
        """Call `callback`, from a thread of its own, whenever `channel` is NOTIFYed, until `stop` is set: by
        default at every batch a follower of any process commits. Also called once it listens, for what was
        committed before. Returns False where the store has no notifications (SQLite: this process's own
        follower announces its batches through `listeners`)."""
        datastore = getattr(self.store, "datastore", None)
        if self.store.dialect != "postgres" or not hasattr(datastore, "get_connection"):
            return False
        if not channel.replace("_", "").isalnum():
            raise ValueError(f"not a channel name: {channel!r}")

        def listen() -> None:
            failures = 0
            while not stop.is_set():
                try:
                    with datastore.get_connection() as conn:
                        conn.execute(f"LISTEN {channel}")
                        try:
                            failures = 0
                            callback()
                            while not stop.is_set():
                                for _ in conn.notifies(timeout=0.5, stop_after=1):
                                    callback()
                        finally:
                            conn.execute(f"UNLISTEN {channel}")  # the connection goes back to the pool
                except Exception as error:
                    if not stop.is_set():
                        delay = retry_delay(failures)
                        log.warning("listening on %s failed (%s); next attempt in %.1f s", channel, error, delay)
                        failures += 1
                        stop.wait(delay)

        threading.Thread(target=listen, name=f"valmius-listen-{channel}", daemon=True).start()
        return True

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

    def wait_for(self, position: int, timeout: float) -> bool:
        """Block until every read model has applied `position`, for at most `timeout` seconds."""
        deadline = time.monotonic() + min(timeout, MAX_WAIT_SECONDS)
        while self.position() < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._advanced:
                self._advanced.wait(min(remaining, 0.05))
        return True

    def rebuild(self, *names: str, progress: Callable[[int], None] | None = None) -> int:
        """Empty the named read models (every one that may be rebuilt, when none is named) and apply the whole
        log to them again, in one pass: the events of their topics are read and decoded once for all of them.
        Returns how many notifications of the log the rebuild covered."""
        unknown = [name for name in names if name not in self.models]
        if unknown:
            rebuildable = ", ".join(name for name, model in self.models.items() if model.rebuildable)
            raise DomainError(Rule.NOT_FOUND, f"no read model {unknown[0]!r}; there are {rebuildable}")
        models = (
            [self.models[name] for name in dict.fromkeys(names)]
            if names
            else [m for m in self.models.values() if m.rebuildable]
        )
        with self.store.transaction() as tx:
            lock_positions(tx, [m.name for m in models], self.store.dialect)
            for model in models:
                model.clear(tx, self.store.dialect)
                tx.execute("UPDATE valmius_tracking SET position = 0 WHERE view = %s", (model.name,))
        for model in models:
            self._tracked.pop(model.name, None)
        log.info("rebuilding read models %s from the start of the log", ", ".join(m.name for m in models))
        return self.catch_up(models, progress, max(self.batch_size, self.rebuild_batch_size))

    # --- reads ---------------------------------------------------------------------------------------

    def _reader(self, actor: Actor) -> None:
        require_role(actor, READS_CRISES, "read the situation picture", role_hint(actor))

    def get_situation_overview(self, actor: Actor, at: datetime | None = None) -> dict[str, Any]:
        self._reader(actor)
        return situation_overview.overview(self.store, at or self.app.now(), actor.clearance, self.app.policy)

    def get_crisis_timeline(self, actor: Actor, crisis_id: str) -> dict[str, Any]:
        self._reader(actor)
        return crisis_timeline.timeline(self.store, crisis_id, self.app.now(), actor.clearance, self.app.policy)

    def get_readiness_board(self, actor: Actor) -> dict[str, Any]:
        self._reader(actor)
        return readiness_board.board(self.store, self.app.now(), actor.clearance, self.app.policy)

    def get_police_liaison_board(self, actor: Actor) -> dict[str, Any]:
        self._reader(actor)
        return police_liaison_board.board(self.store, self.app.now(), actor.clearance, self.app.policy)

    def get_decision_log(self, actor: Actor, crisis_id: str) -> dict[str, Any]:
        self._reader(actor)
        return decision_log.decision_log(self.store, crisis_id, self.app.now(), actor.clearance, self.app.policy)
