"""DivisionPreparedness on its own: a unit's readiness along the ladder and its continuity plans (ISO 22301)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.division_preparedness import MAX_MTPD_MINUTES, CriticalFunction, DivisionPreparedness, PreparednessRecord
from domain.shared import DomainError, Policy, Rule
from tests.domain.support import made, recorded, refused, saved

POLICY = Policy()
START = datetime.fromisoformat("2026-02-10T08:00+02:00")
HOME_CARE = CriticalFunction(name="medication preparation and hygiene", mtpd_minutes=12 * 60, rto_minutes=4 * 60)


def minutes(n: float) -> datetime:
    return START + timedelta(minutes=n)


def when(n: float = 10, actor: str = "DIV-SOTEPE", **extra: object) -> dict:
    return {"occurred_at": minutes(n), "policy": POLICY, "actor": actor, "now": minutes(n), **extra}


def register(unit: str = "SOTEPE") -> DivisionPreparedness:
    """Given a unit's preparedness record, registered and saved."""
    return made(DivisionPreparedness.register(unit=unit, name="Social Services", policy=POLICY, actor="system", now=START))


def draft(preparedness: DivisionPreparedness, plan_id: str = "CP-SOTEPE-02", *functions: CriticalFunction) -> None:
    preparedness.draft_plan(
        plan_id=plan_id,
        title="Home care and 24/7 units without tap water",
        owner="Head of home care",
        critical_functions=list(functions or [HOME_CARE]),
        actor="DIV-SOTEPE",
        now=START,
    )


def approved(plan_id: str = "CP-SOTEPE-02") -> DivisionPreparedness:
    """Given SOTEPE with an approved plan."""
    preparedness = register()
    draft(preparedness, plan_id)
    preparedness.approve_plan(
        plan_id=plan_id, approved_by="Executive Director, SOTEPE", occurred_at=START, policy=POLICY, actor="DIV-SOTEPE", now=START
    )
    saved(preparedness)
    return preparedness


def read(preparedness: DivisionPreparedness) -> PreparednessRecord:
    """The unit's preparedness as a reader is shown it, folded from its events (the aggregate keeps no texts)."""
    return PreparednessRecord.of(recorded(preparedness))


def raise_to(preparedness: DivisionPreparedness, level: str, n: float = 10, in_force: bool = False, **extra: object):
    preparedness.change_readiness(
        to_level=level,
        decided_by=extra.pop("decided_by", "Executive Director, SOTEPE"),
        emergency_conditions_in_force=in_force,
        **when(n, **extra),
    )


# --- registration and readiness -----------------------------------------------------------------------


def test_a_unit_starts_at_basic_readiness():
    preparedness = DivisionPreparedness.register(
        unit="KASKO", name="Education", policy=POLICY, actor="system", now=START
    )
    assert (preparedness.unit, preparedness.readiness, preparedness.plans) == ("KASKO", "BASIC", {})
    assert preparedness.id == DivisionPreparedness.id_for("KASKO")


@pytest.mark.parametrize("unit", ["HKL", "HSY", "NOWHERE"])
def test_only_a_city_unit_has_a_preparedness_record(unit):
    with pytest.raises(DomainError) as error:
        register(unit)
    assert error.value.rule is Rule.UNKNOWN_UNIT


def test_readiness_climbs_the_ladder_and_each_change_names_who_decided_and_why():
    preparedness = register()
    raise_to(preparedness, "ENHANCED", 10, reason="home-care clients with powered devices", crisis_ref="C-S1")
    raise_to(preparedness, "COMMAND", 20, decision_ref="D-S1-01")
    assert preparedness.readiness == "COMMAND"
    first, second = read(preparedness).readiness_history
    assert (first.from_level, first.to_level, first.decided_by, first.reason, first.crisis_ref) == (
        "BASIC", "ENHANCED", "Executive Director, SOTEPE", "home-care clients with powered devices", "C-S1"
    )
    assert (second.from_level, second.to_level, second.decision_ref, second.actor) == (
        "ENHANCED", "COMMAND", "D-S1-01", "DIV-SOTEPE"
    )


def test_readiness_comes_back_down_the_ladder():
    preparedness = register()
    raise_to(preparedness, "COMMAND", 10)
    raise_to(preparedness, "BASIC", 20, reason="power restored")
    assert preparedness.readiness == "BASIC"


def test_emergency_readiness_needs_emergency_conditions_in_force():
    preparedness = register()
    with refused(preparedness, Rule.NO_EMERGENCY_CONDITIONS):
        raise_to(preparedness, "EMERGENCY", in_force=False)
    raise_to(preparedness, "EMERGENCY", in_force=True)
    assert preparedness.readiness == "EMERGENCY"


def test_readiness_is_a_level_of_the_ladder():
    preparedness = register()
    with refused(preparedness, Rule.INVALID_READINESS):
        raise_to(preparedness, "RED")


def test_readiness_cannot_change_to_the_level_it_is_at():
    preparedness = register()
    with refused(preparedness, Rule.INVALID_TRANSITION):
        raise_to(preparedness, "BASIC")


