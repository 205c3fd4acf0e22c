#!/usr/bin/env python3
"""Projection speed of Valmius on PostgreSQL: commit → read-model lag, rebuild rate, commit → SSE delivery.

What it does, in one run, on a database of its own (default `valmius_bench_projections`, created afresh and
dropped at the end unless --keep-database):

1. Lag. Starts the service as production runs it on PostgreSQL: `valmius serve` (no embedded follower) and
   the one projection worker `valmius project`, each in its own process. Sends commands through HTTP at a
   steady rate (default 100/s, open loop: every command has its scheduled send time, so a slow answer does
   not lower the rate), and for each measured command takes the time from its HTTP answer (which carries
   `Valmius-Position`, the log position of the committed write) until the read models' tracking position
   reaches it. The tracking position is watched by a separate process on a dedicated connection polling
   `SELECT min(position) FROM valmius_tracking` about every millisecond (the tracking rows are updated in the
   read models' own transactions, so a new value is seen once it is committed). A command's lag is the first
   poll that returned a position ≥ its position minus the arrival of its answer; 0 when the read models were
   already there when the answer arrived. Resolution: one poll period (printed, ~1.1 ms); the figure is an
   upper bound by at most that much.
2. SSE delivery. With the same two processes, opens N (default 200) Server-Sent-Events clients on
   GET /situation-overview/stream with a leadership token (raw asyncio connections, in a separate process),
   sends commands at a modest rate, and for each command and each client takes the time from the command's
   HTTP answer until that client has received an `overview` event whose `id:` is ≥ the command's position.
   The tracking poller runs here too, so the time splits into commit → read models and read models → client.
3. Rebuild. Stops the service and the worker, tops the log up to N events (default 100,000) generated quickly
   in this process with the aggregates' own command methods and Coordination.save (many commands per
   transaction: the use cases, one transaction each, would take minutes), with a crisis-room mix of crisis,
   readiness and police-liaison events. Then measures on that log: the raw scan-and-decode rate
   (recorder.select_notifications in batches + mapper.to_domain_event, nothing else), the follower's
   catch-up into all read models, `Projections.rebuild` of each read model one after another (what
   `valmius rebuild` does) and, where Projections supports it, all read models rebuilt in one pass. The read
   models' tables must be identical after each of these (checked by a digest of every row); they are VACUUMed,
   untimed, before each rebuild, as autovacuum would have done between two rebuilds in production.

With --profile DIR the service and the worker run under `py-spy record --gil` (where to look when a target is
missed; it slows them, so the figures of such a run are not the figures).

Nothing is written into the repository: results go to stdout, progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import http.client
import inspect
import json
import os
import random
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    drop_database,
    free_port,
    fresh_database,
    percentile,
    valmius_command,
    wait_healthy,
)

import psycopg  # noqa: E402

now_ns = time.monotonic_ns  # CLOCK_MONOTONIC: one clock for this process and its helper processes

TRACKING_QUERY = "SELECT min(position) FROM valmius_tracking"


# --- small things ------------------------------------------------------------------------------------


def summary_ms(values_ns: list[int | float]) -> dict[str, float]:
    ms = [v / 1e6 for v in values_ns]
    return {
        "n": len(ms),
        "median": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "mean": statistics.fmean(ms) if ms else float("nan"),
    }


class Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()
        self.last_line = 0.0

    def note(self, text: str) -> None:
        if self.enabled:
            print(f"[{time.monotonic() - self.started:6.1f} s] {text}", file=sys.stderr, flush=True)

    def line(self, text: str) -> None:
        """A progress line, rewritten in place on a terminal; every 5 s otherwise."""
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write(f"\r  {text}\033[K")
            sys.stderr.flush()
        elif time.monotonic() - self.last_line >= 5:
            self.last_line = time.monotonic()
            print(f"  {text}", file=sys.stderr, flush=True)

    def end_line(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.last_line = 0.0


class Process:
    """A `valmius` subcommand in its own process, its log in a temporary file (shown if it fails). With
    `profile` (a directory), it runs under `py-spy record` and leaves a raw flame graph there."""

    def __init__(self, args: list[str], env: dict[str, str], profile: str | None = None) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="valmius-bench-", suffix=".log", delete=False)
        self.command = [*valmius_command(), *args]
        self.profiled = profile is not None
        spy = []
        if profile is not None:
            py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy") or "py-spy"
            spy = [
                py_spy,
                "record",
                "--gil",
                "-f",
                "raw",
                "-r",
                "100",
                "-o",
                str(Path(profile) / f"{args[0]}.txt"),
                "--",
            ]
        self.process = subprocess.Popen(
            [*spy, *self.command], cwd=REPO, env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT
        )

    def tail(self, lines: int = 30) -> str:
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{shlex.join(self.command)} exited with {self.process.returncode}:\n{self.tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            if self.profiled:
                self.process.send_signal(signal.SIGINT)  # py-spy writes its file and ends the process
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        os.unlink(self.log.name)


class Helper:
    """This script in another process (`--helper …`): prints READY, runs until told STOP, prints one JSON line."""

    def __init__(self, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def wait_ready(self, timeout: float) -> None:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if line.strip() != "READY":
            self.process.kill()
            raise RuntimeError(f"helper {self.process.args[2:]} did not get ready: {line!r}")

    def finish(self, message: str = "STOP", timeout: float = 60) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(message + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        self.process.wait(timeout=10)
        if not line:
            raise RuntimeError(f"helper {self.process.args[2:]} gave no result")
        return json.loads(line)


# --- helper processes ----------------------------------------------------------------------------------


def helper_poll(dsn: str, poll_ms: float) -> int:
    """Poll the read models' tracking position on a dedicated connection; report when it changed."""
    conn = psycopg.connect(dsn, autocommit=True)
    cur = conn.cursor()
    observations: list[tuple[int, int]] = []
    intervals: list[int] = []
    queries: list[int] = []
    last, previous = None, None
    stdin = sys.stdin.fileno()
    print("READY", flush=True)
    while True:
        t0 = now_ns()
        cur.execute(TRACKING_QUERY, prepare=True)
        position = cur.fetchone()[0]
        t1 = now_ns()
        queries.append(t1 - t0)
        if previous is not None:
            intervals.append(t1 - previous)
        previous = t1
        if position != last:
            observations.append((t1, int(position or 0)))
            last = position
        if select.select([stdin], [], [], poll_ms / 1000)[0]:
            break
    sys.stdin.readline()
    print(json.dumps({"observations": observations, "interval": summary_ms(intervals), "query": summary_ms(queries)}))
    return 0


