"""Positions and handover through HTTP: a night shift on the storm. The duty officer on duty signs on, an action
falls due in the night, the morning's duty officer is handed a brief of what is open and what happened, accepts it
by its digest, and auditors can say who held the watch at any moment and what had been handed over by then."""

from __future__ import annotations

import hashlib
import json

from tests.interfaces.conftest import accepted, declare, problem

DUTY = "/positions/DUTY_OFFICER"


def test_a_night_shift_is_handed_over_with_a_brief_the_incoming_officer_accepts(api, people, clock):
    # Given the storm, DO-1 on duty from 21:40, and an action for STARA due at 03:00
    declare(api, people.duty_officer)
    accepted(api.post(f"{DUTY}/sign-on", headers=people.duty_officer))
    accepted(api.post("/crises/C-S1/actions", json={"action_id": "A-1", "unit": "STARA", "task": "Clear Itäväylä",
                                                    "due_at": "2025-10-26T03:00+02:00"}, headers=people.duty_officer))
    # When DO-2 arrives at 07:00 and DO-1 prepares the brief, a decision having been recorded in the night
    clock.set("2025-10-26T05:30+02:00")
    accepted(api.post("/crises/C-S1/decisions", json={
        "decision_id": "D-1", "decided_by": "Mayor", "authority": "Mayor", "decision": "Open shelters",
        "rationale": "Cold night", "options": ["open", "wait"], "review_at": "2025-10-26T09:00+02:00"},
        headers=people.duty_officer))
    clock.set("2025-10-26T07:00+02:00")
    refused = api.post(f"{DUTY}/sign-on", headers=people.second_duty_officer)
    problem(refused, 409, "POSITION_HELD")
    prepared = accepted(api.post(f"{DUTY}/handover-briefs", headers=people.duty_officer), 201)
    read = accepted(api.get(f"{DUTY}/handover-briefs/{prepared['number']}", headers=people.second_duty_officer))
    # Then the brief says what is open and overdue, what happened and what was decided, and its digest is its own
    brief = read["brief"]
    assert [(a["action_id"], a["overdue"]) for a in brief["overdue_actions"]["items"]] == [("A-1", True)]
    assert [d["decision_id"] for d in brief["decided"]] == ["D-1"]
    assert any("D-1" in change["what"] or change["record"] == "C-S1" for change in brief["changes"]["items"])
    canonical = json.dumps(brief, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert read["digest"] == prepared["digest"] == hashlib.sha256(canonical).hexdigest()
    # When DO-2 accepts it naming another digest, then it is refused and nothing changes hands
    problem(api.post(f"{DUTY}/handover-briefs/1/accept", json={"digest": "0" * 64},
                     headers=people.second_duty_officer), 409, "BRIEF_MISMATCH")
    # When DO-2 accepts it with its digest, DO-2 holds the watch
    accepted(api.post(f"{DUTY}/handover-briefs/1/accept", json={"digest": read["digest"]},
                      headers=people.second_duty_officer))
    [duty] = [p for p in accepted(api.get("/positions", headers=people.leadership))["positions"]
              if p["position"] == "DUTY_OFFICER"]
    assert (duty["holder"], duty["accepted"], duty["held_since"]) == ("DO-2", 1, "2025-10-26T07:00+02:00")
    problem(api.post(f"{DUTY}/handover-briefs/1/accept", json={"digest": read["digest"]},
                     headers=people.duty_officer), 409, "STALE_BRIEF")
    # And auditors see who held the watch at 03:00 and at 08:00, and what had been handed over by each
    night = accepted(api.get("/audit/positions", params={"as_of": "2025-10-26T03:00+02:00"}, headers=people.auditor))
    morning = accepted(api.get("/audit/positions", params={"as_of": "2025-10-26T08:00+02:00"}, headers=people.auditor))
    assert [(h["position"], h["holder"]) for h in night["holders"]] == [("DUTY_OFFICER", "DO-1")]
    assert night["handovers"] == []
    assert [(h["position"], h["holder"]) for h in morning["holders"]] == [("DUTY_OFFICER", "DO-2")]
    assert [(h["from_holder"], h["to_holder"], h["digest"]) for h in morning["handovers"]] == [
        ("DO-1", "DO-2", read["digest"])]


def test_the_next_brief_covers_the_log_since_the_previous_handover(api, people, clock):
    # Given DO-1 on duty, handed over to DO-2 with brief #1
    declare(api, people.duty_officer)
    accepted(api.post(f"{DUTY}/sign-on", headers=people.duty_officer))
    first = accepted(api.post(f"{DUTY}/handover-briefs", headers=people.duty_officer), 201)
    accepted(api.post(f"{DUTY}/handover-briefs/1/accept", json={"digest": first["digest"]},
                      headers=people.second_duty_officer))
    # When a log entry is recorded and DO-2 prepares brief #2 for DO-1
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Helen: 9,000 without power"},
                      headers=people.second_duty_officer))
    second = accepted(api.post(f"{DUTY}/handover-briefs", headers=people.second_duty_officer), 201)
    brief = accepted(api.get(f"{DUTY}/handover-briefs/2", headers=people.duty_officer))
    # Then it starts where #1 ended, and tells of the entry (never its text) and not of what #1 told
    one = accepted(api.get(f"{DUTY}/handover-briefs/1", headers=people.duty_officer))
    assert brief["since_position"] == one["until_position"] and second["number"] == 2
    whats = [change["what"] for change in brief["brief"]["changes"]["items"]]
    assert any("log entry" in what for what in whats) and not any("declared" in what for what in whats)
    assert not any("9,000" in what for what in whats)


