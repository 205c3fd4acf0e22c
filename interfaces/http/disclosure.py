"""Keeping who saw SECRET and RECEIVED content: every answer a cleared reader gets is looked at on its way out.

Records in answers carry their `classification` and whether they are `redacted`. A record whose level is not
PUBLIC, shown with `"redacted": false`, is content the reader saw because they are cleared: the read is kept
in the disclosure log (infrastructure.disclosures) before the answer leaves, naming the records (kind, id,
crisis, classification), the reader and the endpoint. Which records an answer holds, and their kinds and
ids, are read from its type, the route's response model: each record model declares its kind and the field
naming it (interfaces.http.schemas.read_models.Record), so nothing is guessed from key names.

The answer is walked as the JSON it is, alongside its model, rather than collected from the route's model
instances before serialisation: most reads return their read model's rows as dicts, and the walk of the bytes
costs nothing unless a cleared reader's answer mentions SECRET or RECEIVED.

What it costs, and for whom: a request that is not a GET passes straight through; so does every answer to a
reader without clearance (one look at the authenticated actor when the answer starts). Only a cleared
reader's successful JSON answer is held until complete and, if it mentions SECRET or RECEIVED at all, parsed.

The live overview (Server-Sent Events) is kept as one disclosure when the stream starts: the records of its
first frame, or, when that frame shows none, a row of kind "overview_stream" saying that a cleared reader
subscribed. Later frames are not inspected (they would be one row per reader every few seconds); a
subscription is read as consent to see whatever the overview shows while it lasts.

Answers that are not JSON (the crisis export archive) are kept by the route that builds them.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from functools import cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interfaces.http.schemas.audit import EventPageResponse, EventResponse
from interfaces.http.schemas.crisis import CrisisResponse
from interfaces.http.schemas.division_preparedness import DivisionPreparednessResponse
from interfaces.http.schemas.police_liaison import PoliceLiaisonResponse
from interfaces.http.schemas.read_models import (
    CrisisTimelineResponse,
    DecisionLogResponse,
    PoliceLiaisonBoardResponse,
    ReadinessBoardResponse,
    Record,
    SituationOverviewResponse,
)

NOT_PUBLIC = (b"SECRET", b"RECEIVED")
# What an answer is read as when its type is not given: the first of these declaring every key of it.
Answer = Union[  # noqa: UP007 - a union of classes kept as a value
    CrisisResponse, PoliceLiaisonResponse, DivisionPreparednessResponse, SituationOverviewResponse,
    CrisisTimelineResponse, DecisionLogResponse, ReadinessBoardResponse, PoliceLiaisonBoardResponse,
    EventPageResponse,
]


def disclosed_records(document: Any, crisis_id: str | None = None, shape: Any = Answer) -> list[dict[str, Any]]:
    """The records of a JSON answer whose non-public content is shown: kind, id, crisis and classification.
    `shape` is the answer's type (its route's response model): each record model in it names the kind and id
    of the records it holds (interfaces.http.schemas.read_models.Record)."""
    found: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    for record in _walk(document, shape, None, crisis_id):
        found.setdefault((record["kind"], record["id"], record["crisis_id"]), record)
    return list(found.values())


def _walk(node: Any, shape: Any, within: str | None, crisis_id: str | None) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        item = next((get_args(s)[0] for s in _members(shape) if get_origin(s) is list), None)
        for value in node:
            yield from _walk(value, item, within, crisis_id)
        return
    if not isinstance(node, dict):
        return
    models = [s for s in _members(shape) if _is_model(s)]
    model = models[0] if len(models) == 1 else next((m for m in models if node.keys() <= m.model_fields.keys()), None)
    if model is None:  # a mapping: its values are of the declared type
        values = next((get_args(s)[1] for s in _members(shape) if get_origin(s) is dict), None)
        for value in node.values():
            yield from _walk(value, values, within, crisis_id)
        return
    crisis_id = node.get("crisis_id") or crisis_id
    if issubclass(model, Record):
        kind, within = model.disclosed_as(node, within, crisis_id)
        if _shown(node):
            yield _record(kind, within, crisis_id, node)
    if issubclass(model, EventResponse):  # the record the event writes: its data
        data = node.get("data")
        if isinstance(data, dict) and _shown(data):
            kind, record_id = model.data_disclosed_as(node, _record_ids())
            yield _record(kind, record_id, data.get("crisis_id") or crisis_id, data)
        return
    for name, field in model.model_fields.items():
        if isinstance(node.get(name), (dict, list)):
            yield from _walk(node[name], field.annotation, within, crisis_id)


def _members(shape: Any) -> tuple[Any, ...]:
    return get_args(shape) if get_origin(shape) in (Union, types.UnionType) else (shape,)


def _is_model(shape: Any) -> bool:
    return isinstance(shape, type) and issubclass(shape, BaseModel)


def _shown(node: dict[str, Any]) -> bool:
    """A record of a level other than PUBLIC, shown unredacted."""
    classification = node.get("classification")
    return (
        isinstance(classification, dict)
        and classification.get("level") not in (None, "PUBLIC")
        and node.get("redacted") is False
    )


def _record(kind: str, record_id: Any, crisis_id: str | None, node: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": None if record_id is None else str(record_id),
        "crisis_id": crisis_id,
        "classification": node["classification"],
    }


@cache
def _record_ids() -> dict[str, str | None]:
    """The field naming a record of each kind, from the record models."""
    found: dict[str, str | None] = {}
    models = list(Record.__subclasses__())
    while models:
        model = models.pop()
        models += model.__subclasses__()
        if getattr(model, "record_id", None):
            found.setdefault(model.record_kind, model.record_id)
    return found


class DisclosureRecorder:
    """ASGI middleware: keeps the disclosures of cleared readers' GET answers (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Watch(scope, send).send)


