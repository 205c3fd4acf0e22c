"""The crisis use cases on every store (memory, SQLite, PostgreSQL): declaring and reading, the rules that hold
a crisis open while actions, police requests or continuity plans are open for it, stale versions, refused
attempts, what every event records, decisions, the after-action review, and snapshots."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application import crisis as crisis_use_cases
from application.coordination import CHANGES_SHOWN, Coordination
from domain.crisis import Crisis
from domain.crisis_records import CrisisRecord
from domain.division_preparedness import DivisionPreparedness
from domain.shared import Classification, DomainError, Rule
from infrastructure.bootstrap import open_services
from tests.application.support import (
    AUD,
    DO1,
    DO2,
    LR,
    PC,
    PM,
    approved_plan,
    contact,
    declare,
    move,
    open_request,
    refused,
)

SOTEPE = contact("SOTEPE")
SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")
FROM_POLICE = Classification.of("RECEIVED", marking="TL IV", originator="Helsinki Police Department")


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def test_a_declared_crisis_is_read_back_after_a_change(app, clock):
    """Given C-1 declared, when its severity is raised five minutes later, then it reads back at version 2."""
    declare(app, "C-1")
    clock.advance(minutes=5)
    version = app.change_severity(DO1, "C-1", to_severity=3, reason="worse")
    crisis = app.get_crisis(LR, "C-1")
    assert (crisis.severity, crisis.version, version) == (3, 2, 2)


def test_a_crisis_id_is_declared_once(services, app):
    declare(app, "C-S1")
    refused(services, Rule.ALREADY_EXISTS, declare, app, "C-S1", title="Another storm")


def test_reading_an_unknown_crisis_is_not_found(app):
    with pytest.raises(DomainError) as error:
        app.get_crisis(LR, "C-NOPE")
    assert error.value.rule is Rule.NOT_FOUND


# --- rules that span aggregates -----------------------------------------------------------------------


def test_a_crisis_cannot_close_while_a_continuity_plan_is_active_for_it(services, app, clock):
    """Given C-S3 resolved while SOTEPE's CP-SOTEPE-02 is still active for it, when closed, then PLAN_STILL_ACTIVE."""
    declare(app, "C-S3", category="UTILITY_WATER")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    clock.advance(minutes=30)
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S3")
    move(app, "C-S3", "contain", "resolve")
    error = refused(services, Rule.PLAN_STILL_ACTIVE, move, app, "C-S3", "close")
    assert error.message.startswith("CP-SOTEPE-02 still active")
    assert app.get_crisis(LR, "C-S3").status == "RESOLVED"


def test_a_crisis_closes_once_its_continuity_plan_is_deactivated(app, clock):
    declare(app, "C-S3", category="UTILITY_WATER")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S3")
    move(app, "C-S3", "contain", "resolve")
    clock.advance(minutes=15)
    app.deactivate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", reason="water restored")
    move(app, "C-S3", "close")
    assert app.get_crisis(LR, "C-S3").status == "CLOSED"
    assert app.get_division_preparedness(LR, "SOTEPE").plans["CP-SOTEPE-02"].active_for is None


def test_a_crisis_cannot_close_while_a_police_request_for_it_is_open(services, app):
    declare(app, "C-S1")
    open_request(app, "C-S1", "PR-S1-02")
    move(app, "C-S1", "contain", "resolve")
    error = refused(services, Rule.OPEN_ITEMS, move, app, "C-S1", "close")
    assert error.message == "open police requests: [PR-S1-02]"


@pytest.mark.parametrize(
    "close",
    [Coordination.answer_police_request, Coordination.decline_police_request, Coordination.withdraw_police_request],
    ids=["answer", "decline", "withdraw"],
)
def test_a_crisis_closes_once_its_police_requests_are_closed(app, close):
    declare(app, "C-S1")
    open_request(app, "C-S1", "PR-S1-02")
    close(app, PC, "L-C-S1", request_id="PR-S1-02", response="3 units listed")
    move(app, "C-S1", "contain", "resolve", "close")
    assert app.get_crisis(LR, "C-S1").status == "CLOSED"


