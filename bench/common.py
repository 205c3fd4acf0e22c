"""What every benchmark script needs: a database of its own on the PostgreSQL server, a free port, the
`valmius` command and a wait for its /health, percentiles, and the options naming the database."""

from __future__ import annotations

import argparse
import http.client
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import psycopg


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
