"""Public warnings through HTTP: drafted, approved by a second person, issued, updated and cancelled; each issued
message served as a CAP 1.2 document valid against the OASIS schema; the warnings in force as a register and an
Atom feed linking their CAP documents."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from pydantic import TypeAdapter

from interfaces.cap import CAP_MEDIA_TYPE, CAP_NAMESPACE, validate
from interfaces.http.schemas.public_warning import PublicWarningRegisterResponse, PublicWarningResponse
from tests.interfaces.conftest import STORM, accepted, declare, problem, says

CAP = {"cap": CAP_NAMESPACE}
ATOM = {"atom": "http://www.w3.org/2005/Atom"}
TEXTS = {
    "fi": {"headline": "Myrskyvaroitus Itä-Helsinkiin", "description": "Sähkökatkoja Vuosaaressa.",
           "instruction": "Pysy sisällä & varaudu <pitkään> katkoon."},
    "sv": {"headline": "Stormvarning för östra Helsingfors", "description": "Elavbrott i Nordsjö."},
    "en": {"headline": "Storm warning for eastern Helsinki", "description": "Power cuts in Vuosaari."},
}
CANCELLED = {
    "fi": {"headline": "Myrskyvaroitus päättynyt", "description": "Vaaraa ei enää ole."},
    "sv": {"headline": "Stormvarningen har upphört", "description": "Ingen fara längre."},
}


def step(api, people, warning_id: str, what: str, **body: object) -> int:  # noqa: ANN001
    """Approve (by the preparedness manager) or issue (by the duty officer) the message waiting; its position."""
    headers = people.preparedness_manager if what == "approval" else people.duty_officer
    answer = api.post(f"/warnings/{warning_id}/{what}", json=body, headers=headers)
    accepted(answer)
    return int(answer.headers["Valmius-Position"])


def cap(api, headers, warning_id: str, number: int | None = None) -> ET.Element:  # noqa: ANN001
    """The CAP document of a message, checked valid CAP 1.2 against the schema."""
    answer = api.get(f"/warnings/{warning_id}/cap", params={"number": number} if number else {}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(CAP_MEDIA_TYPE)
    validate(answer.content)
    return ET.fromstring(answer.content)


def field(document: ET.Element, path: str) -> list[str]:
    return [element.text or "" for element in document.findall(path, CAP)]


def test_a_warning_is_drafted_approved_by_another_issued_updated_and_cancelled_as_cap(api, people, clock):
    # Given the storm, and a warning drafted by the duty officer
    declare(api, people.duty_officer)
    drafted = api.post("/crises/C-S1/warnings", json={"warning_id": "W-1", "texts": TEXTS, "urgency": "Immediate",
                                                      "certainty": "Observed"}, headers=people.duty_officer)
    assert accepted(drafted, 201) == {"id": "W-1", "version": 1} and drafted.headers["Location"] == "/warnings/W-1"
    # When its author tries to approve it: refused, naming the rule
    refused = problem(api.post("/warnings/W-1/approval", json={}, headers=people.duty_officer), 422, "FOUR_EYES")
    assert says(refused["detail"], "DO-1 wrote the text", "another person approves it")
    # and when the preparedness manager approves it and the duty officer issues it at 21:40
    step(api, people, "W-1", "approval", note="Checked against the decision to warn")
    step(api, people, "W-1", "issue")
    # and later an update is issued, and then the cancellation
    clock.set("2025-10-25T23:10+03:00")
    accepted(api.post("/crises/C-S1/severity", json={"to_severity": 3, "reason": "wider outage"},
                      headers=people.duty_officer))
    accepted(api.post("/warnings/W-1/update", json={"texts": TEXTS, "urgency": "Expected", "certainty": "Likely"},
                      headers=people.duty_officer))
    step(api, people, "W-1", "approval")
    step(api, people, "W-1", "issue", note="The outage widened")
    clock.set("2025-10-26T05:00+02:00")  # after the clock change
    accepted(api.post("/warnings/W-1/cancellation", json={"texts": CANCELLED}, headers=people.duty_officer))
    step(api, people, "W-1", "approval")
    step(api, people, "W-1", "issue")

    # Then each message is a valid CAP 1.2 alert of its own, referencing the ones before it
    alert, update, cancel = (cap(api, people.leadership, "W-1", n) for n in (1, 2, 3))
    assert [field(d, "cap:msgType") for d in (alert, update, cancel)] == [["Alert"], ["Update"], ["Cancel"]]
    assert [field(d, "cap:identifier") for d in (alert, update, cancel)] == [["W-1.1"], ["W-1.2"], ["W-1.3"]]
    assert field(alert, "cap:sent") == ["2025-10-25T21:40:00+03:00"]
    assert field(cancel, "cap:sent") == ["2025-10-26T05:00:00+02:00"]
    assert field(update, "cap:references") == ["valmius@localhost,W-1.1,2025-10-25T21:40:00+03:00"]
    assert field(cancel, "cap:references") == [
        "valmius@localhost,W-1.1,2025-10-25T21:40:00+03:00 valmius@localhost,W-1.2,2025-10-25T23:10:00+03:00"
    ]
    assert field(alert, "cap:status") == ["Actual"] and field(alert, "cap:scope") == ["Public"]
    assert field(update, "cap:note") == ["The outage widened"]
    # one info per language, with the crisis's category and severity when each was sent, and its areas
    assert field(alert, "cap:info/cap:language") == ["fi-FI", "sv-FI", "en-GB"]
    assert set(field(alert, "cap:info/cap:category")) == {"Met"}
    assert set(field(alert, "cap:info/cap:severity")) == {"Moderate"}
    assert set(field(update, "cap:info/cap:severity")) == {"Severe"}
    assert field(alert, "cap:info[1]/cap:instruction") == [TEXTS["fi"]["instruction"]]
    assert field(alert, "cap:info[1]/cap:area/cap:areaDesc") == ["Vuosaari", "Mellunkylä", "Itäkeskus", "Kontula"]
    assert field(alert, "cap:info[2]/cap:area/cap:areaDesc")[0] == "Nordsjö"  # the districts' Swedish names
    # each area a district of the registry: its outline as the polygon, its code as the geocode
    districts = [api.services.coordination.policy.districts.find(name) for name in STORM["areas"]]
    assert field(alert, "cap:info[1]/cap:area/cap:geocode/cap:value") == [d.code for d in districts]
    polygons = field(alert, "cap:info[1]/cap:area/cap:polygon")
    assert len(polygons) == 4 and all(p.split()[0] == p.split()[-1] for p in polygons)
    assert set(field(cancel, "cap:info/cap:urgency")) == {"Past"}
    # the latest is served without a number, and the warning shows who approved what and when it was sent
    assert field(cap(api, people.leadership, "W-1"), "cap:identifier") == ["W-1.3"]
    warning = accepted(api.get("/warnings/W-1", headers=people.leadership))
    assert (warning["status"], warning["in_force"]) == ("CANCELLED", False)
    assert [(m["drafted_by"], m["approved_by"], m["issued_by"], m["sent"], m["cap"]) for m in warning["messages"]] == [
        ("DO-1", "PM", "DO-1", "2025-10-25T21:40:00+03:00", "/warnings/W-1/cap?number=1"),
        ("DO-1", "PM", "DO-1", "2025-10-25T23:10:00+03:00", "/warnings/W-1/cap?number=2"),
        ("DO-1", "PM", "DO-1", "2025-10-26T05:00:00+02:00", "/warnings/W-1/cap?number=3"),
    ]
    assert warning["messages"][0]["approval_note"] == "Checked against the decision to warn"
    exactly(PublicWarningResponse, warning)


def test_the_feed_lists_the_warnings_in_force_each_linking_its_cap_document(api, people, clock):
    # Given two warnings issued, one of them cancelled since
    declare(api, people.duty_officer)
    for warning_id in ("W-1", "W-2"):
        accepted(api.post("/crises/C-S1/warnings", json={"warning_id": warning_id, "texts": TEXTS,
                                                         "urgency": "Expected", "certainty": "Likely"},
                          headers=people.duty_officer), 201)
        step(api, people, warning_id, "approval")
        step(api, people, warning_id, "issue")
        clock.advance(minutes=5)
    accepted(api.post("/warnings/W-1/cancellation", json={"texts": CANCELLED}, headers=people.duty_officer))
    step(api, people, "W-1", "approval")
    position = step(api, people, "W-1", "issue")
    # When the feed and the register are read (once they include the cancellation)
    feed = api.get("/warnings/feed", params={"min_position": position}, headers=people.leadership)
    register = accepted(api.get("/warnings", params={"min_position": position}, headers=people.leadership))
    # Then the feed is Atom, with W-2 alone, linking its CAP document, which is valid CAP
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.content)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    [entry] = root.findall("atom:entry", ATOM)
    assert entry.findtext("atom:id", namespaces=ATOM) == "urn:valmius:public-warning:W-2.1"
    assert entry.findtext("atom:title", namespaces=ATOM).startswith(TEXTS["fi"]["headline"])
    link = entry.find("atom:link[@rel='alternate']", ATOM)
    assert link.get("type") == CAP_MEDIA_TYPE and link.get("href") == "http://testserver/warnings/W-2/cap?number=1"
    assert field(cap(api, people.leadership, "W-2", 1), "cap:identifier") == ["W-2.1"]
    assert [(w["warning_id"], w["cap"]) for w in register["warnings"]] == [("W-2", "/warnings/W-2/cap?number=1")]
    # and the crisis's register holds both
    of_crisis = accepted(api.get("/crises/C-S1/warnings", params={"min_position": position}, headers=people.leadership))
    assert sorted((w["warning_id"], w["status"]) for w in of_crisis["warnings"]) == [
        ("W-1", "CANCELLED"), ("W-2", "IN_FORCE"),
    ]
    for answer in (register, of_crisis):
        exactly(PublicWarningRegisterResponse, answer)


def exactly(model: type, body: dict) -> None:
    """The answer is exactly its response model: nothing undeclared, nothing of another type."""
    adapter = TypeAdapter(model)
    assert adapter.dump_python(adapter.validate_python(body), mode="json", exclude_unset=True) == body


def test_a_warning_is_refused_without_swedish_for_a_secret_crisis_and_unapproved(api, people):
    declare(api, people.duty_officer)
    declare(api, people.duty_officer, crisis_id="C-SECRET",
            classification={"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"})
    body = {"warning_id": "W-1", "texts": {"fi": TEXTS["fi"]}, "urgency": "Immediate", "certainty": "Observed"}
    problem(api.post("/crises/C-S1/warnings", json=body, headers=people.duty_officer), 422, "TEXT_REQUIRED")
    body["texts"] = TEXTS
    problem(api.post("/crises/C-SECRET/warnings", json=body, headers=people.duty_officer), 422, "NOT_PUBLIC")
    problem(api.post("/crises/C-S1/warnings", json={**body, "urgency": "Soon"}, headers=people.duty_officer), 422,
            "INVALID_INPUT")
    accepted(api.post("/crises/C-S1/warnings", json=body, headers=people.duty_officer), 201)
    problem(api.post("/warnings/W-1/issue", json={}, headers=people.duty_officer), 409, "WARNING_NOT_APPROVED")
    problem(api.get("/warnings/W-1/cap", headers=people.leadership), 404, "NOT_FOUND")
    problem(api.post("/crises/C-S1/warnings", json=body, headers=people.leadership), 403, "FORBIDDEN_ROLE")
    problem(api.get("/warnings/feed", headers=api.headers("ADM", "admin")), 403, "FORBIDDEN_ROLE")


def test_the_manager_approves_the_text_read_and_not_one_revised_since(api, people):
    declare(api, people.duty_officer)
    body = {"warning_id": "W-1", "texts": TEXTS, "urgency": "Immediate", "certainty": "Observed"}
    accepted(api.post("/crises/C-S1/warnings", json=body, headers=people.duty_officer), 201)
    read = api.get("/warnings/W-1", headers=people.preparedness_manager).json()["messages"][-1]["digest"]
    # When a second duty officer revises the text after the manager read it
    revised = {"texts": {**TEXTS, "en": {"headline": "Storm", "description": "Power cuts."}}, "urgency": "Immediate",
               "certainty": "Observed"}
    accepted(api.post("/warnings/W-1/revision", json=revised, headers=api.headers("DO-2", "duty_officer")))
    # Then the manager's approval of what they read is refused, naming the rule, and nothing is approved
    refused = problem(api.post("/warnings/W-1/approval", json={"digest": read}, headers=people.preparedness_manager),
                      409, "TEXT_CHANGED")
    assert says(refused["detail"], "revised since", "read it again")
    waiting = api.get("/warnings/W-1", headers=people.preparedness_manager).json()["messages"][-1]
    assert waiting["approved_by"] is None and waiting["digest"] != read
    # and once they have read it again, their approval records the digest of the text approved
    step(api, people, "W-1", "approval", digest=waiting["digest"])
    approved = api.get("/warnings/W-1", headers=people.leadership).json()["messages"][-1]
    assert approved["approved_by"] == "PM" and approved["approved_digest"] == waiting["digest"]


@pytest.mark.parametrize("path", ["/warnings/{warning_id}/cap"])
def test_the_cap_example_of_the_openapi_document_is_valid_cap(api, path):
    document = api.get("/openapi.json").json()
    example = document["paths"][path]["get"]["responses"]["200"]["content"][CAP_MEDIA_TYPE]["example"]
    validate(example)
