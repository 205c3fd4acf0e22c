"""The HTTP protocol every resource shares: problem details, bearer tokens, ETag / If-Match, Idempotency-Key,
request limits, OpenAPI and /health."""

from __future__ import annotations

import json

from tests.interfaces.conftest import (
    PROBLEM_JSON, STORM, accepted, api_routes, crisis, declare, last_event, problem, says,
)


def test_a_refusal_is_a_problem_detail_naming_the_rule(api, people):
    # When the duty officer asks for a crisis nobody declared
    response = api.get("/crises/C-404", headers=people.duty_officer)
    # Then the answer is an RFC 9457 problem detail whose code names the rule
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert {k: body[k] for k in ("type", "title", "status", "code")} == {
        "type": "urn:valmius:rule:NOT_FOUND", "title": "No such record", "status": 404, "code": "NOT_FOUND"
    }
    assert body["detail"] == "there is no crisis C-404"


def test_without_a_token_nothing_is_read_or_recorded(api):
    before = last_event(api)
    # When someone without a token reads a crisis, or declares one
    read = api.get("/crises/C-S1")
    write = api.post("/crises", json=STORM)
    # Then both are refused as unauthenticated, and the bearer scheme is named
    for response in (read, write):
        body = problem(response, 401, "UNAUTHENTICATED")
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert says(body["detail"], "Authorization: Bearer")
    assert last_event(api) == before


def test_a_revoked_token_no_longer_opens_anything(api, people, clock):
    # Given DO-1 whose token works
    headers = people.duty_officer
    declare(api, headers)
    # When an admin revokes DO-1's tokens
    assert api.services.tokens.revoke(user="DO-1", now=clock()) == 1
    # Then DO-1's token is refused, saying it was revoked
    body = problem(api.get("/crises/C-S1", headers=headers), 401, "UNAUTHENTICATED")
    assert says(body["detail"], "unknown or was revoked")


def test_reads_and_writes_carry_the_version_in_the_etag(api, people):
    # Given the storm declared: its answer carries version 1
    declared = api.post("/crises", json=STORM, headers=people.duty_officer)
    assert declared.headers["ETag"] == '"1"' and declared.headers["Location"] == "/crises/C-S1"
    # When a log entry is recorded
    recorded = api.post("/crises/C-S1/log-entries", json={"text": "Trees down"}, headers=people.duty_officer)
    # Then the write and the next read both carry version 2
    assert recorded.headers["ETag"] == '"2"' and recorded.json() == {"id": "C-S1", "version": 2}
    read = api.get("/crises/C-S1", headers=people.duty_officer)
    assert read.headers["ETag"] == '"2"' and read.json()["version"] == 2
    # and every other record read carries its own version too
    for path in ("/division-preparedness/SOTEPE", "/emergency-conditions"):
        other = api.get(path, headers=people.duty_officer)
        assert other.headers["ETag"] == f'"{other.json()["version"]}"'


def test_a_write_on_a_stale_version_is_refused_saying_everything_that_changed_since(api, people, clock):
    # Given DO-2 read the storm at version 1
    declare(api, people.duty_officer)
    seen = api.get("/crises/C-S1", headers=people.second_duty_officer).headers["ETag"]
    # and since then DO-1 raised the severity at 23:20 and logged an entry at 23:25, each on what they read
    clock.set("2025-10-25T23:20+03:00")
    changed = accepted(api.post("/crises/C-S1/severity", json={"to_severity": 3},
                                headers={**people.duty_officer, "If-Match": seen}))
    clock.set("2025-10-25T23:25+03:00")
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "City coordination group convened"},
                      headers={**people.duty_officer, "If-Match": f'"{changed["version"]}"'}))
    # When DO-2 writes on version 1
    response = api.post("/crises/C-S1/severity", json={"to_severity": 4},
                        headers={**people.second_duty_officer, "If-Match": seen})
    # Then it is refused, naming the current version and each change since
    body = problem(response, 409, "CONFLICT_VERSION")
    assert body["current_version"] == 3
    assert says(
        body["detail"], "at version 3, not 1", "severity changed to 3 by DO-1 at 23:20",
        "log entry #1 recorded by DO-1 at 23:25",
    )
    # and an If-Match that is no version at all is refused as invalid input
    problem(api.post("/crises/C-S1/severity", json={"to_severity": 4},
                     headers={**people.second_duty_officer, "If-Match": "yesterday"}), 422, "INVALID_INPUT")
    assert crisis(api, people.leadership)["severity"] == 3


