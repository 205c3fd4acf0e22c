"""What one page of a long crisis costs on PostgreSQL: the timeline and the decision log of a crisis of N
entries and N decisions (each reviewed), beside ten crises of 1,000, read a page at a time (100 items: the
first page, a page onwards from the middle, a page back from the middle, a one-day window), as the HTTP
routes read them (the query functions, redaction included).

The rows are written straight into the read models' tables (generate_series), not through the log: this
measures reads only (bench/growth.py measures commands and the first timeline page after real commands).
For each size and page: the median and p99 wall time and the median CPU time of this process per page.
Nothing is written into the repository: results go to stdout, progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from application.projections import crisis_timeline, decision_log  # noqa: E402
from application.projections.paging import DEFAULT_LIMIT, Page, microseconds  # noqa: E402
from bench.common import (  # noqa: E402
    Progress,
    bench_parser,
    bench_services,
    command_line,
    machine_load,
    percentile,
    print_report,
    report_head,
)

START = datetime.fromisoformat("2025-10-25T21:40:00+03:00")
OTHERS = 10  # crises of 1,000 entries beside the long one


def fill(url: str, crisis_id: str, count: int) -> None:
    """`count` timeline entries (after its declaration) and `count` decisions, each reviewed, of `crisis_id`,
    one a minute from START, written straight into the read models' tables; then ANALYZE."""
    us, minute, at = microseconds(START), 60_000_000, START.isoformat()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO rm_timeline (crisis_id, position, kind, ref, occurred_at, occurred_us, recorded_at, actor,"
            " late_minutes, content, classification, struck)"
            " SELECT %s, n, CASE n WHEN 0 THEN 'declared' ELSE 'log_entry' END, n::text, %s,"
            " %s::bigint + n::bigint * %s::bigint, %s, 'DO-1', 0, '{}', NULL, 0 FROM generate_series(0, %s) n",
            (crisis_id, at, us, minute, at, count),
        )
        conn.execute(
            "INSERT INTO rm_decision_pages (crisis_id, decided_us, decision_id)"
            " SELECT %s, %s::bigint + n::bigint * %s::bigint, 'D-' || n FROM generate_series(1, %s) n",
            (crisis_id, us, minute, count),
        )
        conn.execute(
            "INSERT INTO rm_decisions (crisis_id, decision_id, decided_by, decision, rationale, options, refs,"
            " classification, decided_at, recorded_at, actor, reviewed)"
            " SELECT %s, 'D-' || n, 'Head', 'evacuate', 'flooding', '[]', '[]', NULL, %s, %s, 'DO-1', 1"
            " FROM generate_series(1, %s) n", (crisis_id, at, at, count),
        )
        conn.execute(
            "INSERT INTO rm_decision_reviews (crisis_id, position, decision_id, occurred_at, recorded_at, actor,"
            " outcome) SELECT %s, n, 'D-' || n, %s, %s, 'DO-1', 'upheld' FROM generate_series(1, %s) n",
            (crisis_id, at, at, count),
        )
        conn.execute("ANALYZE")


def pages(count: int) -> dict[str, tuple[Callable[..., dict[str, Any]], Page]]:
    """The pages read of a crisis of `count` items: the first, onwards and back from the middle, a window."""
    middle = count // 2
    window = Page(DEFAULT_LIMIT, start=START + timedelta(minutes=middle), end=START + timedelta(minutes=middle + 1440))
    return {
        "timeline first": (crisis_timeline.timeline, Page(DEFAULT_LIMIT)),
        "timeline after middle": (crisis_timeline.timeline, Page(DEFAULT_LIMIT, after=middle)),
        "timeline before middle": (crisis_timeline.timeline, Page(DEFAULT_LIMIT, before=middle)),
        "timeline day window": (crisis_timeline.timeline, window),
        "decision log first": (decision_log.decision_log, Page(DEFAULT_LIMIT)),
        "decision log after middle": (decision_log.decision_log, Page(DEFAULT_LIMIT, after=f"D-{middle}")),
        "decision log before middle": (decision_log.decision_log, Page(DEFAULT_LIMIT, before=f"D-{middle}")),
        "decision log day window": (decision_log.decision_log, window),
    }


def main(argv: list[str] | None = None) -> None:
    parser = bench_parser(__doc__, "valmius_bench_reads", "Prints a table per size.")
    parser.add_argument("--sizes", default="1000,10000,50000", help="the long crisis's entries (and decisions)")
    parser.add_argument("--reads", type=int, default=30, help="timed reads of each page per size")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    progress, load_start, results = Progress(not args.quiet), machine_load(), {}
    with bench_services(args, progress) as ctx:
        store, policy = ctx.services.sql, ctx.app.policy
        for n in range(OTHERS):
            fill(ctx.database_url, f"C-{n}", 1_000)
        for size in sizes:
            crisis = f"C-LONG-{size}"
            progress.note(f"{size:,} entries and decisions in {crisis}")
            fill(ctx.database_url, crisis, size)
            at = START + timedelta(minutes=size + 60)
            for name, (read, page) in pages(size).items():
                read(store, crisis, at, True, policy, page)  # warm
                wall, cpu = [], []
                for _ in range(args.reads):
                    w, c = time.perf_counter(), time.process_time()
                    answer = read(store, crisis, at, True, policy, page)
                    wall.append((time.perf_counter() - w) * 1000)
                    cpu.append((time.process_time() - c) * 1000)
                items = len(answer.get("entries", answer.get("decisions", [])))
                results[f"{size} {name}"] = {
                    "size": size, "page": name, "items": items, "median_ms": percentile(wall, 50),
                    "p99_ms": percentile(wall, 99), "cpu_ms": percentile(cpu, 50),
                }
    out = report_head(args, "Reads of a long crisis, a page at a time,", "client and server", load_start)
    out.append(f"{'entries':>8}  {'page (100 items)':<28} {'items':>5} {'median ms':>10} {'p99 ms':>8} {'CPU ms':>7}")
    for r in results.values():
        out.append(f"{r['size']:>8,}  {r['page']:<28} {r['items']:>5} {r['median_ms']:>10.1f} {r['p99_ms']:>8.1f}"
                   f" {r['cpu_ms']:>7.1f}")
    print_report(out, args, command_line(__file__, argv), results, {})


if __name__ == "__main__":
    main()
