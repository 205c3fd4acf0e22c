"""The crisis resource through HTTP, one test per feature: declaration, severity and condition, the status
lifecycle, the crisis log, actions, situation reports, decisions, times."""

from __future__ import annotations

from tests.interfaces.conftest import STORM, accepted, crisis, declare, problem, says

TREES = {"action_id": "A-S1-01", "unit": "STARA", "task": "Clear fallen trees blocking home-care routes, Vuosaari",
         "due_at": "2025-10-26T00:00+03:00"}


def test_a_declared_crisis_reads_back_as_declared_with_helsinki_times(api, people):
    # When DO-1 declares the storm, giving its start in UTC
    response = api.post("/crises", json={**STORM, "occurred_at": "2025-10-25T18:40Z"}, headers=people.duty_officer)
    # Then it is created where the Location says, and leadership reads it back
    assert response.status_code == 201 and response.headers["Location"] == "/crises/C-S1"
    storm = accepted(api.get(response.headers["Location"], headers=people.leadership))
    assert {k: storm[k] for k in ("status", "severity", "condition", "category", "declared_by", "title", "areas")} == {
        "status": "ACTIVE", "severity": 2, "condition": "NORMAL_DISRUPTION", "category": "SEVERE_WEATHER",
        "declared_by": "DO-1", "title": STORM["title"], "areas": STORM["areas"],
    }
    # with the time shown in Europe/Helsinki, offset included
    assert storm["declared_at"] == "2025-10-25T21:40:00+03:00"
    # and the same id cannot be declared twice
    problem(api.post("/crises", json=STORM, headers=people.duty_officer), 409, "ALREADY_EXISTS")


def test_the_severity_is_changed_on_the_scale_of_one_to_four(api, people, clock):
    declare(api, people.duty_officer)
    clock.set("2025-10-25T23:20+03:00")
    # When DO-1 raises the storm to severity 3, having seen 2
    changed = accepted(api.post(
        "/crises/C-S1/severity",
        json={"from_severity": 2, "to_severity": 3, "reason": "31,000 customers out, Helen ETA after 06:00"},
        headers=people.duty_officer,
    ))
    # Then the crisis is at severity 3, one version on
    assert changed["version"] == 2
    assert crisis(api, people.leadership)["severity"] == 3
    # and a 5 is not on the scale
    problem(api.post("/crises/C-S1/severity", json={"to_severity": 5}, headers=people.duty_officer),
            422, "INVALID_SEVERITY")


def test_the_condition_becomes_emergency_conditions_only_once_they_are_in_force(api, people):
    # Given the storm, and the preparedness manager recording emergency conditions in force city-wide
    declare(api, people.duty_officer)
    accepted(api.post("/emergency-conditions",
                      json={"in_force": True, "basis": "Government decree under the Emergency Powers Act"},
                      headers=people.preparedness_manager))
    assert api.get("/emergency-conditions", headers=people.leadership).json()["in_force"] is True
    # When DO-1 puts the storm under EMERGENCY_CONDITIONS
    accepted(api.post("/crises/C-S1/condition", json={"to_condition": "EMERGENCY_CONDITIONS", "reason": "decree"},
                      headers=people.duty_officer))
    # Then the crisis reads so
    assert crisis(api, people.leadership)["condition"] == "EMERGENCY_CONDITIONS"


def test_a_crisis_runs_from_active_to_closed_and_then_takes_only_its_after_action_review(api, people, clock):
    declare(api, people.duty_officer)
    # When the storm is contained, flares up again, is contained, resolved and closed
    for step in ("contain", "reopen", "contain", "resolve", "close"):
        clock.advance(minutes=30)
        accepted(api.post(f"/crises/C-S1/{step}", json={"reason": step}, headers=people.duty_officer))
    # Then it is CLOSED
    assert crisis(api, people.leadership)["status"] == "CLOSED"
    # and nothing more is logged in it
    problem(api.post("/crises/C-S1/log-entries", json={"text": "late news"}, headers=people.duty_officer),
            409, "CRISIS_CLOSED")
    # but the preparedness manager records its after-action review, once
    review = {"findings": ["home-care device register out of date"], "recommendations": ["monthly register check"]}
    clock.set("2025-11-04T13:00+02:00")
    accepted(api.post("/crises/C-S1/after-action-review", json=review, headers=people.preparedness_manager))
    assert crisis(api, people.auditor)["after_action_review"]["findings"] == review["findings"]
    again = api.post("/crises/C-S1/after-action-review", json=review, headers=people.preparedness_manager)
    assert says(problem(again, 409, "IMMUTABLE_RECORD")["detail"], "recorded once")
    # and a duty officer may not record it
    problem(api.post("/crises/C-S1/after-action-review", json=review, headers=people.duty_officer),
            403, "FORBIDDEN_ROLE")


