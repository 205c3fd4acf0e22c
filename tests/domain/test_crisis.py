"""The Crisis aggregate on its own: declaration, severity and status, log, actions, sitreps, decisions, review.

No database: each test builds a crisis, gives it commands and looks at its state and its pending events.
Times follow scenario S1 (the autumn storm, declared 2025-10-25 21:40+03:00).
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from domain.crisis import Crisis
from domain.crisis_records import CrisisRecord
from domain.shared import Classification, DomainError, Policy, Rule
from tests.domain.support import made, recorded, refused, saved

POLICY = Policy()
DECLARED = datetime.fromisoformat("2025-10-25T21:40+03:00")


def minutes(n: float) -> datetime:
    return DECLARED + timedelta(minutes=n)


def when(n: float = 10, actor: str = "DO-1", **extra: object) -> dict:
    """A command that happened n minutes after the declaration and is recorded at once, by `actor`."""
    return {"occurred_at": minutes(n), "policy": POLICY, "actor": actor, "now": minutes(n), **extra}


def declare(crisis_id: str = "C-S1", **overrides: object) -> Crisis:
    """Given a declared (and saved) crisis."""
    args = {
        "crisis_id": crisis_id,
        "title": "Storm: power outages in eastern Helsinki",
        "category": "SEVERE_WEATHER",
        "severity": 2,
        "condition": "NORMAL_DISRUPTION",
        "areas": ["Vuosaari", "Mellunkylä", "Itäkeskus", "Kontula"],
        "occurred_at": DECLARED,
        "emergency_conditions_in_force": False,
        "policy": POLICY,
        "actor": "DO-1",
        "now": DECLARED,
        **overrides,
    }
    return made(Crisis.declare(**args))


def read(crisis: Crisis) -> CrisisRecord:
    """The crisis as a reader is shown it, texts and all: folded from its events (the aggregate keeps no texts)."""
    return CrisisRecord.of(recorded(crisis))


def assign(crisis: Crisis, action_id: str = "A-S1-01", unit: str = "STARA", n: float = 25, due: float = 140) -> None:
    crisis.assign_action(
        action_id=action_id, unit=unit, task="Clear fallen trees, Vuosaari", due_at=minutes(due), **when(n)
    )


def resolve(crisis: Crisis, n: float = 600) -> None:
    crisis.contain(**when(n))
    crisis.resolve(**when(n + 5))


def decide(crisis: Crisis, decision_id: str = "D-S1-01", n: float = 90, **overrides: object) -> None:
    args = {
        "decision_id": decision_id,
        "decided_by": "Executive Director, SOTEPE",
        "authority": "division delegation",
        "decision": "Move 6 oxygen-dependent home-care clients to Malmi hospital overnight",
        "rationale": "outage ETA > 6 h exceeds plan MTPD",
        "options": ["battery swaps at home", "hospital transfer", "generators from Rescue Dept"],
        **when(n),
        **overrides,
    }
    crisis.record_decision(**args)


# --- declaration --------------------------------------------------------------------------------------


def test_a_declared_crisis_is_active_with_what_was_declared():
    crisis = Crisis.declare(
        crisis_id="C-S4",
        title="  Emailed bomb threats against six comprehensive schools ",
        category="THREAT_VIOLENCE",
        severity=2,
        lead_authority="Helsinki Police Department",
        classification=Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k"),
        occurred_at=DECLARED,
        emergency_conditions_in_force=False,
        policy=POLICY,
        actor="DO-1",
        now=DECLARED,
    )
    assert (crisis.crisis_id, crisis.status, crisis.severity, crisis.condition) == (
        "C-S4", "ACTIVE", 2, "NORMAL_DISRUPTION"
    )
    assert crisis.title == "Emailed bomb threats against six comprehensive schools"
    assert (crisis.lead_authority, crisis.declared_by, crisis.declared_at) == (
        "Helsinki Police Department", "DO-1", DECLARED
    )
    assert crisis.classification.label() == "[SECRET JulkL 24.1 § 7 k]"
    assert crisis.id == Crisis.id_for("C-S4")
    [declared] = saved(crisis)
    assert isinstance(declared, Crisis.Declared)
    assert (declared.actor, declared.recorded_at) == ("DO-1", DECLARED)


def test_a_crisis_is_declared_in_one_of_the_known_categories():
    with pytest.raises(DomainError) as error:
        declare(category="ALIENS")
    assert error.value.rule is Rule.INVALID_INPUT


def test_a_crisis_is_declared_with_a_severity_on_the_scale():
    with pytest.raises(DomainError) as error:
        declare(severity=5)
    assert error.value.rule is Rule.INVALID_SEVERITY


def test_a_crisis_is_declared_under_emergency_conditions_only_while_they_are_in_force():
    with pytest.raises(DomainError) as error:
        declare(condition="EMERGENCY_CONDITIONS")
    assert error.value.rule is Rule.NO_EMERGENCY_CONDITIONS
    crisis = declare(condition="EMERGENCY_CONDITIONS", emergency_conditions_in_force=True)
    assert crisis.condition == "EMERGENCY_CONDITIONS"


def test_a_crisis_declared_late_needs_a_late_entry_reason():
    """Given a crisis that began 20 min before it is declared, then the late entry is explained."""
    with pytest.raises(DomainError) as error:
        declare(occurred_at=minutes(-20))
    assert error.value.rule is Rule.LATE_ENTRY_REASON_REQUIRED
    crisis = declare(occurred_at=minutes(-20), late_entry_reason="declared after the call-out")
    assert crisis.declared_at == minutes(-20)


def test_a_crisis_cannot_be_declared_in_the_future():
    with pytest.raises(DomainError) as error:
        declare(occurred_at=minutes(3))
    assert error.value.rule is Rule.FUTURE_TIMESTAMP


# --- severity and condition ---------------------------------------------------------------------------


def test_severity_changes_record_from_and_to():
    crisis = declare()
    crisis.change_severity(to_severity=3, reason="31,000 customers out", **when(100))
    assert crisis.severity == 3
    [changed] = saved(crisis)
    assert (changed.from_severity, changed.to_severity, changed.actor) == (2, 3, "DO-1")
    assert changed.summary() == "severity changed to 3 by DO-1 at 23:20"


def test_severity_cannot_be_changed_to_the_severity_it_has():
    crisis = declare()
    with refused(crisis, Rule.INVALID_TRANSITION):
        crisis.change_severity(to_severity=2, reason=None, **when(100))


def test_severity_stays_on_the_scale():
    crisis = declare()
    with refused(crisis, Rule.INVALID_SEVERITY):
        crisis.change_severity(to_severity=0, reason=None, **when(100))


def test_the_condition_becomes_emergency_conditions_only_while_they_are_in_force():
    crisis = declare()
    with refused(crisis, Rule.NO_EMERGENCY_CONDITIONS):
        crisis.change_condition(
            to_condition="EMERGENCY_CONDITIONS", reason=None, emergency_conditions_in_force=False, **when(30)
        )
    crisis.change_condition(
        to_condition="EMERGENCY_CONDITIONS", reason=None, emergency_conditions_in_force=True, **when(30)
    )
    assert crisis.condition == "EMERGENCY_CONDITIONS"


# --- status -------------------------------------------------------------------------------------------


def test_a_crisis_moves_active_contained_active_contained_resolved_closed():
    crisis = declare()
    crisis.contain(**when(10))
    crisis.reopen(reason="second break", **when(20))
    crisis.contain(**when(30))
    crisis.resolve(**when(40))
    crisis.close(**when(50))
    assert crisis.status == "CLOSED"
    moves = [(e.from_status, e.to_status) for e in saved(crisis)]
    assert moves == [
        ("ACTIVE", "CONTAINED"),
        ("CONTAINED", "ACTIVE"),
        ("ACTIVE", "CONTAINED"),
        ("CONTAINED", "RESOLVED"),
        ("RESOLVED", "CLOSED"),
    ]


@pytest.mark.parametrize(
    ("given", "move"),
    [
        ([], "resolve"),  # ACTIVE cannot be resolved without being contained
        ([], "close"),
        ([], "reopen"),
        (["contain"], "close"),
        (["contain", "resolve"], "reopen"),
        (["contain", "resolve"], "contain"),
    ],
)
def test_status_moves_only_along_the_arrows(given, move):
    crisis = declare()
    for n, step in enumerate(given, start=1):
        getattr(crisis, step)(**when(n))
    saved(crisis)
    with refused(crisis, Rule.INVALID_TRANSITION):
        getattr(crisis, move)(**when(10))


def test_a_crisis_with_an_open_action_cannot_close():
    """Given C-S1 resolved with A-S1-04 still open, when closed, then OPEN_ITEMS names the action."""
    crisis = declare()
    assign(crisis, "A-S1-04", "KYMP")
    resolve(crisis)
    with refused(crisis, Rule.OPEN_ITEMS) as error:
        crisis.close(**when(700))
    assert error.value.message == "open actions: [A-S1-04]"


def test_a_crisis_closes_once_its_actions_are_completed_or_cancelled():
    crisis = declare()
    assign(crisis, "A-S1-01")
    assign(crisis, "A-S1-02", "SOTEPE")
    crisis.complete_action(action_id="A-S1-01", **when(60))
    crisis.cancel_action(action_id="A-S1-02", note="no longer needed", **when(61))
    resolve(crisis)
    crisis.close(**when(700))
    assert crisis.status == "CLOSED"


def test_a_crisis_with_an_open_police_request_cannot_close_until_it_is_closed():
    crisis = declare()
    crisis.link_police_request(request_id="PR-S1-02", liaison_id="L-S1", actor="PC", now=minutes(115))
    resolve(crisis)
    with refused(crisis, Rule.OPEN_ITEMS) as error:
        crisis.close(**when(700))
    assert error.value.message == "open police requests: [PR-S1-02]"
    crisis.unlink_police_request(request_id="PR-S1-02", outcome="ANSWERED", actor="PC", now=minutes(701))
    crisis.close(**when(702))
    assert crisis.status == "CLOSED"


def test_a_crisis_with_a_continuity_plan_still_active_cannot_close_until_it_is_deactivated():
    """Given CP-SOTEPE-02 still active for the crisis, when closed, then PLAN_STILL_ACTIVE."""
    crisis = declare()
    crisis.link_plan(plan_id="CP-SOTEPE-02", unit="SOTEPE", actor="DIV-SOTEPE", now=minutes(60))
    resolve(crisis)
    with refused(crisis, Rule.PLAN_STILL_ACTIVE) as error:
        crisis.close(**when(700))
    assert error.value.message.startswith("CP-SOTEPE-02 still active")
    crisis.unlink_plan(plan_id="CP-SOTEPE-02", actor="DIV-SOTEPE", now=minutes(701))
    crisis.close(**when(702))
    assert crisis.status == "CLOSED"


def test_unlinking_a_plan_that_is_not_active_for_the_crisis_records_nothing():
    crisis = declare()
    crisis.unlink_plan(plan_id="CP-KASKO-01", actor="DIV-KASKO", now=minutes(5))
    crisis.unlink_police_request(request_id="PR-X", outcome="ANSWERED", actor="PC", now=minutes(5))
    assert saved(crisis) == []


@pytest.mark.parametrize(
    "command",
    [
        lambda c: c.record_log_entry(text="late news", source=None, **when(800)),
        lambda c: c.change_severity(to_severity=3, reason=None, **when(800)),
        lambda c: c.reopen(**when(800)),
        lambda c: c.close(**when(800)),
        lambda c: c.strike_log_entry(number=1, reason="wrong", actor="DO-1", now=minutes(800)),
        lambda c: assign(c, "A-S1-09", n=800, due=900),
        lambda c: c.issue_situation_report(number=None, summary="x", next_due_at=None, **when(800)),
        lambda c: decide(c, "D-S1-09", n=800),
        lambda c: c.link_plan(plan_id="CP-SOTEPE-01", unit="SOTEPE", actor="DIV-SOTEPE", now=minutes(800)),
        lambda c: c.link_police_request(request_id="PR-9", liaison_id="L-S1", actor="PC", now=minutes(800)),
    ],
    ids=["log", "severity", "reopen", "close", "strike", "action", "sitrep", "decision", "plan", "police"],
)
def test_a_closed_crisis_accepts_nothing_but_its_after_action_review(command):
    crisis = declare()
    crisis.record_log_entry(text="trees down", source=None, **when(5))
    resolve(crisis)
    crisis.close(**when(700))
    saved(crisis)
    with refused(crisis, Rule.CRISIS_CLOSED):
        command(crisis)


# --- after-action review ------------------------------------------------------------------------------

REVIEW_AT = DECLARED + timedelta(days=10)


def review(crisis: Crisis, actor: str = "PM") -> None:
    crisis.record_after_action_review(
        findings=["home-care device register out of date"],
        recommendations=["monthly device-register check"],
        occurred_at=REVIEW_AT,
        policy=POLICY,
        actor=actor,
        now=REVIEW_AT,
    )


def test_the_after_action_review_waits_until_the_crisis_is_closed():
    crisis = declare()
    resolve(crisis)
    with refused(crisis, Rule.CRISIS_NOT_CLOSED) as error:
        review(crisis)
    assert "C-S1 is RESOLVED" in error.value.message


def test_a_closed_crisis_takes_its_after_action_review_once():
    crisis = declare()
    resolve(crisis)
    crisis.close(**when(700))
    review(crisis)
    assert read(crisis).after_action_review.findings == ["home-care device register out of date"]
    assert crisis.after_action_review.actor == "PM"
    with refused(crisis, Rule.IMMUTABLE_RECORD):
        review(crisis, actor="PM-2")
    assert crisis.after_action_review.actor == "PM"


def test_an_after_action_review_records_at_least_one_finding():
    crisis = declare()
    resolve(crisis)
    crisis.close(**when(700))
    with refused(crisis, Rule.INVALID_INPUT):
        crisis.record_after_action_review(findings=[" "], recommendations=[], **when(800))


# --- crisis log ---------------------------------------------------------------------------------------


def test_log_entries_are_numbered_and_keep_both_times_and_their_source():
    """Given an entry recorded 25 min after it happened, then it keeps when it happened, when recorded, and why late."""
    crisis = declare()
    crisis.record_log_entry(text="~9,000 customers without power", source="HELEN", **when(5))
    number = crisis.record_log_entry(
        text="trees down in Vuosaari",
        source=None,
        occurred_at=minutes(10),
        late_entry_reason="radio message logged late",
        policy=POLICY,
        actor="DO-2",
        now=minutes(35),
    )
    assert number == 2
    first, second = read(crisis).log
    assert (first.number, first.source, first.text) == (1, "HELEN", "~9,000 customers without power")
    assert (second.occurred_at, second.recorded_at, second.actor) == (minutes(10), minutes(35), "DO-2")
    assert second.late_entry_reason == "radio message logged late"


def test_a_log_entry_has_text():
    crisis = declare()
    with refused(crisis, Rule.INVALID_INPUT):
        crisis.record_log_entry(text="  ", source=None, **when(5))


def test_a_log_entry_cannot_have_happened_before_the_crisis_was_declared():
    crisis = declare("C-S4")
    with refused(crisis, Rule.BEFORE_CRISIS_START) as error:
        crisis.record_log_entry(
            text="phone call", source=None, late_entry_reason="logged late", **when(-20, now=minutes(8))
        )
    assert error.value.message == "occurredAt 21:20 is before C-S4 was declared at 21:40"


def test_a_log_entry_cannot_be_dated_more_than_two_minutes_ahead_of_the_server_clock():
    crisis = declare()
    with refused(crisis, Rule.FUTURE_TIMESTAMP):
        crisis.record_log_entry(text="results clean", source=None, **when(30, now=minutes(27)))


def test_a_wrong_log_entry_is_struck_through_with_a_reason_and_kept():
    crisis = declare()
    crisis.record_log_entry(text="Kontula school evacuated", source=None, **when(5))
    saved(crisis)
    crisis.strike_log_entry(number=1, reason="it was Kallio school", actor="DO-2", now=minutes(9))
    [entry] = read(crisis).log
    assert entry.text == "Kontula school evacuated"
    assert (entry.struck, entry.struck_reason, entry.struck_by, entry.struck_at) == (
        True, "it was Kallio school", "DO-2", minutes(9)
    )
    assert [type(e) for e in saved(crisis)] == [Crisis.LogEntryStruck]


def test_a_struck_log_entry_cannot_be_struck_again():
    crisis = declare()
    crisis.record_log_entry(text="Kontula school evacuated", source=None, **when(5))
    crisis.strike_log_entry(number=1, reason="it was Kallio school", actor="DO-2", now=minutes(9))
    saved(crisis)
    with refused(crisis, Rule.IMMUTABLE_RECORD) as error:
        crisis.strike_log_entry(number=1, reason="again", actor="DO-1", now=minutes(10))
    assert "already struck through by DO-2" in error.value.message
    assert read(crisis).log[0].struck_reason == "it was Kallio school"


def test_striking_needs_a_reason_and_an_existing_entry():
    crisis = declare()
    crisis.record_log_entry(text="trees down", source=None, **when(5))
    saved(crisis)
    with refused(crisis, Rule.INVALID_INPUT):
        crisis.strike_log_entry(number=1, reason=" ", actor="DO-1", now=minutes(9))
    with refused(crisis, Rule.NOT_FOUND):
        crisis.strike_log_entry(number=2, reason="wrong", actor="DO-1", now=minutes(9))
    with refused(crisis, Rule.NOT_FOUND):
        crisis.strike_log_entry(number=0, reason="wrong", actor="DO-1", now=minutes(9))


# --- actions ------------------------------------------------------------------------------------------


def test_an_assigned_action_is_open_and_overdue_only_after_its_due_time():
    """Given A-S1-01 for STARA due 00:00, then it is overdue at 00:01 but not at 23:59, and never once completed."""
    crisis = declare()
    assign(crisis, "A-S1-01", "STARA", n=25, due=140)
    action = read(crisis).actions["A-S1-01"]
    assert (action.unit, action.status, action.due_at, action.actor) == ("STARA", "OPEN", minutes(140), "DO-1")
    assert not action.is_overdue(minutes(139))
    assert action.is_overdue(minutes(141))
    crisis.complete_action(action_id="A-S1-01", **when(150))
    assert not read(crisis).actions["A-S1-01"].is_overdue(minutes(151))
    assert read(crisis).open_actions() == []


@pytest.mark.parametrize("due", [25, 20], ids=["at assignment", "before assignment"])
def test_an_action_is_due_after_the_time_of_assignment(due):
    crisis = declare()
    with refused(crisis, Rule.INVALID_DUE_TIME):
        assign(crisis, n=25, due=due)


@pytest.mark.parametrize("unit", ["HKL", "HSY", "HPD", "KAUPUNKILIIKENNE"])
def test_an_action_is_assigned_to_a_city_unit_only(unit):
    crisis = declare()
    with refused(crisis, Rule.UNKNOWN_UNIT):
        assign(crisis, "A-S3-X1", unit)


def test_an_action_id_is_used_once_per_crisis():
    crisis = declare()
    assign(crisis, "A-S1-01")
    saved(crisis)
    with refused(crisis, Rule.ALREADY_EXISTS):
        assign(crisis, "A-S1-01", "KYMP")


def test_completing_an_action_records_who_when_and_the_note():
    crisis = declare()
    assign(crisis, "A-S1-02", "SOTEPE")
    crisis.complete_action(action_id="A-S1-02", note="140 clients reached", **when(195, actor="DIV-SOTEPE"))
    action = read(crisis).actions["A-S1-02"]
    assert (action.status, action.closed_by, action.closed_at, action.note) == (
        "COMPLETED", "DIV-SOTEPE", minutes(195), "140 clients reached"
    )


@pytest.mark.parametrize(("first", "second"), [
    ("complete", "complete"), ("complete", "cancel"), ("cancel", "complete"), ("cancel", "cancel"),
])
def test_an_action_is_completed_or_cancelled_exactly_once(first, second):
    crisis = declare()
    assign(crisis)
    getattr(crisis, f"{first}_action")(action_id="A-S1-01", **when(60))
    saved(crisis)
    with refused(crisis, Rule.ACTION_NOT_OPEN) as error:
        getattr(crisis, f"{second}_action")(action_id="A-S1-01", **when(61))
    assert error.value.message.startswith(f"action A-S1-01 was already {first}")
    assert crisis.actions["A-S1-01"].status == {"complete": "COMPLETED", "cancel": "CANCELLED"}[first]


def test_completing_an_unknown_action_is_not_found():
    crisis = declare()
    with refused(crisis, Rule.NOT_FOUND):
        crisis.complete_action(action_id="A-NOPE", **when(60))


# --- situation reports --------------------------------------------------------------------------------


def test_situation_reports_are_numbered_consecutively():
    crisis = declare()
    assert crisis.issue_situation_report(number=1, summary="first", next_due_at=minutes(110), **when(10)) == 1
    assert crisis.issue_situation_report(number=None, summary="second", next_due_at=minutes(230), **when(110)) == 2
    latest = read(crisis).latest_situation_report
    assert (latest.number, latest.summary, latest.next_due_at) == (2, "second", minutes(230))


def test_a_situation_report_number_already_issued_is_a_duplicate_sequence():
    """Given sitreps #1–#3 issued, the third by DO-1 at 23:40, when DO-2 issues #3, then DUPLICATE_SEQUENCE."""
    crisis = declare()
    for n, number in ((10, 1), (60, 2), (120, 3)):
        crisis.issue_situation_report(number=number, summary=None, next_due_at=None, **when(n))
    saved(crisis)
    with refused(crisis, Rule.DUPLICATE_SEQUENCE) as error:
        crisis.issue_situation_report(number=3, summary=None, next_due_at=None, **when(121, actor="DO-2"))
    assert error.value.message == "sitrep #3 already issued 23:40 by DO-1; next is #4"


