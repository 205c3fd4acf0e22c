"""(AUD replay): the scenario checkpoints recomputed from history, through the auditors' as-of API.

Each scenario is replayed through the HTTP API to its end (for S1, past the after-action review of step 36).
Then the auditor asks the as-of API for each checkpoint's moment, and the checkpoint's expectations are
asserted on those answers with the same checks `check_read_models` makes of the live read models
(`AsKnownAt` points its reads at /audit/…?as_of=<checkpoint>). The as-of answers are computed from the
event log (from the follower's snapshots, taken here every 7 events, and the events after them), never from
the live read-model tables; they must also equal what the live reads showed at the checkpoint, recorded by
a hook while the scenario ran, and what a full replay without snapshots gives.

S1-C, the checkpoint marked "(AUD replay)", also asks for the history of the crisis (four actions, two
completed late, the severity changes, the answer times) and for the four refused attempts of steps 12, 22,
31 and 34: kept with who, what, when and why, and absent from the domain events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from tests.acceptance.checkpoints import Live, check_read_models
from tests.acceptance.replay import CheckpointRecord, Replay, Replayer, identity
from tests.conftest import ApiClient, CopyOf

STORES = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    """SQLite and PostgreSQL (read models followed in-process), snapshots every 7 events."""
    return request.param


class AsKnownAt(Replayer):
    """`check_read_models` pointed at history: each read it makes of the live picture is asked instead of the
    auditor's as-of API, for the checkpoint's moment, with the checkpoint's clearance."""

    def __init__(self, replayer: Replayer, checkpoint: dict[str, Any]) -> None:
        super().__init__(replayer.api, replayer.scenario, checkpoint_hooks=[])
        self.crises = list(replayer.crises)
        self.moment = checkpoint["at"]
        self.replay.checkpoints[checkpoint["id"]] = CheckpointRecord(checkpoint)

    def get(self, path: str, actor: str = "AUD", *, clearance: bool = True) -> Any:
        return super().get(f"/audit{path.split('?')[0]}?as_of={quote(self.moment)}", "AUD", clearance=clearance)

    def as_of(self, path: str, *, clearance: bool = True, **params: str) -> dict[str, Any]:
        extra = "".join(f"&{k}={v}" for k, v in params.items())
        return super().get(f"/audit{path}?as_of={quote(self.moment)}{extra}", "AUD", clearance=clearance)


def replayed_to_the_end(replayed_api: CopyOf, scenario: str, store: str) -> tuple[ApiClient, Replay, Replayer, Live]:
    """The scenario replayed to its end (once per session), the live picture recorded at each checkpoint, and the
    HTTP API on a copy of its store."""
    api, replayed = replayed_api(scenario, store)
    assert not replayed.replay.failures, replayed.replay.report()
    assert set(replayed.live) == {c["id"] for c in replayed.replay.scenario["checkpoints"]}
    return api, replayed.replay, replayed.replayer(api), replayed.live


@pytest.mark.parametrize("scenario", ["S1", "S3", "S4"])
def test_every_checkpoint_holds_when_recomputed_from_history_at_the_end(
    replayed_api: CopyOf, store: str, scenario: str
) -> None:
    """Given the scenario replayed to its last step, with the live picture recorded at each checkpoint, when
    the auditor asks for the picture as known at each checkpoint's moment, then the checkpoint's
    expectations hold on it, and it is what the live reads showed then (S1-A included: leadership's
    uncleared overview at 00:45), from the snapshots and from a full replay alike."""
    audit_api, _, replayer, live = replayed_to_the_end(replayed_api, scenario, store)
    from_snapshots = []
    for checkpoint_id, (checkpoint, shown) in live.items():
        as_known = AsKnownAt(replayer, checkpoint)
        check_read_models(as_known, checkpoint)
        assert not as_known.replay.failures, as_known.replay.report()

        cleared = checkpoint.get("clearance", True)
        for path, live_answer in shown.items():
            answer = as_known.as_of(path, clearance=cleared)
            basis = answer.pop("history")
            assert answer == live_answer, f"{checkpoint_id} {path}"
            if path == "/situation-overview":
                from_snapshots.append(basis["snapshot_position"])
                replayed = as_known.as_of(path, clearance=cleared, full_replay="true")
                assert replayed.pop("history")["snapshot_position"] is None
                assert replayed == live_answer, f"{checkpoint_id} {path} (full replay)"
    assert audit_api.services.history.snapshots.all(), "the follower took no snapshot"
    assert any(p is not None for p in from_snapshots), from_snapshots
    if scenario == "S1":
        overview_at_s1_a = live["S1-A"][1]["/situation-overview"]
        assert live["S1-A"][0]["clearance"] is False and overview_at_s1_a["active_crises"][0]["severity"] == 3


