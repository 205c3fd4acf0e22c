"""The read models on every store (memory, SQLite, PostgreSQL), after real use cases and a catch-up: the
situation overview leadership reads, the crisis timeline, the readiness board, the police liaison board and the
decision log; what an uncleared reader sees; every event applied exactly once; rebuilds that read as the live
read models do."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime

import pytest

from application.projections.read_model import ReadModel
from application.projections.runner import Projections
from application.projections.tracking import apply_batch
from domain.access import Actor, Role
from domain.crisis import Crisis
from domain.public_warning import PublicWarning
from domain.shared import Classification
from infrastructure.bootstrap import followers
from tests.application.support import AUD, DO1, LR, PC, PM, approved_plan, contact, declare, move

SOTEPE = contact("SOTEPE")
KYMP = contact("KYMP")
CLEARED = Actor("LR-1", Role.LEADERSHIP, clearance=True)
SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")
FROM_POLICE = Classification.of("RECEIVED", marking="TL IV", originator="Helsinki Police Department")
VIEWS = ("situation_overview", "crisis_timeline", "readiness_board", "police_liaison_board", "decision_log")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


@pytest.fixture
def views(services):  # noqa: ANN001, ANN201
    return services.projections


def table_rows(services) -> dict[str, list[str]]:  # noqa: ANN001
    """Every row of every table of the five read models, in a stable order."""
    store = services.projections.store
    return {
        table: sorted(json.dumps(row, sort_keys=True, default=str) for row in store.query(f"SELECT * FROM {table}"))
        for name in VIEWS
        for table in services.projections.models[name].tables
    }


def every_read(views, crisis_ids: list[str]) -> dict[str, object]:  # noqa: ANN001
    """What each get_* answers, for an uncleared and a cleared reader."""
    reads: dict[str, object] = {}
    for reader in (LR, CLEARED):
        reads[f"overview/{reader.user}"] = views.get_situation_overview(reader)
        reads[f"readiness/{reader.user}"] = views.get_readiness_board(reader)
        reads[f"police/{reader.user}"] = views.get_police_liaison_board(reader)
        for crisis_id in crisis_ids:
            reads[f"timeline/{crisis_id}/{reader.user}"] = views.get_crisis_timeline(reader, crisis_id)
            reads[f"decisions/{crisis_id}/{reader.user}"] = views.get_decision_log(reader, crisis_id)
    return reads


def storm_evening(app, clock) -> None:  # noqa: ANN001
    """Given the autumn storm evening: a crisis with every kind of entry, a second one, readiness raised, a plan
    activated, police requests both ways (one answered), decisions superseded and reviewed, secret records."""
    declare(app, "C-S1", lead_authority="Safety and Preparedness Unit")
    app.record_log_entry(DO1, "C-S1", text="Helen reports 12 000 customers without power", source="HELEN")
    app.record_log_entry(DO1, "C-S1", text="Wrong district in the previous entry", source="HELEN")
    app.strike_log_entry(DO1, "C-S1", number=2, reason="entered for the wrong crisis")
    app.record_log_entry(DO1, "C-S1", text="Home-care clients on oxygen listed", classification=SECRET)
    app.assign_action(DO1, "C-S1", action_id="A-1", unit="SOTEPE", task="Call home-care clients on oxygen",
                      due_at=t("2025-10-25T22:30+03:00"), classification=SECRET)
    app.assign_action(DO1, "C-S1", action_id="A-2", unit="KYMP", task="Clear fallen trees on Itäväylä",
                      due_at=t("2025-10-25T23:30+03:00"))
    app.issue_situation_report(DO1, "C-S1", summary="Outages in the east", next_due_at=t("2025-10-25T22:40+03:00"))
    app.record_decision(DO1, "C-S1", decision_id="D-1", decided_by="Mayor", decision="Open warm shelters",
                        rationale="Indoor temperatures falling", options=["Open shelters", "Wait for Helen"],
                        review_at=t("2025-10-25T22:20+03:00"))
    app.change_readiness(PM, "SOTEPE", to_level="ENHANCED", decided_by="Executive Director, SOTEPE",
                         reason="storm", crisis_ref="C-S1")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    app.open_police_liaison(PC, liaison_id="L-C-S1", crisis_id="C-S1")
    app.raise_police_request(PC, "L-C-S1", request_id="PR-1", direction="POLICE_TO_CITY", request_type="INFORMATION",
                             subject="Service-housing units without backup power", classification=FROM_POLICE)
    clock.advance(minutes=10)
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1")
    app.raise_police_request(PC, "L-C-S1", request_id="PR-2", direction="CITY_TO_POLICE",
                             request_type="EXECUTIVE_ASSISTANCE", subject="Close Itäväylä for tree clearing",
                             legal_basis="Police Act 9:1")
    clock.advance(minutes=10)
    app.answer_police_request(PC, "L-C-S1", request_id="PR-2", response="Patrol on site at 22:15",
                             answered_by="HPD field commander")
    app.record_decision(DO1, "C-S1", decision_id="D-2", decided_by="Mayor", decision="Open shelters in schools",
                        rationale="Libraries closed at night", options=["Schools", "Libraries"], supersedes="D-1")
    app.complete_action(SOTEPE, "C-S1", action_id="A-1", note="All 14 reached")
    declare(app, "C-S3", title="Water main burst in Kallio", category="UTILITY_WATER", external_lead="HSY")
    app.record_decision(DO1, "C-S3", decision_id="D-3", decided_by="Head of Preparedness", decision="Water tanks",
                        rationale="Tap water off", options=["Tanks", "Bottled water"],
                        review_at=t("2025-10-25T22:30+03:00"), classification=SECRET)
    clock.advance(minutes=15)
    app.record_decision_review(DO1, "C-S3", decision_id="D-3", outcome="Tanks in place; keep")


# --- the situation overview ---------------------------------------------------------------------------


def test_the_overview_shows_active_crises_by_instant_with_severity_status_and_lead(app, views, clock):
    """Given C-S1 declared at 21:40+03:00 and raised to 3 and contained, C-S3 led by HSY declared at 18:43 UTC
    (21:43 in Helsinki), and C-OLD closed, when leadership reads the overview, then C-S1 comes before C-S3 (by
    instant, whatever offset the time was given in), each with severity, status and lead, and C-OLD is not shown."""
    declare(app, "C-S1", lead_authority="Safety and Preparedness Unit")
    clock.advance(minutes=5)
    declare(app, "C-S3", title="Water main burst in Kallio", category="UTILITY_WATER", external_lead="HSY",
            occurred_at=t("2025-10-25T18:43+00:00"))
    declare(app, "C-OLD", title="Minor flooding in Vuosaari", severity=1)
    app.change_severity(DO1, "C-S1", to_severity=3, reason="outages spreading")
    move(app, "C-S1", "contain")
    move(app, "C-OLD", "contain", "resolve", "close")

    views.catch_up()
    overview = views.get_situation_overview(LR)

    assert [(c["crisis_id"], c["severity"], c["status"], c["lead"], c["declared_at"])
            for c in overview["active_crises"]] == [
        ("C-S1", 3, "CONTAINED", "Safety and Preparedness Unit", "2025-10-25T21:40+03:00"),
        ("C-S3", 2, "ACTIVE", "HSY", "2025-10-25T21:43+03:00"),
    ]


def test_overdue_actions_are_derived_at_the_moment_of_reading(app, views, clock):
    """Given open actions of KYMP (due 20:30 UTC, 23:30 in Helsinki) and SOTEPE (due 22:30+03:00) and a completed
    one of SOTEPE, when the same state is read at 22:00 and at 22:45, then they are listed by due instant, nothing
    is overdue at 22:00 and SOTEPE's action is overdue at 22:45, per crisis and per unit; an auditor asking for
    22:00 sees it not yet overdue."""
    declare(app, "C-S1")
    app.assign_action(DO1, "C-S1", action_id="A-2", unit="KYMP", task="Clear fallen trees on Itäväylä",
                      due_at=t("2025-10-25T20:30+00:00"))
    app.assign_action(DO1, "C-S1", action_id="A-1", unit="SOTEPE", task="Call home-care clients on oxygen",
                      due_at=t("2025-10-25T22:30+03:00"))
    app.assign_action(DO1, "C-S1", action_id="A-3", unit="SOTEPE", task="Open the Vuosaari service centre",
                      due_at=t("2025-10-25T22:10+03:00"))
    app.complete_action(SOTEPE, "C-S1", action_id="A-3", note="open")
    views.catch_up()
    position = views.position()

    clock.set("2025-10-25T22:00+03:00")
    at_22 = views.get_situation_overview(LR)
    clock.set("2025-10-25T22:45+03:00")
    at_2245 = views.get_situation_overview(LR)

    assert views.position() == position  # the same state, read at two moments
    assert [(a["action_id"], a["unit"], a["due_at"]) for a in at_22["open_actions"]] == [
        ("A-1", "SOTEPE", "2025-10-25T22:30+03:00"),
        ("A-2", "KYMP", "2025-10-25T23:30+03:00"),
    ]
    assert at_22["overdue_actions"] == []
    assert at_22["actions_by_unit"] == {"SOTEPE": {"open": 1, "overdue": 0}, "KYMP": {"open": 1, "overdue": 0}}
    assert [(c["open_actions"], c["overdue_actions"]) for c in at_22["active_crises"]] == [(2, 0)]
    assert [a["action_id"] for a in at_2245["overdue_actions"]] == ["A-1"]
    assert at_2245["actions_by_unit"] == {"SOTEPE": {"open": 1, "overdue": 1}, "KYMP": {"open": 1, "overdue": 0}}
    assert [(c["open_actions"], c["overdue_actions"]) for c in at_2245["active_crises"]] == [(2, 1)]
    assert views.get_situation_overview(AUD, at=t("2025-10-25T22:00+03:00"))["overdue_actions"] == []


def test_the_overview_shows_readiness_per_unit_and_active_plans_against_their_mtpd(app, views, clock):
    """Given SOTEPE at ENHANCED with its plan (MTPD 12 h) activated for C-S3 at 21:40, when read 2 h and then
    12 h 1 min later, then the plan has been active 120 min within its MTPD, then 721 min beyond it."""
    declare(app, "C-S3", title="Water main burst in Kallio", category="UTILITY_WATER")
    app.change_readiness(PM, "SOTEPE", to_level="ENHANCED", reason="tap water off in Kallio", crisis_ref="C-S3")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S3")
    views.catch_up()

    clock.advance(hours=2)
    within = views.get_situation_overview(LR)
    clock.advance(hours=10, minutes=1)
    beyond = views.get_situation_overview(LR)

    assert within["readiness"] == {
        "KANSLIA": "BASIC", "KASKO": "BASIC", "KUVA": "BASIC", "KYMP": "BASIC", "PALVELUKESKUS": "BASIC",
        "SOTEPE": "ENHANCED", "STARA": "BASIC", "TALPA": "BASIC", "TYOTERVEYS": "BASIC",
    }
    plan = within["active_plans"][0]
    assert (plan["unit"], plan["plan_id"], plan["crisis_id"], plan["activated_at"]) == (
        "SOTEPE", "CP-SOTEPE-02", "C-S3", "2025-10-25T21:40+03:00"
    )
    assert (plan["active_minutes"], plan["mtpd_minutes"], plan["beyond_mtpd"]) == (120, 720, False)
    assert [(p["active_minutes"], p["beyond_mtpd"]) for p in beyond["active_plans"]] == [(721, True)]


def test_the_overview_shows_open_police_requests_and_those_unanswered_beyond_30_minutes(app, views, clock):
    """Given PR-1 raised at 21:40, PR-2 at 21:50 and PR-3 raised and withdrawn, when read at 22:10 and at 22:11,
    then two requests are open; none is beyond the threshold at exactly 30 minutes, PR-1 is at 31."""
    declare(app, "C-S1")
    app.open_police_liaison(PC, liaison_id="L-C-S1", crisis_id="C-S1")
    raise_request = app.raise_police_request
    raise_request(PC, "L-C-S1", request_id="PR-1", direction="POLICE_TO_CITY", request_type="INFORMATION",
                  subject="Service-housing units without backup power")
    clock.advance(minutes=10)
    raise_request(PC, "L-C-S1", request_id="PR-2", direction="CITY_TO_POLICE", request_type="COORDINATION",
                  subject="Traffic control at Itäväylä")
    raise_request(PC, "L-C-S1", request_id="PR-3", direction="CITY_TO_POLICE", request_type="INFORMATION",
                  subject="Looting reports?")
    app.withdraw_police_request(PC, "L-C-S1", request_id="PR-3", response="not needed")
    views.catch_up()

    clock.set("2025-10-25T22:10+03:00")
    at_30 = views.get_situation_overview(LR)["police_requests"]
    clock.set("2025-10-25T22:11+03:00")
    at_31 = views.get_situation_overview(LR)["police_requests"]

    assert [(r["request_id"], r["age_minutes"]) for r in at_30["open"]] == [("PR-1", 30), ("PR-2", 20)]
    assert (at_30["unanswered_beyond_threshold"], at_30["threshold_minutes"]) == ([], 30)
    assert [(r["request_id"], r["age_minutes"]) for r in at_31["unanswered_beyond_threshold"]] == [("PR-1", 31)]


def test_the_overview_shows_the_latest_situation_report_and_flags_it_overdue(app, views, clock):
    """Given sitrep #1 (next due 22:00) and #2 at 21:55 with the next due at 22:55, when read at 22:30 and at
    22:56, then #2 is shown with its next due time, not overdue and then overdue."""
    declare(app, "C-S1", severity=3)
    app.issue_situation_report(DO1, "C-S1", summary="Outages in the east", next_due_at=t("2025-10-25T22:00+03:00"))
    clock.advance(minutes=15)
    app.issue_situation_report(DO1, "C-S1", summary="Outages spreading", next_due_at=t("2025-10-25T19:55+00:00"))
    views.catch_up()

    clock.set("2025-10-25T22:30+03:00")
    before = views.get_situation_overview(LR)["active_crises"][0]["latest_situation_report"]
    clock.set("2025-10-25T22:56+03:00")
    after = views.get_situation_overview(LR)["active_crises"][0]["latest_situation_report"]

    assert before == {"number": 2, "issued_at": "2025-10-25T21:55+03:00", "next_due_at": "2025-10-25T22:55+03:00",
                      "overdue": False}
    assert after == {**before, "overdue": True}