def test_a_situation_report_number_that_skips_one_is_a_duplicate_sequence():
    crisis = declare()
    crisis.issue_situation_report(number=1, summary=None, next_due_at=None, **when(10))
    saved(crisis)
    with refused(crisis, Rule.DUPLICATE_SEQUENCE) as error:
        crisis.issue_situation_report(number=3, summary=None, next_due_at=None, **when(20))
    assert error.value.message == "sitrep #3 would skip a number; next is #2"


def test_the_next_situation_report_is_due_after_this_one():
    crisis = declare()
    with refused(crisis, Rule.INVALID_DUE_TIME):
        crisis.issue_situation_report(number=1, summary=None, next_due_at=minutes(10), **when(10))


# --- decisions ----------------------------------------------------------------------------------------


def test_a_decision_is_recorded_for_the_decision_maker_by_the_duty_officer():
    crisis = declare()
    decide(crisis, review_at=minutes(620), references=["PR-S1-01"])
    decision = read(crisis).decisions["D-S1-01"]
    assert (decision.decided_by, decision.actor) == ("Executive Director, SOTEPE", "DO-1")
    assert decision.options == ["battery swaps at home", "hospital transfer", "generators from Rescue Dept"]
    assert (decision.review_at, decision.references, decision.superseded_by) == (minutes(620), ["PR-S1-01"], None)


