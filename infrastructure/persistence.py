"""Persistence configuration: turns the one database URL into eventsourcing's environment.

SQLite (a file) is the embedded default; PostgreSQL is production. The schema is created on first start,
and for PostgreSQL the database itself too, if the server lets us.

A PostgreSQL outage is something to wait out, not to die of: `store_unavailable` tells an outage (the server
down, restarting, unreachable, a connection lost mid-statement) from every other error, and the connection
pool is told to give up a lost connection soon (`harden_pool`), so that the next request connects afresh
instead of waiting out the pool's own backoff (up to minutes) after the server is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import psycopg
from eventsourcing import persistence as es
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg_pool import PoolTimeout

from infrastructure.settings import Settings

log = logging.getLogger("valmius.persistence")


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The library's environment; the recorders are ours (infrastructure.recorders: an idempotency key is
    decided in the transaction that stores its command's events)."""
    # eventsourcing reads "0" as an unbounded cache; for us 0 means no cache (every load from the store).
    env = {"AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size) if settings.aggregate_cache_size > 0 else ""}
    if settings.store == "memory":
        env["PERSISTENCE_MODULE"] = "infrastructure.recorders:POPOKeyedFactory"
        return env
    if settings.store == "sqlite":
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(path), SQLITE_LOCK_TIMEOUT="10",
                   APPLICATION_RECORDER_TOPIC="infrastructure.recorders:SQLiteKeyedRecorder")
        return env
    url = urlparse(settings.database_url)
    env.update(
        PERSISTENCE_MODULE="eventsourcing.postgres",
        APPLICATION_RECORDER_TOPIC="infrastructure.recorders:PostgresKeyedRecorder",
        POSTGRES_DBNAME=url.path.lstrip("/") or "valmius",
        POSTGRES_HOST=url.hostname or "127.0.0.1",
        POSTGRES_PORT=str(url.port or 5432),
        POSTGRES_USER=unquote(url.username or "postgres"),
        POSTGRES_PASSWORD=unquote(url.password or ""),
        POSTGRES_POOL_SIZE=str(settings.postgres_pool_size),
        POSTGRES_MAX_OVERFLOW=str(settings.postgres_pool_size),
        POSTGRES_CONNECT_TIMEOUT="5",
        POSTGRES_PRE_PING="y",
        # Always the table lock: notification ids then follow commit order, which the followers rely on (a
        # batch read up to id N holds every event up to N). The library's database functions skip the lock.
        POSTGRES_ENABLE_DB_FUNCTIONS="n",
    )
    return env


POOL_RECONNECT_SECONDS = 2.0
# What a lost store surfaces as: psycopg's errors, or the library's wrapping them (raised from them).
STORE_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, es.OperationalError, es.InterfaceError)
# SQLSTATE classes of a server that is going away or cannot serve now: connection exception, transaction
# rollback (serialization failure, deadlock: run again), insufficient resources, operator intervention
# (shut down, crashed, starting up). An error with no SQLSTATE never reached a server (refused, timed out, cut).
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57")


def store_unavailable(error: BaseException) -> bool:
    """True if the error, or one it was raised from, is the store being out of reach: worth waiting out (and
    safe to retry: it stored nothing). A wrong statement, a missing table or anything SQLite says is not."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, (psycopg.InterfaceError, ConnectionError)):
            return True
        if isinstance(current, psycopg.OperationalError):
            sqlstate = getattr(current, "sqlstate", None)
            return sqlstate is None or sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


# Every connection (the pool's, and the token revocations' listener, which copies them): a server that does not
# answer at all (a host down, a network cut) is given up after seconds, not the operating system's minutes.
CONNECTION_OPTIONS = {
    "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
}


def harden_pool(datastore: object) -> None:
    """A lost connection is given up after a couple of seconds of failed reconnects rather than the pool's
    default five minutes of doubling delays; the next request that needs one then connects at once. New
    connections time out and idle ones are probed (CONNECTION_OPTIONS). (The library exposes neither; the
    pool reads both at each attempt.) A server found out of reach is told at once (OutageBreaker)."""
    pool = getattr(datastore, "pool", None)
    if pool is not None:
        pool.reconnect_timeout = POOL_RECONNECT_SECONDS
        # In the connection string rather than the keyword arguments: code that copies the pool's keywords to
        # make a connection of its own may pass a connect_timeout of its own.
        pool.conninfo = make_conninfo(pool.conninfo, **CONNECTION_OPTIONS)
        pool.getconn = OutageBreaker(pool).getconn  # pool.connection() asks for its connection through here


PROBE_SECONDS = 0.5  # while the server is out of reach, how often a caller tries a connection of its own


class OutageBreaker:
    """The pool's `getconn`, which tells callers at once that the server is out of reach once it has found so,
    instead of each waiting out the pool's timeout (5 s) for a connection that cannot come. The library tries
    each read and write ten times: during an outage a duty officer's command waited 52 s for its 503, and
    `valmius remind` as long for each tick (measured on a crashed throwaway cluster).

    A caller the pool gives no connection in time (PoolTimeout) tries a connection of its own (1 s at most): if
    that does not connect, the breaker opens, and callers are refused at once (an OperationalError with no
    SQLSTATE, which `store_unavailable` reads as an outage). At most every PROBE_SECONDS one caller tries again:
    the pool for a moment (its connections may be alive: a server that refused one more client), then a
    connection of its own. Either closes the breaker; after an outage the pool's connections of the server
    before are checked first (each found dead would otherwise cost a backoff of a second or more)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self._getconn = pool.getconn
        self.down_since: float | None = None
        self._tried = 0.0
        self._lock = threading.Lock()

    def getconn(self, timeout: float | None = None) -> Any:
        since = self.down_since  # read once: another caller may close the breaker meanwhile
        if since is None:
            try:
                return self._getconn(timeout)
            except PoolTimeout:
                if self.down_since is None and not self._reachable():
                    self.down_since = time.monotonic()
                    log.warning("PostgreSQL is out of reach: callers are told at once until it answers again")
                raise
        if self._my_turn():
            try:
                conn = self._getconn(0.05)  # a live connection it holds is given at once
            except PoolTimeout:
                conn = None
            if conn is not None or self._reachable():
                if conn is None:
                    self.pool.check()  # the connections of the server before: dead ones replaced, live ones kept
                self._close(since)
                return conn if conn is not None else self._getconn(timeout)
        raise psycopg.OperationalError(
            f"the store is out of reach (for {time.monotonic() - since:.0f} s; no connection to it)"
        )

    def _my_turn(self) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._tried < PROBE_SECONDS:
                return False
            self._tried = now
            return True

    def _close(self, since: float) -> None:
        with self._lock:
            if self.down_since != since:
                return
            self.down_since = None
        log.warning("PostgreSQL answers again after %.1f s", time.monotonic() - since)

    def _reachable(self) -> bool:
        """A connection of its own connects. A server that answers and refuses it (starting up, shutting down,
        too many clients) is out of reach for this too, until one connects: libpq gives no SQLSTATE for a
        refused connection to tell these apart but by its text, which the server's language decides."""
        options = {k: v for k, v in self.pool.kwargs.items() if k != "row_factory"}
        try:
            with psycopg.connect(self.pool.conninfo, **{**options, "connect_timeout": 1}):
                return True
        except psycopg.Error:
            return False


