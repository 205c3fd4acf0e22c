"""Every route runs in one hop to the thread pool (interfaces.http.routing), checked over the route table.

FastAPI hands a plain `def` endpoint to its thread pool and then hands its answer to the pool a second time to
validate it; an `async def` endpoint's answer is validated on the event loop. So each route of ours reaches
FastAPI as an `async def` (or as a generator, which streams): a plain `def` route through `Route`'s wrapper,
which runs it in the pool once.
"""

from __future__ import annotations

import inspect
import threading
from datetime import UTC, datetime
from typing import Annotated

import fastapi.routing
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field, model_validator

from interfaces.http.routing import Dispatch, Route
from tests.interfaces.conftest import api_routes


def test_every_route_reaches_fastapi_as_a_coroutine_and_a_plain_def_one_runs_in_one_hop(api) -> None:  # noqa: ANN001
    routes = api_routes(api.app.routes)
    assert len(routes) > 50
    wrapped = 0
    for route in routes:
        endpoint = route.endpoint
        assert isinstance(route, Route), route.path
        if inspect.isgeneratorfunction(endpoint):
            continue
        assert inspect.iscoroutinefunction(endpoint), (route.path, route.methods)
        original = inspect.unwrap(endpoint)
        if original is not endpoint:
            wrapped += 1
            assert not inspect.iscoroutinefunction(original)
            assert (original.__name__, original.__doc__) == (endpoint.__name__, endpoint.__doc__)
    assert wrapped > 40  # the commands and most reads are plain `def`


seen: dict[str, int] = {}  # where each step of a request ran: its thread's id


class Answer(BaseModel):
    id: str

    @model_validator(mode="after")
    def checked(self) -> Answer:
        seen["validated"] = threading.get_ident()
        return self


def test_a_plain_def_route_runs_in_a_worker_thread_and_its_answer_is_checked_on_the_loop() -> None:
    seen.clear()

    async def on_the_loop() -> None:
        seen["loop"] = threading.get_ident()

    router = APIRouter(route_class=Route)

    @router.post("/things/{thing_id}", dependencies=[Depends(on_the_loop)])
    def make_thing(thing_id: str) -> Answer:
        """Make a thing."""
        seen["route"] = threading.get_ident()
        return {"id": thing_id}  # type: ignore[return-value]  # validated into an Answer by FastAPI

    app = FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        answer = client.post("/things/T-1")
    assert answer.status_code == 200 and answer.json() == {"id": "T-1"}
    assert seen["route"] != seen["loop"]  # the use case runs off the event loop …
    assert seen["validated"] == seen["loop"]  # … and its answer is not handed to the pool a second time
    assert app.openapi()["paths"]["/things/{thing_id}"]["post"]["description"] == "Make a thing."


# --- the lean handler (interfaces.http.routing.Handler) answers as FastAPI's own handler answers -------------

class Thing(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, max_length=10)
    count: int = Field(default=1, ge=1, le=5)


class Made(BaseModel):
    id: str
    name: str
    count: int


CALLS: list[str] = []  # the dependencies run, in order


async def reader(authorization: Annotated[str | None, Header(max_length=20)] = None) -> str:
    CALLS.append("reader")
    if authorization == "refused":
        raise HTTPException(403, "refused")
    return authorization or "anonymous"


async def writer(request: Request, reader: Annotated[str, Depends(reader)]) -> str:
    CALLS.append(f"writer {request.method}")
    return reader


async def version(if_match: Annotated[str | None, Header(max_length=5)] = None) -> int | None:
    return int(if_match) if if_match else None


