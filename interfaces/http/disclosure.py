"""Keeping who saw SECRET and RECEIVED content: every answer a cleared reader gets is looked at on its way out.

Records in answers carry their `classification` and whether they are `redacted`. A record whose level is not
PUBLIC, shown with `"redacted": false`, is content the reader saw because they are cleared: the read is kept
in the disclosure log (infrastructure.disclosures) before the answer leaves, naming the records (kind, id,
crisis, classification), the reader and the endpoint.

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
from collections.abc import Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.audit.export import RECORD_OF_EVENT
from application.projections.crisis_timeline import RECORD_OF_ENTRY

# A list under one of these keys holds records of this kind.
KIND_OF_LIST = {
    "log": "log_entry",
    "situation_reports": "situation_report",
    "actions": "action",
    "open_actions": "action",
    "overdue_actions": "action",
    "decisions": "decision",
    "requests": "police_request",
    "open": "police_request",
    "closed": "police_request",
    "unanswered_beyond_threshold": "police_request",
    "information_shared": "information_share",
    "plans": "continuity_plan",
    "active_plans": "continuity_plan",
    "reviews_due": "continuity_plan",
    "active_crises": "crisis",
}
ID_OF_KIND = {
    "crisis": "crisis_id", "log_entry": "number", "situation_report": "number", "action": "action_id",
    "decision": "decision_id", "police_request": "request_id", "continuity_plan": "plan_id",
    "information_share": "shared_at",
}
ID_KEYS = ("decision_id", "action_id", "request_id", "plan_id", "number")
NOT_PUBLIC = (b"SECRET", b"RECEIVED")


def disclosed_records(document: Any, crisis_id: str | None = None) -> list[dict[str, Any]]:
    """The records of a JSON answer whose non-public content is shown: kind, id, crisis and classification."""
    found: dict[tuple[str, str | None, str | None], dict[str, Any]] = {}
    for record in _walk(document, None, {"crisis_id": crisis_id}):
        found.setdefault((record["kind"], record["id"], record["crisis_id"]), record)
    return list(found.values())


def _walk(node: Any, key: str | None, context: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, key, context)
        return
    if not isinstance(node, dict):
        return
    here = {**context, **{k: node[k] for k in ("crisis_id", "request_id", "liaison_id", "unit") if node.get(k)}}
    if isinstance(node.get("type"), str) and isinstance(node.get("data"), dict):  # an event of the log
        here.update(event_type=node["type"], position=node.get("position"))
    classification = node.get("classification")
    if (
        isinstance(classification, dict)
        and classification.get("level") not in (None, "PUBLIC")
        and node.get("redacted") is False
    ):
        yield _record(node, key, here, classification)
    for child_key, child in node.items():
        if isinstance(child, (dict, list)):
            yield from _walk(child, child_key, here)


def _record(node: dict[str, Any], key: str | None, context: dict[str, Any], classification: dict) -> dict[str, Any]:
    if "kind" in node and "ref" in node:  # a timeline entry: what the crisis records of itself names the crisis
        kind = RECORD_OF_ENTRY.get(node["kind"], "crisis")
        kind, record_id = (kind, node["ref"]) if kind in ID_OF_KIND.keys() - {"crisis"} else ("crisis", context.get("crisis_id"))
    elif key is None and "topic" in node and "liaison_id" in node:  # a police liaison matter
        kind, record_id = "police_liaison", node["liaison_id"]
    elif key == "response":  # the answer to a police request, inside the request
        kind, record_id = "police_request_response", context.get("request_id")
    elif key == "data" and context.get("event_type") in RECORD_OF_EVENT:  # an event's data (audit history)
        kind, id_key = RECORD_OF_EVENT[context["event_type"]]
        record_id = node.get(id_key) if id_key else f"position {context.get('position')}"
    else:
        kind = KIND_OF_LIST.get(key or "") or next((k.removesuffix("_id") for k in ID_KEYS if k in node), None)
        if kind is None:
            kind = "crisis" if "crisis_id" in node else (key or "record")
        id_key = ID_OF_KIND.get(kind)
        record_id = node.get(id_key) if id_key else next((node[k] for k in ID_KEYS if k in node), None)
    return {
        "kind": kind,
        "id": None if record_id is None else str(record_id),
        "crisis_id": context.get("crisis_id"),
        "classification": classification,
    }


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
        records = disclosed_records(document, (self.scope.get("path_params") or {}).get("crisis_id"))
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
                records = disclosed_records(json.loads(data))
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