@pytest.mark.parametrize("options", [[], ["hospital transfer"], ["hospital transfer", "  "]])
def test_a_decision_records_at_least_two_options_considered(options):
    crisis = declare()
    with refused(crisis, Rule.TOO_FEW_OPTIONS):
        decide(crisis, options=options)


def test_a_decision_is_reviewed_after_it_is_made():
    crisis = declare()
    with refused(crisis, Rule.INVALID_DUE_TIME):
        decide(crisis, n=90, review_at=minutes(80))


def test_a_recorded_decision_cannot_be_recorded_again():
    crisis = declare()
    decide(crisis)
    saved(crisis)
    with refused(crisis, Rule.IMMUTABLE_RECORD):
        decide(crisis, n=95, decision="something else")
    assert read(crisis).decisions["D-S1-01"].decision.startswith("Move 6")


def test_a_decision_is_superseded_by_a_new_one_and_the_old_one_is_kept():
    crisis = declare()
    decide(crisis, "D-S4-01")
    original = copy.deepcopy(read(crisis).decisions["D-S4-01"])
    decide(crisis, "D-S4-02", n=150, supersedes="D-S4-01", decision="5 schools start 10:00")
    old, new = read(crisis).decisions["D-S4-01"], read(crisis).decisions["D-S4-02"]
    assert (old.superseded_by, new.supersedes) == ("D-S4-02", "D-S4-01")
    assert (old.decision, old.rationale, old.options) == (original.decision, original.rationale, original.options)


