"""Refused attempts, kept for auditors: who tried what, when, and which rule refused it.

A refused command appends no domain event; this table is where the attempt itself is kept. The service
offers no way to delete from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from infrastructure.sql import Sql


class RefusalLog:
    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        sql.create(
            f"CREATE TABLE IF NOT EXISTS valmius_refusals (id {sql.autoincrement()}, at TEXT NOT NULL,"
            " user_name TEXT, role TEXT, command TEXT NOT NULL, target TEXT, rule TEXT NOT NULL,"
            " message TEXT NOT NULL, payload TEXT)"
        )

    def record(
        self,
        *,
        at: datetime,
        user: str | None,
        role: str | None,
        command: str,
        target: str | None,
        rule: str,
        message: str,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.sql.execute(
            "INSERT INTO valmius_refusals (at, user_name, role, command, target, rule, message, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (at.isoformat(), user, role, command, target, rule, message, json.dumps(payload, default=_plain)),
        )

    def list(self, *, target: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        if target is None:
            rows = self.sql.query("SELECT * FROM valmius_refusals ORDER BY id LIMIT %s", (limit,))
        else:
            rows = self.sql.query(
                "SELECT * FROM valmius_refusals WHERE target = %s ORDER BY id LIMIT %s", (target, limit)
            )
        for row in rows:
            row["payload"] = json.loads(row["payload"]) if row["payload"] else None
        return rows


def _plain(value: Any) -> Any:
    """Arguments as an auditor reads them: times in ISO-8601, value objects as their fields."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if is_dataclass(value):
        return asdict(value)
    return str(value)
