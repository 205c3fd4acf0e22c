"""Guarantees over the whole route table, generated from it rather than hand-picked: a route added tomorrow
is tested by these too.

- every route answers 401 without a token, except the public ones (health, the pages, the API document);
- every non-GET route answers 403 to every read-only role before it looks at the body (the one kind of
  exception: a read sent as POST, which is the auditors', is refused to the other read-only roles);
- every PUT, PATCH and DELETE (records are never changed) answers 403 to a role that may not write there,
  404 for an unknown crisis or record, and only then 409 IMMUTABLE_RECORD;
- every answer carries nosniff, no-referrer and a CSP; every page a CSP without 'unsafe-inline' whose
  nonce is on each of its script and style elements.
"""

from __future__ import annotations

import re

import pytest
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute

from interfaces.http.dependencies import get_actor, get_reader
from interfaces.http.live import EventStream
from tests.interfaces.conftest import PROBLEM_JSON, api_routes, declare, problem
from tests.interfaces.test_rejection_codes import DECISION

READ_ONLY = ("leadership", "auditor", "admin")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
NEVER_CHANGED = {"PUT", "PATCH", "DELETE"}
PUBLIC = re.compile(r"^/(health(/.*)?|metrics|dashboard|docs)$")  # /metrics: a token unless made public


def calls(dependant) -> set:  # noqa: ANN001
    found = set()
    for dependency in dependant.dependencies:
        found |= {dependency.call, *calls(dependency)}
    return found


def operations(api) -> list[tuple[str, APIRoute]]:  # noqa: ANN001
    return [(method, route) for route in api_routes(api.app.routes) for method in sorted(route.methods - {"HEAD"})]


def url(route: APIRoute, **values: object) -> str:
    """The route's path with every parameter filled: ints with 1, strings with values given or 'X-1'."""
    path = route.path
    for param in route.dependant.path_params:
        value = values.get(param.name, 1 if param.field_info.annotation is int else "X-1")
        path = path.replace("{" + param.name + "}", str(value))
    return path


def test_every_route_but_the_public_ones_answers_401_without_a_token(api):
    public = []
    for method, route in operations(api):
        if get_reader not in calls(route.dependant):
            public.append(route.path)
            continue
        answer = api.request(method, url(route))
        assert answer.status_code == 401, (method, route.path, answer.status_code)
        assert answer.headers["content-type"].startswith(PROBLEM_JSON) and answer.json()["code"] == "UNAUTHENTICATED"
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    # What needs no token is only what is meant to be public
    assert public and all(PUBLIC.match(path) for path in public), public


@pytest.mark.parametrize("role", READ_ONLY)
def test_every_non_get_route_answers_403_to_every_read_only_role(api, role):
    headers = api.headers(f"R-{role}", role, clearance=True)
    checked = 0
    for method, route in operations(api):
        if method not in WRITES:
            continue
        dependencies = calls(route.dependant)
        if get_actor not in dependencies:  # a read sent as POST (verifying a checkpoint): the auditors'
            assert route.path.startswith("/audit/"), route.path
            if role == "auditor":
                continue
        answer = api.request(method, url(route), headers=headers, json={})
        problem(answer, 403, "FORBIDDEN_ROLE")
        checked += 1
    assert checked >= 40


@pytest.fixture
def recorded(api, people):  # noqa: ANN001
    """C-S1 with decision D-S1-01, log entry #1 and situation report #1."""
    declare(api, people.duty_officer)
    for path, body in (("decisions", DECISION), ("log-entries", {"text": "Helen: 9,000 without power"}),
                       ("situation-reports", {"summary": "restoration under way"})):
        answer = api.post(f"/crises/C-S1/{path}", json=body, headers=people.duty_officer)
        assert answer.status_code in (200, 201), answer.text
    return {"crisis_id": "C-S1", "decision_id": "D-S1-01", "number": 1}


def test_records_are_never_changed_and_each_attempt_is_answered_role_first_then_record(api, people, recorded):
    changes = [(method, route) for method, route in operations(api) if method in NEVER_CHANGED]
    assert len(changes) >= 9
    for method, route in changes:
        existing = url(route, **recorded)
        # A role that may not write there is refused first, whether or not the record exists
        for headers in (people.police_coordinator, people.leadership, people.auditor):
            problem(api.request(method, existing, headers=headers), 403, "FORBIDDEN_ROLE")
            problem(api.request(method, url(route, crisis_id="C-NONE"), headers=headers), 403, "FORBIDDEN_ROLE")
        # then a crisis or record that does not exist is named as such
        problem(api.request(method, url(route, crisis_id="C-NONE"), headers=people.duty_officer), 404, "NOT_FOUND")
        unknown = url(route, crisis_id="C-S1", decision_id="D-NONE", number=99)
        problem(api.request(method, unknown, headers=people.duty_officer), 404, "NOT_FOUND")
        # and only a record that exists is answered: recorded once, never changed
        problem(api.request(method, existing, headers=people.duty_officer), 409, "IMMUTABLE_RECORD")


def test_every_answer_carries_the_security_headers_and_every_page_a_strict_policy(api, people):
    pages = 0
    # (the endless event stream is read over real HTTP in test_stream_access, headers included)
    gets = [route for method, route in operations(api)
            if method == "GET" and route.response_class not in (StreamingResponse, EventStream)]
    for path in ["/openapi.json", "/no-such-page", *(url(route) for route in gets)]:
        for headers in ({}, people.leadership):
            answer = api.get(path, headers=headers)
            assert answer.headers["x-content-type-options"] == "nosniff", path
            assert answer.headers["referrer-policy"] == "no-referrer", path
            policy = answer.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, (path, policy)
            if answer.headers.get("content-type", "").startswith("text/html"):
                pages += 1
                nonce = re.search(r"script-src 'nonce-([^']+)'", policy).group(1)
                assert re.search(rf"style-src 'nonce-{re.escape(nonce)}'", policy)
                tags = re.findall(r"<(?:script|style)\b[^>]*>", answer.text, re.IGNORECASE)
                assert tags and all(f'nonce="{nonce}"' in tag for tag in tags), (path, tags)
                assert not re.search(r"\son[a-z]+=|\sstyle=", answer.text), f"{path}: inline handler or style"
    assert pages >= 4  # the dashboard and the documentation, with and without a token
    # and a nonce is drawn for each response, never reused
    assert api.get("/dashboard").headers["content-security-policy"] != api.get("/dashboard").headers[
        "content-security-policy"]


def test_an_unexpected_error_is_answered_with_the_security_headers_too(tmp_path, clock):  # noqa: ANN001
    from fastapi.testclient import TestClient

    from infrastructure.bootstrap import open_services
    from interfaces.http.app import create_app
    from tests.conftest import settings_for

    settings = settings_for("sqlite", tmp_path)
    services = open_services(settings, clock)
    app = create_app(settings, clock, services=services)

    @app.get("/fails")
    def fails() -> None:  # a bug: answered by Starlette's outermost layer, outside every middleware of ours
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/fails")
    services.close()
    assert problem(answer, 500, "INTERNAL_ERROR")
    assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
