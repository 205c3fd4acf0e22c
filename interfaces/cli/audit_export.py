"""`valmius audit export CRISIS`: the complete record of a crisis for an inquiry, as a ZIP archive.

    valmius audit export C-S1 [--out FILE] [--user NAME] [--clearance]

Reads the event log directly (with a progress bar over the scan), so it works while the service is down.
Whoever runs it has the database: they act as an auditor named by --user (the operating-system user by
default), and --clearance includes SECRET and RECEIVED content, which is then kept as a disclosure.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from pathlib import Path

from application.audit.export import export_crisis
from domain.access import Actor, Role
from domain.shared import DomainError
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings
from interfaces.cli.options import DatabaseOption
from interfaces.web import report


def register(audit: DatabaseOption) -> None:
    """Add this module's subcommands to `valmius audit`; each sets `handler` to a function(settings, args)."""
    export = audit.add_parser(
        "export",
        help="export the complete record of a crisis for an inquiry: JSON Lines, an HTML report and a manifest "
        "with digests, in one ZIP archive",
    )
    export.add_argument("crisis_id", metavar="CRISIS", help="the crisis, e.g. C-S1")
    export.add_argument("--out", type=Path, help="the archive to write (default: valmius-CRISIS-TIME.zip here)")
    export.add_argument("--user", default=_os_user(), help="who asks: in the manifest, and kept if cleared "
                        "(default: the operating-system user)")
    export.add_argument("--clearance", action="store_true",
                        help="include SECRET and RECEIVED content (kept as a disclosure); redacted otherwise")
    export.set_defaults(handler=run_export)


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    command = f"valmius audit export {args.crisis_id}" + (" --clearance" if args.clearance else "")
    actor = Actor(args.user, Role.AUDITOR, clearance=args.clearance)
    directory = (args.out.parent if args.out else Path.cwd()).resolve()
    services = open_services(settings)
    try:
        with tqdm(desc=f"scan for {args.crisis_id}", unit="event", file=sys.stderr) as bar:

            def progress(scanned: int, total: int) -> None:
                if bar.total != total:
                    bar.total = total
                    bar.refresh()
                bar.update(scanned)

            with tempfile.NamedTemporaryFile(dir=directory, suffix=".part", delete=False) as part:
                try:
                    export = export_crisis(
                        services.coordination, services.refusals, services.scratch_stores, actor, args.crisis_id,
                        part, via=command, render_report=report.render, progress=progress,
                    )
                except BaseException:
                    part.close()
                    os.unlink(part.name)
                    raise
        services.disclosures.record(actor, command, export.disclosed)
        target = args.out or directory / export.filename
        os.replace(part.name, target)
    except DomainError as error:
        print(f"valmius: {error.message}", file=sys.stderr)
        return 2
    finally:
        services.close()
    manifest = export.manifest
    print(f"{target}")
    print(f"  crisis {manifest['crisis_id']}, log positions 1–{manifest['log_position']}, exported "
          f"{manifest['exported_at']} for {actor.user} ({'cleared' if actor.clearance else 'redacted'})")
    for entry in manifest["files"]:
        print(f"  {entry['name']:<24} {entry['records']:>7} records  sha256 {entry['sha256']}")
    print(f"  manifest.json sha256 {export.manifest_sha256}")
    return 0


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "cli"
