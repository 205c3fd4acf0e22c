"""A long crisis timeline and decision log read a page at a time, on every store: every item exactly once and
in instant order, forwards and backwards; time windows that cut where they say; cursors that hold while items
arrive; and cursors, windows and pages that cannot be followed refused with the rule they break."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from application.projections.paging import Page
from domain.shared import DomainError, Rule
from tests.application.support import DO1, LR, declare
from tests.application.test_projections import app, views  # noqa: F401 (the same fixtures)

START = datetime.fromisoformat("2025-10-25T21:40:00+03:00")
ENTRIES = 120


def record(app, count: int, first: int = 0) -> None:  # noqa: ANN001
    """`count` log entries that occurred out of recording order, many at the same minute as another."""
    for n in range(first, first + count):
        app.record_log_entry(DO1, "C-S1", text=f"report {n}", occurred_at=START + timedelta(minutes=1 + n * 7 % 41),
                             late_entry_reason="typed up from the radio log")


@pytest.fixture
def long_crisis(app, views, clock):  # noqa: ANN001, ANN201
    """C-S1 declared at 21:40 with ENTRIES log entries within the next 41 minutes, recorded an hour later."""
    declare(app, "C-S1")
    clock.advance(hours=1)
    record(app, ENTRIES)
    views.catch_up()
    return views.get_crisis_timeline(LR, "C-S1")["entries"]


def positions(entries: list[dict]) -> list[int]:
    return [e["position"] for e in entries]


def test_paging_forwards_and_backwards_returns_every_entry_exactly_once_in_instant_order(views, long_crisis):
    """Given a timeline of 121 entries, when it is read 7 at a time following `next` (and then back from the
    end following `previous`), then the pages together are the whole timeline, in its order, each entry once;
    the first page has no `previous` and the last no `next`."""
    forwards, page = [], views.get_crisis_timeline(LR, "C-S1", Page(limit=7))
    assert page.get("previous") is None
    while True:
        assert len(page["entries"]) <= 7
        forwards += page["entries"]
        if page.get("next") is None:
            break
        page = views.get_crisis_timeline(LR, "C-S1", Page(limit=7, after=page.get("next")))
    assert forwards == long_crisis
    assert len(set(positions(forwards))) == ENTRIES + 1

    backwards: list[dict] = []
    page = views.get_crisis_timeline(LR, "C-S1", Page(limit=7, before=long_crisis[-1]["position"]))
    while True:
        backwards = page["entries"] + backwards
        if page.get("previous") is None:
            break
        page = views.get_crisis_timeline(LR, "C-S1", Page(limit=7, before=page.get("previous")))
    assert backwards + long_crisis[-1:] == long_crisis


def test_a_window_holds_the_entries_that_occurred_from_its_start_until_before_its_end(views, long_crisis):
    """Given the timeline, when the entries that occurred from 21:50 to before 22:00 are asked for, then exactly
    those come, in order, paged like the rest."""
    start, end = START + timedelta(minutes=10), START + timedelta(minutes=20)
    inside = [e for e in long_crisis if start <= datetime.fromisoformat(e["occurred_at"]) < end]
    assert 0 < len(inside) < len(long_crisis)

    first = views.get_crisis_timeline(LR, "C-S1", Page(limit=5, start=start, end=end))
    rest = views.get_crisis_timeline(LR, "C-S1", Page(limit=1000, after=first.get("next"), start=start, end=end))

    assert first["entries"] + rest["entries"] == inside
    assert rest.get("next") is None


def test_a_cursor_holds_while_new_entries_arrive(app, views, long_crisis):
    """Given the first page read, when more entries are recorded before the next page is read, then the next page
    goes on from the same entry, and the new entries come in their place by instant, nothing read twice."""
    first = views.get_crisis_timeline(LR, "C-S1", Page(limit=30))
    record(app, 40, first=ENTRIES)
    views.catch_up()
    everything = views.get_crisis_timeline(LR, "C-S1")["entries"]

    rest = views.get_crisis_timeline(LR, "C-S1", Page(limit=1000, after=first.get("next")))

    cut = positions(everything).index(first.get("next")) + 1
    assert rest["entries"] == everything[cut:]
    assert not set(positions(first["entries"])) & set(positions(rest["entries"]))


def test_a_cursor_that_names_no_entry_of_the_crisis_and_a_window_that_ends_before_it_starts_are_refused(
    app, views, long_crisis
):
    """Given C-S1's timeline and another crisis, when a page is asked after an entry of the other crisis, after
    and before at once, or for a window ending before it starts, then each is refused as INVALID_INPUT naming
    the parameter."""
    declare(app, "C-S2")
    views.catch_up()
    of_s2 = views.get_crisis_timeline(LR, "C-S2")["entries"][0]["position"]
    refusals = {
        "after": lambda: views.get_crisis_timeline(LR, "C-S1", Page(limit=5, after=of_s2)),
        "before": lambda: Page(after=1, before=2),
        "to": lambda: Page(start=START, end=START),
    }
    for field, ask in refusals.items():
        with pytest.raises(DomainError) as refused:
            ask()
        assert (refused.value.rule, refused.value.details["field"]) == (Rule.INVALID_INPUT, field)


def test_the_decision_log_pages_by_decision_instant_with_each_page_holding_its_reviews(app, views, clock):
    """Given nine decisions decided out of recording order and a review of one, when
    the log is read 4 at a time following `next`, then the pages together are the whole log in its order, the
    review comes with its decision, and an id of no decision of C-S1 is refused as a cursor."""
    declare(app, "C-S1")
    clock.advance(hours=1)
    for n in range(9):
        app.record_decision(DO1, "C-S1", decision_id=f"D-{n}", decided_by="Mayor", decision=f"measure {n}",
                            rationale="storm", options=["do it", "wait"], late_entry_reason="minutes typed up",
                            occurred_at=START + timedelta(minutes=n * 5 % 17))
    app.record_decision_review(DO1, "C-S1", decision_id="D-4", outcome="still in force")
    views.catch_up()
    whole = views.get_decision_log(LR, "C-S1")["decisions"]

    pages, page = [], views.get_decision_log(LR, "C-S1", Page(limit=4))
    while True:
        pages += page["decisions"]
        if page.get("next") is None:
            break
        page = views.get_decision_log(LR, "C-S1", Page(limit=4, after=page.get("next")))

    assert pages == whole
    assert [d["decision_id"] for d in whole] == ["D-0", "D-7", "D-4", "D-1", "D-8", "D-5", "D-2", "D-6", "D-3"]
    assert [r["outcome"] for d in pages if d["decision_id"] == "D-4" for r in d["reviews"]] == ["still in force"]
    with pytest.raises(DomainError) as refused:
        views.get_decision_log(LR, "C-S1", Page(limit=4, after="D-99"))
    assert refused.value.details["field"] == "after"
