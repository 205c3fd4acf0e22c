"""A bad setting is answered with one line naming its variable, never a traceback: for every setting there is,
under every `valmius` command (serve and project included, as real processes too)."""

from __future__ import annotations

import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest

from infrastructure.settings import Settings
from tests.interfaces.test_cli import ROOT, commands, needs, valmius
from tests.live import valmius_env

# Settings any string would pass by type: what is wrong for each of them.
INVALID_TEXT = {
    "database_url": "mysql://db.example.fi/valmius",
    "host": "",
    "signing_key": "not-hex",
    "oidc_issuer": "login.example.fi",
    "oidc_audience": "",
    "oidc_groups_claim": "",
    "oidc_user_claim": "",
    "oidc_client_id": "",
    "sitrep_rhythm": '{"3": "soon"}',
    "cap_sender": "city of helsinki, preparedness",  # CAP refuses spaces and commas in a sender
    "reminder_ladder": '{"before": "soon"}',
    "reminder_link_base": "valmius.hel.fi",  # no scheme: no link a notice can carry
    "smtp_url": "ftp://mail.hel.fi",
    "smtp_from": "a",
    "webhook_secret": "short",
}
INVALID_BY_TYPE = {
    int: "twelve", float: "soon", bool: "maybe", Path: "/nonexistent/units.json",
    list: '[{"group": "valmius-duty-officers", "role": "mayor"}]',
}


def invalid_values(name: str) -> list[str]:
    """What is wrong for setting `name`, derived from its type (a setting of a type not known here fails)."""
    if name in INVALID_TEXT:
        return [INVALID_TEXT[name]]
    annotation = Settings.model_fields[name].annotation
    kinds = [a for a in typing.get_args(annotation) if a is not type(None)] \
        if isinstance(annotation, types.UnionType) else [annotation]
    kind = typing.get_origin(kinds[0]) or kinds[0]
    if kind is typing.Literal:
        return ["nonsense"]
    if kind is list:
        return [INVALID_BY_TYPE[list], "[not json"]
    return [INVALID_BY_TYPE[kind]]


SETTINGS_COMMANDS = [argv for argv in commands() if needs(argv, "needs_settings")]


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_a_bad_setting_stops_every_command_with_one_line_naming_its_variable(name, tmp_path, monkeypatch, capsys):
    variable = f"VALMIUS_{name.upper()}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VALMIUS_DATABASE_URL", f"sqlite:///{tmp_path / 'valmius.sqlite3'}")
    for value in invalid_values(name):
        # Given the setting holds a value that is wrong for it
        monkeypatch.setenv(variable, value)
        for argv in SETTINGS_COMMANDS:
            # When any command runs
            code, out, err = valmius(capsys, *argv)
            # Then it stops with one line naming the variable, and nothing is created
            assert (code, out) == (2, ""), (argv, value, out, err)
            assert len(err.strip().splitlines()) == 1 and err.startswith(f"valmius: {variable}"), (argv, value, err)
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["serve", "project"])
def test_the_service_and_the_worker_processes_stop_with_that_one_line(command, tmp_path):
    env = {**valmius_env(f"sqlite:///{tmp_path / 'valmius.sqlite3'}"), "VALMIUS_PORT": "eighty"}
    done = subprocess.run([sys.executable, "-m", "interfaces.cli.main", command], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "valmius: VALMIUS_PORT: Input should be a valid integer, unable to parse string as an integer (given 'eighty')"
    ]


def test_a_secret_setting_is_never_echoed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VALMIUS_DATABASE_URL", "mysql://valmius:hunter2@db/valmius")
    monkeypatch.setenv("VALMIUS_SIGNING_KEY", "hunter2")
    code, _, err = valmius(capsys, "token", "list")
    assert code == 2 and "VALMIUS_" in err and "hunter2" not in err
