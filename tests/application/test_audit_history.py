"""History for auditors on every store (memory, SQLite, PostgreSQL): the event log paged and filtered, records
at a version or a moment, and the overview, timeline and decision log as they were known at a past moment,
computed from the events (with and without the follower's snapshots)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from application.audit.history import EventFilter
from application.audit.snapshots import EPOCH
from domain.access import Actor, Role
from domain.shared import Classification, DomainError, Rule
from infrastructure.bootstrap import Services, open_services
from tests.application.support import AUD, DO1, DO2, LR, PC, PM, approved_plan, contact, declare, move, open_request
from tests.conftest import FakeClock, settings_for

CLEARED_AUD = Actor("AUD-C", Role.AUDITOR, clearance=True)
SOTEPE = contact("SOTEPE")
SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")
FROM_POLICE = Classification.of("RECEIVED", marking="TL IV", originator="Helsinki Police Department")
SNAPSHOT_EVERY = 4


@pytest.fixture
def audited(backend: str, tmp_path, clock: FakeClock, request: pytest.FixtureRequest) -> Iterator[Services]:
    """The services on each store, with a snapshot of the overview every few events."""
    pg = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    opened = open_services(settings_for(backend, tmp_path, pg, history_snapshot_every=SNAPSHOT_EVERY), clock)
    yield opened
    opened.close()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def without_basis(picture: dict) -> dict:
    return {k: v for k, v in picture.items() if k != "history"}


def every_page(services: Services, wanted: EventFilter, actor: Actor = AUD) -> list[dict]:
    items, pages = [], 0
    while True:
        page = services.history.list_events(actor, wanted)
        items += page["items"]
        pages += 1
        assert pages < 1000
        if page["end_of_log"]:
            return items
        wanted = EventFilter(**{**vars(wanted), "after": page["next_after"]})


def storm_night(services: Services, clock: FakeClock, step: Callable[[], None] = lambda: None) -> None:
    """The storm of S1 in brief: every kind of event the overview reads, one command every 25 minutes from
    22:05 (C-S1 declared) to 03:55 (SOTEPE back to BASIC), `step` called after each. Times, +03:00:
    22:30 sitrep #1 (next due 23:30), 22:55 SOTEPE ENHANCED, 23:20 A-1 due 23:40, 23:45 PR-1 raised,
    00:10 CP-SOTEPE-01 activated, 00:35 SECRET D-1 (review 01:05), 01:00 severity 3, 01:25 PR-1 answered
    (RECEIVED), 01:50 A-1 completed, 02:15 C-2 declared by DO-2, 02:40 D-1 reviewed, 03:05 plan deactivated,
    03:30 C-S1 closed. The plan was drafted and approved the day before."""
    app = services.coordination
    clock.set("2025-10-24T21:40:00+03:00")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-01")
    clock.set("2025-10-25T21:40:00+03:00")
    commands = [
        lambda: declare(app, "C-S1"),
        lambda: app.issue_situation_report(DO1, "C-S1", summary="first", next_due_at=clock.now + timedelta(hours=1)),
        lambda: app.change_readiness(SOTEPE, "SOTEPE", to_level="ENHANCED", reason="storm"),
        lambda: app.assign_action(DO1, "C-S1", action_id="A-1", unit="STARA", task="trees", due_at=clock.now + timedelta(minutes=20)),
        lambda: open_request(app, "C-S1", "PR-1"),
        lambda: app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-01", crisis_id="C-S1"),
        lambda: app.record_decision(
            DO1, "C-S1", decision_id="D-1", decided_by="Executive Director", decision="evacuate",
            rationale="no power", options=["evacuate", "stay"], review_at=clock.now + timedelta(minutes=30),
            classification=SECRET,
        ),
        lambda: app.change_severity(DO1, "C-S1", to_severity=3, reason="worse"),
        lambda: app.answer_police_request(PC, "L-C-S1", request_id="PR-1", response="2 patrols",
                                         classification=FROM_POLICE),
        lambda: app.complete_action(contact("STARA"), "C-S1", action_id="A-1", note="done"),
        lambda: declare(app, "C-2", title="Water main", category="UTILITY_WATER", actor=DO2),
        lambda: app.record_decision_review(DO1, "C-S1", decision_id="D-1", outcome="clients home"),
        lambda: app.deactivate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-01", reason="power back"),
        lambda: move(app, "C-S1", "contain", "resolve", "close"),
        lambda: app.change_readiness(SOTEPE, "SOTEPE", to_level="BASIC", reason="over"),
    ]
    for command in commands:
        clock.advance(minutes=25)
        command()
        step()


# --- the event log -----------------------------------------------------------------------------------------


def test_the_event_log_pages_through_every_event_in_log_order(audited, clock):
    """Given the storm night, when the auditor pages through the log seven events at a time, then every stored
    event comes exactly once, in position order, and the last page says it is the end of the log."""
    storm_night(audited, clock)
    items = every_page(audited, EventFilter(limit=7))
    last = audited.coordination.recorder.max_notification_id()
    assert [i["position"] for i in items] == list(range(1, last + 1))
    declared = next(i for i in items if i["type"] == "Crisis.Declared")
    assert (declared["aggregate_kind"], declared["aggregate_id"], declared["version"], declared["actor"]) == (
        "crisis", "C-S1", 1, "DO-1"
    )
    assert declared["recorded_at"] == "2025-10-25T22:05:00+03:00"


def test_the_event_log_is_filtered_by_aggregate_type_actor_and_recording_time(audited, clock):
    """Given the storm night, when the auditor narrows the log, then each filter keeps exactly its events."""
    storm_night(audited, clock)

    def shown(**filters: object) -> list[tuple]:
        return [(i["aggregate_id"], i["type"].split(".")[1]) for i in every_page(audited, EventFilter(**filters))]

    assert shown(crisis_ids=("C-2",)) == [("C-2", "Declared")]
    assert shown(crisis_ids=("C-S1",), event_types=("SeverityChanged",)) == [("C-S1", "SeverityChanged")]
    assert shown(units=("SOTEPE",), event_types=("DivisionPreparedness.ReadinessChanged",)) == [
        ("SOTEPE", "ReadinessChanged"), ("SOTEPE", "ReadinessChanged")
    ]
    assert shown(liaison_ids=("L-C-S1",)) == [("L-C-S1", "Opened"), ("L-C-S1", "RequestRaised"), ("L-C-S1", "RequestAnswered")]
    assert shown(aggregate_kinds=("emergency_conditions",)) == [("emergency-conditions", "Started")]
    assert shown(actor="DO-2") == [("C-2", "Declared")]
    # 22:30 and 22:55 are the recording times of the second and third commands.
    assert shown(recorded_from=at("2025-10-25T22:30:00+03:00"), recorded_to=at("2025-10-25T22:55:00+03:00")) == [
        ("C-S1", "SituationReportIssued"), ("SOTEPE", "ReadinessChanged")
    ]
    assert shown(crisis_ids=("C-2",), liaison_ids=("L-C-S1",), actor="DO-2") == [("C-2", "Declared")]


def test_a_filter_that_matches_nothing_reads_the_log_in_bounded_pages(audited, clock):
    """Given the storm night, when the auditor asks for an actor who recorded nothing, then the answer is an
    empty last page that still says how far the log was read."""
    storm_night(audited, clock)
    page = audited.history.list_events(AUD, EventFilter(actor="nobody"))
    assert page["items"] == []
    assert page["end_of_log"] and page["next_after"] == audited.coordination.recorder.max_notification_id()


def test_classified_events_show_their_label_to_an_uncleared_auditor_and_their_content_to_a_cleared_one(audited, clock):
    """Given a SECRET decision and an answer received from the police, when auditors with and without
    clearance read the log, then only the cleared one sees the content; both see what exists and its basis."""
    storm_night(audited, clock)
    wanted = EventFilter(event_types=("DecisionRecorded", "RequestAnswered"))
    uncleared = {i["type"]: i["data"] for i in every_page(audited, wanted, AUD)}
    cleared = {i["type"]: i["data"] for i in every_page(audited, wanted, CLEARED_AUD)}

    decision = uncleared["Crisis.DecisionRecorded"]
    assert decision["redacted"] is True
    assert decision["decision"] == decision["rationale"] == decision["options"] == "[SECRET JulkL 24.1 § 7 k]"
    assert (decision["decision_id"], decision["decided_by"]) == ("D-1", "[SECRET JulkL 24.1 § 7 k]")  # a person: content
    assert decision["classification"]["legal_basis"] == "JulkL 24.1 § 7 k"
    assert uncleared["PoliceLiaison.RequestAnswered"]["response"] == "[RECEIVED TL IV, originator HPD]"

    assert cleared["Crisis.DecisionRecorded"]["decision"] == "evacuate"
    assert cleared["Crisis.DecisionRecorded"]["options"] == ["evacuate", "stay"]
    assert cleared["PoliceLiaison.RequestAnswered"]["response"] == "2 patrols"


@pytest.mark.parametrize("reader", [LR, DO1, PM, PC, Actor("ADM", Role.ADMIN)], ids=lambda a: str(a.role))
def test_only_auditors_read_the_history(audited, clock, reader):
    """Given a crisis, when anyone but an auditor asks for history, then FORBIDDEN_ROLE."""
    declare(audited.coordination, "C-1")
    history = audited.history
    for read in (
        lambda: history.list_events(reader),
        lambda: history.get_crisis_at(reader, "C-1", version=1),
        lambda: history.get_situation_overview_at(reader, clock.now),
        lambda: history.get_crisis_timeline_at(reader, "C-1", clock.now),
        lambda: history.get_decision_log_at(reader, "C-1", clock.now),
    ):
        with pytest.raises(DomainError) as error:
            read()
        assert error.value.rule is Rule.FORBIDDEN_ROLE
        assert "auditors" in error.value.message


def test_an_unknown_event_type_or_kind_is_refused_naming_the_known_ones(audited):
    for wanted in (EventFilter(event_types=("Stormed",)), EventFilter(aggregate_kinds=("storm",)),
                   EventFilter(limit=1001)):
        with pytest.raises(DomainError) as error:
            audited.history.list_events(AUD, wanted)
        assert error.value.rule is Rule.INVALID_INPUT
    with pytest.raises(DomainError) as error:
        audited.history.list_events(AUD, EventFilter(event_types=("Stormed",)))
    assert "Crisis.SeverityChanged" in error.value.message


# --- records as they were ----------------------------------------------------------------------------------


def test_a_crisis_at_a_version_and_as_it_was_at_a_moment(audited, clock):
    """Given C-1 declared at 21:40, raised to severity 3 at 22:00 and given an action at 22:20, when the
    auditor asks for version 2 and for 22:10, then both show severity 3 without the action."""
    app, history = audited.coordination, audited.history
    declare(app, "C-1")
    clock.set("2025-10-25T22:00:00+03:00")
    app.change_severity(DO1, "C-1", to_severity=3, reason="worse")
    clock.set("2025-10-25T22:20:00+03:00")
    app.assign_action(DO1, "C-1", action_id="A-1", unit="STARA", task="trees", due_at=clock.now + timedelta(hours=1))

    by_version = history.get_crisis_at(AUD, "C-1", version=2)
    by_moment = history.get_crisis_at(AUD, "C-1", as_of=at("2025-10-25T22:10:00+03:00"))
    for found in (by_version, by_moment):
        assert (found.aggregate.severity, found.aggregate.actions, found.version, found.latest_version) == (3, {}, 2, 3)
    assert by_version.at == by_version.version_recorded_at == at("2025-10-25T22:00:00+03:00")
    assert by_moment.at == at("2025-10-25T22:10:00+03:00")
    assert history.get_crisis_at(AUD, "C-1", as_of=clock.now).aggregate.actions["A-1"].unit == "STARA"


def test_asking_for_a_version_or_moment_the_record_did_not_have_is_refused(audited, clock):
    declare(audited.coordination, "C-1")
    history = audited.history
    cases = [
        (Rule.NOT_FOUND, "has versions 1–1", lambda: history.get_crisis_at(AUD, "C-1", version=2)),
        (Rule.NOT_FOUND, "after 2025-10-25T21:00", lambda: history.get_crisis_at(AUD, "C-1", as_of=at("2025-10-25T21:00:00+03:00"))),
        (Rule.NOT_FOUND, "there is no crisis C-9", lambda: history.get_crisis_at(AUD, "C-9", version=1)),
        (Rule.INVALID_INPUT, "either", lambda: history.get_crisis_at(AUD, "C-1")),
        (Rule.INVALID_INPUT, "either", lambda: history.get_crisis_at(AUD, "C-1", version=1, as_of=clock.now)),
    ]
    for rule, words, read in cases:
        with pytest.raises(DomainError) as error:
            read()
        assert (error.value.rule, words in error.value.message) == (rule, True), error.value


def test_a_units_preparedness_and_a_liaison_as_they_were(audited, clock):
    """Given the storm night, when the auditor asks for SOTEPE as of 22:30 and 22:55 and for the liaison as
    of 23:50, then SOTEPE was BASIC, then ENHANCED, and PR-1 (answered 01:25) was still open."""
    app = audited.coordination
    storm_night(audited, clock)
    unit = audited.history.get_division_preparedness_at(AUD, "SOTEPE", as_of=at("2025-10-25T22:30:00+03:00"))
    assert unit.aggregate.readiness == "BASIC"
    assert audited.history.get_division_preparedness_at(AUD, "SOTEPE", as_of=at("2025-10-25T22:55:00+03:00")).aggregate.readiness == "ENHANCED"
    liaison = audited.history.get_police_liaison_at(AUD, "L-C-S1", as_of=at("2025-10-25T23:50:00+03:00"))
    assert liaison.aggregate.requests["PR-1"].status == "OPEN"
    assert app.get_police_liaison(AUD, "L-C-S1").requests["PR-1"].status == "ANSWERED"


# --- the overview, timeline and decision log as they were known ----------------------------------------------


def test_the_overview_as_known_at_a_moment_leaves_out_later_records_and_derives_time_facts_for_then(audited, clock):
    """Given the storm night, when the auditor asks for the overview as known at 23:50 and at 01:10, then at
    23:50 the action (due 23:40) is overdue and the request 5 min old; at 01:10 the decision's review (due
    01:05) is due, the plan has been active 60 min and the request is unanswered beyond 30 min; neither
    shows C-2, which the overview as known at the end shows alone."""
    storm_night(audited, clock)
    audited.projections.catch_up()
    history = audited.history

    early = history.get_situation_overview_at(CLEARED_AUD, at("2025-10-25T23:50:00+03:00"))
    assert [c["crisis_id"] for c in early["active_crises"]] == ["C-S1"]
    assert [(a["action_id"], a["overdue"]) for a in early["open_actions"]] == [("A-1", True)]
    assert [(r["request_id"], r["age_minutes"]) for r in early["police_requests"]["open"]] == [("PR-1", 5)]
    assert early["readiness"]["SOTEPE"] == "ENHANCED"
    assert early["at"] == "2025-10-25T23:50:00+03:00"

    later = history.get_situation_overview_at(CLEARED_AUD, at("2025-10-26T01:10:00+03:00"))
    assert [c["crisis_id"] for c in later["active_crises"]] == ["C-S1"]
    assert [d["decision_id"] for d in later["decisions_review_due"]] == ["D-1"]
    assert [(p["plan_id"], p["active_minutes"]) for p in later["active_plans"]] == [("CP-SOTEPE-01", 60)]
    assert later["police_requests"]["unanswered_beyond_threshold"][0]["request_id"] == "PR-1"

    now = history.get_situation_overview_at(CLEARED_AUD, clock.now)
    assert [c["crisis_id"] for c in now["active_crises"]] == ["C-2"]


def test_the_overview_as_known_equals_what_the_live_overview_showed_at_every_moment(audited, clock):
    """Given the storm night with the live overview read after every command, when the auditor asks afterwards
    for the overview as known at each of those moments, then it is what the live overview showed, from the
    snapshots and from a full replay alike."""
    shown: list[tuple[datetime, dict]] = []

    def read_live() -> None:
        audited.projections.catch_up()
        shown.append((clock.now, audited.projections.get_situation_overview(CLEARED_AUD, at=clock.now)))

    storm_night(audited, clock, read_live)
    assert len(audited.history.snapshots.all()) >= 3
    used = set()
    for moment, live in shown:
        known = audited.history.get_situation_overview_at(CLEARED_AUD, moment)
        replayed = audited.history.get_situation_overview_at(CLEARED_AUD, moment, full_replay=True)
        assert without_basis(known) == live == without_basis(replayed), moment
        used.add(known["history"]["snapshot_position"])
        assert replayed["history"]["snapshot_position"] is None
    assert len(used - {None}) >= 2, used


def test_snapshots_are_taken_every_n_events_with_the_recording_times_they_cover(audited, clock):
    """Given the storm night followed command by command, then a snapshot was taken each time the overview's
    models had moved at least N events on, and a moment before a snapshot's last recording does not use it."""
    storm_night(audited, clock, audited.projections.catch_up)
    snapshots = audited.history.snapshots.all()
    positions = [s.position for s in snapshots]
    assert positions == sorted(positions) and len(positions) >= 3
    assert all(b - a >= SNAPSHOT_EVERY for a, b in zip([0, *positions], positions))
    assert all(s.segment_first <= s.known_by for s in snapshots)

    last = snapshots[-1]
    just_before = EPOCH + timedelta(microseconds=last.known_by - 1)
    basis = audited.history.get_situation_overview_at(AUD, just_before)["history"]
    assert basis["snapshot_position"] is not None and basis["snapshot_position"] < last.position