def test_the_overview_counts_decisions_and_those_due_for_review(app, views, clock):
    """Given D-1 (review 22:00), D-2 superseding D-3 (review 22:00) and D-4 (review 23:00), when read at 22:30,
    then 4 decisions and only D-1 is due for review; once D-1 is reviewed, none is."""
    declare(app, "C-S1")
    decide = app.record_decision
    options = ["Open shelters", "Wait for Helen"]
    decide(DO1, "C-S1", decision_id="D-1", decided_by="Mayor", decision="Open warm shelters", rationale="cold",
           options=options, review_at=t("2025-10-25T22:00+03:00"))
    decide(DO1, "C-S1", decision_id="D-3", decided_by="Mayor", decision="Shelters in libraries", rationale="central",
           options=options, review_at=t("2025-10-25T22:00+03:00"))
    decide(DO1, "C-S1", decision_id="D-2", decided_by="Mayor", decision="Shelters in schools", rationale="open 24/7",
           options=options, supersedes="D-3")
    decide(DO1, "C-S1", decision_id="D-4", decided_by="Mayor", decision="Evening bulletin", rationale="inform",
           options=options, review_at=t("2025-10-25T23:00+03:00"))
    views.catch_up()
    clock.set("2025-10-25T22:30+03:00")

    due = views.get_situation_overview(LR)
    app.record_decision_review(DO1, "C-S1", decision_id="D-1", outcome="Shelters stay open")
    views.catch_up()
    reviewed = views.get_situation_overview(LR)

    assert (due["decisions"], due["active_crises"][0]["decisions"]) == (4, 4)
    assert due["decisions_review_due"] == [
        {"crisis_id": "C-S1", "decision_id": "D-1", "review_at": "2025-10-25T22:00+03:00"}
    ]
    assert due["active_crises"][0]["decisions_review_due"] == due["decisions_review_due"]
    assert (reviewed["decisions"], reviewed["decisions_review_due"]) == (4, [])