def test_a_request_in_a_standing_topic_does_not_hold_any_crisis_open(app):
    declare(app, "C-S1")
    app.open_police_liaison(PC, liaison_id="L-PRIDE", topic="Helsinki Pride 2026")
    app.raise_police_request(
        PC, "L-PRIDE", request_id="PR-P-01", direction="CITY_TO_POLICE", request_type="COORDINATION", subject="route"
    )
    move(app, "C-S1", "contain", "resolve", "close")
    assert app.get_crisis(LR, "C-S1").status == "CLOSED"


def test_a_crisis_cannot_close_with_an_open_action(services, app, clock):
    declare(app, "C-S1")
    app.assign_action(DO1, "C-S1", action_id="A-S1-04", unit="KYMP", task="Make safe street lights",
                      due_at=clock() + timedelta(hours=8))
    move(app, "C-S1", "contain", "resolve")
    assert refused(services, Rule.OPEN_ITEMS, move, app, "C-S1", "close").message == "open actions: [A-S1-04]"


# --- stale versions -----------------------------------------------------------------------------------


def test_a_stale_expected_version_names_what_changed_since(services, app, clock):
    """Given DO-1 and DO-2 both read C-S1 at 23:19, when DO-1 raises severity to 3 at 23:20 and DO-2 then
    raises it to 4 on the same read, then DO-2 gets CONFLICT_VERSION naming DO-1's change."""
    declare(app, "C-S1")
    clock.set("2025-10-25T23:19:00+03:00")
    read = app.get_crisis(DO1, "C-S1").version
    clock.set("2025-10-25T23:20:00+03:00")
    app.change_severity(DO1, "C-S1", to_severity=3, reason="31,000 customers out", expected_version=read)
    clock.set("2025-10-25T23:20:05+03:00")
    error = refused(services, Rule.CONFLICT_VERSION, app.change_severity, DO2, "C-S1", to_severity=4,
                    reason="(parallel edit)", expected_version=read)
    assert error.message == "C-S1 is at version 2, not 1: severity changed to 3 by DO-1 at 23:20"
    assert error.details == {"current_version": 2}
    assert app.get_crisis(LR, "C-S1").severity == 3


def test_a_stale_version_lists_every_change_since(services, app, clock):
    declare(app, "C-S1")
    clock.advance(minutes=10)
    app.record_log_entry(DO1, "C-S1", text="trees down")
    app.contain_crisis(DO2, "C-S1")
    error = refused(
        services, Rule.CONFLICT_VERSION, app.change_severity, DO1, "C-S1", to_severity=3, expected_version=1
    )
    assert error.message == (
        "C-S1 is at version 3, not 1: log entry #1 recorded by DO-1 at 21:50; "
        "status changed to CONTAINED by DO-2 at 21:50"
    )


def test_a_version_far_behind_is_told_the_first_changes_since_and_how_many_more(services, app, clock):
    """Given C-S1 with 30 log entries after DO-1 read it at version 1, when DO-1 writes on that read, then the
    conflict names the first CHANGES_SHOWN changes since, in order, and how many more there were."""
    declare(app, "C-S1")
    for n in range(1, 31):
        app.record_log_entry(DO2, "C-S1", text=f"update {n}")
    error = refused(services, Rule.CONFLICT_VERSION, app.record_log_entry, DO1, "C-S1", text="x", expected_version=1)
    shown = [f"log entry #{n} recorded by DO-2 at 21:40" for n in range(1, CHANGES_SHOWN + 1)]
    assert error.message == f"C-S1 is at version 31, not 1: {'; '.join(shown)}; and {30 - CHANGES_SHOWN} more"


def test_an_expected_version_that_does_not_exist_yet_is_a_conflict(services, app):
    declare(app, "C-S1")
    error = refused(services, Rule.CONFLICT_VERSION, app.record_log_entry, DO1, "C-S1", text="x", expected_version=7)
    assert error.message == "C-S1 is at version 1; version 7 does not exist"


def test_the_current_expected_version_is_accepted(app):
    declare(app, "C-S1")
    assert app.change_severity(DO1, "C-S1", to_severity=3, expected_version=1) == 2


# --- refused attempts and what events record ----------------------------------------------------------