def test_s1_c_the_audit_replay_after_the_after_action_review(replayed_api: CopyOf, store: str) -> None:
    """Given S1 replayed to step 36 (the after-action review on 4 November), when the auditor asks for C-S1 as
    it was at S1-C (12:00+02:00 on 26 October), then it was CLOSED at 11:30+02:00 with four actions, and its
    timeline holds the severity changes 2→3 at 23:20+03:00 and 3→2 at 06:00+02:00; the refused attempts of
    steps 12, 22, 31 and 34 are kept with who, what, when and why, and no domain event was recorded then."""
    audit_api, replay, replayer, _ = replayed_to_the_end(replayed_api, "S1", store)
    checkpoint = next(c for c in replay.scenario["checkpoints"] if c["id"] == "S1-C")
    expect = checkpoint["expect"]
    as_known = AsKnownAt(replayer, checkpoint)
    last_step = replay.steps[-1].step
    assert (last_step["step"], last_step["command"]) == ("36", "RecordAfterActionReview")

    crisis = as_known.as_of("/crises/C-S1")["crisis"]
    assert len(crisis["actions"]) == expect["history"]["actions_total"] == 4
    assert crisis["status"] == "CLOSED" and crisis["after_action_review"] is None
    timeline = as_known.as_of("/crises/C-S1/timeline")["entries"]
    closed = [e for e in timeline if e["kind"] == "status_changed" and e["content"]["to_status"] == "CLOSED"]
    assert [e["occurred_at"] for e in closed] == ["2025-10-26T11:30+02:00"]
    severity = [(e["content"]["from_severity"], e["content"]["to_severity"], e["occurred_at"])
                for e in timeline if e["kind"] == "severity_changed"]
    assert severity == [(2, 3, "2025-10-25T23:20+03:00"), (3, 2, "2025-10-26T06:00+02:00")]
    assert not any(e["kind"] == "after_action_review" for e in timeline)

    refusals = audit_api.services.refusals.list(limit=100_000)
    assert len(refusals) == expect["audit"]["rejected_attempts"] == 4
    moment = datetime.fromisoformat(checkpoint["at"])
    assert all(datetime.fromisoformat(r["at"]) <= moment for r in refusals)
    for attempt in expect["audit"]["attempt_steps"]:
        record = replay.step(attempt["step"], attempt["sub"])
        step = record.step
        when = datetime.fromisoformat(step["now"])
        kept = [r for r in refusals if datetime.fromisoformat(r["at"]) == when]
        assert [(r["user_name"], r["rule"]) for r in kept] == [(identity(step["actor"])[0], step["expect"]["code"])]
        assert kept[0]["message"] == record.exchange.response["detail"]
        assert record.appended_events == 0
    for absent in expect["audit"]["absent_from_domain_events"]:
        step = replay.step(absent["step"], absent["sub"]).step
        assert events_recorded_at(as_known, step) == [], step["step"]
    for record in replay.steps:
        if record.expected == "OK":
            shown = events_recorded_at(as_known, record.step)
            assert identity(record.step["actor"])[0] in {e["actor"] for e in shown}, record.label


def events_recorded_at(as_known: AsKnownAt, step: dict[str, Any]) -> list[dict[str, Any]]:
    """The domain events the audit log holds as recorded at the step's server time."""
    moment = quote(step["now"])
    page = Replayer.get(as_known, f"/audit/events?recorded_from={moment}&recorded_to={moment}&limit=1000", "AUD")
    assert page["end_of_log"]
    return page["items"]
