"""Bounds at the edge: nothing odd a client can send is stored, and nothing it sends is answered 500.

Generated over the route table and the OpenAPI document, so a new route or field is covered without being
listed here: every path parameter refuses an encoded `/`, NUL and an over-long value with a 4xx problem;
every query parameter answers odd values with a 4xx problem; every string of every request body is bounded
and refuses control characters; every integer is bounded.
The examples of issue 8 follow, each refused with a 422 problem naming the field and the rule.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute

from domain.division_preparedness import MAX_MTPD_MINUTES
from tests.interfaces.conftest import (
    PROBLEM_JSON, STORM, People, accepted, api_routes, approved_plan, declare, last_event, problem, request_bodies,
)

# A valid value for each path parameter; the world these address need not exist: bounds come first.
VALID = {
    "crisis_id": "C-S1", "unit": "SOTEPE", "plan_id": "CP-SOTEPE-01", "liaison_id": "PL-C-S1",
    "request_id": "PR-S1-01", "action_id": "A-S1-01", "decision_id": "D-S1-01", "number": "1", "position": "1",
    "position_id": "DUTY_OFFICER",
    "item_id": "I-S1-01",
    "alert_id": "cap-76e857ebc2080864fc93d3f3ea376365",
    "warning_id": "W-C-S1-1",
    "reminder_id": "ACTION.C-S1.A-S1-01.20251026T010000Z",
}
ODD = {"slash": "C%2FS1", "nul": "C%00S1", "long": "9" * 70, "control": "C%1BS1", "space": "C%20S1"}


def routes(api) -> list[tuple[str, str, APIRoute]]:  # noqa: ANN001
    return [(method, route.path, route) for route in api_routes(api.app.routes) for method in sorted(route.methods)]


def path_params(route: APIRoute) -> list[str]:
    return re.findall(r"{(\w+)}", route.path)


def headers_for(path: str, people) -> dict:  # noqa: ANN001
    return people.auditor if path.startswith("/audit") else people.duty_officer


def test_every_path_parameter_of_the_route_table_is_known_here(api):
    # A new path parameter gets a valid value above, so that the test below reaches it
    assert {p for _, _, route in routes(api) for p in path_params(route)} <= set(VALID)


@pytest.fixture(params=["sqlite", "postgres"])
def any_api(request: pytest.FixtureRequest):  # noqa: ANN201
    """The HTTP API on SQLite and on PostgreSQL (which refuses NUL in text: what is kept must be escaped)."""
    return request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")


@pytest.mark.parametrize("odd", sorted(ODD))
def test_every_path_parameter_refuses_odd_values_with_a_problem_never_500(any_api, odd):
    api, people = any_api, People(any_api)
    before = last_event(api)
    tried = 0
    for method, path, route in routes(api):
        for name in path_params(route):
            url = path
            for other in path_params(route):
                url = url.replace(f"{{{other}}}", ODD[odd] if other == name else VALID[other])
            response = api.request(method, url, headers=headers_for(path, people), json={})
            tried += 1
            # Then a problem detail, never a 500; the value itself is refused, naming the parameter
            assert 400 <= response.status_code < 500, (method, url, response.status_code, response.text)
            assert response.headers["content-type"].startswith(PROBLEM_JSON), (method, url)
            if odd != "slash":  # an encoded `/` never reaches a parameter: the path has another shape (404/405)
                body = problem(response, 422, "INVALID_INPUT")
                assert f"path.{name}" in [e["field"] for e in body["errors"]], (method, url, body)
    assert tried > 40
    assert last_event(api) == before


ODD_QUERY = [
    "%00", "a%00b", "%1B", "x" * 5000, "9" * 30, "-1", "0001-01-01T00:00%2B05:00", "9999-12-31T23:59:59-12:00",
]


def test_every_query_parameter_refuses_odd_values_with_a_problem_never_500(api, people):
    declare(api, people.duty_officer)
    spec = api.get("/openapi.json").json()
    tried = 0
    for path, operations in spec["paths"].items():
        if path.endswith("/stream"):
            continue  # Server-Sent Events: an open stream; it takes no query parameters
        url = path
        for name, value in VALID.items():
            url = url.replace(f"{{{name}}}", value)
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for odd in ODD_QUERY:
                    response = api.request(
                        method, f"{url}?{parameter['name']}={odd}", headers=headers_for(path, people), json={}
                    )
                    tried += 1
                    assert response.status_code < 500, (method, url, parameter["name"], odd, response.text)
                    if response.status_code >= 400:
                        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert tried > 100


def leaves(schema: dict, components: dict, where: str = "") -> list[tuple[str, dict]]:
    """Every string and integer a body can carry, as (field, schema)."""
    if "$ref" in schema:
        return leaves(components[schema["$ref"].rsplit("/", 1)[1]], components, where)
    if "anyOf" in schema:
        return [leaf for option in schema["anyOf"] for leaf in leaves(option, components, where)]
    kind = schema.get("type")
    if kind == "object":
        assert schema.get("additionalProperties") is False, f"{where or 'body'} accepts unknown keys"
        fields = schema["properties"].items()
        return [leaf for name, sub in fields for leaf in leaves(sub, components, f"{where}.{name}")]
    if kind == "array":
        assert "maxItems" in schema, f"{where} is a list without a bound"
        return leaves(schema["items"], components, f"{where}[]")
    return [(where, schema)] if kind in ("string", "integer") else []


def test_every_string_and_integer_of_every_request_body_is_bounded(api):
    spec = api.get("/openapi.json").json()
    bodies = request_bodies(spec)
    assert len(bodies) > 30
    for method, path, body in bodies:
        operation = f"{method} {path}"
        for field, schema in leaves(body, spec["components"]["schemas"]):
            if schema["type"] == "string":
                assert "maxLength" in schema, f"{operation} {field} has no maximum length"
                assert "pattern" in schema, f"{operation} {field} says nothing of control characters"
            else:
                assert "maximum" in schema or "exclusiveMaximum" in schema, f"{operation} {field} has no maximum"


def test_every_request_body_refuses_an_undeclared_key_a_missing_field_and_a_wrong_type_with_422(api, people):
    """For every command of the OpenAPI document: a key the body does not declare, a required field left out and
    a value of the wrong type each answer 422 INVALID_INPUT naming the field and the rule (never 500), and
    nothing is stored."""
    declare(api, people.duty_officer)
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    before = last_event(api)
    bodies = request_bodies(spec)
    for method, path, body in bodies:
        url = path
        for name, value in VALID.items():
            url = url.replace(f"{{{name}}}", value)
        schema = schemas[body["$ref"].rsplit("/", 1)[1]]
        required, declared = schema.get("required", []), list(schema["properties"])
        sent = {
            "undeclared": ({"undeclared_key": 1}, {"undeclared_key": "extra_forbidden"}),
            "missing": ({}, dict.fromkeys(required, "missing")),
            "wrong type": (dict.fromkeys(declared, {"nested": []}), {}),
        }
        for case, (json_body, rules) in sent.items():
            if case == "missing" and not required:
                continue  # {} is a whole command here
            response = api.request(method, url, headers=headers_for(path, people), json=json_body)
            refused = problem(response, 422, "INVALID_INPUT")
            named = {e["field"].split(".")[0]: e["rule"] for e in refused["errors"]}
            for field, rule in rules.items():
                assert named.get(field) == rule, (method, path, case, refused["errors"])
            if case == "wrong type":
                assert set(declared) <= set(named) and "missing" not in named.values(), (method, path, named)
    assert len(bodies) > 30
    assert last_event(api) == before


# --- the examples of issue 8 ----------------------------------------------------------------------------


def test_a_plan_with_an_mtpd_of_thousands_of_years_is_refused_naming_the_field(api, people):
    before = last_event(api)
    response = api.post(
        "/division-preparedness/SOTEPE/plans",
        json={"plan_id": "CP-X", "title": "Too long", "critical_functions": [
            {"name": "home care", "mtpd_minutes": 3_000_000_000, "rto_minutes": 60}]},
        headers=people.preparedness_manager,
    )
    body = problem(response, 422, "INVALID_INPUT")
    assert body["errors"][0]["field"] == "critical_functions.0.mtpd_minutes"
    assert body["errors"][0]["rule"] == "less_than_equal"
    assert str(MAX_MTPD_MINUTES) in body["detail"]
    assert last_event(api) == before


def test_an_action_due_in_year_9999_is_refused_and_the_crisis_still_reads(api, people):
    declare(api, people.duty_officer)
    response = api.post(
        "/crises/C-S1/actions",
        json={"action_id": "A-1", "unit": "STARA", "task": "t", "due_at": "9999-12-31T23:59:59-12:00"},
        headers=people.duty_officer,
    )
    body = problem(response, 422, "OUT_OF_RANGE")
    assert body["field"] == "due_at" and "10 years" in body["detail"]
    accepted(api.get("/crises/C-S1", headers=people.duty_officer))


def test_a_due_time_in_year_9999_stored_before_the_windows_held_still_reads(any_api):
    # Given an action due at the end of the calendar, stored while no window held
    api, people = any_api, People(any_api)
    declare(api, people.duty_officer)
    app = api.services.coordination
    bounded = app.policy
    app.policy = replace(bounded, time=replace(bounded.time, due_window=timedelta.max))
    due = "9999-12-31T23:59:59-12:00"
    body = {"action_id": "A-1", "unit": "STARA", "task": "t", "due_at": due}
    position = accepted(api.post("/crises/C-S1/actions", json=body, headers=people.duty_officer))
    app.policy = bounded
    # Then the crisis, its timeline and the overview still read, the due time shown as it was given
    crisis = accepted(api.get("/crises/C-S1", headers=people.duty_officer))
    assert crisis["actions"][0]["due_at"] == due
    wait = f"?min_position={last_event(api)}"
    accepted(api.get(f"/crises/C-S1/timeline{wait}", headers=people.duty_officer))
    accepted(api.get(f"/situation-overview{wait}", headers=people.leadership))
    assert position["version"] == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "0001-01-01T00:00+05:00"),
        ("occurred_at", "9999-12-31T23:59:59-12:00"),
        ("occurred_at", "2014-10-25T21:40+03:00"),  # eleven years back
        ("review_at", "2036-01-01T00:00+02:00"),  # more than ten years ahead
        ("review_at", "0001-01-01T00:00+05:00"),
    ],
)
def test_times_outside_the_windows_of_the_server_clock_are_out_of_range(api, people, field, value):
    declare(api, people.duty_officer)
    decision = {"decision_id": "D-1", "decided_by": "ED", "decision": "d", "rationale": "r", "options": ["a", "b"],
                "late_entry_reason": "entered late"}
    response = api.post("/crises/C-S1/decisions", json={**decision, field: value}, headers=people.duty_officer)
    body = problem(response, 422, "OUT_OF_RANGE")
    assert body["field"] == field


def test_an_approved_plan_reviewed_years_ahead_within_the_window_is_accepted(api, people):
    # The windows keep realistic times: a plan review due in three years is fine
    approved_plan(api, people.preparedness_manager)
    accepted(api.post(
        "/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/reviews",
        json={"notes": "reviewed", "next_review_due": "2028-10-25T12:00+03:00"},
        headers=people.preparedness_manager,
    ))


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({**STORM, "title": "Storm\u0000"}, "title", "control_character"),
        ({**STORM, "title": "Storm\x1b[31m"}, "title", "control_character"),
        ({**STORM, "areas": ["Vuosaari\u0085"]}, "areas.0", "control_character"),
        ({**STORM, "crisis_id": "C/1"}, "crisis_id", "string_pattern_mismatch"),
        ({**STORM, "crisis_id": "C" * 65}, "crisis_id", "string_too_long"),
        ({**STORM, "severity": 10**30}, "severity", "less_than_equal"),
        ({**STORM, "title": "\ud800"}, "title", "string_unicode"),
        ({**STORM, "\u0000key": 1}, "\\u0000key", "extra_forbidden"),
        ({**STORM, "\ud800": 1}, "", "string_unicode"),  # a key that is no string: the body is named
        ({**STORM, "classification": {"level": "SECRET", "legal_basis": "a\u0000"}}, "classification.legal_basis",
         "control_character"),
    ],
)
def test_odd_bytes_in_a_body_are_refused_naming_the_field_and_the_rule(any_api, body, field, rule):
    api, people = any_api, People(any_api)
    before = last_event(api)
    raw = json.dumps(body)  # escaped ASCII, so that lone surrogates travel as a client can send them
    response = api.post("/crises", content=raw, headers={**people.duty_officer, "Content-Type": "application/json"})
    found = problem(response, 422, "INVALID_INPUT")
    assert {"field": field, "rule": rule} in [{"field": e["field"], "rule": e["rule"]} for e in found["errors"]]
    assert last_event(api) == before
    assert api.services.refusals.list()[-1]["rule"] == "INVALID_INPUT"  # kept for auditors, escaped


def test_free_text_keeps_newlines_and_tabs(api, people):
    declare(api, people.duty_officer)
    text = "Helen:\n\t9,000 customers\r\n\twithout power"
    accepted(api.post("/crises/C-S1/log-entries", json={"text": text}, headers=people.duty_officer))
    assert api.get("/crises/C-S1", headers=people.duty_officer).json()["log"][0]["text"] == text


@pytest.mark.parametrize("if_match", ["9" * 5000, '"' + "1" * 19 + '"', "12abc", "-1"])
def test_an_if_match_that_is_not_a_version_is_refused(api, people, if_match):
    declare(api, people.duty_officer)
    response = api.post(
        "/crises/C-S1/log-entries", json={"text": "x"}, headers={**people.duty_officer, "If-Match": if_match}
    )
    body = problem(response, 422, "INVALID_INPUT")
    assert "if-match" in body.get("field", "") or "header.if-match" in [e["field"] for e in body.get("errors", [])]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/audit/events?crisis_id=C%00S1", "INVALID_INPUT"),
        ("/audit/events?actor=DO%001", "INVALID_INPUT"),
        ("/audit/events?event_type=" + "X" * 201, "INVALID_INPUT"),
        ("/audit/events?after=99999999999999999999", "INVALID_INPUT"),
        ("/audit/events?" + "&".join(["crisis_id=C"] * 51), "INVALID_INPUT"),
        ("/audit/events?recorded_from=0001-01-01T00:00%2B05:00", "OUT_OF_RANGE"),
        ("/audit/events?recorded_to=9999-12-31T23:59:59-12:00", "OUT_OF_RANGE"),
        ("/audit/situation-overview?as_of=0001-01-01T00:00%2B05:00", "OUT_OF_RANGE"),
        ("/audit/crises/C-S1?as_of=9999-12-31T23:59:59-12:00", "OUT_OF_RANGE"),
        ("/audit/refusals?user=a%00", "INVALID_INPUT"),
        ("/audit/refusals?since=9999-12-31T23:59:59-12:00", "OUT_OF_RANGE"),
        ("/audit/disclosures?record=a%00b", "INVALID_INPUT"),
        ("/audit/verify?public_key=zz", "INVALID_INPUT"),
        ("/audit/checkpoints/99999999999999999999", "INVALID_INPUT"),
        ("/situation-overview?min_position=99999999999999999999", "INVALID_INPUT"),
    ],
)
def test_odd_query_values_are_refused_with_a_problem(api, people, url, code):
    declare(api, people.duty_officer)
    headers = people.leadership if url.startswith("/situation") else people.auditor
    problem(api.get(url, headers=headers), 422, code)


def test_a_time_asked_about_within_the_window_is_answered(api, people):
    declare(api, people.duty_officer)
    accepted(api.get("/audit/situation-overview?as_of=2001-01-01T00:00%2B02:00", headers=people.auditor))
