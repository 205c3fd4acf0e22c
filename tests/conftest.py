"""Shared fixtures: an injected clock, the three stores (memory, SQLite, PostgreSQL), an HTTP client with tokens.

PostgreSQL is real: the suite creates its own database on the server at VALMIUS_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/postgres) and drops it afterwards. If the server cannot be
reached the PostgreSQL tests fail; they are never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlparse

import psycopg
import pytest
from fastapi.testclient import TestClient

from domain.access import Role
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.live import LiveServer, running_service

ADMIN_URL = os.environ.get("VALMIUS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["memory", "sqlite", "postgres"]


class FakeClock:
    """The server clock under the test's control."""

    def __init__(self, now: datetime | str = "2025-10-25T21:40:00+03:00") -> None:
        self.now = datetime.fromisoformat(now) if isinstance(now, str) else now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime | str) -> None:
        self.now = datetime.fromisoformat(now) if isinstance(now, str) else now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own on the real PostgreSQL server, for the whole session."""
    name = f"valmius_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:  # fail, never skip: the PostgreSQL tests must run
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {error}", pytrace=False)
    url = urlparse(ADMIN_URL)._replace(path=f"/{name}").geturl()
    yield url
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def reset_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def settings_for(backend: str, tmp_path, postgres_url: str | None = None, **overrides) -> Settings:  # noqa: ANN001
    if backend == "memory":
        url = "memory://"
    elif backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'valmius.sqlite3'}"
    else:
        assert postgres_url is not None
        reset_postgres(postgres_url)
        url = postgres_url
    return Settings(environment="test", database_url=url, _env_file=None, **overrides)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def services(backend: str, tmp_path, clock: FakeClock, request: pytest.FixtureRequest) -> Iterator[Services]:  # noqa: ANN001
    """The application and its stores on each backend in turn."""
    pg = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    opened = open_services(settings_for(backend, tmp_path, pg), clock)
    yield opened
    opened.close()


class ApiClient:
    """A TestClient that knows how to act as a user: `api.as_user("DO-1", "duty_officer")`."""

    def __init__(self, client: TestClient, services: Services, clock: FakeClock) -> None:
        self.client = client
        self.services = services
        self.clock = clock
        self._tokens: dict[tuple, str] = {}

    def token(self, user: str, role: str | Role, unit: str | None = None, clearance: bool = False) -> str:
        key = (user, str(role), unit, clearance)
        if key not in self._tokens:
            self._tokens[key], _ = self.services.tokens.issue(
                user=user, role=str(role), unit=unit, clearance=clearance, issued_by="test", now=self.clock()
            )
        return self._tokens[key]

    def headers(self, user: str, role: str | Role, unit: str | None = None, clearance: bool = False, **extra: str) -> dict:
        return {"Authorization": f"Bearer {self.token(user, role, unit, clearance)}", **extra}

    def __getattr__(self, name: str):  # noqa: ANN204 - get, post, … of the TestClient
        return getattr(self.client, name)


def make_api(settings: Settings, clock: FakeClock) -> Iterator[ApiClient]:
    services = open_services(settings, clock)
    app = create_app(settings, clock, services=services)
    with TestClient(app) as client:
        yield ApiClient(client, services, clock)
    services.close()


@pytest.fixture
def api(tmp_path, clock: FakeClock) -> Iterator[ApiClient]:  # noqa: ANN001
    """The HTTP API on a fresh SQLite file (the embedded default)."""
    yield from make_api(settings_for("sqlite", tmp_path), clock)


@pytest.fixture
def pg_api(postgres_url: str, tmp_path, clock: FakeClock) -> Iterator[ApiClient]:  # noqa: ANN001
    """The HTTP API on the real PostgreSQL server."""
    # The read models are followed in-process here, by the same code `valmius project` runs as the worker.
    yield from make_api(settings_for("postgres", tmp_path, postgres_url, embedded_projections=True), clock)


@pytest.fixture
def live_server(postgres_url: str, tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    """The service over real HTTP (uvicorn in a background thread) on a fresh schema of the session's PostgreSQL
    database, with the real clock; no projection worker of its own runs beside it."""
    with running_service(settings_for("postgres", tmp_path, postgres_url)) as running:
        yield running
