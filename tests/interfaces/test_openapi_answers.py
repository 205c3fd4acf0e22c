"""Every answer the service sends is one its OpenAPI document describes, and every refusal the document lists is
one the service sends: generated over the document's operations, on the real PostgreSQL-backed service.

Each operation is sent the requests that provoke its refusals: no token, a bad token (and past the throttle),
a role the permission table refuses, unknown records in its path, a value no parameter accepts, a body no
schema accepts, a body over the size limit, an Idempotency-Key too long, and the store out of reach. Each
answer must be listed for the operation with the problem schema (Conformance); and for each operation, each of
401, 403, 404, 413, 422 and 503 that its document lists must have been answered by it.

(schemathesis would draw such requests too, but from the schemas alone: it cannot know which role a rule
refuses, nor make the store go away, and its runs of hundreds of drawn requests per operation do not fit the
suite's time on these machines; the refusals here are few and each named.)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from domain.access import PERMISSIONS, Role
from interfaces.http.middleware import WITH_BODY
from tests.conftest import TEST_POOL, ApiClient, FakeClock, make_api, settings_for
from tests.interfaces.openapi_document import Conformance, Operation, the_document

SPEC, OPERATIONS = the_document()
CHECKED = [operation for operation in OPERATIONS if not operation.streams()]
PROVOKED = (401, 403, 404, 413, 422, 503)
UNKNOWN = {"string": "NO-SUCH-RECORD", "integer": 999999}
INVALID = {"string": "x" * 65, "integer": 0}  # an id longer than any, a number below every path's least


@pytest.fixture
def api(postgres_url: str, tmp_path) -> Iterator[ApiClient]:  # noqa: ANN001
    """The service on a fresh schema of the real PostgreSQL, refusing bodies over 1 KiB."""
    settings = settings_for(
        "postgres", tmp_path, postgres_url, embedded_projections=True, max_request_bytes=1024,
        failed_authentications_per_minute=5, **TEST_POOL,
    )
    yield from make_api(settings, FakeClock())


def with_path(operation: Operation, name: str, values: dict[str, object]) -> str:
    """The example's URL with path parameter `name` replaced by the value of its type in `values`."""
    parameter = next(p for p in operation.parameters if p["in"] == "path" and p["name"] == name)
    path, _, query = operation.url().partition("?")
    template = operation.path.split("/")
    segments = path.split("/")
    segments[template.index("{" + name + "}")] = str(values[parameter["schema"].get("type", "string")])
    return "/".join(segments) + (f"?{query}" if query else "")


def query_of(url: str) -> dict[str, str]:
    return dict(httpx.URL(url).params)


def refused_roles(operation: Operation) -> list[Role]:
    """The roles the permission table refuses this operation (every role, when it does not name it: each is
    tried, and one must be refused)."""
    if operation.name in PERMISSIONS:
        return [role for role in Role if role not in PERMISSIONS[operation.name].roles] or []
    return list(Role)


def provoke(api: ApiClient, conformance: Conformance, operation: Operation) -> set[int]:
    """Send the operation every request that should be refused; the statuses it answered."""
    answered: set[int] = set()

    def send(path: str, headers: dict[str, str] | None = None, **kwargs: object) -> None:
        answer = conformance.check(operation, api.request(operation.method, path, headers=headers, **kwargs))
        answered.add(answer.status_code)

    body = {"json": operation.body_example} if operation.body_example is not None else {}
    example = operation.url()
    writer = api.headers("DO-1", "duty_officer", clearance=True)
    auditor = api.headers("AUD-1", "auditor", clearance=True)
    send(example, **body)  # no token
    send(example, {"Authorization": "Bearer vlm_not-a-token"}, **body)
    for role in refused_roles(operation):
        send(example, api.headers(f"R-{role}", role, "STARA" if role is Role.DIVISION_CONTACT else None), **body)
    readers = [Role.AUDITOR, Role.DUTY_OFFICER, Role.PREPAREDNESS_MANAGER, Role.POLICE_COORDINATOR]
    for name in (p["name"] for p in operation.parameters if p["in"] == "path"):
        for role in readers:  # an unknown record, as each role that may be allowed
            send(with_path(operation, name, UNKNOWN), api.headers(f"K-{role}", role, clearance=True), **body)
        send(with_path(operation, name, INVALID), writer, **body)
    for parameter in operation.parameters:
        if parameter["in"] == "query":
            refused = ["\x01"]
            if "date-time" in str(parameter["schema"]):  # a time without its offset, and one out of any window
                refused += ["2025-10-26T12:00", "1800-01-01T00:00+00:00"]
            for value, headers in itertools.product(refused, (writer, auditor)):
                send(example.split("?")[0], headers, params={**query_of(example), parameter["name"]: value}, **body)
    if "requestBody" in operation.spec:
        send(example, writer, json={"not_a_field": 1})
    if operation.method in WITH_BODY:
        send(example, {**writer, "Content-Type": "application/json"}, content=b"{" + b" " * 2048 + b"}")
    if operation.takes("Idempotency-Key"):
        send(example, {**writer, "Idempotency-Key": "k" * 201}, **body)
    services, api.app.state.services = api.app.state.services, None  # the store out of reach
    try:
        send(example, writer, **body)
    finally:
        api.app.state.services = services
    return answered


def test_every_answer_is_documented_and_every_documented_refusal_is_answered(api: ApiClient) -> None:
    conformance = Conformance(SPEC)
    missing = []
    for operation in CHECKED:
        # When each operation is sent the requests that its refusals answer
        answered = provoke(api, conformance, operation)
        # Then (Conformance) each answer is documented for it; and it answered each refusal it documents
        documented = {int(status) for status in operation.spec["responses"]}
        missing += [f"{operation.id} never answered {status} ({sorted(answered)})"
                    for status in documented & set(PROVOKED) - answered]
    assert not missing, "\n".join(missing)
    # and past the throttle of bad tokens, 429 (documented wherever 401 is)
    assert any(status == 429 for _, status in conformance.seen)


def test_the_documentation_and_its_assets_are_served_while_the_store_is_out_of_reach(api: ApiClient) -> None:
    # Given the store out of reach
    services, api.app.state.services = api.app.state.services, None
    try:
        # When the documentation, its document and Swagger UI's assets are asked for
        page, document = api.get("/docs"), api.get("/openapi.json")
        script = api.get("/docs/assets/swagger-ui-bundle.js")
        style = api.get("/docs/assets/swagger-ui.css")
        # Then all are served by the service itself, the page naming no other origin in its policy
        assert [a.status_code for a in (page, document, script, style)] == [200] * 4
        assert 'src="/docs/assets/swagger-ui-bundle.js"' in page.text and "https://" not in page.text
        policy = page.headers["content-security-policy"]
        assert "https:" not in policy and "'unsafe-inline'" not in policy
        assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
        assert api.get("/crises/C-1", headers=api.headers("DO-1", "duty_officer")).status_code == 503
    finally:
        api.app.state.services = services
