"""The `valmius` command: run the service, manage tokens.

    valmius init                                    create the store (the first thing to do on a new one)
    valmius serve                                   start the HTTP service (SQLite file by default)
    valmius token issue --user NAME --role ROLE     issue a token (shown once; --expires-in 90d by default)
    valmius token revoke --id ID | --user NAME      revoke tokens
    valmius token list                              list tokens (never the tokens themselves)
    valmius project                                 follow the log into the read models (the worker)
    valmius rebuild [READ_MODEL …]                  rebuild read models from the event log
    valmius docs                                    print docs/reference.md: rule codes, roles, scales
    valmius alerts take FILE… | follow [--feed …]    take in CAP 1.2 alerts from files, or follow CAP feeds
    valmius remind [--once]                         send reminders of deadlines, escalating until acknowledged

Every command works on the store VALMIUS_DATABASE_URL names (the SQLite file var/valmius.sqlite3 in the project
folder by default, wherever the command runs), or the one `--database URL` names; a bad setting or a missing
store stops it with one line (exit 2).
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
from datetime import timedelta

from pydantic import ValidationError
from pydantic_settings import SettingsError

from domain.access import Role
from domain.shared import DomainError
from infrastructure.bootstrap import open_services, open_services_retrying
from infrastructure.logging import logging_config
from infrastructure.settings import Settings, setting_problem
from interfaces.cli import audit_chain, audit_export, audit_history, received_alert, reference, remind, store
from interfaces.cli.options import DATABASE_HELP, DatabaseOption

ROLES = [str(r) for r in Role]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="valmius",
        description="Valmius: crisis and continuity coordination. Configuration comes from VALMIUS_* "
        "environment variables or the project's .env file (VALMIUS_DATABASE_URL: the SQLite file "
        "var/valmius.sqlite3 in the project folder by default, wherever the command runs).",
    )
    parser.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    commands = DatabaseOption(parser.add_subparsers(dest="command", required=True))

    init = commands.add_parser(
        "init", help="create the store VALMIUS_DATABASE_URL (or --database) names; every other command needs it",
        needs_store=False,
    )
    init.add_argument(
        "--runtime-role", metavar="ROLE",
        help="PostgreSQL, run as the store's owner: create only the event store's tables, make them append-only "
        "for every role, and let ROLE (the role serve and project run as) read and append them and create its own "
        "tables (docs/operations.md)",
    )
    serve = commands.add_parser("serve", help="start the HTTP API (OpenAPI docs at /docs)")
    serve.add_argument("--host", help="interface to listen on (default: VALMIUS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: VALMIUS_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (PostgreSQL only; default 1)")

    token = DatabaseOption(commands.add_parser("token", help="issue, revoke and list bearer tokens").add_subparsers(
        dest="token_command", required=True
    ))
    issue = token.add_parser("issue", help="issue a token; it is printed once and stored only as a hash")
    issue.add_argument("--user", required=True, help="the user's name, recorded on every event they cause")
    issue.add_argument("--role", required=True, choices=ROLES)
    issue.add_argument("--unit", help="the unit of a division contact (e.g. SOTEPE)")
    issue.add_argument("--clearance", action="store_true", help="may read SECRET and RECEIVED content")
    issue.add_argument("--issued-by", default="cli", help="who issues it (recorded)")
    issue.add_argument(
        "--expires-in", type=duration, default=timedelta(days=90), metavar="DURATION",
        help="how long it is valid: days, hours or minutes, such as 90d (the default), 12h or 30m",
    )
    revoke = token.add_parser("revoke", help="revoke a token by its id, or all tokens of a user")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="token_id")
    which.add_argument("--user")
    token.add_parser("list", help="list tokens: id, user, role, unit, clearance, issued, expires, revoked")

    commands.add_parser(
        "project",
        help="follow the event log into the read models until stopped (one worker per PostgreSQL store; "
        "survives failures and resumes where it stopped)",
    )
    rebuild = commands.add_parser("rebuild", help="rebuild read models from the event log, with a progress bar")
    rebuild.add_argument("read_models", nargs="*", metavar="READ_MODEL", help="default: all of them")

    audit = DatabaseOption(commands.add_parser(
        "audit", help="for auditors: verify the log, export a crisis, the overview as known at a moment"
    ).add_subparsers(dest="audit_command", required=True))
    for module in (audit_chain, audit_history, audit_export):
        module.register(audit)
    commands.add_parser(
        "docs", help="print the reference of rule codes, roles, permissions and scales (docs/reference.md)",
        needs_store=False, needs_settings=False,
    )
    received_alert.register(commands)
    remind.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.needs_settings:
        return reference.main()
    try:
        settings = Settings(**({"database_url": args.database} if args.database else {}))
    except (ValidationError, SettingsError) as error:
        print(f"valmius: {setting_problem(error)}", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:  # (as basicConfig: a host that set up logging, such as pytest, keeps it)
        logging.config.dictConfig(logging_config(settings.log_format))
    if args.command == "init":
        return store.init_for_runtime_role(settings, args.runtime_role) if args.runtime_role else store.init(settings)
    if args.needs_store and (stop := store.stop_line(settings, args.command)):
        print(stop, file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve_http(settings, args)
    if args.command == "project":
        return run_projection_worker(settings)
    if args.command == "rebuild":
        return rebuild_read_models(settings, args.read_models)
    if args.command in ("audit", "alerts", "remind"):
        return args.handler(settings, args)
    return manage_tokens(settings, args)


def run_projection_worker(settings: Settings) -> int:
    import signal
    import threading

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    services = open_services_retrying(settings, stop)  # waits out a store that is not up yet
    if services is None:
        return 0
    try:
        projections = services.projections
        logging.getLogger("valmius").info(
            "projection worker following the %s store from position %d", settings.store, projections.position()
        )
        projections.follow(stop)
        logging.getLogger("valmius").info("projection worker stopped at position %d", projections.position())
        return 0
    finally:
        services.close()


def rebuild_read_models(settings: Settings, names: list[str]) -> int:
    """Rebuild the named read models (all that may be rebuilt, by default) in one pass over the log. A model that
    fails on an event is reported (position, error) and stops there; the others are rebuilt; the exit is 1."""
    from tqdm import tqdm

    services = open_services(settings)
    try:
        projections = services.projections
        total = services.coordination.recorder.max_notification_id() or 0
        with tqdm(total=total, desc=f"rebuild {', '.join(names) or 'all read models'}", unit="event",
                  file=sys.stderr) as bar:
            try:
                count = projections.rebuild(*names, progress=bar.update)
            except DomainError as error:
                bar.close()
                print(f"valmius: {error.message}", file=sys.stderr)
                return 2
        rebuilt = names or [n for n, m in projections.models.items() if m.rebuildable]
        failures = projections.failures()
        for name in rebuilt:
            failure = failures.get(name)
            if failure is None:
                print(f"{name}: rebuilt over {count} events of the log, at position {projections.position(name)}")
            else:
                print(
                    f"{name}: FAILED on the event at position {failure.position} ({failure.error}); rebuilt up to "
                    f"position {projections.position(name)}, the follower tries it again from there"
                )
        return 1 if any(name in failures for name in rebuilt) else 0
    finally:
        services.close()


def serve_http(settings: Settings, args: argparse.Namespace) -> int:
    import os
    import shutil
    import tempfile

    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    if args.workers > 1 and settings.store != "postgres":
        print("valmius: several workers need PostgreSQL (VALMIUS_DATABASE_URL=postgresql://…)", file=sys.stderr)
        return 2
    print(f"Valmius on http://{host}:{port}  (API docs: http://{host}:{port}/docs; store: {settings.store})")
    # lifespan="on": a start-up that fails stops the process, rather than serving without its store. A store
    # out of reach does not fail it (see interfaces.http.app), so uvicorn's supervisor, which stops every
    # worker when one fails its start-up, only ever sees workers that die, and starts those again.
    # Several workers add up their metrics in a directory of their own (prometheus-client's multiprocess mode).
    shared_metrics = args.workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    os.environ["VALMIUS_DATABASE_URL"] = settings.database_url  # the app reads its settings again: --database too
    if shared_metrics:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="valmius-metrics-")
    try:
        uvicorn.run(
            "interfaces.http.app:create_app", factory=True, host=host, port=port, workers=args.workers,
            log_level="info", timeout_graceful_shutdown=5,  # live dashboards hold SSE streams open
            lifespan="on", log_config=logging_config(settings.log_format),  # applied in every worker
            # The C event loop and HTTP parser (uvicorn[standard]), named rather than found; no access log of
            # uvicorn's: metrics.Observed logs every request, in one line, with its id and time taken.
            loop="uvloop", http="httptools", access_log=False,
            # With --workers, the supervisor pings each worker and replaces one that does not answer in time:
            # 5 s (uvicorn's default) is too short for a worker starting, or busy, on a loaded host (measured:
            # at a load of 20 on 2 cores, `--workers 2` never finished starting, each worker replaced in turn).
            timeout_worker_healthcheck=30,
        )
    finally:
        if shared_metrics:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
    return 0


def duration(text: str) -> timedelta:
    """`90d`, `12h` or `30m`: how long a token is valid."""
    unit = {"d": "days", "h": "hours", "m": "minutes"}.get(text[-1:])
    if unit is None or not text[:-1].isdigit() or int(text[:-1]) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90d, 12h or 30m")
    return timedelta(**{unit: int(text[:-1])})


def manage_tokens(settings: Settings, args: argparse.Namespace) -> int:
    services = open_services(settings)
    try:
        tokens = services.tokens
        if args.token_command == "issue":
            try:
                token, info = tokens.issue(
                    user=args.user, role=args.role, unit=args.unit, clearance=args.clearance,
                    issued_by=args.issued_by, now=services.clock(), expires_in=args.expires_in,
                )
            except DomainError as error:
                print(f"valmius: {error.message}", file=sys.stderr)
                return 2
            print(token)
            print(
                f"(token {info.token_id} for {info.user}, {info.role}"
                f"{', ' + info.unit if info.unit else ''}{', cleared' if info.clearance else ''}; "
                f"expires {info.expires_at}; shown only now: keep it safe)",
                file=sys.stderr,
            )
            return 0
        if args.token_command == "revoke":
            count = tokens.revoke(token_id=args.token_id, user=args.user, now=services.clock())
            print(f"revoked {count} token(s)")
            return 0 if count else 1
        for info in tokens.list():
            state = f"revoked {info.revoked_at}" if info.revoked_at else "active"
            print(
                f"{info.token_id}  {info.user:<20} {info.role:<22} {info.unit or '-':<14} "
                f"{'cleared' if info.clearance else '-':<8} issued {info.issued_at}  "
                f"expires {info.expires_at or 'never'}  {state}"
            )
        return 0
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main())
