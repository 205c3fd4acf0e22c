"""Users and their bearer tokens. Tokens are random, shown once, and stored only as SHA-256 hashes.

A token has 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force. A presented
token is never compared with a stored secret: it is hashed and looked up by its digest (an index or dict
lookup, which tells a timing attacker nothing about any token), so there is no comparison to make constant-time.

The service process may keep tokens it has looked up in memory, so that a request costs no database round
trip for its token. Revocation is honoured at once all the same: a revocation announces itself on a
PostgreSQL channel in the transaction that revokes (from any process, the CLI included), the service listens
on it and forgets every kept token when anything is revoked, and it keeps tokens only while it is listening.
Without the channel (SQLite, memory, or the listening connection down) every request reads the table.

A token expires (`expires_at`, UTC; 90 days by default): an expired one is refused like a revoked one. Tokens
issued before tokens expired have no expiry and keep working until revoked (the column is added to old stores
on start). Access tokens from the city's identity provider are verified elsewhere (infrastructure.oidc); an
open stream's check asks here all the same, and they are held until their own expiry (`accept_until`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from application.ports import Clock
from domain.access import Actor, Role
from domain.shared import DEFAULT_UNITS, DomainError, Rule, UnitRegistry, utc_now
from infrastructure.postgres_listen import Listening, own_connection
from infrastructure.sql import Sql

TOKEN_PREFIX = "vlm_"
REVOKED_CHANNEL = "valmius_tokens_revoked"
CACHE_SECONDS = 60.0  # a backstop only: revocations clear the cache at once
CACHE_MAX_TOKENS = 10_000
VALID = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > %s)"  # a token that still authenticates


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    user: str
    role: str
    unit: str | None
    clearance: bool
    issued_at: str
    issued_by: str
    revoked_at: str | None
    expires_at: str | None = None


def _utc(moment: datetime) -> str:
    """A moment as the column holds it: UTC, to the microsecond, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class TokenStore:
    def __init__(
        self, sql: Sql, units: UnitRegistry = DEFAULT_UNITS, cache_seconds: float = CACHE_SECONDS,
        clock: Clock = utc_now,
    ) -> None:
        self.sql = sql
        self.units = units
        self.clock = clock
        self._accepted: dict[str, float] = {}  # digest of an identity provider's token: its expiry (epoch seconds)
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Actor, float, str | None]] = {}
        self._generation = 0
        self._cache_lock = threading.Lock()
        self._listener: Listening | None = None
        sql.create(
            "CREATE TABLE IF NOT EXISTS valmius_tokens ("
            " token_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL,"
            " unit TEXT, clearance INTEGER NOT NULL, issued_at TEXT NOT NULL, issued_by TEXT NOT NULL,"
            " revoked_at TEXT)",
            "CREATE TABLE IF NOT EXISTS valmius_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )
        self._add_expiry_column()

    def _add_expiry_column(self) -> None:
        """Stores written before tokens expired have no `expires_at`: it is added, empty (never expiring)."""
        columns = (
            "SELECT column_name AS name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'valmius_tokens'"
            if self.sql.dialect == "postgres" else "PRAGMA table_info(valmius_tokens)"
        )
        if not any(column["name"] == "expires_at" for column in self.sql.query(columns)):
            if_missing = " IF NOT EXISTS" if self.sql.dialect == "postgres" else ""  # another process may race us
            self.sql.create(f"ALTER TABLE valmius_tokens ADD COLUMN{if_missing} expires_at TEXT")

    def issue(
        self, *, user: str, role: str, unit: str | None, clearance: bool, issued_by: str, now: datetime,
        expires_in: timedelta = timedelta(days=90),
    ) -> tuple[str, TokenInfo]:
        """A new token for the user, valid for `expires_in`; the token itself is returned once and never stored."""
        role_value = Role(role)
        if not user.strip():
            raise DomainError(Rule.INVALID_INPUT, "a token needs a user name")
        if role_value is Role.DIVISION_CONTACT:
            if not unit:
                raise DomainError(Rule.INVALID_INPUT, "a division contact's token names its unit")
            self.units.check_unit(unit)
        elif unit:
            raise DomainError(Rule.INVALID_INPUT, "only division contacts have a unit")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        expires_at = _utc(now + expires_in)
        self.sql.execute(
            "INSERT INTO valmius_tokens (token_hash, token_id, user_name, role, unit, clearance, issued_at, issued_by,"
            " expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (hash_token(token), token_id, user, str(role_value), unit, int(clearance), now.isoformat(), issued_by,
             expires_at),
        )
        return token, TokenInfo(
            token_id, user, str(role_value), unit, clearance, now.isoformat(), issued_by, None, expires_at
        )

    def authenticate(self, token: str) -> Actor | None:
        """The actor behind a token, or None if it is unknown, expired or revoked."""
        digest = hash_token(token)
        listener = self._listener
        caching = listener is not None and listener.listening
        if caching:
            kept = self._kept(digest)
            if kept is not None:
                return kept
            generation = self._generation
        rows = self.sql.query(
            "SELECT user_name, role, unit, clearance, expires_at FROM valmius_tokens"
            f" WHERE token_hash = %s AND {VALID}",
            (digest, _utc(self.clock())),
        )
        if not rows:
            return None
        row = rows[0]
        expires_at = row["expires_at"]
        actor = Actor(user=row["user_name"], role=Role(row["role"]), unit=row["unit"], clearance=bool(row["clearance"]))
        if caching:
            with self._cache_lock:
                # Only if nothing was revoked while we read, and we still hear about revocations.
                if generation == self._generation and listener is not None and listener.listening:
                    if len(self._cache) >= CACHE_MAX_TOKENS:
                        self._cache.clear()
                    self._cache[digest] = (actor, time.monotonic() + self.cache_seconds, expires_at)
        return actor

    def cached(self, token: str) -> Actor | None:
        """The actor behind a token if it is kept in memory (no I/O): the fast path of every request."""
        if not self._hears_revocations():
            return None
        return self._kept(hash_token(token))

    def still_valid(self, digests: set[str]) -> set[str]:
        """Which of these token hashes still authenticate: an identity provider's tokens until they expire,
        those kept in memory (no I/O; a revocation clears them), and of the others those the table holds
        unrevoked and unexpired, read in one query per 500."""
        now = time.time()
        self._accepted = {digest: until for digest, until in self._accepted.items() if until > now}
        valid = {digest for digest in digests if digest in self._accepted}
        if self._hears_revocations():
            valid |= {digest for digest in digests if self._kept(digest) is not None}
        unknown = sorted(digests - valid)
        for start in range(0, len(unknown), 500):
            chunk = unknown[start:start + 500]
            rows = self.sql.query(
                f"SELECT token_hash FROM valmius_tokens WHERE {VALID}"
                f" AND token_hash IN ({', '.join(['%s'] * len(chunk))})",
                (_utc(self.clock()), *chunk),
            )
            valid.update(row["token_hash"] for row in rows)
        return valid

    def accept_until(self, digest: str, expires_at: float) -> None:
        """An identity provider's token (by its digest) was verified: an open stream may go on until it expires."""
        if len(self._accepted) >= CACHE_MAX_TOKENS:
            self._accepted.clear()
        self._accepted[digest] = expires_at

    def _hears_revocations(self) -> bool:
        listener = self._listener
        return listener is not None and listener.listening

    def _kept(self, digest: str) -> Actor | None:
        kept = self._cache.get(digest)
        if kept is None or kept[1] < time.monotonic() or (kept[2] is not None and kept[2] <= _utc(self.clock())):
            return None
        return kept[0]

    def forget(self) -> None:
        """Forget every kept token: something was revoked, or we may have missed a revocation."""
        with self._cache_lock:
            self._generation += 1
            self._cache.clear()

    def revoke(self, *, token_id: str | None = None, user: str | None = None, now: datetime) -> int:
        if token_id:
            statement, params = (
                "UPDATE valmius_tokens SET revoked_at = %s WHERE token_id = %s AND revoked_at IS NULL",
                (now.isoformat(), token_id),
            )
        else:
            statement, params = (
                "UPDATE valmius_tokens SET revoked_at = %s WHERE user_name = %s AND revoked_at IS NULL",
                (now.isoformat(), user),
            )
        with self.sql.transaction() as cursor:
            count = cursor.execute(statement, params)
            if self.sql.dialect == "postgres":  # delivered to every listening service when this commits
                cursor.execute(f"NOTIFY {REVOKED_CHANNEL}")
        self.forget()
        return count

    def follow_revocations(self) -> None:
        """Keep tokens in memory from now on, for as long as revocations can be heard (PostgreSQL only)."""
        if self.sql.dialect != "postgres" or self._listener is not None:
            return
        self._listener = Listening(
            own_connection(self.sql.datastore.pool), REVOKED_CHANNEL, self.forget, on_lost=self.forget,
            poll_seconds=1.0,
        ).start()

    def stop_following_revocations(self) -> None:
        listener, self._listener = self._listener, None
        self.forget()
        if listener is not None:
            listener.stop()

    def list(self) -> list[TokenInfo]:
        rows = self.sql.query(
            "SELECT token_id, user_name, role, unit, clearance, issued_at, issued_by, revoked_at, expires_at"
            " FROM valmius_tokens ORDER BY issued_at"
        )
        return [
            TokenInfo(
                r["token_id"], r["user_name"], r["role"], r["unit"], bool(r["clearance"]), r["issued_at"],
                r["issued_by"], r["revoked_at"], r["expires_at"],
            )
            for r in rows
        ]

    def first_start_notice_due(self) -> bool:
        """True once, on the first start of a store without any token: the moment to tell how to get one."""
        if self.list():
            return False
        return self.sql.execute(
            "INSERT INTO valmius_meta (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING", ("first-start", "told")
        ) == 1

    def has_admin(self) -> bool:
        return bool(
            self.sql.query(
                f"SELECT 1 FROM valmius_tokens WHERE role = %s AND {VALID}", (str(Role.ADMIN), _utc(self.clock()))
            )
        )
