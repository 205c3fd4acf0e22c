"""Processes starting together on a fresh PostgreSQL database (`valmius serve --workers N` beside `valmius
project`, all started at once): every one of them starts. And the first hour on PostgreSQL: `valmius init`
creates the store, no other command creates one by mistake, and a token the CLI issues from any folder is the
one the running service reads."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psycopg
import pytest

from tests.conftest import ADMIN_URL
from tests.live import free_port, spawn, valmius_env, wait_until
from tests.test_readme import up

ROOT = Path(__file__).resolve().parents[2]
START = """
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings
open_services(Settings(_env_file=None)).close()
"""


@pytest.mark.postgres
def test_three_processes_starting_together_on_a_fresh_database_all_start():
    """Given a fresh database, when three processes open the services on it at the same moment (each creating
    the event store's tables, the side tables and the read models), then all three start, twice over.
    Without taking turns, two of three failed on PostgreSQL's catalog ("type … already exists")."""
    name = f"valmius_test_start_{uuid.uuid4().hex[:8]}"
    url = urlparse(ADMIN_URL)._replace(path=f"/{name}").geturl()
    env = {**os.environ, "VALMIUS_DATABASE_URL": url, "VALMIUS_ENVIRONMENT": "production"}
    failures: list[str] = []
    try:
        for _ in range(2):
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            processes = [
                subprocess.Popen([sys.executable, "-c", START], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
                for _ in range(3)
            ]
            for process in processes:
                _, err = process.communicate(timeout=60)
                if process.returncode:
                    failures.append(err.strip().splitlines()[-1])
            with psycopg.connect(url) as conn:
                tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            assert {"valmius_events", "valmius_tracking", "rm_timeline", "valmius_chain"} <= tables
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert failures == []


def valmius(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`valmius ARGS` as an operator runs it: a process of its own, from `cwd`, configured by its environment."""
    return subprocess.run([str(ROOT / ".venv" / "bin" / "valmius"), *args], cwd=cwd, capture_output=True, text=True,
                          env=valmius_env(database_url, "production"), timeout=120)


def database_exists(name: str) -> bool:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


@pytest.mark.postgres
def test_on_postgresql_init_creates_the_store_and_a_token_issued_from_another_folder_is_read_by_the_service(
    tmp_path: Path,
):
    name = f"valmius_test_first_hour_{uuid.uuid4().hex[:8]}"
    url = urlparse(ADMIN_URL)._replace(path=f"/{name}").geturl()
    service = None
    try:
        # Given no database yet: a command other than init stops, naming it, and creates nothing
        refused = valmius(url, tmp_path, "token", "issue", "--user", "DO-1", "--role", "duty_officer")
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.strip() == (
            f"valmius: no store in PostgreSQL database 127.0.0.1:5432/{name} (VALMIUS_DATABASE_URL or --database); "
            "`valmius init` creates it"
        )
        assert not database_exists(name)
        serve = valmius(url, tmp_path, "serve", "--port", str(free_port()))
        assert serve.returncode == 2 and "`valmius init` creates it" in serve.stderr
        assert not database_exists(name)
        # When the operator creates it, and starts the service and the projection worker in the project folder
        assert valmius(url, tmp_path, "init").returncode == 0
        port = free_port()
        service = spawn(["-m", "interfaces.cli.main", "serve", "--port", str(port)], url, tmp_path / "serve.log",
                        "production")
        wait_until(lambda: up(port) or service.poll() is not None, 60, "the service to start")
        assert service.poll() is None, (tmp_path / "serve.log").read_text()
        # and issues a token from another folder
        issued = valmius(url, tmp_path, "token", "issue", "--user", "DO-1", "--role", "duty_officer")
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip()
        # Then the running service reads it: the duty officer declares a crisis
        declared = httpx.post(
            f"http://127.0.0.1:{port}/crises", headers={"Authorization": f"Bearer {token}"}, timeout=30,
            json={"crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2},
        )
        assert declared.status_code == 201, declared.text
        # and a revocation from that folder is heard by the service at once
        assert valmius(url, tmp_path, "token", "revoke", "--user", "DO-1").returncode == 0
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/crises/C-1", timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}).status_code == 401, 10,
                   "the revoked token to be refused")
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

