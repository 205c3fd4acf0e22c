"""Live overview: one broadcaster per process pushes the situation overview to every SSE client.

The stream is a read like any other: the route authenticates the token, the broadcaster authorises the role
before the answer starts (403 to an admin, as on `GET /situation-overview`), and every frame a subscriber
gets was computed for its own view of the picture. A view is what the picture depends on of its reader: the
reader's clearance, since the overview (application.projections.situation_overview) redacts by clearance and
reads nothing else of the reader (tests/interfaces/test_stream_access.py holds every reading role to it). A frame
is never shared across views, so never across clearances.

The broadcaster recomputes the overview once per change of the read models' position (and every
`refresh_seconds`, since overdue items change with time alone), once per view that has subscribers, in one
hop to a worker thread; each view's change is diffed and encoded once, and the same bytes go to each of the
view's subscribers. Fanning out is the work that grows with the clients, so it is kept to the least per
client: the frame is added to the subscriber's pending frames and its one waiting task woken, which writes
whatever is pending in one write (EventStream). No queue, no timeout and no generator per frame: keep-alives
are sent by the broadcaster to the streams that were sent nothing for KEEP_ALIVE_SECONDS.

A subscriber is sent its view's whole picture first (`event: overview`), then what changed (`event: patch`: the
JSON Patch, RFC 6902, from the view's previous picture to its new one, computed from the two redacted pictures
of that view, so it carries nothing the view's whole picture would not). Each frame's `id:` is the log position
it shows (`P.k` for the k-th refresh at an unchanged position). Each view keeps its last RETAINED change frames:
a client reconnecting with Last-Event-ID gets the ones after that frame, or the whole picture when it is older.
A client too slow to take its frames (they would add up to more than the whole picture) skips to the whole
newest picture.

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
from collections import deque
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from application.projections.runner import Projections
from application.projections.situation_overview import SituationOverview
from domain.access import Actor, Role
from infrastructure.identity import TokenStore
from interfaces.http.metrics import STREAM_CLIENTS

log = logging.getLogger("valmius.live")

OVERVIEW = SituationOverview.name  # its position, not every model's: another model failing stops no frame
WATCHED_POLL_SECONDS = 1.0  # the fallback poll while the worker's notifications wake the broadcaster
View = bool  # what a reader may see of the picture: whether the reader is cleared (see the module docstring)
RETAINED = 64  # change frames each view keeps for a client resuming with Last-Event-ID
KEEP_ALIVE_SECONDS = 15.0  # a stream sent nothing for this long is sent a comment, so that proxies keep it open
RETRY = b"retry: 2000\n\n"  # how long a client waits before it reconnects
KEEP_ALIVE = b": keep-alive\n\n"


def view_of(actor: Actor) -> View:
    return actor.clearance


def reader_of(view: View) -> Actor:
    """A reader of the view: the picture computed for it is the picture of every reader of the view."""
    return Actor("live", Role.LEADERSHIP, clearance=view)


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """The JSON Patch (RFC 6902: add, remove, replace) that turns `old` into `new`. Objects are compared key by key;
    a list keeps its unchanged head and tail, so one record added, changed or removed in a list is one operation."""
    if type(old) is type(new) and old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        patch: list[dict[str, Any]] = [{"op": "remove", "path": _pointer(path, key)} for key in old if key not in new]
        for key, value in new.items():
            at = _pointer(path, key)
            patch += diff(old[key], value, at) if key in old else [{"op": "add", "path": at, "value": value}]
        return patch
    if isinstance(old, list) and isinstance(new, list):
        head = 0
        while head < min(len(old), len(new)) and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        gone, came = old[head : len(old) - tail], new[head : len(new) - tail]
        paired = min(len(gone), len(came))
        patch = [op for i in range(paired) for op in diff(gone[i], came[i], _pointer(path, head + i))]
        patch += [{"op": "remove", "path": _pointer(path, head + paired)} for _ in range(len(gone) - paired)]
        patch += [{"op": "add", "path": _pointer(path, head + i), "value": came[i]} for i in range(paired, len(came))]
        return patch
    return [{"op": "replace", "path": path, "value": new}]


def _pointer(path: str, key: str | int) -> str:  # RFC 6901
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def _frame(event: str, frame_id: str, data: Any) -> bytes:
    return f"event: {event}\nid: {frame_id}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class Subscriber:
    """One open stream: the frames not yet written to it, and the one task that writes them (EventStream)."""

    __slots__ = ("view", "token_hash", "pending", "waiting", "ended", "idle")

    def __init__(self, view: View, token_hash: str) -> None:
        self.view = view
        self.token_hash = token_hash
        self.pending: list[bytes] = []
        self.waiting: asyncio.Future[None] | None = None
        self.ended = False
        self.idle = False  # sent nothing since the last round of keep-alives

    def send(self, frame: bytes, picture: ViewPicture) -> None:
        """Add `frame`; a client whose pending frames would add up to more than the whole picture (it is slow:
        its connection does not take what it is sent) gets the whole newest picture instead, once."""
        pending = self.pending
        if pending and sum(map(len, pending)) + len(frame) > len(picture.full()):
            pending.clear()
            frame = picture.full()
        pending.append(frame)
        self.idle = False
        self._wake()

    def keep_alive(self) -> None:
        """A comment if the stream was sent nothing since the last round of keep-alives."""
        if self.idle and not self.pending:
            self.pending.append(KEEP_ALIVE)
            self._wake()
        self.idle = True

    def end(self) -> None:
        self.ended = True
        self._wake()

    def _wake(self) -> None:
        if self.waiting is not None and not self.waiting.done():
            self.waiting.set_result(None)

    async def next(self) -> bytes | None:
        """What is pending, in one piece, as soon as there is some; None once the stream is ended."""
        while not self.pending and not self.ended:
            self.waiting = asyncio.get_running_loop().create_future()
            await self.waiting
        if self.ended:
            return None
        frames, self.pending = self.pending, []
        return frames[0] if len(frames) == 1 else b"".join(frames)


class ViewPicture:
    """The newest picture of one view, its frame id, the change frames that led to it (the newest RETAINED), for
    a client resuming with Last-Event-ID, and the view's subscribers."""

    def __init__(self) -> None:
        self.position = -1
        self.id = ""
        self.picture: dict | None = None
        self.changes: deque[tuple[str, bytes]] = deque(maxlen=RETAINED)  # (id of the picture it applies to, frame)
        self.subscribers: set[Subscriber] = set()
        self._full: bytes | None = None

    def advance(self, position: int, picture: dict) -> bytes | None:
        """Make `picture` the newest; its change frame (None for the first picture of the view)."""
        known, base = self.picture, self.id
        refresh = int(self.id.partition(".")[2] or 0) + 1 if position == self.position else 0
        self.id = f"{position}.{refresh}" if refresh else str(position)
        self.position, self.picture, self._full = position, picture, None
        if known is None:
            return None
        change = _frame("patch", self.id, diff(known, picture))
        self.changes.append((base, change))
        return change

    def full(self) -> bytes:
        if self._full is None:
            self._full = _frame("overview", self.id, self.picture)
        return self._full

    def since(self, last_event_id: str | None) -> list[bytes]:
        """What a client holding the picture `last_event_id` needs: the change frames after it while they are
        retained, else the full picture."""
        if last_event_id == self.id:
            return []
        bases = [base for base, _ in self.changes]
        if last_event_id in bases:
            return [frame for _, frame in list(self.changes)[bases.index(last_event_id) :]]
        return [self.full()]


