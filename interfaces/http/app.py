"""The FastAPI application: built from validated settings and a clock, one Coordination per process.

A process starts serving whether or not the store can be reached. If it cannot (PostgreSQL down or not yet
up), the start-up does not fail, which would take every worker of `valmius serve --workers N` down with it
(uvicorn's supervisor stops them all when one fails its start-up): the store is opened in the background,
waiting it out with backoff, and requests are answered 503 STORE_UNAVAILABLE until it is open.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from application.ports import Clock
from domain.shared import utc_now
from infrastructure.bootstrap import Services, open_services, open_services_retrying
from infrastructure.persistence import store_unavailable
from infrastructure.settings import Settings
from interfaces.http import errors, openapi
from interfaces.http.disclosure import DisclosureRecorder
from interfaces.http.live import OverviewBroadcaster
from interfaces.http.metrics import Observed
from interfaces.http.i18n import Language
from interfaces.http.middleware import Idempotency, RequestLimits
from interfaces.http.routing import Dispatch
from interfaces.http.throttle import FailedAuthentications
from interfaces.http.routers import (
    after_action_review,
    audit_chain,
    audit_export,
    audit_history,
    crisis,
    dashboard,
    districts,
    division_preparedness,
    emergency_conditions,
    health,
    police_liaison,
    position,
    public_warning,
    read_models,
    incident_summary,
    situation_report,
    received_alert,
    exercises,
    reminder,
)

log = logging.getLogger("valmius")

# FastAPI's own OpenTelemetry hooks, off: /metrics and the request log are ours (interfaces.http.metrics), and
# asking every request whether a tracer is configured costs CPU for nothing. (Only FastAPIs that have them.)
NO_TELEMETRY = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {}
)

DESCRIPTION = """
Valmius is the system of record of a city's Safety and Preparedness Unit: crises, their logs, actions,
situation reports and decisions; each unit's readiness and continuity plans; the requests between city and
police. Everything is stored as domain events and nothing recorded is ever changed or removed.

Every request carries `Authorization: Bearer <token>` (tokens come from `valmius token issue`). Reads return
the version in `ETag`; send it back in `If-Match` and a stale write is refused with `409 CONFLICT_VERSION`,
saying what changed since (never 412: `If-Match` is optional, so never 428 either). Send an `Idempotency-Key`
with every POST to make retries safe (a fresh one for each new command). Every refusal is an RFC 9457 problem
detail (`application/problem+json`) whose `code` names the rule; each operation lists the statuses it can be
refused with and their rule codes. Times need an explicit UTC offset and come back in Europe/Helsinki time
with their offset.
"""


def create_app(settings: Settings | None = None, clock: Clock = utc_now, services: Services | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        app.state.services = None
        loop = asyncio.get_running_loop()
        stop_opening = threading.Event()
        opening: threading.Thread | None = None

        async def serve_on(running: Services) -> None:
            running.tokens.follow_revocations()  # tokens kept in memory, revocations heard at once (PostgreSQL)
            if settings.runs_embedded_projections:
                running.projections.start()
            app.state.failed_authentications = FailedAuthentications(
                running.refusals, running.clock, settings.failed_authentications_per_minute
            )
            app.state.broadcaster = OverviewBroadcaster(
                running.projections, running.tokens, refresh_seconds=settings.stream_refresh_seconds,
                token_check_seconds=settings.stream_token_check_seconds,
            )
            app.state.broadcaster.start()
            app.state.services = running
            log.info(
                "Valmius serving on the %s store; read models %s", settings.store,
                "followed in this process" if settings.runs_embedded_projections else "followed by `valmius project`",
            )

        def open_in_background() -> None:
            running = open_services_retrying(settings, stop_opening, clock)
            if running is not None:
                announce_first_start(running)
                asyncio.run_coroutine_threadsafe(serve_on(running), loop).result()

        running = services
        if running is None:
            try:
                running = await run_in_threadpool(open_services, settings, clock)
            except Exception as error:
                if not store_unavailable(error):
                    raise
                log.warning("the store is out of reach (%s); answering 503 until it is open", error)
        if running is not None:
            await run_in_threadpool(announce_first_start, running)
            await serve_on(running)
        else:
            opening = threading.Thread(target=open_in_background, name="valmius-open-store", daemon=True)
            opening.start()
        try:
            yield
        finally:
            stop_opening.set()
            if opening is not None:
                await run_in_threadpool(opening.join)
            running = app.state.services
            if running is not None:
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
        **NO_TELEMETRY,
    )
    app.state.oidc = settings.oidc_verifier()  # access tokens from the city's identity provider, if configured
    errors.install(app)
    openapi.install(app, clock)
    app.add_middleware(DisclosureRecorder)
    app.add_middleware(Idempotency)
    app.add_middleware(RequestLimits, max_bytes=settings.max_request_bytes)
    app.add_middleware(errors.StoreGate)
    app.add_middleware(Language)  # the language of problem details (Accept-Language)
    app.add_middleware(Observed)  # outermost: each request's id, every answer's security headers, measured
    for module in (
        health, crisis, division_preparedness, police_liaison, emergency_conditions, read_models, dashboard,
        audit_history, audit_chain, audit_export, position, incident_summary, situation_report, districts,
        after_action_review, received_alert, public_warning, exercises, reminder,
    ):
        app.include_router(module.router)
    app.mount(dashboard.DOCS_ASSETS, StaticFiles(directory=dashboard.SWAGGER_UI), name="docs-assets")
    Dispatch.install(app)  # a request's route found among the few that can take it (routes included later too)
    return app


def announce_first_start(services: Services) -> None:
    """Tell the operator, once, how to get the first tokens: an admin's, and a duty officer's to try the API with
    (an admin reads no crisis content). A courtesy: skipped if the store is lost."""
    import shutil
    import sys
    from pathlib import Path

    try:
        due = services.tokens.first_start_notice_due()
    except Exception as error:
        if not store_unavailable(error):
            raise
        return
    if not due:
        return
    beside = Path(sys.executable).parent / "valmius"  # `valmius` by its name if on the PATH, else by its path
    valmius = "valmius" if shutil.which("valmius") or not beside.exists() else str(beside)
    log.warning(
        "No users yet. Issue the first admin token (an admin manages tokens and reads /metrics, no crisis content) "
        "with:\n"
        f"    {valmius} token issue --user <your-name> --role admin\n"
        "and a duty officer's token, to declare and read crises (the README's first steps), with:\n"
        f"    {valmius} token issue --user duty-officer-1 --role duty_officer\n"
        "Other roles: --role preparedness_manager, division_contact --unit <UNIT>, police_coordinator, leadership or "
        "auditor (add --clearance for SECRET and RECEIVED content); docs/reference.md says what each may do."
    )

