"""What every benchmark script needs: a database of its own on the PostgreSQL server (and the services open on
it), a free port, the `valmius` command in a process of its own and a wait for its /health, helper processes,
percentiles, progress on stderr, the options naming the database, and the report's head, table and the
command that produced it."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg

REPO = Path(__file__).resolve().parent.parent

now_ns = time.monotonic_ns  # CLOCK_MONOTONIC: one clock for a benchmark and its helper processes


def fresh_database(admin_url: str, name: str) -> str:
    """Create the database `name` afresh on the server of `admin_url`; returns its URL."""
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlparse(admin_url)._replace(path=f"/{name}").geturl()


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank on the sorted values); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def valmius_command() -> list[str]:
    """The `valmius` command of this interpreter's environment (the module where it is not installed)."""
    executable = shutil.which("valmius", path=str(Path(sys.executable).parent))
    return [executable] if executable else [sys.executable, "-m", "interfaces.cli.main"]


def wait_healthy(port: int, check: Callable[[], None], tail: Callable[[], str], timeout: float = 30) -> None:
    """Wait until `valmius serve` on `port` answers GET /health; `check` raises if its process has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"valmius serve did not answer /health in {timeout} s:\n{tail()}")


def add_database_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """--postgres-url, --database (default `name`) and --keep-database: the benchmark's own PostgreSQL database."""
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a database on the server to connect to for creating the benchmark's own database")
    parser.add_argument("--database", default=name,
                        help="the benchmark's database: dropped if it exists, created, and dropped at the end")
    parser.add_argument("--keep-database", action="store_true", help="keep the database at the end, to look into it")


def bench_parser(doc: str, database: str, what: str) -> argparse.ArgumentParser:
    """The options of a benchmark on a database of its own: its description is the first paragraph of `doc`
    and `what` it does; the database options; --json FILE and --quiet."""
    parser = argparse.ArgumentParser(
        description=f"{doc.split(chr(10) * 2)[0]} {what}", formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add_database_arguments(parser, database)
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


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
    `profile` (a directory), it runs under `py-spy record` and leaves a raw flame graph there; with `checkout`
    (a folder), the same command runs from that checkout's code (a before/after comparison)."""

    def __init__(
        self, args: list[str], env: dict[str, str], profile: str | None = None, checkout: Path | None = None
    ) -> None:
        self.log = tempfile.NamedTemporaryFile(prefix="valmius-bench-", suffix=".log", delete=False)
        if checkout is not None:
            env = {**env, "PYTHONPATH": str(checkout)}
            self.command = [sys.executable, "-m", "interfaces.cli.main", *args]
        else:
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
            [*spy, *self.command], cwd=checkout or REPO, env={**os.environ, **env}, stdout=self.log,
            stderr=subprocess.STDOUT,
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
    """A benchmark script in another process (`python SCRIPT ARGS`): prints READY, runs until told STOP, prints
    one JSON line."""

    def __init__(self, script: str, args: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
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



@dataclass
class Context:
    args: argparse.Namespace
    progress: Progress
    database_url: str
    services: Any
    app: Any
    tokens: dict[str, str] = field(default_factory=dict)
    port: int = 0
    pids: dict[str, int] = field(default_factory=dict)  # the service's processes (bench/workload.py: serving)


@contextmanager
def bench_services(args: argparse.Namespace, progress: Progress) -> Iterator[Context]:
    """The benchmark's own database, created afresh, with the services open on it as production runs them;
    dropped at the end unless --keep-database."""
    from infrastructure.bootstrap import open_services
    from infrastructure.settings import Settings

    database_url = fresh_database(args.postgres_url, args.database)
    services = open_services(Settings(environment="production", database_url=database_url, _env_file=None))
    try:
        yield Context(args, progress, database_url, services, services.coordination)
    finally:
        services.close()
        if not args.keep_database:
            drop_database(args.postgres_url, args.database)


def run(
    args: argparse.Namespace, what: str, measure: Callable[[Context], tuple[dict[str, Any], dict[str, str]]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """`measure` on the benchmark's own database: the results under `what` (with the machine's load at the
    start), and the commands of the subprocesses it started."""
    progress = Progress(not args.quiet)
    results: dict[str, Any] = {"load_start": machine_load()}
    with bench_services(args, progress) as ctx:
        progress.note(
            f"valmius {what} bench on {ctx.database_url} ({os.cpu_count()} CPUs, load {results['load_start']})"
        )
        results[what], commands = measure(ctx)
    return results, commands


def command_line(script: str, argv: list[str] | None) -> str:
    """The command that runs this benchmark with these options, as it was typed."""
    return shlex.join(sys.orig_argv if argv is None else [sys.executable, script, *argv])


def machine_load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report_head(args: argparse.Namespace, title: str, where: str, load_start: str) -> list[str]:
    """The report's first lines: what ran, on which PostgreSQL, and the machine's load at start and end."""
    with psycopg.connect(args.postgres_url, autocommit=True) as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    return [
        f"{title} on PostgreSQL {server_version.split()[0]} ({os.cpu_count()} CPUs; database {args.database}; "
        f"{where} on one machine)",
        f"machine load: {load_start} at start, {machine_load()} at the end (1/5/15-min load averages; "
        "other work on the machine shows here)",
        "",
    ]


def table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """The figures against their targets: measure, value, target, result."""
    width = max(len(r[0]) for r in rows) if rows else 10
    out = [f"{'measure':<{width}}  {'value':>26}  {'target':<12}  result"]
    for name, value, target, result in rows:
        out.append(f"{name:<{width}}  {value:>26}  {target:<12}  {result}")
    return out


def print_report(
    out: list[str],
    args: argparse.Namespace,
    command: str,
    results: dict[str, Any],
    commands: dict[str, str],
    problems: Sequence[str] = (),
) -> None:
    """Print the report, the commands refused (the first few) and the command that produced it (and those of
    its subprocesses); --json too."""
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


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) so far of this process (all threads), or of another process and every process
    under it (`valmius serve --workers 2`: the supervisor and its workers), from /proc."""
    if pid is None:
        return time.process_time()
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, CPU seconds)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
        except (OSError, IndexError, ValueError):
            continue
    if pid not in stats:
        return float("nan")
    tree = {pid}
    while grown := {child for child, (parent, _) in stats.items() if parent in tree} - tree:
        tree |= grown
    return sum(stats[member][1] for member in tree)
