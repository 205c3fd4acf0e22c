"""The OpenAPI document, made to say what the service really does, in one place and derived from the code.

FastAPI documents each route from its signature: parameters, body, success answer. What happens around the
routes is added here, operation by operation, from what each route depends on and from the rule table
(`errors.STATUS`), rather than listed route by route:

- the refusals it can answer, each an RFC 9457 problem (`ProblemResponse`, `application/problem+json`) whose
  description names the rule codes: 401/429 and 503 IDENTITY_PROVIDER_UNAVAILABLE wherever a bearer token is
  read, 403 wherever the actor is authorised, 404 where the path names a record by id or number (not on a
  read model's read, which answers what it holds) and wherever a record is read as it was, 409 on commands
  and keyed POSTs, 413 where a body is read (`middleware.WITH_BODY`), 422 where anything is sent (the shape
  the service sends: `errors[]` naming each field; on commands the domain's rules, on reads those of the values
  they take), 503 STORE_UNAVAILABLE wherever the store is needed (`errors.StoreGate`) and READ_MODEL_BEHIND
  where a read waits for `min_position`;
- the request headers honoured around the route: `Idempotency-Key` on every POST that carries a bearer token
  (`middleware.Idempotency`); `If-Match` is a parameter of the routes that take it already;
- the answers' headers: `X-Request-ID` on every answer, `ETag` and `Valmius-Position` on command answers and
  on reads of the records whose commands take `If-Match`, `Location` on 201, `Idempotent-Replayed` on keyed
  POSTs (their kept refusals too), the freshness headers on read-model reads, `Link` on paged lists,
  `Retry-After` on 409/429/503;
- an example of every request body (its required fields, each its own first example, and the due and review
  times some rules ask for, a day ahead of the service's clock when the document is served; other optional
  fields left out), and of every path parameter (the example of the body field of the same name, so that the
  examples of one document work together: the crisis an action's example names is the one declared by the
  declare-crisis example).

tests/interfaces/test_openapi_examples.py sends every example and test_openapi_answers.py checks that every
answer is one described here.

The service sends no 412 and no 428: a stale `If-Match` is 409 CONFLICT_VERSION, saying what changed since,
and `If-Match` is optional (without it, the command applies to the record as it stands).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from application.ports import Clock
from domain.shared import Rule, display
from interfaces.http.dependencies import (
    POSITION_HEADER,
    WRITES,
    bearer,
    get_actor,
    get_expected_version,
    get_history,
    get_reader,
)
from interfaces.http.errors import PROBLEM_JSON, STATUS, StoreGate
from interfaces.http.middleware import WITH_BODY, Idempotency
from interfaces.http.routers.health import get_scraper
from interfaces.http.routers.read_models import paged, paged_by_id
from interfaces.http.schemas.common import CommandResponse, FieldErrorResponse, ProblemResponse

PROBLEM = "ProblemResponse"
NOT_KEPT = {*Idempotency.NOT_KEPT, 503}  # answers a key does not keep: never replayed
AHEAD = timedelta(days=1)  # due and review times in the examples: a day after the moment the document is served
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retry safe: a fresh unique value (a UUID) for each new command; the same key with the "
    "same request gets the first answer again (`Idempotent-Replayed: true`), with another request "
    "422 IDEMPOTENCY_KEY_REUSED, while the first is still running 409 IDEMPOTENCY_IN_PROGRESS.",
    "schema": {"type": "string", "maxLength": 200},
}
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {"description": "The request's id: the client's own (1–64 of `A-Za-z0-9-_.:`) or a new one; "
                     "named in every problem and log line of the request.", "schema": {"type": "string"}},
    "ETag": {"description": 'The record\'s version, e.g. `"12"`: send it back in `If-Match`.',
             "schema": {"type": "string"}},
    POSITION_HEADER: {"description": "The log position of the write (pass it as a read model's `min_position` to "
                      "read your own write), or the position a read model reflects.", "schema": {"type": "integer"}},
    "Valmius-Head": {"description": "The log's head when read.", "schema": {"type": "integer"}},
    "Valmius-Freshness": {"description": "`live`, `behind` or `stale`.", "schema": {"type": "string",
                          "enum": ["live", "behind", "stale"]}},
    "Valmius-As-Of": {"description": "When the last event the read model reflects was recorded.",
                      "schema": {"type": "string", "format": "date-time"}},
    "Location": {"description": "Where the new record is read (a crisis, a police liaison).",
                 "schema": {"type": "string"}},
    "Idempotent-Replayed": {"description": "`true` when this is the first answer to this Idempotency-Key, sent "
                            "again.", "schema": {"type": "string", "enum": ["true"]}},
    "Link": {"description": 'The neighbouring pages (RFC 8288): `<…?after=…>; rel="next"`, `<…?before=…>; '
             'rel="prev"`.', "schema": {"type": "string"}},
    "Retry-After": {"description": "Seconds to wait before sending the request again.",
                    "schema": {"type": "integer"}},
}
REFUSED = {
    401: "Unauthenticated: no token, or one unknown, revoked, expired or refused by the identity provider",
    403: "The actor's role (or unit, or clearance) may not do this",
    404: "No such record",
    409: "Refused by the state of the record",
    413: "The request body is larger than VALMIUS_MAX_REQUEST_BYTES",
    422: "The request is not valid: each refused value in `errors[]`, or the rule that refused it",
    429: "Too many failed authentications from this address",
    503: "Not now: send it again after `Retry-After`; nothing was recorded",
}


def install(app: FastAPI, clock: Clock) -> None:
    """Serve the document below as the app's OpenAPI document: built once, on the first request for it; its
    examples of times ahead set from `clock` each time it is served."""
    timed: list[tuple[dict[str, Any], list[str]]] = []  # the body examples holding times ahead, and their names

    def served() -> dict[str, Any]:
        spec = app.openapi_schema or document(app, timed)
        ahead = display(clock() + AHEAD)
        for example, names in timed:
            example.update(dict.fromkeys(names, ahead))
        return spec

    app.openapi = served  # type: ignore[method-assign]


def is_time_ahead(name: str) -> bool:
    """A due or review time (named like the instants of CommandRequest.args), which a rule wants ahead of now;
    not `occurred_at`, which is now when it is left out."""
    return name.endswith(("_at", "_due")) and name != "occurred_at"


def document(app: FastAPI, timed: list[tuple[dict[str, Any], list[str]]]) -> dict[str, Any]:
    spec = FastAPI.openapi(app)  # FastAPI's own, cached on the app: completed in place
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, which we never send
        schemas.pop(name, None)
    for model in (ProblemResponse, FieldErrorResponse):
        schemas.update(model.model_json_schema(ref_template="#/components/schemas/{model}").pop("$defs", {}))
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    spec["components"]["headers"] = HEADERS
    examples = path_examples(spec)
    for route, method in operations(app):
        operation = spec["paths"][route.path_format][method.lower()]
        complete(spec, route, method, operation, examples)
        example = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
        if isinstance(example, dict) and None in example.values():
            timed.append((example, [name for name, value in example.items() if value is None]))
    return spec


def operations(app: FastAPI) -> Iterator[tuple[APIRoute, str]]:
    for route in api_routes(app.routes):
        if route.include_in_schema:
            for method in sorted(route.methods - {"HEAD"}):
                yield route, method


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The app's API routes, also those inside included routers (FastAPI ≥ 0.16x keeps them nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def calls(dependant: Dependant) -> set[Callable[..., Any]]:
    """Every dependency a route runs, however deep."""
    found: set[Callable[..., Any]] = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            found.add(dependency.call)
        found |= calls(dependency)
    return found


def reads_token(route: APIRoute) -> bool:
    return bearer in calls(route.dependant)


def keyed(route: APIRoute, method: str) -> bool:
    """Whether middleware.Idempotency honours an Idempotency-Key here: a POST sent with a bearer token."""
    return method == "POST" and reads_token(route)


def refusals(route: APIRoute, method: str, operation: dict[str, Any]) -> dict[int, list[str]]:
    """The statuses this operation can be refused with, each with the rule codes that refuse it."""
    found: dict[int, list[str]] = {}
    used = calls(route.dependant)
    parameters = {p["name"] for p in operation.get("parameters", [])}
    body = operation.get("requestBody")

    def add(status: int, *rules: Rule) -> None:
        found.setdefault(status, [])
        found[status] += [str(rule) for rule in rules if str(rule) not in found[status]]

    if reads_token(route):
        add(401, Rule.UNAUTHENTICATED)
        add(429, Rule.TOO_MANY_FAILED_AUTHENTICATIONS)
        add(503, Rule.IDENTITY_PROVIDER_UNAVAILABLE)
    if get_reader in used or get_scraper in used:
        add(403, Rule.FORBIDDEN_ROLE)
    commands = get_actor in used and method in WRITES  # (not a read sent as POST: verifying a checkpoint)
    if get_reader in used and (record_in_path(operation) or get_history in used and route.dependant.path_params):
        add(404, Rule.NOT_FOUND)
    if commands:
        add(409, *(rule for rule, status in STATUS.items() if status == 409 and rule != Rule.IDEMPOTENCY_IN_PROGRESS))
    if keyed(route, method):
        add(409, Rule.IDEMPOTENCY_IN_PROGRESS)
    if method in WITH_BODY or body:
        add(413, Rule.REQUEST_TOO_LARGE)
    if parameters or body or keyed(route, method):
        add(422, Rule.INVALID_INPUT)
    if commands and body:
        add(422, *(rule for rule in Rule if rule not in STATUS and rule not in (Rule.INTERNAL_ERROR, Rule.NOT_READY)))
    if any(p["schema"].get("format") == "date-time" or "date-time" in str(p["schema"].get("anyOf", ""))
           for p in operation.get("parameters", [])):
        add(422, Rule.AMBIGUOUS_TIME, Rule.OUT_OF_RANGE)  # a time asked about: without an offset, or out of its window
    if "unit" in parameters:
        add(422, Rule.UNKNOWN_UNIT)
    if keyed(route, method):
        add(422, Rule.IDEMPOTENCY_KEY_REUSED)
    if not StoreGate.open(route.path_format):
        add(503, Rule.STORE_UNAVAILABLE)
    if "min_position" in parameters:
        add(503, Rule.READ_MODEL_BEHIND)
    if get_expected_version in used:
        add(409, Rule.CONFLICT_VERSION)
    return {status: rules for status, rules in found.items() if rules}


def record_in_path(operation: dict[str, Any]) -> bool:
    """Whether the path names a record the operation needs: an id (`crisis_id`; not a `unit`, which is the
    registry's: an unknown one is 422 UNKNOWN_UNIT) or a number; not on a read model's read, which answers what
    it holds (an empty timeline). A record read as it was (History) may not have been, whatever names it."""
    if "min_position" in {p["name"] for p in operation.get("parameters", [])}:
        return False
    return any(
        p["in"] == "path" and (p["name"].endswith("_id") or p["schema"].get("type") == "integer")
        for p in operation.get("parameters", [])
    )


def complete(
    spec: dict[str, Any], route: APIRoute, method: str, operation: dict[str, Any], examples: dict[str, Any]
) -> None:
    responses = operation["responses"]
    for status, rules in sorted(refusals(route, method, operation).items()):
        described = responses.get(str(status), {}).get("description")
        own = described if described and described not in ("Successful Response", "Validation Error") else None
        responses[str(status)] = {
            "description": f"{own or REFUSED[status]}: {', '.join(rules)}",
            "content": {PROBLEM_JSON: {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
            "headers": header_refs(
                "X-Request-ID", *(("Retry-After",) if status in (409, 429, 503) else ()),
                *(("Idempotent-Replayed",) if keyed(route, method) and status not in NOT_KEPT else ()),
            ),
        }
    for status, response in responses.items():
        if status.startswith("2"):
            parameters = {p["name"] for p in operation.get("parameters", [])}
            response.setdefault("headers", {}).update(answer_headers(spec, route, method, int(status), parameters))
    if keyed(route, method):
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] in examples:
            parameter["example"] = examples[parameter["name"]]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        example = example_of(spec, body["schema"])
        if isinstance(example, dict):  # with the times ahead some rules ask for (an action's due time), set when served
            properties = resolve(spec, body["schema"]).get("properties", {})
            example |= {name: None for name in properties if is_time_ahead(name) and name not in example}
        if example is not None:
            body["example"] = example


def answer_headers(
    spec: dict[str, Any], route: APIRoute, method: str, status: int, parameters: set[str]
) -> dict[str, Any]:
    used = calls(route.dependant)
    names = ["X-Request-ID"]
    required: set[str] = set()
    if isinstance(route.response_model, type) and issubclass(route.response_model, CommandResponse):
        names += ["ETag", POSITION_HEADER]
        required |= {"ETag", POSITION_HEADER}
    elif method == "GET" and takes_if_match_below(spec, route.path_format):
        names.append("ETag")
        required.add("ETag")
    if status == 201:
        names.append("Location")
    if keyed(route, method):
        names.append("Idempotent-Replayed")
    if "min_position" in parameters:
        names += [POSITION_HEADER, "Valmius-Head", "Valmius-Freshness", "Valmius-As-Of"]
        required |= {POSITION_HEADER, "Valmius-Head", "Valmius-Freshness"}
    if paged in used or paged_by_id in used:
        names.append("Link")
    return {name: {**header_ref(name), **({"required": True} if name in required else {})} for name in names}


def takes_if_match_below(spec: dict[str, Any], path: str) -> bool:
    """Whether a command at `path`, or at a fixed path below it, takes If-Match: `path` reads that record, and
    its answer's ETag is the version to send back."""
    for other, operations in spec["paths"].items():
        below = other == path or (other.startswith(path + "/") and "{" not in other[len(path):])
        if below and any(
            p["in"] == "header" and p["name"].lower() == "if-match"
            for operation in operations.values()
            for p in operation.get("parameters", [])
        ):
            return True
    return False


def header_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/headers/{name}"}


def header_refs(*names: str) -> dict[str, Any]:
    return {name: header_ref(name) for name in names}


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def example_of(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """An example of `schema`: its own first example, else an object of its required fields' examples, or a
    list of one example of its items; None when some required part shows no example."""
    schema = resolve(spec, schema)
    if "examples" in schema:
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    if "anyOf" in schema:
        options = [option for option in schema["anyOf"] if option.get("type") != "null"]
        return example_of(spec, options[0]) if options else None
    if schema.get("type") == "array" and "items" in schema:
        item = example_of(spec, schema["items"])
        return None if item is None else [item]
    if schema.get("type") == "object" or "properties" in schema:
        example = {name: example_of(spec, schema["properties"][name]) for name in schema.get("required", [])}
        return None if any(value is None for value in example.values()) else example
    return None


def path_examples(spec: dict[str, Any]) -> dict[str, Any]:
    """An example for each path parameter: the example of the request body field of the same name (the
    record it creates or names), else an integer's least value."""
    found: dict[str, Any] = {}
    for operations in spec["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = resolve(spec, body["schema"])
            for name in schema.get("required", []):
                value = example_of(spec, schema["properties"][name])
                if isinstance(value, str):
                    found.setdefault(name, value)
    for operations in spec["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                minimum = parameter["schema"].get("minimum")
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer" and minimum is not None:
                    found.setdefault(parameter["name"], int(minimum))
    return found
