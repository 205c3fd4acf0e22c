"""`valmius init --runtime-role ROLE`: the event store set up for a least-privilege service role
(docs/operations.md).

    valmius init --runtime-role ROLE
        run as the store's owner (VALMIUS_DATABASE_URL names the owner role): create the event store's tables
        if missing, make them append-only (a trigger refuses UPDATE, DELETE and TRUNCATE to every role), and
        grant ROLE what the service needs: to read and append stored events, and to create tables of its own
"""

from __future__ import annotations

import sys

import psycopg
from eventsourcing.persistence import PersistenceError

from application.coordination import Coordination
from domain.shared import utc_now
from infrastructure.persistence import (
    create_event_store_tables,
    ensure_postgres_database,
    eventsourcing_env,
    grant_runtime_role,
)
from infrastructure.settings import Settings


def init_for_runtime_role(settings: Settings, runtime_role: str) -> int:
    if settings.store != "postgres":
        print("valmius: `valmius init --runtime-role` is for PostgreSQL (VALMIUS_DATABASE_URL=postgresql://owner@…/valmius)",
              file=sys.stderr)
        return 2
    try:
        ensure_postgres_database(settings.database_url)
        env = {**eventsourcing_env(settings), "CREATE_TABLE": "no"}
        coordination = Coordination(env, policy=settings.policy(), clock=utc_now)
    except (psycopg.Error, PersistenceError) as error:
        print(f"valmius: cannot open the store: {error}".rstrip(), file=sys.stderr)
        return 2
    try:
        stores = [store for store in (coordination.events, coordination.snapshots) if store is not None]
        for store in stores:
            create_event_store_tables(store.recorder)
        datastore = coordination.recorder.datastore
        with datastore.get_connection() as conn:
            owner = conn.execute("SELECT current_user AS name").fetchone()["name"]
        tables = [store.recorder.events_table_name for store in stores]
        print(f"event store tables {', '.join(tables)} present, owned by {owner}")
        snapshots = coordination.snapshots.recorder.events_table_name if coordination.snapshots else None
        grant_runtime_role(datastore, runtime_role, coordination.recorder.events_table_name, snapshots)
        print(
            f"{', '.join(tables)}: append-only for every role; {runtime_role} may read and append them "
            f"and create its own tables (run `valmius serve`, `valmius project` and the other commands as "
            f"{runtime_role})"
        )
        return 0
    except (psycopg.Error, PersistenceError) as error:
        print(f"valmius: {error}".rstrip(), file=sys.stderr)
        return 1
    finally:
        coordination.close()
