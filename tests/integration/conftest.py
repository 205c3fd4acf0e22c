"""Integration fixtures: the service over real HTTP (uvicorn in a background thread) on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import settings_for
from tests.live import LiveServer, running_service


@pytest.fixture
def live_server(postgres_url: str, tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    """The service on a fresh schema of the session's PostgreSQL database, with the real clock."""
    with running_service(settings_for("postgres", tmp_path, postgres_url)) as running:
        yield running
