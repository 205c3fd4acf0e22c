"""Reminders that escalate until acknowledged (issue 13 item 2), against real peers: an SMTP server (aiosmtpd) and
an HTTP server checking each webhook's HMAC, both started by the tests; the ladder walked with an injected clock."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from aiosmtpd.controller import Controller

from application.reminder import Contacts, Sender, message_id
from domain.access import Actor, Role
from domain.reminder import Ladder, Reminder
from domain.shared import DomainError, Rule
from infrastructure.bootstrap import Services, open_services
from infrastructure.reminder_channels import SmtpChannel, WebhookChannel
from infrastructure.settings import Settings
from tests.application.support import DO1, PC, PM, contact
from tests.conftest import FakeClock, settings_for
from tests.integration.test_faults import cluster  # noqa: F401 (the throwaway cluster, as a fixture)
from tests.live import ROOT, valmius_env, wait_until

SECRET = "night-shift-webhook-secret"
SENDER = Actor("valmius-remind", Role.DUTY_OFFICER)


class Mailbox:
    """An aiosmtpd handler: keeps every message; refuses the first `refuse` attempts with 451."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse, self.messages, self.attempts = refuse, [], 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 - aiosmtpd's hook
        self.attempts += 1
        if self.attempts <= self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    controller.stop()


class Hook:
    """A webhook receiver: checks each delivery's signature, refuses the first `refuse` with 503."""

    def __init__(self) -> None:
        self.refuse, self.received, self.bad, self.attempts = 0, [], 0, 0


@pytest.fixture
def hook() -> Iterator[Hook]:
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            timestamp = self.headers["Valmius-Timestamp"]
            expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            state.attempts += 1
            if not hmac.compare_digest(expected, self.headers["Valmius-Signature"] or ""):
                state.bad += 1
                self.send_response(401)
            elif state.attempts <= state.refuse:
                self.send_response(503)
            else:
                state.received.append((self.headers["Valmius-Delivery"], json.loads(body)))
                self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/valmius"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def night(tmp_path) -> Iterator[tuple[Services, FakeClock]]:  # noqa: ANN001
    clock = FakeClock("2026-12-05T22:00:00+02:00")
    services = open_services(settings_for("memory", tmp_path), clock)
    yield services, clock
    services.close()


def sender_for(services: Services, mailbox: Mailbox, hook: Hook) -> Sender:
    contacts = Contacts(
        people={"DO-1": {"email": "do1@hel.example"}, "PM": {"webhook": hook.url}},
        units={"STARA": {"email": "stara-paivystys@hel.example"}},
    )
    return Sender(app=services.coordination, store=services.sql, ladder=Ladder(), contacts=contacts,
                  channels={"email": SmtpChannel(mailbox.url, "valmius@hel.example"), "webhook": WebhookChannel(SECRET)},
                  actor=SENDER, link_base="https://valmius.hel.example", first_retry=0.01, max_retry=0.05, attempts=4)


def tick(services: Services, sender: Sender, clock: FakeClock, at: str) -> dict[str, int]:
    clock.set(at)
    services.projections.catch_up()
    done = sender.tick()
    services.projections.catch_up()
    return done


def action_due_at_three(services: Services) -> None:
    app = services.coordination
    app.declare_crisis(DO1, crisis_id="C-1", title="Storm: trees on the tracks", category="SEVERE_WEATHER", severity=2,
                       areas=["Vuosaari"])
    app.assign_action(DO1, "C-1", action_id="A-1", unit="STARA", task="Clear the fallen trees on Itäväylä",
                      due_at=datetime.fromisoformat("2026-12-06T03:00:00+02:00"))


RID = "ACTION.C-1.A-1.20261206T010000Z"


def notices(services: Services) -> list[tuple[int, str, list[str]]]:
    return [(e.notice, e.stage, [r["recipient"] for r in e.recipients])
            for e in services.coordination.events.get(Reminder.id_for(RID)) if isinstance(e, Reminder.NoticeRecorded)]


