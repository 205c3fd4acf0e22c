"""Structured situation reports: the forms and their sections, the draft a crisis keeps while units contribute,
and the figures frozen into a report when it is issued (issue 12, items 4 and 5).

A crisis's first structured report is in the METHANE form (major incident declared, exact location, type,
hazards, access, number of casualties, emergency services present and required); later ones in the standard
form (situation, actions, resources, needs; the next report is its due time). Units contribute sections to the
draft; the duty officer approves and issues it, and the use case freezes into the issuing event the figures the
read models held at that moment (open and overdue actions, units at each readiness, active plans, open police
requests) with their digest: the SHA-256 of their canonical JSON, so that the report says what was known then
and anyone can check that it still does.

Pure standard library: the Crisis aggregate keeps a `ReportDraft` (the form and which sections were given,
never their texts); `CrisisRecord` folds the texts from the events for reading.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from domain.shared import Classification, DomainError, Rule

METHANE = "METHANE"
STANDARD = "STANDARD"

# The sections of each form, in the order a report shows them.
SECTIONS: dict[str, tuple[str, ...]] = {
    METHANE: (
        "major_incident", "exact_location", "type", "hazards", "access", "casualties", "emergency_services",
    ),
    STANDARD: ("situation", "actions", "resources", "needs"),
}
# What a draft must hold before it is issued: every METHANE section; the situation of a standard report.
REQUIRED: dict[str, tuple[str, ...]] = {METHANE: SECTIONS[METHANE], STANDARD: ("situation",)}

# The figures a report freezes at issue, each read from the read models at that moment.
FIGURES = ("open_actions", "overdue_actions", "readiness", "active_plans", "open_police_requests")


@dataclass
class ReportDraft:
    """What a crisis keeps of its report in the making: its form and classification, who drafted it, and which
    sections were contributed (their texts live in the events)."""

    form: str
    classification: Classification
    drafted_by: str
    sections: list[str] = field(default_factory=list)

    def missing(self) -> list[str]:
        return [section for section in REQUIRED[self.form] if section not in self.sections]


def check_form(form: str, first: bool, crisis_id: str) -> str:
    """The form of a crisis's next report: METHANE for its first (METHANE_REQUIRED), the standard form after."""
    if form not in SECTIONS:
        raise DomainError(
            Rule.INVALID_INPUT, "form {form!r} is not one of {forms}", {"form": form, "forms": ", ".join(SECTIONS)}
        )
    if first and form != METHANE:
        raise DomainError(
            Rule.METHANE_REQUIRED,
            "the first situation report of {crisis_id} is in the METHANE form",
            {"crisis_id": crisis_id},
        )
    if not first and form == METHANE:
        raise DomainError(
            Rule.INVALID_INPUT,
            "the METHANE form is for the first situation report of {crisis_id}; later reports use the STANDARD form",
            {"crisis_id": crisis_id},
        )
    return form


def check_sections(form: str, sections: dict[str, str]) -> dict[str, str]:
    """Sections contributed to a draft of `form`: at least one, each a section of the form, none empty."""
    if not sections:
        raise DomainError(Rule.INVALID_INPUT, "a contribution gives at least one section")
    for name, text in sections.items():
        if name not in SECTIONS[form]:
            raise DomainError(
                Rule.INVALID_INPUT,
                "{section!r} is not a section of the {form} form; its sections are {sections}",
                {"section": name, "form": form, "sections": ", ".join(SECTIONS[form])},
            )
        if not (text or "").strip():
            raise DomainError(Rule.INVALID_INPUT, "section {section} must not be empty", {"section": name})
    return {name: text.strip() for name, text in sections.items()}


def canonical_json(figures: dict[str, Any]) -> str:
    """The one text of `figures` their digest is taken of: keys sorted, no spaces, UTF-8 as is."""
    return json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def figures_digest(figures: dict[str, Any]) -> str:
    """`sha256:` and the hex SHA-256 of the figures' canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(figures).encode("utf-8")).hexdigest()