def test_a_readiness_change_from_a_level_the_unit_is_no_longer_at_is_refused():
    """Given SOTEPE already raised to ENHANCED, when someone decides BASIC→COMMAND on stale state, then refused."""
    preparedness = register()
    raise_to(preparedness, "ENHANCED")
    saved(preparedness)
    with refused(preparedness, Rule.INVALID_TRANSITION) as error:
        raise_to(preparedness, "COMMAND", 20, from_level="BASIC")
    assert error.value.message == "SOTEPE is at ENHANCED, not BASIC; reload and decide again"


def test_a_readiness_change_names_who_decided_it():
    preparedness = register()
    with refused(preparedness, Rule.INVALID_INPUT):
        raise_to(preparedness, "ENHANCED", decided_by=" ")


def test_a_readiness_change_obeys_the_time_rules():
    preparedness = register()
    with refused(preparedness, Rule.FUTURE_TIMESTAMP):
        raise_to(preparedness, "ENHANCED", 10, now=minutes(5))
    with refused(preparedness, Rule.LATE_ENTRY_REASON_REQUIRED):
        raise_to(preparedness, "ENHANCED", 10, now=minutes(30))


# --- continuity plans ---------------------------------------------------------------------------------


def test_a_drafted_plan_covers_its_critical_functions_and_waits_for_approval():
    preparedness = register()
    draft(preparedness, "CP-SOTEPE-01", HOME_CARE, CriticalFunction("powered medical devices", 6 * 60, 2 * 60))
    plan = read(preparedness).plans["CP-SOTEPE-01"]
    assert (plan.status, plan.owner, plan.active_for) == ("DRAFT", "Head of home care", None)
    assert [f.name for f in plan.critical_functions] == [
        "medication preparation and hygiene", "powered medical devices"
    ]
    assert plan.mtpd_minutes == 6 * 60  # the plan tolerates no more than its least tolerant function


def test_a_recovery_time_objective_longer_than_the_tolerable_period_is_invalid():
    preparedness = register()
    with refused(preparedness, Rule.INVALID_RTO) as error:
        draft(preparedness, "CP-X", CriticalFunction("home care", mtpd_minutes=120, rto_minutes=121))
    assert "exceeds its MTPD (120 min)" in error.value.message


def test_a_recovery_time_objective_equal_to_the_tolerable_period_is_allowed():
    preparedness = register()
    draft(preparedness, "CP-X", CriticalFunction("home care", mtpd_minutes=120, rto_minutes=120))
    assert "CP-X" in preparedness.plans


@pytest.mark.parametrize(
    "functions",
    [[], [CriticalFunction("home care", 0, 0)], [CriticalFunction(" ", 60, 30)]],
    ids=["none", "zero times", "no name"],
)
def test_a_plan_covers_named_functions_with_positive_times(functions):
    preparedness = register()
    with refused(preparedness, Rule.INVALID_INPUT):
        preparedness.draft_plan(
            plan_id="CP-X", title="x", owner=None, critical_functions=functions, actor="DIV-SOTEPE", now=START
        )


def test_a_tolerable_period_of_disruption_longer_than_a_year_is_out_of_range():
    # An MTPD of a year is plenty; billions of minutes would be a typo that no read model can hold
    preparedness = register()
    draft(preparedness, "CP-YEAR", CriticalFunction("archives", MAX_MTPD_MINUTES, 60))
    with refused(preparedness, Rule.OUT_OF_RANGE) as error:
        draft(preparedness, "CP-X", CriticalFunction("home care", mtpd_minutes=3_000_000_000, rto_minutes=60))
    assert error.value.details == {"field": "mtpd_minutes"}


@pytest.mark.parametrize("years", [-11, 11, 7000])
def test_a_plan_review_due_more_than_ten_years_from_the_clock_is_out_of_range(years):
    preparedness = register()
    far = START + timedelta(days=366 * years)
    with refused(preparedness, Rule.OUT_OF_RANGE):
        preparedness.draft_plan(
            plan_id="CP-X", title="x", owner=None, critical_functions=[HOME_CARE], next_review_due=far,
            policy=POLICY, actor="DIV-SOTEPE", now=START,
        )
    preparedness = approved()
    with refused(preparedness, Rule.OUT_OF_RANGE):
        preparedness.record_plan_review(plan_id="CP-SOTEPE-02", next_review_due=far, **when())


def test_a_plan_id_is_used_once_per_unit():
    preparedness = approved()
    with refused(preparedness, Rule.ALREADY_EXISTS):
        draft(preparedness, "CP-SOTEPE-02")


def test_a_plan_is_approved_once():
    preparedness = approved()
    assert read(preparedness).plans["CP-SOTEPE-02"].approved_by == "Executive Director, SOTEPE"
    with refused(preparedness, Rule.INVALID_TRANSITION):
        preparedness.approve_plan(
            plan_id="CP-SOTEPE-02", approved_by="someone", occurred_at=START, policy=POLICY, actor="PM", now=START
        )


