"""Reads of SECRET and RECEIVED content by cleared readers, kept for auditors: who saw which records, when, where.

A read changes nothing in the domain, so a disclosure is not a domain event; this table is where it is kept,
one row per record shown, rows of the same read sharing a `read_id`. The service offers no way to change or
delete a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timezone
from typing import Any

from domain.access import Actor
from infrastructure.sql import Sql

COLUMNS = (
    "read_id", "at", "at_utc", "user_name", "role", "endpoint", "kind", "record_id", "crisis_id", "level",
    "legal_basis", "marking", "originator",
)


def utc_text(moment: datetime) -> str:
    """A fixed-width UTC form: compares as text in the order of the instants."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DisclosureLog:
    def __init__(self, sql: Sql, clock: Callable[[], datetime]) -> None:
        self.sql = sql
        self.clock = clock  # the server clock of the coordination
        sql.create(
            f"CREATE TABLE IF NOT EXISTS valmius_disclosures (id {sql.autoincrement()}, read_id TEXT NOT NULL,"
            " at TEXT NOT NULL, at_utc TEXT NOT NULL, user_name TEXT, role TEXT, endpoint TEXT NOT NULL,"
            " kind TEXT NOT NULL, record_id TEXT, crisis_id TEXT, level TEXT, legal_basis TEXT, marking TEXT,"
            " originator TEXT)",
            "CREATE INDEX IF NOT EXISTS valmius_disclosures_crisis ON valmius_disclosures (crisis_id, id)",
            "CREATE INDEX IF NOT EXISTS valmius_disclosures_user ON valmius_disclosures (user_name, id)",
        )

    def record(self, actor: Actor, endpoint: str, records: Iterable[dict[str, Any]]) -> str | None:
        """Keep one read by `actor`, now: `records` are {"kind", "id", "crisis_id", "classification": {level, …}}.
        Returns its id."""
        rows = list(records)
        if not rows:
            return None
        at, user, role = self.clock(), actor.user, str(actor.role)
        read_id = uuid.uuid4().hex
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        with self.sql.transaction() as cursor:
            for record in rows:
                classification = record.get("classification") or {}
                cursor.execute(
                    f"INSERT INTO valmius_disclosures ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                    (
                        read_id, at.isoformat(), utc_text(at), user, role, endpoint, record["kind"],
                        _text(record.get("id")), record.get("crisis_id"), classification.get("level"),
                        classification.get("legal_basis"), classification.get("marking"),
                        classification.get("originator"),
                    ),
                )
        return read_id

    def list(
        self,
        *,
        user: str | None = None,
        crisis_id: str | None = None,
        kind: str | None = None,
        record_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: int = 0,
        limit: int = 100,
        exercise: bool | None = None,
        exercises: Collection[str] = (),
    ) -> list[dict[str, Any]]:
        """Kept disclosures in the order they were kept, from the row after `after`; with `exercise`, only those of
        the crises `exercises` (true) or none of them (false)."""
        where, params = ["id > %s"], [after]
        if exercise is not None:
            among = ", ".join(["%s"] * len(exercises))
            if exercise:
                where.append(f"crisis_id IN ({among})" if exercises else "1 = 0")
            elif exercises:
                where.append(f"(crisis_id IS NULL OR crisis_id NOT IN ({among}))")
            params += sorted(exercises)
        for column, value in (("user_name", user), ("crisis_id", crisis_id), ("kind", kind), ("record_id", record_id)):
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        if since is not None:
            where.append("at_utc >= %s")
            params.append(utc_text(since))
        if until is not None:
            where.append("at_utc <= %s")
            params.append(utc_text(until))
        return self.sql.query(
            f"SELECT * FROM valmius_disclosures WHERE {' AND '.join(where)} ORDER BY id LIMIT %s", (*params, limit)
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
