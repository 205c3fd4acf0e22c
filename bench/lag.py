#!/usr/bin/env python3
"""Projection lag of Valmius on PostgreSQL: the time from a command's commit to the read models having it.

Starts the service as production runs it on PostgreSQL (`valmius serve` and the one projection worker `valmius
project`, each in its own process: bench/workload.py) on a database of its own (default `valmius_bench_lag`,
created afresh and dropped at the end unless --keep-database). Sends commands through HTTP at a steady rate
(default 100/s, open loop), and for each measured command takes the time from its HTTP answer (which carries
`Valmius-Position`, the log position of the committed write) until the read models' tracking position reaches
it, as a separate process polling it about every millisecond sees it. A command's lag is the first poll that
returned a position ≥ its position minus the arrival of its answer; 0 when the read models were already there
when the answer arrived. Resolution: one poll period (printed, ~1.1 ms); the figure is an upper bound by at most
that much.

Nothing is written into the repository: results go to stdout, progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    Context,
    bench_parser,
    command_line,
    print_report,
    report_head,
    run,
    summary_ms,
    table,
    verdict,
)
from bench.workload import (  # noqa: E402
    STARTS_SERVICE,
    TRACKING_QUERY,
    Sample,
    add_service_arguments,
    drive,
    first_reached,
    setup_owners,
    start_poller,
    wait_caught_up,
    with_service,
)


def lag_phase(ctx: Context) -> dict[str, Any]:
    args, progress = ctx.args, ctx.progress
    owners = setup_owners(ctx.app, "LAG", args.lag_clients, args.crises_per_client)
    wait_caught_up(ctx.services, ctx.app.recorder.max_notification_id(), 60, "lag set-up")
    poller = start_poller(ctx.database_url, args.poll_ms)
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



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__, "valmius_bench_lag", STARTS_SERVICE)
    parser.add_argument("--rate", type=float, default=100.0, help="commands/s through HTTP")
    parser.add_argument(
        "--lag-clients", type=int, default=4, help="HTTP clients sharing that rate (each owns its crises)"
    )
    parser.add_argument("--lag-duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before the measurement")
    add_service_arguments(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results, commands = run(args, "lag", lambda ctx: with_service(ctx, args.lag_clients, lag_phase))
    report(results, args, command_line(__file__, argv), commands)
    return 0


def report(results: dict[str, Any], args: argparse.Namespace, command: str, commands: dict[str, str]) -> None:
    out = report_head(args, "Valmius projection lag", "service, worker, load and database", results["load_start"])
    lag = results["lag"]
    rows: list[tuple[str, str, str, str]] = []
    rows.append(("lag commit → read models, median", f"{lag['lag']['median']:.1f} ms", "", ""))
    rows.append(
        (
            "lag commit → read models, p99",
            f"{lag['lag']['p99']:.1f} ms",
            "p99 ≤ 50 ms",
            verdict(lag["lag"]["p99"] <= 50),
        )
    )
    out += table(rows)
    m = lag
    out += [
        "",
        f"Lag: {m['commands']} measured commands at {m['achieved_rate']:.1f}/s (target {m['target_rate']:g}/s, "
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
    print_report(out, args, command, results, commands, lag["problems"])


if __name__ == "__main__":
    sys.exit(main())