def test_only_the_roles_of_a_position_hold_it_and_only_its_holder_signs_off(api, people):
    problem(api.post("/positions/POLICE_COORDINATOR/sign-on", headers=people.duty_officer), 403, "FORBIDDEN_ROLE")
    problem(api.post("/positions/PREPAREDNESS_MANAGER/sign-on", headers=people.duty_officer), 403, "FORBIDDEN_ROLE")
    problem(api.post("/positions/NIGHT_WATCH/sign-on", headers=people.duty_officer), 404, "NOT_FOUND")
    accepted(api.post("/positions/POLICE_COORDINATOR/sign-on", headers=people.police_coordinator))
    problem(api.post(f"{DUTY}/sign-off", headers=people.duty_officer), 409, "NOT_POSITION_HOLDER")
    problem(api.post(f"{DUTY}/handover-briefs/1/accept", json={"digest": "a" * 64}, headers=people.duty_officer),
            404, "NOT_FOUND")
    problem(api.post("/positions/POLICE_COORDINATOR/sign-off", headers=people.police_coordinator), 409,
            "HANDOVER_REQUIRED")
    accepted(api.post("/positions/POLICE_COORDINATOR/handover-briefs", headers=people.police_coordinator), 201)
    accepted(api.post("/positions/POLICE_COORDINATOR/sign-off", headers=people.police_coordinator))
    problem(api.post("/positions/POLICE_COORDINATOR/sign-on", headers=people.police_coordinator), 409,
            "HANDOVER_REQUIRED")
    assert [p["holder"] for p in accepted(api.get("/positions", headers=people.leadership))["positions"]] == [
        None, None, None]


def test_a_brief_prints_as_a_page_and_shows_a_secret_action_by_its_label_only(api, people, clock):
    # Given a SECRET action in the storm, and DO-1 on duty
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/actions", json={
        "action_id": "A-S", "unit": "KYMP", "task": "Guard the pumping station at Pitkäkoski", "due_at": "2025-10-26T03:00+02:00",
        "classification": {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}}, headers=people.duty_officer))
    accepted(api.post(f"{DUTY}/sign-on", headers=people.duty_officer))
    accepted(api.post(f"{DUTY}/handover-briefs", headers=people.duty_officer), 201)
    # When the brief is read as a page, even by a cleared reader
    printed = api.get(f"{DUTY}/handover-briefs/1", params={"format": "html"}, headers=people.cleared_leadership)
    # Then it is a page with the brief's digest, and the secret task is not in it
    assert printed.status_code == 200 and printed.headers["content-type"].startswith("text/html")
    assert "Handover brief #1: DUTY_OFFICER" in printed.text and "A-S" in printed.text
    assert "Pitkäkoski" not in printed.text and "SECRET" in printed.text
    assert "'unsafe-inline'" not in printed.headers["content-security-policy"]