def test_a_decision_is_superseded_only_within_its_own_crisis():
    """Given D-S1-01 in C-S1, when C-S4 supersedes it, then WRONG_CRISIS."""
    storm, threats = declare("C-S1"), declare("C-S4")
    decide(storm, "D-S1-01")
    with refused(threats, Rule.WRONG_CRISIS) as error:
        decide(threats, "D-S4-02", supersedes="D-S1-01")
    assert "D-S1-01 is not a decision of C-S4" in error.value.message


def test_a_superseded_decision_cannot_be_superseded_again():
    crisis = declare()
    decide(crisis, "D-1")
    decide(crisis, "D-2", n=100, supersedes="D-1")
    saved(crisis)
    with refused(crisis, Rule.IMMUTABLE_RECORD) as error:
        decide(crisis, "D-3", n=110, supersedes="D-1")
    assert "supersede D-2 instead" in error.value.message


def test_a_review_appends_its_outcome_and_leaves_the_decision_untouched():
    crisis = declare()
    decide(crisis)
    original = copy.deepcopy(read(crisis).decisions["D-S1-01"])
    crisis.record_decision_review(decision_id="D-S1-01", outcome="clients returned home 07:40", **when(620))
    crisis.record_decision_review(decision_id="D-S1-01", outcome="no further transfers", **when(630))
    reviewed = read(crisis).decisions["D-S1-01"]
    assert [r.outcome for r in reviewed.reviews] == ["clients returned home 07:40", "no further transfers"]
    assert reviewed.reviews[0].actor == "DO-1"
    reviewed.reviews, original.reviews = [], []
    assert reviewed == original


