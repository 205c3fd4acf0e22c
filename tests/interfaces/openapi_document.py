"""The OpenAPI document as the tests of tests/interfaces/test_openapi*.py read it: its operations, the examples it
gives, and a check that an answer is one the document describes (status, media type, schema, headers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from infrastructure.settings import Settings
from interfaces.http import openapi
from interfaces.http.app import create_app

# Headers an answer carries only where the document says so (the others, such as the security headers, are on
# every answer and said once in the README).
WATCHED_HEADERS = (
    "ETag", "Location", "Idempotent-Replayed", "Link", "Retry-After", "Valmius-Head", "Valmius-Freshness",
)


def the_document() -> tuple[dict[str, Any], list[Operation]]:
    """The app's OpenAPI document, as /openapi.json serves it (it needs no store), and its operations."""
    app = create_app(Settings(environment="test", database_url="memory://", _env_file=None))
    spec = app.openapi()
    routes = {(method, route.path_format): route for route, method in openapi.operations(app)}
    return spec, [
        Operation(method.upper(), path, operation, routes[method.upper(), path].name,
                  routes[method.upper(), path].status_code or 200)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # the template, e.g. /crises/{crisis_id}
    spec: dict[str, Any]
    name: str  # the route's name: the use case it runs
    success: int  # the status it answers when it does what it is for (the route's own)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return self.spec.get("parameters", [])

    def takes(self, header: str) -> bool:
        return any(p["in"] == "header" and p["name"].lower() == header.lower() for p in self.parameters)

    @property
    def body_example(self) -> Any:
        return body_example(self.spec)

    def url(self) -> str:
        """The path with each path parameter's example, and every query parameter that gives an example."""
        path = self.path
        query = {}
        for parameter in self.parameters:
            example = parameter_example(parameter)
            if parameter["in"] == "path":
                assert example is not None, f"{self.id}: path parameter {parameter['name']} has no example"
                path = path.replace("{" + parameter["name"] + "}", str(example))
            elif parameter["in"] == "query" and example is not None:
                query[parameter["name"]] = example
        return str(httpx.URL(path, params=query))

    def streams(self) -> bool:
        return "text/event-stream" in self.spec["responses"].get("200", {}).get("content", {})


def body_example(operation: dict[str, Any]) -> Any:
    """The example of the request body: its JSON one, else that of the one media type it takes (a CAP document)."""
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", next(iter(content.values()), {})).get("example")


def body_sent(operation: dict[str, Any], example: Any) -> dict[str, Any]:
    """The arguments that send `example` as the operation's body: JSON, or as the media type it takes."""
    content = operation.get("requestBody", {}).get("content", {})
    if not content or "application/json" in content:
        return {"json": example}
    return {"content": str(example).encode(), "headers": {"Content-Type": next(iter(content))}}


def parameter_example(parameter: dict[str, Any]) -> Any:
    if "example" in parameter:
        return parameter["example"]
    for examples in (parameter.get("examples"), parameter.get("schema", {}).get("examples")):
        if examples:
            first = examples[0] if isinstance(examples, list) else next(iter(examples.values()))["value"]
            return first
    return None


class Conformance:
    """Checks that answers are what the document says: every status an operation answers is documented for it,
    with the answer's media type, the body valid against the schema documented (a problem's rule code named in
    the description), each required header present and each watched header documented. `seen` keeps (operation, status) of every answer checked."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.seen: set[tuple[str, int]] = set()

    def check(self, operation: Operation, answer: httpx.Response) -> httpx.Response:
        where = f"{operation.id} answered {answer.status_code}"
        documented = operation.spec["responses"].get(str(answer.status_code))
        assert documented is not None, f"{where}, which its documentation does not list: {answer.text[:300]}"
        self.seen.add((operation.id, answer.status_code))
        content = documented.get("content", {})
        media = answer.headers.get("content-type", "").split(";")[0].strip()
        if content:
            matching = [m for m in content if m.split(";")[0].strip() == media]
            assert matching, f"{where} as {media}, documented as {list(content)}"
            schema = content[matching[0]].get("schema")
            if schema and media.endswith("json"):
                errors = sorted(self.validator(schema).iter_errors(answer.json()), key=str)
                assert not errors, f"{where}: the body does not match its schema: {errors[0]}"
            if media == "application/problem+json":
                code = answer.json()["code"]
                assert code in documented["description"], f"{where} {code}, which its description does not name"
        headers = {name.lower(): self.resolve_header(header) for name, header in documented.get("headers", {}).items()}
        for name, header in headers.items():
            if header.get("required"):
                assert name in answer.headers, f"{where} without the {name} header it documents"
        for name in WATCHED_HEADERS:
            if name.lower() in answer.headers:
                assert name.lower() in headers, f"{where} with a {name} header it does not document"
        return answer

    def resolve_header(self, header: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in header:
            return {**self.spec["components"]["headers"][header["$ref"].rsplit("/", 1)[-1]],
                    **{k: v for k, v in header.items() if k != "$ref"}}
        return header

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        contents = {"components": self.spec["components"], "checked": schema}
        registry = Registry().with_resource("urn:openapi", Resource(contents, DRAFT202012))
        return Draft202012Validator({"$ref": "urn:openapi#/checked"}, registry=registry)
