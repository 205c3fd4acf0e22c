#!/usr/bin/env python3
"""Write throughput of Valmius on PostgreSQL: HTTP commands against the raw eventsourcing get+save rate.

What it does, in one run:

1. Creates (or empties) a database of its own on the PostgreSQL server (default `valmius_bench`).
2. Measures the *raw library* rate in this process: the Coordination application's repository.get, one
   Crisis aggregate method, and save (no authorisation, no version check, no retry policy, no HTTP), with 1
   and with N threads.
3. Measures the *application* rate (the Coordination use cases called directly, no HTTP), same mix, to
   tell the cost of the application layer apart from the cost of HTTP.
4. Starts the service as operators do, `valmius serve`, in a subprocess, and measures commands per second
   and p50/p99 latency through HTTP with 1 and N keep-alive clients, each client with its own bearer token;
   with `--workers 1,2` once per worker count (`valmius serve --workers 2`).
5. Measures what PostgreSQL itself does when written to the way the library writes (the *database
   baseline*): from 4 connections, transactions of LOCK TABLE … IN EXCLUSIVE MODE, NOTIFY and one INSERT
   of an event-sized row into a table shaped like the events table, each committed. The HTTP rate is then
   printed as a fraction of it: how near the service writes to the database's limit.

Why a subprocess and not uvicorn in a thread of this process: the service then has its own interpreter
and GIL, as in production, so the client threads that drive the load do not steal the server's GIL and the
numbers are the service's, not an artefact of sharing one interpreter with the load generator. (Both
still share the machine's cores, as the database does.)

The command mix is the same at every layer, on a fresh set of crises per phase (so aggregate sizes grow
alike): 50 % crisis log entries, 15 % severity changes, 20 % action assignments, 15 % action
completions (by the unit's division contact). Each client or thread owns its own crises, so the numbers
measure throughput and not contention (tests/integration/test_concurrency.py covers contention).

Nothing is written into the repository: results go to stdout, progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shlex
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from bench.common import (  # noqa: E402
    Process,
    add_database_arguments,
    cpu_seconds,
    drop_database,
    free_port,
    fresh_database,
    percentile,
    wait_healthy,
)


from domain.access import Actor, Role  # noqa: E402
from domain.crisis import Crisis  # noqa: E402
from eventsourcing.persistence import IntegrityError  # noqa: E402
from infrastructure.bootstrap import open_services  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

UNITS = ["KYMP", "SOTEPE", "STARA", "KASKO", "KUVA", "KANSLIA"]
MIX = [("log", 50), ("severity", 15), ("assign", 20), ("complete", 15)]


# --- the command mix ---------------------------------------------------------------------------------


@dataclass
class CrisisState:
    """What a client knows of a crisis it owns: enough to send only commands that are accepted."""

    crisis_id: str
    severity: int = 2
    open_actions: list[tuple[str, str]] = field(default_factory=list)  # (action_id, unit)
    counter: int = 0


def next_command(state: CrisisState, rng: random.Random) -> tuple[str, dict[str, Any]]:
    """The kind of the next command on this crisis and its arguments (shared by every layer)."""
    kinds, weights = zip(*MIX)
    kind = rng.choices(kinds, weights)[0]
    state.counter += 1
    n = state.counter
    if kind == "complete" and not state.open_actions:
        kind = "assign"
    if kind == "log":
        return kind, {"text": f"Situation update {n}: crews on site, {rng.randint(10, 9999)} customers affected"}
    if kind == "severity":
        to = 3 if state.severity == 2 else 2
        state.severity = to
        return kind, {"to_severity": to, "reason": f"reassessed ({n})"}
    if kind == "assign":
        unit = UNITS[n % len(UNITS)]
        action_id = f"A-{n}"
        state.open_actions.append((action_id, unit))
        due = datetime.now(timezone.utc) + timedelta(hours=2)
        return kind, {"action_id": action_id, "unit": unit, "task": f"Task {n} for {unit}", "due_at": due}
    action_id, unit = state.open_actions.pop(0)
    return kind, {"action_id": action_id, "unit": unit, "note": "done"}


@dataclass
class PhaseResult:
    layer: str
    clients: int
    commands: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    failures: int
    conflicts_retried: int = 0
    events_per_crisis: float = 0.0
    cpu_ms_per_command: float = float("nan")
    events_per_commit: float = float("nan")


def summarise(
    layer: str, clients: int, latencies: list[float], seconds: float, failures: int, cpu: float, **extra: Any
) -> PhaseResult:
    n = len(latencies)
    return PhaseResult(
        layer, clients, n, seconds, n / seconds if seconds else 0.0, percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000, failures, cpu_ms_per_command=cpu / n * 1000 if n else float("nan"), **extra,
    )


class Progress:
    """One line on stderr per phase, refreshed once a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def run(self, label: str, seconds: float, count: Callable[[], int]) -> None:
        if not self.enabled:
            time.sleep(seconds)
            return
        tty = sys.stderr.isatty()
        start = time.monotonic()
        while (left := seconds - (time.monotonic() - start)) > 0:
            time.sleep(min(1.0, left))
            done = count()
            elapsed = time.monotonic() - start
            if tty or left <= 1.0:
                line = f"  {label:<34} {elapsed:5.1f}/{seconds:.0f} s  {done:7d} commands  {done / elapsed:8.1f}/s"
                sys.stderr.write(("\r" if tty else "") + line)
                sys.stderr.flush()
        sys.stderr.write("\n")

    def note(self, text: str) -> None:
        if self.enabled:
            print(text, file=sys.stderr, flush=True)


