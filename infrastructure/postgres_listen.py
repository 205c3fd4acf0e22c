"""PostgreSQL's LISTEN, in one loop for every channel Valmius hears: the event store's channel (a write of any
process wakes the projection follower), the tracking channel (a batch a follower of any process committed wakes
the live overview) and token revocations (infrastructure.identity forgets the tokens it keeps).

Listening directly, rather than through the library's subscription, wakes the follower at once: the
subscription would first read the new notifications itself (a read the follower makes anyway) and hand them
over through two more threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg

from application.backoff import retry_delay

TRACKING_CHANNEL = "valmius_tracking"  # NOTIFYed by every batch a follower commits (postgres_batch)

log = logging.getLogger("valmius.listen")


class Listening:
    """LISTENs on `channel` in a thread of its own until stopped, calling `on_notify` once it listens (for what
    came before) and at every notification. `listening` only while it surely hears; `on_lost` is called when
    it stops hearing. A lost connection is opened again with capped, jittered backoff."""

    def __init__(
        self,
        connect: Callable[[], AbstractContextManager[Any]],
        channel: str,
        on_notify: Callable[[], None],
        *,
        on_lost: Callable[[], None] | None = None,
        poll_seconds: float = 0.5,
        stop: threading.Event | None = None,
    ) -> None:
        if not channel.replace("_", "").isalnum():
            raise ValueError(f"not a channel name: {channel!r}")
        self.connect = connect
        self.channel = channel
        self.on_notify = on_notify
        self.on_lost = on_lost
        self.poll_seconds = poll_seconds
        self.listening = False
        self._stop = stop or threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"valmius-listen-{channel}", daemon=True)

    def start(self) -> Listening:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                with self.connect() as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    try:
                        self.on_notify()  # whatever came before we listened
                        self.listening = True
                        failures = 0
                        while not self._stop.is_set():
                            for _ in conn.notifies(timeout=self.poll_seconds, stop_after=1):
                                self.on_notify()
                    finally:
                        self.listening = False
                        if self.on_lost is not None:
                            self.on_lost()
            except Exception as error:  # noqa: BLE001 - keep trying; meanwhile the caller falls back
                if not self._stop.is_set():
                    delay = retry_delay(failures)
                    failures += 1
                    log.warning("listening on %s failed (%s); next attempt in %.1f s", self.channel, error, delay)
                    self._stop.wait(delay)


class PostgresListener:
    """The application's Listener (application.ports) on PostgreSQL: watchers LISTEN on a connection of the
    store's pool, given back (UNLISTENed) when they stop."""

    def __init__(self, datastore: Any, events_channel: str) -> None:
        self.datastore = datastore
        self.events_channel = events_channel

    def watch_events(self, stop: threading.Event, callback: Callable[[], None]) -> bool:
        return self._watch(self.events_channel, stop, callback)

    def watch(self, stop: threading.Event, callback: Callable[[], None]) -> bool:
        return self._watch(TRACKING_CHANNEL, stop, callback)

    def _watch(self, channel: str, stop: threading.Event, callback: Callable[[], None]) -> bool:
        @contextmanager
        def pooled() -> Iterator[Any]:
            with self.datastore.get_connection() as conn:
                try:
                    yield conn
                finally:
                    conn.execute(f"UNLISTEN {channel}")  # the connection goes back to the pool

        Listening(pooled, channel, callback, stop=stop).start()
        return True


def own_connection(pool: Any) -> Callable[[], AbstractContextManager[Any]]:
    """Connections of their own (in autocommit, not from the pool) to the pool's database: a listener that
    runs for the process's life holds none of the pool's."""
    kwargs = {k: v for k, v in pool.kwargs.items() if k != "row_factory"}
    kwargs.setdefault("connect_timeout", 5)
    return lambda: psycopg.connect(pool.conninfo, autocommit=True, **kwargs)
