"""Structured situation reports through HTTP: the METHANE draft, sections from units, issue with the figures
frozen and digested, the report read back redacted, and its EDXL-SitRep 1.0 document read back."""

from __future__ import annotations

import pytest

from domain.situation_report import SECTIONS, figures_digest
from interfaces.edxl import CT_NAMESPACE, SITREP_NAMESPACE, XSI_NAMESPACE, InvalidSitRepDocument, validate
from tests.interfaces.conftest import accepted, declare, problem

SR = f"{{{SITREP_NAMESPACE}}}"
CT = f"{{{CT_NAMESPACE}}}"
SECRET = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
METHANE = [{"section": name, "text": f"{name}: as seen at 21:45"} for name in SECTIONS["METHANE"]]


def issued_methane(api, people, clock, classification=None) -> None:  # noqa: ANN001
    """Given the storm with an action open, a METHANE draft with a section from SOTEPE and the rest from DO-1,
    issued by DO-1 half an hour after the declaration."""
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/actions", json={
        "action_id": "A-S1-01", "unit": "STARA", "task": "Clear fallen trees", "due_at": "2025-10-25T22:00+03:00",
    }, headers=people.duty_officer))
    draft = {"classification": classification} if classification else {}
    accepted(api.post("/crises/C-S1/situation-reports/draft", json=draft, headers=people.duty_officer))
    accepted(api.post("/crises/C-S1/situation-reports/draft/sections", json={
        "sections": [{"section": "casualties", "text": "40 home-care clients without power"}],
    }, headers=people.contact("SOTEPE")))
    accepted(api.post("/crises/C-S1/situation-reports/draft/sections", json={"sections": METHANE[:5]},
                      headers=people.duty_officer))
    missing = accepted(api.get("/crises/C-S1/situation-reports/draft", headers=people.cleared_leadership))
    assert missing["missing"] == ["emergency_services"]
    problem(api.post("/crises/C-S1/situation-reports/draft/issue", json={}, headers=people.duty_officer),
            409, "METHANE_REQUIRED")
    accepted(api.post("/crises/C-S1/situation-reports/draft/sections", json={"sections": METHANE[6:]},
                      headers=people.duty_officer))
    clock.set("2025-10-25T22:10+03:00")
    accepted(api.post("/crises/C-S1/situation-reports/draft/issue",
                      json={"next_due_at": "2025-10-26T00:10+03:00"}, headers=people.duty_officer))


def test_a_methane_report_is_issued_with_its_sections_and_the_figures_frozen_and_digested(api, people, clock):
    issued_methane(api, people, clock)
    # Then report #1 reads back in the METHANE form, with SOTEPE's section and the figures of 22:10
    report = accepted(api.get("/crises/C-S1/situation-reports/1", headers=people.leadership))
    assert (report["number"], report["form"], report["redacted"]) == (1, "METHANE", False)
    assert report["sections"][0] == {
        "section": "casualties", "text": "40 home-care clients without power", "unit": "SOTEPE", "actor": "DIV-SOTEPE",
        "recorded_at": "2025-10-25T21:40:00+03:00",
    }
    assert (report["figures"]["open_actions"], report["figures"]["overdue_actions"]) == (1, 1)
    assert report["figures_digest"] == figures_digest(report["figures"])
    # and the crisis shows it as its latest report, and the overview its next due time
    storm = accepted(api.get("/crises/C-S1", headers=people.leadership))
    assert storm["next_situation_report_due"] == "2025-10-26T00:10:00+03:00"
    # and the timeline shows the draft, the contributions and the issue
    kinds = [e["kind"] for e in accepted(api.get("/crises/C-S1/timeline", headers=people.leadership))["entries"]]
    assert kinds.count("situation_report_contributed") == 3
    assert kinds.index("situation_report_drafted") < kinds.index("situation_report")
    # and a draft's sections come only from the contact's own unit
    accepted(api.post("/crises/C-S1/situation-reports/draft", json={}, headers=people.duty_officer))
    problem(api.post("/crises/C-S1/situation-reports/draft/sections", json={
        "unit": "KASKO", "sections": [{"section": "situation", "text": "schools open"}],
    }, headers=people.contact("SOTEPE")), 403, "SECTION_NOT_YOURS")