class EventStream(Response):
    """The answer of one subscriber (text/event-stream): joins the broadcaster when the answer starts, writes
    what is pending for it whenever there is some, and leaves when the client goes away or the broadcaster
    ends the stream (its token is no longer valid)."""

    media_type = "text/event-stream"

    def __init__(
        self, broadcaster: OverviewBroadcaster, subscriber: Subscriber, last_event_id: str | None,
        headers: Mapping[str, str],
    ) -> None:
        self.broadcaster, self.subscriber, self.last_event_id = broadcaster, subscriber, last_event_id
        self.status_code = 200
        self.background = None
        self.init_headers(headers)  # no Content-Length: the body is sent in chunks until the stream ends

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber = self.subscriber
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        first = self.broadcaster.join(subscriber, self.last_event_id)
        gone = asyncio.create_task(self._until_disconnected(receive))
        try:
            body: bytes | None = RETRY + b"".join(first)
            while body is not None:
                await send({"type": "http.response.body", "body": body, "more_body": True})
                body = await subscriber.next()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away while it was written to
        finally:
            gone.cancel()
            self.broadcaster.leave(subscriber)

    async def _until_disconnected(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.subscriber.end()


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
        self.views: dict[View, ViewPicture] = {}
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
        refreshed = checked = kept_alive = time.monotonic()
        while True:
            if not self.clients:
                # Nobody is listening: do not ask the store 20 times a second where the read models are (it
                # costs the writers); sleep until a client connects, which computes its own first picture.
                await self._changed.wait()
                self._changed.clear()
                continue
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass
            self._changed.clear()
            try:
                now = time.monotonic()
                if now - checked >= self.token_check_seconds:
                    checked = now
                    await self._close_invalid_tokens()
                if now - kept_alive >= KEEP_ALIVE_SECONDS:
                    kept_alive = now
                    for subscriber in self.clients:
                        subscriber.keep_alive()
                refresh = now - refreshed >= self.refresh_seconds
                views = [view for view, shown in self.views.items() if shown.subscribers]
                position, pictures = await self._in_thread(self._pictures, views, self.position, refresh)
                if pictures:
                    refreshed = now
                    self.position = position
                    for view, picture in pictures.items():
                        self._advance(view, position, picture)
            except Exception:
                log.exception("could not publish the overview; trying again")
                await asyncio.sleep(1)

    def _pictures(self, views: list[View], known: int, refresh: bool) -> tuple[int, dict[View, dict]]:
        """In a worker thread: the overview's position and, when it moved from `known` (or `refresh`), the
        picture of each of `views`: one hop to a thread per change, however many views."""
        position = self.projections.position(OVERVIEW)
        if position == known and not refresh:
            return position, {}
        return position, {view: self.projections.get_situation_picture(reader_of(view)) for view in views}

    async def _close_invalid_tokens(self) -> None:
        subscribers = list(self.clients)
        valid = await self._in_thread(self.tokens.still_valid, {s.token_hash for s in subscribers})
        for subscriber in subscribers:
            if subscriber.token_hash not in valid:
                self.leave(subscriber)
                subscriber.end()

    def _advance(self, view: View, position: int, picture: dict) -> None:
        """The view's newest picture, its change sent to the view's subscribers (the same bytes to each).
        Synchronous: a subscriber joins between two pictures, never in the middle of one."""
        shown = self.views.setdefault(view, ViewPicture())
        if position < shown.position:
            return  # computed before a newer picture of this view was published
        change = shown.advance(position, picture)
        if change is not None:
            for subscriber in shown.subscribers:
                subscriber.send(change, shown)

    async def subscribe(self, actor: Actor, token_hash: str, last_event_id: str | None = None) -> EventStream:
        """The answer of one subscriber: the full picture, or on a resume (Last-Event-ID) the change frames
        after that picture while they are retained; then the change frames. Authorises before anything is
        streamed: a refused role gets its 403 problem as the answer, not a 200 stream that ends."""
        self.projections.require_reader(actor)
        view = view_of(actor)
        position = await run_in_threadpool(self.projections.position, OVERVIEW)
        shown = self.views.get(view)
        if not (shown is not None and shown.subscribers and shown.position == position):  # else kept current
            picture = await run_in_threadpool(self.projections.get_situation_picture, reader_of(view))
            if not self.clients:  # the broadcaster slept: this picture is the newest one published
                self.position = position
            self._advance(view, position, picture)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return EventStream(self, Subscriber(view, token_hash), last_event_id, headers)

    def join(self, subscriber: Subscriber, last_event_id: str | None) -> list[bytes]:
        """Add `subscriber` to its view; the frames it needs first. Synchronous, so no change is missed."""
        shown = self.views[subscriber.view]
        shown.subscribers.add(subscriber)
        self.clients.add(subscriber)
        STREAM_CLIENTS.inc()
        self._changed.set()  # wake the broadcaster if it slept for want of listeners
        return shown.since(last_event_id)

    def leave(self, subscriber: Subscriber) -> None:
        if subscriber in self.clients:
            self.clients.discard(subscriber)
            self.views[subscriber.view].subscribers.discard(subscriber)
            STREAM_CLIENTS.dec()
