"""Integration fixtures: the service over real HTTP (uvicorn in a background thread) on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infrastructure.bootstrap import open_services
from interfaces.http.app import create_app
from tests.conftest import settings_for
from tests.live import LiveServer, serve_in_thread


@pytest.fixture
def live_server(postgres_url: str, tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    """The app as `valmius serve` builds it, on a fresh schema of the session's PostgreSQL database, with the
    real clock; `.services` is the server's own (tokens, and reading back what was stored)."""
    settings = settings_for("postgres", tmp_path, postgres_url)
    services = open_services(settings)  # the real clock
    server, thread, base_url = serve_in_thread(create_app(settings, services=services))
    try:
        yield LiveServer(base_url, services, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        services.close()
