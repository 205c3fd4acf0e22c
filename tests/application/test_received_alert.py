"""Received CAP alerts on every store: taken once, refused with the reason when not CAP 1.2 (nothing stored),
followed by their updates and cancels, linked to a crisis by a duty officer, and on the watch list while in force."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from domain.access import Actor, Role
from domain.received_alert import CANCELLED, IN_FORCE, SUPERSEDED, Alert, ReceivedAlert
from infrastructure.bootstrap import open_services
from domain.shared import Rule
from interfaces.cap.alerts_in import read_alert
from tests.application.support import AUD, DO1, DO2, LR, PC, declare, refused
from tests.conftest import TEST_POOL, settings_for

CAP = Path(__file__).parents[1] / "fixtures" / "cap"
WIND = (CAP / "fmi-wind-warning.xml").read_bytes()  # shaped as the Finnish Meteorological Institute's
WIND_UPDATE = (CAP / "fmi-wind-warning-update.xml").read_bytes()
WIND_CANCEL = (CAP / "fmi-wind-warning-cancel.xml").read_bytes()
AMBER = (CAP / "example-amber-alert.xml").read_bytes()
CLEARED = Actor("LR-1", Role.LEADERSHIP, clearance=True)


@pytest.fixture
def app(services, clock):  # noqa: ANN001, ANN201
    clock.set("2025-10-26T10:00:00+02:00")  # the wind warning's morning: sent at 07:00, in force until tomorrow
    return services.coordination


def take(app, document: bytes, actor: Actor = DO1, source: str = "http") -> str:  # noqa: ANN001
    return app.take_received_alert(actor, document, read_alert, source=source)[0]


def watched(services, actor: Actor = CLEARED, **kwargs) -> list[dict]:  # noqa: ANN001, ANN003
    services.projections.catch_up()
    return services.projections.list_received_alerts(actor, **kwargs)["alerts"]


def test_an_alert_is_kept_as_received_content_of_its_sender(services, app):
    # When a duty officer takes in the wind warning
    alert_id = take(app, WIND)
    # Then it is kept whole, RECEIVED from its sender, with its three languages and its polygons
    record = app.get_received_alert(LR, alert_id)
    assert record.classification.as_dict() == {
        "level": "RECEIVED", "legal_basis": None, "marking": "CAP Public", "originator": "KSN:FI-FMI",
    }
    assert [info["language"] for info in record.fields["infos"]] == ["fi-FI", "sv-FI", "en-GB"]
    assert record.fields["infos"][0]["areas"][0]["polygons"][0].startswith("60.1500,24.8200")
    assert record.fields["msg_type"] == "Alert" and record.fields["source"] == "http"
    # and it is on the watch list, shown whole to a cleared reader and as its label to an uncleared one
    [shown] = watched(services)
    assert shown["headline"] == "Oranssi tuulivaroitus: Helsinki" and shown["severity"] == "Severe"
    [hidden] = watched(services, LR)
    assert hidden["headline"] == "[RECEIVED CAP Public, originator KSN:FI-FMI]" and hidden["redacted"] is True
    assert (hidden["sender"], hidden["severity"], hidden["alert_id"]) == ("KSN:FI-FMI", "Severe", alert_id)


def test_the_same_alert_taken_again_is_refused_and_stored_once(services, app):
    alert_id = take(app, WIND)
    again = refused(services, Rule.ALREADY_EXISTS, take, app, WIND, DO2)
    assert alert_id in again.message
    # the same alert, its sent time written with another offset, is the same alert
    shifted = WIND.replace(b"<sent>2025-10-26T07:00:00+02:00</sent>", b"<sent>2025-10-26T05:00:00+00:00</sent>")
    refused(services, Rule.ALREADY_EXISTS, take, app, shifted)


@pytest.mark.parametrize("document, reason", [
    (b"this is no XML", "not XML"),
    (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.1'><identifier>x</identifier></alert>", "not CAP 1.2: a CAP 1.1"),
    (WIND.replace(b"<status>Actual</status>", b"<status>Real</status>"), "not valid CAP 1.2 at /alert/status"),
    (b"<!DOCTYPE alert [<!ENTITY x 'y'>]><alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>", "DOCTYPE"),
    (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "its root element is {http://www.w3.org/2005/Atom}feed"),
    (WIND.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"').replace("ä".encode(), "ä".encode("latin-1")),
     "not UTF-8"),
    (b"<alert>" + b"x" * 70_000 + b"</alert>", "too large: 70015 bytes"),
])
def test_a_document_that_is_not_a_cap_1_2_alert_is_refused_with_its_reason_and_kept_for_auditors(
    services, app, document, reason
):
    error = refused(services, Rule.INVALID_CAP, take, app, document)
    assert reason in error.message
    kept = services.refusals.list()[-1]
    assert kept["command"] == "take_received_alert" and kept["payload"]["bytes"] == len(document)


def test_an_update_supersedes_and_a_cancel_cancels_the_alerts_they_refer_to(services, app):
    first = take(app, WIND)
    # When the update arrives, the first is superseded and the update is watched instead
    update = take(app, WIND_UPDATE, source="https://alerts.fmi.fi/cap/feed/atom_fi-FI.xml")
    assert app.get_received_alert(LR, first).state == SUPERSEDED
    assert [a["alert_id"] for a in watched(services)] == [update]
    # When the cancel arrives, the update is cancelled, and nothing is watched (a cancel is no warning either)
    cancel = take(app, WIND_CANCEL)
    record = app.get_received_alert(LR, update)
    assert (record.state, record.by_alert_id) == (CANCELLED, cancel)
    assert app.get_received_alert(LR, first).state == SUPERSEDED
    assert [a["alert_id"] for a in watched(services)] == [cancel]


def test_an_alert_of_another_sender_referring_to_ours_changes_nothing(services, app):
    first = take(app, WIND)
    other = WIND_CANCEL.replace(b"<sender>KSN:FI-FMI</sender>", b"<sender>someone@example.org</sender>")
    take(app, other)
    assert app.get_received_alert(LR, first).state == IN_FORCE


def test_a_feed_naming_another_feeds_sender_does_not_end_its_alerts(services, app):
    first = take(app, WIND, source="https://alerts.fmi.fi/cap/feed/atom_fi-FI.xml")
    take(app, WIND_CANCEL, source="https://cap.example.org/feed.xml")  # claims FMI's sender; stored, ends nothing
    assert app.get_received_alert(LR, first).state == IN_FORCE
    assert first in [a["alert_id"] for a in watched(services)]


def test_a_linked_alert_leaves_the_watch_list_and_shows_on_the_crisis_timeline(services, app):
    declare(app, "C-S1")
    alert_id = take(app, WIND)
    # When a duty officer links it to the storm
    version = app.link_received_alert(DO1, alert_id, crisis_id="C-S1", expected_version=1)
    assert version == 2
    # Then it is no longer watched, and the crisis's timeline shows it, as received content
    assert watched(services) == []
    entries = services.projections.get_crisis_timeline(CLEARED, "C-S1")["entries"]
    linked = [e for e in entries if e["kind"] == "received_alert_linked"]
    assert linked[0]["ref"] == alert_id and linked[0]["content"]["headline"] == "Oranssi tuulivaroitus: Helsinki"
    hidden = services.projections.get_crisis_timeline(LR, "C-S1")["entries"]
    assert [e["content"] for e in hidden if e["kind"] == "received_alert_linked"] == [
        "[RECEIVED CAP Public, originator KSN:FI-FMI]"
    ]
    # When it is unlinked again, it is watched again
    app.unlink_received_alert(DO2, alert_id, reason="linked to the wrong crisis")
    assert [a["alert_id"] for a in watched(services)] == [alert_id]


def test_linking_needs_a_crisis_that_exists_and_a_role_that_runs_crises(services, app):
    alert_id = take(app, WIND)
    refused(services, Rule.NOT_FOUND, app.link_received_alert, DO1, alert_id, crisis_id="C-NONE")
    declare(app, "C-S1")
    for actor in (LR, AUD, PC):
        refused(services, Rule.FORBIDDEN_ROLE, app.link_received_alert, actor, alert_id, crisis_id="C-S1")
    refused(services, Rule.FORBIDDEN_ROLE, take, app, AMBER, LR)
    app.link_received_alert(DO1, alert_id, crisis_id="C-S1")
    refused(services, Rule.INVALID_TRANSITION, app.link_received_alert, DO1, alert_id, crisis_id="C-S1")
    refused(services, Rule.NOT_FOUND, app.link_received_alert, DO1, "cap-0", crisis_id="C-S1")


def test_an_expired_alert_leaves_the_watch_list_by_time_alone(services, app, clock):
    take(app, WIND)
    assert len(watched(services)) == 1
    clock.set("2025-10-27T06:00:01+02:00")
    assert watched(services) == []


def test_the_watch_list_pages_newest_first(services, app):
    wind, amber = take(app, WIND), take(app, AMBER)
    services.projections.catch_up()
    first = services.projections.list_received_alerts(CLEARED, limit=1)
    assert [a["alert_id"] for a in first["alerts"]] == [wind] and first["next"] == wind
    second = services.projections.list_received_alerts(CLEARED, limit=1, after=first["next"])
    assert [a["alert_id"] for a in second["alerts"]] == [amber] and "next" not in second


def test_two_takers_at_once_store_the_alert_once(services, app):
    outcomes = two_takers_at_once(app, app)
    assert sorted(map(str, outcomes)) == sorted([str(Rule.ALREADY_EXISTS), read_alert(WIND).alert_id])
    services.projections.catch_up()
    assert len(watched(services)) == 1


def test_two_processes_taking_the_same_alert_at_once_store_it_once(postgres_url, tmp_path, clock):
    # Given two services on one PostgreSQL store, as two processes (each its own cache and command queues)
    clock.set("2025-10-26T10:00:00+02:00")
    settings = settings_for("postgres", tmp_path, postgres_url, **TEST_POOL)
    first, second = open_services(settings, clock), open_services(settings, clock)
    try:
        # When each takes the same alert at the same moment
        outcomes = two_takers_at_once(first.coordination, second.coordination)
        # Then the store keeps one: the other is told it is held already
        assert sorted(map(str, outcomes)) == sorted([str(Rule.ALREADY_EXISTS), read_alert(WIND).alert_id])
        stored = list(first.coordination.events.get(ReceivedAlert.id_for(read_alert(WIND).alert_id)))
        assert [event.originator_version for event in stored] == [1]
    finally:
        first.close()
        second.close()


def two_takers_at_once(one, other) -> list[object]:  # noqa: ANN001
    """DO-1 on `one` and DO-2 on `other` take the wind warning, both reading it before either stores it."""
    outcomes: list[object] = []
    both_read = threading.Barrier(2)

    def read(document: bytes) -> Alert:
        both_read.wait(timeout=10)
        return read_alert(document)

    def taker(app, actor: Actor) -> None:  # noqa: ANN001
        try:
            outcomes.append(app.take_received_alert(actor, WIND, read, source="http")[0])
        except Exception as error:  # noqa: BLE001 - the refusal is the outcome
            outcomes.append(getattr(error, "rule", error))

    threads = [threading.Thread(target=taker, args=pair) for pair in ((one, DO1), (other, DO2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
