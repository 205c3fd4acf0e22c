"""Activity logs read from the event log, on every store: a unit's across crises within a window, a person's,
a crisis's; redacted for the reader, cut at a limit and at the scan budget.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from application import activity_log
from application.activity_log import Scope
from domain.access import Actor, Role
from domain.shared import Classification, DomainError, Rule
from tests.application.support import AUD, DO1, DO2, LR, contact, declare

SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")


@pytest.fixture
def days(services, clock):  # noqa: ANN001
    """Three days: C-1 on the first, with a SECRET action for KASKO; C-2 on the second, with a public action for
    KASKO and one for KYMP, and a KASKO readiness change; on the third, C-1's action completed by KASKO's
    contact. Returns the start of each day (the units' registration, at the service's start, before them)."""
    app = services.coordination
    clock.advance(minutes=5)  # after the units were registered, at the start
    starts = [clock()]
    declare(app, "C-1")
    app.assign_action(DO1, "C-1", action_id="A-1", unit="KASKO", task="Move pupils to the gym",
                      due_at=clock() + timedelta(days=5), classification=SECRET)
    clock.advance(hours=24)
    starts.append(clock())
    declare(app, "C-2", actor=DO2)
    app.assign_action(DO2, "C-2", action_id="A-2", unit="KASKO", task="Close the school",
                      due_at=clock() + timedelta(hours=2))
    app.assign_action(DO2, "C-2", action_id="A-3", unit="KYMP", task="Sandbags", due_at=clock() + timedelta(hours=2))
    app.change_readiness(contact("KASKO"), "KASKO", to_level="ENHANCED", decided_by="Director", crisis_ref="C-2")
    clock.advance(hours=24)
    starts.append(clock())
    app.complete_action(contact("KASKO"), "C-1", action_id="A-1", note="done in the gym")
    clock.advance(minutes=10)
    return starts


def read(services, actor: Actor, use_case: str, **scope: object) -> dict:  # noqa: ANN001
    return activity_log.activity_log(
        services.coordination, services.history.log, actor, use_case, Scope(**scope)  # type: ignore[arg-type]
    )


def test_a_units_log_across_crises_holds_what_was_recorded_in_the_window(services, days) -> None:  # noqa: ANN001
    # When KASKO's log is read for the second day only
    second_day = {"since": days[1], "until": days[2] - timedelta(seconds=1)}
    log = read(services, AUD, "get_unit_activity_log", unit="KASKO", **second_day)
    # Then it holds C-2's action for KASKO and the readiness change, not KYMP's, not the first or third day's
    assert [row["type"] for row in log["rows"]] == ["Crisis.ActionAssigned", "DivisionPreparedness.ReadinessChanged"]
    assert log["rows"][0]["record"] == "C-2" and log["rows"][1]["crisis_id"] == "C-2"
    # in Helsinki time with the offset
    assert log["rows"][0]["recorded_at"].endswith(("+02:00", "+03:00"))
    # And over the whole three days, C-1's action and its completion too, in the order recorded
    whole = read(services, AUD, "get_unit_activity_log", unit="KASKO", since=days[0])
    assert [row["summary"].split(" by ")[0] for row in whole["rows"]] == [
        "action A-1 assigned to KASKO", "action A-2 assigned to KASKO", "readiness changed to ENHANCED",
        "action A-1 completed",
    ]
    positions = [row["position"] for row in whole["rows"]]
    assert positions == sorted(positions)


def test_a_units_log_in_a_crisis_and_the_division_contacts_own_unit(services, days) -> None:  # noqa: ANN001
    # When KASKO's contact reads KASKO's log of C-1 (its whole life, whatever the default window)
    log = read(services, contact("KASKO"), "get_unit_activity_log", unit="KASKO", crisis_id="C-1")
    # Then the SECRET action is there as its label (the contact has no clearance), its completion too
    assert [row["type"] for row in log["rows"]] == ["Crisis.ActionAssigned", "Crisis.ActionClosed"]
    assert log["rows"][0]["details"]["task"] == "[SECRET JulkL 24.1 § 7 k]" and log["rows"][0]["redacted"]
    assert log["since"] is None and log["disclosed"] == []
    # And another unit's log, or the whole crisis's, is not theirs
    for scope in ({"unit": "KYMP"}, {"crisis_id": "C-1"}):
        with pytest.raises(DomainError) as refused:
            read(services, contact("KASKO"), "get_crisis_activity_log", **scope)
        assert refused.value.rule is Rule.FORBIDDEN_ROLE


def test_a_cleared_reader_sees_the_content_named_for_the_disclosure_log(services, days) -> None:  # noqa: ANN001
    cleared = Actor("AUD-C", Role.AUDITOR, clearance=True)
    log = read(services, cleared, "get_crisis_activity_log", crisis_id="C-1")
    assert log["rows"][1]["details"]["task"] == "Move pupils to the gym"
    assert log["disclosed"] == [{"kind": "action", "id": "A-1", "crisis_id": "C-1",
                                 "classification": SECRET.as_dict()}]


def test_a_persons_log_is_what_they_recorded(services, days) -> None:  # noqa: ANN001
    log = read(services, LR, "get_person_activity_log", person="DO-2", since=days[0])
    assert {row["actor"] for row in log["rows"]} == {"DO-2"} and len(log["rows"]) == 3
    # By default the last 7 days up to now
    assert read(services, LR, "get_person_activity_log", person="DO-2")["rows"] == log["rows"]


def test_the_log_is_cut_at_its_limit_and_at_the_scan_budget(services, days, monkeypatch) -> None:  # noqa: ANN001
    cut = read(services, AUD, "get_unit_activity_log", unit="KASKO", since=days[0], limit=1)
    assert len(cut["rows"]) == 1 and cut["more"] == 3 and cut["scanned_to"] is None
    monkeypatch.setattr(activity_log, "SCAN_BUDGET", 2)
    stopped = read(services, AUD, "get_crisis_activity_log", crisis_id="C-1")
    assert len(stopped["rows"]) == 2 and stopped["scanned_to"] is not None


def test_an_empty_window_and_a_limit_out_of_bounds_are_refused(services, days) -> None:  # noqa: ANN001
    for scope in ({"since": days[2], "until": days[1]}, {"limit": 0}):
        with pytest.raises(DomainError) as refused:
            read(services, AUD, "get_person_activity_log", person="DO-1", **scope)
        assert refused.value.rule is Rule.INVALID_INPUT


def test_a_crisis_log_holds_its_public_warnings_and_its_after_action_review(services, clock) -> None:  # noqa: ANN001
    # Given a crisis with a public warning issued, then closed and its after-action review drafted
    app = services.coordination
    clock.advance(minutes=5)
    declare(app, "C-W")
    texts = {language: {"headline": "Storm", "description": "Outages"} for language in ("fi", "sv")}
    app.draft_public_warning(DO1, "C-W", warning_id="W-1", texts=texts, urgency="Expected", certainty="Likely")
    app.approve_public_warning(DO2, "W-1")
    app.issue_public_warning(DO1, "W-1")
    for step in (app.contain_crisis, app.resolve_crisis, app.close_crisis):
        step(DO1, "C-W")
    app.draft_after_action_review(Actor("PM", Role.PREPAREDNESS_MANAGER), "C-W", findings=["Sirens failed"])
    # When the crisis's log is read, then it holds the warning's steps and the review with the crisis's own
    log = read(services, AUD, "get_crisis_activity_log", crisis_id="C-W")
    types = [row["type"] for row in log["rows"]]
    assert {"PublicWarning.Drafted", "PublicWarning.Approved", "PublicWarning.Issued",
            "AfterActionReview.Drafted"} <= set(types), types
    assert all(row["crisis_id"] == "C-W" for row in log["rows"])