def test_a_night_shift_the_action_due_at_three_escalates_until_the_duty_officer_acknowledges(night, mailbox, hook) -> None:  # noqa: ANN001
    services, clock = night
    app = services.coordination
    sender = sender_for(services, mailbox, hook)
    # Given DO-1 on duty and the manager on call, and action A-1 for STARA due at 03:00
    app.sign_on(DO1, "DUTY_OFFICER")
    app.sign_on(PM, "PREPAREDNESS_MANAGER")
    action_due_at_three(services)
    assert tick(services, sender, clock, "2026-12-06T02:00:00+02:00")["recorded"] == 0
    # 02:30: the notice before goes to STARA's e-mail
    assert tick(services, sender, clock, "2026-12-06T02:30:00+02:00")["delivered"] == 1
    assert [rcpt for rcpt, _ in mailbox.messages] == [["stara-paivystys@hel.example"]]
    first = mailbox.messages[0][1]
    assert first["Message-ID"] == message_id(RID, 1, "STARA")
    assert "Clear the fallen trees" not in first.as_string()  # structure only: no record's text
    assert "A-1" in first.as_string() and "STARA" in first.as_string()
    # 03:00: at the deadline to STARA and to DO-1
    tick(services, sender, clock, "2026-12-06T03:00:00+02:00")
    assert sorted(r[0] for r, _ in mailbox.messages[1:]) == ["do1@hel.example", "stara-paivystys@hel.example"]
    # 03:15: escalated to the duty officer on duty; 03:30: to the manager on call, by the signed webhook
    tick(services, sender, clock, "2026-12-06T03:15:00+02:00")
    tick(services, sender, clock, "2026-12-06T03:30:00+02:00")
    assert notices(services) == [(1, "BEFORE", ["STARA"]), (2, "AT", ["STARA", "DO-1"]),
                                 (3, "ESCALATED_DUTY_OFFICER", ["DO-1"]), (4, "ESCALATED_MANAGER", ["PM"])]
    assert [body["stage"] for _, body in hook.received] == ["ESCALATED_MANAGER"] and hook.bad == 0
    assert hook.received[0][0] == message_id(RID, 4, "PM")
    # When DO-1 acknowledges at 03:35, the reminder escalates no further
    clock.set("2026-12-06T03:35:00+02:00")
    app.acknowledge_reminder(DO1, RID)
    with pytest.raises(DomainError) as again:
        app.acknowledge_reminder(PM, RID)
    assert again.value.rule is Rule.ALREADY_ACKNOWLEDGED
    assert tick(services, sender, clock, "2026-12-06T05:00:00+02:00")["recorded"] == 0
    assert len(notices(services)) == 4
    # An auditor asks who had been told by 03:20: STARA twice, DO-1 twice; the manager not yet
    auditor = Actor("AUD", Role.AUDITOR)
    told = app.reminders_known_at(auditor, [RID], datetime.fromisoformat("2026-12-06T03:20:00+02:00"))
    delivered = sorted((e.notice, e.recipient) for e in told if isinstance(e, Reminder.DeliveryRecorded) and e.delivered)
    assert delivered == [(1, "STARA"), (2, "DO-1"), (2, "STARA"), (3, "DO-1")]
    assert [e.notice for e in told if isinstance(e, Reminder.NoticeRecorded)] == [1, 2, 3]
    # The morning handover: the brief shows the action still overdue, the reminder acknowledged (no longer open)
    clock.set("2026-12-06T07:00:00+02:00")
    services.projections.catch_up()
    _, number = app.prepare_handover_brief(DO1, "DUTY_OFFICER", services.projections.handover_brief)
    brief, _ = app.get_handover_brief(DO1, "DUTY_OFFICER", number)
    assert [a["action_id"] for a in brief.brief["overdue_actions"]["items"]] == ["A-1"]
    assert any("acknowledged by DO-1" in change["what"] for change in brief.brief["changes"]["items"])


