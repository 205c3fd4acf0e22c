"""How our routes run: a lean request handler, one hand-off to the thread pool, the answer serialised once.

A route declared on a router whose `route_class` is `Route` is the same FastAPI route as any other (its
parameters, OpenAPI operation, response model and refusals are FastAPI's), but it is answered by `Handler`
rather than FastAPI's generic request handler. What that saves, per request, measured with
bench/write_throughput.py (docs/capacity.md):

- the dependencies are solved from a plan made once per route (which are coroutines, which are cached, which
  parameters each has) instead of rediscovering it on every request (FastAPI's `solve_dependencies`);
- a plain `def` route runs in the thread pool in one hop through a plain executor (`in_one_hop`), not through
  anyio's capacity limiter and cancel scopes, and FastAPI then never hands the answer to the pool again;
- an answer that already is an instance of its response model is serialised to JSON bytes once, by the model's
  own serialiser, without being validated again (anything else is validated as FastAPI validates it);
- the content type of a body is read without building an `email.message.Message`.

What it does not do it leaves to FastAPI: a route whose answer is not JSON (a page, a stream, an archive),
a form body, dependencies with `yield`, a request with dependency overrides set, or a FastAPI whose
internals have moved (the private names imported below) is handled by FastAPI's own handler, unchanged.

`Dispatch` finds a request's route among the few that can take it (see its docstring).
"""

from __future__ import annotations

import asyncio
import contextvars
import email.message
import functools
import inspect
import json
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from fastapi import params
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args, request_params_to_args
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from pydantic_core import PydanticUndefined as Undefined
from starlette.background import BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette._utils import get_route_path
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

try:  # FastAPI's own judgements, and the route state it builds for a route included in an app
    from fastapi.dependencies.models import (
        _get_cache_key,
        _is_async_gen_callable,
        _is_coroutine_callable,
        _is_gen_callable,
    )
    from fastapi.routing import (
        _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
        _effective_route_context_var,
        _extract_endpoint_context,
        _get_fastapi_scope,
        _get_scope_effective_route_context,
        _IncludedRouter,
        _update_scope,
    )
    from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
except ImportError:  # pragma: no cover - another FastAPI: every route keeps FastAPI's own handler
    _effective_route_context_var = None

NOT_PLAIN = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR
ROUTE_THREADS = 40  # as many as anyio's default thread limiter allowed the routes before
_executor: ThreadPoolExecutor | None = None


def in_thread(function: Callable[..., Any], /, **values: Any) -> asyncio.Future[Any]:
    """`function(**values)` in the routes' thread pool, in this request's context (its id, its language, its
    Idempotency-Key), awaited on the event loop."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(ROUTE_THREADS, thread_name_prefix="valmius-route")
    context = contextvars.copy_context()
    return asyncio.get_running_loop().run_in_executor(_executor, functools.partial(context.run, function, **values))


def in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A plain `def` route as an `async def` that runs it in the thread pool; anything else as it is (a
    coroutine runs on the loop, a generator streams as FastAPI streams it)."""
    if not inspect.isfunction(endpoint) or endpoint.__code__.co_flags & NOT_PLAIN:
        return endpoint

    @functools.wraps(endpoint)  # FastAPI reads the route's signature, name and docstring through __wrapped__
    async def route(**values: Any) -> Any:
        return await in_thread(endpoint, **values)

    return route


class Changes(Response):
    """The `Response` a route is given to set headers, cookies and a status on; they are put on its answer.
    Nothing more is built for it (FastAPI builds a whole empty Response and removes its content-length)."""

    def __init__(self) -> None:  # noqa: D107 - what starlette's Response would set, without a body
        self.status_code = None  # type: ignore[assignment]
        self.background = None
        self.raw_headers = []


