"""Processes come back by themselves: `valmius serve` and `valmius project` through PostgreSQL outages, killed
workers and a killed projection worker, under a write load with Idempotency-Keys.

Every test here runs its own throwaway PostgreSQL cluster (initdb and pg_ctl of /usr/lib/postgresql/*/bin, as
the postgres OS user when run as root) on a free port, stops it with `pg_ctl stop -m immediate` as a crash
would, and removes it afterwards. The machine's main server is never touched.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from fastapi.testclient import TestClient

from application.backoff import RETRY_CAP_SECONDS, retry_delay
from domain.access import Actor, Role
from infrastructure.bootstrap import open_services
from infrastructure.persistence import harden_pool, store_unavailable
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.integration.test_projection_worker import VIEWS, Worker, read_model_rows
from tests.live import ROOT, free_port, spawn, valmius_env, wait_until

DO = Actor("DO-1", Role.DUTY_OFFICER)
BACK_WITHIN_SECONDS = 5.0  # the promise: serving again within 5 s of the store being back
LOAD_PER_PHASE = 60  # commands of a phase acknowledged before the next fault: the load goes on through each


class Cluster:
    """A PostgreSQL cluster of the test's own on a free port, in a temporary directory removed afterwards."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:  # fail, never skip
            pytest.fail("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin", pytrace=False)
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="valmius-faults-"))
        self.data = self.dir / "data"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bin / tool), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", options, "-w", "start")

    def crash(self) -> None:
        """Stop as a crash would: no checkpoint, every connection cut (the server recovers on its next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run([*self.as_owner, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                            "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    made = Cluster()
    try:
        made.start()
        yield made
    finally:
        made.remove()


def valmius(database_url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "interfaces.cli.main", *args], cwd=ROOT,
                          env=valmius_env(database_url, "production"), capture_output=True, text=True, timeout=timeout)


def issue_token(database_url: str, role: str = "duty_officer") -> str:
    assert valmius(database_url, "init").returncode == 0  # the token commands need a store: made as an operator does
    issued = valmius(database_url, "token", "issue", "--user", f"{role}-1", "--role", role)
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip().splitlines()[0]


def store_head(database_url: str) -> tuple[int, int]:
    """(the last stored notification, the lowest position of the five read models), read from the store."""
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        head = conn.execute("SELECT coalesce(max(notification_id), 0) FROM valmius_events").fetchone()[0]
        rows = conn.execute("SELECT view, position FROM valmius_tracking WHERE view = ANY(%s)", (list(VIEWS),))
        positions = dict(rows.fetchall())
    return head, min(positions.get(view, 0) for view in VIEWS)


def caught_up_to(database_url: str, position: int) -> bool:
    try:
        return store_head(database_url)[1] >= position
    except psycopg.Error:
        return False


# --- the retry rule itself --------------------------------------------------------------------------------


def test_retry_delays_double_up_to_the_cap_with_jitter():
    """Given failures in a row, the waits grow from half a second, never beyond the cap, and are jittered (two
    processes that lost the store together do not retry in step)."""
    for failures in range(12):
        delays = {retry_delay(failures) for _ in range(50)}
        ceiling = min(0.5 * 2**failures, RETRY_CAP_SECONDS)
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (failures, delays)
        assert len(delays) > 1
    assert RETRY_CAP_SECONDS < BACK_WITHIN_SECONDS


def raised_from(cause: Exception) -> Exception:
    """The library's error as it wraps the driver's: raised from it."""
    from eventsourcing.persistence import OperationalError

    try:
        raise OperationalError(str(cause)) from cause
    except OperationalError as wrapped:
        return wrapped


def test_an_outage_is_told_from_other_errors_through_the_chain_of_causes():
    opening = RuntimeError("while opening the read models")
    opening.__cause__ = raised_from(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert store_unavailable(opening)
    assert store_unavailable(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
    assert store_unavailable(psycopg.errors.CannotConnectNow("the database system is starting up"))
    assert store_unavailable(psycopg.errors.SerializationFailure("could not serialize access"))
    assert not store_unavailable(ValueError("VALMIUS_UNITS_FILE is not JSON"))
    assert not store_unavailable(psycopg.errors.UndefinedTable("no such table"))
    assert not store_unavailable(psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"))
    # a bug, not an outage: answered 500, not 503
    assert not store_unavailable(raised_from(sqlite3.OperationalError("no such table: valmius_gone")))


@pytest.mark.postgres
def test_a_command_in_an_outage_is_refused_in_seconds_and_the_next_one_after_it_is_stored_at_once(cluster):
    """Given a process whose pool holds connections to PostgreSQL, when PostgreSQL crashes, then a command is
    refused as an outage within seconds (the library tries each write ten times: with a 5 s wait for a connection
    each, that took 52 s), the next ones at once; and when PostgreSQL is back, the next command is stored at once,
    not after a backoff for each dead connection the pool held."""
    url = cluster.url(f"breaker_{uuid.uuid4().hex[:8]}")
    services = open_services(Settings(_env_file=None, database_url=url))
    app = services.coordination
    try:
        app.declare_crisis(DO, crisis_id="C-1", title="Storm", category="SEVERE_WEATHER", severity=2)
        for i in range(5):  # several connections in the pool
            app.record_log_entry(DO, "C-1", text=f"report {i}")
        cluster.crash()
        took = []
        for attempt in range(2):
            started = time.monotonic()
            with pytest.raises(Exception) as refused:
                app.record_log_entry(DO, "C-1", text=f"lost {attempt}")
            took.append(time.monotonic() - started)
            assert store_unavailable(refused.value), refused.value
        cluster.start()
        started = time.monotonic()
        stored = app.record_log_entry(DO, "C-1", text="back")
        back = time.monotonic() - started
    finally:
        services.close()
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start()
    print(f"refused after {took[0]:.1f} s, then {took[1]:.1f} s; stored {back:.1f} s after PostgreSQL was back")
    assert took[0] < 15 and took[1] < 5 and back < BACK_WITHIN_SECONDS
    assert stored == 7  # the crisis at version 7: declared, five entries, back (nothing of the refused ones)


@pytest.mark.postgres
def test_a_full_server_with_the_pool_busy_is_not_an_outage_for_long(tmp_path):
    """Given a server with no connection slot left (others hold them) and a pool of two whose connections are
    both busy, when one more caller finds no connection (which opens the breaker: its own try is refused too),
    then as soon as the busy callers give their connections back, callers are served again from the pool."""
    full = Cluster()
    full.start = lambda: full._run(  # noqa: SLF001 - the cluster's own pg_ctl, with four connections at most
        "pg_ctl", "-D", str(full.data), "-l", str(full.dir / "server.log"), "-o",
        f"-p {full.port} -c listen_addresses=127.0.0.1 -k {full.dir} -c fsync=off -c max_connections=4"
        " -c superuser_reserved_connections=0", "-w", "start")
    full.start()
    try:
        store = PostgresDatastore("postgres", "127.0.0.1", full.port, "postgres", "", pool_size=1, max_overflow=1,
                                  connect_timeout=2, pre_ping=True)
        harden_pool(store)
        with store.get_connection() as conn:
            conn.execute("SELECT 1")
        others = []
        while len(others) < 4:
            try:
                others.append(psycopg.connect(full.url("postgres"), connect_timeout=2))
            except psycopg.OperationalError:
                break

        def busy() -> None:
            with store.get_connection() as conn:
                conn.execute("SELECT pg_sleep(3)")

        callers = [threading.Thread(target=busy) for _ in range(2)]
        for caller in callers:
            caller.start()
        time.sleep(0.3)
        with pytest.raises(Exception) as refused:  # no connection in the pool, none to be had
            with store.get_connection():
                pass
        assert store_unavailable(refused.value)
        for caller in callers:
            caller.join()
        served = []
        for _ in range(20):
            with store.get_connection() as conn:
                served.append(conn.execute("SELECT 1").fetchone())
            time.sleep(0.05)
        assert len(served) == 20 and len(others) == 2  # the server was full: the pool's two and two others
        for other in others:
            other.close()
        store.close()
    finally:
        full.remove()


# --- serve and project started while the store is down ----------------------------------------------------


@pytest.mark.postgres
def test_serve_started_while_the_store_is_down_answers_503_then_serves_within_5_s_of_its_return(cluster, caplog):
    """Given a store with a user, when the service starts while PostgreSQL is down, then it starts, answers
    every request 503 STORE_UNAVAILABLE (a problem with Retry-After) and logs its retries; once PostgreSQL is
    up it serves within 5 s. The same when PostgreSQL crashes while it serves."""
    url = cluster.url(f"serve_{uuid.uuid4().hex[:8]}")
    token = issue_token(url)
    headers = {"Authorization": f"Bearer {token}"}
    cluster.crash()
    try:
        caplog.set_level(logging.WARNING, logger="valmius")
        with TestClient(create_app(Settings(_env_file=None, database_url=url))) as client:
            for _ in range(3):
                refused = client.get("/readiness-board", headers=headers)
                assert refused.status_code == 503, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
                assert refused.json()["code"] == "STORE_UNAVAILABLE"
                assert int(refused.headers["Retry-After"]) >= 1
                time.sleep(0.5)
            assert "next attempt in" in caplog.text

            cluster.start()
            back = time.monotonic()
            wait_until(lambda: client.get("/readiness-board", headers=headers).status_code == 200,
                       BACK_WITHIN_SECONDS, "the service to serve once PostgreSQL is up")
            print(f"serving {time.monotonic() - back:.2f} s after PostgreSQL started")

            cluster.crash()
            lost = client.get("/readiness-board", headers=headers)
            assert (lost.status_code, lost.json()["code"]) == (503, "STORE_UNAVAILABLE"), lost.text
            written = client.post("/crises", headers=headers, json={
                "crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2})
            assert (written.status_code, written.json()["code"]) == (503, "STORE_UNAVAILABLE"), written.text
            cluster.start()
            back = time.monotonic()
            wait_until(lambda: client.get("/readiness-board", headers=headers).status_code == 200,
                       BACK_WITHIN_SECONDS, "the service to serve again after a crash of PostgreSQL")
            print(f"serving again {time.monotonic() - back:.2f} s after PostgreSQL restarted")
    finally:
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start()


@pytest.mark.postgres
def test_two_workers_started_while_the_store_is_down_both_run_and_serve_once_it_is_up(cluster):
    """Given PostgreSQL down, when `valmius serve --workers 2` starts, then neither worker fails its start-up
    (uvicorn's supervisor would stop them all): both run and answer 503 until PostgreSQL is up, then serve."""
    url = cluster.url(f"workers_{uuid.uuid4().hex[:8]}")
    token = issue_token(url)
    cluster.crash()
    api = Api(url, cluster.dir / f"serve-{uuid.uuid4().hex[:6]}.log")
    try:
        wait_until(lambda: len(api.workers()) == 2 and api.log.read_text().count("next attempt in") >= 4, 60,
                   "both workers to start and retry")
        answer = api.http.get("/readiness-board", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert (answer.status_code, answer.json()["code"]) == (503, "STORE_UNAVAILABLE"), answer.text
        assert api.process.poll() is None and len(api.workers()) == 2
        cluster.start()
        back = time.monotonic()
        wait_until(lambda: all(api.http.get("/readiness-board", timeout=10,
                                            headers={"Authorization": f"Bearer {token}"}).status_code == 200
                               for _ in range(10)),
                   BACK_WITHIN_SECONDS, "both workers to serve")
        print(f"both workers serving {time.monotonic() - back:.2f} s after PostgreSQL started")
    finally:
        api.stop()
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start()


@pytest.mark.postgres
def test_project_started_while_the_store_is_down_catches_up_once_it_is_up(cluster):
    """Given events no read model has applied, when `valmius project` starts while PostgreSQL is down, then it
    keeps running, retrying and saying so, and catches up once PostgreSQL is up."""
    url = cluster.url(f"project_{uuid.uuid4().hex[:8]}")
    services = open_services(Settings(_env_file=None, database_url=url))
    try:
        services.coordination.declare_crisis(DO, crisis_id="C-1", title="Storm", category="SEVERE_WEATHER", severity=2)
        for i in range(20):
            services.coordination.record_log_entry(DO, "C-1", text=f"report {i}")
        head = services.coordination.recorder.max_notification_id()
    finally:
        services.close()
    cluster.crash()
    project = Worker(url, cluster.dir / f"project-{uuid.uuid4().hex[:6]}.log")
    worker = project.process
    try:
        wait_until(lambda: project.text().count("next attempt in") >= 3 or worker.poll() is not None, 60,
                   "the worker to retry")
        assert worker.poll() is None, project.text()
        cluster.start()
        back = time.monotonic()
        wait_until(lambda: caught_up_to(url, head), 30, "the worker to catch up")
        print(f"caught up {time.monotonic() - back:.2f} s after PostgreSQL started")
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0, project.text()
    finally:
        if worker.poll() is None:
            worker.kill()
        if not (cluster.data / "postmaster.pid").exists():
            cluster.start()


# --- the fault test ---------------------------------------------------------------------------------------


@dataclass
class Command:
    marker: str
    phase: str  # the phase it was sent in, or the one in which an attempt of it first failed
    status: int | None = None  # the definite answer; None while (or if never) resolved
    attempts: int = 0
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    refusal: str | None = None  # a definite answer of 300 or more: its problem's code and detail


@dataclass
class Load:
    """A few clients recording log entries, each in its own crisis, each command with an Idempotency-Key it
    keeps across retries until it has a definite answer (anything but a transport error, a 5xx or 409
    IDEMPOTENCY_IN_PROGRESS)."""

    base: str
    token: str
    clients: int = 4
    per_client: int = 2000
    resolve_within: float = 60.0
    phase: str = "before"
    commands: list[Command] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for number in range(self.clients):
            thread = threading.Thread(target=self._client, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=self.resolve_within + 30)

    def goes_on(self) -> None:
        """Wait until LOAD_PER_PHASE commands sent in the current phase are acknowledged."""

        def acknowledged() -> int:
            return sum(1 for c in list(self.commands) if c.phase == self.phase and c.status is not None
                       and c.status < 300)
        wait_until(lambda: acknowledged() >= LOAD_PER_PHASE, 60, f"the load to go on ({self.phase})")

    def _client(self, number: int) -> None:
        with httpx.Client(base_url=self.base, timeout=10,
                          headers={"Authorization": f"Bearer {self.token}"}) as http:
            crisis = f"C-LOAD-{number}"
            declared = self.send(http, "/crises", {"crisis_id": crisis, "title": f"Load {number}",
                                                   "category": "SEVERE_WEATHER", "severity": 2})
            assert declared is not None and declared < 300, declared
            for i in range(self.per_client):
                if self.stopping.is_set():
                    return
                command = Command(f"load-{number}-{i}-{uuid.uuid4().hex[:6]}", self.phase)
                self.commands.append(command)
                command.status = self.send(http, f"/crises/{crisis}/log-entries", {"text": command.marker}, command)
                time.sleep(0.01)

    def send(self, http: httpx.Client, path: str, body: dict, command: Command | None = None) -> int | None:
        command = command or Command("", self.phase)
        deadline = time.monotonic() + self.resolve_within
        while time.monotonic() < deadline:
            command.attempts += 1
            try:
                answer = http.post(path, json=body, headers={"Idempotency-Key": command.key})
                pending = answer.status_code == 409 and answer.json().get("code") == "IDEMPOTENCY_IN_PROGRESS"
                if answer.status_code < 500 and not pending:
                    if answer.status_code >= 300:
                        command.refusal = f"{answer.json().get('code')}: {answer.json().get('detail')}"
                    return answer.status_code
            except httpx.TransportError:
                pass
            if command.attempts == 1:
                command.phase = self.phase
            time.sleep(0.2)
        return None


class Api:
    """`valmius serve --workers 2` as a process of its own (uvicorn's supervisor and its two workers)."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = spawn(["-m", "interfaces.cli.main", "serve", "--workers", "2", "--port", str(self.port)],
                             database_url, log, environment="production")
        # the test's own requests: one client (not one, and its TLS context, per request), no connection kept
        # (each request reaches whichever worker accepts it, as a new client's would)
        self.http = httpx.Client(base_url=self.base, limits=httpx.Limits(max_keepalive_connections=0))

    def workers(self) -> list[int]:
        """The supervisor's worker processes (not multiprocessing's resource tracker)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        found = []
        for pid in children:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if b"spawn_main" in command and state not in ("Z", "X"):
                found.append(int(pid))
        return found

    def answers(self) -> bool:
        try:
            return self.http.get("/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in self.workers():
                    os.kill(pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()


@dataclass
class Fault:
    name: str
    recovery: float = 0.0


@pytest.mark.postgres
def test_no_process_needs_a_human_through_killed_workers_and_a_crashed_store(cluster):
    """Given two API workers and the projection worker on PostgreSQL under a write load with Idempotency-Keys,
    when an API worker is killed with SIGKILL, the projection worker is killed and started again, and
    PostgreSQL crashes (`pg_ctl stop -m immediate`), an API worker is killed while it is down, and PostgreSQL
    starts again, then every command gets a definite
    answer, every acknowledged command is stored exactly once and no other twice, the read models equal a
    rebuild, the audit chain verifies, and every process is still (or again) running without anyone's help."""
    url = cluster.url(f"faults_{uuid.uuid4().hex[:8]}")
    token = issue_token(url)
    api = Api(url, cluster.dir / "serve.log")
    worker = Worker(url, cluster.dir / "project.log")
    load = Load(api.base, token)
    faults: list[Fault] = []
    outage_answers: list[tuple[int, str | None, str | None]] = []

    def logs() -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-6000:]}"
                         for p in (api.log, *cluster.dir.glob("project*.log"), cluster.dir / "server.log"))

    try:
        wait_until(lambda: api.answers() and len(api.workers()) == 2, 60, "the API to serve")
        load.start()
        load.goes_on()

        # An API worker killed: the supervisor starts another, the other worker serves meanwhile.
        load.phase = fault = "API worker SIGKILL"
        killed = api.workers()[0]
        started = time.monotonic()
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: len(api.workers()) == 2 and killed not in api.workers() and api.answers(), 60,
                   "the supervisor to replace the killed worker")
        faults.append(Fault(fault, time.monotonic() - started))
        load.goes_on()

        # The projection worker killed, and started again (by systemd's Restart=always in production).
        load.phase = fault = "projection worker SIGKILL + restart"
        worker.kill()
        started = time.monotonic()
        worker = Worker(url, cluster.dir / "project-restarted.log")
        worker.started_from(timeout=60)
        head = store_head(url)[0]
        wait_until(lambda: caught_up_to(url, head), 60, "the restarted projection worker to catch up")
        faults.append(Fault(fault, time.monotonic() - started))
        load.goes_on()

        # PostgreSQL crashes; while it is down an API worker is killed too (its replacement cannot reach the
        # store at its start); PostgreSQL is started again once the replacement runs, 3 s at the least.
        load.phase = fault = "PostgreSQL stop -m immediate + start"
        cluster.crash()
        killed = api.workers()[0]
        os.kill(killed, signal.SIGKILL)
        down_since = time.monotonic()
        while len(outage_answers) < 3 or len(api.workers()) < 2 or killed in api.workers():
            assert time.monotonic() < down_since + 60, "the supervisor did not replace the worker"
            try:
                answer = api.http.get("/readiness-board", timeout=10, headers={"Authorization": f"Bearer {token}"})
                outage_answers.append((answer.status_code, answer.json().get("code"),
                                       answer.headers.get("Retry-After")))
            except httpx.TransportError as error:
                outage_answers.append((0, type(error).__name__, None))
            time.sleep(0.2)
        cluster.start()
        started = time.monotonic()
        probe = Load(api.base, token, resolve_within=60)
        with httpx.Client(base_url=api.base, timeout=10, headers={"Authorization": f"Bearer {token}"}) as http:
            assert probe.send(http, "/crises", {"crisis_id": "C-PROBE", "title": "Probe",
                                                "category": "SEVERE_WEATHER", "severity": 1}) == 201
            serving = 0  # both workers, the one started while the store was down among them, answer
            while serving < 20:
                serving = serving + 1 if http.get("/readiness-board").status_code == 200 else 0
                assert time.monotonic() < started + 60, "the workers did not all serve again"
        head = store_head(url)[0]
        wait_until(lambda: caught_up_to(url, head), 60, "the projection worker to follow again")
        faults.append(Fault(fault, time.monotonic() - started))
        load.goes_on()
    except BaseException:
        load.stop()
        api.stop()
        worker.kill()
        print(logs())
        raise

    try:
        load.stop()
        stored = stored_markers(url)
        alive = {
            "API supervisor": api.process.poll() is None,
            "API workers (2)": len(api.workers()) == 2,
            "projection worker": worker.process.poll() is None,
            "API answers": api.answers(),
        }
        head = store_head(url)[0]
        wait_until(lambda: caught_up_to(url, head), 60, "the read models to apply the whole log")
        services = open_services(Settings(_env_file=None, database_url=url))
        try:
            followed = read_model_rows(services)
        finally:
            services.close()
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(timeout=30)
        rebuilt_run = valmius(url, "rebuild")
        services = open_services(Settings(_env_file=None, database_url=url))
        try:
            rebuilt = read_model_rows(services)
        finally:
            services.close()
        verified = valmius(url, "audit", "verify")
    finally:
        api.stop()
        if worker.process.poll() is None:
            worker.kill()

    print_table(load.commands, stored, faults)
    print("answers while PostgreSQL was down:", Counter(outage_answers))
    unresolved = [c.marker for c in load.commands if c.status is None]
    unresolved_keys = keys_state(url, [c.key for c in load.commands if c.status is None])
    lost = [c.marker for c in load.commands if c.status is not None and c.status < 300 and stored[c.marker] != 1]
    twice = [c.marker for c in load.commands if stored[c.marker] > 1]
    assert all(alive.values()), (alive, logs())
    assert outage_answers and all(a[:2] == (503, "STORE_UNAVAILABLE") and a[2] for a in outage_answers), outage_answers
    assert lost == [] and twice == [], (lost, twice)
    assert rebuilt_run.returncode == 0, rebuilt_run.stderr
    assert followed == rebuilt
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert [(c.status, c.refusal, c.phase, c.attempts) for c in load.commands
            if c.status is not None and c.status >= 300] == []
    assert unresolved == [], f"{len(unresolved)} commands never got a definite answer: {unresolved_keys}"