# --- the crisis timeline ------------------------------------------------------------------------------


def test_the_timeline_orders_entries_by_instant_across_the_autumn_clock_change(app, views, clock):
    """Given C-S1 declared at 02:50+03:00 on 26 October 2025 and, after the clocks went back, an entry at
    03:20+02:00 recorded before a late one for 03:40+03:00, when the timeline is read, then 03:40+03:00 comes
    before 03:20+02:00 (it happened 40 minutes earlier), both shown with their offsets, the late one flagged."""
    clock.set("2025-10-26T02:50+03:00")
    declare(app, "C-S1")
    clock.set("2025-10-26T03:25+02:00")
    app.record_log_entry(DO1, "C-S1", text="Second tree down on Itäväylä", occurred_at=t("2025-10-26T03:20+02:00"))
    app.record_log_entry(DO1, "C-S1", text="Tree down on Itäväylä", occurred_at=t("2025-10-26T03:40+03:00"),
                         late_entry_reason="radio report written up after the call")
    views.catch_up()

    entries = views.get_crisis_timeline(LR, "C-S1")["entries"]

    assert [(e["kind"], e["occurred_at"], e["recorded_at"], e["late"], e["late_entry_reason"]) for e in entries] == [
        ("declared", "2025-10-26T02:50+03:00", "2025-10-26T02:50:00+03:00", False, None),
        ("log_entry", "2025-10-26T03:40+03:00", "2025-10-26T03:25:00+02:00", True,
         "radio report written up after the call"),
        ("log_entry", "2025-10-26T03:20+02:00", "2025-10-26T03:25:00+02:00", False, None),
    ]
    assert [e["content"]["text"] for e in entries[1:]] == ["Tree down on Itäväylä", "Second tree down on Itäväylä"]
    assert (entries[1]["late_minutes"], entries[1]["actor"]) == (45, "DO-1")


