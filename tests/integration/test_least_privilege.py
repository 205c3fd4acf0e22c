"""The service runs as a least-privilege PostgreSQL role (docs/operations.md): the roles and database made by
deploy/postgres/roles.sql, the event store set up by its owner with `valmius init --runtime-role`, and
`valmius serve`, `valmius project` and the command line run as a role that is no superuser, cannot create
databases or roles, and cannot change or remove a stored event."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg import errors

from tests.conftest import ADMIN_URL
from tests.integration.deployment import declare, issue_token, overview_at, running, valmius
from tests.live import ROOT

ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"
EVENT_STORE = ("valmius_events", "valmius_snapshots")
# What no statement of the runtime role may do to the stored events (each refused with 42501).
CHANGES = [
    "UPDATE {table} SET topic = topic",
    "DELETE FROM {table}",
    "TRUNCATE {table}",
    "DROP TABLE {table}",
    "ALTER TABLE {table} DISABLE TRIGGER ALL",
    "ALTER TABLE {table} OWNER TO CURRENT_USER",
]


@dataclass(frozen=True)
class Store:
    database: str
    owner: str
    runtime: str

    def url(self, role: str) -> str:
        return urlparse(ADMIN_URL)._replace(netloc=f"{role}@{urlparse(ADMIN_URL).hostname}:"
                                            f"{urlparse(ADMIN_URL).port or 5432}", path=f"/{self.database}").geturl()


@pytest.fixture
def store() -> Iterator[Store]:
    """The roles and the database as a DBA makes them with deploy/postgres/roles.sql; both removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    made = Store(f"valmius_lp_{suffix}", f"valmius_owner_{suffix}", f"valmius_rt_{suffix}")
    variables = {"database": made.database, "owner": made.owner, "runtime": made.runtime,
                 "owner_password": uuid.uuid4().hex, "runtime_password": uuid.uuid4().hex}
    try:
        subprocess.run(
            ["psql", ADMIN_URL, "-q", "-v", "ON_ERROR_STOP=1", *(f"-v{k}={v}" for k, v in variables.items()),
             "-f", str(ROLES_SQL)],
            check=True, capture_output=True, text=True, timeout=60,
        )
        yield made
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{made.database}" WITH (FORCE)')
            for role in (made.runtime, made.owner):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.mark.postgres
def test_the_service_runs_as_a_role_that_cannot_create_databases_nor_change_stored_events(
    store: Store, tmp_path: Path
) -> None:
    """Given the roles and database of deploy/postgres/roles.sql and the event store set up by its owner, when
    the service, the projection worker and the command line run as the runtime role, then commands are stored
    and read back through the worker's read models, a second start works, the read models rebuild, and every way of changing or removing
    a stored event is refused to that role (the append-only trigger refuses it to the owner too)."""
    owner_url, runtime_url = store.url(store.owner), store.url(store.runtime)
    init = valmius(owner_url, "init", "--runtime-role", store.runtime)
    assert init.returncode == 0, init.stderr
    with psycopg.connect(ADMIN_URL) as conn:
        attributes = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles "
            "WHERE rolname = %s", (store.runtime,),
        ).fetchone()
    assert attributes == (False, False, False, False, False)

    token = issue_token(runtime_url, "duty-officer-1", "duty_officer")  # the runtime role's first start
    with running(runtime_url, tmp_path) as http:
        first = declare(http, token, "C-1")
        assert overview_at(http, token, first) == {"C-1"}
    with running(runtime_url, tmp_path) as http:  # started again on the tables it made the first time
        second = declare(http, token, "C-2")
        assert overview_at(http, token, second) == {"C-1", "C-2"}
        assert http.get("/health/ready").status_code == 200
    for command in (("audit", "verify"), ("rebuild",), ("token", "list")):
        done = valmius(runtime_url, *command)
        assert done.returncode == 0, done.stdout + done.stderr

    with psycopg.connect(runtime_url, autocommit=True) as conn:
        stored = conn.execute("SELECT count(*) FROM valmius_events").fetchone()[0]
        assert stored >= second
        refused = {}
        for table in EVENT_STORE:
            for change in CHANGES:
                statement = change.format(table=table)
                with pytest.raises(errors.InsufficientPrivilege) as refusal:
                    conn.execute(statement)
                    pytest.fail(f"{statement} was run")
                refused[statement] = str(refusal.value).splitlines()[0]
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f'CREATE DATABASE "{store.database}_more"')
        assert conn.execute("SELECT count(*) FROM valmius_events").fetchone()[0] == stored
    assert refused["TRUNCATE valmius_events"] == (
        "stored events are never changed or removed: TRUNCATE on valmius_events refused"
    )
    assert refused["UPDATE valmius_events SET topic = topic"] == "permission denied for table valmius_events"

    with psycopg.connect(owner_url, autocommit=True) as conn:  # the owner, too, only appends
        for statement in ("UPDATE valmius_events SET topic = topic", "DELETE FROM valmius_events"):
            with pytest.raises(errors.InsufficientPrivilege, match="stored events are never changed or removed"):
                conn.execute(statement)
    owned = _owners(runtime_url)
    assert {owned[t] for t in EVENT_STORE} == {store.owner}
    assert {owner for table, owner in owned.items() if table not in EVENT_STORE} == {store.runtime}


@pytest.mark.postgres
def test_init_is_idempotent_and_refuses_a_role_that_does_not_own_the_store(store: Store) -> None:
    """Given a store set up once, when `valmius init --runtime-role` runs again as its owner, then it succeeds and changes
    nothing; when the runtime role runs it, then it fails with the reason and the grants stay as they were."""
    owner_url, runtime_url = store.url(store.owner), store.url(store.runtime)
    for _ in range(2):
        init = valmius(owner_url, "init", "--runtime-role", store.runtime)
        assert init.returncode == 0, init.stderr
    usurped = valmius(runtime_url, "init", "--runtime-role", store.runtime)
    assert usurped.returncode == 1
    assert "must be owner" in usurped.stderr
    with psycopg.connect(runtime_url) as conn:
        granted = conn.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants WHERE table_name = 'valmius_events' "
            "AND grantee = current_user ORDER BY privilege_type"
        ).fetchall()
    assert [p for (p,) in granted] == ["INSERT", "SELECT", "TRUNCATE"]


def _owners(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall())
