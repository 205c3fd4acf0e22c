"""`valmius audit overview` and `valmius audit events`: history for auditors on the command line.

    valmius audit overview --as-of 2025-10-26T12:00+02:00 [--json] [--cleared] [--full-replay]
    valmius audit events [--crisis C-S1] [--unit SOTEPE] [--type SeverityChanged] [--actor DO-1]
                         [--from T] [--to T] [--after N] [--limit N] [--json] [--cleared]

The command is run by an operator with access to the database; it reads as the auditor named by --user
(default: the login name), without clearance unless --cleared is given, so classified content shows its
label as it would through the API.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import replace
from datetime import datetime
from typing import Any

from application.audit.history import AGGREGATE_KINDS, MAX_PAGE, EventFilter
from domain.access import Actor, Role
from domain.shared import DomainError, check_window, parse_instant
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings
from interfaces.cli.options import DatabaseOption


def register(audit: DatabaseOption) -> None:
    """Add this module's subcommands to `valmius audit`; each sets `handler` to a function(settings, args)."""
    overview = audit.add_parser(
        "overview",
        help="the situation overview as it was known at a moment (from the events recorded by then)",
        description="The situation overview as leadership would have seen it at --as-of, computed from the "
        "event log (snapshots kept by the follower make this fast; --full-replay ignores them).",
    )
    overview.add_argument("--as-of", required=True, help="the moment, with an explicit offset: 2025-10-26T12:00+02:00")
    overview.add_argument("--json", action="store_true", help="print the overview as JSON")
    overview.add_argument("--full-replay", action="store_true", help="recompute from the first event")
    _reader_options(overview)
    overview.set_defaults(handler=show_overview)

    events = audit.add_parser(
        "events", help="the event log, filtered", description="The global event log in log order, filtered."
    )
    events.add_argument("--crisis", action="append", default=[], help="a crisis id (repeatable)")
    events.add_argument("--unit", action="append", default=[], help="a unit (repeatable)")
    events.add_argument("--liaison", action="append", default=[], help="a police liaison id (repeatable)")
    events.add_argument("--kind", action="append", default=[], choices=list(AGGREGATE_KINDS), help="aggregate kind")
    events.add_argument("--type", action="append", default=[], help="event type, e.g. SeverityChanged (repeatable)")
    events.add_argument("--actor", help="the user who recorded them")
    events.add_argument("--from", dest="recorded_from", help="recorded at or after (explicit offset)")
    events.add_argument("--to", dest="recorded_to", help="recorded at or before (explicit offset)")
    events.add_argument("--after", type=int, default=0, help="start after this log position")
    events.add_argument("--limit", type=int, default=0, help="stop after this many events (default: all)")
    events.add_argument("--json", action="store_true", help="JSON Lines, one event per line")
    _reader_options(events)
    events.set_defaults(handler=show_events)


def _reader_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default=None, help="the auditor you read as (default: your login name)")
    parser.add_argument("--cleared", action="store_true", help="show SECRET and RECEIVED content")


def _moment(services: Services, text: str | None, name: str) -> datetime | None:
    """A time asked about: with an explicit offset, within the query window of the clock (as over HTTP)."""
    if not text:
        return None
    app = services.coordination
    return check_window(parse_instant(text, name), app.now(), app.policy.time.query_window, name)


def _auditor(args: argparse.Namespace) -> Actor:
    return Actor(args.user or getpass.getuser(), Role.AUDITOR, clearance=args.cleared)


def show_overview(settings: Settings, args: argparse.Namespace) -> int:
    services = open_services(settings)
    try:
        at = _moment(services, args.as_of, "--as-of")
        picture = services.history.get_situation_overview_at(_auditor(args), at, full_replay=args.full_replay)
    except DomainError as error:
        print(f"valmius: {error.message}", file=sys.stderr)
        return 2
    finally:
        services.close()
    if args.json:
        print(json.dumps(picture, ensure_ascii=False, indent=2))
    else:
        print(render_overview(picture))
    return 0


