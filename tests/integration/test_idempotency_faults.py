"""Every retry with an Idempotency-Key resolves, whatever failed and wherever, on SQLite and PostgreSQL.

A key is decided in the transaction that stores its command's events. So after a fault between the save and
the answer a retry gets the first answer, rebuilt from what was stored; after a fault between the answer and
the commit (the transaction that stores the events and the key fails) a retry runs the command; a key held by
a process that died, or held past its lease, is taken over; and two runs with one key never both store.

Faults are real: a listener the application calls after every save (its own seam) raising or killing the
process with SIGKILL; a database trigger that fails the transaction after the events' insert, on PostgreSQL
only at COMMIT; a holder process that claims a key and is killed.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from application.coordination import KEYED_COMMAND, KeyedCommand
from domain.access import Actor, Role
from domain.shared import utc_now
from infrastructure.bootstrap import open_services
from infrastructure.idempotency import IdempotencyStore
from infrastructure.identity import hash_token
from interfaces.http.app import create_app
from interfaces.http.middleware import request_fingerprint
from tests.conftest import ApiClient, FakeClock, settings_for
from tests.interfaces.conftest import STORM, People, accepted, problem
from tests.live import ROOT, free_port, running_service, spawn

ENTRY = {"text": "Trees down in Vuosaari"}


class ProcessDied(Exception):
    """What a fault injected after the save raises: the process is gone before it answers."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path):  # noqa: ANN001, ANN201
    pg = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return settings_for(request.param, tmp_path, pg)


@pytest.fixture
def api(settings, clock: FakeClock) -> Iterator[ApiClient]:  # noqa: ANN001
    """The API as a client sees it: an unexpected failure is a 500 answer, not an exception in the test."""
    services = open_services(settings, clock)
    with TestClient(create_app(settings, clock, services=services), raise_server_exceptions=False) as client:
        yield ApiClient(client, services, clock)
    services.close()


@pytest.fixture
def people(api: ApiClient) -> People:
    return People(api)


def entries(api: ApiClient, people: People) -> list[str]:
    return [entry["text"] for entry in accepted(api.get("/crises/C-S1", headers=people.duty_officer))["log"]]


def head(api: ApiClient) -> int:
    return api.services.coordination.recorder.max_notification_id() or 0


def dies_after_the_next_save(api: ApiClient) -> None:
    """The next save is committed, then the process fails before it answers (once)."""
    listeners = api.services.coordination.listeners

    def die(position: int) -> None:
        listeners.remove(die)
        raise ProcessDied(f"died after storing position {position}")

    listeners.append(die)


def test_a_retry_after_a_fault_between_save_and_answer_gets_the_first_answer(api, people):
    # Given the storm declared, and DO-1 recording an entry with a key, in a process that dies once the
    # entry is stored and before it answers
    accepted(api.post("/crises", json=STORM, headers=people.duty_officer), 201)
    keyed = {**people.duty_officer, "Idempotency-Key": "entry-1"}
    dies_after_the_next_save(api)
    lost = api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed)
    assert lost.status_code == 500
    stored_at = head(api)
    # When DO-1 retries with the same key
    again = api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed)
    # Then the answer is the one the command earned: its version, ETag, and the position of its event
    assert again.status_code == 200, again.text
    assert again.json() == {"id": "C-S1", "version": 2}
    assert (again.headers["ETag"], again.headers["Valmius-Position"]) == ('"2"', str(stored_at))
    assert again.headers["Idempotent-Replayed"] == "true"
    # and the entry is stored once; a third try gets the same answer again
    third = api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed)
    assert (third.status_code, third.json(), third.headers["ETag"], third.headers["Valmius-Position"]) == (
        200, again.json(), again.headers["ETag"], again.headers["Valmius-Position"])
    assert entries(api, people) == [ENTRY["text"]] and head(api) == stored_at
    # and the key still names only that request
    reused = api.post("/crises/C-S1/log-entries", json={"text": "Helen: 9,000 out"}, headers=keyed)
    problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")