def test_no_snapshot_is_taken_while_the_overview_models_stand_at_different_positions(audited, clock):
    """Given the decision log behind the other models (as while it is rebuilt), when a snapshot is due, then
    none is taken; once it has caught up, one is."""
    storm_night(audited, clock)
    audited.projections.catch_up()
    snapshots = audited.history.snapshots
    taken = len(snapshots.all())
    audited.sql.execute("UPDATE valmius_tracking SET position = position - 1 WHERE view = 'decision_log'")
    declare(audited.coordination, "C-3")
    for _ in range(SNAPSHOT_EVERY):
        clock.advance(minutes=1)
        audited.coordination.record_log_entry(DO1, "C-3", text="still raining")
    models = [m for name, m in audited.projections.models.items() if name != "decision_log"]
    audited.projections.catch_up(models)
    assert snapshots.take() is None and len(snapshots.all()) == taken
    audited.projections.rebuild("decision_log")
    assert snapshots.latest().position == audited.coordination.recorder.max_notification_id() > snapshots.all()[-2].position


def test_recording_times_that_go_back_are_handled_by_the_snapshots(audited, clock):
    """Given records whose recording times go back (a clock set back, like the seed plans of the scenarios),
    when the auditor asks for the overview at every recorded moment and between them, then the snapshots
    give what a full replay gives."""
    storm_night(audited, clock, audited.projections.catch_up)
    clock.set("2025-10-25T21:00:00+03:00")  # before the storm: the clock was wrong, then put right
    declare(audited.coordination, "C-EARLY", title="Recorded with a clock behind")
    clock.set("2025-10-26T03:00:00+02:00")
    for n in range(SNAPSHOT_EVERY + 1):
        clock.advance(minutes=1)
        audited.coordination.change_severity(DO1, "C-EARLY", to_severity=3 if n % 2 == 0 else 2, reason="x")
    audited.projections.catch_up()
    recorded = {i["recorded_at"] for i in every_page(audited, EventFilter(limit=1000))}
    moments = sorted({at(t) + d for t in recorded for d in (timedelta(0), timedelta(seconds=-1))})
    for moment in moments:
        known = audited.history.get_situation_overview_at(CLEARED_AUD, moment)
        replayed = audited.history.get_situation_overview_at(CLEARED_AUD, moment, full_replay=True)
        assert without_basis(known) == without_basis(replayed), moment
    early = audited.history.get_situation_overview_at(CLEARED_AUD, at("2025-10-25T21:30:00+03:00"))
    assert [c["crisis_id"] for c in early["active_crises"]] == ["C-EARLY"]


