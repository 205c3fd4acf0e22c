"""The scenario scripts S1, S3 and S4 replayed through the HTTP API on SQLite and on real PostgreSQL.

Every step's OK or REJECT(CODE) is checked, with the key facts of each refusal's message; the checkpoints
are checked against what the current GET endpoints show and against the read models (situation overview,
timeline, police liaison board, decision log); and at the end every REJECT step appended no
domain event and is kept as exactly one refused attempt (and nothing else is).
"""

from __future__ import annotations

import pytest

from tests.acceptance.checkpoints import check_read_models
from tests.acceptance.replay import Replay, check_current_endpoints, replay_scenario

SCENARIOS = ["S1", "S3", "S4"]
STORES = [
    pytest.param("api", id="sqlite"),
    pytest.param("pg_api", id="postgres", marks=pytest.mark.postgres),
]


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_replays_through_the_http_api(scenario: str, store: str, request: pytest.FixtureRequest) -> None:
    api = request.getfixturevalue(store)
    replay: Replay = replay_scenario(api, scenario, checkpoint_hooks=[check_current_endpoints, check_read_models])

    assert not replay.failures, replay.report()

    rejects = replay.rejects
    refusals = api.services.refusals.list(limit=100_000)
    assert len(refusals) == len(rejects), (refusals, [r.label for r in rejects])
    assert all(r.appended_events == 0 for r in rejects)
    assert [r["rule"] for r in refusals] == [r.step["expect"]["code"] for r in rejects]
    assert set(replay.checkpoints) == {c["id"] for c in replay.scenario["checkpoints"]}