def test_the_edxl_sitrep_document_carries_the_standards_required_elements(api, people, clock):
    issued_methane(api, people, clock)
    # When the report is fetched as EDXL-SitRep 1.0
    response = api.get("/crises/C-S1/situation-reports/1/edxl", headers=people.leadership)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    # Then it reads back as a SitRep with every required element, in order
    root = validate(response.content)
    assert root.findtext(f"{SR}messageID") == "valmius:C-S1:sitrep:1"
    assert root.findtext(f"{SR}reportNumber") == "1" and root.findtext(f"{SR}reportVersion") == "Initial"
    assert root.findtext(f"{SR}incidentID") == "C-S1" and root.findtext(f"{SR}severity") == "Moderate"
    period = root.find(f"{SR}forTimePeriod")
    assert period.findtext(f"{CT}fromDateTime") == "2025-10-25T21:40:00+03:00"
    assert period.findtext(f"{CT}toDateTime") == "2025-10-25T22:10:00+03:00"
    body = root.find(f"{SR}report")
    assert body.get(f"{{{XSI_NAMESPACE}}}type") == "sitrep:FieldObservationType"
    assert "Vuosaari" in body.find(f"{SR}observationLocation").findtext(f".//{CT}value")
    text = body.findtext(f"{SR}observationText")
    assert "casualties (SOTEPE): 40 home-care clients without power" in text
    assert accepted(api.get("/crises/C-S1/situation-reports/1", headers=people.leadership))["figures_digest"] in text


def test_a_secret_report_is_redacted_in_json_and_in_edxl_for_readers_without_clearance(api, people, clock):
    issued_methane(api, people, clock, classification=SECRET)
    shown = accepted(api.get("/crises/C-S1/situation-reports/1", headers=people.leadership))
    assert shown["redacted"] and shown["sections"] == "[SECRET JulkL 24.1 § 7 k]"
    assert shown["figures_digest"].startswith("sha256:")  # the figures are structure
    document = api.get("/crises/C-S1/situation-reports/1/edxl", headers=people.leadership).content
    validate(document)
    assert b"home-care" not in document and "[SECRET JulkL 24.1 § 7 k]".encode() in document
    cleared = api.get("/crises/C-S1/situation-reports/1/edxl", headers=people.cleared_leadership).content
    assert b"40 home-care clients" in cleared


def test_a_report_not_issued_is_not_found(api, people):
    declare(api, people.duty_officer)
    problem(api.get("/crises/C-S1/situation-reports/1", headers=people.leadership), 404, "NOT_FOUND")
    problem(api.get("/crises/C-S1/situation-reports/draft", headers=people.leadership), 404, "NOT_FOUND")


@pytest.mark.parametrize("broken, reason", [
    (b"<sitRep", "not XML"),
    (b'<sitRep xmlns="urn:oasis:names:tc:emergency:EDXL:SitRep:0.9"/>', "the root is"),
    (f'<s:sitRep xmlns:s="{SITREP_NAMESPACE}"><s:messageID>m</s:messageID></s:sitRep>'.encode(), "preparedBy"),
])
def test_what_is_not_a_sitrep_is_named(broken: bytes, reason: str) -> None:
    with pytest.raises(InvalidSitRepDocument, match=reason):
        validate(broken)


def test_a_section_given_twice_in_one_contribution_keeps_both_texts(api, people):
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/situation-reports/draft", json={}, headers=people.duty_officer))
    accepted(api.post("/crises/C-S1/situation-reports/draft/sections", json={"sections": [
        {"section": "hazards", "text": "fallen trees"}, {"section": "hazards", "text": "live lines down"},
    ]}, headers=people.duty_officer))
    draft = accepted(api.get("/crises/C-S1/situation-reports/draft", headers=people.leadership))
    assert [s["text"] for s in draft["sections"]] == ["fallen trees\n\nlive lines down"]
