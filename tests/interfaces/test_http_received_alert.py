"""Received CAP alerts through the HTTP API: a CAP document posted as application/cap+xml is taken once, a document
that is not CAP 1.2 is refused naming INVALID_CAP and why, the watch list and one alert show their texts to cleared
readers only, and a linked alert is on the crisis's timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from interfaces.cap.alerts_in import read_alert
from tests.interfaces.conftest import accepted, declare, last_event, problem

CAP = Path(__file__).parents[1] / "fixtures" / "cap"
WIND = (CAP / "fmi-wind-warning.xml").read_bytes()  # shaped as the Finnish Meteorological Institute's
WIND_ID = read_alert(WIND).alert_id
XML = {"Content-Type": "application/cap+xml"}
MARKER = "MRK-CAP-TEXT"
UNCLEARED = ("duty_officer", "preparedness_manager", "division_contact", "police_coordinator", "leadership", "auditor")


@pytest.fixture(autouse=True)
def morning(clock):  # noqa: ANN001, ANN201
    clock.set("2025-10-26T10:00:00+02:00")  # the wind warning is in force


def post(api, document: bytes, headers: dict):  # noqa: ANN001, ANN201
    return api.post("/received-alerts", content=document, headers={**headers, **XML})


def test_a_duty_officer_posts_a_cap_document_and_it_is_taken_once(api, people):
    answer = post(api, WIND, people.duty_officer)
    assert accepted(answer, 201) == {"id": WIND_ID, "version": 1}
    assert answer.headers["Location"] == f"/received-alerts/{WIND_ID}"
    # The same document again: 409 ALREADY_EXISTS, naming the alert held
    again = problem(post(api, WIND, people.second_duty_officer), 409, "ALREADY_EXISTS")
    assert again["alert_id"] == WIND_ID


@pytest.mark.parametrize("document, reason", [
    (b"<alert", "not XML"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'/>", "not CAP 1.2: a CAP 1.1 document"),
    (WIND.replace(b"<msgType>Alert</msgType>", b""), "not valid CAP 1.2 at /alert"),
])
def test_a_document_that_is_not_cap_1_2_is_refused_with_its_reason_and_nothing_is_stored(api, people, document, reason):
    before = last_event(api)
    refused = problem(post(api, document, people.duty_officer), 422, "INVALID_CAP")
    assert reason in refused["detail"]
    assert last_event(api) == before
    # said in Finnish too, the reason as the schema gave it
    finnish = post(api, document, {**people.duty_officer, "Accept-Language": "fi"}).json()
    assert finnish["detail"].startswith("ei ole CAP 1.2 -varoitus: ")


def test_a_body_that_is_no_cap_document_is_refused_naming_what_to_send(api, people):
    refused = problem(api.post("/received-alerts", json={"alert": 1}, headers=people.duty_officer), 422, "INVALID_CAP")
    assert "application/cap+xml" in refused["detail"]
    problem(post(api, WIND, people.leadership), 403, "FORBIDDEN_ROLE")


def test_what_an_alert_says_is_shown_to_cleared_readers_only(api, people):
    # Given an alert whose texts carry a marker
    marked = WIND.replace(b"Oranssi tuulivaroitus", MARKER.encode()).replace(b"Puuskat", MARKER.encode())
    alert_id = accepted(post(api, marked, people.duty_officer), 201)["id"]
    cleared = api.headers("LR-C", "leadership", clearance=True)
    # Then a cleared reader reads them, on the watch list and in the alert, with the document as received
    watch = accepted(api.get("/received-alerts?min_position=1", headers=cleared))
    assert MARKER in watch["alerts"][0]["headline"]
    alert = accepted(api.get(f"/received-alerts/{alert_id}", headers=cleared))
    assert alert["document"] == marked.decode() and alert["classification"]["level"] == "RECEIVED"
    # and no uncleared reader finds the marker anywhere, but sees the alert, its sender, times and codes
    for role in UNCLEARED:
        headers = api.headers(f"U-{role}", role, "KASKO" if role == "division_contact" else None)
        for path in ("/received-alerts", f"/received-alerts/{alert_id}"):
            answer = api.get(path, headers=headers)
            assert answer.status_code == 200 and MARKER not in answer.text, (role, path)
        shown = api.get(f"/received-alerts/{alert_id}", headers=headers).json()
        assert (shown["sender"], shown["state"], shown["redacted"]) == ("KSN:FI-FMI", "IN_FORCE", True)
        assert shown["infos"] == "[RECEIVED CAP Public, originator KSN:FI-FMI]"


def test_a_linked_alert_leaves_the_watch_list_and_is_on_the_crisis_timeline(api, people):
    declare(api, people.duty_officer)
    accepted(post(api, WIND, people.duty_officer), 201)
    linked = api.post(f"/received-alerts/{WIND_ID}/link", json={"crisis_id": "C-S1"},
                      headers={**people.duty_officer, "If-Match": '"1"'})
    assert accepted(linked) == {"id": WIND_ID, "version": 2}
    position = linked.headers["Valmius-Position"]
    cleared = api.headers("LR-C", "leadership", clearance=True)
    assert accepted(api.get(f"/received-alerts?min_position={position}", headers=cleared))["alerts"] == []
    timeline = accepted(api.get(f"/crises/C-S1/timeline?min_position={position}", headers=cleared))
    [entry] = [e for e in timeline["entries"] if e["kind"] == "received_alert_linked"]
    assert entry["ref"] == WIND_ID and entry["content"]["severity"] == "Severe"
    # A second link, and one to a crisis that does not exist, are refused
    problem(api.post(f"/received-alerts/{WIND_ID}/link", json={"crisis_id": "C-S1"}, headers=people.duty_officer),
            409, "INVALID_TRANSITION")
    problem(api.post(f"/received-alerts/{WIND_ID}/link", json={"crisis_id": "C-X"}, headers=people.duty_officer),
            404, "NOT_FOUND")
    # Unlinked, it is watched again
    unlinked = accepted(api.post(f"/received-alerts/{WIND_ID}/unlink", json={"reason": "wrong crisis"},
                                 headers=people.duty_officer))
    assert unlinked["version"] == 3
    alert = accepted(api.get(f"/received-alerts/{WIND_ID}", headers=cleared))
    assert alert["crisis_id"] is None and alert["links"][0]["reason"] == "wrong crisis"
