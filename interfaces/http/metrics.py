"""`/metrics` in the Prometheus text format, and the request id every answer carries.

What is measured, with labels that name code, never content (route templates, use cases, rule codes, read
model names), so no classified word reaches a scraper and the series stay few:

- `valmius_http_request_duration_seconds{route, method, status}`: latency by route template (`/crises/{crisis_id}`,
  not the path sent; `unmatched` for a path no route has) and status class (`2xx` … `5xx`);
- `valmius_commands_total{use_case, outcome}`: each write by its use case, `done`, `refused` or `failed`;
- `valmius_refusals_total{rule}`: each problem detail answered, by its rule code (counted in errors.problem,
  the one place every refusal is answered);
- `valmius_read_model_position`, `_behind_events`, `_lag_seconds{read_model}` and `valmius_log_head_position`:
  read at scrape time from the read models' tracking rows (one query, and the time of the oldest event a model
  misses, remembered by Projections);
- `valmius_stream_clients`: open `/situation-overview/stream` connections.

Who may scrape: an admin's or an auditor's bearer token, or anyone when VALMIUS_METRICS_PUBLIC is set (a
scraper on a private network; the series say nothing classified, but how busy the unit is can be telling).

Several workers (`valmius serve --workers N`) share their counters through prometheus-client's multiprocess
mode: `serve` gives them a directory (PROMETHEUS_MULTIPROC_DIR), any worker answering a scrape sums them all,
and the stream-client gauge sums the live workers'.

Every request is logged here, in one line at its end (`valmius.access`: the client, the request line, the
status and the time taken, with the request's id as every record has it), in place of uvicorn's access log,
which `valmius serve` turns off: one log record a request rather than two layers each looking at it.

The request id: an incoming `X-Request-ID` of 1 to 64 letters, digits and `-_.:` is kept, anything else is
replaced by a new one; it is echoed in `X-Request-ID`, put in every problem detail (`request_id`) and on every
log record written for the request (infrastructure.logging.REQUEST_ID).
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from infrastructure.bootstrap import Services
from infrastructure.logging import REQUEST_ID
from interfaces.http.security import secured

REQUEST_DURATION = Histogram(
    "valmius_http_request_duration_seconds", "Time to answer an HTTP request, by route template",
    ["route", "method", "status"],
)
COMMANDS = Counter("valmius_commands", "Writes by use case and outcome", ["use_case", "outcome"])
REFUSALS = Counter("valmius_refusals", "Problem details answered, by rule code", ["rule"])
STREAM_CLIENTS = Gauge(
    "valmius_stream_clients", "Open situation-overview streams", multiprocess_mode="livesum"
)

READS = frozenset({"GET", "HEAD", "OPTIONS"})
access = logging.getLogger("valmius.access")
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(sent: str | None) -> str:
    """The client's X-Request-ID when it is a plain, short token; a new one (32 hex digits) otherwise. A new one
    names a request in the logs and problems, and guards nothing, so it is drawn from `random`: uuid4 reads
    os.urandom, which lets go of the GIL on the event loop of every request (measured: the loop then waits for
    the threads running commands to hand it back)."""
    return sent if sent is not None and _VALID_ID.fullmatch(sent) else f"{random.getrandbits(128):032x}"


@dataclass
class Observed:
    """Gives each request its id, puts the security headers on its answer (interfaces.http.security) and
    measures it. Outermost of our middleware: it sees every answer, refusals at the edge included. A request runs in its own task, so REQUEST_ID stays set for the server-error
    handler that answers an unexpected failure outside it."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.answer(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = next((value for name, value in scope["headers"] if name == b"x-request-id"), None)  # names: lower case
        request_id = request_id_of(sent.decode("latin-1") if sent is not None else None)
        REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = secured(scope, message)
                headers = message["headers"]
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            observe(scope, status, seconds)
            if access.isEnabledFor(logging.INFO):
                log_request(scope, status, seconds)


def log_request(scope: Scope, status: int, seconds: float) -> None:
    """One line for a request answered: `127.0.0.1:50000 "POST /crises/C-1/log-entries HTTP/1.1" 200 4.1 ms`
    (what uvicorn's access log said, and the time taken; a `"` sent in the path is written `%22`)."""
    client = scope.get("client")
    path = scope.get("raw_path") or scope["path"].encode()
    target = path.decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    access.info(
        '%s "%s %s HTTP/%s" %d %.1f ms', f"{client[0]}:{client[1]}" if client else "-", scope["method"],
        target.replace('"', "%22"), scope.get("http_version", "1.1"), status, seconds * 1000,
    )


_SERIES: dict[tuple[Any, ...], Any] = {}  # each labelled series once looked up: `labels()` checks and locks each time


def _series(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES.setdefault(key, metric.labels(*labels))
    return found


def observe(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    method = scope["method"]
    _series(REQUEST_DURATION, getattr(route, "path", "unmatched"), method, f"{status // 100}xx").observe(seconds)
    if method not in READS and route is not None:
        outcome = "done" if status < 400 else "refused" if status < 500 else "failed"
        _series(COMMANDS, route.name, outcome).inc()


class ReadModels:
    """Each read model's position and lag, read when scraped (the same in every process: from the store)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> list[Any]:
        projections = self.services.projections
        status, head = projections.status(), projections.head()
        labels = ["read_model"]
        position = GaugeMetricFamily("valmius_read_model_position", "Log position the read model reflects",
                                     labels=labels)
        behind = GaugeMetricFamily("valmius_read_model_behind_events", "Events between the read model and the "
                                   "log's head", labels=labels)
        lag = GaugeMetricFamily("valmius_read_model_lag_seconds", "Age of the oldest event the read model has "
                                "not applied (0 when it is at the head)", labels=labels)
        for name, (at, _) in sorted(status.items()):
            position.add_metric([name], at)
            behind.add_metric([name], max(0, head - at))
            lag.add_metric([name], projections.lag_seconds(at, head))
        return [position, behind, lag, GaugeMetricFamily("valmius_log_head_position", "Position of the last "
                                                         "stored event", value=head)]


def exposition(services: Services) -> bytes:
    """Every series, in the text format: this process's (or, with several workers, all of theirs, summed) and
    the read models'."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(ReadModels(services))