@dataclass
class Plan:
    """How one dependant (a route, or a dependency of it) is solved: made once, followed on every request."""

    dependant: Dependant
    subs: list[tuple[Plan, Callable[..., Any], str | None, Any, bool, bool]] = field(default_factory=list)
    # (its plan, call, the parameter it fills, cache key, use the cache, is a coroutine function)
    embed_body_fields: bool = False

    @classmethod
    def of(cls, dependant: Dependant) -> Plan | None:
        """The plan of `dependant`, or None when part of it is beyond this handler (FastAPI's handler then)."""
        if dependant.security_scopes_param_name or dependant.websocket_param_name:
            return None
        plan = cls(dependant)
        for sub in dependant.dependencies:
            call = sub.call
            if call is None or getattr(sub, "concurrency", None) is not None or _generator(call):
                return None
            inner = cls.of(sub)
            if inner is None:
                return None
            plan.subs.append((inner, call, sub.name, _get_cache_key(dependant=sub), sub.use_cache,
                              _is_coroutine_callable(call)))
        return plan

    async def solve(self, request: Request, body: Any, answer: Changes, cache: dict[Any, Any],
                    errors: list[Any], background: list[BackgroundTasks]) -> dict[str, Any]:
        """The values of the dependant's parameters, in FastAPI's order: each dependency in turn (not called
        when its own parameters are invalid), then path, query, header and cookie parameters, then the body;
        their validation errors are added to `errors`."""
        values: dict[str, Any] = {}
        for plan, call, name, key, use_cache, coroutine in self.subs:
            before = len(errors)
            sub_values = await plan.solve(request, body, answer, cache, errors, background)
            if len(errors) > before:
                continue
            if use_cache and key in cache:
                solved = cache[key]
            elif coroutine:
                solved = await call(**sub_values)
            else:
                solved = await run_in_threadpool(call, **sub_values)
            if name is not None:
                values[name] = solved
            cache.setdefault(key, solved)
        dependant = self.dependant
        for params_, source in (
            (dependant.path_params, "path_params"), (dependant.query_params, "query_params"),
            (dependant.header_params, "headers"), (dependant.cookie_params, "cookies"),
        ):
            if params_:
                found, invalid = request_params_to_args(params_, getattr(request, source))
                values.update(found)
                errors += invalid
        if dependant.body_params:
            found, invalid = await request_body_to_args(
                body_fields=dependant.body_params, received_body=body, embed_body_fields=self.embed_body_fields
            )
            values.update(found)
            errors += invalid
        if dependant.http_connection_param_name:
            values[dependant.http_connection_param_name] = request
        if dependant.request_param_name:
            values[dependant.request_param_name] = request
        if dependant.background_tasks_param_name:
            if not background:
                background.append(BackgroundTasks())
            values[dependant.background_tasks_param_name] = background[0]
        if dependant.response_param_name:
            values[dependant.response_param_name] = answer
        return values


def _generator(call: Callable[..., Any]) -> bool:
    return _is_gen_callable(call) or _is_async_gen_callable(call)


