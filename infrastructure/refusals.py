"""Refused attempts, kept for auditors: who tried what, when, and which rule refused it.

A refused command appends no domain event; this table is where the attempt itself is kept. The service
offers no way to delete from it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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

    def list(
        self,
        *,
        target: str | None = None,
        user: str | None = None,
        rule: str | None = None,
        concerning: Sequence[str] | None = None,
        after: int = 0,
        up_to: int | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Kept attempts in the order they were kept, from the row after `after` up to row `up_to`, matching
        every filter given. `concerning`: aimed at one of those targets, or with arguments naming a crisis."""
        where, params = ["id > %s"], [after]
        for column, value in (("target", target), ("user_name", user), ("rule", rule)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        if up_to is not None:
            where.append("id <= %s")
            params.append(up_to)
        if concerning is not None:
            where.append(f"(target IN ({', '.join(['%s'] * len(concerning))}) OR payload LIKE %s)")
            params += [*concerning, '%"crisis_id"%']
        rows = self.sql.query(
            f"SELECT * FROM valmius_refusals WHERE {' AND '.join(where)} ORDER BY id LIMIT %s", (*params, limit)
        )
        for row in rows:
            row["payload"] = json.loads(row["payload"]) if row["payload"] else None
        return rows

    def last_id(self) -> int:
        """The id of the last attempt kept (0 if none): what a reader up to now reads up to."""
        return int(self.sql.query("SELECT COALESCE(MAX(id), 0) AS last FROM valmius_refusals")[0]["last"])


def _plain(value: Any) -> Any:
    """Arguments as an auditor reads them: times in ISO-8601, value objects as their fields."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if is_dataclass(value):
        return asdict(value)
    return str(value)