class _Watch:
    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.forward = send
        self.mode = "pass"
        self.actor: Any = None
        self.body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._start(message)
        elif message["type"] == "http.response.body" and self.mode != "pass":
            if self.mode == "json":
                self.body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                content = b"".join(self.body)
                await self._keep(content)
                message = {**message, "body": content}
            else:
                await self._stream_chunk(message.get("body", b""))
        await self.forward(message)

    def _start(self, message: Message) -> None:
        self.actor = (self.scope.get("state") or {}).get("actor")
        if self.actor is None or not getattr(self.actor, "clearance", False) or message["status"] != 200:
            return
        headers = dict(message.get("headers") or [])
        content_type = headers.get(b"content-type", b"")
        if content_type.startswith(b"application/json"):
            self.mode = "json"
        elif content_type.startswith(b"text/event-stream"):
            self.mode = "stream"

    async def _keep(self, content: bytes) -> None:
        if not any(level in content for level in NOT_PUBLIC):
            return
        try:
            document = json.loads(content)
        except ValueError:
            return
        route = self.scope.get("route")
        records = disclosed_records(
            document,
            (self.scope.get("path_params") or {}).get("crisis_id"),
            getattr(route, "response_model", None) or Answer,
        )
        await self._record(records)

    async def _stream_chunk(self, chunk: bytes) -> None:
        """Look for the first overview frame; keep it as the stream's disclosure, then stop looking."""
        self.body.append(chunk)
        text = b"".join(self.body).decode("utf-8", errors="replace")
        for frame in text.split("\n\n")[:-1]:
            data = "\n".join(line[5:].lstrip() for line in frame.split("\n") if line.startswith("data:"))
            if not data:
                continue
            try:
                records = disclosed_records(json.loads(data), shape=SituationOverviewResponse)
            except ValueError:
                records = []
            await self._record(records or [{"kind": "overview_stream", "id": None, "crisis_id": None,
                                            "classification": {}}])
            self.mode, self.body = "pass", []
            return

    async def _record(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        services = self.scope["app"].state.services
        endpoint = f"GET {self.scope['path']}"
        if self.scope.get("query_string"):
            endpoint += "?" + self.scope["query_string"].decode("latin-1")
        await run_in_threadpool(services.disclosures.record, self.actor, endpoint, records)