def test_an_entry_recorded_more_than_15_minutes_late_is_flagged_late_even_by_seconds(app, views, clock):
    """Given an entry for 21:40 recorded at 21:55:30 (it needed a late-entry reason) and one for 21:55 recorded
    at 21:55:30 without one, when the timeline is read, then only the first is flagged late."""
    declare(app, "C-S1")
    clock.set("2025-10-25T21:55:30+03:00")
    app.record_log_entry(DO1, "C-S1", text="Power cut in Vuosaari", occurred_at=t("2025-10-25T21:40+03:00"),
                         late_entry_reason="phone log typed up")
    app.record_log_entry(DO1, "C-S1", text="Helen on site", occurred_at=t("2025-10-25T21:55+03:00"))
    views.catch_up()

    entries = views.get_crisis_timeline(LR, "C-S1")["entries"]

    assert [(e["content"]["text"], e["late"]) for e in entries if e["kind"] == "log_entry"] == [
        ("Power cut in Vuosaari", True),
        ("Helen on site", False),
    ]


def test_a_struck_log_entry_is_shown_struck_with_its_reason_not_removed(app, views, clock):
    """Given two log entries and the first struck through by DO-1, when the timeline is read, then both are
    still there in order; the first is struck, with its reason and who struck it, and keeps its text."""
    declare(app, "C-S1")
    app.record_log_entry(DO1, "C-S1", text="Kallio water main burst", source="HSY")
    app.record_log_entry(DO1, "C-S1", text="Helen restoring power in Vuosaari", source="HELEN")
    clock.advance(minutes=3)
    app.strike_log_entry(DO1, "C-S1", number=1, reason="entered in the wrong crisis")
    views.catch_up()

    entries = [e for e in views.get_crisis_timeline(LR, "C-S1")["entries"] if e["kind"] == "log_entry"]

    assert [(e["ref"], e["content"]["text"], e["struck"], e["struck_reason"], e["struck_by"]) for e in entries] == [
        ("1", "Kallio water main burst", True, "entered in the wrong crisis", "DO-1"),
        ("2", "Helen restoring power in Vuosaari", False, None, None),
    ]


# --- the boards and the decision log ------------------------------------------------------------------


def test_the_readiness_board_shows_each_units_readiness_its_active_plans_and_reviews_due(app, views, clock):
    """Given SOTEPE raised to COMMAND for C-S3 by its director, its plan activated, KYMP's plan activated and
    deactivated, and KYMP's plan review due at 22:00, when read at 22:10, then SOTEPE shows COMMAND with who
    and why and one active plan, KYMP shows none, and KYMP's plan review is due."""
    declare(app, "C-S3", title="Water main burst in Kallio", category="UTILITY_WATER")
    app.change_readiness(SOTEPE, "SOTEPE", to_level="COMMAND", decided_by="Executive Director, SOTEPE",
                         reason="care homes without water", crisis_ref="C-S3")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    approved_plan(app, "KYMP", "CP-KYMP-01")
    app.record_plan_review(KYMP, "KYMP", plan_id="CP-KYMP-01", next_review_due=t("2025-10-25T22:00+03:00"))
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S3")
    app.activate_continuity_plan(KYMP, "KYMP", plan_id="CP-KYMP-01", crisis_id="C-S3")
    clock.advance(minutes=5)
    app.deactivate_continuity_plan(KYMP, "KYMP", plan_id="CP-KYMP-01", reason="street water restored")
    views.catch_up()
    clock.set("2025-10-25T22:10+03:00")

    board = views.get_readiness_board(LR)

    units = {u["unit"]: u for u in board["units"]}
    assert len(units) == 9
    sotepe = units["SOTEPE"]
    assert [sotepe[k] for k in ("readiness", "decided_by", "reason", "crisis_ref", "changed_at")] == [
        "COMMAND", "Executive Director, SOTEPE", "care homes without water", "C-S3", "2025-10-25T21:40+03:00"
    ]
    assert (sotepe["active_plans"], units["KYMP"]["active_plans"], units["KYMP"]["readiness"]) == (
        ["CP-SOTEPE-02"], [], "BASIC"
    )
    assert [(p["plan_id"], p["active_minutes"]) for p in board["active_plans"]] == [("CP-SOTEPE-02", 30)]
    assert [(r["unit"], r["plan_id"], r["next_review_due"]) for r in board["reviews_due"]] == [
        ("KYMP", "CP-KYMP-01", "2025-10-25T22:00+03:00")
    ]


def test_the_police_liaison_board_shows_age_by_direction_and_type_and_answer_minutes(app, views, clock):
    """Given three open requests (one raised at 18:46 UTC, i.e. 21:46 in Helsinki) and two closed ones (one
    answered after 12 min, one declined after 10), when read at 22:00, then the open ones are listed by instant
    with their ages and counted by direction and type, and the closed ones show outcome and answer minutes."""
    declare(app, "C-S4", title="Threats against schools", category="THREAT_VIOLENCE")
    app.open_police_liaison(PC, liaison_id="L-C-S4", crisis_id="C-S4")
    app.open_police_liaison(PC, liaison_id="L-PRIDE", topic="Helsinki Pride 2025")

    def raise_request(liaison: str, request_id: str, direction: str, request_type: str, **more: object) -> None:
        app.raise_police_request(PC, liaison, request_id=request_id, direction=direction, request_type=request_type,
                                 subject=f"subject of {request_id}", **more)

    raise_request("L-C-S4", "PR-1", "POLICE_TO_CITY", "INFORMATION")
    raise_request("L-C-S4", "PR-2", "CITY_TO_POLICE", "EXECUTIVE_ASSISTANCE", legal_basis="Police Act 9:1")
    clock.advance(minutes=2)
    raise_request("L-PRIDE", "PR-9", "CITY_TO_POLICE", "COORDINATION")
    clock.advance(minutes=3)
    raise_request("L-C-S4", "PR-3", "POLICE_TO_CITY", "INFORMATION")
    clock.advance(minutes=1)
    raise_request("L-PRIDE", "PR-10", "CITY_TO_POLICE", "INFORMATION", occurred_at=t("2025-10-25T18:46+00:00"))
    clock.set("2025-10-25T21:52+03:00")
    app.answer_police_request(PC, "L-C-S4", request_id="PR-1", response="Schools listed",
                             answered_by="KASKO security chief")
    app.decline_police_request(PC, "L-PRIDE", request_id="PR-9", response="No resources")
    views.catch_up()
    clock.set("2025-10-25T22:00+03:00")

    board = views.get_police_liaison_board(LR)

    assert [(r["request_id"], r["crisis_id"], r["direction"], r["request_type"], r["age_minutes"])
            for r in board["open"]] == [
        ("PR-2", "C-S4", "CITY_TO_POLICE", "EXECUTIVE_ASSISTANCE", 20),
        ("PR-3", "C-S4", "POLICE_TO_CITY", "INFORMATION", 15),
        ("PR-10", None, "CITY_TO_POLICE", "INFORMATION", 14),
    ]
    assert board["open"][0]["legal_basis"] == "Police Act 9:1"
    assert board["open_by_direction_and_type"] == {
        "CITY_TO_POLICE": {"EXECUTIVE_ASSISTANCE": 1, "INFORMATION": 1},
        "POLICE_TO_CITY": {"INFORMATION": 1},
    }
    assert [(r["request_id"], r["status"], r["answer_minutes"], r["answered_by"], r["response"]["text"])
            for r in board["closed"]] == [
        ("PR-1", "ANSWERED", 12, "KASKO security chief", "Schools listed"),
        ("PR-9", "DECLINED", 10, None, "No resources"),
    ]


