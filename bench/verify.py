#!/usr/bin/env python3
"""Tamper-evidence verification rate next to the raw scan rate of the same log (target: ≥ 0.7×).

What it does, in one run:

1. Creates (drops and creates) a database of its own on the PostgreSQL server (default `valmius_bench_verify`),
   or, with --sqlite, a SQLite file in a temporary directory.
2. Stores --events domain events (default 100,000) quickly by batching saves: crises are declared and given
   crisis log entries through the Crisis aggregate's own command methods (the same events, encoding and
   store as the `declare_crisis` / `record_log_entry` use cases, without per-command authorisation, version
   check and round trip), saved 250 events per `Coordination.save`, 500 events per crisis.
   On PostgreSQL the database is then ANALYZEd, as autovacuum would have done on a store grown over time.
3. Chains the whole log with the audit-chain read model, as the follower does (with a signing key, so the
   service's own checkpoint is signed every 1000 positions), and reports that rate too.
4. Measures, --repeat times each, alternating, on the same log and with the same batch size:
   - raw scan: `recorder.select_notifications` batch after batch to the end of the log, no hashing;
   - verification: `TamperEvidence.verify()`: the same scan, plus hashing each event, recomputing the chain,
     reading the stored chain and comparing, and checking every stored signed checkpoint.
   The best run of each is reported (the least disturbed by the rest of the machine), with the median, and
   the ratio both best against best and as the median of the back-to-back pairs (which cancels slow drifts
   of the machine's load).

Nothing is written into the repository: results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import fresh_database, drop_database  # noqa: E402

import psycopg  # noqa: E402
from tqdm import tqdm  # noqa: E402

from application.audit.checkpoints import CHECKPOINT_TABLE, Signer  # noqa: E402
from application.audit.verification import VERIFY_BATCH  # noqa: E402
from domain.crisis import Crisis  # noqa: E402
from domain.shared import utc_now  # noqa: E402
from infrastructure.bootstrap import Services, open_services  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

EVENTS_PER_CRISIS = 500
EVENTS_PER_SAVE = 250


def store_events(services: Services, count: int) -> None:
    """Crises and their log entries, through the aggregate's methods, saved in batches."""
    app = services.coordination
    policy = app.policy
    now = utc_now() - timedelta(minutes=1)
    stored = app.recorder.max_notification_id() or 0
    with tqdm(total=count, initial=stored, desc="store events", unit="event", unit_scale=True, file=sys.stderr) as bar:
        number = 0
        while stored < count:
            number += 1
            crisis = Crisis.declare(
                crisis_id=f"C-BENCH-{number}", title=f"Storm {number}: power outages", category="SEVERE_WEATHER",
                severity=2, areas=["Vuosaari", "Mellunkylä"], occurred_at=now, emergency_conditions_in_force=False,
                policy=policy, actor="DO-1", now=now,
            )
            pending = 1
            for entry in range(min(EVENTS_PER_CRISIS, count - stored) - 1):
                crisis.record_log_entry(
                    text=f"Outage report {entry}: substation {entry % 17} down, {entry * 13 % 900} households "
                    "without power; home care clients called",
                    source="HELEN", occurred_at=now, policy=policy, actor="DO-1", now=now,
                )
                pending += 1
                if pending == EVENTS_PER_SAVE:
                    app.save(crisis)
                    stored += pending
                    bar.update(pending)
                    pending = 0
            if pending:
                app.save(crisis)
                stored += pending
                bar.update(pending)


