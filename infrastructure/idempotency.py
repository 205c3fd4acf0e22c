"""Idempotency keys: a retried POST with the same key gets the first answer and changes nothing.

Two tables. A claim says who runs the request now: the holder (a process) and how long it may take (the
lease). A decision says what became of the key, and there is at most one: the primary key refuses a second.

- A command that stores events writes its decision in the transaction that stores them (the recorders in
  infrastructure.recorders call `record`): either both are stored or neither. A retry then finds the
  decision and gets the first answer, rebuilt from the stored records if the process died before it answered;
  or it finds none and runs the command. A second run of the same key cannot store its events: its decision
  collides with the first in the same transaction, and it answers as the first did.
- A request that stores no events (a refusal, a POST that is not a command) decides its key with its answer.
- A claim whose holder has died (its process or its connection) or whose lease has run out is taken over, so
  no key stays in progress longer than a request can take. On PostgreSQL a holder lives as long as a session
  advisory lock that its process holds on a connection of its own; PostgreSQL drops the lock the moment the
  process or its connection dies. On SQLite (one process) and in memory a holder lives as long as its store.
  Taking over a live holder's claim is never unsafe, only wasteful: the decision is still made once.

Keys are scoped by the token that sent them (its hash).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import psycopg

from application.coordination import KeyedCommand, Outcome
from infrastructure.sql import Sql

log = logging.getLogger("valmius.idempotency")

LEASE_SECONDS = 30.0  # longer than a request takes; past it a claim is taken over even from a live holder
HOLDER_LOCK_CLASS = 0x56414C49  # "VALI": the advisory lock class whose locks say which holders live


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Claim:
    """What a request with a key may do: run it (it holds the key as `holder`), answer with the stored
    `answer`, rebuild the answer of a command whose events were stored (`outcome`), or be refused (`refusal`:
    "reused", or "in_progress" with the seconds `lease_left` before the claim is taken over anyway)."""

    holder: str | None = None
    answer: StoredAnswer | None = None
    outcome: Outcome | None = None
    refusal: str | None = None
    lease_left: int = 0


class IdempotencyStore:
    def __init__(
        self,
        sql: Sql,
        positions: Any,
        *,
        lease_seconds: float = LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`positions` tells a stored event's log position (the application's recorder: position_of)."""
        self.sql = sql
        self.positions = positions
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.holders: Holders = PostgresHolders(sql) if sql.dialect == "postgres" else ProcessHolders()
        sql.create(
            "CREATE TABLE IF NOT EXISTS valmius_idempotency_claims ("
            " user_name TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL, holder TEXT NOT NULL,"
            " lease_until DOUBLE PRECISION NOT NULL, PRIMARY KEY (user_name, idem_key))",
            "CREATE TABLE IF NOT EXISTS valmius_idempotency_decisions ("
            " user_name TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
            " aggregates TEXT, last_event TEXT, status INTEGER, body TEXT, headers TEXT,"
            " decided_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (user_name, idem_key))",
        )

    # --- before the request runs ---------------------------------------------------------------------------

    def claim(self, user: str, key: str, fingerprint: str) -> Claim:
        """Hold the key to run the request, or learn what was decided, or why not now. A claim row is never
        deleted (a decided key keeps its own), so a key that is new here is new: one statement decides it."""
        while True:
            holder = self.holders.mine()
            now = self.clock()
            if self.sql.execute(
                "INSERT INTO valmius_idempotency_claims (user_name, idem_key, fingerprint, holder, lease_until)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (user, key, fingerprint, holder, now + self.lease_seconds),
            ) == 1:
                return Claim(holder=holder)
            rows = self.sql.query(
                "SELECT c.fingerprint, c.holder, c.lease_until, d.fingerprint AS decided, d.aggregates, d.last_event,"
                " d.status, d.body, d.headers FROM valmius_idempotency_claims c LEFT JOIN valmius_idempotency_decisions d"
                " ON d.user_name = c.user_name AND d.idem_key = c.idem_key WHERE c.user_name = %s AND c.idem_key = %s",
                (user, key),
            )
            held = rows[0]
            if held["fingerprint"] != fingerprint:
                return Claim(refusal="reused")
            if held["decided"] is not None:
                return self._decided(held)
            if held["lease_until"] > now and self.holders.alive(held["holder"]):
                return Claim(refusal="in_progress", lease_left=max(1, round(held["lease_until"] - now)))
            log.info("taking over idempotency key %r from holder %s (gone or past its lease)", key, held["holder"])
            if self.sql.execute(
                "UPDATE valmius_idempotency_claims SET holder = %s, lease_until = %s"
                " WHERE user_name = %s AND idem_key = %s AND holder = %s AND lease_until = %s",
                (holder, now + self.lease_seconds, user, key, held["holder"], held["lease_until"]),
            ) == 1:
                decided = self.sql.query(
                    "SELECT aggregates, last_event, status, body, headers FROM valmius_idempotency_decisions"
                    " WHERE user_name = %s AND idem_key = %s",
                    (user, key),
                )  # by the holder we took over from, just before
                return self._decided(decided[0]) if decided else Claim(holder=holder)

    def _decided(self, row: dict[str, Any]) -> Claim:
        if row["status"] is not None:
            return Claim(answer=StoredAnswer(row["status"], row["body"], json.loads(row["headers"])))
        return Claim(outcome=self._outcome(row))

    def _outcome(self, row: dict[str, Any]) -> Outcome:
        last = json.loads(row["last_event"]) if row["last_event"] else None
        return Outcome(
            aggregates=tuple((UUID(i), v) for i, v in json.loads(row["aggregates"])),
            position=self.positions.position_of(UUID(last[0]), last[1]) if last else None,
        )

    def outcome(self, user: str, key: str) -> Outcome | None:
        """The stored command's outcome under this key, if its events were stored."""
        rows = self.sql.query(
            "SELECT aggregates, last_event FROM valmius_idempotency_decisions"
            " WHERE user_name = %s AND idem_key = %s AND aggregates IS NOT NULL",
            (user, key),
        )
        return self._outcome(rows[0]) if rows else None

    # --- in the transaction that stores the command's events ------------------------------------------------

    def record(self, command: KeyedCommand, stored_events: Sequence[Any], cursor: Any) -> None:
        """Decide the key as stored, in the transaction of `cursor` (None: a transaction of its own, for the
        in-memory store). A second decision for the key fails the transaction with an IntegrityError."""
        last = stored_events[-1] if stored_events else None
        params = (
            command.user,
            command.key,
            command.fingerprint,
            json.dumps([[str(i), v] for i, v in command.aggregates]),
            json.dumps([str(last.originator_id), last.originator_version]) if last else None,
            self.clock(),
        )
        statement = (
            "INSERT INTO valmius_idempotency_decisions"
            " (user_name, idem_key, fingerprint, aggregates, last_event, decided_at) VALUES (%s, %s, %s, %s, %s, %s)"
        )
        if cursor is None:
            with self.sql.transaction() as own:
                own.execute(statement, params)
        else:
            self.sql.cursor(cursor).execute(statement, params)

    # --- after the request has been answered ----------------------------------------------------------------

    def answer(self, user: str, key: str, fingerprint: str, answer: StoredAnswer) -> bool:
        """Decide the key with this answer (a request that stored no events). False if it was decided first."""
        return self.sql.execute(
            "INSERT INTO valmius_idempotency_decisions"
            " (user_name, idem_key, fingerprint, status, body, headers, decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (user, key, fingerprint, answer.status, answer.body, json.dumps(answer.headers), self.clock()),
        ) == 1

    def close(self) -> None:
        self.holders.close()

    def release(self, user: str, key: str, holder: str) -> None:
        """Let go of an undecided claim: the next request with the key takes it over and runs."""
        self.sql.execute(
            "UPDATE valmius_idempotency_claims SET lease_until = 0"
            " WHERE user_name = %s AND idem_key = %s AND holder = %s",
            (user, key, holder),
        )