def test_a_met_deadline_settles_its_reminder(night, mailbox, hook) -> None:  # noqa: ANN001
    services, clock = night
    app = services.coordination
    sender = sender_for(services, mailbox, hook)
    app.sign_on(DO1, "DUTY_OFFICER")
    action_due_at_three(services)
    tick(services, sender, clock, "2026-12-06T02:30:00+02:00")
    # When STARA completes A-1 at 02:50, the reminder is settled as met, and nothing more is sent
    clock.set("2026-12-06T02:50:00+02:00")
    app.complete_action(contact("STARA"), "C-1", action_id="A-1")
    assert tick(services, sender, clock, "2026-12-06T02:51:00+02:00")["settled"] == 1
    assert app.load_reminder(RID).settled == "MET"
    assert tick(services, sender, clock, "2026-12-06T04:00:00+02:00")["recorded"] == 0
    assert len(notices(services)) == 1 and len(mailbox.messages) == 1
    with pytest.raises(DomainError) as settled:
        app.acknowledge_reminder(DO1, RID)
    assert settled.value.rule is Rule.REMINDER_SETTLED


def test_a_police_request_unanswered_reminds_the_police_coordinator_on_duty_who_acknowledges_it(night, mailbox, hook) -> None:  # noqa: ANN001
    """Given PC on duty as the police coordinator and DO-1 as the duty officer, and a request to the police raised
    at 22:00 (unanswered past 30 minutes is its deadline), then the notice before it goes to PC, the notice at it
    to PC and DO-1, and PC, who keeps the requests between the city and the police, acknowledges it; a division
    contact may not."""
    services, clock = night
    app = services.coordination
    sender = sender_for(services, mailbox, hook)
    app.sign_on(DO1, "DUTY_OFFICER")
    app.sign_on(PC, "POLICE_COORDINATOR")
    action_due_at_three(services)  # the crisis
    app.open_police_liaison(PC, liaison_id="PL-1", crisis_id="C-1", topic="Traffic control on Itäväylä")
    app.raise_police_request(PC, "PL-1", request_id="PR-1", direction="CITY_TO_POLICE", request_type="COORDINATION",
                             subject="Close Itäväylä eastbound")
    rid = f"POLICE_REQUEST.PL-1.PR-1.{stamp(datetime.fromisoformat('2026-12-05T22:30:00+02:00'))}"

    def told() -> list[tuple[str, list[str]]]:
        return [(e.stage, [f"{r['recipient']} as {r['as']}" for r in e.recipients])
                for e in app.events.get(Reminder.id_for(rid)) if isinstance(e, Reminder.NoticeRecorded)]

    tick(services, sender, clock, "2026-12-05T22:05:00+02:00")
    tick(services, sender, clock, "2026-12-05T22:30:00+02:00")
    assert told() == [("BEFORE", ["PC as POLICE_COORDINATOR"]),
                      ("AT", ["PC as POLICE_COORDINATOR", "DO-1 as DUTY_OFFICER"])]
    with pytest.raises(DomainError) as not_theirs:
        app.acknowledge_reminder(contact("STARA"), rid)
    assert not_theirs.value.rule is Rule.NOT_A_RECIPIENT
    app.acknowledge_reminder(PC, rid)
    assert app.load_reminder(rid).acknowledged_by == "PC"


