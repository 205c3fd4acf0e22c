"""The application's event recorders: the library's, plus the idempotency key's decision in the same transaction.

`Application.save(*aggregates, idempotency=command)` hands its keyword arguments down to the recorder's
`insert_events`; when a command came with an Idempotency-Key (application.coordination.KeyedCommand), the
recorder writes the key's decision (infrastructure.idempotency) in the transaction that inserts the events,
before them. Either both are committed or neither; a second decision for the same key fails that transaction.
infrastructure.persistence chooses these classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def _record_key(cursor: Any, stored_events: Sequence[StoredEvent], kwargs: dict[str, Any]) -> None:
    command = kwargs.get("idempotency")
    if command is not None:
        command.ledger.record(command, stored_events, cursor)


class SQLiteKeyedRecorder(SQLiteApplicationRecorder):
    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        _record_key(c, stored_events, kwargs)
        return super()._insert_events(c, stored_events, **kwargs)

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The log position (notification id) of a stored event."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {self.events_table_name} WHERE originator_id = ? AND originator_version = ?",
                (originator_id.hex, version),
            )
            row = c.fetchone()
            return row[0] if row else None


class PostgresKeyedRecorder(PostgresApplicationRecorder):
    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        # Runs first in the library's transaction, before the table lock and the events' insert; a second
        # decision surfaces as a unique violation when the pipeline syncs after the insert, and rolls it back.
        _record_key(curs, stored_events, kwargs)
        super()._insert_events(curs, stored_events, **kwargs)

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        statement = SQL(
            "SELECT notification_id FROM {schema}.{table} WHERE originator_id = %s AND originator_version = %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn:
            row = conn.execute(statement, (originator_id, version)).fetchone()
            return row["notification_id"] if row else None


class POPOKeyedRecorder(POPOApplicationRecorder):
    """In memory nothing outlives the process: the decision goes in its own transaction, under the lock that
    keeps the events' uniqueness, so that of two runs with one key only one stores its events."""

    def _insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self._database_lock:
            self._assert_uniqueness(stored_events, **kwargs)
            _record_key(None, stored_events, kwargs)
            return self._update_table(stored_events, **kwargs)

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        with self._database_lock:
            index = self._stored_events_index[str(originator_id)].get(version)
            return index + 1 if index is not None else None


class POPOKeyedFactory(POPOFactory):
    """The in-memory store with POPOKeyedRecorder (the POPO factory reads no recorder topic)."""

    def application_recorder(self) -> POPOKeyedRecorder:
        return POPOKeyedRecorder()
