"""What an operator sees of the running service: `/metrics` in the Prometheus format, and the request id that
ties an answer, its problem detail and its log lines together."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.logging import JsonFormatter, WithRequestId
from interfaces.http.app import create_app
from tests.conftest import ApiClient, FakeClock, make_api, settings_for
from tests.interfaces.conftest import PROBLEM_JSON, STORM, accepted, api_routes, declare, last_event, problem
from tests.interfaces.test_stream_access import Subscription
from tests.live import LiveServer, running_service, wait_until

serving = contextmanager(make_api)
Samples = dict[tuple[str, frozenset], float]
SECRET = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}


def scrape(api: ApiClient) -> Samples:
    answer = api.get("/metrics", headers=api.headers("AUD", "auditor"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_metrics_count_commands_refusals_and_latency_by_route_template(api: ApiClient, people) -> None:  # noqa: ANN001
    before = scrape(api)
    # Given the storm declared, then declared again, and a severity change a leadership reader may not make
    declare(api, people.duty_officer)
    problem(api.post("/crises", json=STORM, headers=people.duty_officer), 409, "ALREADY_EXISTS")
    problem(api.post("/crises/C-S1/severity", json={"severity": 3, "reason": "worse"}, headers=people.leadership),
            403, "FORBIDDEN_ROLE")
    # When the metrics are scraped
    after = scrape(api)
    # Then each write is counted by its use case and outcome, each refusal by its rule code
    assert grown(before, after, "valmius_commands_total", use_case="declare_crisis", outcome="done") == 1
    assert grown(before, after, "valmius_commands_total", use_case="declare_crisis", outcome="refused") == 1
    assert grown(before, after, "valmius_commands_total", use_case="change_severity", outcome="refused") == 1
    assert grown(before, after, "valmius_refusals_total", rule="ALREADY_EXISTS") == 1
    assert grown(before, after, "valmius_refusals_total", rule="FORBIDDEN_ROLE") == 1
    # and latency by the route's template, never the path sent
    latency = "valmius_http_request_duration_seconds_count"
    assert grown(before, after, latency, route="/crises", method="POST", status="2xx") == 1
    assert grown(before, after, latency, route="/crises", method="POST", status="4xx") == 1
    assert grown(before, after, latency, route="/crises/{crisis_id}/severity", method="POST", status="4xx") == 1
    assert not any("C-S1" in str(labels) for _, labels in after)
    # and every read model is at the head of the log
    head = last_event(api)
    assert value(after, "valmius_log_head_position") == head
    for model in ("situation_overview", "crisis_timeline", "readiness_board"):
        assert value(after, "valmius_read_model_position", read_model=model) == head
        assert value(after, "valmius_read_model_behind_events", read_model=model) == 0
        assert value(after, "valmius_read_model_lag_seconds", read_model=model) == 0


def test_a_read_model_behind_shows_its_lag_in_events_and_seconds(tmp_path, clock: FakeClock) -> None:  # noqa: ANN001
    # Given a service that does not follow the log into its read models (`valmius project` is not running)
    with serving(settings_for("sqlite", tmp_path, embedded_projections=False), clock) as running:
        position = value(scrape(running), "valmius_read_model_position", read_model="situation_overview")
        # When a crisis is declared, and 90 seconds pass
        declare(running, running.headers("DO-1", "duty_officer"))
        clock.advance(seconds=90)
        after = scrape(running)
    # Then the overview is behind by the crisis's events, the oldest of them 90 seconds old
    head = value(after, "valmius_log_head_position")
    assert head > position
    assert value(after, "valmius_read_model_position", read_model="situation_overview") == position
    assert value(after, "valmius_read_model_behind_events", read_model="situation_overview") == head - position
    assert value(after, "valmius_read_model_lag_seconds", read_model="situation_overview") == pytest.approx(90, abs=1)


def test_metrics_are_for_admins_and_auditors_unless_made_public(api: ApiClient, people, tmp_path, clock) -> None:  # noqa: ANN001
    # Given a secret crisis
    declare(api, people.duty_officer, crisis_id="C-X", title="Emailed bomb threats against schools",
            classification=SECRET)
    # Then an anonymous caller and a duty officer are refused the metrics, an admin and an auditor read them
    problem(api.get("/metrics"), 401, "UNAUTHENTICATED")
    problem(api.get("/metrics", headers=people.duty_officer), 403, "FORBIDDEN_ROLE")
    text = api.get("/metrics", headers=api.headers("ADM", "admin")).text
    assert "valmius_commands_total" in text
    # and nothing of the crisis is in them
    assert "bomb" not in text and "C-X" not in text
    # When VALMIUS_METRICS_PUBLIC is set, anyone reads them
    with serving(settings_for("sqlite", tmp_path / "public", metrics_public=True), clock) as running:
        assert running.get("/metrics").status_code == 200


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    with running_service(settings_for("sqlite", tmp_path)) as running:
        yield running


def test_open_streams_are_counted(server: LiveServer) -> None:
    auditor = {"Authorization": f"Bearer {server.token('AUD', 'auditor')}"}

    def streams() -> float:
        text = server.http.get(f"{server.base_url}/metrics", headers=auditor).text
        return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                    if s.name == "valmius_stream_clients")

    before = streams()
    # When a leadership reader opens the overview stream
    stream = Subscription(server, server.token("LR-1", "leadership"))
    try:
        stream.next()
        # Then one more stream is counted
        assert streams() == before + 1
    finally:
        stream.close()
    # and no longer once it is closed
    wait_until(lambda: streams() == before, 10, "the closed stream to be uncounted")


def test_a_request_id_sent_is_echoed_and_one_is_made_for_a_request_without(api: ApiClient, people) -> None:  # noqa: ANN001
    sent = api.get("/crises", headers={**people.duty_officer, "X-Request-ID": "dash-7f3a:1"})
    assert sent.headers["x-request-id"] == "dash-7f3a:1"
    made = api.get("/crises", headers=people.duty_officer).headers["x-request-id"]
    # An id too long, or with characters outside letters, digits and -_.:, is replaced by a new one
    for refused in ("x" * 65, "a b", "<script>", "ä".encode()):
        replaced = api.get("/health/live", headers={"X-Request-ID": refused})
        assert replaced.headers["x-request-id"] not in (refused, made)
        assert len(replaced.headers["x-request-id"]) == 32


def test_every_route_refusing_a_request_names_its_id_in_the_problem(api: ApiClient) -> None:
    # Given every route of the API, called without a token, and every write called by an admin with an empty body
    refused = 0
    for number, route in enumerate(api_routes(api.app.routes)):
        path = route.path.replace("{", "").replace("}", "")  # a value for each parameter: its own name
        for method in route.methods - {"HEAD"}:
            for headers in ({}, api.headers("ADM", "admin")) if method == "POST" else ({},):
                request_id = f"probe-{number}-{method}-{len(headers)}"
                answer = api.request(method, path, headers={**headers, "X-Request-ID": request_id}, json={})
                # Then every answer echoes the id, and every refusal names it in its problem detail
                assert answer.headers["x-request-id"] == request_id
                if answer.status_code >= 400:
                    assert answer.headers["content-type"].startswith(PROBLEM_JSON), (route.path, answer.text)
                    assert answer.json()["request_id"] == request_id, (route.path, answer.text)
                    refused += 1
    assert refused > len(api_routes(api.app.routes))  # every route but the public ones, and every write twice


def test_an_unexpected_failure_names_the_request_id(tmp_path, clock: FakeClock) -> None:  # noqa: ANN001
    app = create_app(settings_for("sqlite", tmp_path), clock)

    @app.get("/fails")
    def fails() -> None:
        raise RuntimeError("a defect")

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/fails", headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "boom-1"
    assert answer.json()["request_id"] == "boom-1"


@contextmanager
def json_lines(name: str) -> Iterator[io.StringIO]:
    """What logger `name` writes meanwhile, as the JSON log format writes it (one object a line)."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(WithRequestId())
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_a_json_log_line_of_a_request_carries_its_id(api: ApiClient, people) -> None:  # noqa: ANN001
    with json_lines("valmius") as lines:
        # When the storm is declared, with a request id
        accepted(api.post("/crises", json=STORM, headers={**people.duty_officer, "X-Request-ID": "declare-1"}), 201)
    # Then the application's log line of the command (written in another thread) carries the id
    written = [json.loads(line) for line in lines.getvalue().splitlines()]
    declared = [line for line in written if "declare_crisis" in line["message"]]
    assert declared, written
    assert declared[0]["request_id"] == "declare-1"
    assert set(declared[0]) >= {"time", "level", "logger", "message", "request_id"}
    assert declared[0]["logger"] == "valmius.coordination" and declared[0]["level"] == "INFO"


