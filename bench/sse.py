#!/usr/bin/env python3
"""Server-Sent-Events delivery of Valmius on PostgreSQL: the time from a command's commit to dashboards having it.

With the service as production runs it on PostgreSQL (`valmius serve` and the one projection worker `valmius
project`, each in its own process: bench/workload.py) on a database of its own (default `valmius_bench_sse`,
created afresh and dropped at the end unless --keep-database), opens N (default 200) Server-Sent-Events
clients on GET /situation-overview/stream with a leadership token (raw asyncio connections, in a separate
process), sends commands at a modest rate, and for each command and each client takes the time from the
command's HTTP answer until that client has received a frame (the whole `overview` on connecting, a `patch`
after it) whose `id:` is ≥ the command's position. The read models' tracking position is polled meanwhile, so
the time splits into commit → read models and read models → client.

Nothing is written into the repository: results go to stdout, progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    Context,
    Helper,
    bench_parser,
    command_line,
    now_ns,
    percentile,
    print_report,
    report_head,
    run,
    summary_ms,
    table,
    verdict,
)
from bench.common import cpu_seconds  # noqa: E402
from bench.workload import (  # noqa: E402
    STARTS_SERVICE,
    add_service_arguments,
    drive,
    first_reached,
    setup_owners,
    start_poller,
    wait_caught_up,
    with_service,
)

# --- the SSE clients (this script again, as a helper process) --------------------------------------------


class SseClient(asyncio.Protocol):
    """One dashboard: GET /situation-overview/stream, de-chunked, `overview` and `patch` frames timed on arrival."""

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
            if frame.startswith((b"event: overview", b"event: patch")):
                id_at = frame.find(b"\nid: ")
                id_end = frame.find(b"\n", id_at + 1)
                position = int(frame[id_at + 5 : id_end].split(b".")[0])  # `P.k`: the k-th refresh at position P
                self.frames.append((arrived, position, len(frame)))
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



def sse_phase(ctx: Context) -> dict[str, Any]:
    args, progress = ctx.args, ctx.progress
    owners = setup_owners(ctx.app, "SSE", 1, args.crises_per_client)
    wait_caught_up(ctx.services, ctx.app.recorder.max_notification_id(), 60, "sse set-up")
    progress.note(f"sse: connecting {args.sse_clients} SSE clients (leadership token)")
    clients = Helper(
        __file__,
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
    poller = start_poller(ctx.database_url, args.poll_ms)
    time.sleep(1.0)
    processes = {**ctx.pids, "clients": clients.process.pid}
    cpu_started = {name: cpu_seconds(pid) for name, pid in processes.items()}
    progress.note(
        f"sse: {args.sse_rate:g} commands/s for {args.sse_duration:g} s to {args.sse_clients} connected clients"
    )
    samples, problems = drive(
        "127.0.0.1", ctx.port, ctx.tokens, owners, args.sse_rate, 1.0, args.sse_duration, progress, "sse"
    )
    last = max(s.position for s in samples)
    wait_caught_up(ctx.services, last, 30, "sse drain")
    time.sleep(1.0)  # the last frame's fan-out
    cpu = {name: cpu_seconds(pid) - cpu_started[name] for name, pid in processes.items()}
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
    frame_sizes = [f[2] for frames in received["clients"] for f in frames[1:]]  # after the whole first picture
    delivered = len(frame_sizes)
    first_sizes = [frames[0][2] for frames in received["clients"] if frames]
    return {
        "clients": args.sse_clients,
        "workers": args.workers,
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
        "first_frame_bytes_median": percentile(first_sizes, 50),
        "connect_seconds": received["connect_seconds"],
        "frames_delivered": delivered,
        "cpu_seconds": cpu,
        "cpu_us_per_frame": {name: seconds / delivered * 1e6 if delivered else float("nan") for name, seconds in cpu.items()},
        "closed_early": received["closed_early"],
        "errors": received["errors"],
        "http_latency": summary_ms([s.answered - s.sent for s in samples if s.measured]),
        "poll_interval": polled["interval"],
        "problems": problems,
    }



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(__doc__, "valmius_bench_sse", STARTS_SERVICE)
    parser.add_argument("--sse-clients", type=int, default=200, help="connected SSE clients")
    parser.add_argument("--sse-rate", type=float, default=5.0, help="commands/s")
    parser.add_argument("--sse-duration", type=float, default=20.0, help="measured seconds")
    add_service_arguments(parser)
    # the helper process (this script again)
    parser.add_argument("--helper", choices=["sse"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.helper == "sse":
        return helper_sse(args.url, args.token, args.sse_clients)
    results, commands = run(args, "sse", lambda ctx: with_service(ctx, 1, sse_phase))
    report(results, args, command_line(__file__, argv), commands)
    return 0


def report(results: dict[str, Any], args: argparse.Namespace, command: str, commands: dict[str, str]) -> None:
    out = report_head(args, "Valmius SSE delivery", "service, worker, load and database", results["load_start"])
    sse = results["sse"]
    rows: list[tuple[str, str, str, str]] = []
    rows.append(
        (f"commit → SSE client, {sse['clients']} clients, median", f"{sse['delivery']['median']:.1f} ms", "", "")
    )
    rows.append(
        (
            f"commit → SSE client, {sse['clients']} clients, p99",
            f"{sse['delivery']['p99']:.1f} ms",
            "p99 ≤ 100 ms",
            verdict(sse["delivery"]["p99"] <= 100 and sse["undelivered"] == 0),
        )
    )
    rows.append(
        (
            "server CPU per frame delivered to a client",
            f"{sse['cpu_us_per_frame']['serve']:.0f} µs",
            "",
            "",
        )
    )
    rows.append(
        (
            "frame after the first (a change), median",
            f"{sse['frame_bytes_median'] / 1024:.2f} KiB",
            "≤ 2 KiB",
            verdict(sse["frame_bytes_median"] <= 2048),
        )
    )
    out += table(rows)
    s = sse
    out += [
        "",
        f"SSE: {s['clients']} clients on GET /situation-overview/stream of `valmius serve --workers {s['workers']}` "
        "(leadership token; raw asyncio "
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
        f"   {s['frames_per_client']:.0f} frames per client, median frame after the first "
        f"{s['frame_bytes_median'] / 1024:.1f} KiB (the first, whole: "
        f"{s['first_frame_bytes_median'] / 1024:.1f} KiB); "
        f"HTTP command latency median {s['http_latency']['median']:.1f} ms, p99 {s['http_latency']['p99']:.1f} ms.",
        "   Delivery = arrival (in the client process) of the first frame with id ≥ the command's "
        "Valmius-Position − arrival of the command's HTTP answer.",
        f"   CPU while the commands were sent and delivered ({s['frames_delivered']} frames to clients): "
        + ", ".join(
            f"{name} {s['cpu_seconds'][name]:.2f} s = {s['cpu_us_per_frame'][name]:.0f} µs per frame"
            for name in ("serve", "project", "clients")
        )
        + " (serve's includes the commands themselves; on a loaded machine CPU per frame is the figure to compare, "
        "the delivery times mostly show the load).",
    ]
    print_report(out, args, command, results, commands, s["problems"])


if __name__ == "__main__":
    sys.exit(main())
