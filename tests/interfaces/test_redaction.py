"""Classified records through HTTP (Act on the Openness of Government Activities): a reader without clearance
sees that a SECRET or RECEIVED record exists, its category, times and legal basis or marking, and the label in
place of its content; a cleared reader sees the content."""

from __future__ import annotations

from tests.interfaces.conftest import accepted, crisis, declare

SECRET = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
SECRET_LABEL = "[SECRET JulkL 24.1 § 7 k]"
RECEIVED = {"level": "RECEIVED", "marking": "TL IV KÄYTTÖ RAJOITETTU", "originator": "Helsinki Police Department"}
RECEIVED_LABEL = "[RECEIVED TL IV, originator HPD]"


def school_threats(api, people, clock) -> None:  # noqa: ANN001
    """Given C-S4, the emailed bomb threats against schools, declared SECRET at 07:00."""
    clock.set("2025-11-17T07:00+02:00")
    declare(api, people.duty_officer, crisis_id="C-S4", category="THREAT_VIOLENCE",
            title="Emailed bomb threats against six comprehensive schools", areas=["Itäkeskus", "Kontula"],
            lead_authority="Helsinki Police Department", classification=SECRET)


def test_an_uncleared_reader_sees_that_a_secret_crisis_exists_but_not_its_content(api, people, clock):
    school_threats(api, people, clock)
    # When a leadership reader without clearance reads the crisis
    seen = crisis(api, people.leadership, "C-S4")
    # Then the crisis is there with its category, severity, time and legal basis, and the label for its title
    assert (seen["category"], seen["severity"], seen["status"], seen["declared_at"]) == (
        "THREAT_VIOLENCE", 2, "ACTIVE", "2025-11-17T07:00:00+02:00"
    )
    assert seen["classification"]["level"] == "SECRET" and seen["classification"]["legal_basis"] == "JulkL 24.1 § 7 k"
    assert (seen["redacted"], seen["title"], seen["areas"]) == (True, SECRET_LABEL, None)
    # while a cleared reader sees the title and the areas
    cleared = crisis(api, people.cleared_leadership, "C-S4")
    assert (cleared["redacted"], cleared["title"], cleared["areas"]) == (
        False, "Emailed bomb threats against six comprehensive schools", ["Itäkeskus", "Kontula"]
    )


def test_a_secret_situation_report_shows_its_number_and_times_to_an_uncleared_reader(api, people, clock):
    # Given situation report #1 of the storm issued SECRET at 22:01, next due 23:00
    declare(api, people.duty_officer)
    clock.set("2025-10-25T22:01+03:00")
    accepted(api.post("/crises/C-S1/situation-reports",
                      json={"summary": "Sites of vulnerable clients without power: …", "classification": SECRET,
                            "next_due_at": "2025-10-25T23:00+03:00"},
                      headers=people.duty_officer))
    # When SOTEPE's contact, without clearance, reads the crisis
    [report] = crisis(api, people.contact("SOTEPE"))["situation_reports"]
    # Then the report's number, times and legal basis are there, the summary is the label
    assert (report["number"], report["occurred_at"], report["next_due_at"]) == (
        1, "2025-10-25T22:01:00+03:00", "2025-10-25T23:00:00+03:00"
    )
    assert (report["redacted"], report["summary"], report["classification"]["legal_basis"]) == (
        True, SECRET_LABEL, "JulkL 24.1 § 7 k"
    )
    # and the auditor, cleared, reads the summary
    [report] = crisis(api, people.auditor)["situation_reports"]
    assert (report["redacted"], report["summary"]) == (False, "Sites of vulnerable clients without power: …")


