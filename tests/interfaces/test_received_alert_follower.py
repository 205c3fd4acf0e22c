"""The CAP follower and `valmius alerts`, on every store: a real local HTTP server serving an Atom feed (as the
Finnish Meteorological Institute's: entries linking to CAP documents, or holding one) and a folder of documents;
each valid alert stored once however often it is polled, refused documents logged and kept with their reason,
a feed out of reach retried later while the others go on."""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from domain.access import Actor, Role
from domain.received_alert import SUPERSEDED
from interfaces.cap.alerts_in import read_alert
from interfaces.cap.follower import Follower
from interfaces.cli.main import main
from tests.application.support import LR

CAP = Path(__file__).parents[1] / "fixtures" / "cap"
WIND = (CAP / "fmi-wind-warning.xml").read_bytes()  # shaped as the Finnish Meteorological Institute's
UPDATE = (CAP / "fmi-wind-warning-update.xml").read_bytes()
AMBER = (CAP / "example-amber-alert.xml").read_bytes()
TAKER = Actor("cap-follower", Role.DUTY_OFFICER)
ATOM = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:test:fmi-warnings</id><title>Varoitukset</title><updated>2025-10-26T09:00:00+02:00</updated>
  <entry><id>1</id><title>Tuulivaroitus</title><updated>2025-10-26T07:00:00+02:00</updated>
    <link rel="alternate" type="application/cap+xml" href="/cap/wind.xml"/></entry>
  <entry><id>2</id><title>Tuulivaroitus päivitetty</title><updated>2025-10-26T09:00:00+02:00</updated>
    <link rel="alternate" type="application/cap+xml" href="http://{host}/cap/wind-update.xml"/></entry>
  <entry><id>3</id><title>Amber</title><updated>2025-10-26T09:00:00+02:00</updated>
    <content type="application/cap+xml">{amber}</content></entry>
  <entry><id>4</id><title>Rikki</title><updated>2025-10-26T09:00:00+02:00</updated>
    <link rel="alternate" type="application/cap+xml" href="/cap/broken.xml"/></entry>
</feed>
"""


@pytest.fixture
def app(services, clock):  # noqa: ANN001, ANN201
    clock.set("2025-10-26T10:00:00+02:00")
    return services.coordination


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on a free local port serving the feed and its documents; its address."""
    root = tmp_path / "www"
    (root / "cap").mkdir(parents=True)
    (root / "cap" / "wind.xml").write_bytes(WIND)
    (root / "cap" / "wind-update.xml").write_bytes(UPDATE)
    (root / "cap" / "broken.xml").write_bytes(WIND.replace(b"<status>Actual</status>", b"<status>Maybe</status>"))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    host = f"127.0.0.1:{httpd.server_address[1]}"
    amber = AMBER.decode().split("?>", 1)[1]  # the alert element, inside the entry
    (root / "feed.xml").write_text(ATOM.format(host=host, amber=amber), encoding="utf-8")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://{host}"
    httpd.shutdown()
    httpd.server_close()


def test_the_follower_takes_each_alert_of_an_atom_feed_once_and_refuses_the_invalid(services, app, server, caplog):
    follower = Follower(app, [f"{server}/feed.xml"], TAKER, every=60)
    # When it polls the feed
    with caplog.at_level(logging.INFO, logger="valmius.cap"):
        first = follower.poll()
    # Then the wind warning, its update and the Amber alert are taken; the update supersedes the warning
    wind, update, amber = (read_alert(d).alert_id for d in (WIND, UPDATE, AMBER))
    assert first.taken == [wind, update, amber] and not first.failed
    assert app.get_received_alert(LR, wind).state == SUPERSEDED
    assert app.get_received_alert(LR, update).fields["source"] == f"{server}/cap/wind-update.xml"
    # and the broken document is refused with its reason, logged and kept for auditors
    [(source, reason)] = first.refused
    assert source == f"{server}/cap/broken.xml" and "/alert/status" in reason
    assert any("refused CAP document" in r.getMessage() and "/alert/status" in r.getMessage() for r in caplog.records)
    kept = [r for r in services.refusals.list() if r["command"] == "take_received_alert"]
    assert [(r["target"], r["rule"]) for r in kept] == [(source, "INVALID_CAP")]
    # When it polls again, and a new follower (a restart) polls, nothing more is stored and nothing more refused
    position = app.recorder.max_notification_id()
    again = follower.poll()
    assert (again.taken, again.refused) == ([], [])
    restarted = Follower(app, [f"{server}/feed.xml"], TAKER).poll()
    assert restarted.taken == [] and restarted.known == 3
    assert app.recorder.max_notification_id() == position


