"""Which store a command works on, whether it is there, and `valmius init`, which creates it.

Every command but `valmius init` works on a store that exists: one that is missing is named, with the command
that creates it, and the command stops (exit 2) rather than creating a new, empty store beside the real one.
`valmius serve` creates the default embedded store (the SQLite file in the project folder) on its first start,
so that `make run` is one command. A PostgreSQL server that cannot be reached just now is not a missing store:
`serve` and `project` wait it out (see infrastructure.bootstrap).

The store is the SQLite file, or the PostgreSQL database: one that exists is the one meant (a database a DBA
created for the service, with no tables yet, is; the tables in it are created by the first process to open it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import psycopg
from eventsourcing.persistence import PersistenceError

from application.coordination import Coordination
from domain.shared import utc_now
from infrastructure.bootstrap import open_services
from infrastructure.persistence import (
    create_event_store_tables,
    ensure_postgres_database,
    eventsourcing_env,
    grant_runtime_role,
    store_unavailable,
)
from infrastructure.settings import DEFAULT_DATABASE_URL, Settings


def describe(settings: Settings) -> str:
    """The store as a person recognises it, without a password."""
    if settings.store == "sqlite":
        return f"SQLite file {settings.database_url.removeprefix('sqlite:///')}"
    if settings.store == "memory":
        return "in-memory store"
    url = urlparse(settings.database_url)
    return f"PostgreSQL database {url.hostname or '127.0.0.1'}:{url.port or 5432}/{url.path.lstrip('/') or 'valmius'}"


class OutOfReach(Exception):
    """The PostgreSQL server cannot be reached just now (or does not say why it refuses): whether the store
    exists cannot be told."""


def exists(settings: Settings) -> bool:
    """Whether the store exists (OutOfReach when that cannot be told now)."""
    if settings.store == "memory":
        return True
    if settings.store == "sqlite":
        return Path(settings.database_url.removeprefix("sqlite:///")).is_file()
    url = urlparse(settings.database_url)
    url = url._replace(scheme="postgresql", path=url.path if url.path.strip("/") else "/valmius")
    try:
        with psycopg.connect(url.geturl(), connect_timeout=5):
            return True
    except psycopg.OperationalError as error:
        # A refused connection says nothing about why (no SQLSTATE): ask the server's maintenance database
        # whether the database is there, which also tells a server out of reach.
        try:
            with psycopg.connect(url._replace(path="/postgres").geturl(), connect_timeout=5) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.path.lstrip("/"),))
                if found.fetchone() is None:
                    return False
        except psycopg.OperationalError as unreachable:
            if store_unavailable(unreachable):
                raise OutOfReach(first_line(unreachable)) from None
            raise
        raise error


WAITS_FOR_THE_STORE = {"serve", "project"}  # they ride out a store out of reach (infrastructure.bootstrap)


def stop_line(settings: Settings, command: str) -> str | None:
    """The one line to stop `command` with if its store is missing (or, for a command that does not wait for
    it, out of reach), else None."""
    try:
        if exists(settings):
            return None
    except psycopg.OperationalError as error:  # reached, but refused: a password, a permission
        return f"valmius: cannot open the store in {describe(settings)}: {first_line(error)}"
    except OutOfReach as error:
        if command in WAITS_FOR_THE_STORE:
            return None
        return f"valmius: the store in {describe(settings)} is out of reach ({error}); try again once it is up"
    if command == "serve" and settings.database_url == DEFAULT_DATABASE_URL:
        return None  # the embedded default store: `make run` creates it on the first start
    return f"valmius: no store in {describe(settings)} (VALMIUS_DATABASE_URL or --database); `valmius init` creates it"


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def init(settings: Settings) -> int:
    """`valmius init`: create the store (on PostgreSQL the database too, if the server lets us)."""
    try:
        found = exists(settings)
    except (psycopg.OperationalError, OutOfReach) as error:
        print(f"valmius: cannot reach the store in {describe(settings)}: {first_line(error)}", file=sys.stderr)
        return 2
    open_services(settings).close()  # creates what is missing in it (all of it, in a new store), and nothing else
    print(f"the store in {describe(settings)} {'exists already' if found else 'is created'}; "
          "issue tokens with `valmius token issue --user NAME --role ROLE`")
    return 0


def init_for_runtime_role(settings: Settings, runtime_role: str) -> int:
    """`valmius init --runtime-role ROLE`, run as the store's owner (VALMIUS_DATABASE_URL names the owner role):
    create the event store's tables if missing, make them append-only (a trigger refuses UPDATE, DELETE and
    TRUNCATE to every role), and grant ROLE what the service needs: to read and append stored events, and to
    create tables of its own (docs/operations.md)."""
    if settings.store != "postgres":
        print("valmius: `valmius init --runtime-role` is for PostgreSQL (VALMIUS_DATABASE_URL=postgresql://owner@…/valmius)",
              file=sys.stderr)
        return 2
    try:
        ensure_postgres_database(settings.database_url)
        env = {**eventsourcing_env(settings), "CREATE_TABLE": "no"}
        coordination = Coordination(env, policy=settings.policy(), clock=utc_now)
    except (psycopg.Error, PersistenceError) as error:
        print(f"valmius: cannot open the store: {error}".rstrip(), file=sys.stderr)
        return 2
    try:
        stores = [store for store in (coordination.events, coordination.snapshots) if store is not None]
        for store in stores:
            create_event_store_tables(store.recorder)
        datastore = coordination.recorder.datastore
        with datastore.get_connection() as conn:
            owner = conn.execute("SELECT current_user AS name").fetchone()["name"]
        tables = [store.recorder.events_table_name for store in stores]
        print(f"event store tables {', '.join(tables)} present, owned by {owner}")
        snapshots = coordination.snapshots.recorder.events_table_name if coordination.snapshots else None
        grant_runtime_role(datastore, runtime_role, coordination.recorder.events_table_name, snapshots)
        print(
            f"{', '.join(tables)}: append-only for every role; {runtime_role} may read and append them "
            f"and create its own tables (run `valmius serve`, `valmius project` and the other commands as "
            f"{runtime_role})"
        )
        return 0
    except (psycopg.Error, PersistenceError) as error:
        print(f"valmius: {error}".rstrip(), file=sys.stderr)
        return 1
    finally:
        coordination.close()
