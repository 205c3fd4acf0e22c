"""A long crisis through HTTP: its answer holds the latest 100 log entries, the timeline pages through all, and
an entry older than those is still refused as immutable (not as missing)."""

from __future__ import annotations

from tests.interfaces.conftest import accepted, crisis, declare, problem


def test_a_long_crisis_answers_with_its_latest_log_entries_and_knows_its_older_ones(api, people):
    # Given the storm with 105 log entries, the 3rd struck through
    declare(api, people.duty_officer)
    for n in range(1, 106):
        accepted(api.post("/crises/C-S1/log-entries", json={"text": f"update {n}"}, headers=people.duty_officer))
    struck = api.post("/crises/C-S1/log-entries/3/strike", json={"reason": "wrong crisis"},
                      headers=people.duty_officer)
    accepted(struck)
    # When leadership reads it
    storm = crisis(api, people.leadership)
    # Then it holds the latest 100 entries, numbered on from #6, at the crisis's version
    assert [e["number"] for e in storm["log"]] == list(range(6, 106)) and storm["version"] == 107
    # and the timeline pages through all of them, the struck one included
    position = struck.headers["Valmius-Position"]
    timeline = accepted(api.get(f"/crises/C-S1/timeline?limit=5&min_position={position}", headers=people.leadership))
    assert [(e["ref"], e["struck"]) for e in timeline["entries"] if e["kind"] == "log_entry"][:3] == [
        ("1", False), ("2", False), ("3", True)
    ]
    # and an entry older than those shown is immutable, one it does not have is not found
    problem(api.delete("/crises/C-S1/log-entries/3", headers=people.duty_officer), 409, "IMMUTABLE_RECORD")
    problem(api.put("/crises/C-S1/log-entries/106", headers=people.duty_officer), 404, "NOT_FOUND")