def test_the_decision_log_shows_supersession_both_ways_reviews_appended_and_reviews_due(app, views, clock):
    """Given D-1 (review 22:00) superseded by D-2 (review 22:00), D-2 reviewed twice and D-3 (review 22:10)
    given in UTC, when the log is read at 22:15, then it is ordered by instant, D-1 names D-2 as its successor
    and D-2 names D-1, D-2 carries both reviews in order, and only D-3 is due for review."""
    declare(app, "C-S1")
    options = ["Open shelters", "Wait for Helen"]
    app.record_decision(DO1, "C-S1", decision_id="D-1", decided_by="Mayor", decision="Open warm shelters",
                        rationale="Indoor temperatures falling", options=options, authority="Mayor's office",
                        review_at=t("2025-10-25T22:00+03:00"), references=["sitrep #1"])
    clock.advance(minutes=5)
    app.record_decision(DO1, "C-S1", decision_id="D-2", decided_by="Mayor", decision="Shelters in schools",
                        rationale="Libraries close at night", options=["Schools", "Libraries"], supersedes="D-1",
                        review_at=t("2025-10-25T22:00+03:00"))
    app.record_decision(DO1, "C-S1", decision_id="D-3", decided_by="Head of Preparedness", decision="Bulletin",
                        rationale="inform residents", options=["Radio", "Text message"],
                        occurred_at=t("2025-10-25T18:43+00:00"), review_at=t("2025-10-25T19:10+00:00"))
    clock.advance(minutes=20)
    app.record_decision_review(DO1, "C-S1", decision_id="D-2", outcome="Keep schools open")
    clock.advance(minutes=5)
    app.record_decision_review(DO1, "C-S1", decision_id="D-2", outcome="Add Vuosaari school")
    views.catch_up()
    clock.set("2025-10-25T22:15+03:00")

    log = views.get_decision_log(LR, "C-S1")

    decisions = {d["decision_id"]: d for d in log["decisions"]}
    assert [d["decision_id"] for d in log["decisions"]] == ["D-1", "D-3", "D-2"]
    assert (decisions["D-1"]["superseded_by"], decisions["D-2"]["supersedes"]) == ("D-2", "D-1")
    assert (decisions["D-1"]["supersedes"], decisions["D-2"]["superseded_by"]) == (None, None)
    assert (decisions["D-1"]["options"], decisions["D-1"]["references"], decisions["D-1"]["authority"]) == (
        options, ["sitrep #1"], "Mayor's office"
    )
    assert [(r["outcome"], r["occurred_at"], r["actor"]) for r in decisions["D-2"]["reviews"]] == [
        ("Keep schools open", "2025-10-25T22:05+03:00", "DO-1"),
        ("Add Vuosaari school", "2025-10-25T22:10+03:00", "DO-1"),
    ]
    assert decisions["D-3"]["decided_at"] == "2025-10-25T21:43+03:00"
    assert log["review_due"] == ["D-3"]
    assert [d["review_due"] for d in log["decisions"]] == [False, True, False]


# --- who sees what ------------------------------------------------------------------------------------


def test_an_uncleared_reader_sees_labels_where_a_cleared_one_sees_content(app, views, clock):
    """Given a SECRET log entry, action and decision and a request received from the police marked TL IV, when an
    uncleared and a cleared leadership reader read, then the uncleared one sees that each record exists, its
    times and legal basis, with a label in place of the content; the cleared one sees the content."""
    declare(app, "C-S4", title="Threats against schools", category="THREAT_VIOLENCE")
    app.record_log_entry(DO1, "C-S4", text="Threat names Kallio upper secondary", classification=SECRET)
    app.assign_action(DO1, "C-S4", action_id="A-1", unit="KASKO", task="Lock down Kallio upper secondary",
                      due_at=t("2025-10-25T22:00+03:00"), classification=SECRET)
    app.record_decision(DO1, "C-S4", decision_id="D-1", decided_by="Head of Education", decision="Schools closed",
                        rationale="Credible threat", options=["Close", "Stay open"], classification=SECRET)
    app.open_police_liaison(PC, liaison_id="L-C-S4", crisis_id="C-S4")
    app.raise_police_request(PC, "L-C-S4", request_id="PR-1", direction="POLICE_TO_CITY", request_type="INFORMATION",
                             subject="Suspect's school enrolment", classification=FROM_POLICE)
    views.catch_up()
    secret, received = "[SECRET JulkL 24.1 § 7 k]", "[RECEIVED TL IV, originator HPD]"

    def seen(reader: Actor) -> tuple:
        entry = [e for e in views.get_crisis_timeline(reader, "C-S4")["entries"] if e["kind"] == "log_entry"][0]
        action = views.get_situation_overview(reader)["open_actions"][0]
        decision = views.get_decision_log(reader, "C-S4")["decisions"][0]
        request = views.get_police_liaison_board(reader)["open"][0]
        return (
            (entry["redacted"], entry["content"], entry["occurred_at"]),
            (action["redacted"], action["task"], action["due_at"], action["unit"]),
            (decision["redacted"], decision["decision"], decision["rationale"], decision["options"],
             decision["decided_by"], decision["classification"]["legal_basis"]),
            (request["redacted"], request["subject"], request["classification"]["marking"], request["raised_at"]),
        )

    assert seen(LR) == (
        (True, secret, "2025-10-25T21:40+03:00"),
        (True, secret, "2025-10-25T22:00+03:00", "KASKO"),
        (True, secret, secret, secret, secret, "JulkL 24.1 § 7 k"),
        (True, received, "TL IV", "2025-10-25T21:40+03:00"),
    )
    assert seen(CLEARED) == (
        (False, {"text": "Threat names Kallio upper secondary", "source": None}, "2025-10-25T21:40+03:00"),
        (False, "Lock down Kallio upper secondary", "2025-10-25T22:00+03:00", "KASKO"),
        (False, "Schools closed", "Credible threat", ["Close", "Stay open"], "Head of Education", "JulkL 24.1 § 7 k"),
        (False, "Suspect's school enrolment", "TL IV", "2025-10-25T21:40+03:00"),
    )