def run_phase(
    label: str,
    clients: int,
    warmup: float,
    duration: float,
    progress: Progress,
    worker: Callable[[int, threading.Event, threading.Event, list[float], list[int]], None],
    cpu_of: int | None = None,
) -> tuple[list[float], float, int, float]:
    """Run `clients` workers; each records latencies only after `measuring` is set, until `stop` is set.
    Also returns the CPU seconds that the process doing the work (`cpu_of`: a pid, or this process) used
    while measuring: it tells the cost per command apart from waiting for a CPU on a busy machine."""
    measuring, stop = threading.Event(), threading.Event()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[list[int]] = [[0] for _ in range(clients)]
    errors: list[BaseException] = []

    def guarded(k: int) -> None:
        try:
            worker(k, measuring, stop, latencies[k], failures[k])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=guarded, args=(k,), daemon=True) for k in range(clients)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    measuring.set()
    started, cpu_started = time.perf_counter(), cpu_seconds(cpu_of)
    progress.run(label, duration, lambda: sum(len(x) for x in latencies))
    stop.set()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(cpu_of) - cpu_started
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise RuntimeError(f"{label}: a worker failed: {errors[0]!r}") from errors[0]
    return [x for xs in latencies for x in xs], elapsed, sum(f[0] for f in failures), cpu


def owned(crises: list[str], clients: int, k: int) -> list[CrisisState]:
    return [CrisisState(c) for i, c in enumerate(crises) if i % clients == k]


# --- layers --------------------------------------------------------------------------------------------


def declare_crises(app: Any, prefix: str, count: int) -> list[str]:
    officer = Actor("BENCH-SETUP", Role.DUTY_OFFICER)
    ids = [f"{prefix}-{i:02d}" for i in range(count)]
    for crisis_id in ids:
        app.declare_crisis(officer, crisis_id=crisis_id, title=f"Bench {crisis_id}", category="SEVERE_WEATHER", severity=2)
    return ids