def test_a_retried_post_returns_the_first_answer_and_records_nothing_more(api, people):
    # Given the storm declared with an Idempotency-Key
    retry = {**people.duty_officer, "Idempotency-Key": "declare-storm-1"}
    first = api.post("/crises", json=STORM, headers=retry)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    before = last_event(api)
    # When the client, having lost the answer, sends the same request again
    again = api.post("/crises", json=STORM, headers=retry)
    # Then it receives the first answer, marked as replayed, and nothing is appended
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    for header in ("ETag", "Location", "Valmius-Position", "Content-Type"):
        assert again.headers[header] == first.headers[header], header
    assert last_event(api) == before


def test_an_idempotency_key_used_again_for_another_command_is_refused(api, people):
    # Given a log entry recorded with key "entry-1"
    declare(api, people.duty_officer)
    retry = {**people.duty_officer, "Idempotency-Key": "entry-1"}
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Trees down in Vuosaari"}, headers=retry))
    before = last_event(api)
    # When another entry is sent with the same key
    response = api.post("/crises/C-S1/log-entries", json={"text": "Helen: 9,000 out"}, headers=retry)
    # Then it is refused, and the second entry is not recorded
    body = problem(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert says(body["detail"], "different request", "new key")
    assert last_event(api) == before
    assert [e["text"] for e in crisis(api, people.duty_officer)["log"]] == ["Trees down in Vuosaari"]


def test_a_refused_command_retried_with_its_key_gets_the_same_refusal(api, people):
    # Given DO-1's log entry refused: the crisis is not declared yet
    retry = {**people.duty_officer, "Idempotency-Key": "entry-1"}
    refused = api.post("/crises/C-S1/log-entries", json={"text": "Trees down"}, headers=retry)
    problem(refused, 404, "NOT_FOUND")
    # When the crisis is declared and DO-1's client retries the very request with the same key
    declare(api, people.duty_officer)
    again = api.post("/crises/C-S1/log-entries", json={"text": "Trees down"}, headers=retry)
    # Then it gets the refusal it had (the key names that attempt; a new decision takes a new key)
    assert (again.status_code, again.json(), again.headers["Idempotent-Replayed"]) == (404, refused.json(), "true")
    assert crisis(api, people.duty_officer)["log"] == []
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Trees down"},
                      headers={**people.duty_officer, "Idempotency-Key": "entry-2"}))


def test_an_idempotency_key_names_the_precondition_too(api, people):
    # Given a severity change refused as stale (If-Match "1" after an entry made the crisis version 2)
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/log-entries", json={"text": "Trees down"}, headers=people.duty_officer))
    retry = {**people.duty_officer, "Idempotency-Key": "severity-1"}
    problem(api.post("/crises/C-S1/severity", json={"to_severity": 3}, headers={**retry, "If-Match": '"1"'}),
            409, "CONFLICT_VERSION")
    # When the client sends it again with the fresh version but the same key
    again = api.post("/crises/C-S1/severity", json={"to_severity": 3}, headers={**retry, "If-Match": '"2"'})
    # Then that is another request under a used key: refused, and the severity is unchanged
    problem(again, 422, "IDEMPOTENCY_KEY_REUSED")
    assert crisis(api, people.duty_officer)["severity"] == 2


def test_two_users_may_use_the_same_idempotency_key(api, people):
    # Given DO-1 recorded an entry with key "retry-1"
    declare(api, people.duty_officer)
    entry = {"text": "Trees down in Vuosaari"}
    accepted(api.post("/crises/C-S1/log-entries", json=entry, headers={**people.duty_officer, "Idempotency-Key": "retry-1"}))
    # When DO-2 sends the very same request with the same key
    second = api.post("/crises/C-S1/log-entries", json=entry, headers={**people.second_duty_officer, "Idempotency-Key": "retry-1"})
    # Then DO-2's own command runs: it is not DO-1's answer replayed
    assert "Idempotent-Replayed" not in second.headers
    assert [e["actor"] for e in crisis(api, people.duty_officer)["log"]] == ["DO-1", "DO-2"]


