"""Structured situation reports of a crisis: draft, contribute sections, approve and issue; read a report, its
draft, and a report as an EDXL-SitRep 1.0 document."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from domain.secrecy import redact
from interfaces.edxl import SITREP_MEDIA_TYPE, sitrep_document
from interfaces.http.dependencies import App, CurrentActor, ExpectedVersion, PathId, PathNumber, answered, etag
from interfaces.http.routing import Route
from interfaces.http.schemas.common import CommandResponse
from interfaces.http.schemas.situation_report import (
    ContributeSituationReportRequest,
    DraftSituationReportRequest,
    IssueDraftedSituationReportRequest,
    SituationReportDetailResponse,
    SituationReportDraftResponse,
    present_draft,
    present_report,
)

router = APIRouter(prefix="/crises", tags=["situation reports"], route_class=Route)


@router.post("/{crisis_id}/situation-reports/draft")
def draft_situation_report(
    crisis_id: PathId, body: DraftSituationReportRequest, app: App, actor: CurrentActor, expected: ExpectedVersion,
    response: Response,
) -> CommandResponse:
    """Draft the crisis's next structured report: the METHANE form for its first report (METHANE_REQUIRED), the
    STANDARD form after. One draft at a time."""
    version = app.draft_situation_report(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/situation-reports/draft/sections")
def contribute_situation_report(
    crisis_id: PathId, body: ContributeSituationReportRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Contribute sections to the draft: a division contact for their own unit (SECTION_NOT_YOURS), a duty
    officer for any unit or none."""
    version = app.contribute_situation_report(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.post("/{crisis_id}/situation-reports/draft/issue")
def issue_drafted_situation_report(
    crisis_id: PathId, body: IssueDraftedSituationReportRequest, app: App, actor: CurrentActor,
    expected: ExpectedVersion, response: Response,
) -> CommandResponse:
    """Approve and issue the draft as the next report, numbered with the others. The figures the read models
    hold now (open and overdue actions, units at each readiness, active plans, open police requests) are frozen
    into it with their SHA-256 digest. A METHANE report needs all seven sections (METHANE_REQUIRED), a standard
    one its situation (REPORT_INCOMPLETE)."""
    version = app.issue_drafted_situation_report(actor, crisis_id, expected_version=expected, **body.args())
    return answered(response, app, crisis_id, version)


@router.get("/{crisis_id}/situation-reports/draft")
def get_situation_report_draft(
    crisis_id: PathId, app: App, actor: CurrentActor, response: Response
) -> SituationReportDraftResponse:
    """The report in the making: its sections so far and the required ones still missing. Content above the
    reader's clearance is redacted."""
    crisis, draft = app.get_situation_report_draft(actor, crisis_id)
    response.headers["ETag"] = etag(crisis.version)
    return SituationReportDraftResponse(**present_draft(crisis, draft, actor, app.policy))


@router.get("/{crisis_id}/situation-reports/{number}")
def get_situation_report(
    crisis_id: PathId, number: PathNumber, app: App, actor: CurrentActor
) -> SituationReportDetailResponse:
    """Situation report #`number`: a structured one with its form, sections, the figures frozen at its issue and
    their digest (`sha256:` of their canonical JSON). Content above the reader's clearance is redacted."""
    crisis, report = app.get_situation_report(actor, crisis_id, number)
    return SituationReportDetailResponse(**present_report(crisis, report, actor, app.policy), exercise=crisis.exercise)


@router.get(
    "/{crisis_id}/situation-reports/{number}/edxl",
    response_class=Response,
    responses={200: {
        "description": "The report as an OASIS EDXL-SitRep 1.0 document (interfaces/edxl).",
        "content": {SITREP_MEDIA_TYPE: {"schema": {"type": "string"}}},
    }},
)
def get_situation_report_edxl(
    crisis_id: PathId, number: PathNumber, request: Request, app: App, actor: CurrentActor
) -> Response:
    """Situation report #`number` as an EDXL-SitRep 1.0 document, redacted for the reader as its JSON is; a
    cleared reader's read of classified content is kept as a disclosure."""
    crisis, report = app.get_situation_report(actor, crisis_id, number)
    names = app.policy.units.short_names
    shown = present_report(crisis, report, actor, app.policy)
    head = redact(
        "crisis", crisis.classification, actor.clearance, names,
        crisis_id=crisis.crisis_id, severity=crisis.severity, areas=crisis.areas,
    )
    previous = crisis.situation_reports[number - 2].occurred_at if number > 1 else crisis.declared_at
    document = sitrep_document(shown, head, previous, report.occurred_at, report.recorded_at, crisis.exercise)
    disclosed = [
        {"kind": kind, "id": ref, "crisis_id": crisis_id, "classification": classification.as_dict()}
        for kind, ref, classification in (
            ("situation_report", str(number), report.classification), ("crisis", crisis_id, crisis.classification)
        )
        if actor.clearance and not classification.is_public
    ]
    if disclosed:
        request.app.state.services.disclosures.record(actor, f"GET {request.url.path}", disclosed)
    return Response(document, media_type=SITREP_MEDIA_TYPE)
