"""A real HTTP server for tests that need one (integration, browser): uvicorn in a background thread on a
free local port, running the app exactly as `valmius serve` builds it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from domain.shared import utc_now
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings


@dataclass
class LiveServer:
    base_url: str
    services: Services
    settings: Settings

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
        yield LiveServer(base_url, services, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        services.close()
