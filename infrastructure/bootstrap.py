"""The composition root: builds the application and its stores from validated settings.

`open_services` opens everything once, or fails leaving nothing open (no pool, no thread, no lock);
`open_services_retrying` waits out a store that is out of reach, for processes that must start whenever the
database does (`valmius serve`, `valmius project`).
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from application.audit.chain import CHECKPOINT_EVERY, AuditChain
from application.audit.checkpoints import Signer
from application.audit.history import History
from application.audit.snapshots import OverviewSnapshots
from application.audit.verification import TamperEvidence
from application.backoff import retry_delay
from application.coordination import Coordination
from application.ports import Clock, ScratchStores
from application.projections.read_model import ReadModel
from application.projections.runner import READ_MODELS, Projections
from application.projections.situation_overview import ReportFigures
from domain.shared import utc_now
from infrastructure.disclosures import DisclosureLog
from infrastructure.event_log import EventLog
from infrastructure.idempotency import IdempotencyStore
from infrastructure.identity import TokenStore
from infrastructure.persistence import (
    create_event_store_tables,
    ensure_postgres_database,
    eventsourcing_env,
    harden_pool,
    postgres_startup_lock,
    store_unavailable,
)
from infrastructure.postgres_listen import PostgresListener
from infrastructure.refusals import RefusalLog
from infrastructure.scratch_store import scratch_store
from infrastructure.settings import Settings
from infrastructure.sql import Sql

log = logging.getLogger("valmius")


@dataclass
class Services:
    """Everything a process works with, opened once. `clock` is the server clock: the one source of "now" for
    the application, its stores and its interfaces (tests inject their own)."""

    settings: Settings
    clock: Clock
    coordination: Coordination
    tokens: TokenStore
    idempotency: IdempotencyStore
    refusals: RefusalLog
    disclosures: DisclosureLog
    sql: Sql
    projections: Projections
    history: History
    tamper_evidence: TamperEvidence
    scratch_stores: ScratchStores

    def close(self) -> None:
        self.projections.stop()
        self.idempotency.close()
        self.coordination.close()


def open_services(settings: Settings, clock: Clock = utc_now) -> Services:
    """Open the store and everything kept in it, creating what is missing. On PostgreSQL under the start-up
    lock: processes starting together on a fresh database take turns creating the tables. A failure part way
    closes what was opened, so that it may simply be called again."""
    starting: AbstractContextManager[None] = nullcontext()
    env = eventsourcing_env(settings)
    if settings.store == "postgres":
        ensure_postgres_database(settings.database_url)
        starting = postgres_startup_lock(settings.database_url)
        env["CREATE_TABLE"] = "no"  # created below, once the application (and its pool) can be closed again
    policy = settings.policy()
    with starting:
        coordination = Coordination(env, policy=policy, clock=clock)
        try:
            if settings.store == "postgres":
                harden_pool(coordination.factory.datastore)
                for store in (coordination.events, coordination.snapshots):
                    if store is not None:
                        create_event_store_tables(store.recorder)
            sql = Sql.of(coordination)
            refusals = RefusalLog(sql)
            coordination.refusals = refusals
            coordination.seed()
            listener = None
            if settings.store == "postgres":
                listener = PostgresListener(sql.datastore, coordination.recorder.channel_name)
            chain = AuditChain()
            signer = Signer(settings.signing_key) if settings.signing_key else None
            if signer is not None:
                chain.sign_every(signer, CHECKPOINT_EVERY, clock)
            projections = Projections(coordination, sql, followers(chain), listener=listener)
            event_log = EventLog(coordination, sql)
            coordination.event_log = event_log
            coordination.situation_figures = ReportFigures(sql, policy)
            snapshots = OverviewSnapshots(
                event_log, sql, scratch_store, clock, every=settings.history_snapshot_every
            )
            projections.listeners.append(snapshots.after_batch)
            return Services(
                settings=settings,
                clock=clock,
                coordination=coordination,
                tokens=TokenStore(sql, policy.units, clock=clock),
                idempotency=IdempotencyStore(sql, coordination.recorder),
                refusals=refusals,
                disclosures=DisclosureLog(sql, clock),
                sql=sql,
                projections=projections,
                history=History(coordination, event_log, snapshots, scratch_store),
                tamper_evidence=TamperEvidence(coordination, sql, projections, chain, clock, signer),
                scratch_stores=scratch_store,
            )
        except BaseException:
            coordination.close()
            raise


def followers(chain: AuditChain | None = None) -> list[ReadModel]:
    """What follows the log: the read models of the picture, and the tamper-evidence hash chain (evidence,
    never rebuilt)."""
    return [*(read_model() for read_model in READ_MODELS), chain or AuditChain()]


def open_services_retrying(settings: Settings, stop: threading.Event, clock: Clock = utc_now) -> Services | None:
    """Open the services, waiting out a store that is out of reach (down, restarting, unreachable) with capped
    and jittered backoff, logging every attempt; None if `stop` is set first. Any other error is raised: it
    would fail the same way at every attempt."""
    failures = 0
    while True:
        try:
            services = open_services(settings, clock)
        except Exception as error:
            if not store_unavailable(error):
                raise
            delay = retry_delay(failures)
            failures += 1
            log.warning("the store is out of reach (%s); next attempt in %.1f s", _first_line(error), delay)
            if stop.wait(delay):
                return None
            continue
        if stop.is_set():
            services.close()
            return None
        return services


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
