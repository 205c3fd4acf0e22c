"""Who does what: the roles of DOMAIN.md and the FORBIDDEN_ROLE answers they get."""

from __future__ import annotations

import pytest

from domain.access import READS_CRISES, RUNS_CRISES, Actor, Role, refuse, require_own_unit, require_role
from domain.shared import DomainError, Rule

DUTY_OFFICER = Actor("DO-1", Role.DUTY_OFFICER)
MANAGER = Actor("PM", Role.PREPAREDNESS_MANAGER)
KASKO_CONTACT = Actor("DIV-KASKO", Role.DIVISION_CONTACT, unit="KASKO")
POLICE_COORDINATOR = Actor("PC", Role.POLICE_COORDINATOR)
LEADERSHIP = Actor("LR-2", Role.LEADERSHIP)
AUDITOR = Actor("AUD", Role.AUDITOR)
ADMIN = Actor("ADM", Role.ADMIN)


def forbidden(call, *args, **kwargs) -> DomainError:  # noqa: ANN001
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    assert refused.value.rule is Rule.FORBIDDEN_ROLE
    return refused.value


@pytest.mark.parametrize(("actor", "read_only"), [
    (DUTY_OFFICER, False),
    (MANAGER, False),
    (KASKO_CONTACT, False),
    (POLICE_COORDINATOR, False),
    (LEADERSHIP, True),
    (AUDITOR, True),
    (ADMIN, True),
])
def test_leadership_auditors_and_admins_write_no_crisis_content(actor, read_only):
    assert actor.is_read_only is read_only


def test_duty_officers_and_the_preparedness_manager_run_crises():
    assert RUNS_CRISES == {Role.DUTY_OFFICER, Role.PREPAREDNESS_MANAGER}


def test_everyone_but_the_admin_reads_crisis_content():
    assert Role.ADMIN not in READS_CRISES
    assert {Role.LEADERSHIP, Role.AUDITOR, Role.DIVISION_CONTACT, Role.POLICE_COORDINATOR} <= READS_CRISES


def test_a_role_in_the_allowed_set_passes():
    require_role(MANAGER, RUNS_CRISES, "declare a crisis")


def test_a_leadership_reader_is_told_decisions_are_recorded_by_a_duty_officer():
    """Given LR-2 tries to record a decision, then the answer says who records it for the decision-maker."""
    refused = forbidden(
        require_role, LEADERSHIP, RUNS_CRISES, "record decisions",
        "decisions are recorded by a duty officer for the competent decision-maker",
    )
    assert refused.message == (
        "leadership readers are read-only; decisions are recorded by a duty officer for the competent decision-maker"
    )
    assert refused.details == {"role": "leadership"}


def test_an_auditor_without_a_hint_is_told_the_task_is_not_theirs():
    assert refuse(AUDITOR, "declare a crisis").message == "auditors are read-only; declare a crisis is not theirs to do"


def test_an_admin_is_told_what_it_may_not_do_rather_than_called_a_reader():
    refused = forbidden(require_role, ADMIN, READS_CRISES, "read crisis content", "admins manage users and tokens only")
    assert refused.message == "admins may not read crisis content; admins manage users and tokens only"


def test_a_writing_role_outside_the_allowed_set_is_told_it_may_not():
    refused = forbidden(require_role, POLICE_COORDINATOR, RUNS_CRISES, "declare a crisis")
    assert refused.message == "police coordinators may not declare a crisis"


def test_a_division_contact_acts_for_its_own_unit():
    require_own_unit(KASKO_CONTACT, "KASKO", "change readiness")


def test_a_division_contact_may_not_act_for_another_unit():
    refused = forbidden(require_own_unit, KASKO_CONTACT, "SOTEPE", "change readiness")
    assert refused.message == "the division contact of KASKO may not change readiness for SOTEPE"


def test_the_preparedness_manager_acts_for_any_unit():
    for unit in ("KASKO", "SOTEPE", "STARA"):
        require_own_unit(MANAGER, unit, "change readiness")


@pytest.mark.parametrize("actor", [DUTY_OFFICER, POLICE_COORDINATOR, LEADERSHIP, AUDITOR, ADMIN])
def test_no_one_else_acts_for_a_unit(actor):
    refused = forbidden(require_own_unit, actor, "KASKO", "change readiness")
    assert "the unit's division contact or the preparedness manager" in refused.message
