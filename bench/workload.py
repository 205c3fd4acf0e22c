#!/usr/bin/env python3
"""The workload the lag and SSE benchmarks (bench/lag.py, bench/sse.py) share, on the benchmark's own database:

- the service as production runs it on PostgreSQL: `valmius serve` (no embedded follower) and the one
  projection worker `valmius project`, each in its own process (with --profile DIR under `py-spy record --gil`:
  where to look when a target is missed; it slows them, so the figures of such a run are not the figures);
- commands sent through HTTP at a steady rate, open loop (every command has its scheduled send time, so a slow
  answer does not lower the rate), by clients that each own their crises, a police liaison and some units, so
  that every command is accepted and clients never contend: a crisis room's mix with readiness changes and
  police requests alongside; each answer carries `Valmius-Position`, the log position of the committed write;
- the read models' tracking position watched by a separate process on a dedicated connection polling
  `SELECT min(position) FROM valmius_tracking` about every millisecond (the tracking rows are updated in the
  read models' own transactions, so a new value is seen once it is committed). Run as a script, this module is
  that process: `python bench/workload.py DSN POLL_MS`.
"""

from __future__ import annotations

import argparse
import bisect
import http.client
import json
import random
import select
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import Context, Helper, Process, Progress, free_port, now_ns, summary_ms, wait_healthy  # noqa: E402

import psycopg  # noqa: E402

TRACKING_QUERY = "SELECT min(position) FROM valmius_tracking"
STARTS_SERVICE = (
    "Starts `valmius serve` and `valmius project` in subprocesses; prints a table with the target and the command "
    "that produced it."
)


# --- the service -----------------------------------------------------------------------------------------


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the service and of the workload that the lag and SSE benchmarks share."""
    parser.add_argument("--crises-per-client", type=int, default=3, help="crises each HTTP client works on")
    parser.add_argument("--poll-ms", type=float, default=1.0, help="pause between two polls of the tracking position")
    parser.add_argument("--workers", type=int, default=1, help="`valmius serve --workers N`: API worker processes")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for `valmius serve` and `valmius project` (repeatable)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run the service and the worker under `py-spy record` and "
        "leave raw flame graphs serve.txt and project.txt in DIR (outside the repository; slows them)",
    )


@contextmanager
def serving(ctx: Context, clients: int) -> Iterator[dict[str, str]]:
    """`valmius serve` and `valmius project` on the benchmark's database, with the tokens of `clients` duty
    officers and of the workload's other people issued; yields the commands that started them, and checks at
    the end that the worker still runs."""
    args = ctx.args
    UNIT_CODES.extend(ctx.services.coordination.policy.units.units)
    env = {
        "VALMIUS_DATABASE_URL": ctx.database_url,
        "VALMIUS_ENVIRONMENT": "production",
        **dict(item.split("=", 1) for item in args.server_env),
    }
    ctx.port = free_port()
    server = Process(
        ["serve", "--host", "127.0.0.1", "--port", str(ctx.port), "--workers", str(args.workers)], env, args.profile
    )
    worker = Process(["project"], env, args.profile)
    ctx.pids = {"serve": server.process.pid, "project": worker.process.pid}
    try:
        wait_healthy(ctx.port, server.check, server.tail)
        ctx.tokens = issue_tokens(ctx.services, max(clients, 1))
        yield {"server": shlex.join(server.command), "worker": shlex.join(worker.command)}
        worker.check()
    finally:
        server.stop()
        worker.stop()


def with_service(
    ctx: Context, clients: int, phase: Callable[[Context], dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """`phase` run while the service serves (`serving`): its results, and the commands that started the service."""
    with serving(ctx, clients) as commands:
        return phase(ctx), commands


# --- the tracking poller -----------------------------------------------------------------------------------


def start_poller(dsn: str, poll_ms: float) -> Helper:
    """This module in a process of its own, polling the tracking position; READY once it polls."""
    poller = Helper(__file__, [dsn, str(poll_ms)])
    poller.wait_ready(15)
    return poller


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




if __name__ == "__main__":
    sys.exit(helper_poll(sys.argv[1], float(sys.argv[2])))
