"""A received CAP alert's rules, without a store: one id per (sender, identifier, sent instant), RECEIVED from its
sender, followed by later alerts of its sender, linked to one crisis at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from domain.received_alert import CANCELLED, IN_FORCE, SUPERSEDED, Alert, ReceivedAlert, alert_id_for
from domain.shared import DomainError, Rule

NOW = datetime.fromisoformat("2025-10-26T10:00+02:00")
SENT = datetime.fromisoformat("2025-10-26T07:00:00+02:00")
WARNING = Alert(
    sender="KSN:FI-FMI", identifier="wind.1", sent=SENT, status="Actual", msg_type="Alert", scope="Public",
    references=(), infos=({"language": "fi-FI", "event": "Tuulivaroitus", "headline": "Oranssi tuulivaroitus",
                           "urgency": "Expected", "severity": "Severe", "certainty": "Likely", "areas": []},),
    digest="0" * 64, document="<alert/>",
)


def later(msg_type: str, identifier: str = "wind.2", hours: int = 2, sender: str = "KSN:FI-FMI") -> Alert:
    moment = SENT.replace(hour=SENT.hour + hours)
    return replace(WARNING, sender=sender, identifier=identifier, sent=moment, msg_type=msg_type,
                   references=((WARNING.sender, WARNING.identifier, SENT),))


def received() -> ReceivedAlert:
    return ReceivedAlert.receive(WARNING, source="http", actor="DO-1", now=NOW)


def test_an_alert_is_named_by_its_sender_identifier_and_sent_instant_whatever_the_offset() -> None:
    utc = datetime.fromisoformat("2025-10-26T05:00:00+00:00")
    assert WARNING.alert_id == alert_id_for("KSN:FI-FMI", "wind.1", utc)
    assert WARNING.alert_id != alert_id_for("KSN:FI-FMI", "wind.2", utc) != alert_id_for("other", "wind.1", utc)
    assert received().id == ReceivedAlert.id_for(WARNING.alert_id)


def test_an_alert_is_received_content_of_its_sender_marked_with_its_scope() -> None:
    alert = received()
    assert alert.classification.as_dict() == {
        "level": "RECEIVED", "legal_basis": None, "marking": "CAP Public", "originator": "KSN:FI-FMI",
    }
    restricted = replace(WARNING, scope="Restricted", restriction="authorities only")
    assert ReceivedAlert.receive(restricted, source="http", actor="DO-1", now=NOW).classification.marking == (
        "CAP Restricted: authorities only"
    )


def test_an_update_supersedes_a_cancel_cancels_and_an_ack_or_an_older_alert_does_nothing() -> None:
    alert = received()
    assert alert.follow(source="http", later=later("Ack"), actor="DO-1", now=NOW) is False
    assert alert.follow(source="http", later=later("Update", hours=-1), actor="DO-1", now=NOW) is False  # sent before it
    assert alert.follow(source="http", later=later("Update"), actor="DO-1", now=NOW) and alert.state == SUPERSEDED
    assert alert.follow(source="http", later=later("Update", "wind.3"), actor="DO-1", now=NOW) is False  # superseded already
    assert alert.follow(source="http", later=later("Cancel", "wind.4"), actor="DO-1", now=NOW) and alert.state == CANCELLED
    assert alert.follow(source="http", later=later("Error", "wind.5"), actor="DO-1", now=NOW) is False
    assert [type(e).__name__ for e in alert.collect_events()] == ["Received", "Superseded", "Cancelled"]


def test_a_feed_ends_only_the_alerts_it_brought_or_a_person_took_and_a_person_ends_any() -> None:
    feed_a, feed_b = "https://alerts.fmi.fi/cap/feed/atom_fi-FI.xml", "https://aggregator.example.org/cap.xml"
    from_a = ReceivedAlert.receive(WARNING, source="https://alerts.fmi.fi/cap/W1.xml", actor="cap-follower", now=NOW)
    # Another feed naming the same sender cannot cancel what feed A brought: a CAP sender is only a claim
    assert from_a.follow(later("Cancel"), source=feed_b, actor="cap-follower", now=NOW) is False
    assert from_a.follow(later("Cancel"), source="feeds/other/cancel.xml", actor="cap-follower", now=NOW) is False
    assert from_a.state == IN_FORCE
    # Feed A itself can (a document it links is of its origin), and so can a person, who vouches for it
    assert from_a.follow(later("Update"), source=feed_a, actor="cap-follower", now=NOW) and from_a.state == SUPERSEDED
    assert from_a.follow(later("Cancel", "wind.3"), source="wind-cancel.xml", actor="DO-1", now=NOW)
    # What a person took, a feed may end (it brings what the person stood in for)
    taken = received()
    assert taken.follow(later("Cancel"), source=feed_b, actor="cap-follower", now=NOW) and taken.state == CANCELLED


def test_only_the_alerts_of_its_own_sender_are_followed() -> None:
    assert later("Cancel").referred() == [WARNING.alert_id]
    assert later("Cancel", sender="someone@example.org").referred() == []


def test_an_alert_is_linked_to_one_crisis_at_a_time() -> None:
    alert = received()
    alert.link_to_crisis("C-1", actor="DO-1", now=NOW)
    for crisis_id, template in (("C-1", "already linked"), ("C-2", "unlink it first")):
        with pytest.raises(DomainError) as refused:
            alert.link_to_crisis(crisis_id, actor="DO-1", now=NOW)
        assert refused.value.rule is Rule.INVALID_TRANSITION and template in refused.value.message
    alert.unlink(reason="wrong crisis", actor="DO-1", now=NOW)
    with pytest.raises(DomainError):
        alert.unlink(reason=None, actor="DO-1", now=NOW)
    assert alert.crisis_id is None and alert.state == IN_FORCE