def test_deliveries_are_retried_with_backoff_and_each_attempt_recorded(night, mailbox, hook) -> None:  # noqa: ANN001
    services, clock = night
    app = services.coordination
    mailbox.refuse, hook.refuse = 2, 1
    sender = sender_for(services, mailbox, hook)
    app.sign_on(DO1, "DUTY_OFFICER")
    app.sign_on(PM, "PREPAREDNESS_MANAGER")
    action_due_at_three(services)
    # The sender was down until 03:40: the manager's step is due (the steps passed over are not sent late)
    tick(services, sender, clock, "2026-12-06T03:40:00+02:00")
    results = [(e.channel, e.attempt, e.delivered, e.reason) for e in app.events.get(Reminder.id_for(RID))
               if isinstance(e, Reminder.DeliveryRecorded)]
    assert results == [("webhook", 1, False, "HTTP 503"), ("webhook", 2, True, None)]
    assert notices(services) == [(4, "ESCALATED_MANAGER", ["PM"])]
    # The SMTP server refusing twice, then accepting: three attempts recorded for the next day's action
    app.assign_action(DO1, "C-1", action_id="A-2", unit="STARA", task="Check the trees again",
                      due_at=datetime.fromisoformat("2026-12-06T12:00:00+02:00"))
    tick(services, sender, clock, "2026-12-06T11:30:00+02:00")
    rid2 = "ACTION.C-1.A-2.20261206T100000Z"
    results = [(e.attempt, e.delivered, e.reason) for e in app.events.get(Reminder.id_for(rid2)) if isinstance(e, Reminder.DeliveryRecorded)]
    assert results == [(1, False, "SMTP 451"), (2, False, "SMTP 451"), (3, True, None)]
    assert len(mailbox.messages) == 1


def test_a_delivery_that_cannot_succeed_is_given_up_after_its_attempts(night, mailbox, hook) -> None:  # noqa: ANN001
    services, clock = night
    app = services.coordination
    mailbox.refuse = 100
    sender = sender_for(services, mailbox, hook)
    action_due_at_three(services)
    tick(services, sender, clock, "2026-12-06T02:30:00+02:00")
    reminder = app.load_reminder(RID)
    assert reminder.pending() == []
    results = [(e.attempt, e.gave_up) for e in app.events.get(Reminder.id_for(RID)) if isinstance(e, Reminder.DeliveryRecorded)]
    assert results == [(1, False), (2, False), (3, False), (4, True)]
    # Nobody holds the duty officer's position at 03:15: the escalation is recorded naming nobody
    tick(services, sender, clock, "2026-12-06T03:15:00+02:00")
    assert notices(services)[-1] == (3, "ESCALATED_DUTY_OFFICER", [])


def test_an_exercise_crisis_gets_no_reminders(night, mailbox, hook) -> None:  # noqa: ANN001
    services, clock = night
    sender = sender_for(services, mailbox, hook)
    action_due_at_three(services)
    services.projections.catch_up()
    # the exercise flag is read from Crisis.Declared (`exercise`, which another branch adds): set on the row here
    with services.sql.transaction() as tx:
        tx.execute("UPDATE rm_deadline_crises SET exercise = 1 WHERE crisis_id = %s", ("C-1",))
    assert tick(services, sender, clock, "2026-12-06T03:00:00+02:00")["recorded"] == 0
    assert mailbox.messages == []


def test_a_second_sender_records_nothing_twice(night, mailbox, hook) -> None:  # noqa: ANN001
    services, clock = night
    first, second = sender_for(services, mailbox, hook), sender_for(services, mailbox, hook)
    services.coordination.sign_on(DO1, "DUTY_OFFICER")
    action_due_at_three(services)
    tick(services, first, clock, "2026-12-06T03:00:00+02:00")
    assert tick(services, second, clock, "2026-12-06T03:00:00+02:00") == {"recorded": 0, "delivered": 0, "failed": 0, "settled": 0}
    assert notices(services) == [(2, "AT", ["STARA", "DO-1"])]


# --- SIGKILL of the sender, on PostgreSQL ------------------------------------------------------------------


