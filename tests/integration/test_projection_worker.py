"""Following the log for real: the projection worker (`valmius project`, a process of its own) on PostgreSQL,
killed with SIGKILL mid-flow and restarted, resumes where its last committed batch left it and ends with read
models equal to a rebuild; a failing batch is logged, backed off and caught up; a rebuild racing the worker loses
nothing. And the embedded SQLite follower picks up what another process writes to the same file."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from application.coordination import Coordination
from domain.access import Actor, Role
from infrastructure.bootstrap import Services, open_services
from tests.conftest import settings_for

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("situation_overview", "crisis_timeline", "readiness_board", "police_liaison_board", "decision_log")
DO = Actor("DO-1", Role.DUTY_OFFICER)
PM = Actor("PM", Role.PREPAREDNESS_MANAGER)
PC = Actor("PC", Role.POLICE_COORDINATOR)
LR = Actor("LR-2", Role.LEADERSHIP)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.02)


def read_model_rows(services: Services) -> dict[str, list[str]]:
    """Every row of every table of the five read models, in a stable order."""
    query = services.sql.query
    return {
        table: sorted(json.dumps(row, sort_keys=True, default=str) for row in query(f"SELECT * FROM {table}"))
        for name in VIEWS
        for table in services.projections.models[name].tables
    }


def declare(app: Coordination, crisis_id: str) -> None:
    app.declare_crisis(
        DO, crisis_id=crisis_id, title=f"Storm damage {crisis_id}", category="SEVERE_WEATHER", severity=2
    )


@pytest.fixture
def pg(postgres_url: str, tmp_path) -> Iterator[Services]:  # noqa: ANN001
    """The application on a fresh schema of the session's PostgreSQL database, with the real clock; it does not
    follow the log itself."""
    services = open_services(settings_for("postgres", tmp_path, postgres_url))
    yield services
    services.close()


# --- the worker process -------------------------------------------------------------------------------


class Worker:
    """`valmius project` as a process of its own, its log in a file."""

    def __init__(self, database_url: str, log: Path) -> None:
        self.log = log
        env = {**os.environ, "VALMIUS_DATABASE_URL": database_url, "VALMIUS_ENVIRONMENT": "test"}
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli.main", "project"], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def started_from(self, timeout: float = 15) -> int:
        """The position the worker says it follows from, once it says so."""
        wait_until(lambda: "projection worker following" in self.text() or self.process.poll() is not None,
                   timeout, "the worker to start")
        found = re.search(r"projection worker following the postgres store from position (\d+)", self.text())
        assert found, self.text()
        return int(found.group(1))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


@pytest.fixture
def workers(postgres_url: str, tmp_path) -> Iterator[Callable[[str], Worker]]:  # noqa: ANN001
    started: list[Worker] = []

    def start(name: str) -> Worker:
        started.append(Worker(postgres_url, tmp_path / f"{name}.log"))
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


class Desk:
    """One duty desk working its own crisis: log entries, actions assigned and completed, situation reports,
    decisions and reviews, its unit's readiness, police requests raised and answered."""

    def __init__(self, app: Coordination, number: int, unit: str) -> None:
        self.app, self.crisis_id, self.unit, self.liaison = app, f"C-{number}", unit, f"L-{number}"
        self.done = 0
        self.errors: list[BaseException] = []

    def work(self, commands: int) -> None:
        app, crisis = self.app, self.crisis_id
        try:
            declare(app, crisis)
            app.open_police_liaison(PC, liaison_id=self.liaison, crisis_id=crisis)
            levels = ["ENHANCED", "BASIC"]
            for i in range(commands):
                step = i % 8
                if step == 0:
                    app.record_log_entry(DO, crisis, text=f"report {i} from the field", source=self.unit)
                elif step == 1:
                    app.assign_action(DO, crisis, action_id=f"A-{i}", unit=self.unit, task=f"task {i}",
                                      due_at=app.now() + timedelta(hours=1))
                elif step == 2:
                    app.close_action(DO, crisis, action_id=f"A-{i - 1}", outcome="complete", note="done")
                elif step == 3:
                    app.issue_situation_report(DO, crisis, summary=f"sitrep after {i} steps",
                                               next_due_at=app.now() + timedelta(hours=1))
                elif step == 4:
                    app.record_decision(DO, crisis, decision_id=f"D-{i}", decided_by="Mayor", decision=f"decision {i}",
                                        rationale="storm", options=["act", "wait"],
                                        review_at=app.now() + timedelta(minutes=30))
                elif step == 5:
                    app.record_decision_review(DO, crisis, decision_id=f"D-{i - 1}", outcome="keep")
                elif step == 6:
                    app.change_readiness(PM, self.unit, to_level=levels[(i // 8) % 2], reason=f"step {i}")
                else:
                    app.raise_police_request(PC, self.liaison, request_id=f"PR-{i}", direction="POLICE_TO_CITY",
                                             request_type="INFORMATION", subject=f"question {i}")
                    if i % 16 == 7:
                        app.close_police_request(PC, self.liaison, request_id=f"PR-{i}", outcome="answer",
                                                 response="answered")
                self.done += 1
        except BaseException as error:  # reported by the test, not lost in the thread
            self.errors.append(error)


@pytest.mark.postgres
def test_a_worker_killed_mid_flow_resumes_and_its_read_models_equal_a_rebuild(pg, workers):
    """Given the worker following while four desks write concurrently, when it is killed with SIGKILL mid-flow,
    the desks keep writing and it is started again, then it says it resumes from the position its last committed
    batch reached, catches up to the end of the log, and every read model equals one rebuilt from the log."""
    app, views = pg.coordination, pg.projections
    first = workers("first")
    assert first.started_from() == 0
    desks = [Desk(app, n, unit) for n, unit in enumerate(["SOTEPE", "KYMP", "KASKO", "KUVA"], start=1)]
    threads = [threading.Thread(target=desk.work, args=(80,)) for desk in desks]
    for thread in threads:
        thread.start()
    written = lambda: sum(desk.done for desk in desks)  # noqa: E731

    wait_until(lambda: written() >= 80 and views.position() > 0, 20, "the worker to follow the first writes")
    first.kill()
    time.sleep(0.2)  # a COMMIT the worker sent just before it died may still be landing
    killed_at = views.position()
    wait_until(lambda: written() >= 200 or not any(t.is_alive() for t in threads), 20, "more writes")
    behind = app.recorder.max_notification_id() - views.position()
    second = workers("second")
    resumed_from = second.started_from()
    for thread in threads:
        thread.join(timeout=30)
    assert [desk.errors for desk in desks] == [[], [], [], []]
    assert written() == 320
    end = app.recorder.max_notification_id()
    wait_until(lambda: views.position() == end, 20, f"the worker to reach {end}")
    live = read_model_rows(pg)
    assert second.stop() == 0

    assert 0 < killed_at and behind > 0  # killed mid-flow, with writes it had not seen
    assert "projection worker stopped" not in first.text()
    assert resumed_from == killed_at
    assert f"projection worker stopped at position {end}" in second.text()
    log = app.recorder.select_notifications(start=1, limit=end)
    crisis_events = sum(1 for n in log if ".crisis:Crisis." in n.topic)
    assert len(live["rm_timeline"]) == crisis_events  # each crisis event on the timeline exactly once
    for name in VIEWS:
        views.rebuild(name)
    assert read_model_rows(pg) == live


@pytest.mark.postgres
def test_a_failing_batch_is_logged_backed_off_and_caught_up(pg, monkeypatch, caplog):
    """Given the follower running, when the decision log's batch fails once (the database drops the connection),
    then the failure is logged, the next attempt waits out the back-off, and the follower catches up with every
    write, including those made while it was failing: the read models equal a rebuild."""
    app, views = pg.coordination, pg.projections
    decision_log = views.models["decision_log"]
    apply = decision_log.apply_notification
    attempts: list[float] = []
    failed = threading.Event()

    def drop_once(tx, notification, event):  # noqa: ANN001, ANN202
        attempts.append(time.monotonic())
        if not failed.is_set():
            failed.set()
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return apply(tx, notification, event)

    monkeypatch.setattr(decision_log, "apply_notification", drop_once)
    caplog.set_level(logging.INFO, logger="valmius.projections")
    stop = threading.Event()
    follower = threading.Thread(target=views.follow, args=(stop,))
    follower.start()
    try:
        declare(app, "C-1")
        app.record_decision(DO, "C-1", decision_id="D-1", decided_by="Mayor", decision="Open shelters",
                            rationale="cold", options=["open", "wait"])
        wait_until(failed.is_set, 10, "the failing batch")
        app.record_decision(DO, "C-1", decision_id="D-2", decided_by="Mayor", decision="Shelters in schools",
                            rationale="open all night", options=["schools", "libraries"], supersedes="D-1")
        end = app.recorder.max_notification_id()
        wait_until(lambda: views.position() == end, 10, f"the follower to reach {end}")
    finally:
        stop.set()
        follower.join(timeout=10)

    failures = [r for r in caplog.records if r.getMessage().startswith("projection batch failed")]
    assert len(failures) == 1 and "server closed the connection unexpectedly" in str(failures[0].exc_info[1])
    delay = float(re.search(r"next attempt in ([\d.]+) s", failures[0].getMessage()).group(1))
    assert 0.25 <= delay <= 0.5 and attempts[1] - attempts[0] >= delay - 0.05  # backed off (jittered) first
    log = views.get_decision_log(LR, "C-1")["decisions"]
    assert [(d["decision_id"], d["superseded_by"]) for d in log] == [("D-1", "D-2"), ("D-2", None)]
    live = read_model_rows(pg)
    for name in VIEWS:
        views.rebuild(name)
    assert read_model_rows(pg) == live


@pytest.mark.postgres
def test_a_rebuild_racing_the_worker_loses_nothing(pg, postgres_url):
    """Given the timeline caught up and five more entries written, when a rebuild empties the timeline just after
    the worker read those five and before it applied them (the worker waits on the timeline's tracking row while
    the rebuild holds it), then the worker leaves the emptied timeline to be replayed from the start: every entry
    is on it once, not only the last five."""
    app, views = pg.coordination, pg.projections
    declare(app, "C-1")
    for i in range(5):
        app.record_log_entry(DO, "C-1", text=f"early report {i}")
    views.catch_up()
    for i in range(5):
        app.record_log_entry(DO, "C-1", text=f"late report {i}")
    worker = open_services(pg.settings)  # the worker's own services on the same database

    def waiting_on_locks() -> int:
        with psycopg.connect(postgres_url) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]

    with psycopg.connect(postgres_url) as holder:
        holder.execute("UPDATE valmius_tracking SET position = position WHERE view = 'crisis_timeline'")
        rebuild = threading.Thread(target=views.rebuild, args=("crisis_timeline",))
        rebuild.start()
        wait_until(lambda: waiting_on_locks() == 1, 10, "the rebuild to wait for the timeline")
        follow = threading.Thread(target=worker.projections.catch_up)
        follow.start()
        wait_until(lambda: waiting_on_locks() == 2, 10, "the worker to wait for the timeline")
    rebuild.join(timeout=10)
    follow.join(timeout=10)
    worker.close()

    entries = views.get_crisis_timeline(LR, "C-1")["entries"]
    assert views.position("crisis_timeline") == app.recorder.max_notification_id()
    assert [e["content"].get("text") for e in entries] == [
        None, *(f"early report {i}" for i in range(5)), *(f"late report {i}" for i in range(5))
    ]


# --- the embedded SQLite follower ---------------------------------------------------------------------

WRITE_FROM_ANOTHER_PROCESS = """
from domain.access import Actor, Role
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings

services = open_services(Settings())
services.coordination.declare_crisis(
    Actor("DO-2", Role.DUTY_OFFICER), crisis_id="C-CLI", title="Water main burst in Kallio",
    category="UTILITY_WATER", severity=2,
)
services.close()
"""


def test_the_embedded_sqlite_follower_picks_up_another_process_writes_within_its_poll_interval(tmp_path):
    """Given the service following its SQLite file in-process (the embedded default), when another process
    declares a crisis in the same file, then within the follower's poll interval the overview shows it, though
    this process wrote nothing to be woken by."""
    settings = settings_for("sqlite", tmp_path)
    services = open_services(settings)
    views = services.projections
    woken: list[int] = []
    views.start()
    try:
        views.catch_up()
        services.coordination.listeners.append(woken.append)
        env = {**os.environ, "VALMIUS_DATABASE_URL": settings.database_url, "VALMIUS_ENVIRONMENT": "test"}
        subprocess.run([sys.executable, "-c", WRITE_FROM_ANOTHER_PROCESS], cwd=ROOT, env=env, check=True, timeout=30)
        written = time.monotonic()
        end = services.coordination.recorder.max_notification_id()
        caught_up = views.wait_for(end, timeout=views.poll_seconds + 1.0)
        waited = time.monotonic() - written
        crises = [c["crisis_id"] for c in views.get_situation_overview(LR)["active_crises"]]
    finally:
        services.close()

    assert woken == []  # nothing written in this process to wake the follower
    assert caught_up and waited <= views.poll_seconds + 0.5, waited
    assert crises == ["C-CLI"]
