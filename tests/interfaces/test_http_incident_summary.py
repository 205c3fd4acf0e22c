"""The printable incident status summary (ICS 209 style) and activity logs (ICS 214 style), as HTML and PDF.

Given the S4 school threats replayed, the summary and the logs per crisis, unit and person read as the
scenario went, in HTML and in a PDF whose pages say the same (read back with pypdf). Given a crisis with SECRET
records, a reader without clearance sees their labels only, in the page and in the PDF's text alike, and a
cleared reader's reading is kept in the disclosure log.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader

from tests.interfaces.conftest import accepted, declare, problem

SECRET = {"level": "SECRET", "basis": "JulkL 24.1 § 7 k"}
MARKER = "MARKER-7Q-SECRET"


def pdf_text(content: bytes) -> tuple[int, str]:
    """The page count of a PDF and the text of its pages."""
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the incident status summary ----------------------------------------------------------------------------


def test_the_incident_summary_of_the_school_threats_reads_as_the_crisis_ended(s4) -> None:  # noqa: ANN001
    # When a cleared duty officer asks for the summary of C-S4
    answer = s4.get("/crises/C-S4/incident-summary", headers=s4.headers("DO-9", "duty_officer", clearance=True))

    # Then it is a printable page, its style run by the response's nonce
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    nonce = re.search(r"style-src 'nonce-([^']+)'", answer.headers["content-security-policy"]).group(1)
    assert f'<style nonce="{nonce}">' in answer.text
    page = text_of(answer.text)
    # naming the incident, its status and lead, and its areas with their Finnish letters
    assert "Incident status summary: C-S4" in page and "CLOSED" in page
    assert "Helsinki Police Department" in page and "Itäkeskus" in page
    # with the decision in force (D-S4-02), not the one it superseded
    assert 'data-decision="D-S4-02"' in answer.text and 'data-decision="D-S4-01"' not in answer.text
    # the units that had actions: KASKO's three completed, KUVA's one
    kasko = re.search(r'<tr data-unit="KASKO">(.*?)</tr>', answer.text).group(1)
    assert re.findall(r"<td>(\d+)</td>", kasko) == ["0", "0", "3", "0"]  # open, overdue, completed, cancelled
    assert 'data-unit="KUVA"' in answer.text
    # the latest situation report (#3) and who prepared the summary, in Helsinki time with the offset
    assert "#3 issued" in page and "DO-9 (duty_officer, cleared)" in page
    assert "2025-11-26 13:00:00+02:00" in page


def test_the_incident_summary_as_a_pdf_has_the_same_content_on_numbered_a4_pages(s4) -> None:  # noqa: ANN001
    headers = s4.headers("LR-1", "leadership", clearance=True)
    # When the summary is asked for as a PDF, by Accept and by format
    by_accept = s4.get("/crises/C-S4/incident-summary", headers={**headers, "Accept": "application/pdf"})
    by_format = s4.get("/crises/C-S4/incident-summary?format=pdf", headers=headers)

    # Then both are PDFs of A4 pages, numbered "page 1/N", with the summary's words, Finnish letters included
    for answer in (by_accept, by_format):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"] == 'inline; filename="C-S4-incident-summary.pdf"'
    pages, text = pdf_text(by_format.content)
    first = PdfReader(io.BytesIO(by_format.content)).pages[0]
    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (595, 842)  # A4 in points
    assert f"page 1/{pages}" in text and f"page {pages}/{pages}" in text
    assert "Incident status summary: C-S4" in text and "Itäkeskus" in text and "D-S4-02" in text
    # And HTML is what an Accept preferring it, or none, gets
    assert s4.get("/crises/C-S4/incident-summary", headers={**headers, "Accept": "text/html,application/pdf"}) \
        .headers["content-type"].startswith("text/html")


@pytest.fixture
def secret_crisis(api):  # noqa: ANN001
    """C-S1, public, with a SECRET decision in force, a SECRET open action turned overdue for KASKO, a SECRET
    situation report, and a public action for KYMP."""
    officer = api.headers("DO-1", "duty_officer")
    declare(api, officer)
    due = (api.clock() + timedelta(minutes=30)).isoformat()
    for path, body in (
        ("decisions", {"decision_id": "D-1", "decided_by": f"Mayor {MARKER}", "decision": f"Evacuate {MARKER}",
                       "rationale": f"because {MARKER}", "options": ["stay", "leave"], "classification": SECRET}),
        ("actions", {"action_id": "A-1", "unit": "KASKO", "task": f"Move pupils {MARKER}", "due_at": due,
                     "classification": SECRET}),
        ("actions", {"action_id": "A-2", "unit": "KYMP", "task": "Sandbags at Vuosaari harbour", "due_at": due}),
        ("situation-reports", {"summary": f"Status {MARKER}", "next_due_at": due, "classification": SECRET}),
    ):
        accepted(api.post(f"/crises/C-S1/{path}", json=body, headers=officer))
    api.clock.advance(hours=1)  # the actions and the next report overdue
    return api


def test_a_reader_without_clearance_sees_labels_in_the_summary_and_its_pdf(secret_crisis) -> None:  # noqa: ANN001
    api = secret_crisis
    uncleared = api.headers("LR-2", "leadership")
    # When leadership without clearance reads the summary as a page and as a PDF
    page = api.get("/crises/C-S1/incident-summary", headers=uncleared)
    document = api.get("/crises/C-S1/incident-summary?format=pdf", headers=uncleared)
    assert page.status_code == document.status_code == 200
    _, text = pdf_text(document.content)
    # Then the secret content appears in neither; its label does, with the records' structure
    for shown in (page.text, text):
        assert MARKER not in shown
        assert "[SECRET JulkL 24.1 § 7 k]" in shown
        assert "D-1" in shown and "A-1" in shown and "Sandbags at Vuosaari harbour" in shown
    # And the open actions come first, flagged overdue; KASKO's row counts its overdue action
    actions = re.findall(r'data-action="([^"]+)"', page.text)
    assert actions == ["A-1", "A-2"] and page.text.count("OVERDUE") >= 3  # two actions and the next report
    assert re.search(r'<tr data-unit="KASKO">.*?<td>1</td><td><span class="flag">1</span>', page.text)
    # And nothing was disclosed to them
    assert api.services.disclosures.list() == []


def test_a_cleared_readers_summary_shows_the_content_and_is_kept_as_a_disclosure(secret_crisis) -> None:  # noqa: ANN001
    api = secret_crisis
    # When a cleared auditor reads the summary as a PDF
    answer = api.get("/crises/C-S1/incident-summary?format=pdf", headers=api.headers("AUD", "auditor", clearance=True))
    # Then the content is in it
    assert answer.status_code == 200
    assert MARKER in pdf_text(answer.content)[1]
    # And the read is kept: the decision, the action and the situation report it showed
    kept = api.services.disclosures.list()
    assert {(row["kind"], row["record_id"]) for row in kept} == {
        ("decision", "D-1"), ("action", "A-1"), ("situation_report", "1"),
    }
    assert {row["endpoint"] for row in kept} == {"GET /crises/C-S1/incident-summary?format=pdf"}


def test_who_may_read_the_summary(api) -> None:  # noqa: ANN001
    declare(api, api.headers("DO-1", "duty_officer"))
    for role in ("duty_officer", "preparedness_manager", "leadership", "auditor"):
        assert api.get("/crises/C-S1/incident-summary", headers=api.headers("U", role)).status_code == 200, role
    for role, unit in (("division_contact", "KASKO"), ("police_coordinator", None), ("admin", None)):
        problem(api.get("/crises/C-S1/incident-summary", headers=api.headers("U", role, unit)), 403, "FORBIDDEN_ROLE")
    problem(api.get("/crises/C-NONE/incident-summary", headers=api.headers("U", "leadership")), 404, "NOT_FOUND")


# --- activity logs -------------------------------------------------------------------------------------------


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-position="\d+">(.*?)</tr>', html, re.S)


def test_a_units_activity_log_in_the_crisis_and_across_crises(s4) -> None:  # noqa: ANN001
    headers = s4.headers("DIV-KASKO", "division_contact", "KASKO")
    # When KASKO's division contact reads KASKO's log of C-S4
    answer = s4.get("/units/KASKO/activity-log?crisis=C-S4", headers=headers)
    assert answer.status_code == 200, answer.text
    lines = [text_of(row) for row in rows(answer.text)]
    # Then it holds the actions assigned to KASKO and their completion, in the order recorded, in Helsinki time
    assert [line for line in lines if "A-S4-01" in line][0].startswith(" 2025-11-17 07:05+02:00")
    assert sum("assigned to KASKO" in line for line in lines) == 3
    assert sum("completed" in line for line in lines) == 3
    assert not any("KUVA" in line for line in lines)
    # And across crises, within the scenario's day, also its readiness changes
    day = "since=2025-11-17T00:00%2B02:00&until=2025-11-18T00:00%2B02:00"
    across = [text_of(row) for row in rows(s4.get(f"/units/KASKO/activity-log?{day}", headers=headers).text)]
    assert sum("readiness changed to" in line for line in across) == 2 and len(across) == len(lines) + 2
    # And another unit's log is not theirs to read
    problem(s4.get("/units/KUVA/activity-log?crisis=C-S4", headers=headers), 403, "FORBIDDEN_ROLE")
    problem(s4.get("/crises/C-S4/activity-log", headers=headers), 403, "FORBIDDEN_ROLE")
    # nor a person's
    problem(s4.get("/activity-log?person=DO-1", headers=headers), 403, "FORBIDDEN_ROLE")


def test_a_persons_activity_log_and_its_cut(s4) -> None:  # noqa: ANN001
    headers = s4.headers("AUD", "auditor", clearance=True)
    # When an auditor reads what the police coordinator recorded in C-S4
    answer = s4.get("/activity-log?person=PC&crisis=C-S4", headers=headers)
    lines = [text_of(row) for row in rows(answer.text)]
    # Then every row is theirs: the requests raised and answered
    assert lines and all(" PC " in line for line in lines)
    assert sum("raised by PC" in line for line in lines) == 3
    # And cut at a limit, the page says how many more there are
    cut = s4.get("/activity-log?person=PC&crisis=C-S4&limit=2", headers=headers)
    assert len(rows(cut.text)) == 2 and f"{len(lines) - 2} more not shown" in cut.text
    # And as a PDF, the same rows
    _, text = pdf_text(s4.get("/activity-log?person=PC&crisis=C-S4&format=pdf", headers=headers).content)
    assert "Activity log: person PC in crisis C-S4" in text and "PR-S4-03" in text


def test_the_crisis_activity_log_redacts_for_an_uncleared_reader(s4) -> None:  # noqa: ANN001
    # Given C-S4, a SECRET crisis, whose police request PR-S4-01 was answered SECRET "delivered via secure mail"
    # When a cleared auditor reads its activity log, and leadership without clearance its PDF
    cleared = s4.get("/crises/C-S4/activity-log", headers=s4.headers("AUD", "auditor", clearance=True))
    uncleared = s4.get("/crises/C-S4/activity-log?format=pdf", headers=s4.headers("LR-2", "leadership"))
    # Then the cleared reader sees the answer and the crisis's title; the uncleared reader their labels only
    assert "delivered via secure mail" in cleared.text and "Emailed bomb threats" in cleared.text
    _, text = pdf_text(uncleared.content)
    assert "request PR-S4-01 answered by PC" in text and "[SECRET JulkL 24.1 § 7 k]" in text
    assert "delivered via secure mail" not in text and "Emailed bomb threats" not in text
    # And the cleared read was kept, naming the records it showed
    kept = {(row["kind"], row["record_id"]) for row in s4.services.disclosures.list()}
    assert {("crisis", "C-S4"), ("police_request", "PR-S4-01")} <= kept


def test_activity_log_bounds(api) -> None:  # noqa: ANN001
    headers = api.headers("AUD", "auditor")
    problem(api.get("/activity-log?person=DO-1&limit=2001", headers=headers), 422, "INVALID_INPUT")
    problem(api.get("/units/NOWHERE/activity-log", headers=headers), 422, "UNKNOWN_UNIT")
    problem(api.get("/crises/C-NONE/activity-log", headers=headers), 404, "NOT_FOUND")
    window = "since=2025-11-18T00:00%2B02:00&until=2025-11-17T00:00%2B02:00"
    problem(api.get(f"/activity-log?person=DO-1&{window}", headers=headers), 422, "INVALID_INPUT")