def test_a_refused_command_is_kept_for_auditors_and_appends_no_event(services, app, clock):
    """Given C-S3, when DO-1 assigns an action to HKL, then UNKNOWN_UNIT; the attempt is kept, no event appended."""
    declare(app, "C-S3", category="UTILITY_WATER")
    clock.advance(minutes=15)
    error = refused(services, Rule.UNKNOWN_UNIT, app.assign_action, DO1, "C-S3", action_id="A-S3-X1", unit="HKL",
                    task="Divert trams from Hämeentie", due_at=clock() + timedelta(hours=1))
    assert "tram operations moved to Kaupunkiliikenne Oy" in error.message
    [attempt] = services.refusals.list(target="C-S3")
    assert (attempt["user_name"], attempt["role"], attempt["command"], attempt["at"]) == (
        "DO-1", "duty_officer", "assign_action", clock().isoformat()
    )
    assert attempt["payload"]["unit"] == "HKL"
    assert app.get_crisis(AUD, "C-S3").version == 1


def test_refused_attempts_accumulate_in_order(services, app, clock):
    declare(app, "C-S3", category="UTILITY_WATER")
    clock.advance(minutes=40)
    refused(services, Rule.FUTURE_TIMESTAMP, app.record_log_entry, contact("KYMP"), "C-S3", text="sample results clean",
            occurred_at=clock() + timedelta(hours=2, minutes=20))
    refused(services, Rule.DUPLICATE_SEQUENCE, app.issue_situation_report, DO2, "C-S3", number=2)
    assert [a["rule"] for a in services.refusals.list()] == ["FUTURE_TIMESTAMP", "DUPLICATE_SEQUENCE"]


def test_events_record_the_acting_user_and_the_recording_time_from_the_clock(app, clock):
    """Given a log entry DO-2 records at 22:10 about something that happened at 21:50, then both times are kept."""
    declare(app, "C-S1")
    clock.advance(minutes=30)
    happened = clock() - timedelta(minutes=20)
    app.record_log_entry(DO2, "C-S1", text="trees down", occurred_at=happened, late_entry_reason="radio logged late")
    declared, logged = app.events.get(Crisis.id_for("C-S1"))
    assert (declared.actor, declared.recorded_at) == ("DO-1", clock() - timedelta(minutes=30))
    assert (logged.actor, logged.recorded_at, logged.occurred_at) == ("DO-2", clock(), happened)
    assert logged.late_entry_reason == "radio logged late"


def test_a_late_entry_without_its_reason_is_refused(services, app, clock):
    declare(app, "C-S1")
    clock.advance(minutes=30)
    refused(services, Rule.LATE_ENTRY_REASON_REQUIRED, app.record_log_entry, DO1, "C-S1", text="trees down",
            occurred_at=clock() - timedelta(minutes=16))


def test_a_decision_records_who_decided_it_and_who_recorded_it(app, clock):
    declare(app, "C-S4", category="THREAT_VIOLENCE")
    clock.advance(minutes=15)
    app.record_decision(
        DO1, "C-S4", decision_id="D-S4-01", decided_by="Executive Director, KASKO", authority="education provider",
        decision="Delay school start at 6 schools to 10:00", rationale="sweeps take ~2 h",
        options=["cancel school day", "delay start", "start normally"], review_at=clock() + timedelta(hours=2),
    )
    decision = app.get_crisis(LR, "C-S4").decisions["D-S4-01"]
    assert (decision.decided_by, decision.actor, decision.recorded_at) == ("Executive Director, KASKO", "DO-1", clock())
    *_, recorded = app.events.get(Crisis.id_for("C-S4"))
    assert (recorded.decided_by, recorded.actor) == ("Executive Director, KASKO", "DO-1")


def test_a_superseding_decision_keeps_the_original_and_a_review_appends(app, clock):
    declare(app, "C-S4", category="THREAT_VIOLENCE")
    options = ["all start", "some start", "all remote"]
    app.record_decision(DO1, "C-S4", decision_id="D-S4-01", decided_by="ED KASKO", decision="delay start",
                        rationale="sweeps", options=options)
    clock.advance(minutes=30)
    app.record_decision(DO1, "C-S4", decision_id="D-S4-02", decided_by="ED KASKO", decision="5 schools start 10:00",
                        rationale="police assessment", options=options, supersedes="D-S4-01")
    app.record_decision_review(DO1, "C-S4", decision_id="D-S4-02", outcome="all pupils back")
    decisions = app.get_crisis(LR, "C-S4").decisions
    assert (decisions["D-S4-01"].decision, decisions["D-S4-01"].superseded_by) == ("delay start", "D-S4-02")
    assert [r.outcome for r in decisions["D-S4-02"].reviews] == ["all pupils back"]


