"""GET /crises/{id}/timeline a page at a time: a bounded page by default, its neighbours in the answer and in
`Link` headers, and a cursor, limit or window that cannot be followed refused with a 422 problem naming it."""

from __future__ import annotations

from tests.interfaces.conftest import accepted, declare, problem


def test_the_timeline_answers_a_page_and_links_to_the_next_one(api, people, clock):
    # Given a crisis with 104 log entries (105 entries with its declaration)
    declare(api, people.duty_officer)
    for n in range(104):
        written = api.post("/crises/C-S1/log-entries", json={"text": f"report {n}"}, headers=people.duty_officer)
    position = written.headers["Valmius-Position"]

    # When its timeline is read without a limit
    first = api.get(f"/crises/C-S1/timeline?min_position={position}", headers=people.leadership)

    # Then it answers the first 100, the cursor of the next page, and the same as a Link header
    page = accepted(first)
    assert (len(page["entries"]), page.get("previous")) == (100, None)
    assert page.get("next") == page["entries"][-1]["position"]
    link = first.headers["Link"]
    assert link.endswith('rel="next"') and f"after={page['next']}" in link
    # And following the link answers the last 5, linking back and not onwards
    rest = api.get(link[1:link.index(">")], headers=people.leadership)
    last = accepted(rest)
    assert [e["content"]["text"] for e in last["entries"]] == [f"report {n}" for n in range(99, 104)]
    assert (last.get("next"), last.get("previous")) == (None, last["entries"][0]["position"])
    assert rest.headers["Link"].endswith('rel="prev"') and "before=" in rest.headers["Link"]


def test_a_page_that_cannot_be_followed_is_refused_naming_the_parameter(api, people):
    # Given a crisis with its declaration only
    declare(api, people.duty_officer)
    asked = {
        "limit=0": "query.limit", "limit=1001": "query.limit", "after=999999": "after", "after=1&before=2": "before",
        "from=2025-10-25T22:00%2B03:00&to=2025-10-25T21:00%2B03:00": "to",
    }
    for query, field in asked.items():
        # When the timeline is asked for that page
        body = problem(api.get(f"/crises/C-S1/timeline?{query}", headers=people.leadership), 422, "INVALID_INPUT")
        # Then the refusal names the parameter
        named = body.get("field") or [e["field"] for e in body.get("errors", [])]
        assert field == named or field in named, (query, body)
