"""Auditors' HTTP API for what never became an event, and for inquiries.

- `GET /audit/refusals`: refused attempts, filtered by crisis, target, user, rule and time, paged.
- `GET /audit/disclosures`: who saw SECRET or RECEIVED content, which records, when, through which endpoint.
- `GET /audit/crises/{crisis_id}/export`: the complete record of a crisis as a ZIP archive.

Auditors only (FORBIDDEN_ROLE for everyone else). Neither log can be changed or deleted here or anywhere
else in the service: there are no such routes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from application.audit.export import DESCRIBES, export_crisis
from application.audit.refusals import (
    MAX_PAGE,
    links_from_log,
    links_of,
    present_refusal,
    search_refusals,
)
from domain.access import authorise
from domain.shared import display
from infrastructure.bootstrap import Services
from interfaces.http.dependencies import POSITION_HEADER, CurrentActor, PathId, get_services, query_time
from interfaces.http.routing import Route
from interfaces.http.schemas.audit import DisclosurePageResponse, RefusalPageResponse
from interfaces.http.schemas.common import BIGINT, Code, Id, Line, Time
from interfaces.web import report

router = APIRouter(prefix="/audit", tags=["audit"], route_class=Route)

ServicesDep = Annotated[Services, Depends(get_services)]
Since = Annotated[Time | None, Query(description="From this time on (ISO-8601 with an offset).")]
Until = Annotated[Time | None, Query(description="Up to this time (ISO-8601 with an offset).")]
After = Annotated[
    int, Query(ge=0, le=BIGINT, description="The `next_after` of the previous page; 0 for the first page.")
]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="How many rows at most.")]

SPOOL_BYTES = 32 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


@router.get("/refusals", response_model=RefusalPageResponse)
def list_refusals(
    services: ServicesDep,
    actor: CurrentActor,
    crisis: Annotated[Id | None, Query(description=(
        "Attempts concerning this crisis: aimed at it, at a police liaison matter opened for it (police requests "
        "are refused under the liaison's id), at one of its plans, or naming it."))] = None,
    target: Annotated[Line | None, Query(description="Exactly this target (crisis, liaison, unit)")] = None,
    user: Annotated[Line | None, Query()] = None,
    rule: Annotated[Code | None, Query(examples=["FORBIDDEN_ROLE"])] = None,
    since: Since = None,
    until: Until = None,
    after: After = 0,
    limit: Limit = 100,
    exercise: Annotated[bool | None, Query(
        description="true: only the attempts concerning crises declared as exercises (as `crisis` reads "
        "concerning); false: none of them.")] = None,
) -> dict[str, Any]:
    """Refused attempts (by rule, by role, by version conflict, by bad input): who tried what, when, and which
    rule refused it, in the order they were kept, and whether it concerned a crisis declared as an exercise. The
    arguments of an attempt are withheld from an auditor without clearance, since the classification the attempt
    asked for is not kept."""
    authorise(actor, "list_refusals")
    app = services.coordination
    links = links_from_log(app, crisis) if crisis else None
    exercises = links_of(app, services.projections.exercise_crises())

    def practised(row: dict[str, Any]) -> bool:
        return any(found.concerns(row) for found in exercises)

    rows, next_after = search_refusals(
        services.refusals, links=links, target=target, user=user, rule=rule,
        since=query_time(app, since, "since"), until=query_time(app, until, "until"), after=after, limit=limit,
        keep=None if exercise is None else lambda row: practised(row) == exercise,
    )
    return {
        "refusals": [{**present_refusal(row, actor.clearance), "exercise": practised(row)} for row in rows],
        "next_after": next_after,
    }


@router.get("/disclosures", response_model=DisclosurePageResponse)
def list_disclosures(
    services: ServicesDep,
    actor: CurrentActor,
    crisis: Annotated[Id | None, Query()] = None,
    user: Annotated[Line | None, Query()] = None,
    kind: Annotated[Code | None, Query(examples=["decision"])] = None,
    record: Annotated[Line | None, Query(description="A record id, e.g. D-S4-01.")] = None,
    since: Since = None,
    until: Until = None,
    after: After = 0,
    limit: Limit = 100,
    exercise: Annotated[bool | None, Query(
        description="true: only the reads of crises declared as exercises; false: none of them.")] = None,
) -> dict[str, Any]:
    """Reads of SECRET and RECEIVED content by cleared readers: one row per record shown, rows of one read
    sharing a `read_id`; with the reader, their role, the time and the endpoint, and whether the record's
    crisis is an exercise."""
    authorise(actor, "list_disclosures")
    practised = services.projections.exercise_crises()
    rows = services.disclosures.list(
        user=user, crisis_id=crisis, kind=kind, record_id=record,
        since=query_time(services.coordination, since, "since"),
        until=query_time(services.coordination, until, "until"),
        after=after, limit=limit + 1, exercise=exercise, exercises=practised,
    )
    page = rows[:limit]
    return {
        "disclosures": [_disclosure(row, practised) for row in page],
        "next_after": page[-1]["id"] if len(rows) > limit else None,
    }


@router.get(
    "/crises/{crisis_id}/export",
    response_class=StreamingResponse,
    responses={200: {
        "description": "The archive (ZIP): "
        + "; ".join(f"{name}, {what}" for name, what in DESCRIBES.items())
        + "; manifest.json, what is in the archive with the SHA-256 of every file; manifest.sha256.",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }},
)
def export_crisis_archive(
    crisis_id: PathId, request: Request, services: ServicesDep, actor: CurrentActor
) -> StreamingResponse:
    """The complete record of one crisis for an inquiry, as a ZIP archive: its events, police requests, linked
    continuity plans, refused attempts, timeline and decision log as JSON Lines, a printable HTML report, and a
    manifest with the SHA-256 of every file and its own digest (also in `Valmius-Manifest-SHA256`). Redacted
    for your clearance; a cleared export is kept as a disclosure."""
    endpoint = f"GET {request.url.path}"
    buffer: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _chunks
    try:
        export = export_crisis(
            services.coordination, services.refusals, services.scratch_stores, actor, crisis_id, buffer, via=endpoint,
            render_report=report.render,
        )
        services.disclosures.record(actor, endpoint, export.disclosed)
    except BaseException:
        buffer.close()
        raise
    size = buffer.tell()
    buffer.seek(0)
    return StreamingResponse(
        _chunks(buffer),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Content-Length": str(size),
            "Valmius-Manifest-SHA256": export.manifest_sha256,
            POSITION_HEADER: str(export.manifest["log_position"]),
        },
    )


def _chunks(buffer: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := buffer.read(CHUNK_BYTES):
            yield chunk
    finally:
        buffer.close()


def _disclosure(row: dict[str, Any], exercises: set[str]) -> dict[str, Any]:
    return {
        "exercise": row["crisis_id"] in exercises,
        "id": row["id"],
        "read_id": row["read_id"],
        "at": display(datetime.fromisoformat(row["at"]), seconds=True),
        "user": row["user_name"],
        "role": row["role"],
        "endpoint": row["endpoint"],
        "kind": row["kind"],
        "record_id": row["record_id"],
        "crisis_id": row["crisis_id"],
        "level": row["level"],
        "legal_basis": row["legal_basis"],
        "marking": row["marking"],
        "originator": row["originator"],
    }
