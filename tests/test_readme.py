"""The README's first hour, run for real: its "First steps" shell blocks, as they are written, against a
`valmius serve` process on a SQLite store of the test's own (only the port differs), so the README cannot drift
from what the service does."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx

from tests.live import ROOT, free_port, spawn, valmius_env, wait_until

README = ROOT / "README.md"


def first_steps() -> str:
    """The shell blocks of the README's "First steps" section, in order, as one script."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## First steps", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert len(blocks) >= 2, "the README's first steps lost their shell blocks"
    return "\n".join(blocks)


def test_the_readmes_first_steps_run_against_a_started_service(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'valmius.sqlite3'}"
    env = valmius_env(database_url, "development")
    # Given a store made with `valmius init` and the service started on it (`make run` on a store of our own)
    created = subprocess.run([str(ROOT / ".venv" / "bin" / "valmius"), "init"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    # (named by --database: the environment it inherits names a store that does not exist, which would stop it)
    service = spawn(["-m", "interfaces.cli.main", "serve", "--port", str(port), "--database", database_url],
                    f"sqlite:///{tmp_path / 'missing.sqlite3'}", log, "development")
    try:
        wait_until(lambda: up(port) or service.poll() is not None, 60, "the service to start")
        assert service.poll() is None, log.read_text()
        # When the README's first steps run, as written, from the project folder
        script = first_steps().replace("localhost:8000", f"127.0.0.1:{port}")
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        # Then every step succeeds (each curl fails on a refusal), and the crisis is declared and logged to
        assert ran.returncode == 0, ran.stdout + ran.stderr
        answers = documents(ran.stdout)
        assert answers[0] == {"id": "C-1", "version": 1}
        crisis = next(answer for answer in answers if answer.get("crisis_id") == "C-1" and "title" in answer)
        assert crisis["title"] == "Storm: power outages in eastern Helsinki"
        # and the service's first start told the very command the README uses for the duty officer's token
        token_command = re.search(r"valmius (token issue [^)]*?)\)", script).group(1).strip()
        assert token_command in log.read_text()
    finally:
        service.terminate()
        service.wait(timeout=30)


def documents(output: str) -> list[dict]:
    """The JSON answers curl printed one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := output.find("{", at)) != -1:
        document, at = decoder.raw_decode(output, at)
        found.append(document)
    return found


def up(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