class SseClient(asyncio.Protocol):
    """One dashboard: GET /situation-overview/stream, de-chunked, `overview` frames timed on arrival."""

    def __init__(self, request: bytes, on_frame: Callable[[], None]) -> None:
        self.request = request
        self.on_frame = on_frame
        self.raw = b""
        self.body = b""
        self.headers_done = False
        self.status = 0
        self.chunk_left = -1  # bytes of the current chunk still to come (+2 for its CRLF); -1: size line next
        self.frames: list[tuple[int, int, int]] = []  # (arrival ns, id, bytes)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.error: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        arrived = now_ns()
        self.raw += data
        if not self.headers_done:
            end = self.raw.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.raw = self.raw[:end], self.raw[end + 4 :]
            self.status = int(head.split(b" ", 2)[1])
            if self.status != 200:
                self.error = head.decode(errors="replace")[:200]
            self.headers_done = True
        while self.raw:  # chunked transfer encoding
            if self.chunk_left < 0:
                end = self.raw.find(b"\r\n")
                if end < 0:
                    break
                self.chunk_left = int(self.raw[:end].split(b";")[0], 16) + 2
                self.raw = self.raw[end + 2 :]
            take = self.raw[: self.chunk_left]
            self.raw = self.raw[len(take) :]
            self.chunk_left -= len(take)
            self.body += take
            if self.chunk_left == 0:
                self.body = self.body[:-2]  # the chunk's CRLF
                self.chunk_left = -1
        while (end := self.body.find(b"\n\n")) >= 0:
            frame, self.body = self.body[:end], self.body[end + 2 :]
            if frame.startswith(b"event: overview"):
                id_at = frame.find(b"\nid: ")
                id_end = frame.find(b"\n", id_at + 1)
                self.frames.append((arrived, int(frame[id_at + 5 : id_end]), len(frame)))
                self.on_frame()


async def run_sse_clients(host: str, port: int, token: str, clients: int) -> int:
    loop = asyncio.get_running_loop()
    request = (
        f"GET /situation-overview/stream HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
    ).encode()
    first = asyncio.Event()
    protocols: list[SseClient] = []

    def frame_arrived() -> None:
        if not first.is_set() and all(p.frames for p in protocols) and len(protocols) == clients:
            first.set()

    started = time.monotonic()
    for k in range(0, clients, 20):  # connect in waves: each connection computes its first overview
        batch = [
            loop.create_connection(lambda: SseClient(request, frame_arrived), host, port)
            for _ in range(min(20, clients - k))
        ]
        for _, protocol in await asyncio.gather(*batch):
            protocols.append(protocol)
        await asyncio.sleep(0.05)
    try:
        await asyncio.wait_for(first.wait(), timeout=120)
    except TimeoutError:
        errors = [p.error for p in protocols if p.error][:3]
        print(json.dumps({"error": f"not every client got its first overview; {errors}"}), flush=True)
        return 1
    connect_seconds = time.monotonic() - started
    print("READY", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)
    until = int(line.split()[1]) if len(line.split()) > 1 else 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(p.frames and p.frames[-1][1] >= until for p in protocols):
        await asyncio.sleep(0.05)
    for p in protocols:
        if p.transport is not None:
            p.transport.close()
    result = {
        "clients": [p.frames for p in protocols],
        "closed_early": sum(p.closed for p in protocols),
        "errors": [p.error for p in protocols if p.error][:5],
        "connect_seconds": connect_seconds,
    }
    print(json.dumps(result), flush=True)
    return 0


def helper_sse(url: str, token: str, clients: int) -> int:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    parsed = urlparse(url)
    return asyncio.run(run_sse_clients(parsed.hostname or "127.0.0.1", parsed.port or 80, token, clients))


# --- commands through HTTP -------------------------------------------------------------------------------


LEVELS = ("BASIC", "ENHANCED", "COMMAND")  # EMERGENCY needs emergency conditions in force


@dataclass
class Owned:
    """What one client owns (so that every command it sends is accepted, and clients never contend)."""

    k: int
    crises: list[str]
    liaison: str
    units: list[str]
    readiness: dict[str, str]
    severity: dict[str, int] = field(default_factory=dict)
    open_actions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    open_requests: list[str] = field(default_factory=list)
    counter: int = 0


# The HTTP mix: crisis room work, with readiness changes and police requests alongside.
HTTP_MIX = [
    ("log", 44),
    ("severity", 6),
    ("assign", 14),
    ("complete", 14),
    ("sitrep", 5),
    ("decision", 4),
    ("readiness", 6),
    ("raise", 4),
    ("answer", 3),
]


def next_http_command(o: Owned, rng: random.Random) -> tuple[str, str, dict[str, Any], str]:
    """(kind, path, body, token name) of the next command of client `o`."""
    kinds, weights = zip(*HTTP_MIX)
    kind = rng.choices(kinds, weights)[0]
    o.counter += 1
    n = o.counter
    crisis = o.crises[n % len(o.crises)]
    if kind == "complete" and not o.open_actions.get(crisis):
        kind = "assign"
    if kind == "readiness" and not o.units:
        kind = "log"
    if kind == "answer" and not o.open_requests:
        kind = "raise"
    now = datetime.now(timezone.utc)
    officer = f"DO-{o.k}"
    if kind == "log":
        body = {
            "text": f"Situation update {n}: crews on site, {rng.randint(10, 9999)} customers affected",
            "source": rng.choice(["HSY", "Helen", "HRT", None]),
        }
        return kind, f"/crises/{crisis}/log-entries", body, officer
    if kind == "severity":
        to = 3 if o.severity.get(crisis, 2) == 2 else 2
        o.severity[crisis] = to
        return kind, f"/crises/{crisis}/severity", {"to_severity": to, "reason": f"reassessed ({n})"}, officer
    if kind == "assign":
        unit = UNIT_CODES[n % len(UNIT_CODES)]
        action_id = f"A-{o.k}-{n}"
        o.open_actions.setdefault(crisis, []).append((action_id, unit))
        body = {
            "action_id": action_id,
            "unit": unit,
            "task": f"Task {n} for {unit}",
            "due_at": (now + timedelta(hours=2)).isoformat(),
        }
        return kind, f"/crises/{crisis}/actions", body, officer
    if kind == "complete":
        action_id, unit = o.open_actions[crisis].pop(0)
        return kind, f"/crises/{crisis}/actions/{action_id}/complete", {"note": "done"}, f"DC-{unit}"
    if kind == "sitrep":
        body = {"summary": f"Sitrep {n}: situation stable", "next_due_at": (now + timedelta(hours=4)).isoformat()}
        return kind, f"/crises/{crisis}/situation-reports", body, officer
    if kind == "decision":
        body = {
            "decision_id": f"D-{o.k}-{n}",
            "decided_by": "Head of Preparedness",
            "decision": f"Decision {n}",
            "rationale": "protect vulnerable residents first",
            "options": ["act now", "wait for HSY"],
            "review_at": (now + timedelta(hours=12)).isoformat(),
        }
        return kind, f"/crises/{crisis}/decisions", body, officer
    if kind == "readiness":
        unit = o.units[n % len(o.units)]
        to = rng.choice([level for level in LEVELS if level != o.readiness[unit]])
        o.readiness[unit] = to
        body = {"to_level": to, "reason": f"situation {n}", "crisis_ref": crisis}
        return kind, f"/division-preparedness/{unit}/readiness", body, "PM"
    if kind == "raise":
        request_id = f"PR-{o.k}-{n}"
        o.open_requests.append(request_id)
        body = {
            "request_id": request_id,
            "direction": rng.choice(["CITY_TO_POLICE", "POLICE_TO_CITY"]),
            "request_type": rng.choice(["INFORMATION", "COORDINATION"]),
            "subject": f"Patrol support {n}",
        }
        return kind, f"/police-liaisons/{o.liaison}/requests", body, "PC"
    request_id = o.open_requests.pop(0)
    body = {"response": "two patrols 22:30–02:00", "answered_by": "HPD field commander"}
    return kind, f"/police-liaisons/{o.liaison}/requests/{request_id}/answer", body, "PC"


UNIT_CODES: list[str] = []  # filled from the policy's unit registry