def ensure_postgres_database(database_url: str) -> None:
    """Create the database named in the URL if the server does not have it yet."""
    url = urlparse(database_url)
    dbname = url.path.lstrip("/") or "valmius"
    admin_url = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
                log.info("created PostgreSQL database %s", dbname)
            except psycopg.errors.DuplicateDatabase:
                pass


STARTUP_LOCK = 0x56414C53  # "VALS": held while a process opens its services on PostgreSQL


@contextmanager
def postgres_startup_lock(database_url: str) -> Iterator[None]:
    """Hold a session advisory lock on the database while the block runs: processes starting together on a
    fresh database take turns creating tables (CREATE TABLE IF NOT EXISTS fails on the catalog's unique key
    when another process creates the same table at the same moment: 16 of 24 starts, three at a time)."""
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True,
                         connect_timeout=5) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (STARTUP_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (STARTUP_LOCK,))


# --- a least-privilege runtime role (`valmius init --runtime-role`, interfaces/cli/store.py, docs/operations.md) ----------------------------------


def create_event_store_tables(recorder: Any) -> None:
    """Create the library's tables of `recorder` (the events, the snapshots) when they are missing; when they
    exist, run nothing: their DDL (CREATE INDEX … IF NOT EXISTS, CREATE OR REPLACE FUNCTION) needs their
    ownership even then, and a least-privilege runtime role is granted them by their owner, never given them."""
    datastore = recorder.datastore
    with datastore.get_connection() as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
            (datastore.schema, recorder.events_table_name),
        ).fetchone()
        user = conn.execute("SELECT current_user AS name").fetchone()["name"]
    if found is None:
        recorder.create_table()
        log.info("created the event store's table %s, owned by %s", recorder.events_table_name, user)


APPEND_ONLY_FUNCTION = "valmius_refuse_change"


def grant_runtime_role(datastore: Any, role: str, events_table: str, snapshots_table: str | None) -> None:
    """Let `role` run the service on the event store this role owns, and no more: it reads and appends stored
    events and snapshots, never updates, deletes or truncates them (a trigger refuses those to every role, the
    owner too); it creates and owns the tables of its own (read models, tokens, keys, the audit chain).
    TRUNCATE is granted only because the library serialises writers with LOCK TABLE … IN EXCLUSIVE MODE, which
    PostgreSQL allows to a role with UPDATE, DELETE or TRUNCATE (MAINTAIN from PostgreSQL 17); the trigger
    refuses the TRUNCATE itself."""
    schema = sql.Identifier(datastore.schema)
    grantee = sql.Identifier(role)
    refuse = sql.SQL("{}.{}").format(schema, sql.Identifier(APPEND_ONLY_FUNCTION))
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS "
            "$$ BEGIN RAISE EXCEPTION 'stored events are never changed or removed: % on % refused', TG_OP, "
            "TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
        ).format(refuse=refuse))
        cursor.execute(sql.SQL("REVOKE ALL ON FUNCTION {}() FROM PUBLIC").format(refuse))
        for table, privileges in ((events_table, "SELECT, INSERT, TRUNCATE"), (snapshots_table, "SELECT, INSERT")):
            if table is None:
                continue
            qualified = sql.SQL("{}.{}").format(schema, sql.Identifier(table))
            trigger = sql.Identifier(f"{table}_append_only")
            cursor.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, qualified))
            cursor.execute(sql.SQL(
                "CREATE TRIGGER {} BEFORE UPDATE OR DELETE OR TRUNCATE ON {} FOR EACH STATEMENT EXECUTE FUNCTION {}()"
            ).format(trigger, qualified, refuse))
            cursor.execute(sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(qualified))
            cursor.execute(sql.SQL("GRANT {} ON {} TO {}").format(sql.SQL(privileges), qualified, grantee))
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'notification_id') AS seq",
                       (f"{datastore.schema}.{events_table}",))
        cursor.execute(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(
            sql.SQL(cursor.fetchone()["seq"]), grantee))
        cursor.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(schema, grantee))
