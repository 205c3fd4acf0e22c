"""Live overview: one broadcaster per process pushes the situation overview to every SSE client.

The stream is a read like any other: the route authenticates the token, the broadcaster authorises the role
before the answer starts (403 to an admin, as on `GET /situation-overview`), and every frame a subscriber
gets was computed for its own view of the picture (role, clearance, unit): a frame is never shared across
views, so never across clearances. The broadcaster recomputes the overview once per change of the read
models' position (and every `refresh_seconds`, since overdue items change with time alone), once per view
that has subscribers, and fans it out; a frame is encoded once per view, not once per client.

The token a stream was opened with is checked again every `token_check_seconds` (2 s): a token revoked
(or otherwise no longer valid) by then has its stream ended, and the client's reconnection is refused with
401. The check costs nothing while the process keeps tokens in memory (PostgreSQL: revocations clear them
at once) and one query for all streams' tokens otherwise.

In the embedded default it is woken by the in-process follower; with a separate worker (PostgreSQL) it is woken
by the NOTIFY of every batch the worker commits (Projections.watch), and polls the position only as a fallback:
one small query per process however many clients are connected.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from application.projections.runner import Projections
from application.projections.situation_overview import SituationOverview
from domain.access import Actor, Role
from infrastructure.identity import TokenStore
from interfaces.http.metrics import STREAM_CLIENTS

log = logging.getLogger("valmius.live")

OVERVIEW = SituationOverview.name  # its position, not every model's: another model failing stops no frame
WATCHED_POLL_SECONDS = 1.0  # the fallback poll while the worker's notifications wake the broadcaster
View = tuple[Role, bool, str | None]  # what a reader may see of the picture: role, clearance, unit


def view_of(actor: Actor) -> View:
    return (actor.role, actor.clearance, actor.unit)


def _reader_of(view: View) -> Actor:
    role, clearance, unit = view
    return Actor("live", role, unit=unit, clearance=clearance)


@dataclass(eq=False)
class Subscriber:
    view: View
    token_hash: str
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(maxsize=2))

    def send(self, frame: bytes | None) -> None:
        if self.queue.full():
            self.queue.get_nowait()  # a slow client skips to the newest picture
        self.queue.put_nowait(frame)

    def close(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)


class OverviewBroadcaster:
    def __init__(
        self, projections: Projections, tokens: TokenStore, poll_seconds: float = 0.05, refresh_seconds: float = 10.0,
        token_check_seconds: float = 2.0,
    ) -> None:
        self.projections = projections
        self.tokens = tokens
        self.poll_seconds = poll_seconds
        self.refresh_seconds = refresh_seconds
        self.token_check_seconds = token_check_seconds
        self.clients: set[Subscriber] = set()
        self.latest: dict[View, bytes] = {}
        self.latest_position: dict[View, int] = {}  # the position each of `latest` was computed at
        self.position = -1
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: asyncio.Future | None = None
        self._unwatch = threading.Event()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.projections.listeners.append(self._on_advance)
        if self.projections.watch(self._unwatch, lambda: self._on_advance(-1)):
            self.poll_seconds = max(self.poll_seconds, WATCHED_POLL_SECONDS)
        self._task = asyncio.create_task(self._run(), name="overview-broadcaster")

    async def stop(self) -> None:
        self._unwatch.set()
        if self._on_advance in self.projections.listeners:
            self.projections.listeners.remove(self._on_advance)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._in_flight is not None:
            # Cancelling does not stop a query already running in its thread; the store must not close under it.
            await asyncio.wait([self._in_flight])

    async def _in_thread(self, function, *args):  # noqa: ANN001, ANN002, ANN202
        self._in_flight = asyncio.ensure_future(run_in_threadpool(function, *args))
        return await asyncio.shield(self._in_flight)

    def _on_advance(self, position: int) -> None:  # called from the follower's (or the watching) thread
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    async def _run(self) -> None:
        refreshed = checked = time.monotonic()
        while True:
            if not self.clients:
                # Nobody is listening: do not ask the store 20 times a second where the read models are (it
                # costs the writers); sleep until a client connects, which computes its own first picture.
                self.latest.clear()
                await self._changed.wait()
                self._changed.clear()
                continue
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                if time.monotonic() - checked >= self.token_check_seconds:
                    checked = time.monotonic()
                    await self._close_invalid_tokens()
                position = await self._in_thread(self.projections.position, OVERVIEW)
                if position != self.position or time.monotonic() - refreshed >= self.refresh_seconds:
                    refreshed = time.monotonic()
                    await self._publish(position)
            except Exception:
                log.exception("could not publish the overview; trying again")
                await asyncio.sleep(1)

    async def _close_invalid_tokens(self) -> None:
        subscribers = list(self.clients)
        valid = await self._in_thread(self.tokens.still_valid, {s.token_hash for s in subscribers})
        for subscriber in subscribers:
            if subscriber.token_hash not in valid:
                self.clients.discard(subscriber)
                subscriber.close()

    async def _publish(self, position: int) -> None:
        self.position = position
        subscribers = list(self.clients)
        for view in {s.view for s in subscribers}:
            overview = await self._in_thread(self.projections.get_situation_picture, _reader_of(view))
            self.latest[view] = self._frame(position, overview)
            self.latest_position[view] = position
        for view in set(self.latest) - {s.view for s in self.clients}:
            del self.latest[view]  # nobody of this view listens any more: compute it again when one connects
        for subscriber in subscribers:
            if subscriber in self.clients and subscriber.view in self.latest:
                subscriber.send(self.latest[subscriber.view])

    @staticmethod
    def _frame(position: int, overview: dict) -> bytes:
        return f"event: overview\nid: {position}\ndata: {json.dumps(overview, ensure_ascii=False)}\n\n".encode()

    async def subscribe(self, actor: Actor, token_hash: str) -> AsyncIterator[bytes]:
        """The frames of one subscriber. Authorises before anything is streamed: a refused role gets its 403
        problem as the answer, not a 200 stream that ends."""
        self.projections.require_reader(actor)
        view = view_of(actor)
        position = await run_in_threadpool(self.projections.position, OVERVIEW)
        if self.clients and self.latest_position.get(view) == position and view in self.latest:
            first = self.latest[view]  # the picture just published for this view (a reconnecting wall of dashboards)
        else:
            first = self._frame(position, await run_in_threadpool(self.projections.get_situation_picture, actor))
        return self._frames(Subscriber(view, token_hash), first, position)

    async def _frames(self, subscriber: Subscriber, first: bytes, position: int) -> AsyncIterator[bytes]:
        if not self.clients:  # the broadcaster slept: this first picture is the newest one published
            self.position = position
        self.clients.add(subscriber)
        STREAM_CLIENTS.inc()
        self._changed.set()  # wake the broadcaster if it slept for want of listeners
        try:
            yield b"retry: 2000\n\n"
            yield first
            while True:
                try:
                    async with asyncio.timeout(15):  # no task per frame, unlike wait_for
                        frame = await subscriber.queue.get()
                except TimeoutError:
                    frame = b": keep-alive\n\n"
                if frame is None:  # the token is no longer valid: end the stream
                    return
                yield frame
        finally:
            self.clients.discard(subscriber)
            STREAM_CLIENTS.dec()
