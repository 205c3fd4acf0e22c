"""The FastAPI application: built from validated settings and a clock, one Coordination per process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from application.coordination import Clock
from domain.shared import utc_now
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings
from interfaces.http import errors
from interfaces.http.disclosure import DisclosureRecorder
from interfaces.http.live import OverviewBroadcaster
from interfaces.http.middleware import Idempotency, RequestLimits
from interfaces.http.security import SecurityHeaders
from interfaces.http.throttle import FailedAuthentications
from interfaces.http.routers import (
    audit_chain,
    audit_export,
    audit_history,
    crisis,
    dashboard,
    division_preparedness,
    emergency_conditions,
    health,
    police_liaison,
    read_models,
)

log = logging.getLogger("valmius")

DESCRIPTION = """
Valmius is the system of record of a city's Safety and Preparedness Unit: crises, their logs, actions,
situation reports and decisions; each unit's readiness and continuity plans; the requests between city and
police. Everything is stored as domain events and nothing recorded is ever changed or removed.

Every request carries `Authorization: Bearer <token>` (tokens come from `valmius token issue`). Reads return
the version in `ETag`; send it back in `If-Match` and a stale write is refused with `409 CONFLICT_VERSION`,
saying what changed since. Send an `Idempotency-Key` with every POST to make retries safe. Every refusal is
an RFC 9457 problem detail whose `code` names the rule. Times need an explicit UTC offset and come back in
Europe/Helsinki time with their offset.
"""


def create_app(settings: Settings | None = None, clock: Clock = utc_now, services: Services | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = running = services or open_services(settings, clock)
        announce_first_start(running)
        running.tokens.follow_revocations()  # tokens kept in memory, revocations heard at once (PostgreSQL)
        if settings.runs_embedded_projections:
            running.projections.start()
        app.state.failed_authentications = FailedAuthentications(
            running.refusals, running.coordination.now, settings.failed_authentications_per_minute
        )
        app.state.broadcaster = OverviewBroadcaster(
            running.projections, running.tokens, token_check_seconds=settings.stream_token_check_seconds
        )
        app.state.broadcaster.start()
        log.info(
            "Valmius serving on the %s store; read models %s", settings.store,
            "followed in this process" if settings.runs_embedded_projections else "followed by `valmius project`",
        )
        try:
            yield
        finally:
            await app.state.broadcaster.stop()
            app.state.failed_authentications.flush()
            running.tokens.stop_following_revocations()
            running.projections.stop()
            if own:
                running.close()

    app = FastAPI(
        title="Valmius",
        version="0.1.0",
        summary="Crisis and continuity coordination for a city's Safety and Preparedness Unit",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by the dashboard router, with this response's CSP nonce
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    errors.install(app)
    app.add_middleware(DisclosureRecorder)
    app.add_middleware(Idempotency)
    app.add_middleware(RequestLimits, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    for module in (
        health, crisis, division_preparedness, police_liaison, emergency_conditions, read_models, dashboard,
        audit_history, audit_chain, audit_export,
    ):
        app.include_router(module.router)
    return app


def announce_first_start(services: Services) -> None:
    """Tell the operator, once, how to get the first admin token."""
    if not services.tokens.first_start_notice_due():
        return
    log.warning(
        "No users yet. Issue the first admin token with:\n"
        "    valmius token issue --user <your-name> --role admin\n"
        "and tokens for the people who use Valmius with --role duty_officer, preparedness_manager, "
        "division_contact --unit <UNIT>, police_coordinator, leadership or auditor (add --clearance for SECRET "
        "and RECEIVED content)."
    )
