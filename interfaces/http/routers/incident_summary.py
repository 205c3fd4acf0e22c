"""Printable documents of a crisis: the incident status summary (ICS 209 style) and activity logs (ICS 214 style).

- `GET /crises/{crisis_id}/incident-summary`
- `GET /crises/{crisis_id}/activity-log` (`?unit=`, `?person=` narrow it)
- `GET /units/{unit}/activity-log` (`?crisis=`, or across crises within `since` and `until`)
- `GET /activity-log?person=` (every event one user recorded, within `since` and `until`)

Each answers a self-contained printable HTML page, or the same as a PDF (A4) for `?format=pdf` or an `Accept`
naming `application/pdf` first. Redacted for the reader; a cleared reader's reading of SECRET or RECEIVED
content is kept in the disclosure log here (the disclosure middleware reads JSON answers only).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from application.activity_log import DEFAULT_ROWS, MAX_ROWS, Scope, activity_log
from infrastructure.bootstrap import Services
from interfaces.http.dependencies import CurrentActor, PathId, get_services, query_time
from interfaces.http.routing import Route
from interfaces.http.schemas.common import Id, Line, Time
from interfaces.http.schemas.incident_summary import PDF, PRINTABLE, FormatQuery, incident_summary, wants_pdf
from interfaces.http.security import page
from interfaces.web import activity_log as activity_page
from interfaces.web import incident_summary as summary_page
from interfaces.web.printing import pdf

router = APIRouter(tags=["printable"], route_class=Route)

ServicesDep = Annotated[Services, Depends(get_services)]
Since = Annotated[Time | None, Query(description="Recorded from this time on (ISO-8601 with an offset); by default "
                                     "the crisis's start, or 7 days before `until`.")]
Until = Annotated[Time | None, Query(description="Recorded up to this time (ISO-8601 with an offset); by default now.")]
Limit = Annotated[int, Query(ge=1, le=MAX_ROWS, description="How many rows at most; the page says how many more "
                             "there are.")]
Person = Annotated[Line | None, Query(description="Only the events this user recorded.")]


@router.get("/crises/{crisis_id}/incident-summary", response_class=HTMLResponse, responses=PRINTABLE)
def get_incident_summary(
    crisis_id: PathId, request: Request, services: ServicesDep, actor: CurrentActor,
    format: FormatQuery = None,  # noqa: A002
) -> Response:
    """The incident status summary of a crisis (ICS 209 style), as of now: the incident (status, severity,
    condition, declared when and by whom, lead, areas), the decisions in force as its objectives with their
    review times, the resources by unit (actions open, overdue, completed; readiness; continuity plans active
    for it against their MTPD), the actions (open first, overdue flagged), the open police requests, the latest
    situation report and the next one due, and who prepared it when (duty officer, preparedness manager,
    leadership, auditor)."""
    summary = incident_summary(services.coordination, services.projections.store, actor, crisis_id)
    services.disclosures.record(actor, _endpoint(request), summary["disclosed"])
    return _printable(request, summary_page.render(summary), f"{crisis_id}-incident-summary", format)


@router.get("/crises/{crisis_id}/activity-log", response_class=HTMLResponse, responses=PRINTABLE)
def get_crisis_activity_log(
    crisis_id: PathId, request: Request, services: ServicesDep, actor: CurrentActor,
    unit: Annotated[Id | None, Query(description="Only what this unit did and was assigned.",
                                     examples=["KASKO"])] = None,
    person: Person = None, since: Since = None, until: Until = None, limit: Limit = DEFAULT_ROWS,
    format: FormatQuery = None,  # noqa: A002
) -> Response:
    """The activity log of a crisis (ICS 214 style), event by event in the order recorded: its own events, its
    police liaison matters', and the readiness changes and plan activations naming it; narrowed to a unit (a
    division contact reads their own unit's only) or a person."""
    subject = " ".join(filter(None, [f"unit {unit}" if unit else None, f"person {person}" if person else None,
                                     f"in crisis {crisis_id}" if unit or person else f"crisis {crisis_id}"]))
    scope = Scope(unit=unit, person=person, crisis_id=crisis_id, limit=limit, **_window(services, since, until))
    return _log(request, services, actor, "get_crisis_activity_log", scope, subject, format)


@router.get("/units/{unit}/activity-log", response_class=HTMLResponse, responses=PRINTABLE)
def get_unit_activity_log(
    unit: PathId, request: Request, services: ServicesDep, actor: CurrentActor,
    crisis: Annotated[Id | None, Query(description="Only in this crisis (its whole life unless `since`).")] = None,
    since: Since = None, until: Until = None, limit: Limit = DEFAULT_ROWS, format: FormatQuery = None,  # noqa: A002
) -> Response:
    """A unit's activity log (ICS 214 style): the actions assigned to it and their completion, its readiness
    changes and its continuity plans' events, in one crisis or across crises within the window (a division
    contact reads their own unit's only)."""
    subject = f"unit {unit}" + (f" in crisis {crisis}" if crisis else "")
    scope = Scope(unit=unit, crisis_id=crisis, limit=limit, **_window(services, since, until))
    return _log(request, services, actor, "get_unit_activity_log", scope, subject, format)


@router.get("/activity-log", response_class=HTMLResponse, responses=PRINTABLE)
def get_person_activity_log(
    request: Request, services: ServicesDep, actor: CurrentActor,
    person: Annotated[Line, Query(description="The user whose recorded events are shown.",
                                  examples=["duty-officer-1"])],
    crisis: Annotated[Id | None, Query(description="Only in this crisis (its whole life unless `since`).")] = None,
    since: Since = None, until: Until = None, limit: Limit = DEFAULT_ROWS, format: FormatQuery = None,  # noqa: A002
) -> Response:
    """A person's activity log (ICS 214 style): every event the user recorded, in the order recorded, in one
    crisis or across crises within the window."""
    subject = f"person {person}" + (f" in crisis {crisis}" if crisis else "")
    scope = Scope(person=person, crisis_id=crisis, limit=limit, **_window(services, since, until))
    return _log(request, services, actor, "get_person_activity_log", scope, subject, format)


def _log(
    request: Request, services: ServicesDep, actor: CurrentActor, use_case: str, scope: Scope, subject: str,
    format: FormatQuery,  # noqa: A002
) -> Response:
    app = services.coordination
    log = activity_log(app, services.history.log, actor, use_case, scope)
    services.disclosures.record(actor, _endpoint(request), log["disclosed"])
    name = "-".join(part for part in subject.split() if part not in ("in", "unit", "person", "crisis"))
    return _printable(request, activity_page.render(log, subject, actor, app.now()), f"{name}-activity-log", format)


def _window(services: Services, since: str | None, until: str | None) -> dict[str, Any]:
    app = services.coordination
    return {"since": query_time(app, since, "since"), "until": query_time(app, until, "until")}


def _printable(request: Request, html: str, name: str, format: FormatQuery) -> Response:  # noqa: A002
    if wants_pdf(format, request.headers.get("accept")):
        filename = re.sub(r"[^A-Za-z0-9._-]", "_", name)  # a person's name may hold anything a header may not
        disposition = f'inline; filename="{filename}.pdf"'
        return Response(pdf(html), media_type=PDF, headers={"Content-Disposition": disposition})
    return page(request, html)


def _endpoint(request: Request) -> str:
    query = request.url.query
    return f"GET {request.url.path}" + (f"?{query}" if query else "")
