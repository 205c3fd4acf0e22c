"""After-action reviews that lead somewhere, on every store: drafted once the crisis is CLOSED, commented and
revised while a draft, made final (then never changed); improvement items with an owner unit, a due date and
evidence of the crisis, tracked until DONE or DROPPED; a plan's next review set from an item on both records;
the one-step review recorded on the crisis as before, excluding a draft."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.after_action_review import AfterActionReview
from domain.shared import Classification, DomainError, Rule
from tests.application.support import DO1, LR, PM, approved_plan, contact, declare, move, refused

SOTEPE, KASKO = contact("SOTEPE"), contact("KASKO")
SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def a_closed_crisis(app, clock, crisis_id: str = "C-S1") -> None:  # noqa: ANN001
    """Given a crisis with two log entries, a decision and a situation report, then closed."""
    declare(app, crisis_id)
    app.record_log_entry(DO1, crisis_id, text="HSY: pressure loss in Vuosaari")
    app.record_log_entry(DO1, crisis_id, text="Home care clients without water")
    app.record_decision(
        DO1, crisis_id, decision_id="D-1", decided_by="Mayor", decision="Open water points",
        rationale="no tap water", options=["open water points", "wait"],
    )
    app.issue_situation_report(DO1, crisis_id, summary="Water back by evening")
    clock.advance(minutes=1)
    move(app, crisis_id, "contain", "resolve", "close")


def a_final_review(app, clock, due_in: timedelta = timedelta(days=30)) -> None:  # noqa: ANN001
    """Given C-S1 closed and its review final with item I-1 for SOTEPE due in `due_in`."""
    a_closed_crisis(app, clock)
    app.draft_after_action_review(PM, "C-S1", findings=["device register out of date"])
    app.add_improvement_item(
        PM, "C-S1", item_id="I-1", unit="SOTEPE", task="Monthly device register check",
        due_at=app.now() + due_in, evidence=[{"kind": "LOG_ENTRY", "ref": "2"}, {"kind": "DECISION", "ref": "D-1"}],
    )
    app.finalise_after_action_review(PM, "C-S1")


def test_a_review_is_drafted_commented_revised_and_made_final(app, clock):
    a_closed_crisis(app, clock)
    assert app.draft_after_action_review(PM, "C-S1", findings=["register out of date"], recommendations=["x"]) == 1
    app.comment_after_action_review(DO1, "C-S1", text="The HSY call came late too")
    app.comment_after_action_review(SOTEPE, "C-S1", text="We had no list of device users")
    app.revise_after_action_review(PM, "C-S1", findings=["register out of date", "HSY call late"])
    version = app.finalise_after_action_review(PM, "C-S1")
    review = app.get_after_action_review(LR, "C-S1")
    assert (review.status, review.version, version) == ("FINAL", 5, 5)
    assert review.findings == ["register out of date", "HSY call late"] and review.recommendations == []
    assert [(c.number, c.actor) for c in review.comments] == [(1, "DO-1"), (2, "DIV-SOTEPE")]
    assert review.finalised_by == "PM"


def test_the_review_waits_for_the_crisis_to_close_and_is_drafted_once(services, app, clock):
    declare(app, "C-S1")
    refused(services, Rule.CRISIS_NOT_CLOSED, app.draft_after_action_review, PM, "C-S1", findings=["x"])
    move(app, "C-S1", "contain", "resolve", "close")
    app.draft_after_action_review(PM, "C-S1", findings=["x"])
    refused(services, Rule.ALREADY_EXISTS, app.draft_after_action_review, PM, "C-S1", findings=["again"])
    refused(services, Rule.ALREADY_EXISTS, app.record_after_action_review, PM, "C-S1", findings=["one step"])


def test_a_review_recorded_in_one_step_is_final_and_excludes_a_draft(services, app, clock):
    declare(app, "C-S1", classification=SECRET)
    move(app, "C-S1", "contain", "resolve", "close")
    app.record_after_action_review(PM, "C-S1", findings=["one step"], recommendations=["drill"])
    refused(services, Rule.IMMUTABLE_RECORD, app.draft_after_action_review, PM, "C-S1", findings=["draft"])
    review = app.get_after_action_review(LR, "C-S1")
    assert (review.status, review.findings, review.recommendations) == ("FINAL", ["one step"], ["drill"])
    assert review.classification == SECRET  # as secret as the crisis it was recorded on
    refused(services, Rule.IMMUTABLE_RECORD, app.comment_after_action_review, DO1, "C-S1", text="late")


def test_a_final_review_is_never_changed(services, app, clock):
    a_final_review(app, clock)
    refused(services, Rule.IMMUTABLE_RECORD, app.revise_after_action_review, PM, "C-S1", findings=["y"])
    refused(services, Rule.IMMUTABLE_RECORD, app.comment_after_action_review, DO1, "C-S1", text="y")
    refused(services, Rule.IMMUTABLE_RECORD, app.finalise_after_action_review, PM, "C-S1")
    refused(
        services, Rule.IMMUTABLE_RECORD, app.add_improvement_item, PM, "C-S1", item_id="I-2", unit="KASKO",
        task="t", due_at=app.now() + timedelta(days=1),
    )


def test_an_item_is_for_a_city_unit_due_after_it_is_added_with_evidence_of_the_crisis(services, app, clock):
    a_closed_crisis(app, clock)
    app.draft_after_action_review(PM, "C-S1", findings=["x"])
    later = app.now() + timedelta(days=7)
    item = {"item_id": "I-1", "task": "Check the register"}
    refused(services, Rule.UNKNOWN_UNIT, app.add_improvement_item, PM, "C-S1", unit="HSY", due_at=later, **item)
    refused(services, Rule.INVALID_DUE_TIME, app.add_improvement_item, PM, "C-S1", unit="SOTEPE", **item)
    refused(services, Rule.INVALID_DUE_TIME, app.add_improvement_item, PM, "C-S1", unit="SOTEPE",
            due_at=app.now() - timedelta(minutes=1), **item)
    for kind, ref in (("LOG_ENTRY", "3"), ("DECISION", "D-9"), ("SITUATION_REPORT", "2")):
        refused(services, Rule.NOT_FOUND, app.add_improvement_item, PM, "C-S1", unit="SOTEPE", due_at=later,
                evidence=[{"kind": kind, "ref": ref}], **item)
    app.add_improvement_item(PM, "C-S1", unit="SOTEPE", due_at=later,
                             evidence=[{"kind": "SITUATION_REPORT", "ref": "1"}], **item)
    refused(services, Rule.ALREADY_EXISTS, app.add_improvement_item, PM, "C-S1", unit="KASKO", due_at=later, **item)
    assert app.get_after_action_review(LR, "C-S1").items["I-1"].evidence == [{"kind": "SITUATION_REPORT", "ref": "1"}]


def test_items_are_tracked_once_final_done_by_their_unit_or_dropped_with_a_reason(services, app, clock):
    a_closed_crisis(app, clock)
    app.draft_after_action_review(PM, "C-S1", findings=["x"])
    for item_id, unit in (("I-1", "SOTEPE"), ("I-2", "KASKO")):
        app.add_improvement_item(PM, "C-S1", item_id=item_id, unit=unit, task="t", due_at=app.now() + timedelta(days=3))
    refused(services, Rule.INVALID_TRANSITION, app.complete_improvement_item, SOTEPE, "C-S1", item_id="I-1")
    app.finalise_after_action_review(PM, "C-S1")
    refused(services, Rule.FORBIDDEN_ROLE, app.complete_improvement_item, KASKO, "C-S1", item_id="I-1")
    refused(services, Rule.FORBIDDEN_ROLE, app.complete_improvement_item, DO1, "C-S1", item_id="I-1")
    app.complete_improvement_item(SOTEPE, "C-S1", item_id="I-1", note="register checked monthly from now")
    refused(services, Rule.INVALID_TRANSITION, app.drop_improvement_item, PM, "C-S1", item_id="I-1", reason="r")
    refused(services, Rule.FORBIDDEN_ROLE, app.drop_improvement_item, KASKO, "C-S1", item_id="I-2", reason="r")
    refused(services, Rule.INVALID_INPUT, app.drop_improvement_item, PM, "C-S1", item_id="I-2")
    app.drop_improvement_item(PM, "C-S1", item_id="I-2", reason="covered by the city-wide register project")
    refused(services, Rule.NOT_FOUND, app.complete_improvement_item, PM, "C-S1", item_id="I-9")
    items = app.get_after_action_review(LR, "C-S1").items
    assert [(i.status, i.closed_by) for i in items.values()] == [("DONE", "DIV-SOTEPE"), ("DROPPED", "PM")]


def test_a_plans_next_review_is_set_from_an_item_on_both_records(services, app, clock):
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    approved_plan(app, "KASKO", "CP-KASKO-01")
    a_final_review(app, clock)
    due = app.now() + timedelta(days=60)
    refused(services, Rule.FORBIDDEN_ROLE, app.set_plan_review_from_item, KASKO, "C-S1", item_id="I-1",
            plan_id="CP-KASKO-01", next_review_due=due)
    refused(services, Rule.NOT_FOUND, app.set_plan_review_from_item, SOTEPE, "C-S1", item_id="I-1",
            plan_id="CP-KASKO-01", next_review_due=due)
    refused(services, Rule.INVALID_DUE_TIME, app.set_plan_review_from_item, SOTEPE, "C-S1", item_id="I-1",
            plan_id="CP-SOTEPE-02", next_review_due=app.now() - timedelta(days=1))
    refused(services, Rule.INVALID_DUE_TIME, app.set_plan_review_from_item, SOTEPE, "C-S1", item_id="I-1",
            plan_id="CP-SOTEPE-02")
    app.set_plan_review_from_item(SOTEPE, "C-S1", item_id="I-1", plan_id="CP-SOTEPE-02", next_review_due=due)
    plan = app.get_division_preparedness(LR, "SOTEPE").plans["CP-SOTEPE-02"]
    assert plan.next_review_due == due
    item = app.get_after_action_review(LR, "C-S1").items["I-1"]
    assert [(r["plan_id"], r["next_review_due"]) for r in item.plan_reviews] == [("CP-SOTEPE-02", due)]


def test_a_plans_review_is_set_from_a_final_review_only(services, app, clock):
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    a_closed_crisis(app, clock)
    app.draft_after_action_review(PM, "C-S1", findings=["x"])
    app.add_improvement_item(PM, "C-S1", item_id="I-1", unit="SOTEPE", task="t", due_at=app.now() + timedelta(days=3))
    refused(services, Rule.INVALID_TRANSITION, app.set_plan_review_from_item, PM, "C-S1", item_id="I-1",
            plan_id="CP-SOTEPE-02", next_review_due=app.now() + timedelta(days=30))


def test_only_the_preparedness_manager_drafts_and_read_only_roles_comment_on_nothing(services, app, clock):
    a_closed_crisis(app, clock)
    refused(services, Rule.FORBIDDEN_ROLE, app.draft_after_action_review, DO1, "C-S1", findings=["x"])
    app.draft_after_action_review(PM, "C-S1", findings=["x"])
    refused(services, Rule.FORBIDDEN_ROLE, app.comment_after_action_review, LR, "C-S1", text="x")
    refused(services, Rule.FORBIDDEN_ROLE, app.finalise_after_action_review, DO1, "C-S1")


def test_reading_the_review_of_a_crisis_without_one_is_not_found(app, clock):
    a_closed_crisis(app, clock)
    for crisis_id in ("C-S1", "C-NONE"):
        with pytest.raises(DomainError) as error:
            app.get_after_action_review(LR, crisis_id)
        assert error.value.rule is Rule.NOT_FOUND


def test_a_stale_expected_version_of_the_review_names_what_changed(services, app, clock):
    a_closed_crisis(app, clock)
    app.draft_after_action_review(PM, "C-S1", findings=["x"])
    app.comment_after_action_review(DO1, "C-S1", text="first")
    with pytest.raises(DomainError) as error:
        app.revise_after_action_review(PM, "C-S1", findings=["y"], expected_version=1)
    assert error.value.rule is Rule.CONFLICT_VERSION and "comment #1" in error.value.message
    assert isinstance(app.load_after_action_review("C-S1"), AfterActionReview)
    assert app.get_after_action_review(LR, "C-S1").version == 2  # nothing recorded by the stale attempt


def test_auditors_see_the_reviews_steps_as_known_at_any_moment(services, app, clock):
    from application.audit.history import EventFilter
    from tests.application.support import AUD

    # Given a final review whose item turns overdue, then is done
    a_final_review(app, clock, due_in=timedelta(hours=1))
    drafted_and_final = clock.now
    clock.advance(hours=2)
    services.projections.catch_up()
    # the live overview counts the item overdue in its unit until it is done
    assert services.projections.get_situation_overview(LR)["overdue_improvement_items"] == {"SOTEPE": 1}
    clock.advance(minutes=5)
    app.complete_improvement_item(PM, "C-S1", item_id="I-1", note="done")
    services.projections.catch_up()
    assert "overdue_improvement_items" not in services.projections.get_situation_overview(LR)
    history = services.history
    # Then the timeline as known when the review was made final holds its steps, but not the item done
    kinds = [e["kind"] for e in history.get_crisis_timeline_at(AUD, "C-S1", drafted_and_final)["entries"]]
    assert kinds[-3:] == ["after_action_review_drafted", "improvement_item_added", "after_action_review_final"]
    # and the event log names the review's events by their crisis
    items = history.list_events(AUD, EventFilter(crisis_ids=("C-S1",), aggregate_kinds=("after_action_review",)))
    assert [(i["aggregate_id"], i["type"]) for i in items["items"]][-1] == ("C-S1", "AfterActionReview.ItemClosed")
