"""Live overview: one broadcaster per process pushes the situation overview to every SSE client.

It recomputes the overview once per change of the read models' position (and every `refresh_seconds`, since
overdue items change with time alone), once for cleared and once for uncleared readers, and fans it out.
In the embedded default it is woken by the in-process follower; with a separate worker (PostgreSQL) it is woken
by the NOTIFY of every batch the worker commits (Projections.watch), and polls the position only as a fallback:
one small query per process however many clients are connected. A frame is encoded once, not once per client.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator

from starlette.concurrency import run_in_threadpool

from application.projections.runner import Projections
from application.projections.situation_overview import SituationOverview
from domain.access import Actor, Role

log = logging.getLogger("valmius.live")

_READER = {True: Actor("live", Role.LEADERSHIP, clearance=True), False: Actor("live", Role.LEADERSHIP)}
WATCHED_POLL_SECONDS = 1.0  # the fallback poll while the worker's notifications wake the broadcaster
OVERVIEW = SituationOverview.name  # its position, not every model's: another model failing stops no frame


class OverviewBroadcaster:
    def __init__(self, projections: Projections, poll_seconds: float = 0.05, refresh_seconds: float = 10.0) -> None:
        self.projections = projections
        self.poll_seconds = poll_seconds
        self.refresh_seconds = refresh_seconds
        self.clients: set[tuple[asyncio.Queue[bytes], bool]] = set()
        self.latest: dict[bool, bytes] = {}
        self.latest_position: dict[bool, int] = {}  # the position each of `latest` was computed at
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
        refreshed = time.monotonic()
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
                position = await self._in_thread(self.projections.position, OVERVIEW)
                if position != self.position or time.monotonic() - refreshed >= self.refresh_seconds:
                    refreshed = time.monotonic()
                    await self._publish(position)
            except Exception:
                log.exception("could not publish the overview; trying again")
                await asyncio.sleep(1)

    async def _publish(self, position: int) -> None:
        self.position = position
        if not self.clients and self.latest:
            self.latest.clear()  # nobody listening: compute on the next connection
            return
        for cleared in (False, True):
            if any(c == cleared for _, c in self.clients) or cleared not in self.latest:
                overview = await self._in_thread(self.projections.get_situation_picture, _READER[cleared])
                self.latest[cleared] = self._frame(position, overview)
                self.latest_position[cleared] = position
        for queue, cleared in list(self.clients):
            if queue.full():
                queue.get_nowait()  # a slow client skips to the newest picture
            queue.put_nowait(self.latest[cleared])

    @staticmethod
    def _frame(position: int, overview: dict) -> bytes:
        return f"event: overview\nid: {position}\ndata: {json.dumps(overview, ensure_ascii=False)}\n\n".encode()

    async def stream(self, actor: Actor) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=2)
        client = (queue, actor.clearance)
        position = await run_in_threadpool(self.projections.position, OVERVIEW)
        if self.clients and self.latest_position.get(actor.clearance) == position and actor.clearance in self.latest:
            first = self.latest[actor.clearance]  # the picture just published (a reconnecting wall of dashboards)
        else:
            first = self._frame(position, await run_in_threadpool(self.projections.get_situation_picture, actor))
        if not self.clients:  # the broadcaster slept: this first picture is the newest one published
            self.position = position
        self.clients.add(client)
        self._changed.set()  # wake the broadcaster if it slept for want of listeners
        try:
            yield b"retry: 2000\n\n"
            yield first
            while True:
                try:
                    async with asyncio.timeout(15):  # no task per frame, unlike wait_for
                        frame = await queue.get()
                except TimeoutError:
                    frame = b": keep-alive\n\n"
                yield frame
        finally:
            self.clients.discard(client)