def test_the_timeline_as_known_shows_only_what_was_recorded_by_then(audited, clock):
    """Given a log entry recorded at 22:00, a late entry recorded at 22:40 for 22:10, and the first entry
    struck at 22:50, when the auditor asks for the timeline as known at 22:45, then the late entry is there,
    the strike is not; as known at 22:30, the late entry is not there yet."""
    app = audited.coordination
    declare(app, "C-1")
    clock.set("2025-10-25T22:00:00+03:00")
    app.record_log_entry(DO1, "C-1", text="trees down on Kehä I")
    clock.set("2025-10-25T22:40:00+03:00")
    app.record_log_entry(DO1, "C-1", text="Helen: outage", occurred_at=at("2025-10-25T22:10:00+03:00"),
                         late_entry_reason="phone lines down")
    clock.set("2025-10-25T22:50:00+03:00")
    app.strike_log_entry(DO1, "C-1", number=1, reason="wrong crisis")

    def entries(moment: str) -> list[tuple]:
        timeline = audited.history.get_crisis_timeline_at(AUD, "C-1", at(moment))
        return [(e["kind"], e["ref"], e["late"], e["struck"]) for e in timeline["entries"]]

    assert entries("2025-10-25T22:30:00+03:00") == [("declared", None, False, False), ("log_entry", "1", False, False)]
    assert entries("2025-10-25T22:45:00+03:00") == [
        ("declared", None, False, False), ("log_entry", "1", False, False), ("log_entry", "2", True, False)
    ]
    assert entries("2025-10-25T22:50:00+03:00")[1] == ("log_entry", "1", False, True)
    live = audited.projections
    live.catch_up()
    assert without_basis(audited.history.get_crisis_timeline_at(AUD, "C-1", clock.now)) == live.get_crisis_timeline(AUD, "C-1")
    with pytest.raises(DomainError) as error:
        audited.history.get_crisis_timeline_at(AUD, "C-1", at("2025-10-25T21:00:00+03:00"))
    assert error.value.rule is Rule.NOT_FOUND


def test_the_decision_log_as_known_derives_the_reviews_due_at_that_moment(audited, clock):
    """Given D-1 to be reviewed at 01:05 and reviewed at 02:40, when the auditor asks for the decision log as
    known at 01:00, 01:30 and 02:45, then the review is not yet due, due, and recorded."""
    storm_night(audited, clock)

    def decision(moment: str) -> dict:
        log = audited.history.get_decision_log_at(CLEARED_AUD, "C-S1", at(moment))
        return log["decisions"][0] | {"review_due_list": log["review_due"]}

    assert decision("2025-10-26T01:00:00+03:00")["review_due"] is False
    due = decision("2025-10-26T01:30:00+03:00")
    assert (due["review_due"], due["review_due_list"], due["reviews"]) == (True, ["D-1"], [])
    reviewed = decision("2025-10-26T02:45:00+03:00")
    assert reviewed["review_due"] is False and reviewed["reviews"][0]["outcome"] == "clients home"
    with pytest.raises(DomainError) as error:
        audited.history.get_decision_log_at(CLEARED_AUD, "C-2", at("2025-10-25T23:00:00+03:00"))
    assert (error.value.rule, "first recorded at" in error.value.message) == (Rule.NOT_FOUND, True)