def test_a_declaration_whose_answer_was_lost_is_answered_with_its_location(api, people):
    # Given a declaration stored by a process that died before answering
    keyed = {**people.duty_officer, "Idempotency-Key": "declare-1"}
    dies_after_the_next_save(api)
    assert api.post("/crises", json=STORM, headers=keyed).status_code == 500
    # When it is retried: the crisis exists, yet the retry is not refused as ALREADY_EXISTS
    again = api.post("/crises", json=STORM, headers=keyed)
    # Then it gets the declaration's own answer
    assert (again.status_code, again.json()) == (201, {"id": "C-S1", "version": 1})
    assert (again.headers["Location"], again.headers["ETag"]) == ("/crises/C-S1", '"1"')
    assert again.headers["Valmius-Position"] == str(head(api))


def fail_the_commit_of_events(api: ApiClient) -> str:
    """A trigger that fails the transaction storing events after their insert: on PostgreSQL a deferred
    constraint trigger (it fires at COMMIT), on SQLite a trigger writing to a table that is gone. Returns the
    statement that removes it."""
    sql = api.services.sql
    if sql.dialect == "postgres":
        sql.create(
            "CREATE FUNCTION valmius_test_fail() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'injected: the commit fails' USING ERRCODE = 'XX000'; END $$",
            "CREATE CONSTRAINT TRIGGER valmius_test_fail AFTER INSERT ON valmius_events"
            " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION valmius_test_fail()",
        )
        return "DROP TRIGGER valmius_test_fail ON valmius_events"
    sql.create(
        "CREATE TABLE valmius_test_gone (x INTEGER)",
        "CREATE TRIGGER valmius_test_fail AFTER INSERT ON stored_events BEGIN INSERT INTO valmius_test_gone VALUES (1); END",
        "DROP TABLE valmius_test_gone",
    )
    return "DROP TRIGGER valmius_test_fail"


def test_a_retry_after_the_commit_failed_runs_the_command_once(api, people):
    # Given the storm declared, and the store failing every transaction that stores events, at its commit
    accepted(api.post("/crises", json=STORM, headers=people.duty_officer), 201)
    before = head(api)
    repair = fail_the_commit_of_events(api)
    keyed = {**people.duty_officer, "Idempotency-Key": "entry-1"}
    # When DO-1 records an entry with a key: the command ran, its answer was made, the commit failed
    failed = api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed)
    assert failed.status_code == 500
    assert head(api) == before and entries(api, people) == []
    # and, the store repaired, DO-1 retries with the same key
    api.services.sql.create(repair)
    again = api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed)
    # Then the command runs (it was not stored) and is stored once
    assert again.status_code == 200, again.text
    assert "Idempotent-Replayed" not in again.headers and again.json() == {"id": "C-S1", "version": 2}
    assert entries(api, people) == [ENTRY["text"]]
    assert api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed).headers["Idempotent-Replayed"] == "true"
    assert entries(api, people) == [ENTRY["text"]]