def test_a_wrong_log_entry_is_struck_through_with_a_reason_and_kept(api, people):
    # Given an entry logged in the wrong crisis
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Water main burst in Kallio", "source": "HSY"},
                      headers=people.duty_officer))
    # When DO-2 strikes it through
    accepted(api.post("/crises/C-S1/log-entries/1/strike", json={"reason": "entered in the wrong crisis"},
                      headers=people.second_duty_officer))
    # Then the entry is still there, struck, with who struck it and why
    [entry] = crisis(api, people.leadership)["log"]
    assert (entry["text"], entry["source"], entry["struck"], entry["struck_reason"], entry["struck_by"]) == (
        "Water main burst in Kallio", "HSY", True, "entered in the wrong crisis", "DO-2"
    )
    # and it can be neither deleted nor struck again
    problem(api.delete("/crises/C-S1/log-entries/1", headers=people.duty_officer), 409, "IMMUTABLE_RECORD")
    problem(api.post("/crises/C-S1/log-entries/1/strike", json={"reason": "again"}, headers=people.duty_officer),
            409, "IMMUTABLE_RECORD")


def test_a_division_contact_logs_entries_reporting_from_their_own_unit(api, people):
    declare(api, people.duty_officer)
    # When SOTEPE's contact logs an entry without naming a source
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "140 home-care clients being phoned"},
                      headers=people.contact("SOTEPE")))
    # Then it reports from SOTEPE
    assert crisis(api, people.leadership)["log"][0]["source"] == "SOTEPE"
    # and SOTEPE's contact cannot report on STARA's behalf
    response = api.post("/crises/C-S1/log-entries", json={"text": "roads cleared", "source": "STARA"},
                        headers=people.contact("SOTEPE"))
    assert says(problem(response, 403, "FORBIDDEN_ROLE")["detail"], "from SOTEPE only")


def test_an_action_turns_overdue_at_read_time_and_its_own_unit_completes_it(api, people, clock):
    # Given an action to STARA due at midnight
    declare(api, people.duty_officer)
    clock.set("2025-10-25T22:05+03:00")
    accepted(api.post("/crises/C-S1/actions", json=TREES, headers=people.duty_officer))
    # When it is read at 00:45 and still open
    clock.set("2025-10-26T00:45+03:00")
    [action] = crisis(api, people.leadership)["actions"]
    # Then it shows overdue, without anything having been recorded
    assert (action["status"], action["overdue"], action["due_at"]) == ("OPEN", True, "2025-10-26T00:00:00+03:00")
    # and KASKO's contact may not complete STARA's action, but STARA's contact does
    problem(api.post("/crises/C-S1/actions/A-S1-01/complete", json={}, headers=people.contact("KASKO")),
            403, "FORBIDDEN_ROLE")
    clock.set("2025-10-26T01:10+03:00")
    accepted(api.post("/crises/C-S1/actions/A-S1-01/complete", json={"note": "Stara crews were on main roads"},
                      headers=people.contact("STARA")))
    [action] = crisis(api, people.leadership)["actions"]
    assert (action["status"], action["overdue"], action["closed_by"], action["closed_at"]) == (
        "COMPLETED", False, "DIV-STARA", "2025-10-26T01:10:00+03:00"
    )


def test_an_action_is_cancelled_with_a_note_and_then_stays_closed(api, people):
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/actions", json=TREES, headers=people.duty_officer))
    # When DO-1 cancels it
    accepted(api.post("/crises/C-S1/actions/A-S1-01/cancel", json={"note": "Helen cleared the lines"},
                      headers=people.duty_officer))
    # Then it reads CANCELLED with the note, and cannot be completed after all
    [action] = crisis(api, people.leadership)["actions"]
    assert (action["status"], action["note"]) == ("CANCELLED", "Helen cleared the lines")
    problem(api.post("/crises/C-S1/actions/A-S1-01/complete", json={}, headers=people.contact("STARA")),
            409, "ACTION_NOT_OPEN")


def test_situation_reports_are_numbered_in_turn_and_a_missed_next_one_shows_overdue(api, people, clock):
    declare(api, people.duty_officer)
    # When DO-1 issues two reports without numbering them, the second due next at 01:30
    clock.set("2025-10-25T21:50+03:00")
    accepted(api.post("/crises/C-S1/situation-reports",
                      json={"summary": "~9,000 Helen customers without power", "next_due_at": "2025-10-25T23:30+03:00"},
                      headers=people.duty_officer))
    clock.set("2025-10-25T23:30+03:00")
    accepted(api.post("/crises/C-S1/situation-reports",
                      json={"summary": "31,000 out", "next_due_at": "2025-10-26T01:30+03:00"},
                      headers=people.duty_officer))
    # Then they are #1 and #2
    storm = crisis(api, people.leadership)
    assert [r["number"] for r in storm["situation_reports"]] == [1, 2]
    assert (storm["next_situation_report_due"], storm["next_situation_report_overdue"]) == (
        "2025-10-26T01:30:00+03:00", False
    )
    # and when 01:30 passes without #3 the next report shows overdue
    clock.set("2025-10-26T01:31+03:00")
    assert crisis(api, people.leadership)["next_situation_report_overdue"] is True


