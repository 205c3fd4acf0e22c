"""Every route runs in one hop to the thread pool (interfaces.http.routing), checked over the route table.

FastAPI hands a plain `def` endpoint to its thread pool and then hands its answer to the pool a second time to
validate it; an `async def` endpoint's answer is validated on the event loop. So each route of ours reaches
FastAPI as an `async def` (or as a generator, which streams): a plain `def` route through `Route`'s wrapper,
which runs it in the pool once.
"""

from __future__ import annotations

import inspect
import threading

from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, model_validator

from interfaces.http.routing import Route
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