def raw_phase(app: Any, prefix: str, args: argparse.Namespace, clients: int, progress: Progress) -> PhaseResult:
    """repository.get + one aggregate method + save, retried on IntegrityError (none expected: owned crises)."""
    crises = declare_crises(app, prefix, args.crises)
    conflicts = [0]

    def worker(k: int, measuring: threading.Event, stop: threading.Event, lat: list[float], fail: list[int]) -> None:
        rng = random.Random(k)
        states = owned(crises, clients, k)
        user = f"DO-{k}"
        i = 0
        while not stop.is_set():
            state = states[i % len(states)]
            i += 1
            kind, kw = next_command(state, rng)
            aggregate_id = Crisis.id_for(state.crisis_id)
            t0 = time.perf_counter()
            while True:
                crisis = app.repository.get(aggregate_id)
                now = datetime.now(timezone.utc)
                common = {"occurred_at": now, "policy": app.policy, "now": now}
                if kind == "log":
                    crisis.record_log_entry(text=kw["text"], source=None, actor=user, **common)
                elif kind == "severity":
                    crisis.change_severity(to_severity=kw["to_severity"], reason=kw["reason"], actor=user, **common)
                elif kind == "assign":
                    crisis.assign_action(
                        action_id=kw["action_id"], unit=kw["unit"], task=kw["task"], due_at=kw["due_at"],
                        actor=user, **common,
                    )
                else:
                    crisis.complete_action(action_id=kw["action_id"], note=kw["note"], actor=f"DC-{kw['unit']}", **common)
                try:
                    app.save(crisis)
                    break
                except IntegrityError:
                    conflicts[0] += 1
            if measuring.is_set() and not stop.is_set():
                lat.append(time.perf_counter() - t0)

    latencies, elapsed, failures, cpu = run_phase(
        f"raw get+save, {clients} thread(s)", clients, args.warmup, args.duration, progress, worker
    )
    return summarise("raw eventsourcing get+save", clients, latencies, elapsed, failures, cpu,
                     conflicts_retried=conflicts[0], events_per_crisis=mean_events(app, crises))


def app_phase(app: Any, prefix: str, args: argparse.Namespace, clients: int, progress: Progress) -> PhaseResult:
    """The Coordination use cases (authorisation, load, rules, save with retry), no HTTP."""
    from domain.shared import DomainError

    crises = declare_crises(app, prefix, args.crises)

    def worker(k: int, measuring: threading.Event, stop: threading.Event, lat: list[float], fail: list[int]) -> None:
        rng = random.Random(k)
        states = owned(crises, clients, k)
        officer = Actor(f"DO-{k}", Role.DUTY_OFFICER)
        i = 0
        while not stop.is_set():
            state = states[i % len(states)]
            i += 1
            kind, kw = next_command(state, rng)
            t0 = time.perf_counter()
            try:
                if kind == "log":
                    app.record_log_entry(officer, state.crisis_id, **kw)
                elif kind == "severity":
                    app.change_severity(officer, state.crisis_id, **kw)
                elif kind == "assign":
                    app.assign_action(officer, state.crisis_id, **kw)
                else:
                    contact = Actor(f"DC-{kw['unit']}", Role.DIVISION_CONTACT, unit=kw["unit"])
                    app.complete_action(contact, state.crisis_id, action_id=kw["action_id"], note=kw["note"])
            except DomainError:
                fail[0] += 1
                continue
            if measuring.is_set() and not stop.is_set():
                lat.append(time.perf_counter() - t0)

    latencies, elapsed, failures, cpu = run_phase(
        f"application, {clients} thread(s)", clients, args.warmup, args.duration, progress, worker
    )
    return summarise(
        "application (no HTTP)", clients, latencies, elapsed, failures, cpu, events_per_crisis=mean_events(app, crises)
    )


