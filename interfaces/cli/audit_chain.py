"""`valmius audit …` subcommands: placeholder, filled in by the audit issue."""

from __future__ import annotations

import argparse


def register(audit: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to `valmius audit`; each sets `handler` to a function(settings, args)."""
