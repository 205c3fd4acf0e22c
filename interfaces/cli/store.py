"""Which store a command works on, and whether it is there.

Every command but `valmius init` works on a store that exists: one that is missing is named, with the command
that creates it, and the command stops (exit 2) rather than creating a new, empty store beside the real one.
`valmius serve` creates the default embedded store (the SQLite file in the project folder) on its first start,
so that `make run` is one command. A PostgreSQL server that cannot be reached just now is not a missing store:
`serve` and `project` wait it out (see infrastructure.bootstrap).
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlparse

import psycopg

from infrastructure.bootstrap import open_services
from infrastructure.persistence import store_unavailable
from infrastructure.settings import DEFAULT_DATABASE_URL, Settings

EVENTS_TABLE = "valmius_events"  # the event store's table: a store without it was never opened


def describe(settings: Settings) -> str:
    """The store as a person recognises it, without a password."""
    if settings.store == "sqlite":
        return f"SQLite file {settings.database_url.removeprefix('sqlite:///')}"
    if settings.store == "memory":
        return "in-memory store"
    url = urlparse(settings.database_url)
    return f"PostgreSQL database {url.hostname or '127.0.0.1'}:{url.port or 5432}/{url.path.lstrip('/') or 'valmius'}"


def exists(settings: Settings) -> bool | None:
    """Whether the store exists; None when it cannot be told now (PostgreSQL out of reach)."""
    if settings.store == "memory":
        return True
    if settings.store == "sqlite":
        import sqlite3

        path = Path(settings.database_url.removeprefix("sqlite:///"))
        if not path.is_file():
            return False
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (EVENTS_TABLE,)).fetchone() is not None
    url = urlparse(settings.database_url)
    url = url._replace(scheme="postgresql", path=url.path if url.path.strip("/") else "/valmius")
    try:
        with psycopg.connect(url.geturl(), connect_timeout=5) as conn:
            return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (EVENTS_TABLE,)).fetchone()[0]
    except psycopg.errors.InvalidCatalogName:  # no such database
        return False
    except psycopg.OperationalError as error:
        if store_unavailable(error):
            return None
        raise


def missing(settings: Settings, command: str) -> str | None:
    """The line to stop `command` with if its store is missing, else None."""
    if exists(settings) is not False:
        return None
    if command == "serve" and settings.database_url == DEFAULT_DATABASE_URL:
        return None  # the embedded default store: `make run` creates it on the first start
    return f"valmius: no store in {describe(settings)} (VALMIUS_DATABASE_URL or --database); `valmius init` creates it"


def init(settings: Settings) -> int:
    """`valmius init`: create the store (on PostgreSQL the database too, if the server lets us)."""
    found = exists(settings)
    if found is None:
        print(f"valmius: {describe(settings)} is out of reach; try again once it is up", file=sys.stderr)
        return 1
    if not found:
        open_services(settings).close()
    print(f"the store in {describe(settings)} {'exists already' if found else 'is created'}; "
          "issue tokens with `valmius token issue --user NAME --role ROLE`")
    return 0
