"""Users and their bearer tokens. Tokens are random, shown once, and stored only as SHA-256 hashes.

A token has 256 bits of entropy, so a fast hash is enough: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from domain.access import Actor, Role
from domain.shared import DEFAULT_UNITS, DomainError, Rule, UnitRegistry
from infrastructure.sql import Sql

TOKEN_PREFIX = "vlm_"


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


class TokenStore:
    def __init__(self, sql: Sql, units: UnitRegistry = DEFAULT_UNITS) -> None:
        self.sql = sql
        self.units = units
        sql.create(
            "CREATE TABLE IF NOT EXISTS valmius_tokens ("
            " token_hash TEXT PRIMARY KEY, token_id TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL,"
            " unit TEXT, clearance INTEGER NOT NULL, issued_at TEXT NOT NULL, issued_by TEXT NOT NULL,"
            " revoked_at TEXT)",
            "CREATE TABLE IF NOT EXISTS valmius_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )

    def issue(
        self, *, user: str, role: str, unit: str | None, clearance: bool, issued_by: str, now: datetime
    ) -> tuple[str, TokenInfo]:
        """A new token for the user; the token itself is returned once and never stored."""
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
        self.sql.execute(
            "INSERT INTO valmius_tokens VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL)",
            (hash_token(token), token_id, user, str(role_value), unit, int(clearance), now.isoformat(), issued_by),
        )
        return token, TokenInfo(token_id, user, str(role_value), unit, clearance, now.isoformat(), issued_by, None)

    def authenticate(self, token: str) -> Actor | None:
        rows = self.sql.query(
            "SELECT user_name, role, unit, clearance FROM valmius_tokens WHERE token_hash = %s AND revoked_at IS NULL",
            (hash_token(token),),
        )
        if not rows:
            return None
        row = rows[0]
        return Actor(user=row["user_name"], role=Role(row["role"]), unit=row["unit"], clearance=bool(row["clearance"]))

    def revoke(self, *, token_id: str | None = None, user: str | None = None, now: datetime) -> int:
        if token_id:
            return self.sql.execute(
                "UPDATE valmius_tokens SET revoked_at = %s WHERE token_id = %s AND revoked_at IS NULL",
                (now.isoformat(), token_id),
            )
        return self.sql.execute(
            "UPDATE valmius_tokens SET revoked_at = %s WHERE user_name = %s AND revoked_at IS NULL",
            (now.isoformat(), user),
        )

    def list(self) -> list[TokenInfo]:
        rows = self.sql.query(
            "SELECT token_id, user_name, role, unit, clearance, issued_at, issued_by, revoked_at"
            " FROM valmius_tokens ORDER BY issued_at"
        )
        return [
            TokenInfo(
                r["token_id"], r["user_name"], r["role"], r["unit"], bool(r["clearance"]), r["issued_at"],
                r["issued_by"], r["revoked_at"],
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
            self.sql.query("SELECT 1 FROM valmius_tokens WHERE role = %s AND revoked_at IS NULL", (str(Role.ADMIN),))
        )
