"""The `valmius` command an admin uses: tokens issued, listed and revoked against the same store the service
uses; and the service telling, once, on a fresh store, how to get the first admin token."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from infrastructure.settings import Settings
from interfaces.cli.main import main
from interfaces.http.app import create_app

FIRST_START = "valmius token issue --user <your-name> --role admin"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SQLite store named by VALMIUS_DATABASE_URL, as an operator would configure it."""
    path = tmp_path / "valmius.sqlite3"
    monkeypatch.chdir(tmp_path)  # no .env of the developer's checkout
    monkeypatch.setenv("VALMIUS_DATABASE_URL", f"sqlite:///{path}")
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
    # Then only the first start tells how to issue the first admin token
    assert len(first) == 1 and "--role admin" in first[0]
    assert second == []


def token_ids(capsys: pytest.CaptureFixture) -> dict[str, str]:
    """The token id of each user, as `valmius token list` shows it."""
    _, out, _ = valmius(capsys, "token", "list")
    return {line.split()[1]: line.split()[0] for line in out.strip().splitlines()}
