"""What every aggregate shares (domain/record.py): ids from natural keys, events stamped with who and when."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, uuid5

from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.shared import Policy

POLICY = Policy()
NOW = datetime.fromisoformat("2025-10-25T21:40+03:00")


def test_ids_are_derived_from_the_natural_key_as_they_always_were():
    """The ids of stored records: the same key must find the same record after any change of the code."""
    assert Crisis.id_for("C-S1") == uuid5(NAMESPACE_URL, "valmius:crisis:C-S1")
    assert DivisionPreparedness.id_for("KASKO") == uuid5(NAMESPACE_URL, "valmius:division-preparedness:KASKO")
    assert PoliceLiaison.id_for("PL-C-S1") == uuid5(NAMESPACE_URL, "valmius:police-liaison:PL-C-S1")
    assert EmergencyConditions.ID == uuid5(NAMESPACE_URL, "valmius:emergency-conditions")


def test_every_event_is_stamped_with_its_actor_and_one_recording_time_and_names_its_record():
    """Given records created and changed at server times that are not the wall clock, then each event
    carries the acting user, `recorded_at` is the server's time, the library's own `timestamp` is the
    same instant, and every event of a keyed record repeats its key."""
    later = NOW + timedelta(minutes=5)
    crisis = Crisis.declare(
        crisis_id="C-S1", title="Storm", category="SEVERE_WEATHER", severity=2, occurred_at=NOW,
        emergency_conditions_in_force=False, policy=POLICY, actor="DO-1", now=NOW,
    )
    crisis.change_severity(to_severity=3, occurred_at=later, policy=POLICY, actor="DO-2", now=later)
    preparedness = DivisionPreparedness.register(unit="KASKO", name="Education", policy=POLICY, actor="system", now=NOW)
    liaison = PoliceLiaison.open(liaison_id="PL-C-S1", crisis_id="C-S1", topic=None, actor="PC", now=later)
    conditions = EmergencyConditions.start(actor="system", now=NOW)

    stamps = [
        (type(e).__qualname__, e.actor, e.recorded_at, e.timestamp, getattr(e, record.key, None))
        for record in (crisis, preparedness, liaison, conditions)
        for e in record.collect_events()
    ]
    assert stamps == [
        ("Crisis.Declared", "DO-1", NOW, NOW, "C-S1"),
        ("Crisis.SeverityChanged", "DO-2", later, later, "C-S1"),
        ("DivisionPreparedness.Registered", "system", NOW, NOW, "KASKO"),
        ("PoliceLiaison.Opened", "PC", later, later, "PL-C-S1"),
        ("EmergencyConditions.Started", "system", NOW, NOW, None),
    ]
    assert (crisis.created_on, crisis.modified_on) == (NOW, later)