@dataclass
class Sample:
    scheduled: int
    sent: int
    answered: int
    position: int
    status: int
    kind: str
    measured: bool


def drive(
    host: str,
    port: int,
    tokens: dict[str, str],
    owners: list[Owned],
    rate: float,
    warmup: float,
    duration: float,
    progress: Progress,
    label: str,
) -> tuple[list[Sample], list[str]]:
    """Open loop: client k sends its j-th command at start + (j·K + k)/rate, on its own keep-alive connection."""
    clients = len(owners)
    period = int(1e9 / rate)
    start = now_ns() + 200_000_000
    measure_from = start + int(warmup * 1e9)
    end = measure_from + int(duration * 1e9)
    samples: list[list[Sample]] = [[] for _ in owners]
    problems: list[str] = []
    errors: list[BaseException] = []

    def client(k: int) -> None:
        o = owners[k]
        rng = random.Random(1000 + k)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            j = 0
            while (scheduled := start + (j * clients + k) * period) < end:
                j += 1
                kind, path, body, who = next_http_command(o, rng)
                wait = scheduled - now_ns()
                if wait > 0:
                    time.sleep(wait / 1e9)
                headers = {"Authorization": f"Bearer {tokens[who]}", "Content-Type": "application/json"}
                sent = now_ns()
                conn.request("POST", path, body=json.dumps(body).encode(), headers=headers)
                response = conn.getresponse()
                answer = response.read()
                answered = now_ns()
                position = int(response.getheader("Valmius-Position") or 0)
                if response.status >= 300 and len(problems) < 5:
                    problems.append(f"{response.status} {path}: {answer[:200]!r}")
                samples[k].append(
                    Sample(scheduled, sent, answered, position, response.status, kind, scheduled >= measure_from)
                )
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        elapsed = (now_ns() - start) / 1e9
        done = sum(len(s) for s in samples)
        progress.line(
            f"{label}: {elapsed:5.1f}/{warmup + duration:.0f} s  {done:6d} commands  {done / max(elapsed, 0.1):6.1f}/s"
        )
    progress.end_line()
    if errors:
        raise RuntimeError(f"{label}: a client failed: {errors[0]!r}") from errors[0]
    return [s for ss in samples for s in ss], problems


# --- setup through the application --------------------------------------------------------------------


def issue_tokens(services: Any, clients: int) -> dict[str, str]:
    now = datetime.now(timezone.utc)
    tokens: dict[str, str] = {}

    def issue(name: str, role: str, unit: str | None = None) -> None:
        tokens[name], _ = services.tokens.issue(
            user=name, role=role, unit=unit, clearance=False, issued_by="bench", now=now
        )

    for k in range(clients):
        issue(f"DO-{k}", "duty_officer")
    for unit in UNIT_CODES:
        issue(f"DC-{unit}", "division_contact", unit)
    issue("PM", "preparedness_manager")
    issue("PC", "police_coordinator")
    issue("LR", "leadership")
    return tokens


def setup_owners(app: Any, prefix: str, clients: int, crises_per_client: int) -> list[Owned]:
    """Crises and a police liaison per client, declared through the Coordination use cases."""
    from domain.access import Actor, Role
    from domain.division_preparedness import DivisionPreparedness

    owners = []
    for k in range(clients):
        officer = Actor(f"DO-{k}", Role.DUTY_OFFICER)
        crises = [f"{prefix}{k}-{i}" for i in range(crises_per_client)]
        for crisis_id in crises:
            app.declare_crisis(
                officer,
                crisis_id=crisis_id,
                title=f"Storm {crisis_id}",
                category="SEVERE_WEATHER",
                severity=2,
                areas=["Vuosaari", "Kontula"],
            )
        liaison = f"L-{prefix}{k}"
        app.open_police_liaison(Actor("PC", Role.POLICE_COORDINATOR), liaison_id=liaison, crisis_id=crises[0])
        units = [u for i, u in enumerate(UNIT_CODES) if i % clients == k]
        readiness = {u: app.repository.get(DivisionPreparedness.id_for(u)).readiness for u in units}
        owners.append(
            Owned(k, crises, liaison, units, {u: (r if r in LEVELS else "BASIC") for u, r in readiness.items()})
        )
    return owners


