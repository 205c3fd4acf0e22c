"""The replayer takes any script in the shared format: every command of DOMAIN.md has its route, a command or
argument it cannot send stops the run naming it, a refusal is checked against the script's own gist, and a
checkpoint fact no check understands fails the run.

The scripts here are a declared crisis and one step more, replayed on a fresh SQLite store.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.acceptance.replay import Replayer, UnmappedCommand, command_routes, missing_from
from tests.conftest import ApiClient

# DOMAIN.md's commands, in the scripts' words, and the attempts to change a record that is never changed.
DOMAIN_COMMANDS = [
    "DeclareCrisis", "ChangeSeverity", "ChangeCondition", "ContainCrisis", "ReopenCrisis", "ResolveCrisis",
    "CloseCrisis", "RecordLogEntry", "StrikeLogEntry", "AssignAction", "CompleteAction", "CancelAction",
    "IssueSituationReport", "RecordDecision", "RecordDecisionReview", "RecordAfterActionReview",
    "RecordEmergencyConditions", "ChangeReadiness", "DraftContinuityPlan", "ApproveContinuityPlan",
    "RecordPlanReview", "RecordExercise", "ActivateContinuityPlan", "DeactivateContinuityPlan",
    "OpenPoliceLiaison", "ChangeLiaisonPeople", "RaisePoliceRequest", "AnswerPoliceRequest",
    "DeclinePoliceRequest", "WithdrawPoliceRequest", "RecordInformationShared",
    *(f"{verb}{record}" for verb in ("Edit", "Replace", "Delete")
      for record in ("Decision", "LogEntry", "SituationReport")),
]

NOW = "2026-03-10T08:00:00+02:00"


def script(*steps: dict[str, Any], checkpoints: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """A script of a declared crisis C-T and the steps given, all at the same minute."""
    declare = {
        "command": "DeclareCrisis", "actor": "DO-1", "expect": {"outcome": "OK"},
        "args": {"crisis": "C-T", "title": "Test crisis", "category": "OTHER", "severity": 1, "areas": ["Kallio"]},
    }
    numbered = [
        {"step": f"{n:02}", "sub": 0, "now": NOW, "occurred_at": NOW, **step}
        for n, step in enumerate([declare, *steps], 1)
    ]
    return {"id": "T", "seed": {"plans": []}, "steps": numbered, "checkpoints": list(checkpoints)}


def assign_to_hkl(gist: str) -> dict[str, Any]:
    return {
        "command": "AssignAction", "actor": "DO-1",
        "args": {"crisis": "C-T", "action": "A-T-01", "unit": "HKL", "task": "Run replacement buses",
                 "due_at": "2026-03-10T09:00:00+02:00"},
        "expect": {"outcome": "REJECT", "code": "UNKNOWN_UNIT", "message_gist": gist},
    }


def test_every_command_of_the_domain_has_a_route_in_the_openapi_document(api: ApiClient) -> None:
    routes = command_routes(api.client.app.openapi())

    assert [command for command in DOMAIN_COMMANDS if command not in routes] == []
    assert routes["EditDecision"].method == "PATCH" and routes["DeleteLogEntry"].method == "DELETE"


def test_a_script_with_a_command_no_route_takes_stops_naming_the_command(api: ApiClient) -> None:
    evacuate = {"command": "EvacuateDistrict", "actor": "DO-1", "args": {"crisis": "C-T"}, "expect": {"outcome": "OK"}}

    with pytest.raises(UnmappedCommand, match="step 02: no route of the API takes the command 'EvacuateDistrict'"):
        Replayer(api, script(evacuate)).run()


def test_an_argument_with_no_place_in_the_route_stops_the_run_naming_it(api: ApiClient) -> None:
    step = assign_to_hkl("HKL is not a city unit")
    step["args"]["priority"] = "high"

    unmapped = r"arguments \['priority'\] have no place in POST /crises/\{crisis_id\}/actions"
    with pytest.raises(UnmappedCommand, match=unmapped):
        Replayer(api, script(step)).run()


@pytest.mark.parametrize(
    ("gist", "missing"),
    [
        ("HKL is not a city unit: trams moved to Kaupunkiliikenne Oy 1.2.2022", None),  # the meaning, other words
        ("HKL is not a city unit: use the metro", ["metro", "use"]),  # another fact
    ],
)
def test_a_refusal_is_checked_against_the_words_of_the_scripts_gist(
    api: ApiClient, gist: str, missing: list[str] | None
) -> None:
    replay = Replayer(api, script(assign_to_hkl(gist))).run()

    assert replay.failures == ([] if missing is None else [
        f"step 02 AssignAction by DO-1: expected REJECT(UNKNOWN_UNIT) \"{gist}\": detail 'HKL is not a city unit: "
        "tram operations moved to Kaupunkiliikenne Oy on 1.2.2022; record an external-partner request instead' "
        f"does not carry {missing} of the gist"
    ])


def test_the_gists_times_and_timestamps_match_the_answers_clock_times() -> None:
    assert missing_from("severity changed by DO-1 at 23:20", "severity changed by DO-1 at 23:20:00") == []
    assert missing_from("PR-S4-02 answered 2025-11-17T09:35+02:00", "answered 09:35") == []
    assert missing_from("PR-S4-02 answered 2025-11-17T09:35+02:00", "answered 09:36") == ["09:36"]
    assert missing_from("open actions: [A-S1-04]", "open action A-S1-04") == []


def test_a_checkpoint_fact_no_check_understands_fails_the_run(api: ApiClient) -> None:
    checkpoint = {
        "id": "T-A", "after_step": "01", "at": NOW,
        "expect": {"active_crises": [{"crisis": "C-T", "severity": 1, "status": "ACTIVE"}], "weather": "stormy",
                   "unmapped": ["C-T ACTIVE; the sea is rough"]},
    }

    replay = Replayer(api, script(checkpoints=[checkpoint])).run()

    assert replay.checkpoints["T-A"].unchecked == ["weather", "unmapped: the sea is rough"]
    assert replay.failures == ["T-A: facts no checkpoint hook checked: ['weather', 'unmapped: the sea is rough']"]
