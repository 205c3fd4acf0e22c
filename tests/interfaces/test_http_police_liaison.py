"""City–police liaison through HTTP: matters for a crisis or a standing topic, requests both ways with exactly
one outcome, the age of unanswered requests, and information shared with the police."""

from __future__ import annotations

from tests.interfaces.conftest import accepted, crisis, declare, liaison_with_request, problem, says


def liaison(api, headers, liaison_id: str = "PL-C-S1") -> dict:  # noqa: ANN001
    return accepted(api.get(f"/police-liaisons/{liaison_id}", headers=headers))


def test_a_request_to_the_police_is_answered_and_its_answer_time_kept(api, people, clock):
    # Given the storm, and the police coordinator's liaison matter for it with both sides' people
    declare(api, people.duty_officer)
    clock.set("2025-10-25T22:10+03:00")
    created = api.post("/police-liaisons", json={"liaison_id": "PL-C-S1", "crisis_id": "C-S1",
                                                 "city_people": ["PC"], "police_people": ["HPD duty officer"]},
                       headers=people.police_coordinator)
    assert created.status_code == 201 and created.headers["Location"] == "/police-liaisons/PL-C-S1"
    # When the coordinator asks the police for traffic control, and records the answer at 22:25
    accepted(api.post("/police-liaisons/PL-C-S1/requests",
                      json={"request_id": "PR-S1-01", "direction": "CITY_TO_POLICE", "request_type": "COORDINATION",
                            "subject": "Traffic control at 4 dark signalised junctions on Itäväylä"},
                      headers=people.police_coordinator), 201)
    assert crisis(api, people.leadership)["open_police_requests"] == ["PR-S1-01"]
    clock.set("2025-10-25T22:25+03:00")
    accepted(api.post("/police-liaisons/PL-C-S1/requests/PR-S1-01/answer",
                      json={"response": "2 patrols 22:30–02:00", "answered_by": "HPD field commander"},
                      headers=people.police_coordinator))
    # Then the request reads ANSWERED after 15 minutes, by whom, and the crisis no longer waits on it
    matter = liaison(api, people.leadership)
    [request] = matter["requests"]
    assert (request["status"], request["age_minutes"], request["answered_by"], request["response"]["text"]) == (
        "ANSWERED", 15, "HPD field commander", "2 patrols 22:30–02:00"
    )
    assert (matter["city_people"], matter["police_people"]) == (["PC"], ["HPD duty officer"])
    assert crisis(api, people.leadership)["open_police_requests"] == []


def test_a_request_from_the_police_unanswered_for_over_30_minutes_is_flagged(api, people, clock):
    # Given a request from the police raised at 23:35
    declare(api, people.duty_officer)
    clock.set("2025-10-25T23:35+03:00")
    liaison_with_request(api, people.police_coordinator, request_id="PR-S1-02", direction="POLICE_TO_CITY",
                         request_type="INFORMATION",
                         subject="Service-housing units without backup power in outage area (patrol planning)")
    # When it is read at 00:05, and again at 00:45, still open
    clock.set("2025-10-26T00:05+03:00")
    [at_30] = liaison(api, people.leadership)["requests"]
    clock.set("2025-10-26T00:45+03:00")
    [at_70] = liaison(api, people.leadership)["requests"]
    # Then it is flagged only once it is over the 30 minutes, with its age
    assert (at_30["age_minutes"], at_30["unanswered_beyond_threshold"]) == (30, False)
    assert (at_70["age_minutes"], at_70["unanswered_beyond_threshold"], at_70["status"]) == (70, True, "OPEN")


def test_requests_are_declined_or_withdrawn_with_a_reason_exactly_once(api, people, clock):
    declare(api, people.duty_officer)
    matter = liaison_with_request(api, people.police_coordinator)
    accepted(api.post(f"/police-liaisons/{matter}/requests",
                      json={"request_id": "PR-S1-03", "direction": "POLICE_TO_CITY", "request_type": "INFORMATION",
                            "subject": "Camera footage of the Itäkeskus metro entrance"},
                      headers=people.police_coordinator), 201)
    clock.advance(minutes=10)
    # When the city declines the police's request and withdraws its own
    accepted(api.post(f"/police-liaisons/{matter}/requests/PR-S1-03/decline",
                      json={"response": "not the city's footage: ask Kaupunkiliikenne Oy"},
                      headers=people.police_coordinator))
    accepted(api.post(f"/police-liaisons/{matter}/requests/PR-S1-01/withdraw",
                      json={"response": "signals back on"}, headers=people.police_coordinator))
    # Then each keeps its outcome and reason
    outcomes = {r["request_id"]: (r["status"], r["response"]["text"]) for r in liaison(api, people.leadership)["requests"]}
    assert outcomes == {"PR-S1-01": ("WITHDRAWN", "signals back on"),
                        "PR-S1-03": ("DECLINED", "not the city's footage: ask Kaupunkiliikenne Oy")}
    # and a withdrawn request cannot be answered after all
    problem(api.post(f"/police-liaisons/{matter}/requests/PR-S1-01/answer", json={"response": "patrols sent"},
                     headers=people.police_coordinator), 409, "ALREADY_ANSWERED")


