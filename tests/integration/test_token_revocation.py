"""The service keeps looked-up tokens in memory (no database round trip per request for the token), and still
honours a revocation made anywhere, at once: by itself, or by `valmius token revoke` in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.live import LiveServer

pytestmark = pytest.mark.postgres


def wait_until(condition, seconds: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_token_revoked_by_the_cli_in_another_process_is_refused_at_once(live_server: LiveServer) -> None:
    tokens = live_server.services.tokens
    token = live_server.token("DO-9", "duty_officer")
    with httpx.Client(base_url=live_server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert wait_until(lambda: tokens._listener is not None and tokens._listener.listening)
        assert client.get("/division-preparedness/KYMP").status_code == 200
        assert tokens.cached(token) is not None  # kept: the next request reads no token from the store

        # When an admin revokes DO-9's tokens with the CLI, in a process of its own
        env = {**os.environ, "VALMIUS_DATABASE_URL": live_server.settings.database_url}
        revoked = subprocess.run(
            [sys.executable, "-m", "interfaces.cli.main", "token", "revoke", "--user", "DO-9"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert revoked.returncode == 0, revoked.stderr

        # Then the service forgets it (the notification arrives with the commit) and refuses it
        assert wait_until(lambda: tokens.cached(token) is None, seconds=2)
        response = client.get("/division-preparedness/KYMP")
        assert response.status_code == 401
        assert response.json()["code"] == "UNAUTHENTICATED"


def test_a_token_revoked_in_the_service_process_is_refused_on_the_next_request(live_server: LiveServer) -> None:
    tokens = live_server.services.tokens
    token = live_server.token("DO-8", "duty_officer")
    with httpx.Client(base_url=live_server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        assert wait_until(lambda: tokens._listener is not None and tokens._listener.listening)
        assert client.get("/division-preparedness/KYMP").status_code == 200
        assert tokens.revoke(user="DO-8", now=live_server.services.coordination.now()) == 1
        assert client.get("/division-preparedness/KYMP").status_code == 401


def test_tokens_are_kept_only_while_revocations_can_be_heard(live_server: LiveServer) -> None:
    tokens = live_server.services.tokens
    token = live_server.token("DO-7", "duty_officer")
    assert wait_until(lambda: tokens._listener is not None and tokens._listener.listening)
    assert tokens.authenticate(token) is not None
    assert tokens.cached(token) is not None
    tokens.stop_following_revocations()  # as when the listening connection is lost
    assert tokens.cached(token) is None
    assert tokens.authenticate(token) is not None  # read from the store, and not kept
    assert tokens.cached(token) is None
