"""Processes starting together on a fresh PostgreSQL database (`valmius serve --workers N` beside `valmius
project`, all started at once): every one of them starts."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from tests.conftest import ADMIN_URL

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
