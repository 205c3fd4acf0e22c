"""Shared fixtures: an injected clock, the three stores (memory, SQLite, PostgreSQL), an HTTP client with tokens.

PostgreSQL is real: the suite creates its own database on the server at VALMIUS_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/postgres) and drops it afterwards. If the server cannot be
reached the PostgreSQL tests fail; they are never skipped.

The scenario scripts are replayed through the HTTP API once per session and store (`replays`); a
test that needs a replayed store gets a copy of it of its own (`replayed_api`, `s1`, `s4`): on SQLite a
copy of the file, on PostgreSQL a database created with the replayed one as its template.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from fastapi.testclient import TestClient

from domain.access import Role
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.acceptance.checkpoints import Live, check_read_models, record_live_picture
from tests.acceptance.replay import Replay, Replayer, check_current_endpoints
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


def create_database(template: str | None = None) -> str:
    """A new database of our own on the real PostgreSQL server (a copy of `template` if given): its URL."""
    name = f"valmius_test_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
    except psycopg.OperationalError as error:  # fail, never skip: the PostgreSQL tests must run
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {error}", pytrace=False)
    return urlparse(ADMIN_URL)._replace(path=f"/{name}").geturl()


def drop_database(url: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def database_name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of our own on the real PostgreSQL server, for the whole session."""
    url = create_database()
    yield url
    drop_database(url)


def reset_postgres(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


# The services of one test, driven in process a request or a call at a time, open a pool of 3 connections (up
# to 6), not production's 10 (up to 20): each is a server process forked at every opening. The live servers,
# which the concurrency tests race over HTTP, keep production's pool.
TEST_POOL = {"postgres_pool_size": 3}


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
    opened = open_services(settings_for(backend, tmp_path, pg, **TEST_POOL), clock)
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
    settings = settings_for("postgres", tmp_path, postgres_url, embedded_projections=True, **TEST_POOL)
    yield from make_api(settings, clock)


@pytest.fixture
def live_server(postgres_url: str, tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    """The service over real HTTP (uvicorn in a background thread) on a fresh schema of the session's PostgreSQL
    database, with the real clock; no projection worker of its own runs beside it."""
    with running_service(settings_for("postgres", tmp_path, postgres_url)) as running:
        yield running


# --- the scenarios, replayed once per session and store, copied per test -------------------------------

REPLAY_SETTINGS = {"embedded_projections": True, "history_snapshot_every": 7}  # the as-of reads start from snapshots


@dataclass(frozen=True)
class Replayed:
    """A scenario replayed through the HTTP API into a store of its own, with every checkpoint hook: what the
    replay found (`replay`), the live picture shown at each checkpoint (`live`), the refused attempts kept
    at its end, and the store itself (`database_url`), which tests never touch: they get copies of it."""

    store: str
    database_url: str
    replay: Replay
    live: Live
    refusals: list[dict]
    crises: tuple[str, ...]
    liaisons: dict[str, str]
    now: datetime

    def replayer(self, api: ApiClient) -> Replayer:
        """A replayer that knows the scenario's crises and liaisons, for reads of a copy of the store."""
        replayer = Replayer(api, self.replay.scenario, checkpoint_hooks=[])
        replayer.crises, replayer.liaisons = list(self.crises), dict(self.liaisons)
        return replayer


@pytest.fixture(scope="session")
def replays(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str, str], Replayed]]:
    """`replays("S1", "postgres")`: the scenario replayed on that store, the first time it is asked for."""
    done: dict[tuple[str, str], Replayed] = {}

    def replayed(scenario: str, store: str) -> Replayed:
        if (scenario, store) not in done:
            if store == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp(f'replay-{scenario}') / 'valmius.sqlite3'}"
            else:
                url = create_database()
            clock, live = FakeClock(), {}
            with contextmanager(make_api)(store_settings(url), clock) as api:
                hooks = [check_current_endpoints, check_read_models, record_live_picture(live)]
                replayer = Replayer(api, scenario, checkpoint_hooks=hooks)
                replay = replayer.run()
                refusals = replayer.refusals()
            done[scenario, store] = Replayed(
                store, url, replay, live, refusals, tuple(replayer.crises), dict(replayer.liaisons), clock()
            )
        return done[scenario, store]

    yield replayed
    for replayed_store in done.values():
        if replayed_store.store == "postgres":
            drop_database(replayed_store.database_url)


def copy_sqlite(source: str | Path, target: Path) -> None:
    """A copy of an SQLite database through SQLite's own backup (whatever it still holds in a WAL file too)."""
    with closing(sqlite3.connect(source)) as original, closing(sqlite3.connect(target)) as copy:
        original.backup(copy)


def store_settings(url: str) -> Settings:
    return Settings(environment="test", database_url=url, _env_file=None, **REPLAY_SETTINGS, **TEST_POOL)


CopyOf = Callable[..., tuple[ApiClient, Replayed]]


@pytest.fixture
def replayed_api(replays: Callable[[str, str], Replayed], tmp_path: Path) -> Iterator[CopyOf]:
    """`replayed_api("S4", "sqlite")`: the HTTP API on a copy of the store the scenario was replayed into, with
    the server clock where the replay left it, and what the replay found."""
    with ExitStack() as stack:

        def copy_of(scenario: str, store: str = "sqlite") -> tuple[ApiClient, Replayed]:
            replayed = replays(scenario, store)
            if store == "sqlite":
                target = tmp_path / f"{scenario}-{uuid.uuid4().hex[:6]}.sqlite3"
                copy_sqlite(replayed.database_url.removeprefix("sqlite:///"), target)
                url = f"sqlite:///{target}"
            else:
                url = create_database(template=database_name(replayed.database_url))
                stack.callback(drop_database, url)
            api = stack.enter_context(contextmanager(make_api)(store_settings(url), FakeClock(replayed.now)))
            return api, replayed

        yield copy_of


def replayed_sqlite(replayed_api: CopyOf, scenario: str) -> ApiClient:
    api, replayed = replayed_api(scenario, "sqlite")
    assert not replayed.replay.failures, replayed.replay.report()
    return api


@pytest.fixture
def s1(replayed_api: CopyOf) -> ApiClient:
    """The HTTP API on a copy of the SQLite store S1 (the autumn storm) was replayed into."""
    return replayed_sqlite(replayed_api, "S1")


@pytest.fixture
def s4(replayed_api: CopyOf) -> ApiClient:
    """The HTTP API on a copy of the SQLite store S4 (the school threats) was replayed into."""
    return replayed_sqlite(replayed_api, "S4")

