"""The library's own events table read with SQL: the stored events with their log positions, filtered by
aggregate and event type in the database (the aggregate's primary key and the position index serve them).
The in-memory store of the tests has no table: it is scanned through the recorder instead."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from application.coordination import Coordination
from application.projections.tracking import log_pages
from infrastructure.sql import Sql

READ_PAGE = 1000


class EventLog:
    """The stored events with their log positions (the application's EventLogReader)."""

    def __init__(self, app: Coordination, sql: Sql) -> None:
        self.app = app
        self.recorder = app.recorder
        datastore = getattr(app.factory, "datastore", None)
        table = getattr(self.recorder, "events_table_name", None)
        self.sql = sql if datastore is not None and sql.datastore is datastore and table else None
        if self.sql is not None and sql.dialect == "sqlite":
            self.table, self.position = table, "rowid"
        elif self.sql is not None:
            self.table, self.position = f'"{datastore.schema}"."{table}"', "notification_id"
            self.uuid_ids = getattr(datastore, "originator_id_type", "uuid") == "uuid"

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def decode(self, notification: Notification) -> Any:
        return self.app.mapper.to_domain_event(notification)

    def select(
        self,
        *,
        after: int,
        limit: int,
        stop: int | None = None,
        originators: Sequence[UUID] = (),
        topics: Sequence[str] = (),
    ) -> list[Notification]:
        """Up to `limit` notifications after position `after` (up to `stop`), of those aggregates and topics."""
        if self.sql is None:
            return self._scan_select(after, limit, stop, originators, topics)
        where, params = [f"{self.position} > %s"], [after]
        if stop is not None:
            where.append(f"{self.position} <= %s")
            params.append(stop)
        for column, values in (("originator_id", [self._id(o) for o in originators]), ("topic", list(topics))):
            if not values:
                continue
            if self.sql.dialect == "sqlite":
                where.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
                params.extend(values)
            else:
                where.append(f"{column} = ANY(%s)")
                params.append(values)
        rows = self.sql.query(
            f"SELECT {self.position} AS position, originator_id, originator_version, topic, state FROM {self.table}"
            f" WHERE {' AND '.join(where)} ORDER BY {self.position} LIMIT %s",
            (*params, limit),
        )
        return [
            Notification(
                id=int(r["position"]),
                originator_id=r["originator_id"] if isinstance(r["originator_id"], UUID) else UUID(str(r["originator_id"])),
                originator_version=int(r["originator_version"]),
                topic=r["topic"],
                state=bytes(r["state"]),
            )
            for r in rows
        ]

    def _id(self, originator: UUID) -> Any:
        if self.sql is not None and self.sql.dialect == "sqlite":
            return originator.hex
        return originator if self.uuid_ids else str(originator)

    def _scan_select(
        self, after: int, limit: int, stop: int | None, originators: Sequence[UUID], topics: Sequence[str]
    ) -> list[Notification]:
        wanted = set(originators)
        found: list[Notification] = []
        while len(found) < limit:
            page = self.recorder.select_notifications(
                start=after + 1, limit=READ_PAGE, stop=stop, topics=list(topics)
            )
            if not page:
                break
            found += [n for n in page if not wanted or n.originator_id in wanted]
            after = page[-1].id
        return found[:limit]

    def scan(
        self, *, after: int = 0, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Iterator[list[Notification]]:
        """Pages of notifications after `after` up to `stop`, of those topics."""
        return log_pages(self.recorder, after=after, stop=stop, topics=topics, size=READ_PAGE)

    def of_aggregate(self, originator: UUID) -> list[Notification]:
        """Every stored event of one aggregate, with its log position."""
        found: list[Notification] = []
        while True:
            page = self.select(after=found[-1].id if found else 0, limit=READ_PAGE, originators=[originator])
            found += page
            if len(page) < READ_PAGE:
                return found