def test_a_police_answer_received_under_tl_iv_is_labelled_with_its_marking_and_originator(api, people, clock):
    # Given the police's answer to PR-S4-02 received marked TL IV
    school_threats(api, people, clock)
    accepted(api.post("/police-liaisons", json={"liaison_id": "PL-C-S4", "crisis_id": "C-S4"},
                      headers=people.police_coordinator), 201)
    clock.set("2025-11-17T07:20+02:00")
    accepted(api.post("/police-liaisons/PL-C-S4/requests",
                      json={"request_id": "PR-S4-02", "direction": "CITY_TO_POLICE", "request_type": "COORDINATION",
                            "subject": "Police assessment: can school start at 10:00?"},
                      headers=people.police_coordinator), 201)
    clock.set("2025-11-17T09:35+02:00")
    accepted(api.post("/police-liaisons/PL-C-S4/requests/PR-S4-02/answer",
                      json={"response": "5/6 swept, nothing found; Pihlajamäki continues",
                            "answered_by": "HPD duty commander", "classification": RECEIVED},
                      headers=people.police_coordinator))
    # When a leadership reader without clearance reads the matter
    [request] = accepted(api.get("/police-liaisons/PL-C-S4", headers=people.leadership))["requests"]
    # Then the request, its outcome and times are there; the answer is the TL IV label naming the originator
    assert (request["status"], request["closed_at"], request["subject"]) == (
        "ANSWERED", "2025-11-17T09:35:00+02:00", "Police assessment: can school start at 10:00?"
    )
    answer = request["response"]
    assert (answer["redacted"], answer["text"], answer["classification"]["marking"]) == (
        True, RECEIVED_LABEL, "TL IV KÄYTTÖ RAJOITETTU"
    )
    # while a cleared reader sees the answer itself
    [request] = accepted(api.get("/police-liaisons/PL-C-S4", headers=people.cleared_leadership))["requests"]
    assert request["response"]["text"] == "5/6 swept, nothing found; Pihlajamäki continues"


def test_the_crisis_timeline_redacts_a_secret_log_entry_for_an_uncleared_reader(api, people):
    # Given the police's note logged SECRET in the storm
    declare(api, people.duty_officer)
    written = api.post("/crises/C-S1/log-entries",
                       json={"text": "Suspect vehicle seen near the Itäkeskus substation", "source": "HPD",
                             "classification": SECRET},
                       headers=people.duty_officer)
    position = written.headers["Valmius-Position"]
    # When the timeline is read without and with clearance
    uncleared = accepted(api.get(f"/crises/C-S1/timeline?min_position={position}", headers=people.leadership))
    cleared = accepted(api.get(f"/crises/C-S1/timeline?min_position={position}", headers=people.cleared_leadership))
    # Then the uncleared reader sees the entry with its times and the label, the cleared one its text
    entry = next(e for e in uncleared["entries"] if e["kind"] == "log_entry")
    assert (entry["redacted"], entry["content"], entry["occurred_at"]) == (True, SECRET_LABEL, "2025-10-25T21:40+03:00")
    entry = next(e for e in cleared["entries"] if e["kind"] == "log_entry")
    assert entry["content"]["text"] == "Suspect vehicle seen near the Itäkeskus substation"


def test_what_is_added_to_a_secret_record_later_is_as_secret_as_the_record(api, people, clock):
    """Given a SECRET action completed with a note and a SECRET decision reviewed with an outcome, an uncleared
    reader sees the label in place of the note and the outcome too, not only in place of the task."""
    declare(api, people.duty_officer)
    clock.set("2025-10-25T22:05+03:00")
    accepted(api.post("/crises/C-S1/actions", headers=people.duty_officer, json={
        "action_id": "A-1", "unit": "SOTEPE", "task": "Check client 1234 at Kallioaukio 5",
        "due_at": "2025-10-25T23:00+03:00", "classification": SECRET}))
    accepted(api.post("/crises/C-S1/decisions", headers=people.duty_officer, json={
        "decision_id": "D-1", "decided_by": "Executive Director, SOTEPE", "decision": "Move client 1234",
        "rationale": "oxygen", "options": ["stay", "move"], "classification": SECRET}))
    clock.set("2025-10-25T22:30+03:00")
    accepted(api.post("/crises/C-S1/actions/A-1/complete", headers=people.duty_officer,
                      json={"note": "client 1234 moved to Malmi"}))
    accepted(api.post("/crises/C-S1/decisions/D-1/reviews", headers=people.duty_officer,
                      json={"outcome": "client 1234 back home"}))
    seen = crisis(api, people.leadership)
    [action], [decision] = seen["actions"], seen["decisions"]
    assert (action["task"], action["note"]) == (SECRET_LABEL, SECRET_LABEL)
    assert decision["reviews"][0]["outcome"] == SECRET_LABEL
    assert "1234" not in str(seen)
    # and so do the timeline and the decision log
    written = api.services.coordination.recorder.max_notification_id()
    for read_model in ("timeline", "decision-log"):
        shown = accepted(api.get(f"/crises/C-S1/{read_model}?min_position={written}", headers=people.leadership))
        assert "1234" not in str(shown) and SECRET_LABEL in str(shown)
    cleared = crisis(api, people.cleared_leadership)
    assert cleared["actions"][0]["note"] == "client 1234 moved to Malmi"
    assert cleared["decisions"][0]["reviews"][0]["outcome"] == "client 1234 back home"
