"""`valmius serve --workers 2` as an operator runs it: its metrics add up both workers' requests whichever
worker answers the scrape, and with VALMIUS_LOG_FORMAT=json each worker's log is one JSON object a line,
the request's id on the lines written for it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import create_database, drop_database
from tests.live import ROOT, free_port, valmius_env, wait_until

REQUESTS = 40


def live_requests(text: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "valmius_http_request_duration_seconds_count" and sample.labels["route"] == "/health/live"
    )


@pytest.mark.postgres
def test_two_workers_add_up_their_metrics_and_log_json_lines_with_request_ids(tmp_path: Path) -> None:
    url = create_database()
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**valmius_env(url, "production"), "VALMIUS_METRICS_PUBLIC": "true", "VALMIUS_LOG_FORMAT": "json"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli.main", "serve", "--workers", "2", "--port", str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out,
        )
    # every request on a new connection: each reaches whichever worker accepts it
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", limits=httpx.Limits(max_keepalive_connections=0))
    try:
        wait_until(lambda: log.read_text().count("Valmius serving") == 2, 90, "both workers to serve")
        # When the liveness page is asked for 40 times, the last time with a request id
        for number in range(REQUESTS):
            headers = {"X-Request-ID": "probe-live"} if number == REQUESTS - 1 else {}
            assert http.get("/health/live", headers=headers).status_code == 200
        # Then every scrape, whichever worker answers it, counts all 40
        for _ in range(6):
            assert live_requests(http.get("/metrics").text) == REQUESTS
        # and the log is JSON lines, the access line of the last request naming its id
        wait_until(lambda: "probe-live" in log.read_text(), 10, "the access line")
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert len(lines) == len(log.read_text().splitlines()), log.read_text()
        access = [line for line in lines if line["request_id"] == "probe-live"]
        assert access and access[0]["logger"] == "valmius.access" and '"GET /health/live HTTP/1.1" 200' in access[0]["message"]
        assert not [line for line in lines if line["logger"] == "uvicorn.access"]  # one line a request, ours
        assert {line["request_id"] for line in lines if "Valmius serving" in line["message"]} == {None}
    finally:
        http.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drop_database(url)
