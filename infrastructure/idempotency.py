"""Idempotency keys: a retried POST with the same key returns the first answer and changes nothing.

A key is reserved before the command runs (so two concurrent retries cannot both run it) and the answer is
stored once the command has been answered. A key re-used with a different request is refused.

Keys are scoped by the token that sent them. The answer is stored after the events, not in their
transaction: if the process dies between the two, the reservation is left without an answer and a retry is
told IDEMPOTENCY_IN_PROGRESS rather than running the command twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from infrastructure.sql import Sql


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int | None
    body: str | None
    headers: dict | None


class IdempotencyStore:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        sql.create(
            "CREATE TABLE IF NOT EXISTS valmius_idempotency ("
            " user_name TEXT NOT NULL, idem_key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER,"
            " body TEXT, headers TEXT, created_at TEXT NOT NULL, PRIMARY KEY (user_name, idem_key))"
        )

    def reserve(self, user: str, key: str, fingerprint: str, now: datetime) -> StoredAnswer | None:
        """None if the key is now ours to use; otherwise what is stored under it."""
        inserted = self.sql.execute(
            "INSERT INTO valmius_idempotency (user_name, idem_key, fingerprint, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (user, key, fingerprint, now.isoformat()),
        )
        if inserted == 1:
            return None
        rows = self.sql.query(
            "SELECT fingerprint, status, body, headers FROM valmius_idempotency WHERE user_name = %s AND idem_key = %s",
            (user, key),
        )
        if not rows:  # released between our insert and our read: try once more
            return self.reserve(user, key, fingerprint, now)
        row = rows[0]
        return StoredAnswer(
            row["fingerprint"],
            row["status"],
            row["body"],
            json.loads(row["headers"]) if row["headers"] is not None else None,
        )

    def complete(self, user: str, key: str, status: int, body: str, headers: dict) -> None:
        self.sql.execute(
            "UPDATE valmius_idempotency SET status = %s, body = %s, headers = %s WHERE user_name = %s AND idem_key = %s",
            (status, body, json.dumps(headers), user, key),
        )

    def release(self, user: str, key: str) -> None:
        self.sql.execute("DELETE FROM valmius_idempotency WHERE user_name = %s AND idem_key = %s", (user, key))