def test_a_draft_plan_cannot_be_activated():
    preparedness = register()
    draft(preparedness, "CP-SOTEPE-02")
    saved(preparedness)
    with refused(preparedness, Rule.PLAN_NOT_APPROVED):
        preparedness.activate_plan(plan_id="CP-SOTEPE-02", crisis_id="C-S3", **when(40))


def test_an_approved_plan_is_activated_for_a_crisis_and_its_time_active_counts_against_mtpd():
    preparedness = approved()
    preparedness.activate_plan(plan_id="CP-SOTEPE-02", crisis_id="C-S3", **when(40))
    plan = preparedness.plans["CP-SOTEPE-02"]
    assert (plan.active_for, plan.activated_at) == ("C-S3", minutes(40))
    assert preparedness.active_minutes("CP-SOTEPE-02", minutes(90)) == 50


def test_an_active_plan_cannot_be_activated_again():
    preparedness = approved()
    preparedness.activate_plan(plan_id="CP-SOTEPE-02", crisis_id="C-S3", **when(40))
    saved(preparedness)
    with refused(preparedness, Rule.INVALID_TRANSITION) as error:
        preparedness.activate_plan(plan_id="CP-SOTEPE-02", crisis_id="C-S1", **when(50))
    assert error.value.message.startswith("CP-SOTEPE-02 is already active for C-S3")


def test_a_deactivated_plan_is_no_longer_active_and_names_its_crisis():
    preparedness = approved()
    preparedness.activate_plan(plan_id="CP-SOTEPE-02", crisis_id="C-S3", **when(40))
    crisis_id = preparedness.deactivate_plan(plan_id="CP-SOTEPE-02", reason="water restored", **when(60))
    plan = preparedness.plans["CP-SOTEPE-02"]
    assert (crisis_id, plan.active_for, plan.activated_at) == ("C-S3", None, None)
    assert preparedness.active_minutes("CP-SOTEPE-02", minutes(90)) is None
    *_, deactivated = saved(preparedness)
    assert (deactivated.crisis_id, deactivated.reason) == ("C-S3", "water restored")


def test_a_plan_that_is_not_active_cannot_be_deactivated():
    preparedness = approved()
    with refused(preparedness, Rule.PLAN_NOT_ACTIVE):
        preparedness.deactivate_plan(plan_id="CP-SOTEPE-02", reason=None, **when(60))


def test_a_plan_cannot_be_deactivated_before_it_was_activated():
    preparedness = approved()
    preparedness.activate_plan(plan_id="CP-SOTEPE-02", crisis_id="C-S3", **when(40))
    saved(preparedness)
    with refused(preparedness, Rule.BEFORE_CRISIS_START):
        preparedness.deactivate_plan(
            plan_id="CP-SOTEPE-02", reason=None, late_entry_reason="paper log", **when(30, now=minutes(60))
        )


def test_a_plan_review_sets_the_last_review_and_the_next_due():
    preparedness = approved()
    preparedness.record_plan_review(
        plan_id="CP-SOTEPE-02", notes="contacts updated", next_review_due=minutes(60 * 24 * 365), **when(-60 * 24)
    )
    plan = read(preparedness).plans["CP-SOTEPE-02"]
    assert (plan.last_review_at, plan.next_review_due) == (minutes(-60 * 24), minutes(60 * 24 * 365))
    assert plan.reviews[0].notes == "contacts updated"


def test_the_next_plan_review_is_due_after_this_one():
    preparedness = approved()
    with refused(preparedness, Rule.INVALID_DUE_TIME):
        preparedness.record_plan_review(plan_id="CP-SOTEPE-02", notes=None, next_review_due=minutes(0), **when(0))


def test_an_exercise_is_recorded_with_its_findings():
    preparedness = approved()
    preparedness.record_exercise(
        plan_id="CP-SOTEPE-02", title="Tabletop: no tap water", findings=["bottled water stock too small"], **when(0)
    )
    [exercise] = read(preparedness).plans["CP-SOTEPE-02"].exercises
    assert (exercise.title, exercise.findings, exercise.held_at) == (
        "Tabletop: no tap water", ["bottled water stock too small"], minutes(0)
    )


def test_commands_on_an_unknown_plan_are_not_found():
    preparedness = approved()
    with refused(preparedness, Rule.NOT_FOUND):
        preparedness.activate_plan(plan_id="CP-NOPE", crisis_id="C-S3", **when(40))
    with refused(preparedness, Rule.NOT_FOUND):
        preparedness.approve_plan(
            plan_id="CP-NOPE", approved_by="x", occurred_at=START, policy=POLICY, actor="PM", now=START
        )


def test_a_plan_cannot_be_approved_in_the_future():
    """Given a drafted plan, when its approval is dated hours after the server clock, then it is refused."""
    preparedness = register()
    draft(preparedness, "CP-SOTEPE-02")
    with refused(preparedness, Rule.FUTURE_TIMESTAMP):
        preparedness.approve_plan(
            plan_id="CP-SOTEPE-02", approved_by="Executive Director, SOTEPE",
            occurred_at=START + timedelta(hours=2), policy=POLICY, actor="PM", now=START,
        )