class Handler:
    """A JSON route's request handler (see the module docstring); `stock` is FastAPI's, for what it leaves."""

    def __init__(self, route: Any, plan: Plan, stock: Callable[[Request], Coroutine[Any, Any, Response]]) -> None:
        self.route = route
        self.plan = plan
        self.stock = stock
        self.call = route.dependant.call
        self.coroutine = _is_coroutine_callable(self.call)
        self.field = route.response_field
        self.model = route.response_model if isinstance(route.response_model, type) else None
        self.status_code = route.status_code
        self.body_field = route.body_field
        self.strict_content_type = route.strict_content_type
        if isinstance(self.strict_content_type, DefaultPlaceholder):
            self.strict_content_type = self.strict_content_type.value
        self.dump = {
            "include": route.response_model_include, "exclude": route.response_model_exclude,
            "by_alias": route.response_model_by_alias, "exclude_unset": route.response_model_exclude_unset,
            "exclude_defaults": route.response_model_exclude_defaults,
            "exclude_none": route.response_model_exclude_none,
        }
        plan.embed_body_fields = route._embed_body_fields

    @classmethod
    def for_route(
        cls, route: Any, stock: Callable[[Request], Coroutine[Any, Any, Response]]
    ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """This handler for a route answering JSON; FastAPI's own (`stock`) for any other."""
        response_class = route.response_class
        if (
            _effective_route_context_var is None
            or not isinstance(response_class, DefaultPlaceholder) or response_class.value is not JSONResponse
            or getattr(route, "is_sse_stream", False) or getattr(route, "is_json_stream", False)
            or getattr(route, "stream_item_field", None) is not None
            or (route.body_field is not None and isinstance(route.body_field.field_info, params.Form))
            or route.dependant.call is None or _generator(route.dependant.call)
        ):
            return stock
        plan = Plan.of(route.dependant)
        return stock if plan is None else cls(route, plan, stock).__call__

    async def __call__(self, request: Request) -> Response:
        provider = self.route.dependency_overrides_provider
        if (provider is not None and getattr(provider, "dependency_overrides", None)) or (
            MAX_BODY_SIZE_SCOPE_KEY in request.scope
        ):
            return await self.stock(request)
        body = await self.body(request) if self.body_field is not None else Undefined
        errors: list[Any] = []
        background: list[BackgroundTasks] = []
        answer = Changes()
        values = await self.plan.solve(request, body, answer, {}, errors, background)
        if errors:
            raise RequestValidationError(
                errors, body=None if body is Undefined else body, endpoint_ctx=self.context(request)
            )
        raw = await self.call(**values) if self.coroutine else await run_in_threadpool(self.call, **values)
        if isinstance(raw, Response):
            if raw.background is None and background:
                raw.background = background[0]
            return raw
        status = answer.status_code or self.status_code
        extra = {"status_code": status} if status else {}
        if self.field is not None:
            if self.model is None or type(raw) is not self.model or not issubclass(self.model, BaseModel):
                raw, invalid = self.field.validate(raw, {}, loc=("response",))
                if invalid:
                    from fastapi.exceptions import ResponseValidationError

                    raise ResponseValidationError(errors=invalid, body=raw, endpoint_ctx=self.context(request))
            response = Response(
                self.field.serialize_json(raw, **self.dump), media_type="application/json",
                background=background[0] if background else None, **extra,
            )
        else:
            response = JSONResponse(jsonable_encoder(raw), background=background[0] if background else None, **extra)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        response.raw_headers.extend(answer.raw_headers)
        return response

    async def body(self, request: Request) -> Any:
        """The request body as FastAPI reads it: JSON when it says it is JSON, its bytes otherwise."""
        try:
            raw = await request.body()
            if not raw:
                return Undefined
            content_type = request.headers.get("content-type")
            if not content_type:
                return raw if self.strict_content_type else json.loads(raw)
            if content_type.partition(";")[0].strip().lower() == "application/json":
                return json.loads(raw)
            return self.parsed_as_fastapi_does(content_type, raw)
        except json.JSONDecodeError as error:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error", "input": {},
                  "ctx": {"error": error.msg}}],
                body=error.doc, endpoint_ctx=self.context(request),
            ) from error
        except HTTPException:
            raise
        except Exception as error:
            raise HTTPException(status_code=400, detail="There was an error parsing the body") from error

    @staticmethod
    def parsed_as_fastapi_does(content_type: str, raw: bytes) -> Any:
        """A body sent as anything but plain `application/json`: JSON if its content type, read by the email
        parser, says `application/json` or `application/…+json`; its bytes otherwise."""
        message = email.message.Message()
        message["content-type"] = content_type
        if message.get_content_maintype() == "application":
            subtype = message.get_content_subtype()
            if subtype == "json" or subtype.endswith("+json"):
                return json.loads(raw)
        return raw

    def context(self, request: HTTPConnection) -> Any:
        """Where a validation error was raised, for its message (as FastAPI says it)."""
        context = dict(_extract_endpoint_context(self.call))
        path = getattr(self.route, "path", None)
        if path:
            context["path"] = f"{request.scope.get('method')} {request.scope.get('root_path', '').rstrip('/')}{path}"
        return context


