"""Position on its own: one holder at a time, taken over only by accepting the latest brief with its digest."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.access import Actor, Role
from domain.position import Position, digest
from domain.shared import DomainError, Rule
from tests.domain.support import refused

NIGHT = datetime.fromisoformat("2025-10-25T21:40+03:00")
DO1, DO2 = Actor("DO-1", Role.DUTY_OFFICER), Actor("DO-2", Role.DUTY_OFFICER)
PM, PC = Actor("PM", Role.PREPAREDNESS_MANAGER), Actor("PC", Role.POLICE_COORDINATOR)
BRIEF = {"open_actions": {"items": [{"action_id": "A-1", "overdue": True}], "total": 1}}


def duty(holder: Actor | None = DO1) -> Position:
    """Given the duty officer's watch, held by `holder` since the night began."""
    position = Position.establish(position="DUTY_OFFICER", actor="DO-1", now=NIGHT)
    if holder is not None:
        position.sign_on(actor=holder, now=NIGHT)
    return position


def test_one_holder_at_a_time():
    position = duty()
    with refused(position, Rule.POSITION_HELD) as error:
        position.sign_on(actor=DO2, now=NIGHT + timedelta(hours=1))
    assert "DO-1 holds DUTY_OFFICER since" in error.value.message
    with refused(position, Rule.NOT_POSITION_HOLDER):
        position.sign_off(actor=DO2, now=NIGHT + timedelta(hours=1))
    position.prepare_brief(since=0, until=5, brief={"open": {}}, actor=DO1, now=NIGHT + timedelta(hours=8))
    position.sign_off(actor=DO1, now=NIGHT + timedelta(hours=8))
    assert position.holder is None


def test_a_position_is_left_with_a_brief_and_taken_by_accepting_it_not_by_signing_on_past_it():
    position = duty()
    # DO-1 cannot simply walk away from the watch: whoever comes next is told what is open
    with refused(position, Rule.HANDOVER_REQUIRED) as error:
        position.sign_off(actor=DO1, now=NIGHT + timedelta(hours=8))
    assert "prepare one, then sign off" in error.value.message
    number = position.prepare_brief(since=0, until=7, brief={"open": {"actions": 1}}, actor=DO1,
                                    now=NIGHT + timedelta(hours=8))
    position.sign_off(actor=DO1, now=NIGHT + timedelta(hours=8))
    # The morning's officer signing on to the vacant watch is sent to the brief waiting
    with refused(position, Rule.HANDOVER_REQUIRED) as error:
        position.sign_on(actor=DO2, now=NIGHT + timedelta(hours=9))
    assert "brief #1 of DUTY_OFFICER waits to be read" in error.value.message
    position.accept_brief(number=number, given_digest=position.latest[0], actor=DO2, now=NIGHT + timedelta(hours=9))
    assert position.holder == "DO-2"
    # A brief prepared before DO-2 took the watch is not DO-2's to leave
    with refused(position, Rule.HANDOVER_REQUIRED):
        position.sign_off(actor=DO2, now=NIGHT + timedelta(hours=10))


def test_only_the_roles_of_a_post_hold_it_and_an_unknown_post_is_none():
    vacant = duty(None)
    with refused(vacant, Rule.FORBIDDEN_ROLE):
        vacant.sign_on(actor=PC, now=NIGHT)
    vacant.sign_on(actor=PM, now=NIGHT)  # the preparedness manager may take the duty officer's watch
    assert vacant.holder == "PM"
    with pytest.raises(DomainError) as error:
        Position.establish(position="NIGHT_WATCH", actor="DO-1", now=NIGHT)
    assert error.value.rule is Rule.NOT_FOUND


def test_a_handover_takes_the_latest_brief_by_its_digest_once():
    position = duty()
    morning = NIGHT + timedelta(hours=9)
    first = position.prepare_brief(since=0, until=40, brief=BRIEF, actor=DO1, now=morning)
    second = position.prepare_brief(since=0, until=41, brief={**BRIEF, "more": 1}, actor=DO1, now=morning)
    with refused(position, Rule.STALE_BRIEF):
        position.accept_brief(number=first, given_digest=digest(BRIEF), actor=DO2, now=morning)
    with refused(position, Rule.BRIEF_MISMATCH):
        position.accept_brief(number=second, given_digest=digest(BRIEF), actor=DO2, now=morning)
    with refused(position, Rule.POSITION_HELD):  # the holder cannot hand over to themself
        position.accept_brief(number=second, given_digest=digest({**BRIEF, "more": 1}), actor=DO1, now=morning)
    position.accept_brief(number=second, given_digest=digest({**BRIEF, "more": 1}), actor=DO2, now=morning)
    assert (position.holder, position.accepted, position.until) == ("DO-2", 2, 41)
    with refused(position, Rule.STALE_BRIEF):
        position.accept_brief(number=second, given_digest=digest({**BRIEF, "more": 1}), actor=PM, now=morning)
    with refused(position, Rule.NOT_FOUND):
        position.accept_brief(number=3, given_digest=digest(BRIEF), actor=PM, now=morning)


def test_a_digest_is_of_the_canonical_json_whatever_the_key_order():
    assert digest({"a": 1, "b": "ä"}) == digest({"b": "ä", "a": 1})
    assert digest({"a": 1}) != digest({"a": 2})