def test_a_secret_record_keeps_its_classification_through_the_store(app):
    declare(app, "C-S4", category="THREAT_VIOLENCE", classification=SECRET)
    app.record_log_entry(DO1, "C-S4", text="Police: threat email traced", classification=FROM_POLICE)
    crisis = app.get_crisis(LR, "C-S4")
    assert crisis.classification.label() == "[SECRET JulkL 24.1 § 7 k]"
    assert crisis.log[0].classification.label(app.policy.units.short_names) == "[RECEIVED TL IV, originator HPD]"


def test_the_after_action_review_is_recorded_once_after_closing(services, app):
    declare(app, "C-S1")
    refused(services, Rule.CRISIS_NOT_CLOSED, app.record_after_action_review, PM, "C-S1", findings=["x"])
    move(app, "C-S1", "contain", "resolve", "close")
    app.record_after_action_review(PM, "C-S1", findings=["device register out of date"])
    refused(services, Rule.IMMUTABLE_RECORD, app.record_after_action_review, PM, "C-S1", findings=["again"])


# --- snapshots ----------------------------------------------------------------------------------------


def a_long_crisis(app, clock) -> Crisis:  # noqa: ANN001
    """Given C-S1 with every kind of record before its 50th event, and log entries up to 56 events."""
    declare(app, "C-S1", classification=SECRET)
    approved_plan(app)
    clock.advance(minutes=10)
    hour = timedelta(hours=1)
    app.issue_situation_report(DO1, "C-S1", number=1, summary="9,000 without power", next_due_at=clock() + hour)
    app.assign_action(DO1, "C-S1", action_id="A-S1-01", unit="STARA", task="Clear trees", due_at=clock() + 2 * hour)
    app.assign_action(DO1, "C-S1", action_id="A-S1-02", unit="SOTEPE", task="Phone-check", due_at=clock() + 2 * hour)
    app.complete_action(SOTEPE, "C-S1", action_id="A-S1-02", note="140 reached")
    app.record_decision(DO1, "C-S1", decision_id="D-S1-01", decided_by="ED SOTEPE", decision="transfer",
                        rationale="battery reserve", options=["battery swaps", "transfer"], review_at=clock() + hour)
    app.record_decision_review(DO1, "C-S1", decision_id="D-S1-01", outcome="clients home")
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1")
    open_request(app, "C-S1", "PR-S1-02")
    app.record_log_entry(DO1, "C-S1", text="wrong school", source="HPD", classification=FROM_POLICE)
    app.strike_log_entry(DO1, "C-S1", number=1, reason="it was Kallio")
    app.change_severity(DO1, "C-S1", to_severity=3)
    while app.get_crisis(AUD, "C-S1").version < 56:
        clock.advance(seconds=30)
        app.record_log_entry(DO1, "C-S1", text=f"update at {clock():%H:%M:%S}")
    return app.load_crisis("C-S1")