class SlowMailbox(Mailbox):
    """A mailbox taking 30 ms a message, so that a kill falls while the sender sends."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802
        await asyncio.sleep(0.03)
        return await super().handle_DATA(server, session, envelope)


def mail_for_a_sender(box: Mailbox, tmp_path: Path) -> tuple[Controller, dict[str, str]]:
    """An SMTP server delivering to `box` (started; stop it), and the settings of a `valmius remind` process that
    sends to it: STARA's and DO-1's addresses, a tick of 0.2 s, notices AT each deadline."""
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    contacts = tmp_path / "contacts.json"
    contacts.write_text(json.dumps({"people": {"DO-1": {"email": "do1@hel.example"}},
                                    "units": {"STARA": {"email": "stara@hel.example"}}}))
    return controller, {
        "VALMIUS_SMTP_URL": f"smtp://127.0.0.1:{port}", "VALMIUS_CONTACTS_FILE": str(contacts),
        "VALMIUS_REMINDER_TICK_SECONDS": "0.2",
        "VALMIUS_REMINDER_LADDER": '{"before": "1h", "duty_officer": "1d", "manager": "2d", "repeat": "1d"}',
    }


def remind_process(database_url: str, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "interfaces.cli.main", "remind"], cwd=ROOT,
                                env={**valmius_env(database_url), **env}, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.postgres
def test_the_sender_killed_while_it_sends_records_nothing_twice_loses_nothing_and_delivers_every_notice(
    postgres_url: str, tmp_path: Path,
) -> None:
    """Given 30 actions past due (a notice AT each deadline to STARA and to DO-1: 60 e-mails) and `valmius remind`
    sending them to a real SMTP server, when the process is killed with SIGKILL mid-flow and started again, then
    every notice is recorded once, every delivery is recorded delivered, and every e-mail arrived: twice only for
    a delivery the kill fell between its send and its record, recognisable by its Message-ID."""
    services = open_services(settings_for("postgres", tmp_path, postgres_url))
    box = SlowMailbox()
    controller, env = mail_for_a_sender(box, tmp_path)
    log = tmp_path / "remind.log"
    try:
        app = services.coordination
        app.sign_on(DO1, "DUTY_OFFICER")
        due = app.now() - timedelta(minutes=1)
        app.declare_crisis(DO1, crisis_id="C-K", title="Storm", category="SEVERE_WEATHER", severity=1, areas=["Vuosaari"],
                           occurred_at=due - timedelta(minutes=10), late_entry_reason="test set-up")
        for i in range(30):
            app.assign_action(DO1, "C-K", action_id=f"A-{i}", unit="STARA", task=f"secret task {i}", due_at=due,
                              occurred_at=due - timedelta(minutes=5), late_entry_reason="test set-up")
        # When the sender is killed once a third of the mail has arrived
        first = remind_process(postgres_url, log, env)
        wait_until(lambda: len(box.messages) >= 20 or first.poll() is not None, 60, "20 e-mails")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        sent_before = len(box.messages)
        assert sent_before < 60, "the kill came after everything was sent"
        recorded = [e for i in range(30) for e in app.events.get(Reminder.id_for(f"ACTION.C-K.A-{i}.{stamp(due)}"))
                    if isinstance(e, Reminder.NoticeRecorded)]
        assert len(recorded) == 30  # recorded first, then delivered: the restart resumes the deliveries left
        # and started again
        second = remind_process(postgres_url, log, env)
        try:
            def delivered() -> list[Reminder.DeliveryRecorded]:
                return [e for i in range(30) for e in app.events.get(Reminder.id_for(f"ACTION.C-K.A-{i}.{stamp(due)}"))
                        if isinstance(e, Reminder.DeliveryRecorded) and e.delivered]
            wait_until(lambda: len(delivered()) >= 60 or second.poll() is not None, 90, "60 deliveries recorded")
        finally:
            second.terminate()
            second.wait(10)
        # Then each reminder holds one notice (AT), to STARA and DO-1, each delivered once in the record
        for i in range(30):
            events = list(app.events.get(Reminder.id_for(f"ACTION.C-K.A-{i}.{stamp(due)}")))
            noticed = [e for e in events if isinstance(e, Reminder.NoticeRecorded)]
            assert [(e.notice, e.stage) for e in noticed] == [(2, "AT")], log.read_text()
            done = sorted(e.recipient for e in events if isinstance(e, Reminder.DeliveryRecorded) and e.delivered)
            assert done == ["DO-1", "STARA"]
        # and every e-mail arrived, with at most the one in flight at the kill arriving twice (same Message-ID)
        ids = [message["Message-ID"] for _, message in box.messages]
        assert len(set(ids)) == 60
        assert len(ids) - len(set(ids)) <= 1
        assert all("secret task" not in message.as_string() for _, message in box.messages)
        # the log names what was sent
        assert re.search(r"reminder ACTION\.C-K\.A-\d+\.\w+ notice 2 \(AT\) delivered to STARA by email", log.read_text())
    finally:
        controller.stop()
        services.close()


@pytest.mark.postgres
def test_the_sender_rides_out_a_crash_of_postgresql_and_sends_what_came_due_once_it_is_back(
    cluster, tmp_path: Path,  # noqa: ANN001
) -> None:
    """Given `valmius remind` sending the notices of five actions past due, when PostgreSQL crashes under it (a
    throwaway cluster of the test's own), then the sender keeps running, says the store is out of reach and
    tries again; once PostgreSQL is back, it sends the notices of five more actions that came due,
    without a hand on it, and recorded nothing twice."""
    url = cluster.url(f"remind_{uuid.uuid4().hex[:8]}")
    box = Mailbox()
    controller, env = mail_for_a_sender(box, tmp_path)
    log = tmp_path / "remind.log"

    def actions_past_due(first: int) -> datetime:
        services = open_services(Settings(_env_file=None, database_url=url))
        try:
            app, due = services.coordination, services.coordination.now() - timedelta(minutes=1)
            if first == 0:
                app.sign_on(DO1, "DUTY_OFFICER")
                app.declare_crisis(DO1, crisis_id="C-F", title="Storm", category="SEVERE_WEATHER", severity=1,
                                   occurred_at=due - timedelta(minutes=10), late_entry_reason="test set-up")
            for i in range(first, first + 5):
                app.assign_action(DO1, "C-F", action_id=f"A-{i}", unit="STARA", task=f"task {i}", due_at=due,
                                  occurred_at=due - timedelta(minutes=5), late_entry_reason="test set-up")
            return due
        finally:
            services.close()

    sender = None
    try:
        actions_past_due(0)
        sender = remind_process(url, log, env)
        wait_until(lambda: len(box.messages) >= 10 or sender.poll() is not None, 60, "the first 10 e-mails")
        cluster.crash()
        # (a tick finds the store gone once the library's ten tries of a read, 5 s each for a connection, are spent)
        wait_until(lambda: "the store is out of reach" in log.read_text() or sender.poll() is not None, 120,
                   "the sender to retry")
        assert sender.poll() is None, log.read_text()
        cluster.start()
        actions_past_due(5)
        wait_until(lambda: len(box.messages) >= 20 or sender.poll() is not None, 60, "the next 10 e-mails")
        assert sender.poll() is None, log.read_text()
        sender.send_signal(signal.SIGTERM)
        assert sender.wait(timeout=20) == 0, log.read_text()
        ids = [message["Message-ID"] for _, message in box.messages]
        assert len(ids) == len(set(ids)) == 20  # two e-mails (STARA, DO-1) an action, each once
        with psycopg.connect(url) as conn:  # one notice a reminder, recorded once
            notices = conn.execute("SELECT count(*) FROM valmius_events WHERE topic LIKE %s",
                                   ("%Reminder.NoticeRecorded",)).fetchone()[0]
        assert notices == 10
    finally:
        if sender is not None and sender.poll() is None:
            sender.kill()
        controller.stop()
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start()


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