def test_the_request_id_survives_the_idempotency_replay(api: ApiClient, people) -> None:  # noqa: ANN001
    duty = people.duty_officer
    # Given the storm declared with an Idempotency-Key, and a second declaration refused under another key
    first = api.post("/crises", json=STORM, headers={**duty, "Idempotency-Key": "k-1", "X-Request-ID": "first"})
    assert first.status_code == 201 and first.headers["x-request-id"] == "first"
    refused = api.post("/crises", json=STORM, headers={**duty, "Idempotency-Key": "k-2", "X-Request-ID": "second"})
    assert problem(refused, 409, "ALREADY_EXISTS")["request_id"] == "second"
    # When each is sent again with its key
    again = api.post("/crises", json=STORM, headers={**duty, "Idempotency-Key": "k-1", "X-Request-ID": "retry-1"})
    refused_again = api.post(
        "/crises", json=STORM, headers={**duty, "Idempotency-Key": "k-2", "X-Request-ID": "retry-2"}
    )
    # Then each retry is answered as first, under its own id; a refusal replayed is the first answer as it was,
    # naming the request that was refused
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.headers["x-request-id"] == "retry-1"
    assert refused_again.headers["idempotent-replayed"] == "true"
    assert refused_again.headers["x-request-id"] == "retry-2"
    assert problem(refused_again, 409, "ALREADY_EXISTS")["request_id"] == "second"



def test_every_request_is_logged_in_one_line_with_its_id(api: ApiClient, people) -> None:  # noqa: ANN001
    with json_lines("valmius.access") as lines:
        # When the storm is declared, and a crisis that is not there is asked for with a quote in its path
        accepted(api.post("/crises", json=STORM, headers={**people.duty_officer, "X-Request-ID": "declare-2"}), 201)
        api.get('/crises/C-"9?x=1', headers={**people.duty_officer, "X-Request-ID": "missing-1"})
    # Then each request has one line: who asked, the request line, the status and the time, with the request's id
    written = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [line["request_id"] for line in written] == ["declare-2", "missing-1"]
    assert '"POST /crises HTTP/1.1" 201 ' in written[0]["message"] and written[0]["message"].endswith(" ms")
    assert '"GET /crises/C-%229?x=1 HTTP/1.1" 4' in written[1]["message"]
    assert {line["logger"] for line in written} == {"valmius.access"}
