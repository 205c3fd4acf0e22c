"""Requests and responses of structured situation reports (domain/situation_report.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.access import Actor
from domain.crisis_records import CrisisRecord, ReportDraftRecord, ReportSection, SituationReport
from domain.secrecy import redact
from domain.shared import Policy
from domain.situation_report import REQUIRED, SECTIONS
from interfaces.http.schemas.common import (
    ClassificationRequest,
    Code,
    CommandRequest,
    EntryRequest,
    Id,
    Instant,
    Text,
    Time,
    time_out,
)
from interfaces.http.schemas.read_models import Entry, Label, ReadResponse, Record

METHANE_EXAMPLE = [
    {"section": "major_incident", "text": "Major incident declared 21:40 by the duty officer"},
    {"section": "exact_location", "text": "Vuosaari and Kontula, east of Itäväylä"},
    {"section": "type", "text": "Storm: power outages"},
    {"section": "hazards", "text": "Fallen trees on lines; no heating in homes"},
    {"section": "access", "text": "Itäväylä open; Vuotie closed at the harbour"},
    {"section": "casualties", "text": "None known; 40 home-care clients without power"},
    {"section": "emergency_services", "text": "Rescue present; home care and Helen required"},
]


class DraftSituationReportRequest(CommandRequest):
    form: Code | None = Field(
        None, description="METHANE for the crisis's first report, STANDARD after; by default the one due.",
        examples=["METHANE"],
    )
    classification: ClassificationRequest | None = None


class SectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: Code = Field(
        description="METHANE: " + ", ".join(SECTIONS["METHANE"]) + "; STANDARD: " + ", ".join(SECTIONS["STANDARD"]),
        examples=["situation"],
    )
    text: Text = Field(examples=["9,000 customers without power in Vuosaari"])


class ContributeSituationReportRequest(CommandRequest):
    unit: Id | None = Field(
        None, description="The unit reporting; a division contact's own by default.", examples=["SOTEPE"]
    )
    sections: list[SectionRequest] = Field(
        min_length=1, max_length=20, description="A section given twice is one section of both texts, in order.",
        examples=[METHANE_EXAMPLE],
    )

    def args(self) -> dict[str, Any]:
        sections: dict[str, str] = {}
        for given in self.sections:
            sections[given.section] = f"{sections[given.section]}\n\n{given.text}" if given.section in sections \
                else given.text
        return {**({"unit": self.unit} if self.unit else {}), "sections": sections}


class IssueDraftedSituationReportRequest(EntryRequest):
    next_due_at: Time | None = Instant("When the next report is due.")


class ReportSectionResponse(ReadResponse):
    section: str
    text: str
    unit: str | None
    actor: str
    recorded_at: str | None


class FiguresResponse(ReadResponse):
    """What the read models held when the report was issued."""

    at: str
    open_actions: int
    overdue_actions: int
    readiness: dict[str, int]
    active_plans: int
    open_police_requests: int


class SituationReportDetailResponse(Entry):
    """One situation report: a structured one with its form, sections and frozen figures and their digest."""

    record_kind = "situation_report"
    record_id = "number"

    crisis_id: str
    number: int
    form: str | None
    next_due_at: str | None
    figures: FiguresResponse | None
    figures_digest: str | None
    summary: str | None
    sections: list[ReportSectionResponse] | Label
    exercise: bool = Field(False, description="True for a report of a crisis declared as an exercise.")


class SituationReportDraftResponse(Record):
    """The report in the making: its form, what was contributed so far and which required sections are missing."""

    record_kind = "situation_report"

    crisis_id: str
    form: str
    drafted_by: str
    drafted_at: str | None
    missing: list[str]
    sections: list[ReportSectionResponse] | Label


def _sections(sections: list[ReportSection]) -> list[dict[str, Any]]:
    return [
        {"section": s.section, "text": s.text, "unit": s.unit, "actor": s.actor, "recorded_at": time_out(s.recorded_at)}
        for s in sections
    ]


def present_report(crisis: CrisisRecord, report: SituationReport, actor: Actor, policy: Policy) -> dict[str, Any]:
    """Report #n as `actor` may see it: its content (summary, sections) replaced by its label without clearance."""
    return redact(
        "situation_report", report.classification, actor.clearance, policy.units.short_names,
        crisis_id=crisis.crisis_id, number=report.number, occurred_at=time_out(report.occurred_at),
        recorded_at=time_out(report.recorded_at), actor=report.actor, form=report.form,
        next_due_at=time_out(report.next_due_at), figures=report.figures, figures_digest=report.figures_digest,
        summary=report.summary, sections=_sections(report.sections),
    )


def present_draft(crisis: CrisisRecord, draft: ReportDraftRecord, actor: Actor, policy: Policy) -> dict[str, Any]:
    """The draft as `actor` may see it, with the sections its form still requires."""
    given = {s.section for s in draft.sections}
    return redact(
        "situation_report", draft.classification, actor.clearance, policy.units.short_names,
        crisis_id=crisis.crisis_id, form=draft.form, drafted_by=draft.drafted_by,
        drafted_at=time_out(draft.drafted_at), missing=[s for s in REQUIRED[draft.form] if s not in given],
        sections=_sections(draft.sections),
    )
