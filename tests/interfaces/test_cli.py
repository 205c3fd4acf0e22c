"""The `valmius` command an admin uses: tokens issued, listed and revoked against the same store the service
uses, found wherever the command runs, never a new empty one made by mistake; and the service telling, once, on
a fresh store, how to get the first admin and duty officer tokens."""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from infrastructure.settings import Settings
from interfaces.cli import store as stores
from interfaces.cli.main import build_parser, main
from interfaces.http.app import create_app

ROOT = Path(__file__).resolve().parents[2]
FIRST_START = "token issue --user <your-name> --role admin"

# What each `valmius` command needs on its command line to run (tests run every command the parser knows, and
# fail for one missing here).
ARGUMENTS = {
    "init": [], "serve": [], "project": [], "rebuild": [], "docs": [],
    "token issue": ["--user", "DO-1", "--role", "duty_officer"], "token revoke": ["--user", "DO-1"], "token list": [],
    "audit verify": [], "audit checkpoint": [], "audit keygen": [],
    "audit overview": ["--as-of", "2025-10-25T21:00+03:00"], "audit events": [], "audit export": ["C-1"],
    "alerts take": ["alert.xml"], "alerts follow": ["--feed", "alerts", "--once"], "remind": ["--once"],
}


def commands(parser: argparse.ArgumentParser | None = None, path: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Every `valmius` command (`token issue`, …) with the arguments it needs."""
    parser = parser or build_parser()
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        yield [*path, *ARGUMENTS[" ".join(path)]]
        return
    for name, subparser in subcommands[0].choices.items():
        yield from commands(subparser, (*path, name))


def needs(argv: list[str], what: str) -> bool:
    """Whether the command needs its settings (`needs_settings`) or an existing store (`needs_store`)."""
    return getattr(build_parser().parse_args(argv), what)


def name_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Name a SQLite store by VALMIUS_DATABASE_URL, as an operator would configure it (and no .env of the
    developer's checkout: the test runs elsewhere)."""
    path = tmp_path / "valmius.sqlite3"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VALMIUS_DATABASE_URL", f"sqlite:///{path}")
    return path


@pytest.fixture
def missing_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where VALMIUS_DATABASE_URL names a store nobody created yet."""
    return name_store(tmp_path, monkeypatch)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Path:
    """A fresh SQLite store named by VALMIUS_DATABASE_URL, created with `valmius init` as an operator would."""
    path = name_store(tmp_path, monkeypatch)
    assert valmius(capsys, "init")[0] == 0
    return path


@pytest.fixture
def service(store: Path, clock) -> Iterator[TestClient]:  # noqa: ANN001
    """The HTTP service running on that store, with its own services, as `valmius serve` would run it."""
    settings = Settings(environment="test", database_url=f"sqlite:///{store}", _env_file=None)
    with TestClient(create_app(settings, clock)) as client:
        yield client


def valmius(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    """Run `valmius …`; its exit code, what it printed, and what it told on stderr."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def issue(capsys: pytest.CaptureFixture, *argv: str) -> str:
    code, out, err = valmius(capsys, "token", "issue", *argv)
    assert code == 0, err
    return out.strip()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_an_issued_token_acts_as_its_user_and_is_stored_only_as_a_hash(store, service, capsys):
    # When the admin issues a token for duty officer DO-1
    token = issue(capsys, "--user", "DO-1", "--role", "duty_officer")
    # Then the printed token declares a crisis in DO-1's name
    assert token.startswith("vlm_")
    declared = service.post("/crises", headers=bearer(token), json={
        "crisis_id": "C-S1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2})
    assert declared.status_code == 201, declared.text
    assert service.get("/crises/C-S1", headers=bearer(token)).json()["declared_by"] == "DO-1"
    # and the store holds the token's hash, never the token itself
    stored = b"".join(p.read_bytes() for p in store.parent.glob(f"{store.name}*"))
    assert hashlib.sha256(token.encode()).hexdigest().encode() in stored
    assert token.encode() not in stored


def test_a_revoked_token_is_refused_by_the_running_service(store, service, capsys):
    # Given the service accepts DO-1's and DO-2's tokens
    first = issue(capsys, "--user", "DO-1", "--role", "duty_officer")
    second = issue(capsys, "--user", "DO-2", "--role", "duty_officer")
    assert service.get("/division-preparedness/SOTEPE", headers=bearer(first)).status_code == 200
    # When the admin revokes DO-1's tokens, and DO-2's one token by its id, while the service runs
    code, out, _ = valmius(capsys, "token", "revoke", "--user", "DO-1")
    assert (code, out.strip()) == (0, "revoked 1 token(s)")
    token_id = token_ids(capsys)["DO-2"]
    assert valmius(capsys, "token", "revoke", "--id", token_id)[0] == 0
    # Then both are refused as unauthenticated
    for token in (first, second):
        refused = service.get("/division-preparedness/SOTEPE", headers=bearer(token))
        assert (refused.status_code, refused.json()["code"]) == (401, "UNAUTHENTICATED")
    # and revoking again finds nothing to revoke
    assert valmius(capsys, "token", "revoke", "--user", "DO-1")[0] == 1


def test_the_token_list_shows_who_holds_what_but_never_a_token(store, capsys):
    token = issue(capsys, "--user", "DIV-SOTEPE", "--role", "division_contact", "--unit", "SOTEPE", "--clearance")
    issue(capsys, "--user", "LR-1", "--role", "leadership")
    valmius(capsys, "token", "revoke", "--user", "LR-1")
    # When the admin lists the tokens
    code, out, _ = valmius(capsys, "token", "list")
    # Then each line names the user, role, unit, clearance and state, and no token appears
    assert code == 0 and token not in out and "vlm_" not in out
    lines = {line.split()[1]: line for line in out.strip().splitlines()}
    assert re.search(r"division_contact\s+SOTEPE\s+cleared .* active$", lines["DIV-SOTEPE"])
    assert re.search(r"leadership\s+-\s+- .* revoked ", lines["LR-1"])


def test_a_division_contacts_token_names_a_city_unit(store, capsys):
    # When the admin issues a division contact's token without a unit, or for an external partner
    without = valmius(capsys, "token", "issue", "--user", "DIV-X", "--role", "division_contact")
    partner = valmius(capsys, "token", "issue", "--user", "DIV-X", "--role", "division_contact", "--unit", "HSY")
    # Then both are refused, saying why, and no token is issued
    assert without[0] == 2 and "names its unit" in without[2]
    assert partner[0] == 2 and "not a city unit" in partner[2]
    assert "DIV-X" not in valmius(capsys, "token", "list")[1]


def test_help_explains_the_commands(capsys):
    # When an operator asks for help
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    out = capsys.readouterr().out
    # Then it exits cleanly, naming the commands and where the configuration comes from
    assert done.value.code == 0
    assert all(word in out for word in ("serve", "token", "VALMIUS_DATABASE_URL"))
    with pytest.raises(SystemExit):
        main(["token", "issue", "--help"])
    issue_help = capsys.readouterr().out
    assert all(option in issue_help for option in ("--user", "--role", "--unit", "--clearance"))


def test_a_fresh_store_tells_once_how_to_get_the_first_admin_token(store, clock, caplog):  # noqa: ANN001
    settings = Settings(environment="test", database_url=f"sqlite:///{store}", _env_file=None)
    # When the service starts on a fresh store, and then starts again
    with caplog.at_level(logging.WARNING, logger="valmius"):
        with TestClient(create_app(settings, clock)):
            pass
        first = [r.getMessage() for r in caplog.records if FIRST_START in r.getMessage()]
        caplog.clear()
        with TestClient(create_app(settings, clock)):
            pass
        second = [r.getMessage() for r in caplog.records if FIRST_START in r.getMessage()]
    # Then only the first start tells how to issue the first admin token, and a duty officer's to try the API with
    assert len(first) == 1 and "--role admin" in first[0]
    assert "token issue --user duty-officer-1 --role duty_officer" in first[0]
    assert second == []


def test_valmius_init_creates_the_store_and_every_command_then_finds_it(missing_store, capsys):
    # When the operator creates the store, and runs `valmius init` again
    code, out, _ = valmius(capsys, "init")
    again = valmius(capsys, "init")
    # Then it is created once, and named
    assert code == 0 and f"SQLite file {missing_store} is created" in out
    assert again[0] == 0 and "exists already" in again[1]
    assert valmius(capsys, "token", "list")[0] == 0


@pytest.mark.parametrize("argv", [argv for argv in commands() if needs(argv, "needs_store")], ids=" ".join)
def test_every_command_but_init_stops_at_a_missing_store_naming_it_and_creates_nothing(missing_store, capsys, argv):
    # Given VALMIUS_DATABASE_URL names a store nobody created
    # When the command runs
    code, out, err = valmius(capsys, *argv)
    # Then it stops with one line naming the store it looked for and how to create it; no store appears
    assert code == 2 and out == ""
    assert err.strip() == (
        f"valmius: no store in SQLite file {missing_store} (VALMIUS_DATABASE_URL or --database); "
        "`valmius init` creates it"
    )
    assert list(missing_store.parent.glob(f"{missing_store.name}*")) == []


def test_serve_creates_only_the_default_embedded_store_on_its_first_start(missing_store, monkeypatch):
    # Given the default store (what `make run` uses) is not there yet, nor another one named by the setting
    default = Settings(_env_file=None, database_url=f"sqlite:///{missing_store}")
    monkeypatch.setattr(stores, "DEFAULT_DATABASE_URL", default.database_url)
    other = Settings(_env_file=None, database_url=f"sqlite:///{missing_store.parent / 'other.sqlite3'}")
    # Then `serve` goes on to create the default one only, and no other command creates it
    assert stores.stop_line(default, "serve") is None
    assert "no store in" in stores.stop_line(other, "serve")
    assert all("no store in" in stores.stop_line(default, command) for command in ("project", "token", "rebuild"))


def test_the_default_store_and_env_file_are_in_the_project_folder_wherever_a_command_runs(tmp_path, monkeypatch):
    # When a command runs from another folder, with the default settings or a relative SQLite path
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VALMIUS_DATABASE_URL", raising=False)
    default = Settings(_env_file=None)
    relative = Settings(_env_file=None, database_url="sqlite:///var/other.sqlite3")
    # Then they name files in the project folder, as `make run` there does, and the .env read is the project's
    assert default.database_url == f"sqlite:///{ROOT / 'var' / 'valmius.sqlite3'}"
    assert relative.database_url == f"sqlite:///{ROOT / 'var' / 'other.sqlite3'}"
    assert Settings.model_config["env_file"] == ROOT / ".env"


def test_database_names_the_store_for_one_command_before_or_after_its_name(tmp_path, monkeypatch, capsys):
    # Given VALMIUS_DATABASE_URL names a store, and --database another one
    monkeypatch.setenv("VALMIUS_DATABASE_URL", f"sqlite:///{tmp_path / 'configured.sqlite3'}")
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    # When the other is created and a token issued there, with --database before and after the command's name
    assert valmius(capsys, "--database", other, "init")[0] == 0
    issue(capsys, "--user", "DO-1", "--role", "duty_officer", "--database", other)
    # Then the token is in the other store, and the configured one was never created
    assert "DO-1" in valmius(capsys, "token", "list", "--database", other)[1]
    assert "DO-1" in valmius(capsys, "--database", other, "token", "list")[1]
    assert not (tmp_path / "configured.sqlite3").exists()


def test_an_admin_token_reads_what_the_readme_says_an_admin_reads(store, service, capsys):
    # Given the first admin token, issued as the first start says
    admin = issue(capsys, "--user", "it-admin", "--role", "admin")
    # Then it reads the metrics and the store's details, and no crisis content
    assert service.get("/metrics", headers=bearer(admin)).status_code == 200
    assert "last_event" in service.get("/health", headers=bearer(admin)).json()
    refused = service.get("/situation-overview", headers=bearer(admin))
    assert refused.status_code == 403 and "admins manage users and tokens only" in refused.json()["detail"]


def token_ids(capsys: pytest.CaptureFixture) -> dict[str, str]:
    """The token id of each user, as `valmius token list` shows it."""
    _, out, _ = valmius(capsys, "token", "list")
    return {line.split()[1]: line.split()[0] for line in out.strip().splitlines()}