def test_the_follower_takes_a_folder_and_a_plain_document_url(app, server, tmp_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "a.xml").write_bytes(AMBER)
    (folder / "b.xml").write_bytes(b"<not-cap/>")
    (folder / "ignored.txt").write_bytes(b"not looked at")
    done = Follower(app, [str(folder), f"{server}/cap/wind.xml"], TAKER).poll()
    assert done.taken == [read_alert(AMBER).alert_id, read_alert(WIND).alert_id]
    assert [source for source, _ in done.refused] == [str(folder / "b.xml")]


def test_a_feed_out_of_reach_is_tried_again_later_and_the_others_go_on(app, server, tmp_path):
    now = [0.0]
    gone = "http://127.0.0.1:9/feed.xml"  # the discard port: nobody answers
    follower = Follower(app, [gone, f"{server}/cap/wind.xml"], TAKER, every=30, clock=lambda: now[0])
    done = follower.poll()
    assert [feed for feed, _ in done.failed] == [gone] and done.taken == [read_alert(WIND).alert_id]
    # Then it is not tried before its delay, then tried again, with a doubled delay after a second failure
    now[0] = 29
    assert follower.poll().failed == []
    now[0] = 31
    assert [feed for feed, _ in follower.poll().failed] == [gone]
    assert follower.next_try[gone] == 31 + 60


def test_valmius_alerts_take_and_follow_once(tmp_path, monkeypatch, capsys, server):
    store = tmp_path / "valmius.sqlite3"
    monkeypatch.setenv("VALMIUS_DATABASE_URL", f"sqlite:///{store}")
    assert main(["init"]) == 0
    (tmp_path / "amber.xml").write_bytes(AMBER)
    (tmp_path / "bad.xml").write_bytes(b"<alert")
    # When the files are taken: the alert is taken, the broken document refused with its reason (exit 1)
    assert main(["alerts", "take", str(tmp_path / "amber.xml"), str(tmp_path / "bad.xml")]) == 1
    out = capsys.readouterr().out
    assert f"taken as {read_alert(AMBER).alert_id}" in out and "bad.xml: REFUSED: not a CAP 1.2 alert: not XML" in out
    # When taken again, it is held already (exit 0)
    assert main(["alerts", "take", str(tmp_path / "amber.xml")]) == 0
    assert "held already" in capsys.readouterr().out
    # When the feed is followed once, by VALMIUS_CAP_FEEDS
    monkeypatch.setenv("VALMIUS_CAP_FEEDS", f'["{server}/feed.xml"]')
    assert main(["alerts", "follow", "--once"]) == 0
    assert "2 taken, 1 held already, 1 refused, 0 feed(s) failed" in capsys.readouterr().out


def test_a_large_feed_is_followed_and_a_link_it_cannot_follow_or_a_time_out_of_range_holds_nothing_up(app, server,
                                                                                                       tmp_path):
    # Given a feed of more than 64 KiB (as a storm's may be) whose first entries link to a ftp:// document and to
    # one valid to the schema whose sent time is no instant (year 9999 at -10:00), then to the wind warning
    root = tmp_path / "www"
    (root / "cap" / "beyond.xml").write_bytes(
        WIND.replace(b"<sent>2025-10-26T07:00:00+02:00</sent>", b"<sent>9999-12-31T23:00:00-10:00</sent>"))
    entries = [("ftp://example.org/a.xml", "ftp"), ("/cap/beyond.xml", "beyond"), ("/cap/wind.xml", "wind")]
    feed = ATOM.split("<entry>", 1)[0] + "".join(
        f'<entry><id>{name}</id><title>{name}</title><updated>2025-10-26T09:00:00+02:00</updated>'
        f'<link rel="alternate" type="application/cap+xml" href="{href}"/></entry>' for href, name in entries
    ) + "".join(f"<entry><id>p{n}</id><title>{'x' * 200}</title><updated>2025-10-26T09:00:00+02:00</updated>"
                "</entry>" for n in range(400)) + "</feed>"
    (root / "big.xml").write_text(feed, encoding="utf-8")
    assert len(feed.encode()) > 64 * 1024
    # When it is polled
    done = Follower(app, [f"{server}/big.xml"], TAKER).poll()
    # Then the wind warning is taken, the document out of range refused with its reason, and the feed not failed
    assert done.failed == [] and done.taken == [read_alert(WIND).alert_id]
    [(source, reason)] = done.refused
    assert source.endswith("/cap/beyond.xml") and "out of range" in reason, done.refused


def test_a_feeds_credentials_are_never_shown_as_where_an_alert_came_from():
    from interfaces.cap.follower import shown
    assert shown("https://user:secret@alerts.example.fi:8443/cap/feed.xml?apikey=K#x") == \
        "https://alerts.example.fi:8443/cap/feed.xml"
    assert shown("http://127.0.0.1:8080/cap/wind.xml") == "http://127.0.0.1:8080/cap/wind.xml"
    assert shown("/var/lib/valmius/cap-drop/a.xml") == "/var/lib/valmius/cap-drop/a.xml"