def test_a_request_for_executive_assistance_states_its_legal_basis(api, people):
    declare(api, people.duty_officer)
    accepted(api.post("/police-liaisons", json={"liaison_id": "PL-C-S1", "crisis_id": "C-S1"},
                      headers=people.police_coordinator), 201)
    request = {"request_id": "PR-S1-04", "direction": "CITY_TO_POLICE", "request_type": "EXECUTIVE_ASSISTANCE",
               "subject": "Assist the evacuation of a service home refusing to leave"}
    # When the coordinator asks for executive assistance without a legal basis
    response = api.post("/police-liaisons/PL-C-S1/requests", json=request, headers=people.police_coordinator)
    # Then it is refused; with the basis it is raised and kept with it
    assert says(problem(response, 422, "LEGAL_BASIS_REQUIRED")["detail"], "legal basis")
    accepted(api.post("/police-liaisons/PL-C-S1/requests", json={**request, "legal_basis": "Police Act 9:1"},
                      headers=people.police_coordinator), 201)
    assert liaison(api, people.leadership)["requests"][0]["legal_basis"] == "Police Act 9:1"


def test_information_shared_with_the_police_is_recorded_what_to_whom_and_when(api, people, clock):
    # Given a standing liaison matter on a large public event
    accepted(api.post("/police-liaisons", json={"liaison_id": "PL-PRIDE", "topic": "Helsinki Pride 2026"},
                      headers=people.police_coordinator), 201)
    # When the coordinator records, at 22:00, having shared the event's route map at 21:45
    clock.set("2025-10-25T22:00+03:00")
    accepted(api.post("/police-liaisons/PL-PRIDE/information-shared",
                      json={"what": "Parade route and first-aid points", "to_whom": "HPD event commander",
                            "occurred_at": "2025-10-25T21:45+03:00"},
                      headers=people.police_coordinator))
    # Then the matter keeps what, to whom and when
    matter = liaison(api, people.leadership, "PL-PRIDE")
    assert (matter["crisis_id"], matter["topic"]) == (None, "Helsinki Pride 2026")
    [shared] = matter["information_shared"]
    assert (shared["what"], shared["to_whom"], shared["shared_at"], shared["recorded_at"]) == (
        "Parade route and first-aid points", "HPD event commander",
        "2025-10-25T21:45:00+03:00", "2025-10-25T22:00:00+03:00",
    )


def test_the_people_of_a_matter_are_replaced_as_they_change(api, people):
    accepted(api.post("/police-liaisons", json={"liaison_id": "PL-PRIDE", "topic": "Helsinki Pride 2026",
                                                "city_people": ["PC"], "police_people": ["HPD event commander"]},
                      headers=people.police_coordinator), 201)
    # When the police name a new commander
    accepted(api.post("/police-liaisons/PL-PRIDE/people",
                      json={"city_people": ["PC", "DO-1"], "police_people": ["HPD deputy commander"]},
                      headers=people.police_coordinator))
    # Then the matter lists the new people
    matter = liaison(api, people.leadership, "PL-PRIDE")
    assert (matter["city_people"], matter["police_people"]) == (["PC", "DO-1"], ["HPD deputy commander"])


def test_only_the_police_coordinator_keeps_police_requests(api, people):
    declare(api, people.duty_officer)
    # When a duty officer opens a liaison matter
    response = api.post("/police-liaisons", json={"liaison_id": "PL-C-S1", "crisis_id": "C-S1"},
                        headers=people.duty_officer)
    # Then it is refused as the police coordinator's
    assert says(problem(response, 403, "FORBIDDEN_ROLE")["detail"], "police coordinator")
