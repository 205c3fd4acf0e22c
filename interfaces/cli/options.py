"""What every `valmius` command takes: `--database`, and what it needs to run."""

from __future__ import annotations

import argparse

DATABASE_HELP = (
    "the store to work on, as VALMIUS_DATABASE_URL (which it overrides): sqlite:///path (relative to the project "
    "folder), postgresql://user:password@host:5432/db or memory://"
)


class DatabaseOption:
    """Adds `--database` to every command (before or after its name), and what each command needs: its
    settings, and a store that exists (`needs_store`: all but `init`, `docs` and `audit keygen`)."""

    def __init__(self, subparsers: argparse._SubParsersAction) -> None:
        self.subparsers = subparsers

    def add_parser(self, name: str, *, needs_store: bool = True, needs_settings: bool = True,
                   **kwargs: object) -> argparse.ArgumentParser:
        parser = self.subparsers.add_parser(name, **kwargs)
        parser.add_argument("--database", metavar="URL", default=argparse.SUPPRESS, help=DATABASE_HELP)
        parser.set_defaults(needs_store=needs_store, needs_settings=needs_settings)
        return parser
