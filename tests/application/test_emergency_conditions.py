"""Emergency conditions on every store: EMERGENCY readiness and the EMERGENCY_CONDITIONS condition only while
they are recorded in force."""

from __future__ import annotations

import pytest

from domain.shared import Rule
from tests.application.support import (
    DO1,
    LR,
    PM,
    declare,
    refused,
)


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def test_emergency_readiness_waits_for_emergency_conditions_in_force(services, app, clock):
    refused(services, Rule.NO_EMERGENCY_CONDITIONS, app.change_readiness, PM, "SOTEPE", to_level="EMERGENCY")
    app.declare_emergency_conditions(PM, basis="Government decree under the Emergency Powers Act")
    app.change_readiness(PM, "SOTEPE", to_level="EMERGENCY", decided_by="Executive Director, SOTEPE")
    assert app.get_division_preparedness(LR, "SOTEPE").readiness == "EMERGENCY"


def test_emergency_readiness_is_refused_again_once_emergency_conditions_are_lifted(services, app, clock):
    app.declare_emergency_conditions(PM, basis="Government decree")
    clock.advance(hours=2)
    app.lift_emergency_conditions(PM, reason="decree repealed")
    refused(services, Rule.NO_EMERGENCY_CONDITIONS, app.change_readiness, PM, "KASKO", to_level="EMERGENCY")


def test_a_crisis_is_under_emergency_conditions_only_while_they_are_in_force(services, app):
    refused(services, Rule.NO_EMERGENCY_CONDITIONS, declare, app, "C-E", condition="EMERGENCY_CONDITIONS")
    declare(app, "C-S1")
    refused(
        services, Rule.NO_EMERGENCY_CONDITIONS, app.change_condition, DO1, "C-S1", to_condition="EMERGENCY_CONDITIONS"
    )
    app.declare_emergency_conditions(PM, basis="Government decree")
    app.change_condition(DO1, "C-S1", to_condition="EMERGENCY_CONDITIONS", reason="decree in force")
    declare(app, "C-E", condition="EMERGENCY_CONDITIONS")
    assert [app.get_crisis(LR, c).condition for c in ("C-S1", "C-E")] == ["EMERGENCY_CONDITIONS"] * 2


