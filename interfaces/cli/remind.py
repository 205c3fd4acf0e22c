"""`valmius remind`: the process that sends reminders (application.reminder.Sender).

Every VALMIUS_REMINDER_TICK_SECONDS it brings the deadlines read model up to the log (it follows that one model
itself, so it needs no other process to be current; `valmius project` following it too is safe: a batch is applied
once), records the notices due, delivers what is recorded and undelivered, records each result and settles the
reminders whose deadline went away. It rides out a store out of reach as `valmius project` does: it waits for the
store at start, and a tick that loses it is logged and tried again after a capped, jittered backoff.

Recording is exactly once, delivery at least once (see application.reminder). Run one or more beside
`valmius serve`; on the embedded SQLite store too (the service does not send reminders itself).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from application.backoff import retry_delay
from application.reminder import Sender
from domain.access import Actor, Role
from domain.reminder import Ladder
from infrastructure.bootstrap import Services, open_services_retrying
from infrastructure.persistence import store_unavailable
from infrastructure.reminder_channels import SmtpChannel, WebhookChannel
from infrastructure.settings import Settings, read_contacts
from application.reminder import Contacts

log = logging.getLogger("valmius.remind")
SENDER = "valmius-remind"


def register(commands: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's own type
    remind = commands.add_parser(
        "remind", help="send reminders of deadlines (before, at, escalated until acknowledged) by e-mail and webhook"
    )
    remind.add_argument("--once", action="store_true", help="one tick, then exit")
    remind.add_argument("--as", dest="sender", default=SENDER, help=f"recorded as the sender (default {SENDER})")
    remind.set_defaults(handler=run)


def build_sender(services: Services, settings: Settings, user: str = SENDER) -> Sender:
    channels = {}
    if settings.smtp_url:
        channels["email"] = SmtpChannel(settings.smtp_url, settings.smtp_from)
    if settings.webhook_secret:
        channels["webhook"] = WebhookChannel(settings.webhook_secret)
    contacts = read_contacts(settings.contacts_file) if settings.contacts_file else Contacts()
    return Sender(
        app=services.coordination, store=services.sql, ladder=Ladder.parse(settings.reminder_ladder), contacts=contacts,
        channels=channels, actor=Actor(user, Role.DUTY_OFFICER), link_base=settings.reminder_link_base.rstrip("/"),
    )


def tick(services: Services, sender: Sender) -> dict[str, int]:
    projections = services.projections
    projections.catch_up([projections.models["deadlines"]])
    return sender.tick()


def run(settings: Settings, args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    services = open_services_retrying(settings, stop)
    if services is None:
        return 0
    try:
        sender = build_sender(services, settings, args.sender)
        log.info("reminder sender on the %s store, every %.0f s (channels: %s)", settings.store,
                 settings.reminder_tick_seconds, ", ".join(sender.channels) or "none")
        failures = 0
        while True:
            try:
                done = tick(services, sender)
                failures, wait = 0, settings.reminder_tick_seconds
                if any(done.values()):
                    log.info("reminders: %s", ", ".join(f"{k} {v}" for k, v in done.items()))
            except Exception as error:
                if not store_unavailable(error):
                    raise
                wait = retry_delay(failures)
                failures += 1
                log.warning("the store is out of reach (%s); next tick in %.1f s", str(error).splitlines()[0] if str(error) else type(error).__name__, wait)
            if args.once or stop.wait(wait):
                return 0
    finally:
        services.close()