CLAIM_AND_DIE = """
import os, signal, sys
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings
services = open_services(Settings(environment="test", database_url=sys.argv[1], _env_file=None))
claim = services.idempotency.claim(sys.argv[2], sys.argv[3], sys.argv[4])
assert claim.holder is not None, claim
print("claimed", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_key_held_by_a_process_that_died_is_taken_over(api, people):
    # Given a process that claimed DO-1's key for this very request and was killed before it ran it
    accepted(api.post("/crises", json=STORM, headers=people.duty_officer), 201)
    keyed = {**people.duty_officer, "Idempotency-Key": "entry-1"}
    fingerprint = fingerprint_of("/crises/C-S1/log-entries", ENTRY)
    user = hash_token(keyed["Authorization"][7:])
    died = subprocess.run(
        [sys.executable, "-c", CLAIM_AND_DIE, api.services.settings.database_url, user, "entry-1", fingerprint],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert died.returncode == -signal.SIGKILL and "claimed" in died.stdout, died.stderr
    # When DO-1 sends the request with that key
    answer = api.post("/crises/C-S1/log-entries", json=ENTRY, headers=keyed)
    # Then the dead holder's claim is taken over at once and the command runs, once
    assert answer.status_code == 200, answer.text
    assert entries(api, people) == [ENTRY["text"]]


def fingerprint_of(path: str, body: dict) -> str:
    """The request's fingerprint as the server takes it (the body's bytes as httpx sends them, no If-Match)."""
    return request_fingerprint(path, "", httpx.Request("POST", f"http://x{path}", json=body).content)


def test_a_key_held_by_a_live_holder_is_in_progress_until_its_lease_ends(api, people):
    # Given another live process holding DO-1's key, with a lease of a minute; and one whose lease has run out
    accepted(api.post("/crises", json=STORM, headers=people.duty_officer), 201)
    user = hash_token(people.duty_officer["Authorization"][7:])
    fingerprint = fingerprint_of("/crises/C-S1/log-entries", ENTRY)
    other = IdempotencyStore(api.services.sql, api.services.coordination.recorder, lease_seconds=60)
    lapsed = IdempotencyStore(api.services.sql, api.services.coordination.recorder, lease_seconds=60,
                              clock=lambda: time.time() - 120)
    try:
        assert other.claim(user, "entry-1", fingerprint).holder is not None
        assert lapsed.claim(user, "entry-2", fingerprint).holder is not None
        # When DO-1 sends the request with either key
        busy = api.post("/crises/C-S1/log-entries", json=ENTRY, headers={**people.duty_officer, "Idempotency-Key": "entry-1"})
        taken = api.post("/crises/C-S1/log-entries", json=ENTRY, headers={**people.duty_officer, "Idempotency-Key": "entry-2"})
        # Then the live one is in progress, saying when to retry (within its lease); the lapsed one is taken over
        body = problem(busy, 409, "IDEMPOTENCY_IN_PROGRESS")
        assert busy.headers["Retry-After"] == "1"
        assert 1 <= int(re.search(r"taken over within (\d+) s", body["detail"]).group(1)) <= 60
        assert taken.status_code == 200, taken.text
        assert entries(api, people) == [ENTRY["text"]]
        # and a different request under a held key is still refused as a reused key
        reused = api.post("/crises/C-S1/log-entries", json={"text": "other"},
                          headers={**people.duty_officer, "Idempotency-Key": "entry-1"})
        problem(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    finally:
        other.close()
        lapsed.close()


def test_two_runs_with_one_key_store_the_command_once(settings, clock):  # noqa: ANN001
    # Given two application processes on one store (separate caches), and a crisis
    first, second = open_services(settings, clock), open_services(settings, clock)
    try:
        officer = Actor("DO-1", Role.DUTY_OFFICER)
        first.coordination.declare_crisis(officer, crisis_id="C-S1", title="Storm", category="SEVERE_WEATHER",
                                          severity=2)
        # When both run the same keyed log entry at the same moment (each holding the key: one took it over)
        results: dict[str, tuple[int, int | None]] = {}
        barrier = threading.Barrier(2)

        def run(name: str, services) -> None:  # noqa: ANN001
            KEYED_COMMAND.set(KeyedCommand("user-hash", "entry-1", "fp", services.idempotency))
            barrier.wait()
            try:
                version = services.coordination.record_log_entry(officer, "C-S1", text="Trees down")
                results[name] = (version, services.coordination.last_position())
            except Exception as error:  # noqa: BLE001 - what the run raised is the finding, shown in the assert
                results[name] = error

        threads = [threading.Thread(target=run, args=(n, s)) for n, s in (("first", first), ("second", second))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not [thread for thread in threads if thread.is_alive()], f"a run did not end within 60 s: {results}"
        # Then the entry is stored once, and both answer with its version and position
        crisis = first.coordination.crisis_record("C-S1")
        assert [entry.text for entry in crisis.log] == ["Trees down"]
        assert results["first"] == results["second"] == (2, first.coordination.recorder.max_notification_id())
    finally:
        first.close()
        second.close()


def test_concurrent_retries_with_one_key_over_http_run_the_command_once(settings):  # noqa: ANN001
    # Given the service over real HTTP and a crisis
    with running_service(settings) as server:
        token = server.token("DO-1", "duty_officer")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            accepted(client.post("/crises", json=STORM), 201)
        # When eight clients send the same keyed entry at once, then once more each after the others
        barrier = threading.Barrier(8)
        answers: list[httpx.Response] = []

        def send() -> None:
            with httpx.Client(base_url=server.base_url, headers={**headers, "Idempotency-Key": "e-1"}, timeout=60) as c:
                barrier.wait()
                answers.append(c.post("/crises/C-S1/log-entries", json=ENTRY))

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        with httpx.Client(base_url=server.base_url, headers={**headers, "Idempotency-Key": "e-1"}) as c:
            last = c.post("/crises/C-S1/log-entries", json=ENTRY)
        # Then the entry is stored once; every answer is that entry's, or "in progress, retry"
        crisis = server.services.coordination.crisis_record("C-S1")
        assert [entry.text for entry in crisis.log] == [ENTRY["text"]]
        assert last.status_code == 200 and last.json() == {"id": "C-S1", "version": 2}
        for answer in answers:
            if answer.status_code == 409:
                assert answer.json()["code"] == "IDEMPOTENCY_IN_PROGRESS" and "Retry-After" in answer.headers
            else:
                assert (answer.status_code, answer.json(), answer.headers["ETag"]) == (200, last.json(), '"2"')
        assert sum(a.status_code == 200 for a in answers) >= 1


SERVE_AND_DIE_AFTER_SAVE = """
import os, signal, sys
import uvicorn
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings
from interfaces.http.app import create_app
from interfaces.http.middleware import request_fingerprint
settings = Settings(environment="test", database_url=sys.argv[1], _env_file=None)
services = open_services(settings)
def die(position):
    if os.path.exists(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)  # the event is committed; the answer is never sent