def http_phase(
    app: Any, server: Server, tokens: dict[str, str], prefix: str, args: argparse.Namespace, clients: int,
    workers: int, progress: Progress,
) -> PhaseResult:
    """POSTs over keep-alive connections (http.client: the lightest client, so the load generator takes
    as little of the shared CPU as it can), one connection and one token per client."""
    crises = declare_crises(app, prefix, args.crises)
    host, port = "127.0.0.1", server.port
    problems: list[str] = []

    def worker(k: int, measuring: threading.Event, stop: threading.Event, lat: list[float], fail: list[int]) -> None:
        rng = random.Random(k)
        states = owned(crises, clients, k)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        officer = {"Authorization": f"Bearer {tokens[f'DO-{k}']}", "Content-Type": "application/json"}
        i = 0
        try:
            while not stop.is_set():
                state = states[i % len(states)]
                i += 1
                kind, kw = next_command(state, rng)
                headers = dict(officer)
                if kind == "log":
                    path, body = f"/crises/{state.crisis_id}/log-entries", kw
                elif kind == "severity":
                    path, body = f"/crises/{state.crisis_id}/severity", kw
                elif kind == "assign":
                    path, body = f"/crises/{state.crisis_id}/actions", {**kw, "due_at": kw["due_at"].isoformat()}
                else:
                    path, body = f"/crises/{state.crisis_id}/actions/{kw['action_id']}/complete", {"note": kw["note"]}
                    headers["Authorization"] = f"Bearer {tokens['DC-' + kw['unit']]}"
                if args.idempotency_keys:
                    headers["Idempotency-Key"] = f"{prefix}-{k}-{i}"
                payload = json.dumps(body).encode()
                t0 = time.perf_counter()
                conn.request("POST", path, body=payload, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                elapsed = time.perf_counter() - t0
                if response.status >= 300:
                    fail[0] += 1
                    if len(problems) < 5:
                        problems.append(f"{response.status} {path}: {answer[:300]!r}")
                    continue
                if measuring.is_set() and not stop.is_set():
                    lat.append(elapsed)
        finally:
            conn.close()

    latencies, elapsed, failures, cpu = run_phase(
        f"HTTP, {workers} worker(s), {clients} client(s)", clients, args.warmup, args.duration, progress, worker,
        cpu_of=server.process.pid,
    )
    for problem in problems:
        progress.note(f"  refused: {problem}")
    return summarise(
        f"HTTP (serve, {workers} worker{'s' if workers > 1 else ''})", clients, latencies, elapsed, failures, cpu,
        events_per_crisis=mean_events(app, crises), events_per_commit=events_per_commit(app, crises),
    )


def events_per_commit(app: Any, crises: list[str]) -> float:
    """The phase's events over the transactions that stored them (each row's xmin): above 1 when the server
    committed several commands' events together (group commit, infrastructure.recorders)."""
    ids = [Crisis.id_for(c) for c in crises]
    with app.recorder.datastore.get_connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS events, count(DISTINCT xmin::text) AS transactions"
            f" FROM {app.recorder.events_table_name} WHERE originator_id = ANY(%s)"
            " AND originator_version > 1",  # not the declarations, stored one at a time before the phase
            (ids,),
        ).fetchone()
    return row["events"] / row["transactions"] if row["transactions"] else float("nan")

BASELINE_TABLE = "bench_baseline_events"


def baseline_phase(app: Any, database_url: str, args: argparse.Namespace, progress: Progress) -> PhaseResult:
    """PostgreSQL's own rate for writes as the library makes them (eventsourcing.postgres
    PostgresApplicationRecorder.insert_events with the table lock): in one pipelined transaction LOCK TABLE
    IN EXCLUSIVE MODE, NOTIFY, INSERT … RETURNING notification_id, then commit; one event of the mean stored
    size (so far in the bench's store) per transaction, from `--baseline-connections` connections. No Python work
    but the driver's."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        size = conn.execute(f"SELECT coalesce(avg(octet_length(state)), 300)::int FROM {app.recorder.events_table_name}").fetchone()[0]
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} (originator_id uuid NOT NULL, originator_version bigint "
            "NOT NULL, topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {BASELINE_TABLE}_nid ON {BASELINE_TABLE} (notification_id)")
    state = b"x" * size
    insert = f"INSERT INTO {BASELINE_TABLE} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s) RETURNING notification_id"

    def worker(k: int, measuring: threading.Event, stop: threading.Event, lat: list[float], fail: list[int]) -> None:
        originator = uuid.uuid4()
        version = 0
        with psycopg.connect(database_url, autocommit=True) as conn:
            while not stop.is_set():
                version += 1
                t0 = time.perf_counter()
                with conn.pipeline(), conn.transaction():
                    conn.execute(f"LOCK TABLE {BASELINE_TABLE} IN EXCLUSIVE MODE", prepare=True)
                    conn.execute("NOTIFY bench_baseline")
                    conn.execute(insert, (originator, version, "domain.crisis:Crisis.LogEntryRecorded", state), prepare=True)
                if measuring.is_set() and not stop.is_set():
                    lat.append(time.perf_counter() - t0)

    clients = args.baseline_connections
    latencies, elapsed, failures, _ = run_phase(
        f"database baseline, {clients} connections", clients, args.warmup, args.duration, progress, worker,
    )
    return summarise("database baseline (SQL)", clients, latencies, elapsed, failures, float("nan"), events_per_crisis=1)


def mean_events(app: Any, crises: list[str]) -> float:
    return statistics.mean(app.repository.get(Crisis.id_for(c)).version for c in crises)


# --- the database and the server ------------------------------------------------------------------------


class Server(Process):
    """`valmius serve` in a subprocess (from this checkout, or another's code for a before/after comparison)."""

    def __init__(
        self, database_url: str, extra_env: dict[str, str], checkout: Path | None = None, workers: int = 1,
        profile: str | None = None,
    ) -> None:
        self.port = free_port()
        env = {"VALMIUS_DATABASE_URL": database_url, "VALMIUS_ENVIRONMENT": "production", **extra_env}
        serve = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)]
        super().__init__(serve, env, profile=profile, checkout=checkout)

    def wait_ready(self, timeout: float = 30) -> None:
        wait_healthy(self.port, self.check, self.tail, timeout)


