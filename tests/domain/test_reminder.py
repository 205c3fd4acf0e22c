"""The rules of a Reminder: its ladder, notices recorded once, deliveries, acknowledgement by recipients, settled."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.access import Actor, Role
from domain.reminder import AT, BEFORE, DUTY_OFFICER, MANAGER, Ladder, Reminder, duration, reminder_id
from domain.shared import DomainError, Rule

DUE = datetime.fromisoformat("2026-12-06T03:00+02:00")
SENDER = Actor("valmius-remind", Role.DUTY_OFFICER)
LADDER = Ladder()  # before 30m, duty officer 15m after, manager 30m after, repeat every 30m


def opened() -> Reminder:
    return Reminder.open(deadline="ACTION.C-1.A-1.20261206T010000Z", deadline_kind="ACTION", crisis_id="C-1",
                         ref="A-1", unit="STARA", due_at=DUE, actor="valmius-remind", now=DUE - timedelta(hours=2))


def to_stara() -> list[dict]:
    return [{"recipient": "STARA", "as": "UNIT", "channels": ["email"]}]


def test_the_ladder_gives_the_latest_step_due_and_passes_over_those_missed() -> None:
    # Given nothing sent yet: nothing is due an hour before, the notice before is due at 02:30
    assert LADDER.due(DUE, 0, DUE - timedelta(hours=1)) is None
    step = LADDER.due(DUE, 0, DUE - timedelta(minutes=30))
    assert (step.number, step.stage) == (1, BEFORE)
    # At 03:00 the notice at the deadline; 03:15 the duty officer; 03:30 the manager, then every 30 minutes
    assert LADDER.due(DUE, 1, DUE).stage == AT
    assert LADDER.due(DUE, 2, DUE + timedelta(minutes=15)).stage == DUTY_OFFICER
    assert (LADDER.due(DUE, 3, DUE + timedelta(minutes=30)).stage, LADDER.due(DUE, 3, DUE + timedelta(minutes=30)).round) == (MANAGER, 1)
    assert LADDER.due(DUE, 4, DUE + timedelta(minutes=59)) is None
    assert LADDER.due(DUE, 4, DUE + timedelta(minutes=60)).round == 2
    # When the sender was down from 02:00 to 03:20, the notice before is not sent late: the duty officer's is
    assert LADDER.due(DUE, 0, DUE + timedelta(minutes=20)).stage == DUTY_OFFICER


def test_the_ladder_is_read_from_its_setting() -> None:
    ladder = Ladder.parse('{"before": "1h", "duty_officer": "90s", "manager": "2m", "repeat": "1d"}')
    assert (ladder.before, ladder.duty_officer, ladder.manager, ladder.repeat) == (
        timedelta(hours=1), timedelta(seconds=90), timedelta(minutes=2), timedelta(days=1))
    for bad in ('{"before": "soon"}', '{"later": "1m"}', '[]', '{"duty_officer": "1h", "manager": "1m"}', '{"repeat": "0s"}'):
        with pytest.raises(ValueError):
            Ladder.parse(bad)
    assert duration("45s") == timedelta(seconds=45)


def test_a_notice_is_recorded_once() -> None:
    reminder = opened()
    reminder.record_notice(step=LADDER.step(1, DUE), recipients=to_stara(), actor=SENDER, now=DUE)
    with pytest.raises(DomainError) as refused:
        reminder.record_notice(step=LADDER.step(1, DUE), recipients=to_stara(), actor=SENDER, now=DUE)
    assert refused.value.rule is Rule.NOTICE_RECORDED
    assert [(n, who, channel) for n, who, channel, _ in reminder.pending()] == [(1, "STARA", "email")]


def test_delivery_results_are_recorded_until_it_is_done() -> None:
    reminder = opened()
    reminder.record_notice(step=LADDER.step(1, DUE), recipients=to_stara(), actor=SENDER, now=DUE)
    reminder.record_delivery(notice=1, recipient="STARA", channel="email", delivered=False, reason="421 busy", attempt=1,
                             gave_up=False, message_id="<m>", actor=SENDER, now=DUE)
    assert reminder.pending()[0][3].attempts == 1
    reminder.record_delivery(notice=1, recipient="STARA", channel="email", delivered=True, reason=None, attempt=2,
                             gave_up=False, message_id="<m>", actor=SENDER, now=DUE)
    assert reminder.pending() == []
    with pytest.raises(DomainError) as refused:
        reminder.record_delivery(notice=1, recipient="STARA", channel="email", delivered=True, reason=None, attempt=3,
                                 gave_up=False, message_id="<m>", actor=SENDER, now=DUE)
    assert refused.value.rule is Rule.DELIVERY_RECORDED
    with pytest.raises(DomainError) as unknown:
        reminder.record_delivery(notice=2, recipient="STARA", channel="email", delivered=True, reason=None, attempt=1,
                                 gave_up=False, message_id="<m>", actor=SENDER, now=DUE)
    assert unknown.value.rule is Rule.NOT_FOUND


def test_acknowledgement_by_a_recipient_stops_the_escalation() -> None:
    reminder = opened()
    reminder.record_notice(step=LADDER.step(2, DUE), recipients=to_stara(), actor=SENDER, now=DUE)
    with pytest.raises(DomainError) as stranger:
        reminder.acknowledge(actor=Actor("DIV-KASKO", Role.DIVISION_CONTACT, unit="KASKO"), now=DUE)
    assert stranger.value.rule is Rule.NOT_A_RECIPIENT
    with pytest.raises(DomainError) as reader:
        reminder.acknowledge(actor=Actor("LR-1", Role.LEADERSHIP), now=DUE)
    assert reader.value.rule is Rule.NOT_A_RECIPIENT
    reminder.acknowledge(actor=Actor("DIV-STARA", Role.DIVISION_CONTACT, unit="STARA"), now=DUE)
    with pytest.raises(DomainError) as again:
        reminder.acknowledge(actor=Actor("DO-1", Role.DUTY_OFFICER), now=DUE)
    assert again.value.rule is Rule.ALREADY_ACKNOWLEDGED
    with pytest.raises(DomainError) as escalated:
        reminder.record_notice(step=LADDER.step(3, DUE), recipients=to_stara(), actor=SENDER, now=DUE)
    assert escalated.value.rule is Rule.ALREADY_ACKNOWLEDGED


def test_a_settled_reminder_takes_no_further_step() -> None:
    reminder = opened()
    reminder.settle(reason="MET", actor=SENDER, now=DUE)
    for step in (lambda: reminder.record_notice(step=LADDER.step(2, DUE), recipients=to_stara(), actor=SENDER, now=DUE),
                 lambda: reminder.acknowledge(actor=Actor("DO-1", Role.DUTY_OFFICER), now=DUE),
                 lambda: reminder.settle(reason="GONE", actor=SENDER, now=DUE)):
        with pytest.raises(DomainError) as refused:
            step()
        assert refused.value.rule is Rule.REMINDER_SETTLED


def test_the_id_is_the_deadline_key_or_its_digest() -> None:
    assert reminder_id("ACTION.C-1.A-1.20261206T010000Z") == "ACTION.C-1.A-1.20261206T010000Z"
    long = reminder_id("ACTION." + "C" * 64 + ".A-1.20261206T010000Z")
    assert long.startswith("R-") and len(long) <= 64 and long == reminder_id("ACTION." + "C" * 64 + ".A-1.20261206T010000Z")