services.coordination.listeners.append(die)
uvicorn.run(create_app(settings, services=services), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


class Server:
    """An API server process of its own (`valmius serve`, or a script), on a free port, killed at the end."""

    def __init__(self, argv: list[str], database_url: str, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process = spawn([a.replace("{port}", str(self.port)) for a in argv], database_url, log, mode="ab")
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=1) as probe:  # one client (and TLS context) for the polls, not one per poll
            while True:
                try:
                    probe.get(f"{self.base_url}/health/live")
                    return
                except httpx.TransportError:
                    assert self.process.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def bearer(services, user: str) -> dict[str, str]:  # noqa: ANN001
    """Headers of a new duty officer's token."""
    token, _ = services.tokens.issue(user=user, role="duty_officer", unit=None, clearance=False, issued_by="test",
                                    now=utc_now())
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.postgres
def test_a_server_killed_after_storing_answers_the_retry_from_a_new_process(postgres_url, tmp_path, servers):  # noqa: ANN001
    settings = settings_for("postgres", tmp_path, postgres_url)
    services = open_services(settings)
    try:
        token = bearer(services, "DO-1")
        trap = tmp_path / "die-after-save"
        dying = Server(["-c", SERVE_AND_DIE_AFTER_SAVE, settings.database_url, "{port}", str(trap)],
                       settings.database_url, tmp_path / "dying.log")
        servers.append(dying)
        # Given the storm declared, and a server process that is killed (SIGKILL) the moment the next
        # command's events are committed
        accepted(httpx.post(f"{dying.base_url}/crises", json=STORM, headers=token, timeout=30), 201)
        trap.touch()
        keyed = {**token, "Idempotency-Key": "entry-1"}
        # When DO-1 records an entry with a key: the connection drops without an answer
        with pytest.raises(httpx.TransportError):
            httpx.post(f"{dying.base_url}/crises/C-S1/log-entries", json=ENTRY, headers=keyed, timeout=30)
        assert dying.process.wait(timeout=30) == -signal.SIGKILL
        # and retries it against a new `valmius serve`
        fresh = Server(["-m", "interfaces.cli.main", "serve", "--port", "{port}"], settings.database_url,
                       tmp_path / "fresh.log")
        servers.append(fresh)
        again = httpx.post(f"{fresh.base_url}/crises/C-S1/log-entries", json=ENTRY, headers=keyed, timeout=30)
        # Then it gets the entry's answer, and the entry is stored once
        assert again.status_code == 200, again.text
        assert (again.json(), again.headers["ETag"], again.headers["Idempotent-Replayed"]) == (
            {"id": "C-S1", "version": 2}, '"2"', "true")
        assert again.headers["Valmius-Position"] == str(services.coordination.recorder.max_notification_id())
        assert [entry.text for entry in services.coordination.crisis_record("C-S1").log] == [ENTRY["text"]]
    finally:
        services.close()


CLIENTS = 6
ACKNOWLEDGED_BEFORE_KILL = 40


@pytest.mark.postgres
def test_a_server_killed_under_keyed_load_leaves_every_key_resolved_once(postgres_url, tmp_path, servers, capsys):  # noqa: ANN001
    settings = settings_for("postgres", tmp_path, postgres_url)
    services = open_services(settings)
    try:
        first = Server(["-m", "interfaces.cli.main", "serve", "--port", "{port}"], settings.database_url,
                       tmp_path / "first.log")
        servers.append(first)
        headers = [bearer(services, f"DO-{n}") for n in range(CLIENTS)]
        for n in range(CLIENTS):
            accepted(httpx.post(f"{first.base_url}/crises", json={**STORM, "crisis_id": f"C-{n}"}, headers=headers[n],
                                timeout=30), 201)
        # Given six clients writing log entries, each with a key of its own, each to a crisis of its own
        acknowledged: dict[str, httpx.Response] = {}
        unanswered: dict[str, int] = {}
        lock = threading.Lock()

        def write(n: int) -> None:
            with httpx.Client(base_url=first.base_url, headers=headers[n], timeout=30) as client:
                for i in range(10_000):
                    key = f"w{n}-{i}"
                    try:
                        answer = client.post(f"/crises/C-{n}/log-entries", json={"text": key},
                                             headers={"Idempotency-Key": key})
                    except httpx.TransportError:
                        with lock:
                            unanswered[key] = n
                        return
                    assert answer.status_code == 200, answer.text
                    with lock:
                        acknowledged[key] = answer

        threads = [threading.Thread(target=write, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        # When the server is killed with SIGKILL in the middle of it
        deadline = time.monotonic() + 60
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, "the load did not get going"
            time.sleep(0.005)
        first.kill()
        for thread in threads:
            thread.join(timeout=60)
        # and each client retries its unanswered request, with its key, against a new server until answered
        second = Server(["-m", "interfaces.cli.main", "serve", "--port", "{port}"], settings.database_url,
                        tmp_path / "second.log")
        servers.append(second)
        retried: dict[str, httpx.Response] = {}
        for key, n in unanswered.items():
            until = time.monotonic() + 30
            while True:
                answer = httpx.post(f"{second.base_url}/crises/C-{n}/log-entries", json={"text": key},
                                    headers={**headers[n], "Idempotency-Key": key}, timeout=30)
                if answer.status_code != 409 or time.monotonic() > until:
                    break
                time.sleep(0.2)
            retried[key] = answer
        # Then every retry resolves: each unanswered entry is answered 200 (replayed if it had been stored)
        assert unanswered and all(answer.status_code == 200 for answer in retried.values()), {
            k: (a.status_code, a.text) for k, a in retried.items()}
        # and every entry, acknowledged or retried, is stored exactly once
        texts = [e.text for n in range(CLIENTS) for e in services.coordination.crisis_record(f"C-{n}").log]
        assert sorted(texts) == sorted([*acknowledged, *retried])
        # and a retry of an acknowledged entry gets its first answer
        key, first_answer = next(iter(acknowledged.items()))
        n = int(key[1:].split("-")[0])
        replay = httpx.post(f"{second.base_url}/crises/C-{n}/log-entries", json={"text": key},
                            headers={**headers[n], "Idempotency-Key": key}, timeout=30)
        assert (replay.json(), replay.headers["ETag"], replay.headers["Valmius-Position"]) == (
            first_answer.json(), first_answer.headers["ETag"], first_answer.headers["Valmius-Position"])
        replayed = sum(a.headers.get("Idempotent-Replayed") == "true" for a in retried.values())
        with capsys.disabled():
            print(f"\n  killed under load: {len(acknowledged)} acknowledged, {len(unanswered)} unanswered, of which"
                  f" {replayed} had been stored (answered from the store) and {len(unanswered) - replayed} ran on retry;"
                  f" {len(texts)} entries stored, none twice")
    finally:
        services.close()
