"""How our routes run: one hand-off to the thread pool per request.

FastAPI runs a plain `def` route in its thread pool and then hands the route's answer to the pool a second
time, to validate it against the response model (fastapi.routing.serialize_response); each hand-off costs
about 50–60 µs of the server's CPU (bench/write_throughput.py). A route declared on a router whose
`route_class` is `Route` is wrapped, once, in an `async def` that runs it in the pool: FastAPI then checks
the answer on the event loop, where it serialises it anyway. Our answers are already instances of their
response models, so that check does not rebuild them. Routes stay the plain `def` they are (STYLE.md):
what a route does, its parameters, OpenAPI operation and refusals are unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

NOT_PLAIN = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR


def in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A plain `def` route as an `async def` that runs it in the thread pool; anything else as it is (a
    coroutine runs on the loop, a generator streams as FastAPI streams it)."""
    if not inspect.isfunction(endpoint) or endpoint.__code__.co_flags & NOT_PLAIN:
        return endpoint

    @functools.wraps(endpoint)  # FastAPI reads the route's signature, name and docstring through __wrapped__
    async def route(**values: Any) -> Any:
        return await run_in_threadpool(endpoint, **values)

    return route


class Route(APIRoute):
    """An APIRoute whose plain `def` endpoint runs in one hop to the thread pool (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_one_hop(endpoint), **kwargs)
