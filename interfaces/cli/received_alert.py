"""`valmius alerts take | follow`: CAP 1.2 alerts taken in from files, or followed in feeds.

    valmius alerts take FILE…
        take in the alerts of these CAP documents once: each says whether it was taken, held already or refused
        (and why); exit 0 when none was refused, 1 otherwise
    valmius alerts follow [--feed URL|FOLDER …] [--every SECONDS] [--once]
        poll the feeds (VALMIUS_CAP_FEEDS unless given) every VALMIUS_CAP_POLL_SECONDS and take every new valid
        alert, until stopped (interfaces.cap.follower); `--once` polls once and exits (1 if a feed failed)

Alerts are recorded as taken by `--as USER` (a duty officer's name; `cap-follower` by default).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from domain.access import Actor, Role
from domain.shared import DomainError, Rule
from infrastructure.bootstrap import open_services, open_services_retrying
from infrastructure.settings import Settings
from interfaces.cap.alerts_in import MAX_DOCUMENT_BYTES, read_alert
from interfaces.cap.follower import Follower
from interfaces.cli.options import DatabaseOption

TAKER = "cap-follower"


def register(commands: DatabaseOption) -> None:
    """Add `valmius alerts` and its subcommands; each sets `handler` to a function(settings, args)."""
    alerts = DatabaseOption(commands.add_parser(
        "alerts", help="take in CAP 1.2 alerts from files, or follow CAP feeds"
    ).add_subparsers(dest="alerts_command", required=True))
    take = alerts.add_parser("take", help="take in the alerts of these CAP documents, once")
    take.add_argument("files", nargs="+", type=Path, metavar="FILE")
    follow = alerts.add_parser(
        "follow", help="poll CAP feeds (URLs of CAP documents or Atom feeds, folders of *.xml) and take new alerts"
    )
    follow.add_argument("--feed", action="append", metavar="URL|FOLDER", help="default: VALMIUS_CAP_FEEDS")
    follow.add_argument("--every", type=float, metavar="SECONDS", help="default: VALMIUS_CAP_POLL_SECONDS")
    follow.add_argument("--once", action="store_true", help="poll once, then exit")
    for parser, handler in ((take, take_files), (follow, follow_feeds)):
        parser.add_argument("--as", dest="taker", default=TAKER, help=f"recorded as the taker (default {TAKER})")
        parser.set_defaults(handler=handler)


def take_files(settings: Settings, args: argparse.Namespace) -> int:
    services = open_services(settings)
    actor = Actor(args.taker, Role.DUTY_OFFICER)
    refused = 0
    try:
        for path in args.files:
            try:
                document = path.read_bytes()[: MAX_DOCUMENT_BYTES + 1]
                alert_id, _ = services.coordination.take_received_alert(actor, document, read_alert, source=path.name)
            except OSError as error:
                print(f"{path}: cannot be read ({error.strerror})", file=sys.stderr)
                refused += 1
            except DomainError as error:
                if error.rule is not Rule.ALREADY_EXISTS:
                    refused += 1
                print(f"{path}: {'held already' if error.rule is Rule.ALREADY_EXISTS else 'REFUSED'}: {error.message}")
            else:
                print(f"{path}: taken as {alert_id}")
        return 1 if refused else 0
    finally:
        services.close()


def follow_feeds(settings: Settings, args: argparse.Namespace) -> int:
    feeds = args.feed or settings.cap_feeds
    if not feeds:
        print("valmius: no CAP feed to follow: give --feed URL|FOLDER or set VALMIUS_CAP_FEEDS", file=sys.stderr)
        return 2
    stop = threading.Event()
    if not args.once:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
    services = open_services_retrying(settings, stop)  # waits out a store that is not up yet
    if services is None:
        return 0
    try:
        follower = Follower(
            services.coordination, feeds, Actor(args.taker, Role.DUTY_OFFICER), every=args.every or settings.cap_poll_seconds
        )
        if not args.once:
            follower.follow(stop)
            return 0
        done = follower.poll()
        for alert_id in done.taken:
            print(f"taken: {alert_id}")
        for source, reason in done.refused:
            print(f"REFUSED {source}: {reason}")
        for feed, error in done.failed:
            print(f"FAILED {feed}: {error}", file=sys.stderr)
        print(f"{len(done.taken)} taken, {done.known} held already, {len(done.refused)} refused, "
              f"{len(done.failed)} feed(s) failed")
        return 1 if done.failed else 0
    finally:
        services.close()