class Route(APIRoute):
    """An APIRoute whose plain `def` endpoint runs in one hop to the thread pool, answered by `Handler` (see
    the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self._beginnings: dict[int, str] = {}  # by the id of the inclusion (or None): the path's fixed beginning
        super().__init__(path, in_one_hop(endpoint), **kwargs)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """As APIRoute matches, but a path that does not begin with the route's fixed beginning (`/crises/`
        of `/crises/{crisis_id}/severity`, with the prefix it is included under) is turned away at once: each
        request is matched against the routes in turn, most of which it is not for."""
        if scope["type"] == "http" and _effective_route_context_var is not None:
            context = _get_scope_effective_route_context(scope)
            beginning = self._beginnings.get(id(context))
            if beginning is None:
                own = context is not None and context.original_route is self
                path = context.path_format if own else self.path_format
                beginning = self._beginnings[id(context)] = path.partition("{")[0]
            if not get_route_path(scope).startswith(beginning):
                return Match.NONE, {}
        return super().matches(scope)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        stock = super().get_route_handler()
        route: Any = self
        if _effective_route_context_var is not None:
            context = _effective_route_context_var.get()
            if context is not None and context.original_route is self:
                route = context
        return Handler.for_route(route, stock)



WILD = object()  # the first segment of a route path that begins with a parameter: any request's may match it


class Dispatch:
    """The app's router, finding a request's route among those that can take it: the routes are indexed by the
    first segment of their path (`crises` of `/crises/{crisis_id}/severity`).

    FastAPI tries every route of every included router in turn, twice (once to find the router, once to find
    the route in it), each try wrapped in bookkeeping of its own; a request for `/crises/…` was matched against
    some thirty routes for nothing. Here the routes that can take the request are tried in the same order, and
    the first that fully matches it is handled exactly as FastAPI handles a route it selected. Anything else
    (no full match: 404, 405 or a redirect; a route that is not a FastAPI route of an included router, such as a
    mount, reached first; a route added since, until the index is made again) is left to FastAPI's router."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.version: int | None = None  # None: the index is to be made (again) before the next request
        self.buckets: dict[str, list[Any]] = {}
        self.wild: list[Any] = []

    @classmethod
    def install(cls, app: FastAPI) -> None:
        """Put the index in front of `app`'s routes (where Starlette's router calls its routing)."""
        if _effective_route_context_var is not None and hasattr(app.router, "_get_routes_version") and hasattr(
            app.router, "_mark_routes_changed"
        ):
            app.router.middleware_stack = cls(app.router)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "fastapi.telemetry" not in scope:
            if self.version is None:
                self.index(self.router._get_routes_version())
            segment = get_route_path(scope)[1:].partition("/")[0]
            for context in self.buckets.get(segment, self.wild):
                if context is None:
                    break  # a route of another kind comes first: FastAPI's router decides
                match, child_scope = context.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.router)
                    _update_scope(scope, child_scope)
                    _get_fastapi_scope(scope)[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
                    scope["route"] = context.original_route
                    await context.original_route.handle(scope, receive, send)
                    return
        await self.router.app(scope, receive, send)

    def index(self, version: int) -> None:
        """The routes by the first segment of their path, in the router's order; None stands for a route this
        index does not handle itself (when it is reached first, FastAPI's router decides)."""
        entries: list[tuple[Any, Any]] = []
        for route in self.router.routes:
            if isinstance(route, _IncludedRouter) and not route.include_context.form_limits:
                for context in route.effective_route_contexts():
                    ours = isinstance(context.original_route, APIRoute) and context.starlette_route is None
                    entries.append((first_segment(context.path_format), context if ours else None))
            else:
                entries.append((first_segment(getattr(route, "path", None)), None))
        segments = {segment for segment, _ in entries if segment is not WILD}
        self.buckets = {s: [c for segment, c in entries if segment in (s, WILD)] for s in segments}
        self.wild = [c for segment, c in entries if segment is WILD]
        self.version = version
        self._watch(self.router, set())

    def _watch(self, router: Any, seen: set[int]) -> None:
        """Be told when a route is added to `router` or to a router included in it, rather than asking
        FastAPI for the routes' version on every request (a walk of every included router: 7 µs a request
        with 17 routers, timeit; about 0.7 % of the server's CPU per command). FastAPI marks each change on the
        router changed (`_mark_routes_changed`, what its version counts); the mark is wrapped to also make
        the indexes that watch the router stale."""
        if id(router) in seen:
            return
        seen.add(id(router))
        watchers = router.__dict__.get("_valmius_indexes")
        if watchers is None:
            watchers = router._valmius_indexes = weakref.WeakSet()
            marked = router._mark_routes_changed

            def changed() -> None:
                marked()
                for index in list(watchers):
                    index.version = None

            router._mark_routes_changed = changed
        watchers.add(self)
        for route in router.routes:
            if isinstance(route, _IncludedRouter):
                self._watch(route.original_router, seen)


def first_segment(path: str | None) -> Any:
    """`crises` of `/crises/{crisis_id}`; WILD for a path beginning with a parameter, or none known."""
    if not path or not path.startswith("/"):
        return WILD
    segment = path[1:].partition("/")[0]
    return WILD if "{" in segment else segment