def the_same_routes(route_class: type[APIRoute]) -> FastAPI:
    """One app with a few routes of each kind our routers have, their routes of `route_class`."""

    router = APIRouter(prefix="/things", tags=["things"], route_class=route_class)

    @router.post("/{thing_id}", status_code=201)
    def make(
        thing_id: Annotated[str, Path(pattern="^T-[0-9]+$")], body: Thing, by: Annotated[str, Depends(writer)],
        again: Annotated[str, Depends(reader)], expected: Annotated[int | None, Depends(version)],
        response: Response,
    ) -> Made:
        response.headers["ETag"] = f'"{expected or 1}"'
        if body.count == 5:
            response.status_code = 202
        return Made(id=thing_id, name=f"{body.name} by {by}/{again}", count=body.count)

    @router.get("")
    def listed(limit: Annotated[int, Query(ge=1, le=3)] = 2) -> list[Made]:
        return [{"id": f"T-{n}", "name": "n", "count": n} for n in range(1, limit + 1)]  # type: ignore[misc]

    @router.get("/{thing_id}/raw")
    def raw(thing_id: str) -> Response:
        return Response(f"raw {thing_id}", media_type="text/plain", headers={"X-Raw": "1"})

    @router.get("/{thing_id}/plain")
    def plain(thing_id: str, response: Response):  # noqa: ANN201 - no response model: jsonable_encoder
        response.headers["X-Plain"] = thing_id
        return {"id": thing_id, "at": datetime(2026, 12, 6, 10, 0, tzinfo=UTC)}

    app = FastAPI()
    app.include_router(router)
    return app


REQUESTS = [
    ("POST", "/things/T-1", {"json": {"name": "bolt"}}),
    ("POST", "/things/T-1", {"json": {"name": "bolt", "count": 5}, "headers": {"If-Match": "7"}}),
    ("POST", "/things/T-1", {"json": {"name": "", "count": 9, "colour": "red"}}),  # three refusals at once
    ("POST", "/things/X-1", {"json": {"name": "bolt"}, "headers": {"If-Match": "123456"}}),  # path and header
    ("POST", "/things/T-1", {"content": b'{"name": "bo', "headers": {"Content-Type": "application/json"}}),
    ("POST", "/things/T-1", {"content": b'{"name": "bolt"}', "headers": {"Content-Type": "text/plain"}}),
    ("POST", "/things/T-1", {"content": b'{"name": "bolt"}', "headers": {"Content-Type": "application/x+json"}}),
    ("POST", "/things/T-1",
     {"content": b'{"name": "bolt"}', "headers": {"Content-Type": 'application/json; charset="utf-8"'}}),
    ("POST", "/things/T-1", {"content": b'{"name": "bolt"}'}),  # no content type
    ("POST", "/things/T-1", {}),  # no body
    ("POST", "/things/T-1", {"json": {"name": "bolt"}, "headers": {"Authorization": "refused"}}),
    ("POST", "/things/T-1", {"json": {"name": "bolt"}, "headers": {"Authorization": "x" * 21}}),
    ("GET", "/things", {}),
    ("GET", "/things?limit=3", {}),
    ("GET", "/things?limit=9", {}),
    ("GET", "/things/T-1/raw", {}),
    ("GET", "/things/T-1/plain", {}),
    ("PUT", "/things/T-1", {}),
]


def test_the_lean_handler_answers_every_request_as_fastapis_own_handler_does() -> None:
    with TestClient(the_same_routes(Route)) as lean, TestClient(the_same_routes(APIRoute)) as stock:
        for method, path, kwargs in REQUESTS:
            CALLS.clear()
            mine = lean.request(method, path, **kwargs)
            ours = list(CALLS)
            CALLS.clear()
            fastapis = stock.request(method, path, **kwargs)
            assert (mine.status_code, mine.content) == (fastapis.status_code, fastapis.content), (method, path)
            assert sorted(mine.headers.items()) == sorted(fastapis.headers.items()), (method, path)
            # and each dependency ran as often, in the same order (the reader once a request: cached)
            assert ours == CALLS, (method, path)
            assert ours.count("reader") <= 1
    assert mine.status_code == 405  # (the last request: a method the path does not take)


def test_the_requests_compared_reach_the_routes() -> None:
    with TestClient(the_same_routes(Route)) as client:
        made = client.post("/things/T-1", json={"name": "bolt", "count": 5}, headers={"If-Match": "7"})
        assert made.status_code == 202 and made.headers["etag"] == '"7"'
        assert made.json() == {"id": "T-1", "name": "bolt by anonymous/anonymous", "count": 5}
        assert [p["loc"] for p in client.post("/things/T-1", json={"name": "", "count": 9, "colour": "red"})
                .json()["detail"]] == [["body", "name"], ["body", "count"], ["body", "colour"]]
        assert len(client.get("/things?limit=3").json()) == 3