# --- exactly once, and rebuilds -----------------------------------------------------------------------


def test_catching_up_twice_changes_nothing(services, app, views, clock):
    """Given the storm evening caught up, when catch-up runs again, then it reads nothing, no position moves and
    every read model reads as before."""
    storm_evening(app, clock)
    read = views.catch_up()
    before = (table_rows(services), every_read(views, ["C-S1", "C-S3"]))
    positions = {name: views.position(name) for name in views.models}

    again = views.catch_up()

    assert read == app.recorder.max_notification_id() and again == 0
    assert {name: views.position(name) for name in views.models} == positions
    assert (table_rows(services), every_read(views, ["C-S1", "C-S3"])) == before


def test_a_batch_applied_twice_is_applied_once(services, app, views, clock):
    """Given the storm evening caught up to position P, when one more review is recorded and a batch spanning
    P-5 to the end is applied to the decision log twice, then only the new event is applied, once: the review
    appears once and the second application changes nothing."""
    storm_evening(app, clock)
    views.catch_up()
    tracked = views.position()
    app.record_decision_review(DO1, "C-S3", decision_id="D-3", outcome="Second tank ordered")
    notifications = app.recorder.select_notifications(start=tracked - 5, limit=100)
    model = views.models["decision_log"]

    first = apply_batch(views.store, model, notifications, app.mapper.to_domain_event)
    rows = table_rows(services)
    second = apply_batch(views.store, model, notifications, app.mapper.to_domain_event)

    assert (first, second) == (1, 0)
    assert table_rows(services) == rows
    assert views.position("decision_log") == app.recorder.max_notification_id()
    reviews = views.get_decision_log(CLEARED, "C-S3")["decisions"][0]["reviews"]
    assert [r["outcome"] for r in reviews] == ["Tanks in place; keep", "Second tank ordered"]


def test_rebuilding_each_read_model_reads_the_same_as_the_live_one(services, app, views, clock):
    """Given the storm evening followed live, batch by batch as it happened, when every read model is rebuilt
    from the log, then every read answers exactly as before, for cleared and uncleared readers alike."""
    storm_evening(app, clock)  # caught up once at the end…
    views.catch_up()
    clock.advance(minutes=1)
    app.record_log_entry(DO1, "C-S1", text="Power back in Mellunkylä", source="HELEN")
    views.catch_up()  # …and once more after one more entry, as a live follower would
    live_rows, live_reads = table_rows(services), every_read(views, ["C-S1", "C-S3"])
    assert live_reads["timeline/C-S1/LR-2"]["entries"]  # the comparison below is between full read models

    counts = {name: views.rebuild(name) for name in VIEWS}  # each reads only the events of its topics…

    end = app.recorder.max_notification_id()
    assert counts == dict.fromkeys(VIEWS, end)
    assert {name: views.position(name) for name in VIEWS} == dict.fromkeys(VIEWS, end)  # …and reaches the end
    assert table_rows(services) == live_rows
    assert every_read(views, ["C-S1", "C-S3"]) == live_reads


def test_a_read_model_stored_in_another_shape_is_emptied_and_rebuilt_at_start(services, app, views, clock):
    """Given the storm evening followed into the read models, and the decision log's rows written by another
    version of Valmius (another shape stored for it), when a process starts on the store, then the decision log
    alone is emptied and set back to the start of the log, and following the log builds it as it was."""
    storm_evening(app, clock)
    views.catch_up()
    rows, reads = table_rows(services), every_read(views, ["C-S1", "C-S3"])
    with views.store.transaction() as tx:
        tx.execute("UPDATE valmius_read_model_shapes SET shape = 'older' WHERE view = 'decision_log'")

    restarted = Projections(app, views.store, followers())

    assert restarted.position("decision_log") == 0
    assert restarted.position("situation_overview") == app.recorder.max_notification_id()
    assert views.store.query("SELECT * FROM rm_decisions") == []
    restarted.catch_up()
    assert (table_rows(services), every_read(restarted, ["C-S1", "C-S3"])) == (rows, reads)
    assert Projections(app, views.store, followers()).position() == app.recorder.max_notification_id()  # a second start: no reset


def test_a_batch_forgets_nothing_it_remembered_before_its_rows_are_written(services, app, views, clock):
    """Given the storm evening and one more liaison opened before a request is raised on the first, when the
    read models are rebuilt in one batch with room for one remembered record only in the timeline and the
    police liaison board, then they equal those followed with ample memory: a completion keeps the secrecy of
    the action it completes and a request is on the board under its liaison's crisis, although the batch's
    rows they depend on are not written yet when they are applied."""
    storm_evening(app, clock)
    app.open_police_liaison(PC, liaison_id="L-C-S3", crisis_id="C-S3")
    app.raise_police_request(PC, "L-C-S1", request_id="PR-3", direction="POLICE_TO_CITY", request_type="INFORMATION",
                             subject="Shelter capacity in schools")
    views.catch_up()
    expected = (table_rows(services), every_read(views, ["C-S1", "C-S3"]))
    views.models["crisis_timeline"]._parents.limit = 1
    views.models["police_liaison_board"]._crisis_of.limit = 1

    views.rebuild()  # the whole log in one batch

    assert (table_rows(services), every_read(views, ["C-S1", "C-S3"])) == expected


