"""The HTTP API on the real PostgreSQL server: the S1 storm's core flow end to end, and the side tables
(idempotency keys, refused attempts) that are written with PostgreSQL's own SQL."""

from __future__ import annotations

import pytest

from tests.interfaces.conftest import STORM, People, accepted, last_event, problem, says


@pytest.fixture
def people(pg_api) -> People:  # noqa: ANN001
    return People(pg_api)


def test_the_storm_runs_from_declaration_to_closure_on_postgresql(pg_api, people, clock):
    api = pg_api
    # Given the storm declared at 21:40 and read by DO-2
    accepted(api.post("/crises", json=STORM, headers=people.duty_officer), 201)
    seen = api.get("/crises/C-S1", headers=people.second_duty_officer).headers["ETag"]
    # When DO-1 raises the severity at 23:20 and DO-2, on the stale read, tries to as well
    clock.set("2025-10-25T23:20+03:00")
    accepted(api.post("/crises/C-S1/severity", json={"to_severity": 3},
                      headers={**people.duty_officer, "If-Match": seen}))
    stale = api.post("/crises/C-S1/severity", json={"to_severity": 4},
                     headers={**people.second_duty_officer, "If-Match": seen})
    assert says(problem(stale, 409, "CONFLICT_VERSION")["detail"], "severity changed to 3 by DO-1 at 23:20")
    # and an action to STARA and a police request are opened and closed again
    accepted(api.post("/crises/C-S1/actions",
                      json={"action_id": "A-S1-01", "unit": "STARA", "task": "Clear fallen trees",
                            "due_at": "2025-10-26T00:00+03:00"},
                      headers=people.duty_officer))
    accepted(api.post("/police-liaisons", json={"liaison_id": "PL-C-S1", "crisis_id": "C-S1"},
                      headers=people.police_coordinator), 201)
    accepted(api.post("/police-liaisons/PL-C-S1/requests",
                      json={"request_id": "PR-S1-01", "direction": "CITY_TO_POLICE", "request_type": "COORDINATION",
                            "subject": "Traffic control on Itäväylä"},
                      headers=people.police_coordinator), 201)
    clock.set("2025-10-26T01:10+03:00")
    accepted(api.post("/crises/C-S1/actions/A-S1-01/complete", json={}, headers=people.contact("STARA")))
    for step in ("contain", "resolve"):
        accepted(api.post(f"/crises/C-S1/{step}", json={}, headers=people.duty_officer))
    waiting = api.post("/crises/C-S1/close", json={}, headers=people.duty_officer)
    assert says(problem(waiting, 409, "OPEN_ITEMS")["detail"], r"open police requests: \[PR-S1-01\]")
    accepted(api.post("/police-liaisons/PL-C-S1/requests/PR-S1-01/answer", json={"response": "2 patrols"},
                      headers=people.police_coordinator))
    closed = api.post("/crises/C-S1/close", json={}, headers=people.duty_officer)
    # Then the storm is CLOSED, and the timeline read model has followed every step
    assert closed.status_code == 200, closed.text
    storm = accepted(api.get("/crises/C-S1", headers=people.leadership))
    assert (storm["status"], storm["severity"], storm["open_police_requests"]) == ("CLOSED", 3, [])
    timeline = accepted(api.get(f"/crises/C-S1/timeline?min_position={closed.headers['Valmius-Position']}",
                                headers=people.leadership))
    assert timeline["entries"][-1]["content"]["to_status"] == "CLOSED"


def test_retries_are_answered_once_and_refusals_kept_on_postgresql(pg_api, people):
    api = pg_api
    retry = {**people.duty_officer, "Idempotency-Key": "declare-storm-1"}
    first = api.post("/crises", json=STORM, headers=retry)
    before = last_event(api)
    # When the declaration is retried, then reused for another crisis, and a leadership reader writes
    again = api.post("/crises", json=STORM, headers=retry)
    reused = api.post("/crises", json={**STORM, "crisis_id": "C-S2"}, headers=retry)
    forbidden = api.post("/crises/C-S1/log-entries", json={"text": "x"}, headers=people.leadership)
    # Then the retry gets the first answer, the reuse and the reader are refused, and nothing is appended
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (201, first.json(), "true")
    problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    problem(forbidden, 403, "FORBIDDEN_ROLE")
    assert last_event(api) == before
    # and the refused write is kept for auditors, with who tried it
    kept = api.services.refusals.list()[-1]
    assert (kept["rule"], kept["user_name"], kept["target"]) == ("FORBIDDEN_ROLE", "LR-1", "C-S1")
