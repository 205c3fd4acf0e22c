"""A store run as production runs it, for the operator's tests (test_least_privilege, test_restore): the
`valmius` command line in processes of its own, `valmius serve` and `valmius project` beside each other."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.live import ROOT, free_port, valmius_env, wait_until


def valmius(url: str, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`valmius ARGS` on the store at `url`, in production, with more VALMIUS_ settings if given."""
    env = {**valmius_env(url, "production"), **{f"VALMIUS_{k.upper()}": v for k, v in settings.items()}}
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli.main", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )


def issue_token(url: str, user: str, role: str) -> str:
    issued = valmius(url, "token", "issue", "--user", user, "--role", role, "--clearance")
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


@contextmanager
def running(url: str, logs: Path, **settings: str) -> Iterator[httpx.Client]:
    """`valmius serve` and `valmius project` on the store at `url` until the block ends: an HTTP client of the
    service, once it answers."""
    env = {**valmius_env(url, "production"), **{f"VALMIUS_{k.upper()}": v for k, v in settings.items()}}
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, args in (("serve", ["serve", "--port", str(port)]), ("project", ["project"])):
            with (logs / f"{name}.log").open("ab") as out:
                processes.append(subprocess.Popen(
                    [sys.executable, "-m", "interfaces.cli.main", *args], cwd=ROOT, env=env, stdout=out,
                    stderr=subprocess.STDOUT,
                ))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            wait_until(lambda: _answers(http) or any(p.poll() is not None for p in processes), 90, "the service")
            assert all(p.poll() is None for p in processes), (logs / "serve.log").read_text()
            yield http
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(http: httpx.Client) -> bool:
    try:
        return http.get("/health/live").status_code == 200
    except httpx.TransportError:
        return False


def declare(http: httpx.Client, token: str, crisis_id: str) -> int:
    """Declare a crisis through the API; the log position of its event."""
    answer = http.post(
        "/crises", headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
        json={"crisis_id": crisis_id, "title": f"Storm {crisis_id}", "category": "SEVERE_WEATHER", "severity": 2},
    )
    assert answer.status_code == 201, answer.text
    return int(answer.headers["Valmius-Position"])


def overview_at(http: httpx.Client, token: str, position: int) -> set[str]:
    """The crises of the situation overview once its read model (the projection worker's) reached `position`."""
    answer = http.get(
        "/situation-overview", params={"min_position": position, "wait": 10},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 200, answer.text
    assert int(answer.headers["Valmius-Position"]) >= position, answer.headers
    return {crisis["crisis_id"] for crisis in answer.json()["active_crises"]}
