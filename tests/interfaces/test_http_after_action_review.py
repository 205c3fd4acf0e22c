"""After-action reviews through HTTP: drafted after the crisis is closed, commented, made final; its improvement
items tracked, overdue in the overview and in /after-action-items, and a plan's next review set from one."""

from __future__ import annotations

from tests.interfaces.conftest import accepted, approved_plan, declare, problem, says

REVIEW = "/crises/C-S1/after-action-review"
ITEM = {"item_id": "I-S1-01", "unit": "SOTEPE", "task": "Keep the device register current",
        "due_at": "2025-11-20T12:00+02:00", "evidence": [{"kind": "LOG_ENTRY", "ref": "1"}]}


def a_closed_storm(api, people, clock) -> None:  # noqa: ANN001
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Home care: clients without power"},
                      headers=people.duty_officer))
    for step in ("contain", "resolve", "close"):
        clock.advance(minutes=30)
        accepted(api.post(f"/crises/C-S1/{step}", json={"reason": step}, headers=people.duty_officer))
    clock.set("2025-11-04T13:00+02:00")


def position(response) -> int:  # noqa: ANN001
    return int(response.headers["Valmius-Position"])


def test_a_review_leads_to_items_tracked_until_done_and_overdue_like_actions(api, people, clock):
    a_closed_storm(api, people, clock)
    # When the preparedness manager drafts the review, a division contact comments and it gets an item
    drafted = api.post(f"{REVIEW}/draft", json={"findings": ["register out of date"]},
                       headers=people.preparedness_manager)
    assert accepted(drafted, 201)["version"] == 1 and drafted.headers["Location"] == REVIEW
    accepted(api.post(f"{REVIEW}/comments", json={"text": "kept by districts"}, headers=people.contact("SOTEPE")))
    accepted(api.post(f"{REVIEW}/items", json=ITEM, headers={**people.preparedness_manager, "If-Match": '"2"'}))
    problem(api.post(f"{REVIEW}/items", json={**ITEM, "item_id": "I-2", "unit": "HSY"},
                     headers=people.preparedness_manager), 422, "UNKNOWN_UNIT")
    problem(api.post(f"{REVIEW}/items", json={**ITEM, "item_id": "I-2", "evidence": [{"kind": "DECISION", "ref": "D-9"}]},
                     headers=people.preparedness_manager), 404, "NOT_FOUND")
    # and makes it final
    final = api.post(f"{REVIEW}/final", json={}, headers=people.preparedness_manager)
    accepted(final)
    again = api.post(f"{REVIEW}/comments", json={"text": "late"}, headers=people.duty_officer)
    assert says(problem(again, 409, "IMMUTABLE_RECORD")["detail"], "never changed")
    # Then everyone who reads crises reads it, its item not overdue yet
    review = accepted(api.get(REVIEW, headers=people.leadership))
    assert (review["review_status"], review["version"], len(review["comments"])) == ("FINAL", 4, 1)
    assert review["items"][0]["evidence"] == ITEM["evidence"] and review["items"][0]["overdue"] is False
    # When the due date passes with the item still open
    clock.set("2025-11-21T08:00+02:00")
    listed = api.get(f"/after-action-items?overdue=true&min_position={position(final)}", headers=people.leadership)
    assert [i["item_id"] for i in accepted(listed)["items"]] == ["I-S1-01"]
    overview = accepted(api.get(f"/situation-overview?min_position={position(final)}", headers=people.leadership))
    assert overview["overdue_improvement_items"] == {"SOTEPE": 1}
    # and another unit's contact may not mark it done, its own may
    problem(api.post(f"{REVIEW}/items/I-S1-01/done", json={}, headers=people.contact("KASKO")), 403, "FORBIDDEN_ROLE")
    done = api.post(f"{REVIEW}/items/I-S1-01/done", json={"note": "monthly check"}, headers=people.contact("SOTEPE"))
    accepted(done)
    # Then it is overdue no more
    read = api.get(f"/after-action-items?status=DONE&unit=SOTEPE&min_position={position(done)}",
                   headers=people.leadership)
    assert [(i["item_id"], i["overdue"], i["note"]) for i in accepted(read)["items"]] == [("I-S1-01", False, "monthly check")]
    assert "overdue_improvement_items" not in accepted(api.get("/situation-overview", headers=people.leadership))
    # and the timeline shows the review's steps
    kinds = [e["kind"] for e in accepted(api.get("/crises/C-S1/timeline", headers=people.leadership))["entries"]]
    assert kinds[-5:] == ["after_action_review_drafted", "after_action_review_comment", "improvement_item_added",
                          "after_action_review_final", "improvement_item_done"]