def keys_state(database_url: str, keys: list[str]) -> list[dict]:
    """What the store holds for these Idempotency-Keys (to say why a command never got a definite answer)."""
    if not keys:
        return []
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute("SELECT * FROM valmius_idempotency WHERE idem_key = ANY(%s)", (keys,)).fetchall()


def stored_markers(database_url: str) -> Counter[str]:
    """How many times each load marker is stored as a log entry's text, read from the events themselves."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT convert_from(state, 'UTF8') FROM valmius_events WHERE topic LIKE %s", ("%LogEntryRecorded",)
        ).fetchall()
    found: Counter[str] = Counter()
    for (state,) in rows:
        match = re.search(r"load-\d+-\d+-[0-9a-f]{6}", state)
        if match:
            found[match.group(0)] += 1
    return found


def print_table(commands: list[Command], stored: Counter[str], faults: list[Fault]) -> None:
    recovery = {f.name: f.recovery for f in faults}
    print()
    print(f"{'phase':<40} {'sent':>5} {'acknowledged':>12} {'lost':>5} {'duplicated':>10} {'unresolved':>10} "
          f"{'recovered in s':>14}")
    for phase in dict.fromkeys(c.phase for c in commands):
        mine = [c for c in commands if c.phase == phase]
        acked = [c for c in mine if c.status is not None and c.status < 300]
        lost = sum(1 for c in acked if stored[c.marker] == 0)
        duplicated = sum(1 for c in mine if stored[c.marker] > 1)
        unresolved = sum(1 for c in mine if c.status is None)
        seconds = f"{recovery[phase]:.2f}" if phase in recovery else "-"
        print(f"{phase:<40} {len(mine):>5} {len(acked):>12} {lost:>5} {duplicated:>10} {unresolved:>10} {seconds:>14}")