def test_a_decision_is_superseded_and_reviewed_but_never_changed(api, people, clock):
    # Given decision D-S1-01, to be reviewed at 08:00
    declare(api, people.duty_officer)
    clock.set("2025-10-25T23:10+03:00")
    first = {
        "decision_id": "D-S1-01", "decided_by": "Executive Director, SOTEPE", "authority": "division delegation",
        "decision": "Move 6 oxygen-dependent home-care clients to Malmi hospital overnight",
        "options": ["battery swaps at home", "hospital transfer", "generators from Rescue Dept"],
        "rationale": "outage ETA >6 h exceeds plan MTPD", "review_at": "2025-10-26T08:00+02:00",
    }
    accepted(api.post("/crises/C-S1/decisions", json=first, headers=people.duty_officer))
    # When 08:00 passes, it shows due for review
    clock.set("2025-10-26T08:00+02:00")
    assert crisis(api, people.leadership)["decisions"][0]["review_due"] is True
    # and DO-1 appends the review outcome, then a new decision supersedes it
    accepted(api.post("/crises/C-S1/decisions/D-S1-01/reviews", json={"outcome": "clients returned home 07:40"},
                      headers=people.duty_officer))
    accepted(api.post("/crises/C-S1/decisions",
                      json={**first, "decision_id": "D-S1-02", "supersedes": "D-S1-01", "review_at": None,
                            "decision": "Keep 2 clients at Malmi until their own power is checked"},
                      headers=people.duty_officer))
    # Then the first decision reads as recorded, with its review appended and its successor named
    old, new = crisis(api, people.leadership)["decisions"]
    assert old["decision"] == first["decision"] and old["options"] == first["options"]
    assert [r["outcome"] for r in old["reviews"]] == ["clients returned home 07:40"]
    assert (old["review_due"], old["superseded_by"], new["supersedes"]) == (False, "D-S1-02", "D-S1-01")
    # and a decision needs at least two options considered
    single = {**first, "decision_id": "D-S1-03", "options": ["hospital transfer"], "review_at": None}
    problem(api.post("/crises/C-S1/decisions", json=single, headers=people.duty_officer), 422, "TOO_FEW_OPTIONS")


def test_a_late_entry_with_its_reason_keeps_both_times(api, people, clock):
    declare(api, people.duty_officer)
    clock.set("2025-10-25T22:30+03:00")
    # When DO-1 records at 22:30, with a reason, what happened at 22:00
    accepted(api.post("/crises/C-S1/log-entries",
                      json={"text": "Trees down on Itäväylä", "occurred_at": "2025-10-25T22:00+03:00",
                            "late_entry_reason": "radio traffic, written up afterwards"},
                      headers=people.duty_officer))
    # Then the entry keeps when it happened, when it was recorded, and why late
    [entry] = crisis(api, people.leadership)["log"]
    assert (entry["occurred_at"], entry["recorded_at"], entry["late_entry_reason"]) == (
        "2025-10-25T22:00:00+03:00", "2025-10-25T22:30:00+03:00", "radio traffic, written up afterwards"
    )


def test_the_timeline_orders_entries_by_instant_across_the_autumn_clock_change(api, people, clock):
    # Given the storm running into the night the clocks go back (04:00+03:00 becomes 03:00+02:00)
    declare(api, people.duty_officer)
    # When a log entry is recorded at 03:40+03:00 and a situation report an hour later at 03:20+02:00
    clock.set("2025-10-26T03:40+03:00")
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Helen: 12,000 customers still without power"},
                      headers=people.duty_officer))
    clock.set("2025-10-26T03:20+02:00")
    written = api.post("/crises/C-S1/situation-reports", json={"summary": "restoration under way"},
                       headers=people.duty_officer)
    # Then the timeline lists the report after the entry, although its local time reads earlier
    position = written.headers["Valmius-Position"]
    timeline = accepted(api.get(f"/crises/C-S1/timeline?min_position={position}", headers=people.leadership))
    entries = [(e["kind"], e["occurred_at"]) for e in timeline["entries"]]
    assert entries[-2:] == [("log_entry", "2025-10-26T03:40+03:00"), ("situation_report", "2025-10-26T03:20+02:00")]