def test_the_lean_handler_answers_json_routes_and_leaves_overrides_to_fastapi(monkeypatch) -> None:  # noqa: ANN001
    app = the_same_routes(Route)

    async def not_solved(**_: object) -> None:
        raise AssertionError("FastAPI's solve_dependencies ran")

    with TestClient(app) as client:
        monkeypatch.setattr(fastapi.routing, "solve_dependencies", not_solved)
        assert client.post("/things/T-1", json={"name": "bolt"}).json()["name"] == "bolt by anonymous/anonymous"
        monkeypatch.undo()
        # With a dependency overridden (as a test may), FastAPI's own handler answers, and honours it
        app.dependency_overrides[reader] = lambda: "stand-in"
        assert client.post("/things/T-1", json={"name": "bolt"}).json()["name"] == "bolt by stand-in/stand-in"


# --- the route index (interfaces.http.routing.Dispatch) picks the route FastAPI's router picks ---------------

def test_the_route_index_picks_every_request_s_route_as_fastapis_router_does(api) -> None:  # noqa: ANN001
    indexed = api.app
    assert isinstance(indexed.router.middleware_stack, Dispatch)
    paths = ["/", "/nowhere", "/crises/", "/crises/C-1/", "/crises/C-1/nowhere", "/docs/assets/none.css",
             "/openapi.json", "/health/live", "/health/live/", "/metrics"]
    for route in api_routes(indexed.routes):
        paths.append(route.path.replace("{", "").replace("}", ""))  # a value for each parameter: its name
    headers = {**api.headers("ADM", "admin"), "X-Request-ID": "same"}
    for path in paths:
        for method in ("GET", "POST", "PUT", "DELETE"):
            indexed.router.middleware_stack = Dispatch(indexed.router)
            via_index = api.request(method, path, headers=headers, json={}, follow_redirects=False)
            indexed.router.middleware_stack = indexed.router.app  # FastAPI's router alone
            via_fastapi = api.request(method, path, headers=headers, json={}, follow_redirects=False)
            assert via_index.status_code == via_fastapi.status_code, (method, path)
            assert via_index.headers.get("location") == via_fastapi.headers.get("location"), (method, path)
            if via_index.headers.get("content-type", "").endswith("json"):
                assert via_index.json().get("code") == via_fastapi.json().get("code"), (method, path)
    indexed.router.middleware_stack = Dispatch(indexed.router)


def test_a_route_added_after_the_index_was_made_is_found() -> None:
    app = FastAPI()
    router = APIRouter(route_class=Route)

    @router.get("/things/{thing_id}")
    def thing(thing_id: str) -> dict:
        return {"thing": thing_id}

    app.include_router(router)
    Dispatch.install(app)
    with TestClient(app) as client:
        assert client.get("/things/T-1").json() == {"thing": "T-1"}

        @router.get("/things/{thing_id}/parts")
        def parts(thing_id: str) -> dict:
            return {"parts": thing_id}

        @app.get("/others")
        def others() -> dict:
            return {"others": True}

        assert client.get("/things/T-1/parts").json() == {"parts": "T-1"}
        assert client.get("/others").json() == {"others": True}

        nested = APIRouter(route_class=Route)  # a router included, later, into one the index already watches

        @nested.get("/tools/{tool_id}")
        def tool(tool_id: str) -> dict:
            return {"tool": tool_id}

        router.include_router(nested)
        assert client.get("/tools/T-2").json() == {"tool": "T-2"}

        @nested.get("/tools/{tool_id}/owner")
        def owner(tool_id: str) -> dict:
            return {"owner": tool_id}

        assert client.get("/tools/T-2/owner").json() == {"owner": "T-2"}
        index = app.router.middleware_stack  # found through the index, made again (not by FastAPI's fallback)
        assert isinstance(index, Dispatch)
        assert [c.path_format for c in index.buckets["tools"] if c] == ["/tools/{tool_id}", "/tools/{tool_id}/owner"]
        assert "/things/{thing_id}/parts" in [c.path_format for c in index.buckets["things"] if c]
        assert client.post("/things/T-1").status_code == 405 and client.get("/none").status_code == 404