def wait_caught_up(services: Any, position: int, timeout: float, what: str) -> float:
    started = time.monotonic()
    while services.projections.position() < position:
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what}: the read models did not reach position {position} in {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


# --- phase 1: commit → read models -------------------------------------------------------------------


def first_reached(observations: list[tuple[int, int]]) -> Callable[[int], int | None]:
    """When the poller first saw the tracking position at or beyond `position` (None: never)."""
    times = [t for t, _ in observations]
    positions = [p for _, p in observations]
    for i in range(1, len(positions)):  # min over read models only grows; guard anyway
        positions[i] = max(positions[i], positions[i - 1])

    def at(position: int) -> int | None:
        i = bisect.bisect_left(positions, position)
        return times[i] if i < len(times) else None

    return at


def lag_phase(ctx: Context) -> dict[str, Any]:
    args, progress = ctx.args, ctx.progress
    owners = setup_owners(ctx.app, "LAG", args.lag_clients, args.crises_per_client)
    wait_caught_up(ctx.services, ctx.app.recorder.max_notification_id(), 60, "lag set-up")
    poller = Helper(["--helper", "poll", "--dsn", ctx.database_url, "--poll-ms", str(args.poll_ms)])
    poller.wait_ready(15)
    progress.note(
        f"lag: {args.rate:g} commands/s through HTTP from {args.lag_clients} clients, "
        f"{args.warmup:g} s warm-up + {args.lag_duration:g} s measured"
    )
    samples, problems = drive(
        "127.0.0.1", ctx.port, ctx.tokens, owners, args.rate, args.warmup, args.lag_duration, progress, "lag"
    )
    last = max(s.position for s in samples)
    wait_caught_up(ctx.services, last, 30, "lag drain")
    time.sleep(0.05)
    polled = poller.finish()
    return lag_result(samples, polled, problems, args.rate, args.lag_duration)


def lag_result(
    samples: list[Sample], polled: dict[str, Any], problems: list[str], rate: float, duration: float
) -> dict[str, Any]:
    reached = first_reached([tuple(o) for o in polled["observations"]])
    measured = [s for s in samples if s.measured and s.status < 300 and s.position]
    lags, already, missing = [], 0, 0
    for s in measured:
        seen = reached(s.position)
        if seen is None:
            missing += 1
            continue
        lag = seen - s.answered
        if lag <= 0:
            already += 1
        lags.append(max(lag, 0))
    sent = [s for s in samples if s.measured]
    span = (max(s.sent for s in sent) - min(s.sent for s in sent)) / 1e9 if len(sent) > 1 else duration
    return {
        "commands": len(sent),
        "refused": sum(s.status >= 300 for s in sent),
        "achieved_rate": (len(sent) - 1) / span if span else 0.0,
        "target_rate": rate,
        "late_sends_over_10ms": sum(s.sent - s.scheduled > 10_000_000 for s in sent),
        "http_latency": summary_ms([s.answered - s.sent for s in sent]),
        "lag": summary_ms(lags),
        "applied_before_answer": already,
        "never_seen": missing,
        "poll_interval": polled["interval"],
        "poll_query": polled["query"],
        "tracking_advances": len(polled["observations"]),
        "mix": dict(Counter(s.kind for s in sent).most_common()),
        "problems": problems,
    }


# --- phase 2: commit → SSE clients -------------------------------------------------------------------


def sse_phase(ctx: Context) -> dict[str, Any]:
    args, progress = ctx.args, ctx.progress
    owners = setup_owners(ctx.app, "SSE", 1, args.crises_per_client)
    wait_caught_up(ctx.services, ctx.app.recorder.max_notification_id(), 60, "sse set-up")
    progress.note(f"sse: connecting {args.sse_clients} SSE clients (leadership token)")
    clients = Helper(
        [
            "--helper",
            "sse",
            "--url",
            f"http://127.0.0.1:{ctx.port}",
            "--token",
            ctx.tokens["LR"],
            "--sse-clients",
            str(args.sse_clients),
        ]
    )
    clients.wait_ready(150)
    poller = Helper(["--helper", "poll", "--dsn", ctx.database_url, "--poll-ms", str(args.poll_ms)])
    poller.wait_ready(15)
    time.sleep(1.0)
    progress.note(
        f"sse: {args.sse_rate:g} commands/s for {args.sse_duration:g} s to {args.sse_clients} connected clients"
    )
    samples, problems = drive(
        "127.0.0.1", ctx.port, ctx.tokens, owners, args.sse_rate, 1.0, args.sse_duration, progress, "sse"
    )
    last = max(s.position for s in samples)
    wait_caught_up(ctx.services, last, 30, "sse drain")
    received = clients.finish(f"STOP {last}", timeout=60)
    polled = poller.finish()
    if "error" in received:
        raise RuntimeError(f"SSE clients: {received['error']}")
    reached = first_reached([tuple(o) for o in polled["observations"]])
    measured = [s for s in samples if s.measured and s.status < 300 and s.position]
    deliveries, after_tracking, undelivered, early = [], [], 0, 0
    arrivals: dict[int, list[int]] = {}  # command (by position) -> arrival at each client
    for frames in received["clients"]:
        ids = [f[1] for f in frames]
        for i in range(1, len(ids)):
            ids[i] = max(ids[i], ids[i - 1])
        for s in measured:
            i = bisect.bisect_left(ids, s.position)
            if i == len(ids):
                undelivered += 1
                continue
            delay = frames[i][0] - s.answered
            arrivals.setdefault(s.position, []).append(frames[i][0])
            early += delay <= 0
            deliveries.append(max(delay, 0))
            seen = reached(s.position)
            if seen is not None:
                after_tracking.append(max(frames[i][0] - max(seen, s.answered), 0))
    lags = [max(reached(s.position) - s.answered, 0) for s in measured if reached(s.position) is not None]
    answered = {s.position: s.answered for s in measured}
    first_client = [max(min(times) - answered[p], 0) for p, times in arrivals.items()]
    spread = [max(times) - min(times) for times in arrivals.values()]
    frame_sizes = [f[2] for frames in received["clients"] for f in frames]
    return {
        "clients": args.sse_clients,
        "commands": len(measured),
        "refused": sum(s.status >= 300 for s in samples if s.measured),
        "rate": args.sse_rate,
        "deliveries": len(deliveries),
        "undelivered": undelivered,
        "delivered_before_answer": early,
        "delivery": summary_ms(deliveries),
        "lag": summary_ms(lags),
        "tracking_to_client": summary_ms(after_tracking),
        "first_client": summary_ms(first_client),
        "spread": summary_ms(spread),
        "frames_per_client": statistics.fmean(len(f) for f in received["clients"]),
        "frame_bytes_median": percentile(frame_sizes, 50),
        "connect_seconds": received["connect_seconds"],
        "closed_early": received["closed_early"],
        "errors": received["errors"],
        "http_latency": summary_ms([s.answered - s.sent for s in samples if s.measured]),
        "poll_interval": polled["interval"],
        "problems": problems,
    }


# --- phase 3: generating the log, raw scan, rebuild --------------------------------------------------


class LogGenerator:
    """A crisis room's log, built with the aggregates' own command methods (the rules the use cases rely on
    run as usual) and stored with Coordination.save, `batch` events per transaction.

    Crises run concurrently (`active` at a time); each lives for about `per_crisis` events of log entries,
    severity changes, actions assigned and closed, situation reports, decisions and their reviews, police
    requests raised and answered (on the crisis's police liaison, recorded on the crisis too), readiness
    changes of the units and continuity plans activated for it; then it winds down (closes its items,
    contain, resolve, close, after-action review) and a new crisis is declared.
    """

    MIX: ClassVar[list[tuple[str, float]]] = [
        ("log", 46),
        ("severity", 5),
        ("assign", 12),
        ("close_action", 11),
        ("sitrep", 4),
        ("decision", 3),
        ("review", 1.5),
        ("raise", 3),
        ("answer", 2.5),
        ("share", 1),
        ("readiness", 3),
        ("activate", 1),
        ("deactivate", 0.8),
        ("contain", 0.4),
        ("plan_review", 0.5),
        ("exercise", 0.3),
    ]

    def __init__(self, app: Any, rng: random.Random, per_crisis: int, active: int, batch: int) -> None:
        from domain.division_preparedness import CriticalFunction, DivisionPreparedness

        self.app = app
        self.policy = app.policy
        self.rng = rng
        self.per_crisis = per_crisis
        self.batch = batch
        self.dirty: dict[Any, Any] = {}
        self.events = 0
        self.pending = 0
        self.serial = 0
        self.declared = 0
        self.liaisons = 0
        self.crises: list[dict[str, Any]] = []
        now = self.now()
        self.units = {u: app.repository.get(DivisionPreparedness.id_for(u)) for u in self.policy.units.units}
        for unit, prep in self.units.items():
            for i in (1, 2):
                plan_id = f"CP-{unit}-G{i}"
                if plan_id in prep.plans:
                    continue
                prep.draft_plan(
                    plan_id=plan_id,
                    title=f"Continuity of {unit} services {i}",
                    owner=f"Director, {unit}",
                    critical_functions=[CriticalFunction(f"service {i}", 12 * 60, 4 * 60)],
                    next_review_due=now + timedelta(days=180),
                    actor=f"DC-{unit}",
                    now=now,
                )
                prep.approve_plan(
                    plan_id=plan_id,
                    approved_by=f"Executive Director, {unit}",
                    occurred_at=now,
                    policy=self.policy,
                    actor=f"DC-{unit}",
                    now=now,
                )
            self.touch(prep, 0)
        self.pending = sum(len(a.pending_events) for a in self.dirty.values())
        for _ in range(active):
            self.declare()

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    def touch(self, aggregate: Any, events: int = 1) -> None:
        self.dirty[aggregate.id] = aggregate
        self.pending += events

    def flush(self) -> None:
        if self.dirty:
            recordings = self.app.save(*self.dirty.values())
            self.events += len(recordings)
            self.dirty.clear()
            self.pending = 0

    def declare(self) -> None:
        from domain.crisis import Crisis

        self.serial += 1
        now = self.now()
        crisis_id = f"G-{self.serial:05d}"
        crisis = Crisis.declare(
            crisis_id=crisis_id,
            title=f"{self.rng.choice(['Storm', 'Water main break', 'Heatwave', 'Data breach'])} {self.serial}",
            category=self.rng.choice(["SEVERE_WEATHER", "UTILITY_WATER", "ENERGY_SUPPLY", "CYBER_INCIDENT"]),
            severity=self.rng.choice([1, 2, 2, 3]),
            areas=self.rng.sample(["Vuosaari", "Kontula", "Kallio", "Pasila", "Malmi"], 2),
            occurred_at=now,
            emergency_conditions_in_force=False,
            policy=self.policy,
            actor="DO-1",
            now=now,
        )
        self.declared += 1
        self.touch(crisis)
        quota = self.rng.randint(self.per_crisis // 2, self.per_crisis * 3 // 2)
        self.crises.append({"crisis": crisis, "quota": quota, "events": 1, "liaison": None, "n": 0})

    def step(self) -> None:
        state = self.rng.choice(self.crises)
        if state["events"] >= state["quota"]:
            added = self.wind_down(state)
        else:
            kinds, weights = zip(*self.MIX)
            added = self.command(state, self.rng.choices(kinds, weights)[0])
        state["events"] += added
        if self.pending >= self.batch:
            self.flush()

    def command(self, state: dict[str, Any], kind: str) -> int:
        from domain.police_liaison import PoliceLiaison

        c = state["crisis"]
        state["n"] += 1
        n = state["n"]
        now = self.now()
        p = {"occurred_at": now, "policy": self.policy, "now": now}
        rng = self.rng
        open_actions = [a for a in c.actions.values() if a.status == "OPEN"]
        liaison = state["liaison"]
        if kind == "close_action" and not open_actions:
            kind = "assign"
        if kind == "answer" and (liaison is None or not liaison.open_requests()):
            kind = "raise"
        if kind == "review" and not c.decisions:
            kind = "decision"
        if kind == "contain" and c.status not in ("ACTIVE", "CONTAINED"):
            kind = "log"
        if kind == "log":
            c.record_log_entry(
                text=f"Update {n}: {rng.randint(10, 9999)} customers affected, crews on site",
                source=rng.choice(["HSY", "Helen", "HRT", None]),
                actor="DO-1",
                **p,
            )
        elif kind == "severity":
            c.change_severity(
                to_severity=rng.choice([s for s in (1, 2, 3, 4) if s != c.severity]),
                reason=f"reassessed ({n})",
                actor="DO-1",
                **p,
            )
        elif kind == "assign":
            unit = rng.choice(list(self.units))
            c.assign_action(
                action_id=f"A-{n}",
                unit=unit,
                task=f"Task {n} for {unit}",
                due_at=now + timedelta(hours=rng.randint(1, 8)),
                actor="DO-1",
                **p,
            )
        elif kind == "close_action":
            a = rng.choice(open_actions)
            close = c.complete_action if rng.random() < 0.9 else c.cancel_action
            close(action_id=a.action_id, note="done", actor=f"DC-{a.unit}", **p)
        elif kind == "sitrep":
            c.issue_situation_report(
                number=None,
                summary=f"Sitrep: {n} updates so far",
                next_due_at=now + timedelta(hours=4),
                actor="DO-1",
                **p,
            )
        elif kind == "decision":
            live = [d for d, rec in c.decisions.items() if not rec.superseded_by]
            supersedes = rng.choice(live) if live and rng.random() < 0.1 else None
            c.record_decision(
                decision_id=f"D-{n}",
                decided_by="Head of Preparedness",
                authority="delegation",
                decision=f"Decision {n}",
                rationale="protect vulnerable residents first",
                options=["act now", "wait", "ask HSY"][: rng.randint(2, 3)],
                review_at=now + timedelta(hours=12) if rng.random() < 0.5 else None,
                references=[f"sitrep {n}"],
                supersedes=supersedes,
                actor="DO-1",
                **p,
            )
        elif kind == "review":
            c.record_decision_review(decision_id=rng.choice(list(c.decisions)), outcome="holds", actor="DO-1", **p)
        elif kind in ("raise", "share"):
            added = 0
            if liaison is None:
                self.liaisons += 1
                liaison = state["liaison"] = PoliceLiaison.open(
                    liaison_id=f"L-{c.crisis_id}",
                    crisis_id=c.crisis_id,
                    topic=None,
                    city_people=["DO-1"],
                    police_people=["HPD duty officer"],
                    actor="PC",
                    now=now,
                )
                self.touch(liaison)
                added = 1
            if kind == "share":
                liaison.share_information(what=f"List of sites {n}", to_whom="HPD", actor="PC", **p)
                self.touch(liaison)
                return added + 1
            request_id = f"PR-{n}"
            liaison.raise_request(
                request_id=request_id,
                direction=rng.choice(["CITY_TO_POLICE", "POLICE_TO_CITY"]),
                request_type=rng.choice(["INFORMATION", "COORDINATION"]),
                subject=f"Patrols {n}",
                not_before=c.declared_at,
                actor="PC",
                **p,
            )
            c.link_police_request(request_id=request_id, liaison_id=liaison.liaison_id, actor="PC", now=now)
            self.touch(liaison)
            self.touch(c)
            return added + 2
        elif kind == "answer":
            self.answer(c, liaison, rng.choice(liaison.open_requests()).request_id, now)
            return 2
        elif kind == "readiness":
            unit = rng.choice(list(self.units))
            prep = self.units[unit]
            prep.change_readiness(
                to_level=rng.choice([lv for lv in LEVELS if lv != prep.readiness]),
                decided_by=f"Director, {unit}",
                reason=f"{c.crisis_id}",
                crisis_ref=c.crisis_id,
                emergency_conditions_in_force=False,
                actor=f"DC-{unit}",
                **p,
            )
            self.touch(prep)
            return 1
        elif kind == "activate":
            free = [
                (u, pid)
                for u, prep in self.units.items()
                for pid, plan in prep.plans.items()
                if plan.status == "APPROVED" and plan.active_for is None
            ]
            if not free:
                return self.command(state, "log")
            unit, plan_id = rng.choice(free)
            c.link_plan(plan_id=plan_id, unit=unit, actor=f"DC-{unit}", now=now)
            self.units[unit].activate_plan(plan_id=plan_id, crisis_id=c.crisis_id, actor=f"DC-{unit}", **p)
            self.touch(self.units[unit])
            self.touch(c)
            return 2
        elif kind == "deactivate":
            if not c.active_plans:
                return self.command(state, "log")
            self.deactivate(c, rng.choice(sorted(c.active_plans)), now)
            return 2
        elif kind == "contain":
            (c.contain if c.status == "ACTIVE" else c.reopen)(reason="situation changed", actor="DO-1", **p)
        elif kind in ("plan_review", "exercise"):
            unit = rng.choice(list(self.units))
            prep = self.units[unit]
            plan_id = rng.choice(list(prep.plans))
            if kind == "plan_review":
                prep.record_plan_review(
                    plan_id=plan_id,
                    notes="reviewed",
                    next_review_due=now + timedelta(days=180),
                    actor=f"DC-{unit}",
                    **p,
                )
            else:
                prep.record_exercise(
                    plan_id=plan_id, title=f"Exercise {n}", findings=["backup power ok"], actor=f"DC-{unit}", **p
                )
            self.touch(prep)
            return 1
        self.touch(c)
        return 1

    def answer(self, c: Any, liaison: Any, request_id: str, now: datetime) -> None:
        p = {"occurred_at": now, "policy": self.policy, "now": now}
        if self.rng.random() < 0.85:
            liaison.answer_request(
                request_id=request_id, response="two patrols", answered_by="HPD field commander", actor="PC", **p
            )
        else:
            liaison.decline_request(request_id=request_id, response="no resources", actor="PC", **p)
        c.unlink_police_request(request_id=request_id, outcome=liaison.requests[request_id].status, actor="PC", now=now)
        self.touch(liaison)
        self.touch(c)

    def deactivate(self, c: Any, plan_id: str, now: datetime) -> None:
        unit = next(u for u, prep in self.units.items() if plan_id in prep.plans)
        self.units[unit].deactivate_plan(
            plan_id=plan_id, reason="service restored", occurred_at=now, policy=self.policy, actor=f"DC-{unit}", now=now
        )
        c.unlink_plan(plan_id=plan_id, actor=f"DC-{unit}", now=now)
        self.touch(self.units[unit])
        self.touch(c)

    def wind_down(self, state: dict[str, Any]) -> int:
        """Close the crisis's items one command at a time, then contain, resolve, close, review; then replace it."""
        c = state["crisis"]
        now = self.now()
        p = {"occurred_at": now, "policy": self.policy, "now": now}
        open_actions = [a for a in c.actions.values() if a.status == "OPEN"]
        if open_actions:
            a = open_actions[0]
            c.complete_action(action_id=a.action_id, note="done before closing", actor=f"DC-{a.unit}", **p)
        elif state["liaison"] is not None and state["liaison"].open_requests():
            self.answer(c, state["liaison"], state["liaison"].open_requests()[0].request_id, now)
            return 2
        elif c.active_plans:
            self.deactivate(c, sorted(c.active_plans)[0], now)
            return 2
        elif c.status == "ACTIVE":
            c.contain(reason="under control", actor="DO-1", **p)
        elif c.status == "CONTAINED":
            c.resolve(reason="resolved", actor="DO-1", **p)
        elif c.status == "RESOLVED":
            c.close(reason="closed", actor="DO-1", **p)
        else:
            c.record_after_action_review(
                findings=["backup power worked"], recommendations=["more generators"], actor="DO-1", **p
            )
            self.crises.remove(state)
            self.touch(c)
            self.declare()
            return 1
        self.touch(c)
        return 1


def count_events(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def generate(ctx: Context, target: int) -> dict[str, Any]:
    args, progress, app = ctx.args, ctx.progress, ctx.app
    table = app.recorder.events_table_name
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        before = count_events(conn, table)
    started = time.perf_counter()
    if before < target:
        generator = LogGenerator(
            app, random.Random(args.seed), args.events_per_crisis, args.active_crises, args.generate_batch
        )
        progress.note(f"generating {target - before} events ({before} in the log already)")
        while before + generator.events + generator.pending < target:
            generator.step()
            if generator.events and generator.pending == 0:
                done = before + generator.events
                progress.line(
                    f"generate: {done:7d}/{target} events  {generator.events / (time.perf_counter() - started):7.0f}/s"
                )
        generator.flush()
        progress.end_line()
    seconds = time.perf_counter() - started
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        total = count_events(conn, table)
        topics = conn.execute(f"SELECT topic, count(*) FROM {table} GROUP BY topic").fetchall()
        aggregates = conn.execute(f"SELECT count(DISTINCT originator_id) FROM {table}").fetchone()[0]
        size = conn.execute(f"SELECT pg_total_relation_size('{table}'), avg(length(state)) FROM {table}").fetchone()
    by_aggregate: Counter[str] = Counter()
    by_event: Counter[str] = Counter()
    created: Counter[str] = Counter()
    for topic, count in topics:
        qualname = topic.split(":", 1)[1]
        aggregate, event = qualname.rsplit(".", 1)
        by_aggregate[aggregate] += count
        by_event[qualname] += count
        if event in ("Declared", "Opened", "Registered", "Started", "Created"):
            created[aggregate] += count
    return {
        "events": total,
        "generated": total - before,
        "seconds": seconds,
        "aggregates": aggregates,
        "aggregates_by_type": dict(created),
        "events_by_aggregate": dict(by_aggregate.most_common()),
        "top_events": dict(by_event.most_common(8)),
        "table_bytes": size[0],
        "mean_state_bytes": float(size[1]),
    }


def raw_scan(app: Any, batch: int) -> tuple[int, float]:
    """select_notifications in batches + mapper.to_domain_event: reading and decoding, no projection work."""
    started = time.perf_counter()
    count, start = 0, 1
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=batch)
        if not notifications:
            break
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id + 1
    return count, time.perf_counter() - started


def rebuildable(projections: Any) -> list[str]:
    """The read models a rebuild may empty (a model may declare `rebuildable = False`, e.g. evidence)."""
    return [name for name, model in projections.models.items() if getattr(model, "rebuildable", True)]


def read_model_digest(database_url: str, projections: Any) -> str:
    """One digest of every row of every rebuildable read model's tables (row text in a fixed order)."""
    parts = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for model in (projections.models[name] for name in rebuildable(projections)):
            for table in sorted(model.tables):
                row = conn.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
                ).fetchone()
                parts.append(f"{table}:{row[0]}:{row[1]}")
    return "/".join(parts)


def vacuum(database_url: str, projections: Any) -> None:
    """VACUUM the read models' tables (untimed) so that each rebuild starts as after autovacuum, not in the dead
    rows of the rebuild measured before it (each rebuild deletes every row and writes it again)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for model in projections.models.values():
            for table in model.tables:
                conn.execute(f"VACUUM {table}")


def supports_one_pass(projections: Any) -> bool:
    params = inspect.signature(projections.rebuild).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def rebuild_phase(ctx: Context) -> dict[str, Any]:
    """Raw scan, each read model rebuilt alone, and all of them in one pass, in rounds: on a shared virtual
    machine the same work takes ±30 % from one minute to the next, so each round measures every way once, side
    by side, and the fastest run of each way counts (for the raw scan, the harder baseline)."""
    args, progress, app = ctx.args, ctx.progress, ctx.app
    projections = ctx.services.projections
    if args.rebuild_batch_size:
        projections.rebuild_batch_size = args.rebuild_batch_size
    batch = max(projections.batch_size, projections.rebuild_batch_size)  # what a rebuild reads per batch
    log = generate(ctx, args.events)
    events = log["events"]
    progress.note(f"catch-up: following {events} events into every tracked model (the worker's path)")
    started = time.perf_counter()
    projections.catch_up()
    catch_up_seconds = time.perf_counter() - started
    reference = read_model_digest(ctx.database_url, projections)
    names = rebuildable(projections)
    ways = [*names, "one pass"] if supports_one_pass(projections) else names
    runs: dict[str, list[float]] = {way: [] for way in ["raw", *ways]}
    identical = True
    for round_ in range(1, args.rounds + 1):
        count, seconds = raw_scan(app, batch)
        runs["raw"].append(seconds)
        progress.note(
            f"round {round_}: raw scan+decode {count} notifications in {seconds:.2f} s ({count / seconds:,.0f}/s)"
        )
        for way in ways:
            vacuum(ctx.database_url, projections)
            started = time.perf_counter()
            count = projections.rebuild(*(names if way == "one pass" else [way]))
            seconds = time.perf_counter() - started
            runs[way].append(seconds)
            progress.note(
                f"round {round_}: rebuild {way}: {count} events in {seconds:.2f} s ({count / seconds:,.0f}/s)"
            )
            identical = identical and read_model_digest(ctx.database_url, projections) == reference

    def best(way: str) -> dict[str, Any]:
        seconds = min(runs[way])
        return {"events": events, "seconds": seconds, "per_second": events / seconds, "runs": runs[way]}

    per_model = {name: best(name) for name in names}
    sequential_seconds = sum(m["seconds"] for m in per_model.values())
    return {
        "log": log,
        "batch_size": batch,
        "rounds": args.rounds,
        "raw": best("raw"),
        "catch_up": {
            "events": events,
            "seconds": catch_up_seconds,
            "per_second": events / catch_up_seconds,
            "models": list(projections.models),
        },
        "per_model": per_model,
        "sequential": {"events": events, "seconds": sequential_seconds, "per_second": events / sequential_seconds},
        "one_pass": best("one pass") if "one pass" in runs else None,
        "identical": identical,
    }


# --- main ----------------------------------------------------------------------------------------------


@dataclass
class Context:
    args: argparse.Namespace
    progress: Progress
    database_url: str
    services: Any
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    port: int = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Starts `valmius serve` and `valmius project` in subprocesses; "
        "prints a table with the targets and the command that produced it.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a database on the server to connect to for creating the benchmark's own database",
    )
    parser.add_argument(
        "--database",
        default="valmius_bench_projections",
        help="the benchmark's database (created afresh, dropped after)",
    )
    parser.add_argument("--phases", default="lag,sse,rebuild", help="which of lag, sse, rebuild to run")
    parser.add_argument("--rate", type=float, default=100.0, help="commands/s through HTTP in the lag phase")
    parser.add_argument(
        "--lag-clients", type=int, default=4, help="HTTP clients sharing that rate (each owns its crises)"
    )
    parser.add_argument("--lag-duration", type=float, default=30.0, help="measured seconds of the lag phase")
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="unmeasured seconds before the lag phase's measurement"
    )
    parser.add_argument("--crises-per-client", type=int, default=3, help="crises each HTTP client works on")
    parser.add_argument("--poll-ms", type=float, default=1.0, help="pause between two polls of the tracking position")
    parser.add_argument("--sse-clients", type=int, default=200, help="connected SSE clients in the SSE phase")
    parser.add_argument("--sse-rate", type=float, default=5.0, help="commands/s in the SSE phase")
    parser.add_argument("--sse-duration", type=float, default=20.0, help="measured seconds of the SSE phase")
    parser.add_argument(
        "--events", type=int, default=100_000, help="events in the log for the rebuild phase (topped up)"
    )
    parser.add_argument("--events-per-crisis", type=int, default=200, help="mean events per generated crisis")
    parser.add_argument(
        "--active-crises", type=int, default=30, help="crises running at the same time while generating"
    )
    parser.add_argument("--generate-batch", type=int, default=2000, help="events per transaction while generating")
    parser.add_argument(
        "--rebuild-batch-size",
        type=int,
        default=0,
        help="notifications per batch for raw scan and rebuild (0: the Projections default)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the rebuild phase, each measuring the raw scan and every rebuild once; the fastest run of "
        "each counts",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated log")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for `valmius serve` and `valmius project` (repeatable)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument(
        "--keep-database", action="store_true", help="leave the benchmark's database for inspection (default: drop it)"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the service and the worker under `py-spy record` and "
        "leave raw flame graphs serve.txt and project.txt in DIR (outside the repository; slows them)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    # the helper processes (this script again)
    parser.add_argument("--helper", choices=["poll", "sse"], help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    if not set(args.phases) <= {"lag", "sse", "rebuild"}:
        parser.error("--phases takes lag, sse, rebuild")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.helper == "poll":
        return helper_poll(args.dsn, args.poll_ms)
    if args.helper == "sse":
        return helper_sse(args.url, args.token, args.sse_clients)

    from infrastructure.bootstrap import open_services
    from infrastructure.settings import Settings

    progress = Progress(not args.quiet)
    command = shlex.join(sys.orig_argv if argv is None else [sys.executable, __file__, *argv])
    database_url = fresh_database(args.postgres_url, args.database)
    settings = Settings(environment="production", database_url=database_url, _env_file=None)
    services = open_services(settings)
    UNIT_CODES.extend(services.coordination.policy.units.units)
    ctx = Context(args, progress, database_url, services, services.coordination)
    results: dict[str, Any] = {}
    env = {
        "VALMIUS_DATABASE_URL": database_url,
        "VALMIUS_ENVIRONMENT": "production",
        **dict(item.split("=", 1) for item in args.server_env),
    }
    server = worker = None
    commands: dict[str, str] = {}
    results["load_start"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        progress.note(
            f"valmius projections bench on {database_url} ({os.cpu_count()} CPUs, load {results['load_start']})"
        )
        if {"lag", "sse"} & set(args.phases):
            ctx.port = free_port()
            server = Process(["serve", "--host", "127.0.0.1", "--port", str(ctx.port)], env, args.profile)
            worker = Process(["project"], env, args.profile)
            commands = {"server": shlex.join(server.command), "worker": shlex.join(worker.command)}
            wait_healthy(ctx.port, server.check, server.tail)
            ctx.tokens = issue_tokens(services, max(args.lag_clients, 1))
            if "lag" in args.phases:
                results["lag"] = lag_phase(ctx)
                worker.check()
            if "sse" in args.phases:
                results["sse"] = sse_phase(ctx)
                worker.check()
            server.stop()
            worker.stop()
            server = worker = None
        if "rebuild" in args.phases:
            results["rebuild"] = rebuild_phase(ctx)
    finally:
        for process in (server, worker):
            if process is not None:
                process.stop()
        services.close()
        if not args.keep_database:
            drop_database(args.postgres_url, args.database)
    report(results, args, command, commands)
    return 0


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report(results: dict[str, Any], args: argparse.Namespace, command: str, commands: dict[str, str]) -> None:
    with psycopg.connect(args.postgres_url, autocommit=True) as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [
        f"Valmius projections on PostgreSQL {server_version.split()[0]} ({os.cpu_count()} CPUs; database {args.database}; "
        "service, worker, load and database on one machine)",
        f"machine load: {results.get('load_start', '?')} at start, {load} at the end (1/5/15-min load averages; "
        "other work on the machine shows here)",
        "",
    ]
    rows: list[tuple[str, str, str, str]] = []
    lag, sse, rb = results.get("lag"), results.get("sse"), results.get("rebuild")
    if lag:
        rows.append(("1. lag commit → read models, median", f"{lag['lag']['median']:.1f} ms", "", ""))
        rows.append(
            (
                "1. lag commit → read models, p99",
                f"{lag['lag']['p99']:.1f} ms",
                "p99 ≤ 50 ms",
                verdict(lag["lag"]["p99"] <= 50),
            )
        )
    if rb:
        raw = rb["raw"]["per_second"]
        n = len(rb["per_model"])
        if rb["one_pass"]:
            one = rb["one_pass"]["per_second"]
            rows.append(
                (
                    f"2. rebuild, all {n} read models in one pass",
                    f"{one:,.0f} ev/s = {one / raw:.2f} × raw",
                    "≥ 0.5 × raw",
                    verdict(one >= 0.5 * raw),
                )
            )
        for name, r in rb["per_model"].items():
            rows.append(
                (
                    f"2. rebuild {name}",
                    f"{r['per_second']:,.0f} ev/s = {r['per_second'] / raw:.2f} × raw",
                    "≥ 0.5 × raw",
                    verdict(r["per_second"] >= 0.5 * raw),
                )
            )
        rows.append(("2. raw scan + decode (baseline)", f"{raw:,.0f} ev/s", "", ""))
    if sse:
        rows.append(
            (f"3. commit → SSE client, {sse['clients']} clients, median", f"{sse['delivery']['median']:.1f} ms", "", "")
        )
        rows.append(
            (
                f"3. commit → SSE client, {sse['clients']} clients, p99",
                f"{sse['delivery']['p99']:.1f} ms",
                "p99 ≤ 250 ms",
                verdict(sse["delivery"]["p99"] <= 250 and sse["undelivered"] == 0),
            )
        )
    width = max(len(r[0]) for r in rows) if rows else 10
    out.append(f"{'measure':<{width}}  {'value':>26}  {'target':<12}  result")
    for name, value, target, result in rows:
        out.append(f"{name:<{width}}  {value:>26}  {target:<12}  {result}")
    if lag:
        m = lag
        out += [
            "",
            f"1. Lag: {m['commands']} measured commands at {m['achieved_rate']:.1f}/s (target {m['target_rate']:g}/s, "
            f"open loop, {args.lag_clients} keep-alive clients; {m['late_sends_over_10ms']} sent > 10 ms late; "
            f"{m['refused']} refused), mix {', '.join(f'{k} {v}' for k, v in m['mix'].items())}.",
            f"   lag ms: median {m['lag']['median']:.1f}, p90 {m['lag']['p90']:.1f}, p99 {m['lag']['p99']:.1f}, "
            f"max {m['lag']['max']:.1f}, mean {m['lag']['mean']:.1f} over {m['lag']['n']} commands; "
            f"{m['applied_before_answer']} already applied when their answer arrived (counted as 0), "
            f"{m['never_seen']} never seen.",
            f"   HTTP command latency ms: median {m['http_latency']['median']:.1f}, p99 {m['http_latency']['p99']:.1f}; "
            f"tracking position advanced {m['tracking_advances']} times.",
            f"   Method: a separate process polls `{TRACKING_QUERY}` on its own connection, pausing "
            f"{args.poll_ms:g} ms between polls; poll period median {m['poll_interval']['median']:.2f} ms, "
            f"p99 {m['poll_interval']['p99']:.2f} ms (query {m['poll_query']['median'] * 1000:.0f} µs). "
            "Lag = first poll answer showing",
            "   position ≥ the command's Valmius-Position − arrival of the HTTP answer (both CLOCK_MONOTONIC), so "
            "each figure is late by at most one poll period.",
        ]
    if rb:
        log = rb["log"]
        types = ", ".join(
            f"{n} {k.split('.')[-1]}" for k, n in sorted(log["aggregates_by_type"].items(), key=lambda kv: -kv[1])
        )
        out += [
            "",
            f"2. Rebuild: {log['events']:,} events in the log ({log['generated']:,} generated in {log['seconds']:.1f} s "
            f"through Coordination.save, ~{args.generate_batch} events per transaction), {log['aggregates']} aggregates "
            f"({types}); mean event {log['mean_state_bytes']:.0f} bytes.",
            "   events by aggregate: "
            + ", ".join(f"{k.split('.')[-1]} {v:,}" for k, v in log["events_by_aggregate"].items()),
            "   most frequent: "
            + ", ".join(f"{k.split('.', 1)[-1]} {v / log['events']:.0%}" for k, v in log["top_events"].items()),
            f"   batches of {rb['batch_size']} notifications (raw scan and rebuilds alike); {rb['rounds']} rounds, each "
            "measuring every way once; the fastest run of each way counts (runs in s below).",
            "   A rebuild reads only the events of its read models' topics; its rate counts every event of the log.",
            f"   {'read model / way':<44} {'seconds':>8} {'events/s':>10} {'× raw':>6}",
        ]

        def line(name: str, r: dict[str, Any]) -> str:
            runs = f"  ({', '.join(f'{s:.2f}' for s in r['runs'])})" if "runs" in r else ""
            return (
                f"   {name:<44} {r['seconds']:>8.2f} {r['per_second']:>10,.0f} "
                f"{r['per_second'] / rb['raw']['per_second']:>6.2f}{runs}"
            )

        out.append(line("raw scan + decode (no projection)", rb["raw"]))
        out.append(
            line(f"catch-up, all {len(rb['catch_up']['models'])} tracked models (worker's path)", rb["catch_up"])
        )
        for name, r in rb["per_model"].items():
            out.append(line(f"rebuild {name}", r))
        out.append(line("rebuild all, one after another (sum of bests)", rb["sequential"]))
        if rb["one_pass"]:
            out.append(line(f"rebuild all {len(rb['per_model'])} in one pass", rb["one_pass"]))
        same = rb["identical"]
        out.append(
            f"   read-model tables identical after catch-up and after every rebuild (digest of all rows): "
            f"{'yes' if same else 'NO'}; tables VACUUMed (untimed) before each rebuild."
        )
        extra = [m for m in rb["catch_up"]["models"] if m not in rb["per_model"]]
        if extra:
            out.append(
                f"   catch-up also follows {', '.join(extra)} (not rebuildable) and runs the follower's listeners."
            )
        if not rb["one_pass"]:
            out.append("   (this Projections has no one-pass rebuild: `rebuild(name)` rebuilds one read model)")
    if sse:
        s = sse
        out += [
            "",
            f"3. SSE: {s['clients']} clients on GET /situation-overview/stream (leadership token; raw asyncio "
            f"connections in a separate process, connected in {s['connect_seconds']:.1f} s), {s['commands']} "
            f"commands at {s['rate']:g}/s, {s['deliveries']} (command, client) deliveries, {s['undelivered']} "
            f"undelivered, {s['refused']} refused.",
            f"   delivery ms: median {s['delivery']['median']:.1f}, p90 {s['delivery']['p90']:.1f}, "
            f"p99 {s['delivery']['p99']:.1f}, max {s['delivery']['max']:.1f}",
            f"   of which commit → read models: median {s['lag']['median']:.1f}, p99 {s['lag']['p99']:.1f}; "
            f"read models → client: median {s['tracking_to_client']['median']:.1f}, "
            f"p99 {s['tracking_to_client']['p99']:.1f}",
            f"   first of the {s['clients']} clients served: median {s['first_client']['median']:.1f}, p99 "
            f"{s['first_client']['p99']:.1f}; first → last client of a command (fan-out): median "
            f"{s['spread']['median']:.1f}, p99 {s['spread']['p99']:.1f}",
            f"   {s['frames_per_client']:.0f} overview frames per client, median frame {s['frame_bytes_median'] / 1024:.1f} KiB; "
            f"HTTP command latency median {s['http_latency']['median']:.1f} ms, p99 {s['http_latency']['p99']:.1f} ms.",
            "   Delivery = arrival (in the client process) of the first `overview` frame with id ≥ the command's "
            "Valmius-Position − arrival of the command's HTTP answer.",
        ]
    problems = [p for r in (lag, sse) if r for p in r["problems"]]
    if problems:
        out += ["", "refused commands (first few):", *(f"   {p}" for p in problems)]
    out += ["", f"command: {command}"]
    for name, cmd in commands.items():
        out.append(f"{name + ':':<8} {cmd}  (subprocess; VALMIUS_DATABASE_URL set to the bench database)")
    print("\n".join(out))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"command": command, "args": vars(args), "results": results}, indent=2, default=str) + "\n"
        )


if __name__ == "__main__":
    sys.exit(main())
