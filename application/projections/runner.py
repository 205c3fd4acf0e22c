"""Following the event log into the read models, and reading them.

`Projections` keeps every read model up to date with the log: it reads new notifications in batches, decodes
each once, and lets each read model apply the batch with its tracking position in one transaction (see
base.apply_batch). It is woken by:

- the process's own writes (the Coordination's listeners), which is all the embedded SQLite default needs
  since the library offers no SQLite subscription; a slow poll catches writes of other processes (the CLI);
- on PostgreSQL, a subscription to the store (LISTEN/NOTIFY), so a separate worker process follows the
  writes of every API process.

Failures are logged and retried with backoff; the position is in the store, so a restarted follower resumes
exactly where the last committed batch left it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from application.audit.chain import AuditChain
from application.coordination import Coordination
from application.projections import crisis_timeline, decision_log, police_liaison_board, readiness_board
from application.projections import situation_overview
from application.projections.base import ReadModel, Store, apply_batch, ensure_tracking, lock_position, positions
from application.projections.crisis_timeline import CrisisTimeline
from application.projections.decision_log import DecisionLog
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.readiness_board import ReadinessBoard
from application.projections.situation_overview import SituationOverview
from domain.access import READS_CRISES, Actor, require_role
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


class Projections:
    def __init__(self, app: Coordination, store: Store, *, batch_size: int = 500, poll_seconds: float = 1.0) -> None:
        self.app = app
        self.store = store
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.models: dict[str, ReadModel] = {cls.name: cls() for cls in READ_MODELS}
        for model in self.models.values():
            model.create(store)
        ensure_tracking(store, self.models)
        self._wake = threading.Event()
        self._advanced = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listeners: list[Callable[[int], None]] = []
        app.listeners.append(lambda position: self._wake.set())

    # --- following -----------------------------------------------------------------------------------

    def position(self, name: str | None = None) -> int:
        """How far every read model (or the named one) has applied the log."""
        known = positions(self.store)
        return min(known.get(n, 0) for n in ([name] if name else self.models))

    def catch_up(self, models: list[ReadModel] | None = None, progress: Callable[[int], None] | None = None) -> int:
        """Apply everything stored so far; returns how many notifications were read."""
        models = models or list(self.models.values())
        read = 0
        while True:
            known = positions(self.store)
            start = min(known.get(m.name, 0) for m in models) + 1
            notifications = self.app.recorder.select_notifications(start=start, limit=self.batch_size)
            if not notifications:
                return read
            batch = [(n, self.app.mapper.to_domain_event(n)) for n in notifications]
            for model in models:
                apply_batch(self.store, model, batch, after=start - 1)
            read += len(batch)
            if progress:
                progress(len(batch))
            self._announce(batch[-1][0].id)

    def _announce(self, position: int) -> None:
        with self._advanced:
            self._advanced.notify_all()
        for listener in self.listeners:
            listener(position)

    def follow(self, stop: threading.Event) -> None:
        """Follow the log until `stop` is set, surviving failures with backoff."""
        backoff = 0.5
        subscription = self._subscribe(stop)
        while not stop.is_set():
            try:
                self.catch_up()
                backoff = 0.5
            except Exception:
                log.exception("projection batch failed; retrying in %.1f s", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
        if subscription is not None:
            subscription.stop()

    def _subscribe(self, stop: threading.Event) -> Any:
        """On PostgreSQL: a subscription whose notifications wake the follower (other processes' writes)."""
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

    def rebuild(self, name: str, progress: Callable[[int], None] | None = None) -> int:
        """Empty one read model and apply the whole log to it again."""
        model = self.models.get(name)
        if model is None:
            raise DomainError(Rule.NOT_FOUND, f"no read model {name!r}; there are {', '.join(self.models)}")
        with self.store.transaction() as tx:
            lock_position(tx, name)
            model.clear(tx)
            tx.execute("UPDATE valmius_tracking SET position = 0 WHERE view = %s", (name,))
        log.info("rebuilding read model %s from the start of the log", name)
        return self.catch_up([model], progress)

    # --- reads ---------------------------------------------------------------------------------------

    def _reader(self, actor: Actor) -> None:
        require_role(actor, READS_CRISES, "read the situation picture", "admins manage users and tokens only")

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
