"""Request-size limits and Idempotency-Key handling, before any route runs.

Both are plain ASGI middleware rather than Starlette's BaseHTTPMiddleware: that one runs every request in an
extra task with memory streams between the two, which cost about a tenth of the server's CPU per command
(bench/write_throughput.py). A request without a body-size question or an Idempotency-Key now passes
straight through.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.coordination import KEYED_COMMAND, KeyedCommand
from domain.shared import DomainError, Rule
from infrastructure.idempotency import Claim, StoredAnswer
from infrastructure.identity import hash_token
from interfaces.http.dependencies import authenticate
from interfaces.http.errors import problem

REPLAYED_HEADERS = ("etag", "location", "content-type", "valmius-position")
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


async def read_body(receive: Receive, limit: int | None = None) -> tuple[bytes | None, Receive]:
    """The whole request body, and a `receive` that hands it on to the app as if unread. None (and the body
    left unread) as soon as it is longer than `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away: let the app see that
            return b"".join(chunks), _replay(b"".join(chunks), receive, message)
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), _replay(b"".join(chunks), receive)


def _replay(body: bytes, receive: Receive, then: Message | None = None) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return then if then is not None else await receive()

    return replay


def request_fingerprint(path: str, if_match: str, body: bytes) -> str:
    """What an Idempotency-Key names: a POST to this path, with this If-Match and this body."""
    return hashlib.sha256(b"POST " + path.encode() + b"\n" + if_match.encode("latin-1") + b"\n" + body).hexdigest()


class RequestLimits:
    """Refuse bodies larger than the configured limit with 413, naming the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self.refuse(scope, receive, send)
                return
        elif scope["method"] in WITH_BODY:  # streamed in chunks without a declared length: count them
            body, receive = await read_body(receive, self.max_bytes)
            if body is None:
                await self.refuse(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            Rule.REQUEST_TOO_LARGE,
            "the request body is larger than {max_bytes} bytes; split it or shorten the texts", params={"max_bytes": self.max_bytes},
            instance=Request(scope).url.path,
        )
        await response(scope, receive, send)


class Idempotency:
    """A POST retried with the same Idempotency-Key gets the first answer and changes nothing.

    How a key is decided, and why every retry resolves, is told in infrastructure.idempotency: a command's key is
    decided in the transaction that stores its events, so a retry after any crash either gets the first answer
    (rebuilt from the stored records when the process died before answering) or runs the command. A refusal is
    decided with its answer, and a retry of it gets the same refusal: the key names one attempt, and the client
    has to make a new decision (a new key) on fresh state. Answers that decide nothing are not kept: 401 (whose
    key?), 429 (not run) and 5xx (not done, or done and rebuilt on the retry). A key names one request: its
    path, its If-Match and its body; the same key with another of them is refused (IDEMPOTENCY_KEY_REUSED)."""

    NOT_KEPT = frozenset({401, 408, 429})
    WAIT_FOR_HOLDER = 2.0  # seconds a request waits for another with its key to finish before "in progress"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        authorization = headers.get("authorization", "")
        if not key or not authorization.lower().startswith("bearer "):
            await self.app(scope, receive, send)
            return
        path = Request(scope).url.path
        if len(key) > 200:
            await problem(Rule.INVALID_INPUT, "Idempotency-Key is longer than 200 characters")(scope, receive, send)
            return
        services = scope["app"].state.services
        token = authorization[7:].strip()
        try:
            actor = await authenticate(scope["app"].state, token)
        except DomainError:
            await self.app(scope, receive, send)  # refused by the route (401, or 429 when throttled): no key claimed
            return
        scope.setdefault("state", {})["authenticated"] = (token, actor)  # get_reader takes it: one lookup a request
        store = services.idempotency
        user = hash_token(token)
        body, _ = await read_body(receive)  # read once; each run of the app below is handed it anew
        fingerprint = request_fingerprint(path, headers.get("if-match", ""), body or b"")
        waited_until = time.monotonic() + self.WAIT_FOR_HOLDER
        while True:
            claim = await run_in_threadpool(store.claim, user, key, fingerprint)
            if claim.refusal == "in_progress" and time.monotonic() < waited_until:
                await asyncio.sleep(0.05)  # the holder is most likely answering right now
                continue
            if claim.refusal is not None or claim.answer is not None:
                await self.stored_answer(claim, path)(scope, receive, send)
                return
            command = KeyedCommand(user, key, fingerprint, store, replay=claim.outcome)
            try:
                start, content = await self.run(scope, _replay(body or b"", receive), command)
            except Exception:
                if claim.holder is not None:
                    await run_in_threadpool(store.release, user, key, claim.holder)
                raise
            status = start["status"]
            if claim.outcome is not None and status < 400:  # stored before: answered as then, from the records
                start = {**start, "headers": [*start.get("headers", []), (b"idempotent-replayed", b"true")]}
            elif claim.outcome is None and not command.stored:  # no events: the answer decides the key, or nothing
                if status < 500 and status not in self.NOT_KEPT:
                    answer = StoredAnswer(status, content.decode(), self.replayed_headers(start))
                    if not await run_in_threadpool(store.answer, user, key, fingerprint, answer):
                        continue  # another run with this key was decided first (it took over our lapsed claim)
                elif claim.holder is not None:
                    await run_in_threadpool(store.release, user, key, claim.holder)
            await send(start)
            await send({"type": "http.response.body", "body": content, "more_body": False})
            return

    async def run(self, scope: Scope, receive: Receive, command: KeyedCommand) -> tuple[Message, bytes]:
        """The app's answer to the request, kept back: its start message and its body."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        token = KEYED_COMMAND.set(command)
        try:
            await self.app(scope, receive, keep)
        finally:
            KEYED_COMMAND.reset(token)
        assert start is not None
        return start, b"".join(chunks)

    @staticmethod
    def replayed_headers(start: Message) -> dict[str, str]:
        return {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in start.get("headers", [])
            if name.decode("latin-1").lower() in REPLAYED_HEADERS
        }

    @staticmethod
    def stored_answer(claim: Claim, path: str) -> Response:
        """What a request whose key is taken gets: the first answer, or why not."""
        if claim.refusal == "reused":
            return problem(
                Rule.IDEMPOTENCY_KEY_REUSED,
                "this Idempotency-Key was used for a different request; use a new key for a new command",
                instance=path,
            )
        if claim.refusal == "in_progress":
            response = problem(
                Rule.IDEMPOTENCY_IN_PROGRESS,
                "a request with this Idempotency-Key is still being processed; retry shortly (if its process"
                " hangs, the key is taken over within {lease_left} s)", params={"lease_left": claim.lease_left},
                instance=path,
            )
            response.headers["Retry-After"] = "1"
            return response
        assert claim.answer is not None
        headers = {**claim.answer.headers, "Idempotent-Replayed": "true"}
        return Response(claim.answer.body.encode(), status_code=claim.answer.status, headers=headers)