def test_a_long_crisis_is_snapshotted_at_its_50th_event_and_rebuilt_from_it(app, clock):
    crisis = a_long_crisis(app, clock)
    [snapshot] = app.snapshots.get(crisis.id)
    assert snapshot.originator_version == 50
    from_snapshot = app.repository.get(crisis.id, version=crisis.version)  # snapshot + events 51–56, no cache
    from_events = None
    for event in app.events.get(crisis.id):
        from_events = event.mutate(from_events)
    assert from_snapshot == from_events == crisis
    assert (from_snapshot.entries, from_snapshot.struck) == (45, {"1": DO1.user})
    assert not any(text in repr(snapshot.state) for text in ("update at", "wrong school", "transfer", "Clear trees"))
    record = app.get_crisis(AUD, "C-S1")  # the texts are read from the events
    assert record.log[0].struck and record.decisions["D-S1-01"].reviews[0].outcome == "clients home"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_fresh_application_on_the_same_store_loads_the_long_crisis_equal(services, app, clock, backend):
    """Given a long crisis stored by one process, when a fresh Coordination opens the same store, then it loads
    the same crisis (from the snapshot) and carries on with it."""
    crisis = a_long_crisis(app, clock)
    fresh = open_services(services.settings, clock)
    try:
        assert len(list(fresh.coordination.snapshots.get(crisis.id))) == 1
        assert fresh.coordination.load_crisis("C-S1") == crisis
        assert fresh.coordination.get_crisis(AUD, "C-S1") == app.get_crisis(AUD, "C-S1")
        sotepe = fresh.coordination.load_preparedness("SOTEPE")
        assert sotepe == app.repository.get(DivisionPreparedness.id_for("SOTEPE"))
        assert fresh.coordination.get_division_preparedness(AUD, "SOTEPE") == app.get_division_preparedness(AUD, "SOTEPE")
        clock.advance(minutes=1)
        assert fresh.coordination.record_log_entry(DO1, "C-S1", text="after restart", expected_version=56) == 57
    finally:
        fresh.close()


@pytest.mark.parametrize("tail_page", [7, crisis_use_cases.TAIL_PAGE])
def test_a_long_crisis_is_read_with_its_latest_log_entries_and_all_its_other_records(app, clock, monkeypatch, tail_page):
    """Given a crisis of 330 log entries, an action and a decision among the first, strikes of an old entry and
    of a recent one, when it is read (now, at an earlier version, and again after more was recorded), then it
    holds every record but the log and of the log the latest LOG_SHOWN entries, exactly as the fold of all its
    events cut to those entries reads it; and fewer of its events are decoded than it has."""
    monkeypatch.setattr(crisis_use_cases, "TAIL_PAGE", tail_page)
    declare(app, "C-S1")
    app.assign_action(DO1, "C-S1", action_id="A-S1-01", unit="STARA", task="Clear trees",
                      due_at=clock() + timedelta(hours=2))
    app.record_decision(DO1, "C-S1", decision_id="D-S1-01", decided_by="ED SOTEPE", decision="transfer",
                        rationale="battery reserve", options=["battery swaps", "transfer"])
    for n in range(1, 331):
        app.record_log_entry(DO1, "C-S1", text=f"update {n}")
        if n in (5, 300):
            app.strike_log_entry(DO1, "C-S1", number=n, reason=f"entry {n} was wrong")
    app.complete_action(DO1, "C-S1", action_id="A-S1-01", note="road open")
    crisis_id = Crisis.id_for("C-S1")
    decoded = []
    decode = app.mapper.to_domain_event
    monkeypatch.setattr(app.mapper, "to_domain_event", lambda stored: decoded.append(stored) or decode(stored))

    record = app.get_crisis(AUD, "C-S1")

    version = app.load_crisis("C-S1").version
    assert len(decoded) < version
    assert record == CrisisRecord.of(app.events.get(crisis_id), log_shown=crisis_use_cases.LOG_SHOWN)
    assert [e.number for e in record.log] == list(range(231, 331)) and record.log[69].struck
    assert record.actions["A-S1-01"].note == "road open" and "D-S1-01" in record.decisions
    earlier = app.crisis_record("C-S1", version - 40)
    assert earlier == CrisisRecord.of(app.events.get(crisis_id, lte=version - 40), log_shown=crisis_use_cases.LOG_SHOWN)
    assert earlier.actions["A-S1-01"].status == "OPEN"
    # and read again after more was recorded, it holds that too (the records kept are caught up)
    app.assign_action(DO1, "C-S1", action_id="A-S1-02", unit="KYMP", task="Sandbags", due_at=clock() + timedelta(hours=2))
    app.record_log_entry(DO1, "C-S1", text="update 331")
    again = app.get_crisis(AUD, "C-S1")
    assert again == CrisisRecord.of(app.events.get(crisis_id), log_shown=crisis_use_cases.LOG_SHOWN)
    assert set(again.actions) == {"A-S1-01", "A-S1-02"} and again.log[-1].text == "update 331"
