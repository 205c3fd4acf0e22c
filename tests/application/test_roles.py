"""Who does what (DOMAIN.md), through the application on every store: FORBIDDEN_ROLE, kept for auditors."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.crisis import Crisis
from domain.shared import DomainError, Rule
from tests.application.support import ADMIN, AUD, DO1, LR, PC, PM, approved_plan, contact, declare, move, refused

# Every write a reader might try; each is someone else's to do.
WRITES = {
    "declare": lambda app, actor: declare(app, "C-X", actor=actor),
    "severity": lambda app, actor: app.change_severity(actor, "C-S1", to_severity=3),
    "status": lambda app, actor: app.contain_crisis(actor, "C-S1"),
    "log": lambda app, actor: app.record_log_entry(actor, "C-S1", text="all quiet"),
    "decision": lambda app, actor: app.record_decision(
        actor, "C-S1", decision_id="D-X", decided_by="Mayor", decision="Close all schools in Helsinki today",
        rationale="r", options=["close", "keep open"],
    ),
    "readiness": lambda app, actor: app.change_readiness(actor, "KASKO", to_level="ENHANCED"),
    "police": lambda app, actor: app.open_police_liaison(actor, liaison_id="L-X", crisis_id="C-S1"),
    "emergency": lambda app, actor: app.declare_emergency_conditions(actor, basis="decree"),
}


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    declare(services.coordination, "C-S1")
    return services.coordination


def test_leadership_cannot_record_a_decision_and_is_told_who_records_it(services, app):
    """Given C-S1, when LR-2 records "close all schools", then FORBIDDEN_ROLE says who records decisions."""
    error = refused(services, Rule.FORBIDDEN_ROLE, WRITES["decision"], app, LR)
    assert error.message == (
        "leadership readers are read-only; decisions are recorded by a duty officer for the competent decision-maker"
    )
    assert app.get_crisis(DO1, "C-S1").decisions == {}


@pytest.mark.parametrize(("reader", "words"), [(LR, "leadership readers"), (AUD, "auditors")])
def test_leadership_and_auditors_write_nothing(services, app, reader, words):
    """Given C-S1, when a reader tries each kind of write, then each is refused as read-only and kept."""
    for write in WRITES.values():
        error = refused(services, Rule.FORBIDDEN_ROLE, write, app, reader)
        assert error.message.startswith(f"{words} are read-only; ")
    assert [a["user_name"] for a in services.refusals.list()] == [reader.user] * len(WRITES)


@pytest.mark.parametrize("reader", [LR, AUD, contact("KASKO"), PC], ids=["leadership", "auditor", "division", "police"])
def test_readers_see_the_crisis_the_units_and_emergency_conditions(app, reader):
    assert app.get_crisis(reader, "C-S1").title == "Storm: power outages in eastern Helsinki"
    assert [p.unit for p in app.list_division_preparedness(reader)][:2] == ["KANSLIA", "KASKO"]
    assert app.get_emergency_conditions(reader).in_force is False


def test_an_admin_sees_no_crisis_content(app):
    """Given C-S1, when the admin reads the crisis, a unit, a liaison or emergency conditions, then each is refused."""
    reads = [
        lambda: app.get_crisis(ADMIN, "C-S1"),
        lambda: app.get_division_preparedness(ADMIN, "KASKO"),
        lambda: app.get_police_liaison(ADMIN, "L-S1"),
        lambda: app.get_emergency_conditions(ADMIN),
    ]
    for read in reads:
        with pytest.raises(DomainError) as error:
            read()
        assert error.value.rule is Rule.FORBIDDEN_ROLE
        assert error.value.message.startswith("admins may not read")


def test_an_admin_writes_no_crisis_content(services, app):
    for write in ("declare", "severity", "log", "decision"):
        error = refused(services, Rule.FORBIDDEN_ROLE, WRITES[write], app, ADMIN)
        assert error.message.startswith("admins may not")


def test_the_attempt_is_kept_with_who_what_when_and_the_rule(services, app, clock):
    clock.advance(minutes=65)
    refused(services, Rule.FORBIDDEN_ROLE, WRITES["decision"], app, LR)
    [attempt] = services.refusals.list(target="C-S1")
    assert (attempt["user_name"], attempt["role"], attempt["command"], attempt["rule"]) == (
        "LR-2", "leadership", "record_decision", "FORBIDDEN_ROLE"
    )
    assert attempt["at"] == clock().isoformat()
    assert attempt["payload"]["decision"] == "Close all schools in Helsinki today"


# --- division contacts --------------------------------------------------------------------------------


def test_a_division_contact_changes_its_own_units_readiness(app):
    app.change_readiness(contact("KASKO"), "KASKO", to_level="ENHANCED", reason="Monday school operations at risk")
    kasko = app.get_division_preparedness(LR, "KASKO")
    assert (kasko.readiness, kasko.readiness_history[0].decided_by) == ("ENHANCED", "DIV-KASKO")


def test_a_division_contact_cannot_change_another_units_readiness(services, app):
    error = refused(
        services, Rule.FORBIDDEN_ROLE, app.change_readiness, contact("KASKO"), "SOTEPE", to_level="ENHANCED"
    )
    assert error.message == "the division contact of KASKO may not change readiness for SOTEPE"


def test_a_division_contact_keeps_its_own_units_plans_only(services, app):
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    assert app.get_division_preparedness(LR, "SOTEPE").plans["CP-SOTEPE-02"].status == "APPROVED"
    refused(
        services, Rule.FORBIDDEN_ROLE,
        app.activate_continuity_plan, contact("KASKO"), "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1",
    )


def test_a_duty_officer_does_not_keep_a_units_readiness(services, app):
    refused(services, Rule.FORBIDDEN_ROLE, app.change_readiness, DO1, "KASKO", to_level="ENHANCED")


def test_the_preparedness_manager_acts_for_any_unit(app):
    app.change_readiness(PM, "STARA", to_level="ENHANCED", decided_by="CEO, Stara")
    approved_plan(app, "KYMP", "CP-KYMP-01")  # drafted by the unit's contact
    app.activate_continuity_plan(PM, "KYMP", plan_id="CP-KYMP-01", crisis_id="C-S1")
    assert app.get_division_preparedness(LR, "STARA").readiness == "ENHANCED"
    assert app.get_crisis(LR, "C-S1").active_plans == {"CP-KYMP-01": "KYMP"}


def test_a_division_contact_completes_its_own_units_action(app, clock):
    app.assign_action(DO1, "C-S1", action_id="A-S1-03", unit="PALVELUKESKUS", task="Prioritise alarm call-backs",
                      due_at=clock() + timedelta(hours=1))
    app.complete_action(contact("PALVELUKESKUS"), "C-S1", action_id="A-S1-03")
    action = app.get_crisis(LR, "C-S1").actions["A-S1-03"]
    assert (action.status, action.closed_by) == ("COMPLETED", "DIV-PALVELUKESKUS")


def test_a_division_contact_cannot_complete_another_units_action(services, app, clock):
    due = clock() + timedelta(hours=1)
    app.assign_action(DO1, "C-S1", action_id="A-S1-01", unit="STARA", task="Clear trees", due_at=due)
    error = refused(
        services, Rule.FORBIDDEN_ROLE,
        app.complete_action, contact("KASKO"), "C-S1", action_id="A-S1-01",
    )
    assert error.message == (
        "A-S1-01 is assigned to STARA; the division contact of KASKO completes its own unit's actions only"
    )


def test_a_division_contact_neither_assigns_nor_cancels_actions(services, app, clock):
    due = clock() + timedelta(hours=1)
    refused(services, Rule.FORBIDDEN_ROLE, app.assign_action, contact("STARA"), "C-S1", action_id="A-1", unit="STARA",
            task="Clear trees", due_at=due)
    app.assign_action(DO1, "C-S1", action_id="A-1", unit="STARA", task="Clear trees", due_at=due)
    refused(
        services, Rule.FORBIDDEN_ROLE, app.cancel_action, contact("STARA"), "C-S1", action_id="A-1"
    )


def test_a_division_contact_logs_entries_reporting_from_its_own_unit(app):
    app.record_log_entry(contact("KYMP"), "C-S1", text="sample results clean")
    [entry] = app.get_crisis(LR, "C-S1").log
    assert (entry.source, entry.actor) == ("KYMP", "DIV-KYMP")


def test_a_division_contact_cannot_log_for_another_source(services, app):
    error = refused(
        services, Rule.FORBIDDEN_ROLE,
        app.record_log_entry, contact("KYMP"), "C-S1", text="water restored", source="HSY",
    )
    assert error.message == "the division contact of KYMP records entries reporting from KYMP only"


def test_a_division_contact_does_not_run_the_crisis(services, app):
    refused(services, Rule.FORBIDDEN_ROLE, app.change_severity, contact("KASKO"), "C-S1", to_severity=3)


# --- the preparedness manager and the police coordinator ----------------------------------------------


def test_only_the_preparedness_manager_records_the_after_action_review(services, app):
    move(app, "C-S1", "contain", "resolve", "close")
    findings = ["home-care device register out of date"]
    refused(services, Rule.FORBIDDEN_ROLE, app.record_after_action_review, DO1, "C-S1", findings=findings)
    app.record_after_action_review(PM, "C-S1", findings=findings, recommendations=["monthly register check"])
    assert app.get_crisis(AUD, "C-S1").after_action_review.actor == "PM"


def test_only_the_preparedness_manager_records_emergency_conditions(services, app):
    error = refused(services, Rule.FORBIDDEN_ROLE, app.declare_emergency_conditions, DO1, basis="decree")
    assert "the preparedness manager records them" in error.message
    app.declare_emergency_conditions(PM, basis="Government decree under the Emergency Powers Act")
    assert app.get_emergency_conditions(LR).in_force


def test_the_preparedness_manager_runs_crises_like_a_duty_officer(app):
    app.change_severity(PM, "C-S1", to_severity=3, reason="city coordination group convened")
    assert app.get_crisis(LR, "C-S1").severity == 3


def test_only_the_police_coordinator_keeps_police_requests(services, app):
    refused(services, Rule.FORBIDDEN_ROLE, WRITES["police"], app, DO1)
    app.open_police_liaison(PC, liaison_id="L-S1", crisis_id="C-S1")
    assert app.get_police_liaison(DO1, "L-S1").crisis_id == "C-S1"


def test_the_police_coordinator_does_not_declare_crises(services, app):
    refused(services, Rule.FORBIDDEN_ROLE, WRITES["declare"], app, PC)
    assert Crisis.id_for("C-X") not in app.repository