# --- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Starts `valmius serve` in a subprocess; prints a table.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_database_arguments(parser, "valmius_bench")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients/threads of the concurrent phases")
    parser.add_argument("--duration", type=float, default=8.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each phase")
    parser.add_argument("--crises", type=int, default=16, help="crises per phase (each owned by one client)")
    parser.add_argument("--layers", default="baseline,raw,app,http", help="which of baseline, raw, app, http to measure")
    parser.add_argument("--baseline-connections", type=int, default=4, help="connections of the database baseline")
    parser.add_argument("--workers", default="1,2", help="`valmius serve --workers` counts of the HTTP layer, e.g. 1,2")
    parser.add_argument("--idempotency-keys", action="store_true", help="send an Idempotency-Key with every POST")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for `valmius serve` (repeatable), e.g. VALMIUS_POSTGRES_POOL_SIZE=20")
    parser.add_argument("--server-checkout", type=Path, metavar="DIR",
                        help="run `valmius serve` from the code in DIR instead (e.g. `git archive` of a baseline), "
                        "to measure a change against the code before it in the same conditions")
    parser.add_argument("--profile", metavar="DIR",
                        help="run `valmius serve` under `py-spy record --gil` (one worker: the samples of the "
                        "workers' processes are not taken) and leave its raw flame graph in DIR/serve.txt")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    args.layers = [x.strip() for x in args.layers.split(",") if x.strip()]
    args.workers = [int(x) for x in args.workers.split(",") if x.strip()]
    if not set(args.layers) <= {"baseline", "raw", "app", "http"} or args.clients < 1 or args.crises < args.clients:
        parser.error("--layers takes baseline, raw, app, http; --clients ≥ 1; --crises ≥ --clients")
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers takes worker counts ≥ 1, e.g. 1,2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_at_start = os.getloadavg()[0]
    progress = Progress(not args.quiet)
    command = shlex.join(sys.orig_argv if argv is None else [sys.executable, __file__, *argv])
    database_url = fresh_database(args.postgres_url, args.database)
    extra_env = dict(item.split("=", 1) for item in args.server_env)
    settings = Settings(environment="production", database_url=database_url, _env_file=None)
    services = open_services(settings)
    app = services.coordination
    levels = sorted({1, args.clients})
    results: list[PhaseResult] = []
    server: Server | None = None
    server_commands: list[list[str]] = []
    try:
        progress.note(f"valmius bench on {database_url} ({os.cpu_count()} CPUs)")
        for layer in args.layers:
            if layer == "baseline":
                results.append(baseline_phase(app, database_url, args, progress))
                continue
            for workers in args.workers if layer == "http" else [1]:
                for clients in levels:
                    prefix = f"{layer.upper()}{workers}-{clients}"
                    if layer == "raw":
                        results.append(raw_phase(app, prefix, args, clients, progress))
                    elif layer == "app":
                        results.append(app_phase(app, prefix, args, clients, progress))
                    else:
                        if server is None:
                            server = Server(database_url, extra_env, args.server_checkout, workers, args.profile)
                            server.wait_ready()
                            server_commands.append(server.command)
                            tokens = issue_tokens(services, args.clients)
                        results.append(http_phase(app, server, tokens, prefix, args, clients, workers, progress))
                if server is not None:
                    server.stop()
                    server = None
    finally:
        if server is not None:
            server.stop()
        services.close()
        if not args.keep_database:
            drop_database(args.postgres_url, args.database)
    report(results, args, command, server_commands)
    return 0


def issue_tokens(services: Any, clients: int) -> dict[str, str]:
    now = datetime.now(timezone.utc)
    tokens = {}
    for k in range(clients):
        tokens[f"DO-{k}"], _ = services.tokens.issue(
            user=f"DO-{k}", role="duty_officer", unit=None, clearance=False, issued_by="bench", now=now
        )
    for unit in UNITS:
        tokens[f"DC-{unit}"], _ = services.tokens.issue(
            user=f"DC-{unit}", role="division_contact", unit=unit, clearance=False, issued_by="bench", now=now
        )
    return tokens


def report(
    results: list[PhaseResult], args: argparse.Namespace, command: str, server_commands: list[list[str]]
) -> None:
    raw = {r.clients: r.per_second for r in results if r.layer.startswith("raw")}
    baseline = next((r.per_second for r in results if r.layer.startswith("database")), None)
    lines = [
        f"Valmius write throughput on PostgreSQL ({os.cpu_count()} CPUs; {args.crises} crises per phase, each owned by "
        f"one client; mix 50% log entry / 15% severity / 20% assign action / 15% complete action"
        f"{'; Idempotency-Key on every POST' if args.idempotency_keys else ''})",
        "",
        f"{'layer':<28} {'clients':>7} {'commands':>9} {'cmd/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'refused':>8} {'÷ raw':>7} {'÷ db':>6} {'CPU ms/cmd':>10} {'events/crisis':>14} {'events/commit':>13}",
    ]
    for r in results:
        ratio = f"{r.per_second / raw[r.clients]:.2f}" if r.clients in raw and not r.layer.startswith("database") else "-"
        of_db = f"{r.per_second / baseline:.2f}" if baseline else "-"
        lines.append(
            f"{r.layer:<28} {r.clients:>7} {r.commands:>9} {r.per_second:>8.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.failures:>8} {ratio:>7} {of_db:>6} {r.cpu_ms_per_command:>10.2f} {r.events_per_crisis:>14.0f}"
            f" {r.events_per_commit:>13.2f}"
        )
    lines.append("")
    for r in results:
        if not r.layer.startswith("HTTP") or r.clients != args.clients:
            continue
        if baseline:
            ratio = r.per_second / baseline
            lines.append(f"{r.layer}: target ≥ 0.3 × database baseline at {args.clients} clients: {ratio:.2f} ×  "
                         f"{'MET' if ratio >= 0.3 else 'NOT MET'}")
        lines.append(f"{r.layer}: target p99 ≤ 50 ms at {args.clients} clients: {r.p99_ms:.1f} ms  {'MET' if r.p99_ms <= 50 else 'NOT MET'}")
        lines.append(f"{r.layer}: target ≤ 1.5 ms server CPU per command: {r.cpu_ms_per_command:.2f} ms  "
                     f"{'MET' if r.cpu_ms_per_command <= 1.5 else 'NOT MET'}")
    lines.append("")
    lines.append(f"command: {command}")
    where = f"in {args.server_checkout}" if args.server_checkout else "in this checkout"
    for server_command in server_commands:
        lines.append(
            f"server:  {shlex.join(server_command)}  (subprocess {where}; VALMIUS_DATABASE_URL: the bench database)"
        )
    lines.append(
        "CPU ms/cmd: CPU time per command of the process doing the work (this one for raw and application, the "
        "server and its workers for HTTP; not the client's, not PostgreSQL's). ÷ db: the rate over the database "
        f"baseline's ({args.baseline_connections} connections writing as the library writes, no Python work). "
        "events/commit: the HTTP phase's events over the transactions that stored them (group commit)."
    )
    lines.append(f"load average (1 min) at start {args.load_at_start:.2f}, at end {os.getloadavg()[0]:.2f}")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"command": command, "args": vars(args), "results": [asdict(r) for r in results]}, indent=2, default=str)
            + "\n"
        )


if __name__ == "__main__":
    sys.exit(main())
