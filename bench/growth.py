#!/usr/bin/env python3
"""The cost of one more command as a crisis's history grows: log entry, action and decision on crises of 100,
1,000, 10,000 and 50,000 events, aggregate cache on and off, on PostgreSQL and SQLite.

What it does, per store:

1. Creates a store of its own (a fresh PostgreSQL database, or a SQLite file in a temporary directory).
2. Declares a crisis of its own for each size (so that each size meets as many actions and decisions of the
   measured commands before it) and grows it to that size with log entries, in bulk: the crisis aggregate is
   kept in memory, its new events are encoded by the application's mapper and inserted through its recorder
   5,000 at a time (no request, no read-model work: 50,000 entries take seconds), then one snapshot is taken
   (so the store then looks as if every command had been one request: the latest snapshot is near).
3. At each size, with the Coordination application opened through `open_services` with the aggregate cache
   off (VALMIUS_AGGREGATE_CACHE_SIZE=0) and on (the default, 5000), times N commands of each kind, one
   after the other through the use cases (authorisation, load, rules, save with retry, a snapshot every 50
   events: everything a request does but HTTP). The first command after opening is not timed (it warms
   the cache).
4. Reads the size of the crisis's latest snapshot from the store, times the crisis as GET /crises/{id}
   answers it (read and presented, without HTTP), catches the read models up and times the crisis timeline
   read: its first page as HTTP answers it (100 entries) and the whole timeline.

The commands are measured one at a time on one thread: this is the cost of one command, not throughput
(bench/write_throughput.py measures that). Nothing is written into the repository: results go to stdout,
progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tqdm import tqdm  # noqa: E402

from application.projections.paging import Page  # noqa: E402
from bench.common import add_database_arguments, drop_database, fresh_database, percentile  # noqa: E402
from domain.access import Actor, Role  # noqa: E402
from domain.crisis import Crisis  # noqa: E402
from infrastructure.bootstrap import Services, open_services  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402
from interfaces.http.routers.read_models import DEFAULT_LIMIT  # noqa: E402
from interfaces.http.schemas.crisis import present_crisis  # noqa: E402

KINDS = ("log entry", "action", "decision")
UNITS = ["KYMP", "SOTEPE", "STARA", "KASKO", "KUVA", "KANSLIA"]
OFFICER = Actor("BENCH-DO", Role.DUTY_OFFICER)
FILL_BATCH = 5000  # events per bulk insert while filling
CACHE_ON = 5000


@dataclass
class Result:
    store: str
    cache: str
    size: int
    kind: str
    commands: int
    median_ms: float
    p99_ms: float
    cpu_ms: float
    snapshot_bytes: int
    timeline_ms: float
    timeline_entries: int
    first_page_ms: float
    crisis_first_ms: float
    crisis_read_ms: float


def settings_for(store: str, url: str, cache: int) -> Settings:
    # the read models are caught up explicitly before the timeline read, so that no follower thread shares
    # the CPU with the commands being timed
    return Settings(environment="production", database_url=url, aggregate_cache_size=cache,
                    embedded_projections=False, _env_file=None)


def fill(services: Services, crisis_id: str, size: int, bar: tqdm) -> None:
    """Declare a crisis and grow it to `size` events with log entries: the aggregate stays in memory, its events
    are inserted through the recorder FILL_BATCH at a time; then one snapshot."""
    app = services.coordination
    app.declare_crisis(OFFICER, crisis_id=crisis_id, title="Storm: power outages, growth bench",
                       category="SEVERE_WEATHER", severity=2)
    crisis = app.repository.get(Crisis.id_for(crisis_id))
    while crisis.version < size:
        step = min(size - crisis.version, FILL_BATCH)
        now = datetime.now(timezone.utc)
        for _ in range(step):
            crisis.record_log_entry(text=f"Situation update {crisis.version}: crews on site", source="Helen",
                                    occurred_at=now, policy=app.policy, actor=OFFICER.user, now=now)
        app.recorder.insert_events([app.mapper.to_stored_event(e) for e in crisis.collect_events()])
        bar.update(step)
    app.take_snapshot(crisis.id)


def command(app: Any, crisis_id: str, kind: str, n: int) -> None:
    now = datetime.now(timezone.utc)
    if kind == "log entry":
        app.record_log_entry(OFFICER, crisis_id, text=f"Measured update {n}: {n * 37 % 9999} customers affected",
                             source="Helen")
    elif kind == "action":
        unit = UNITS[n % len(UNITS)]
        app.assign_action(OFFICER, crisis_id, action_id=f"A-{n}", unit=unit, task=f"Task {n} for {unit}",
                          due_at=now + timedelta(hours=2))
    else:
        app.record_decision(OFFICER, crisis_id, decision_id=f"D-{n}", decided_by="Mayor", decision=f"Decision {n}",
                            rationale="the forecast", options=["open shelters", "wait"])


def measure(
    settings: Settings, crisis_id: str, count: int, counter: list[int], label: str, quiet: bool
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """`count` commands of each kind, interleaved (so each kind meets the snapshots every 50 events alike): the
    wall-clock time of each, and the CPU time of the thread that ran it (what a loaded machine disturbs least)."""
    services = open_services(settings)
    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    try:
        app = services.coordination
        counter[0] += 1
        command(app, crisis_id, "log entry", counter[0])  # untimed: loads the crisis (into the cache, when on)
        for _ in tqdm(range(count), desc=label, unit="round", disable=quiet, file=sys.stderr, leave=False):
            for kind in KINDS:
                counter[0] += 1
                c0, t0 = time.thread_time(), time.perf_counter()
                command(app, crisis_id, kind, counter[0])
                timings[kind].append(time.perf_counter() - t0)
                cpu[kind].append(time.thread_time() - c0)
    finally:
        services.close()
    return timings, cpu


def snapshot_bytes(services: Services, crisis_id: str) -> int:
    stored = services.coordination.snapshots.recorder.select_events(Crisis.id_for(crisis_id), desc=True, limit=1)
    return len(stored[0].state) if stored else 0


def crisis_read(services: Services, crisis_id: str, reads: int) -> tuple[float, float]:
    """The crisis as GET /crises/{id} answers it, read and presented (ms): the first read in the process (which
    selects the crisis's records other than its log by type), and the median of `reads` reads after it."""
    app = services.coordination
    times = []
    for _ in range(reads + 1):
        t0 = time.perf_counter()
        present_crisis(app.get_crisis(OFFICER, crisis_id), OFFICER, app.now(), app.policy)
        times.append(time.perf_counter() - t0)
    return times[0] * 1000, statistics.median(times[1:]) * 1000


def timeline_read(services: Services, crisis_id: str, reads: int) -> tuple[float, int, float]:
    """Catch the read models up, then the medians of `reads` reads of the crisis's whole timeline and of its
    first page as GET /crises/{id}/timeline answers it (ms), and the number of entries."""
    services.projections.catch_up()
    times, first_pages, entries = [], [], 0
    for _ in range(reads):
        t0 = time.perf_counter()
        timeline = services.projections.get_crisis_timeline(OFFICER, crisis_id)
        times.append(time.perf_counter() - t0)
        entries = len(timeline["entries"])
        t0 = time.perf_counter()
        services.projections.get_crisis_timeline(OFFICER, crisis_id, Page(limit=DEFAULT_LIMIT))
        first_pages.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, entries, statistics.median(first_pages) * 1000


def run_store(store: str, args: argparse.Namespace) -> list[Result]:
    scratch = tempfile.TemporaryDirectory(prefix="valmius-growth-")
    if store == "postgres":
        url = fresh_database(args.postgres_url, args.database)
    else:
        url = f"sqlite:///{scratch.name}/growth.sqlite3"
    results: list[Result] = []
    filler = open_services(settings_for(store, url, 0))
    counter = [0]
    try:
        with tqdm(total=sum(args.sizes), desc=f"{store}: fill", unit="event", unit_scale=True,
                  disable=args.quiet, file=sys.stderr) as bar:
            for size in args.sizes:
                crisis_id = f"G-{size}"
                fill(filler, crisis_id, size, bar)
                for cache, cache_size in (("off", 0), ("on", CACHE_ON)):
                    timings, cpu = measure(settings_for(store, url, cache_size), crisis_id, args.commands, counter,
                                           f"{store} {size} events, cache {cache}", args.quiet)
                    snap = snapshot_bytes(filler, crisis_id)
                    crisis_first_ms, crisis_ms = crisis_read(filler, crisis_id, args.timeline_reads)
                    timeline_ms, entries, first_page_ms = timeline_read(filler, crisis_id, args.timeline_reads)
                    for kind in KINDS:
                        results.append(Result(
                            store, cache, size, kind, len(timings[kind]), percentile(timings[kind], 50) * 1000,
                            percentile(timings[kind], 99) * 1000, percentile(cpu[kind], 50) * 1000, snap,
                            timeline_ms, entries, first_page_ms, crisis_first_ms, crisis_ms,
                        ))
    finally:
        filler.close()
        if store == "postgres" and not args.keep_database:
            drop_database(args.postgres_url, args.database)
        scratch.cleanup()
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Prints a table.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--sizes", default="100,1000,10000,50000",
                        help="crisis sizes (events in its history) at which to measure, comma-separated, ascending")
    parser.add_argument("--stores", default="postgres,sqlite", help="which of postgres, sqlite to measure")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: sizes 100,1000 (instead of --sizes) and at most 20 commands per kind")
    parser.add_argument("--commands", type=int, default=50, help="timed commands of each kind per size and cache")
    parser.add_argument("--timeline-reads", type=int, default=5,
                        help="reads of the crisis and of its timeline per size and cache (median)")
    add_database_arguments(parser, "valmius_bench_growth")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.commands = "100,1000", min(args.commands, 20)
    try:
        args.sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 100,1000")
    args.stores = [x.strip() for x in args.stores.split(",") if x.strip()]
    if not set(args.stores) <= {"postgres", "sqlite"} or not args.stores:
        parser.error("--stores takes postgres, sqlite")
    if not args.sizes or args.sizes != sorted(set(args.sizes)) or args.sizes[0] < 2:
        parser.error("--sizes must be ascending, distinct and at least 2 (the declaration is the first event)")
    if args.commands < 1 or args.timeline_reads < 1:
        parser.error("--commands and --timeline-reads must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_at_start = os.getloadavg()[0]
    command_line = shlex.join(sys.orig_argv if argv is None else [sys.executable, __file__, *argv])
    results = [r for store in args.stores for r in run_store(store, args)]
    report(results, args, command_line, load_at_start)
    return 0


def report(results: list[Result], args: argparse.Namespace, command_line: str, load_at_start: float) -> None:
    lines = [
        f"Valmius: one more command on a growing crisis ({os.cpu_count()} CPUs; {args.commands} commands of each "
        f"kind per size and cache, one at a time, through the application's use cases, no HTTP)",
        "",
        f"{'store':<9} {'cache':<5} {'events':>7} {'command':<10} {'median ms':>10} {'p99 ms':>8} {'cpu ms':>7} "
        f"{'snapshot bytes':>15} {'timeline ms':>12} {'entries':>8} {'page 1 ms':>10} {'crisis 1st':>10} {'crisis ms':>10}",
    ]
    for r in results:
        lines.append(
            f"{r.store:<9} {r.cache:<5} {r.size:>7} {r.kind:<10} {r.median_ms:>10.2f} {r.p99_ms:>8.2f} {r.cpu_ms:>7.2f} "
            f"{r.snapshot_bytes:>15,} {r.timeline_ms:>12.1f} {r.timeline_entries:>8} {r.first_page_ms:>10.1f} "
            f"{r.crisis_first_ms:>10.1f} {r.crisis_read_ms:>10.1f}"
        )
    lines.append("")
    smallest, largest = min(args.sizes), max(args.sizes)
    for store in args.stores:
        for cache in ("off", "on"):
            for kind in KINDS:
                at = {r.size: r for r in results if (r.store, r.cache, r.kind) == (store, cache, kind)}
                ratio = at[largest].median_ms / at[smallest].median_ms
                cpu_ratio = at[largest].cpu_ms / at[smallest].cpu_ms
                lines.append(
                    f"target median at {largest} ≤ 1.3 × median at {smallest} ({store}, cache {cache}, {kind}): "
                    f"{ratio:.2f} ×  {'MET' if ratio <= 1.3 else 'NOT MET'}  (CPU: {cpu_ratio:.2f} ×)"
                )
        timeline = max((r for r in results if r.store == store and r.size == largest), key=lambda r: r.first_page_ms)
        lines.append(
            f"target first timeline page at {largest} ≤ 50 ms ({store}; {DEFAULT_LIMIT} of "
            f"{timeline.timeline_entries} entries): {timeline.first_page_ms:.1f} ms  "
            f"{'MET' if timeline.first_page_ms <= 50 else 'NOT MET'}"
        )
    if largest != 50000:
        lines.append(f"(the targets are set at 50000 events; this run's largest size is {largest})")
    lines.append("")
    lines.append(f"command: {command_line}")
    lines.append(
        "events: the crisis's history when measuring began, filled to that size, a crisis of its own for each size "
        "(the cache-on commands come after the cache-off ones, on 3 × --commands + 1 more events). snapshot bytes: the crisis's latest snapshot as "
        "stored, after the commands. cpu ms: the median CPU time of the thread that ran a command. crisis 1st, crisis ms: the crisis as GET /crises/{id} answers it, read and presented "
        "(no HTTP), the first read after the fill (it reads the crisis's other records by type) and the median of "
        "the reads after it."
    )
    lines.append(f"load average (1 min) at start {load_at_start:.2f}, at end {os.getloadavg()[0]:.2f}")
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"command": command_line, "args": vars(args), "results": [asdict(r) for r in results]},
                       indent=2, default=str) + "\n"
        )


if __name__ == "__main__":
    sys.exit(main())
