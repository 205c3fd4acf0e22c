"""The AfterActionReview aggregate: the rules of a review's lifecycle and of its improvement items, and what a
reader is shown of it (folded from its events)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.after_action_review import AfterActionReview, ReviewRecord
from domain.crisis import Crisis
from domain.shared import PUBLIC, Classification, DomainError, Rule
from tests.domain.support import made, recorded, refused
from tests.domain.test_crisis import POLICY, declare, minutes, when

SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")


def closed(**overrides: object) -> Crisis:
    """Given the storm with two log entries, a decision and a report, then closed."""
    crisis = declare(**overrides)
    crisis.record_log_entry(text="Helen: 9,000 without power", **when(5))
    crisis.record_log_entry(text="Home care: device users found late", **when(6))
    crisis.record_decision(decision_id="D-1", decided_by="Mayor", decision="Open a warming centre",
                           rationale="cold night", options=["open", "wait"], **when(7))
    crisis.issue_situation_report(summary="Power back by morning", **when(8))
    for n, step in enumerate((crisis.contain, crisis.resolve, crisis.close)):
        step(**when(60 + n))
    return crisis


def drafted(crisis: Crisis, n: float = 600, **overrides: object) -> AfterActionReview:
    return made(AfterActionReview.draft(crisis=crisis, findings=["device register out of date"], **when(n, "PM"),
                                        **overrides))


def read(review: AfterActionReview) -> ReviewRecord:
    return ReviewRecord.of(recorded(review))


def add(review: AfterActionReview, crisis: Crisis, item_id: str = "I-1", unit: str = "SOTEPE", due: float = 2000,
        n: float = 610, **overrides: object) -> None:
    review.add_item(crisis=crisis, item_id=item_id, unit=unit, task="Monthly register check", due_at=minutes(due),
                    **when(n, "PM"), **overrides)


def test_a_review_is_drafted_only_for_a_closed_crisis_and_only_with_a_finding():
    crisis = declare()
    with pytest.raises(DomainError) as error:
        AfterActionReview.draft(crisis=crisis, findings=["x"], **when(20, "PM"))
    assert error.value.rule is Rule.CRISIS_NOT_CLOSED
    crisis = closed(crisis_id="C-S2")
    with pytest.raises(DomainError) as error:
        AfterActionReview.draft(crisis=crisis, findings=[" "], **when(600, "PM"))
    assert error.value.rule is Rule.INVALID_INPUT


def test_a_review_recorded_on_the_crisis_in_one_step_leaves_no_draft():
    crisis = closed()
    crisis.record_after_action_review(findings=["one step"], **when(600, "PM"))
    with pytest.raises(DomainError) as error:
        AfterActionReview.draft(crisis=crisis, findings=["x"], **when(601, "PM"))
    assert error.value.rule is Rule.IMMUTABLE_RECORD


def test_a_draft_is_commented_revised_and_made_final_then_never_changed():
    review = drafted(closed(), classification=SECRET)
    assert review.comment(text="the HSY call came late", **when(601)) == 1
    review.revise(findings=["register out of date", "HSY call late"], recommendations=["drill"], **when(602, "PM"))
    review.finalise(**when(603, "PM"))
    for command in (lambda: review.comment(text="late", **when(604)),
                    lambda: review.revise(findings=["y"], **when(604, "PM")),
                    lambda: review.finalise(**when(604, "PM"))):
        with refused(review, Rule.IMMUTABLE_RECORD):
            command()
    shown = read(review)
    assert (shown.status, shown.revisions, shown.finalised_by) == ("FINAL", 1, "PM")
    assert shown.findings == ["register out of date", "HSY call late"] and shown.recommendations == ["drill"]
    assert [c.text for c in shown.comments] == ["the HSY call came late"]
    # every event carries the review's classification: its texts are as secret as the review
    assert {event.classification for event in recorded(review)} == {SECRET}


def test_an_item_is_owned_by_a_city_unit_due_after_it_is_added_and_links_evidence_of_its_crisis():
    crisis = closed()
    review = drafted(crisis)
    with refused(review, Rule.UNKNOWN_UNIT):
        add(review, crisis, unit="HELEN")
    with refused(review, Rule.INVALID_DUE_TIME):
        add(review, crisis, due=610)
    with refused(review, Rule.INVALID_INPUT):
        add(review, crisis, evidence=[{"kind": "EMAIL", "ref": "1"}])
    for kind, ref in (("LOG_ENTRY", "3"), ("LOG_ENTRY", "x"), ("DECISION", "D-2"), ("SITUATION_REPORT", "2")):
        with refused(review, Rule.NOT_FOUND):
            add(review, crisis, evidence=[{"kind": kind, "ref": ref}])
    evidence = [{"kind": "LOG_ENTRY", "ref": "2"}, {"kind": "DECISION", "ref": "D-1"},
                {"kind": "SITUATION_REPORT", "ref": "1"}]
    add(review, crisis, evidence=evidence)
    with refused(review, Rule.ALREADY_EXISTS):
        add(review, crisis)
    assert read(review).items["I-1"].evidence == evidence


def test_items_close_once_final_done_with_a_note_or_dropped_with_a_reason():
    crisis = closed()
    review = drafted(crisis)
    add(review, crisis, "I-1")
    add(review, crisis, "I-2", unit="KASKO")
    with refused(review, Rule.INVALID_TRANSITION):
        review.complete_item(item_id="I-1", **when(620))
    review.finalise(**when(620, "PM"))
    with refused(review, Rule.IMMUTABLE_RECORD):
        add(review, crisis, "I-3", n=621)
    review.complete_item(item_id="I-1", note="register checked", **when(630, "DIV-SOTEPE"))
    with refused(review, Rule.INVALID_INPUT):
        review.drop_item(item_id="I-2", note=" ", **when(631, "PM"))
    review.drop_item(item_id="I-2", note="covered by the city project", **when(631, "PM"))
    with refused(review, Rule.INVALID_TRANSITION):
        review.complete_item(item_id="I-2", **when(632, "PM"))
    with refused(review, Rule.NOT_FOUND):
        review.complete_item(item_id="I-9", **when(632, "PM"))
    items = read(review).items
    assert [(i.status, i.note) for i in items.values()] == [("DONE", "register checked"),
                                                             ("DROPPED", "covered by the city project")]


def test_an_item_is_overdue_once_its_review_is_final_and_it_is_open_past_its_due_time():
    crisis = closed()
    review = drafted(crisis)
    add(review, crisis, due=700)
    late = minutes(701)
    assert not read(review).items["I-1"].overdue(late, final=False)
    review.finalise(**when(620, "PM"))
    item = read(review).items["I-1"]
    assert item.overdue(late, final=True) and not item.overdue(minutes(700), final=True)


def test_a_plans_review_is_set_from_an_item_of_a_final_review_within_the_due_window():
    crisis = closed()
    review = drafted(crisis)
    add(review, crisis)
    due = minutes(5000)
    with refused(review, Rule.INVALID_TRANSITION):
        review.set_plan_review(item_id="I-1", plan_id="CP-1", next_review_due=due, policy=POLICY, actor="PM",
                               now=minutes(620))
    review.finalise(**when(620, "PM"))
    with refused(review, Rule.OUT_OF_RANGE):
        review.set_plan_review(item_id="I-1", plan_id="CP-1", next_review_due=minutes(620) + timedelta(days=5000),
                               policy=POLICY, actor="PM", now=minutes(620))
    item = review.set_plan_review(item_id="I-1", plan_id="CP-1", next_review_due=due, policy=POLICY, actor="PM",
                                  now=minutes(621))
    assert item.unit == "SOTEPE"
    assert read(review).items["I-1"].plan_reviews[0]["next_review_due"] == due


def test_a_review_is_at_least_as_secret_as_its_crisis():
    """A review drafted for a SECRET crisis without a classification, or as PUBLIC, is as secret as the crisis;
    one given a classification of its own keeps it."""
    for given in ({}, {"classification": PUBLIC}):
        assert drafted(closed(classification=SECRET), **given).classification == SECRET
    assert drafted(closed(), classification=SECRET).classification == SECRET
    assert drafted(closed()).classification == PUBLIC