def test_reviewing_an_unknown_decision_is_not_found():
    crisis = declare()
    with refused(crisis, Rule.NOT_FOUND):
        crisis.record_decision_review(decision_id="D-NOPE", outcome="x", **when(620))


# --- what is recorded ---------------------------------------------------------------------------------


def test_every_event_records_the_acting_user_and_the_recording_time():
    crisis = declare()
    crisis.record_log_entry(text="trees down", source=None, **when(5, actor="DO-2"))
    assign(crisis)
    crisis.issue_situation_report(number=None, summary=None, next_due_at=None, **when(30, actor="PM"))
    events = saved(crisis)
    assert [(e.actor, e.recorded_at) for e in events] == [
        ("DO-2", minutes(5)), ("DO-1", minutes(25)), ("PM", minutes(30))
    ]


def test_a_refused_command_appends_no_event_and_changes_nothing():
    crisis = declare()
    assign(crisis)
    saved(crisis)
    state = copy.deepcopy(crisis.__dict__)
    with pytest.raises(DomainError):
        assign(crisis, "A-S1-02", "HKL")
    assert crisis.pending_events == []
    assert crisis.__dict__ == state


# --- exercise mode ----------------------------------------------------------------------------------------


def test_a_crisis_declared_as_an_exercise_says_so_and_a_crisis_is_real_unless_declared_one():
    # Given a crisis declared as an exercise, and one declared without saying
    exercise, real = declare("C-X1", exercise=True), declare("C-R1")
    # Then the exercise's declaration, its state and its record say so; the other's do not
    [declared] = recorded(exercise)
    assert declared.exercise is True and exercise.exercise is True and read(exercise).exercise is True
    assert recorded(real)[0].exercise is False and real.exercise is False and read(real).exercise is False


def test_a_declaration_stored_before_exercise_mode_is_of_a_real_crisis():
    # Given a declaration as it was stored before exercise mode: without the field
    [declared] = recorded(declare("C-OLD"))
    old = copy.copy(declared)
    del old.__dict__["exercise"]
    # When it is applied and folded, then the crisis is a real one
    assert "exercise" not in vars(old) and old.exercise is False
    assert old.mutate(None).exercise is False and CrisisRecord.of([old]).exercise is False


def test_a_snapshot_taken_before_exercise_mode_is_upcast_to_a_real_crisis():
    state = {"crisis_id": "C-OLD"}
    Crisis.upcast_v4_v5(state)
    assert state == {"crisis_id": "C-OLD", "exercise": False}