def analyze(url: str) -> None:
    """Table statistics, as autovacuum keeps them on a store that has grown over time. Right after a bulk load
    there are none, and the planner sorts a whole range on disk instead of walking the position index."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def raw_scan(services: Services, batch_size: int) -> int:
    recorder = services.coordination.recorder
    head = recorder.max_notification_id() or 0
    start, read = 1, 0
    while start <= head:
        batch = recorder.select_notifications(start=start, limit=batch_size, stop=head)
        if not batch:
            break
        read += len(batch)
        start = batch[-1].id + 1
    return read


def timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = run()
    return time.perf_counter() - started, count


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Verification rate of the tamper-evidence hash chain next to the raw scan rate of the same "
        "log, on a fresh store of N events. Results on stdout, progress on stderr; nothing is written into the "
        "repository.",
    )
    parser.add_argument("--events", type=int, default=100_000, help="events in the store (default 100000)")
    parser.add_argument("--batch-size", type=int, default=VERIFY_BATCH, help=f"notifications per read (default {VERIFY_BATCH})")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each measurement (default 7)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("VALMIUS_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL server URL whose user may create databases",
    )
    parser.add_argument("--database", default="valmius_bench_verify", help="the database to (re)create for the run")
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file in a temporary directory instead")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards (default: drop it)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.sqlite:
            url = f"sqlite:///{tmp}/bench.sqlite3"
        else:
            url = fresh_database(args.postgres_url, args.database)
        key, _ = Signer.generate()
        settings = Settings(environment="test", database_url=url, signing_key=key, _env_file=None)
        services = open_services(settings)
        services.tamper_evidence.batch_size = args.batch_size
        try:
            store_events(services, args.events)
            events = services.coordination.recorder.max_notification_id() or 0
            if not args.sqlite:
                analyze(url)
            chain = services.tamper_evidence.chain
            with tqdm(total=events, desc="chain", unit="event", unit_scale=True, file=sys.stderr) as bar:
                chain_seconds, _ = timed(lambda: services.projections.catch_up([chain], progress=bar.update))
            checkpoints = len(services.sql.query(f"SELECT position FROM {CHECKPOINT_TABLE}"))

            scans: list[float] = []
            verifications: list[float] = []
            for run in range(args.repeat):
                print(f"run {run + 1}/{args.repeat}: raw scan, then verification", file=sys.stderr)
                seconds, read = timed(lambda: raw_scan(services, args.batch_size))
                assert read == events, (read, events)
                scans.append(seconds)
                verdict = None

                def verify() -> int:
                    nonlocal verdict
                    verdict = services.tamper_evidence.verify()
                    return verdict.checked

                seconds, checked = timed(verify)
                assert verdict is not None and verdict.intact and checked == events, verdict and verdict.summary()
                verifications.append(seconds)
        finally:
            services.close()
            if not args.sqlite and not args.keep:
                drop_database(args.postgres_url, args.database)

    best_scan, best_verify = min(scans), min(verifications)
    med_scan, med_verify = statistics.median(scans), statistics.median(verifications)
    store = "SQLite (temporary file)" if args.sqlite else f"PostgreSQL ({args.database})"
    rows = [
        ("raw scan (select_notifications)", events / best_scan, best_scan, events / med_scan),
        ("verification (hash, chain, compare)", events / best_verify, best_verify, events / med_verify),
    ]
    print()
    print(f"Tamper-evidence verification, {store}, {events:,} events, batches of {args.batch_size:,}, "
          f"{checkpoints} stored signed checkpoints, best and median of {args.repeat}")
    print()
    print(f"| {'what':<37} | {'events/s (best)':>15} | {'seconds (best)':>14} | {'events/s (median)':>17} |")
    print(f"| {'-' * 37} | {'-' * 15}:| {'-' * 14}:| {'-' * 17}:|")
    for what, rate, seconds, median in rows:
        print(f"| {what:<37} | {rate:>15,.0f} | {seconds:>14.3f} | {median:>17,.0f} |")
    print()
    paired = statistics.median(scan / verify for scan, verify in zip(scans, verifications))
    print(f"verification / raw scan: {best_scan / best_verify:.2f}× (best against best), {paired:.2f}× (median of "
          f"the {args.repeat} back-to-back pairs); target ≥ 0.70×")
    print(f"chaining the log as the follower does: {events / chain_seconds:,.0f} events/s ({chain_seconds:.1f} s)")
    print()
    print("command: " + shlex.join(["python", "bench/verify.py", *sys.argv[1:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