def test_a_follower_leaves_alone_a_read_model_another_version_has_reset(services, app, views, clock, caplog):
    """Given the storm evening followed, when a process of another version of Valmius resets the decision log
    to its own shape and more is recorded, then this follower applies the new events to every other read
    model and leaves the decision log alone (no rows of two versions), saying so in the log."""
    storm_evening(app, clock)
    views.catch_up()
    with views.store.transaction() as tx:  # what tracking.prepare of the other version does
        tx.execute("UPDATE valmius_read_model_shapes SET shape = 'other' WHERE view = 'decision_log'")
        tx.execute("DELETE FROM rm_decisions")
        tx.execute("UPDATE valmius_tracking SET position = 0 WHERE view = 'decision_log'")
    app.record_decision(DO1, "C-S1", decision_id="D-4", decided_by="Mayor", decision="Buses as warm shelters",
                        rationale="Schools full", options=["Buses", "Wait"])

    views.catch_up()
    views.catch_up()

    end = app.recorder.max_notification_id()
    assert views.position("decision_log") == 0
    assert views.store.query("SELECT * FROM rm_decisions") == []
    assert all(views.position(name) == end for name in VIEWS if name != "decision_log")
    assert "another version of Valmius runs on this store" in caplog.text


# --- a read model that fails on an event --------------------------------------------------------------


def poison(model, fails) -> None:  # noqa: ANN001
    """A bug in `model`'s handler of decisions: it raises on every decision `fails` picks (injected into this
    instance only: a Projections made afresh has the fixed handler)."""
    handler = model.handlers[Crisis.DecisionRecorded]

    def buggy(tx, event, position):  # noqa: ANN001, ANN202
        if fails(event):
            raise ValueError(f"no room for decision {event.decision_id}")
        handler(tx, event, position)

    model.handlers[Crisis.DecisionRecorded] = buggy


def decide(app, crisis_id: str, decision_id: str) -> int:  # noqa: ANN001
    app.record_decision(DO1, crisis_id, decision_id=decision_id, decided_by="Mayor", decision=f"decision {decision_id}",
                        rationale="storm", options=["act", "wait"])
    return app.recorder.max_notification_id()


def follow_until(views, condition) -> None:  # noqa: ANN001
    """Run the follower in a thread of its own until `condition` holds (10 s at most)."""
    stop = threading.Event()
    follower = threading.Thread(target=views.follow, args=(stop,))
    follower.start()
    try:
        deadline = time.monotonic() + 10
        while not condition():
            assert time.monotonic() < deadline, "the follower did not get there"
            time.sleep(0.02)
    finally:
        stop.set()
        follower.join(timeout=10)


def test_a_read_model_failing_on_an_event_stops_before_it_alone_and_a_fixed_follower_applies_it_once(
    services, app, views, clock
):
    """Given the storm evening followed, and a bug in the decision log's handler of decision D-BUG, when D-BUG
    and more are recorded and the log is followed, then the decision log stops just before D-BUG, the failure
    (position, model, error) is kept in the store, and every other read model is current (the overview, which
    counts decisions, says it is stale); followed again, the
    bug keeps failing and stays reported; a follower started with the fixed handler resumes at D-BUG, applies
    it exactly once, and the failure is gone: the decision log equals one rebuilt from the log."""
    storm_evening(app, clock)
    views.catch_up()
    poison(views.models["decision_log"], lambda event: event.decision_id == "D-BUG")
    bug = decide(app, "C-S1", "D-BUG")
    declare(app, "C-AFTER", title="Flooding in Vuosaari harbour")
    decide(app, "C-AFTER", "D-AFTER")
    end = app.recorder.max_notification_id()

    views.catch_up()

    assert {name: views.position(name) for name in views.models if name != "decision_log"} == dict.fromkeys(
        [name for name in views.models if name != "decision_log"], end
    )
    assert views.position("decision_log") == bug - 1
    [failure] = views.failures().values()
    assert (failure.model, failure.position, failure.error, failure.attempts) == (
        "decision_log", bug, "ValueError: no room for decision D-BUG", 1
    )
    assert "C-AFTER" in [c["crisis_id"] for c in views.get_situation_overview(LR)["active_crises"]]
    assert views.get_decision_log(CLEARED, "C-AFTER")["decisions"] == []
    stopped = views.freshness("decision_log")
    assert (stopped["state"], stopped["behind"], stopped["failed"]["position"]) == ("stale", end - bug + 1, bug)
    assert views.freshness("crisis_timeline")["state"] == "live"
    overview = views.freshness("situation_overview")  # it counts the decisions: as current as the decision log
    assert (overview["state"], overview["position"], overview["failed"]["model"]) == ("stale", bug - 1, "decision_log")
    [problem] = views.readiness(max_lag=1000).problems
    assert f"read model decision_log is stopped before the event at position {bug}" in problem

    views.catch_up([views.models["decision_log"]])  # tried again: the bug is still there

    assert views.position("decision_log") == bug - 1
    assert views.failures()["decision_log"].attempts == 2

    restarted = Projections(app, views.store, followers())  # the fixed version
    follow_until(restarted, lambda: restarted.position("decision_log") == end)

    assert restarted.failures() == {} and restarted.readiness(max_lag=0).problems == []
    decided = [d["decision_id"] for d in restarted.get_decision_log(CLEARED, "C-S1")["decisions"]]
    assert decided == ["D-1", "D-2", "D-BUG"]
    assert [d["decision_id"] for d in restarted.get_decision_log(CLEARED, "C-AFTER")["decisions"]] == ["D-AFTER"]
    live = table_rows(services)
    restarted.rebuild("decision_log")
    assert table_rows(services) == live