def render_overview(picture: dict[str, Any]) -> str:
    """The overview as lines a person reads."""
    basis = picture["history"]
    source = (
        f"snapshot at log position {basis['snapshot_position']} + {basis['events_applied']} events"
        if basis["snapshot_position"]
        else f"{basis['events_applied']} events replayed"
    )
    lines = [
        f"Situation overview as known at {basis['as_of']}",
        f"  (computed from the event log up to position {basis['log_position']}: {source})",
        "",
        f"Active crises: {len(picture['active_crises'])}",
    ]
    for c in picture["active_crises"]:
        report = c["latest_situation_report"]
        sitrep = (
            f"sitrep #{report['number']} next due {report['next_due_at']}{' OVERDUE' if report['overdue'] else ''}"
            if report
            else "no sitrep"
        )
        lines.append(
            f"  {c['crisis_id']}  severity {c['severity']}  {c['status']}  {c['title']}"
            f"{'  lead ' + c['lead'] if c['lead'] else ''}"
        )
        lines.append(
            f"      actions open {c['open_actions']}, overdue {c['overdue_actions']}; {sitrep}; "
            f"decisions {c['decisions']} ({len(c['decisions_review_due'])} due for review)"
        )
    lines.append(f"Open actions: {len(picture['open_actions'])}, overdue: {len(picture['overdue_actions'])}")
    for a in picture["overdue_actions"]:
        lines.append(f"  OVERDUE {a['action_id']} ({a['crisis_id']}) {a['unit']} due {a['due_at']}")
    lines.append("Readiness: " + ", ".join(f"{unit} {level}" for unit, level in picture["readiness"].items()))
    police = picture["police_requests"]
    lines.append(
        f"Police requests open: {len(police['open'])}, unanswered beyond {police['threshold_minutes']} min: "
        f"{len(police['unanswered_beyond_threshold'])}"
    )
    for r in police["unanswered_beyond_threshold"]:
        lines.append(f"  {r['request_id']} {r['direction']} {r['request_type']} age {r['age_minutes']} min")
    lines.append(f"Active continuity plans: {len(picture['active_plans'])}")
    for p in picture["active_plans"]:
        beyond = "  BEYOND MTPD" if p["beyond_mtpd"] else ""
        lines.append(f"  {p['plan_id']} ({p['unit']}) active {p['active_minutes']} min of MTPD {p['mtpd_minutes']}{beyond}")
    lines.append(f"Decisions: {picture['decisions']}, due for review: {len(picture['decisions_review_due'])}")
    return "\n".join(lines)


def show_events(settings: Settings, args: argparse.Namespace) -> int:
    services = open_services(settings)
    try:
        wanted = EventFilter(
            after=args.after,
            limit=MAX_PAGE,
            crisis_ids=tuple(args.crisis),
            units=tuple(args.unit),
            liaison_ids=tuple(args.liaison),
            aggregate_kinds=tuple(args.kind),
            event_types=tuple(args.type),
            actor=args.actor,
            recorded_from=_moment(services, args.recorded_from, "--from"),
            recorded_to=_moment(services, args.recorded_to, "--to"),
        )
        shown = 0
        while True:
            page = services.history.list_events(_auditor(args), wanted)
            for item in page["items"]:
                if args.limit and shown >= args.limit:
                    return 0
                print(json.dumps(item, ensure_ascii=False) if args.json else _line(item))
                shown += 1
            if page["end_of_log"]:
                return 0
            wanted = replace(wanted, after=page["next_after"])
    except DomainError as error:
        print(f"valmius: {error.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # | head
        return 0
    finally:
        services.close()


def _line(item: dict[str, Any]) -> str:
    data = ", ".join(f"{k}={v}" for k, v in item["data"].items() if v not in (None, [], {}))
    return (
        f"{item['position']:>8}  {item['recorded_at']}  {item['actor'] or '-':<14} {item['aggregate_id']:<16}"
        f" v{item['version']:<4} {item['type']:<36} {data}"
    )