class Holders:
    """Who holds claims: this process's holder name, and whether another holder still lives."""

    def mine(self) -> str:
        raise NotImplementedError

    def alive(self, holder: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        """Let go of what says that this process lives."""


class ProcessHolders(Holders):
    """One process keeps the store (SQLite, memory): a holder lives while its store is open in this process; a
    claim of any other holder was left by a process that has ended. (A second process on the same SQLite file
    would have its claims taken over: safe, only wasteful.)"""

    live: set[str] = set()

    def __init__(self) -> None:
        self.name = f"process:{uuid4().hex}"
        self.live.add(self.name)

    def mine(self) -> str:
        return self.name

    def alive(self, holder: str) -> bool:
        return holder in self.live

    def close(self) -> None:
        self.live.discard(self.name)


class PostgresHolders(Holders):
    """Each process holds a session advisory lock (class HOLDER_LOCK_CLASS, a random number) on a connection of
    its own, opened at its first claim: the holder lives while PostgreSQL shows the lock granted."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self.conninfo = dict(sql.datastore.pool.kwargs)
        self.conninfo.pop("row_factory", None)
        self._connection: psycopg.Connection | None = None
        self._name: str | None = None
        self._lock = threading.Lock()

    def mine(self) -> str:
        with self._lock:
            if self._connection is None or self._connection.closed or self._connection.broken or self._name is None:
                self._connect()
            assert self._name is not None
            return self._name

    def _connect(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = psycopg.connect(**self.conninfo, autocommit=True, connect_timeout=5)
        while True:
            number = secrets.randbelow(2**31 - 2) + 1
            locked = self._connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (HOLDER_LOCK_CLASS, number)
            ).fetchone()
            if locked and locked[0]:
                self._name = f"pg:{number}"
                return

    def alive(self, holder: str) -> bool:
        if not holder.startswith("pg:"):
            return False
        held = bool(
            self.sql.query(
                "SELECT 1 AS held FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid::bigint = %s AND objid::bigint = %s",
                (HOLDER_LOCK_CLASS, int(holder[3:])),
            )
        )
        if not held and holder == self._name:
            self.close()  # our lock went with its connection (the server restarted): the next claim takes a new one
        return held

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
                self._name = None
