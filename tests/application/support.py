"""The people of the scenarios and the Given steps the application tests share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from application.coordination import Coordination
from domain.access import Actor, Role
from domain.division_preparedness import CriticalFunction
from domain.shared import DomainError, Rule
from infrastructure.bootstrap import Services

DO1 = Actor("DO-1", Role.DUTY_OFFICER)
DO2 = Actor("DO-2", Role.DUTY_OFFICER)
PM = Actor("PM", Role.PREPAREDNESS_MANAGER)
PC = Actor("PC", Role.POLICE_COORDINATOR)
LR = Actor("LR-2", Role.LEADERSHIP)
AUD = Actor("AUD", Role.AUDITOR)
ADMIN = Actor("ADM", Role.ADMIN)


class RefusalsInMemory:
    """Where refused attempts go when the application is built by a test without a database of its own."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, **row: Any) -> None:
        self.rows.append(row)

    def list(self, *, target: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        return [r for r in self.rows if target is None or r["target"] == target][:limit]


def contact(unit: str) -> Actor:
    """The division contact of `unit` (DIV:<UNIT> in the scenarios)."""
    return Actor(f"DIV-{unit}", Role.DIVISION_CONTACT, unit=unit)


def declare(app: Coordination, crisis_id: str = "C-S1", **overrides: object) -> int:
    """Given a crisis declared by DO-1 at the clock's time."""
    args = {
        "crisis_id": crisis_id,
        "title": "Storm: power outages in eastern Helsinki",
        "category": "SEVERE_WEATHER",
        "severity": 2,
        "areas": ["Vuosaari", "Mellunkylä"],
        **overrides,
    }
    return app.declare_crisis(args.pop("actor", DO1), **args)


def approved_plan(app: Coordination, unit: str = "SOTEPE", plan_id: str = "CP-SOTEPE-02") -> None:
    """Given an approved continuity plan of `unit` (MTPD 12 h, RTO 4 h)."""
    app.draft_continuity_plan(
        contact(unit),
        unit,
        plan_id=plan_id,
        title="Home care and 24/7 units without tap water",
        critical_functions=[CriticalFunction("medication preparation and hygiene", 12 * 60, 4 * 60)],
    )
    app.approve_continuity_plan(contact(unit), unit, plan_id=plan_id, approved_by=f"Executive Director, {unit}")


def open_request(app: Coordination, crisis_id: str = "C-S1", request_id: str = "PR-S1-02") -> None:
    """Given a police liaison for the crisis with one open request in it."""
    app.open_police_liaison(PC, liaison_id=f"L-{crisis_id}", crisis_id=crisis_id)
    app.raise_police_request(
        PC,
        f"L-{crisis_id}",
        request_id=request_id,
        direction="POLICE_TO_CITY",
        request_type="INFORMATION",
        subject="Service-housing units without backup power (patrol planning)",
    )


TRANSITIONS = {
    "contain": Coordination.contain_crisis,
    "reopen": Coordination.reopen_crisis,
    "resolve": Coordination.resolve_crisis,
    "close": Coordination.close_crisis,
}


def move(app: Coordination, crisis_id: str, *transitions: str, actor: Actor = DO1) -> int:
    """Given the crisis moved through `transitions` ("contain", "resolve", …) by `actor`."""
    version = 0
    for transition in transitions:
        version = TRANSITIONS[transition](app, actor, crisis_id)
    return version


def refused(services: Services, rule: Rule, command: Callable, *args: object, **kwargs: object) -> DomainError:
    """When the command is run, then `rule` refuses it, no domain event is appended and the attempt is kept."""
    app = services.coordination
    position = app.recorder.max_notification_id()
    attempts = len(services.refusals.list())
    with pytest.raises(DomainError) as error:
        command(*args, **kwargs)
    assert error.value.rule is rule, error.value
    assert app.recorder.max_notification_id() == position
    kept = services.refusals.list()
    assert len(kept) == attempts + 1
    assert (kept[-1]["rule"], kept[-1]["message"]) == (str(rule), error.value.message)
    return error.value
