"""The classification model: every field of every stored event is declared structure or content of its kind
of record; redaction fails closed; what is recorded without a classification is as secret as its record."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime

import pytest
from eventsourcing.domain import Aggregate

from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.position import Position
from domain.reminder import Reminder
from domain.received_alert import ReceivedAlert
from domain.public_warning import PublicWarning
from domain.secrecy import EVENT_RECORDS, RECORDS, classification_of, record_of, redact, stricter
from domain.shared import PUBLIC, Classification, Policy

SECRET = Classification.of("SECRET", "JulkL 24.1 § 7 k")
RECEIVED = Classification.of("RECEIVED", marking="TL IV", originator="Helsinki Police Department")
NOW = datetime.fromisoformat("2025-11-17T07:00+02:00")


def event_classes() -> list[type]:
    """Every event class of every aggregate, but the library's own `Created` (each aggregate is created by
    an event of its own: Declared, Registered, Opened, Started)."""
    found = []
    for aggregate in (Crisis, DivisionPreparedness, PoliceLiaison, EmergencyConditions, AfterActionReview, ReceivedAlert,
                      Position, PublicWarning, Reminder):
        base = aggregate.Event
        stack = [c for c in vars(aggregate).values() if isinstance(c, type) and issubclass(c, base) and c is not base]
        while stack:
            cls = stack.pop()
            if cls.__name__ != "Created":
                found.append(cls)
            stack += cls.__subclasses__()
    return found


@pytest.mark.parametrize("event", event_classes(), ids=lambda cls: cls.__qualname__)
def test_every_field_of_every_event_is_declared_structure_or_content_of_its_record(event: type) -> None:
    kind = record_of(event.__new__(event))
    assert kind in RECORDS, f"{event.__qualname__} writes no declared kind of record (domain.secrecy.EVENT_RECORDS)"
    declared = RECORDS[kind].structure | RECORDS[kind].content
    undeclared = {f.name for f in fields(event)} - declared
    assert not undeclared, f"{event.__qualname__}: decide whether {sorted(undeclared)} is structure or content"


def test_no_field_is_both_structure_and_content() -> None:
    assert {kind: r.structure & r.content for kind, r in RECORDS.items() if r.structure & r.content} == {}


def test_a_field_nobody_declared_is_withheld_from_an_uncleared_reader() -> None:
    shown = redact("action", SECRET, False, None, action_id="A-1", status="OPEN", task="Evacuate", new_field="x")
    assert shown == {
        "classification": SECRET.as_dict(), "redacted": True, "action_id": "A-1", "status": "OPEN",
        "task": "[SECRET JulkL 24.1 § 7 k]", "new_field": "[SECRET JulkL 24.1 § 7 k]",
    }
    assert redact("action", SECRET, True, None, task="Evacuate")["task"] == "Evacuate"
    assert redact("unheard_of_kind", RECEIVED, False, None, crisis_id="C-1", note="x") == {
        "classification": RECEIVED.as_dict(), "redacted": True, "crisis_id": "C-1",
        "note": "[RECEIVED TL IV, originator Helsinki Police Department]",
    }


def test_what_is_added_to_a_record_without_a_classification_is_as_secret_as_the_record() -> None:
    # Given a SECRET crisis with a PUBLIC action and a SECRET one, both closed with a note
    policy = Policy()
    crisis = Crisis.declare(crisis_id="C-1", title="t", category="OTHER", severity=2, classification=SECRET,
                            occurred_at=NOW, emergency_conditions_in_force=False, policy=policy, actor="DO", now=NOW)
    for action_id, level in (("A-1", PUBLIC), ("A-2", SECRET)):
        crisis.assign_action(action_id=action_id, unit="KASKO", task="t", due_at=NOW.replace(hour=9),
                             classification=level, occurred_at=NOW, policy=policy, actor="DO", now=NOW)
        crisis.complete_action(action_id=action_id, note="n", occurred_at=NOW, policy=policy, actor="DO", now=NOW)
    crisis.change_severity(to_severity=3, reason="r", occurred_at=NOW, policy=policy, actor="DO", now=NOW)
    events = crisis.collect_events()
    governing = {(type(e).__name__, getattr(e, "action_id", None)): classification_of(e, lambda: crisis) for e in events}
    # Then each note is as secret as its action, and the reason for the change as the crisis
    assert governing[("ActionClosed", "A-1")] == PUBLIC
    assert governing[("ActionClosed", "A-2")] == SECRET
    assert governing[("SeverityChanged", None)] == SECRET


def test_an_answer_is_as_secret_as_its_request_or_its_own_classification_whichever_is_classified() -> None:
    assert stricter(SECRET, PUBLIC) == SECRET
    assert stricter(PUBLIC, RECEIVED) == RECEIVED
    assert stricter(SECRET, RECEIVED) == RECEIVED
    assert stricter(PUBLIC, None) == PUBLIC


def test_every_event_class_names_its_record_kind() -> None:
    assert {record_of(cls.__new__(cls)) for cls in event_classes()} <= set(RECORDS)
    assert all(issubclass(cls, Aggregate.Event) for cls in EVENT_RECORDS)
