"""Real processes for tests that need them: a real HTTP server (integration, browser), uvicorn in a background
thread on a free local port running the app exactly as `valmius serve` builds it; and `valmius` processes of a
test's own (`spawn`), with what they need: a free port, their environment, a wait for what they do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from domain.shared import utc_now
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A local port free just now (for a process of its own, which binds it itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.02)


def valmius_env(database_url: str, environment: str = "test") -> dict[str, str]:
    """The environment of a `valmius` process of a test's own: this one's without its VALMIUS_ settings, on
    `database_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALMIUS_")}
    return {**env, "VALMIUS_DATABASE_URL": database_url, "VALMIUS_ENVIRONMENT": environment}


def spawn(
    args: list[str], database_url: str, log: Path, environment: str = "test", mode: str = "wb"
) -> subprocess.Popen[bytes]:
    """`python ARGS` (`-m interfaces.cli.main …`, or `-c CODE`) in the repository, as a process of its own on
    `database_url`, its output in `log`."""
    with log.open(mode) as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=valmius_env(database_url, environment), stdout=out,
            stderr=subprocess.STDOUT,
        )


@dataclass
class LiveServer:
    base_url: str
    services: Services
    settings: Settings
    http: httpx.Client  # one client for the server: its connections kept, not a new client (and TLS context) per call

    def token(self, user: str, role: str, unit: str | None = None, clearance: bool = False) -> str:
        token, _ = self.services.tokens.issue(
            user=user, role=role, unit=unit, clearance=clearance, issued_by="test", now=utc_now()
        )
        return token


def serve_in_thread(app, host: str = "127.0.0.1") -> tuple[uvicorn.Server, threading.Thread, str]:  # noqa: ANN001
    """Start uvicorn on a socket bound here (port 0: the kernel picks a free one, no race for it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=30, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    return server, thread, f"http://{host}:{port}"


@contextmanager
def running_service(settings: Settings) -> Iterator[LiveServer]:
    """The app as `valmius serve` builds it, with the real clock, over real HTTP; `.services` is the server's
    own (to issue tokens and read back what was stored)."""
    from interfaces.http.app import create_app

    services = open_services(settings)
    server, thread, base_url = serve_in_thread(create_app(settings, services=services))
    try:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            yield LiveServer(base_url, services, settings, http)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        services.close()
