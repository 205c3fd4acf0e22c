"""Request-size limits and Idempotency-Key handling, before any route runs."""

from __future__ import annotations

import hashlib

from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from domain.shared import Rule
from infrastructure.identity import hash_token
from interfaces.http.errors import problem

REPLAYED_HEADERS = ("etag", "location", "content-type")


class RequestLimits(BaseHTTPMiddleware):
    """Refuse bodies larger than the configured limit with 413, naming the limit."""

    def __init__(self, app, max_bytes: int) -> None:  # noqa: ANN001
        super().__init__(app)
        self.max_bytes = max_bytes

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        too_large = length is not None and length.isdigit() and int(length) > self.max_bytes
        if not too_large and request.method in {"POST", "PUT", "PATCH"} and length is None:
            too_large = len(await request.body()) > self.max_bytes
        if too_large:
            return problem(
                Rule.REQUEST_TOO_LARGE,
                f"the request body is larger than {self.max_bytes} bytes; split it or shorten the texts",
                instance=request.url.path,
            )
        return await call_next(request)


class Idempotency(BaseHTTPMiddleware):
    """A POST retried with the same Idempotency-Key returns the first answer and changes nothing."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        key = request.headers.get("idempotency-key")
        authorization = request.headers.get("authorization", "")
        if request.method != "POST" or not key or not authorization.lower().startswith("bearer "):
            return await call_next(request)
        if len(key) > 200:
            return problem(Rule.INVALID_INPUT, "Idempotency-Key is longer than 200 characters")
        store = request.app.state.services.idempotency
        clock = request.app.state.services.coordination.clock
        scope = hash_token(authorization[7:].strip())
        body = await request.body()
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.url.path.encode() + b"\n" + body
        ).hexdigest()
        stored = await run_in_threadpool(store.reserve, scope, key, fingerprint, clock())
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return problem(
                    Rule.IDEMPOTENCY_KEY_REUSED,
                    "this Idempotency-Key was used for a different request; use a new key for a new command",
                    instance=request.url.path,
                )
            if stored.status is None:
                return problem(
                    Rule.IDEMPOTENCY_IN_PROGRESS,
                    "a request with this Idempotency-Key is still being processed; retry shortly",
                    instance=request.url.path,
                )
            headers = dict(stored.headers or {})
            headers["Idempotent-Replayed"] = "true"
            return Response((stored.body or "").encode(), status_code=stored.status, headers=headers)
        try:
            response = await call_next(request)
        except Exception:
            await run_in_threadpool(store.release, scope, key)
            raise
        if response.status_code >= 500 or response.status_code == 401:
            await run_in_threadpool(store.release, scope, key)
            return response
        content = b"".join([chunk async for chunk in response.body_iterator])
        headers = {k: v for k, v in response.headers.items() if k in REPLAYED_HEADERS}
        await run_in_threadpool(
            store.complete, scope, key, response.status_code, content.decode(), headers
        )
        return Response(content, status_code=response.status_code, headers=dict(response.headers))