def test_dropping_an_item_needs_a_reason_and_a_plans_review_is_set_from_one(api, people, clock):
    approved_plan(api, people.contact("SOTEPE"))
    a_closed_storm(api, people, clock)
    accepted(api.post(f"{REVIEW}/draft", json={"findings": ["x"]}, headers=people.preparedness_manager), 201)
    accepted(api.post(f"{REVIEW}/items", json=ITEM, headers=people.preparedness_manager))
    accepted(api.post(f"{REVIEW}/items", json={**ITEM, "item_id": "I-2"}, headers=people.preparedness_manager))
    accepted(api.post(f"{REVIEW}/final", json={}, headers=people.preparedness_manager))
    problem(api.post(f"{REVIEW}/items/I-2/drop", json={}, headers=people.preparedness_manager), 422, "INVALID_INPUT")
    accepted(api.post(f"{REVIEW}/items/I-2/drop", json={"reason": "covered elsewhere"}, headers=people.preparedness_manager))
    problem(api.post(f"{REVIEW}/items/I-2/drop", json={"reason": "again"}, headers=people.preparedness_manager),
            409, "INVALID_TRANSITION")
    # When SOTEPE's contact sets its plan's next review from the item
    accepted(api.post(f"{REVIEW}/items/I-S1-01/plan-review",
                      json={"plan_id": "CP-SOTEPE-01", "next_review_due": "2026-02-01T09:00+02:00"},
                      headers=people.contact("SOTEPE")))
    # Then the plan shows it, and so does the item
    sotepe = accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))
    assert sotepe["plans"][0]["next_review_due"] == "2026-02-01T09:00:00+02:00"
    item = accepted(api.get(REVIEW, headers=people.leadership))["items"][0]
    assert item["plan_reviews"][0]["plan_id"] == "CP-SOTEPE-01"


def test_a_secret_review_shows_uncleared_readers_its_structure_only(api, people, clock):
    a_closed_storm(api, people, clock)
    secret = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
    accepted(api.post(f"{REVIEW}/draft", json={"findings": ["the secret finding"], "classification": secret},
                      headers=people.preparedness_manager), 201)
    accepted(api.post(f"{REVIEW}/items", json=ITEM, headers=people.preparedness_manager))
    uncleared = accepted(api.get(REVIEW, headers=people.leadership))
    assert uncleared["redacted"] and uncleared["findings"] == "[SECRET JulkL 24.1 § 7 k]"
    assert uncleared["items"][0]["task"] == "[SECRET JulkL 24.1 § 7 k]" and uncleared["items"][0]["unit"] == "SOTEPE"
    assert accepted(api.get(REVIEW, headers=people.cleared_leadership))["findings"] == ["the secret finding"]


def test_the_review_waits_for_the_crisis_to_close(api, people):
    declare(api, people.duty_officer)
    problem(api.post(f"{REVIEW}/draft", json={"findings": ["x"]}, headers=people.preparedness_manager),
            409, "CRISIS_NOT_CLOSED")
    problem(api.get(REVIEW, headers=people.leadership), 404, "NOT_FOUND")


def test_auditors_read_the_review_as_it_was(api, people, clock):
    a_closed_storm(api, people, clock)
    accepted(api.post(f"{REVIEW}/draft", json={"findings": ["first"]}, headers=people.preparedness_manager), 201)
    drafted_at = clock().isoformat()
    clock.advance(minutes=10)
    accepted(api.post(f"{REVIEW}/revisions", json={"findings": ["second"]}, headers=people.preparedness_manager))
    as_of = drafted_at.replace("+", "%2B")
    then = accepted(api.get(f"/audit{REVIEW}?as_of={as_of}", headers=people.auditor))
    assert (then["version"], then["latest_version"], then["review"]["findings"]) == (1, 2, ["first"])
    assert accepted(api.get(f"/audit{REVIEW}?version=2", headers=people.auditor))["review"]["findings"] == ["second"]
    problem(api.get(f"/audit{REVIEW}?version=1", headers=people.leadership), 403, "FORBIDDEN_ROLE")