def test_a_transient_failure_is_tried_again_with_backoff_and_heals_by_itself(services, app, views, clock):
    """Given the decision log failing twice on D-2 as a dropped connection would (once with every model, once
    alone), when the log is followed, then the failure is reported, and the follower tries the decision log
    again after a back-off, alone, and it catches up with no failure left."""
    declare(app, "C-1")
    decide(app, "C-1", "D-1")
    views.catch_up()
    attempts: list[float] = []

    def dropped(event) -> bool:  # noqa: ANN001
        if event.decision_id != "D-2":
            return False
        attempts.append(time.monotonic())
        return len(attempts) <= 2

    poison(views.models["decision_log"], dropped)
    decide(app, "C-1", "D-2")
    views.catch_up()
    assert views.failures()["decision_log"].attempts == 1

    end = app.recorder.max_notification_id()
    follow_until(views, lambda: views.position("decision_log") == end)

    assert views.failures() == {}
    assert [d["decision_id"] for d in views.get_decision_log(CLEARED, "C-1")["decisions"]] == ["D-1", "D-2"]
    assert len(attempts) == 3 and attempts[2] - attempts[1] >= 0.9  # tried again after the first back-off (1 s)


def test_a_rebuild_reports_a_failing_read_model_and_rebuilds_the_others(services, app, views, clock):
    """Given the storm evening followed, when every read model is rebuilt with a bug in the decision log's
    handler of D-2, then the other read models are rebuilt to the end of the log and read as before, and the
    decision log stands just before D-2 with the failure reported."""
    storm_evening(app, clock)
    views.catch_up()
    rows, reads = table_rows(services), every_read(views, [])
    bug = next(n.id for n in app.recorder.select_notifications(start=1, limit=1000) if "DecisionRecorded" in n.topic
               and b"D-2" in n.state)
    poison(views.models["decision_log"], lambda event: event.decision_id == "D-2")

    views.rebuild()

    end = app.recorder.max_notification_id()
    others = [name for name in VIEWS if name != "decision_log"]
    assert {name: views.position(name) for name in others} == dict.fromkeys(others, end)
    assert {t: r for t, r in table_rows(services).items() if not t.startswith("rm_decision")} == {
        t: r for t, r in rows.items() if not t.startswith("rm_decision")
    }
    assert every_read(views, [])["readiness/LR-2"] == reads["readiness/LR-2"]
    assert views.position("decision_log") == bug - 1
    assert views.failures()["decision_log"].position == bug


def test_a_picture_missing_events_turns_behind_then_stale_with_time_and_live_once_caught_up(app, views, clock):
    """Given the overview caught up, when two more events are recorded and not yet applied, then the overview is
    live for the first seconds (a follower takes milliseconds), behind once the oldest missing event is 5 s old
    and stale once it is a minute old, always saying its position, the head, how many events it misses and as
    of when it is; caught up, it is live again, with no event missing."""
    declare(app, "C-1")
    views.catch_up()
    caught = app.recorder.max_notification_id()
    clock.advance(minutes=1)
    app.record_log_entry(DO1, "C-1", text="Trees down on Itäväylä")
    app.record_log_entry(DO1, "C-1", text="Itäväylä closed")

    states = []
    for seconds in (1, 5, 55):
        clock.advance(seconds=seconds)
        states.append(views.freshness("situation_overview")["state"])
    fresh = views.freshness("situation_overview")
    views.catch_up()

    assert states == ["live", "behind", "stale"]
    assert fresh == {"position": caught, "head": caught + 2, "behind": 2, "as_of": "2025-10-25T21:40:00+03:00",
                     "state": "stale", "failed": None}
    assert views.freshness("situation_overview") == {
        "position": caught + 2, "head": caught + 2, "behind": 0, "as_of": "2025-10-25T21:41:00+03:00",
        "state": "live", "failed": None,
    }


def test_a_read_model_whose_keyed_table_has_a_column_default_is_refused_where_it_is_declared() -> None:
    """Given that a batch writes a keyed row with NULL in the columns it leaves out, when a read model declares a
    keyed table with a column DEFAULT, or keys a table it does not have, then the declaration is refused."""
    with pytest.raises(TypeError, match="no column DEFAULT"):

        class Counted(ReadModel):
            name = "counted"
            tables = {"rm_counted": "(id TEXT PRIMARY KEY, seen INTEGER DEFAULT 0)"}
            keys = {"rm_counted": ("id",)}

    with pytest.raises(TypeError, match="not one of its tables"):

        class Misnamed(ReadModel):
            name = "misnamed"
            tables = {"rm_misnamed": "(id TEXT PRIMARY KEY)"}
            keys = {"rm_other": ("id",)}


def test_a_batch_that_failed_is_applied_again_without_what_the_models_remembered_of_it(services, app, views):
    """Given a warning's draft applied (its texts remembered by the warning register), and a batch that issues it,
    drafts an update and revises it, which fails for the models together once (another model's handler), when
    the batch is applied again, each model alone, then the message issued holds the draft it was issued from, not
    the later one the register had remembered while the failed batch ran."""
    first = {"fi": {"headline": "Myrsky", "description": "eka"}, "sv": {"headline": "Storm", "description": "första"}}
    later = {"fi": {"headline": "Myrsky 2", "description": "toka"}, "sv": {"headline": "Storm 2", "description": "andra"}}
    now = app.now()
    warning = PublicWarning.draft(warning_id="W-1", crisis_id="C-1", texts=first, urgency="Immediate",
                                  certainty="Observed", actor="DO-1", now=now)
    warning.approve(actor="DO-2", now=now)
    app.save(warning)
    views.catch_up()
    warning.issue(sender="x@hel.example", category="SEVERE_WEATHER", severity=2, areas=["Vuosaari"], actor="DO-1",
                  now=now)
    warning.draft_update(texts=later, urgency="Immediate", certainty="Observed", actor="DO-1", now=now)
    warning.revise(texts=later, urgency="Immediate", certainty="Observed", actor="DO-1", now=now)
    app.save(warning)
    timeline = views.models["crisis_timeline"]  # applies each event before the register does
    applied = timeline.handlers[PublicWarning.Revised]
    failures = []

    def fails_once(tx, event, position):  # noqa: ANN001
        if not failures:
            failures.append(position)
            raise RuntimeError("a transient failure of another model")
        applied(tx, event, position)

    timeline.handlers[PublicWarning.Revised] = fails_once  # the register has remembered the update by then

    views.catch_up()

    assert failures and not views.failures()
    stored = views.store.query("SELECT texts FROM rm_public_warnings WHERE warning_id = 'W-1'")[0]["texts"]
    assert json.loads(stored) == first
