"""The composition root: builds the application and its stores from validated settings."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from application.audit.chain import TamperEvidence
from application.audit.history import History
from application.coordination import Clock, Coordination
from application.projections.runner import Projections
from domain.shared import utc_now
from infrastructure.disclosures import DisclosureLog
from infrastructure.idempotency import IdempotencyStore
from infrastructure.identity import TokenStore
from infrastructure.persistence import ensure_postgres_database, eventsourcing_env, postgres_startup_lock
from infrastructure.refusals import RefusalLog
from infrastructure.settings import Settings
from infrastructure.sql import Sql

log = logging.getLogger("valmius")


@dataclass
class Services:
    settings: Settings
    coordination: Coordination
    tokens: TokenStore
    idempotency: IdempotencyStore
    refusals: RefusalLog
    disclosures: DisclosureLog
    sql: Sql
    projections: Projections
    history: History
    tamper_evidence: TamperEvidence

    def close(self) -> None:
        self.projections.stop()
        self.idempotency.close()
        self.coordination.close()


def open_services(settings: Settings, clock: Clock = utc_now) -> Services:
    """Open the store and everything kept in it, creating what is missing. On PostgreSQL under the start-up
    lock: processes starting together on a fresh database take turns creating the tables."""
    starting: AbstractContextManager[None] = nullcontext()
    if settings.store == "postgres":
        ensure_postgres_database(settings.database_url)
        starting = postgres_startup_lock(settings.database_url)
    policy = settings.policy()
    with starting:
        coordination = Coordination(eventsourcing_env(settings), policy=policy, clock=clock)
        sql = Sql.of(coordination)
        refusals = RefusalLog(sql)
        coordination.refusals = refusals
        coordination.seed()
        projections = Projections(coordination, sql)
        return Services(
            settings=settings,
            coordination=coordination,
            tokens=TokenStore(sql, policy.units),
            idempotency=IdempotencyStore(sql, coordination.recorder),
            refusals=refusals,
            disclosures=DisclosureLog(sql, coordination.now),
            sql=sql,
            projections=projections,
            history=History(coordination, sql, projections, snapshot_every=settings.history_snapshot_every),
            tamper_evidence=TamperEvidence(coordination, sql, projections, settings.signing_key),
        )
