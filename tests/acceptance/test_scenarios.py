"""Every scenario script of tests/acceptance/scenarios (S1, S3, S4 from the shared scripts, S5 written here)
replayed through the HTTP API on SQLite and on real PostgreSQL.

Every step's OK or REJECT(CODE) is checked, each refusal's message against the script's gist; the checkpoints
are checked against what the current GET endpoints show and against the read models (situation overview,
timeline, police liaison board, decision log), and a checkpoint fact no check understood fails the run; at
the end every REJECT step appended no domain event and is kept as exactly one refused attempt (and nothing
else is). The replay is the session's own (`replays`), which the other scenario tests copy.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.acceptance.replay import scenario_ids
from tests.conftest import Replayed

SCENARIOS = scenario_ids()
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("store", STORES)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_replays_through_the_http_api(
    scenario: str, store: str, replays: Callable[[str, str], Replayed]
) -> None:
    replayed = replays(scenario, store)
    replay = replayed.replay

    assert not replay.failures, replay.report()
    assert {c: r.unchecked for c, r in replay.checkpoints.items() if r.unchecked} == {}

    rejects = replay.rejects
    assert len(replayed.refusals) == len(rejects), (replayed.refusals, [r.label for r in rejects])
    assert all(r.appended_events == 0 for r in rejects)
    assert [r["rule"] for r in replayed.refusals] == [r.step["expect"]["code"] for r in rejects]
    assert set(replay.checkpoints) == {c["id"] for c in replay.scenario["checkpoints"]}
