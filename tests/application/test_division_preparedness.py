"""The use cases of a unit's preparedness on every store: the registry's records, activating continuity plans for
a crisis (rules that span aggregates), and stale versions of a unit's record."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.division_preparedness import CriticalFunction
from domain.shared import Rule
from tests.application.support import (
    LR,
    PM,
    approved_plan,
    contact,
    declare,
    move,
    refused,
)

SOTEPE = contact("SOTEPE")


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def test_every_unit_of_the_registry_has_a_preparedness_record_at_basic(app):
    units = {p.unit: p.readiness for p in app.list_division_preparedness(LR)}
    assert units == dict.fromkeys(
        ["KANSLIA", "KASKO", "KYMP", "KUVA", "SOTEPE", "STARA", "PALVELUKESKUS", "TALPA", "TYOTERVEYS"], "BASIC"
    )


def test_a_plan_cannot_be_activated_for_a_closed_crisis(services, app):
    declare(app, "C-S1")
    approved_plan(app)
    move(app, "C-S1", "contain", "resolve", "close")
    refused(
        services, Rule.CRISIS_CLOSED,
        app.activate_continuity_plan, SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1",
    )
    assert app.get_division_preparedness(LR, "SOTEPE").plans["CP-SOTEPE-02"].active_for is None


def test_a_refused_plan_activation_leaves_the_crisis_untouched(services, app):
    """Given a DRAFT plan, when activated for C-S1, then PLAN_NOT_APPROVED and C-S1 records no active plan."""
    declare(app, "C-S1")
    functions = [CriticalFunction("home care", 360, 120)]
    app.draft_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-D", title="draft", critical_functions=functions)
    refused(
        services, Rule.PLAN_NOT_APPROVED,
        app.activate_continuity_plan, SOTEPE, "SOTEPE", plan_id="CP-D", crisis_id="C-S1",
    )
    crisis = app.get_crisis(LR, "C-S1")
    assert (crisis.active_plans, crisis.version) == ({}, 1)


def test_a_plan_cannot_be_activated_for_a_time_before_the_crisis(services, app, clock):
    declare(app, "C-S1")
    approved_plan(app)
    clock.advance(minutes=20)
    refused(
        services, Rule.BEFORE_CRISIS_START,
        app.activate_continuity_plan, SOTEPE, "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1",
        occurred_at=clock() - timedelta(minutes=30), late_entry_reason="paper log",
    )


def test_a_stale_version_of_a_units_preparedness_names_the_readiness_change(services, app, clock):
    app.change_readiness(contact("KASKO"), "KASKO", to_level="ENHANCED", decided_by="Executive Director, KASKO")
    error = refused(services, Rule.CONFLICT_VERSION, app.change_readiness, PM, "KASKO", to_level="COMMAND",
                    expected_version=1)
    assert error.message == "KASKO is at version 2, not 1: readiness changed to ENHANCED by DIV-KASKO at 21:40"