def test_a_body_over_the_limit_is_refused_before_anything_runs(api, people):
    declare(api, people.duty_officer)
    before = last_event(api)
    limit = api.services.settings.max_request_bytes
    huge = json.dumps({"text": "x" * (limit + 1)}).encode()
    # When a body over the limit is sent, declared in Content-Length or streamed in chunks without it
    declared_length = api.post("/crises/C-S1/log-entries", content=huge,
                               headers={**people.duty_officer, "Content-Type": "application/json"})
    streamed = api.post("/crises/C-S1/log-entries", content=iter([huge[:limit], huge[limit:]]),
                        headers={**people.duty_officer, "Content-Type": "application/json"})
    # Then both are refused with 413, naming the limit, and nothing is recorded
    for response in (declared_length, streamed):
        body = problem(response, 413, "REQUEST_TOO_LARGE")
        assert says(body["detail"], f"larger than {limit} bytes")
    assert last_event(api) == before


def test_a_field_over_its_maximum_length_is_refused_naming_the_field(api, people):
    before = last_event(api)
    # When a crisis is declared with a 201-character title
    response = api.post("/crises", json={**STORM, "title": "S" * 201}, headers=people.duty_officer)
    # Then the title is named as too long, and the attempt is kept
    body = problem(response, 422, "INVALID_INPUT")
    assert body["errors"] == [
        {"field": "title", "rule": "string_too_long", "problem": "String should have at most 200 characters"}
    ]
    assert body["detail"].startswith("title: ")
    assert last_event(api) == before
    assert api.services.refusals.list()[-1]["rule"] == "INVALID_INPUT"


def test_an_unknown_field_is_refused_naming_it(api, people):
    # When a crisis is declared with a misspelt field
    response = api.post("/crises", json={**STORM, "severty": 3}, headers=people.duty_officer)
    # Then the unknown field is named, instead of being silently ignored
    body = problem(response, 422, "INVALID_INPUT")
    assert [e["field"] for e in body["errors"]] == ["severty"]


def test_the_openapi_document_lists_every_route_with_examples(api):
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    operations = {
        (method.lower(), route.path_format): route
        for route in api_routes(api.app.routes)
        if route.include_in_schema
        for method in route.methods
    }
    assert len(operations) > 40
    # Every route of the service is documented, with its own operation id and a description
    listed = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert listed == set(operations)
    ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for (method, path), route in operations.items():
        operation = spec["paths"][path][method]
        assert operation.get("description"), f"{method} {path} has no description"
        # and every request body shows an example of what to send
        body = operation.get("requestBody")
        if body:
            media = body["content"].get("application/json") or next(iter(body["content"].values()))
            assert "example" in media or has_example(media["schema"], schemas), (
                f"{method} {path}: its request body shows no example; give one of its fields `examples=[…]`"
            )
    # The interactive documentation is served from the same document
    docs = api.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "/openapi.json" in docs.text


def test_health_tells_an_anonymous_caller_ok_and_a_reader_the_last_stored_event(api, people):
    assert api.get("/health").json() == {"status": "ok"}  # nothing about the store to anyone
    before = api.get("/health", headers=people.leadership)
    assert before.status_code == 200
    assert before.json()["status"] == "ok" and "SQLite" in before.json()["store"]
    declare(api, people.duty_officer)
    assert last_event(api) == before.json()["last_event"] + 1


def has_example(schema: dict, schemas: dict, seen: frozenset = frozenset()) -> bool:
    """Whether the schema, or any schema it refers to, carries an example."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name not in seen and has_example(schemas[name], schemas, seen | {name})
    if "examples" in schema or "example" in schema:
        return True
    parts = [*schema.get("properties", {}).values(), *schema.get("anyOf", []), *schema.get("allOf", [])]
    if "items" in schema:
        parts.append(schema["items"])
    return any(has_example(part, schemas, seen) for part in parts)
