"""Abuse at the front door: a flood of bad tokens is throttled per client address (429 with Retry-After),
never holds back a valid token, and is kept for auditors in a few rows that account for every attempt,
without the tokens themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
import pytest

from interfaces.http.throttle import FailedAuthentications
from tests.conftest import ApiClient, make_api, settings_for
from tests.interfaces.conftest import problem

BUDGET = 20


@pytest.fixture(params=["sqlite", "postgres"])
def store_api(request, tmp_path, clock) -> Iterator[ApiClient]:  # noqa: ANN001
    pg = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    yield from make_api(settings_for(request.param, tmp_path, pg, failed_authentications_per_minute=BUDGET), clock)


def failed_authentications(api: ApiClient) -> list[dict]:
    auditor = api.headers("AUD", "auditor", clearance=True)
    answer = api.get("/audit/refusals", params={"limit": 1000}, headers=auditor)
    assert answer.status_code == 200, answer.text
    return [r for r in answer.json()["refusals"] if r["command"] == "authenticate"]


def test_a_flood_of_bad_tokens_is_throttled_and_kept_in_a_few_rows(store_api: ApiClient) -> None:
    api = store_api
    valid = api.headers("LR-1", "leadership")
    bad = [f"vlm_guess-{n:04d}" for n in range(300)]
    # When one client presents 300 bad tokens
    answers = [api.get("/situation-overview", headers={"Authorization": f"Bearer {token}"}) for token in bad]
    # Then the first 20 are refused as unauthenticated, the rest throttled with a time to wait
    assert [a.status_code for a in answers] == [401] * BUDGET + [429] * (300 - BUDGET)
    throttled = problem(answers[-1], 429, "TOO_MANY_FAILED_AUTHENTICATIONS")
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60 and throttled["retry_after"] >= 1
    # while a valid token from the same address is answered as ever
    assert api.get("/situation-overview", headers=valid).status_code == 200
    # and the auditors find the failures, one row each within the budget and one for the throttling,
    # with a short hash of what was presented, never the token
    rows = failed_authentications(api)
    assert [r["rule"] for r in rows] == ["UNAUTHENTICATED"] * BUDGET + ["TOO_MANY_FAILED_AUTHENTICATIONS"]
    assert rows[0]["target"] == "/situation-overview" and rows[0]["payload"]["address"] == "testclient"
    assert rows[0]["payload"]["token_sha256_prefix"] == hashlib.sha256(bad[0].encode()).hexdigest()[:8]
    kept = repr(api.services.refusals.list(limit=10_000))
    assert not any(token in kept for token in bad)
    # and when the service stops, how many more were refused is kept too
    api.client.app.state.failed_authentications.flush()
    summary = failed_authentications(api)[-1]
    assert summary["payload"]["refused"] == 300 - BUDGET and summary["rule"] == "TOO_MANY_FAILED_AUTHENTICATIONS"


def test_a_request_without_any_token_is_refused_but_not_counted(api: ApiClient) -> None:
    for _ in range(BUDGET + 5):
        problem(api.get("/situation-overview"), 401, "UNAUTHENTICATED")
    assert api.services.refusals.list() == []


def test_a_malformed_authorization_header_counts_as_a_failed_authentication(api: ApiClient) -> None:
    problem(api.get("/situation-overview", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "UNAUTHENTICATED")
    [row] = api.services.refusals.list()
    assert row["command"] == "authenticate" and "dXNlcjpwdw" not in repr(row)


class Seconds:
    """A monotonic clock under the test's control."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_window_ends_after_a_minute_with_its_count_kept_and_memory_stays_bounded(api: ApiClient) -> None:
    seconds = Seconds()
    throttle = FailedAuthentications(api.services.refusals, api.clock, per_minute=2, max_addresses=3, monotonic=seconds)
    # Given an address throttled after 2 failures, 3 more refused with 429
    assert [throttle.failed("10.0.0.1", "ab" * 32, "/crises") for _ in range(5)] == [None, None, 60, 60, 60]
    seconds.now = 59.5
    assert throttle.failed("10.0.0.1", "ab" * 32, "/crises") == 1
    # When its minute is over, it may fail again, and the 4 refused with 429 are kept as one row
    seconds.now = 61
    assert throttle.failed("10.0.0.1", "ab" * 32, "/crises") is None
    rows = api.services.refusals.list()
    assert [r["payload"].get("refused") for r in rows] == [None, None, None, 4, None]
    # And however many addresses fail, at most 3 windows are kept in memory
    for n in range(2, 12):
        throttle.failed(f"10.0.0.{n}", "cd" * 32, "/crises")
    assert len(throttle._windows) == 3


def test_bad_tokens_with_idempotency_keys_claim_no_key(store_api: ApiClient) -> None:
    api = store_api
    # When bad tokens send commands with Idempotency-Keys
    answers = [
        api.post("/crises", json={"crisis_id": f"C-{n}"}, headers={"Authorization": f"Bearer vlm_bad-{n}", "Idempotency-Key": f"k-{n}"})
        for n in range(30)
    ]
    # Then they are refused (401, then 429), not stored as answers, and no key was claimed for them
    assert [a.status_code for a in answers] == [401] * BUDGET + [429] * (30 - BUDGET)
    claimed = api.services.sql.query("SELECT COUNT(*) AS n FROM valmius_idempotency_claims", ())
    assert claimed[0]["n"] == 0
