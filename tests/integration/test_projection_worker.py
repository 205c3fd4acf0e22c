"""Following the log for real: the projection worker (`valmius project`, a process of its own) on PostgreSQL,
killed with SIGKILL mid-flow and restarted, resumes where its last committed batch left it and ends with read
models equal to a rebuild; a failing batch is logged, backed off and caught up; a rebuild racing the worker loses
nothing. And the embedded SQLite follower picks up what another process writes to the same file."""

from __future__ import annotations

import json
import logging
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
from application.projections.decision_log import DecisionLog
from domain.access import Actor, Role
from domain.division_preparedness import CriticalFunction, DivisionPreparedness
from domain.shared import utc_now
from infrastructure.bootstrap import Services, open_services
from interfaces.cli.main import main
from tests.conftest import ApiClient, FakeClock, make_api, settings_for
from tests.live import ROOT, spawn, valmius_env, wait_until

VIEWS = ("situation_overview", "crisis_timeline", "readiness_board", "police_liaison_board", "decision_log")
DO = Actor("DO-1", Role.DUTY_OFFICER)
PM = Actor("PM", Role.PREPAREDNESS_MANAGER)
PC = Actor("PC", Role.POLICE_COORDINATOR)
LR = Actor("LR-2", Role.LEADERSHIP)


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
    """`valmius project` as a process of its own, its log in a file; `code` runs instead of the plain command (a
    worker with a bug put into it)."""

    def __init__(self, database_url: str, log: Path, code: str | None = None) -> None:
        self.log = log
        self.process = spawn(["-c", code] if code else ["-m", "interfaces.cli.main", "project"], database_url, log)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def started_from(self, timeout: float = 15) -> int:
        """The position the worker says it follows from, once it says so."""
        wait_until(lambda: "projection worker following" in self.text() or self.process.poll() is not None,
                   timeout, "the worker to start")
        found = re.search(r"projection worker following the \w+ store from position (\d+)", self.text())
        assert found, self.text()
        return int(found.group(1))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


@pytest.fixture
def workers(postgres_url: str, tmp_path) -> Iterator[Callable[..., Worker]]:  # noqa: ANN001
    started: list[Worker] = []

    def start(name: str, database_url: str = postgres_url, code: str | None = None) -> Worker:
        started.append(Worker(database_url, tmp_path / f"{name}.log", code))
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
                    app.complete_action(DO, crisis, action_id=f"A-{i - 1}", note="done")
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
                        app.answer_police_request(PC, self.liaison, request_id=f"PR-{i}",
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
def test_a_batch_failing_once_is_logged_and_applied_model_by_model(pg, monkeypatch, caplog):
    """Given the follower running, when the decision log's batch fails once (the database drops the connection),
    then the failure is logged, the batch is applied again to each read model alone, and the follower catches up
    with every write, including those made meanwhile, with no failure left: the read models equal a rebuild."""
    app, views = pg.coordination, pg.projections
    decision_log = views.models["decision_log"]
    apply = decision_log.apply_notification
    failed = threading.Event()

    def drop_once(tx, notification, event):  # noqa: ANN001, ANN202
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

    failures = [r for r in caplog.records if r.getMessage().startswith("a batch failed for the read models together")]
    assert len(failures) == 1 and "server closed the connection unexpectedly" in failures[0].getMessage()
    assert views.failures() == {}
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


# --- a read model that fails on an event -------------------------------------------------------------

BUGGY_WORKER = """
import sys
from application.projections.decision_log import DecisionLog
from interfaces.cli.main import main

recorded = DecisionLog.recorded

def recorded_with_a_bug(self, tx, event, position):
    if event.decision_id == "D-BUG":
        raise ValueError("no room for decision D-BUG")
    recorded(self, tx, event, position)

DecisionLog.recorded = recorded_with_a_bug
sys.exit(main(["project"]))
"""


def decision(decision_id: str) -> dict:
    return {"decision_id": decision_id, "decided_by": "Mayor", "decision": f"decision {decision_id}",
            "rationale": "storm", "options": ["act", "wait"]}


@pytest.fixture(params=["sqlite", "postgres"])
def api_without_follower(request, tmp_path) -> Iterator[ApiClient]:  # noqa: ANN001
    """The HTTP API on SQLite or PostgreSQL, the read models followed by `valmius project` only."""
    pg = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = settings_for(request.param, tmp_path, pg, embedded_projections=False)
    yield from make_api(settings, FakeClock(utc_now()))


def test_a_worker_stopped_by_a_failing_read_model_goes_on_with_the_others_and_a_fixed_one_resumes_exactly_once(
    api_without_follower, workers
):
    """Given the API and a `valmius project` worker whose decision log has a bug on decision D-BUG, when D-BUG
    and more are recorded, then the worker keeps the other read models current, says in its log where the
    decision log stopped, and /health/ready of the API process answers 503 naming the decision log and the
    failing position to a reader (an anonymous caller learns only "not ready"); the decision log's answer says
    it is stale. When the worker is stopped and the fixed version started, it resumes at D-BUG and applies it
    exactly once: ready again, and the read models equal a rebuild."""
    api = api_without_follower
    url = api.services.settings.database_url
    views, app = api.services.projections, api.services.coordination
    officer, reader = api.headers("DO-1", "duty_officer"), api.headers("LR-1", "leadership")
    buggy = workers("buggy", url, BUGGY_WORKER)
    assert buggy.started_from() == 0
    body = {"crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2}
    assert api.post("/crises", json=body, headers=officer).status_code == 201
    for decision_id in ("D-1", "D-BUG", "D-AFTER"):
        assert api.post("/crises/C-1/decisions", json=decision(decision_id), headers=officer).status_code == 200
    bug = app.recorder.max_notification_id() - 1
    assert api.post("/crises", json={**body, "crisis_id": "C-2"}, headers=officer).status_code == 201
    end = app.recorder.max_notification_id()

    others = [name for name in views.models if name != "decision_log"]
    wait_until(lambda: all(views.position(name) == end for name in others), 20, "the other read models")
    wait_until(lambda: "decision_log" in views.failures(), 20, "the failure to be recorded")
    ready = api.get("/health/ready", headers=reader)
    anonymous = api.get("/health/ready")
    decisions = api.get("/crises/C-1/decision-log", headers=reader)
    timeline = api.get("/crises/C-2/timeline", headers=reader)

    assert views.position("decision_log") == bug - 1
    assert f"read model decision_log fails on the event at position {bug}" in buggy.text()
    assert ready.status_code == 503 and ready.json()["code"] == "READ_MODEL_BEHIND"
    assert f"read model decision_log is stopped before the event at position {bug}" in ready.json()["detail"]
    assert ready.json()["read_models"]["situation_overview"] == {"position": end, "behind": 0, "failed": False}
    assert anonymous.status_code == 503 and (anonymous.json()["code"], anonymous.json()["detail"]) == (
        "NOT_READY", "not ready"
    )
    assert "problems" not in anonymous.json() and "read_models" not in anonymous.json()
    assert [d["decision_id"] for d in decisions.json()["decisions"]] == ["D-1"]
    assert (decisions.headers["Valmius-Freshness"], decisions.headers["Valmius-Position"]) == ("stale", str(bug - 1))
    assert decisions.headers["Valmius-Head"] == str(end)
    assert timeline.status_code == 200 and timeline.headers["Valmius-Freshness"] == "live"
    assert api.get("/health/live").json() == {"status": "up"}

    assert buggy.stop() == 0
    fixed = workers("fixed", url)
    assert fixed.started_from() == bug - 1
    wait_until(lambda: views.position("decision_log") == end, 20, "the fixed worker to catch up")
    ready = api.get("/health/ready", headers=reader)
    assert fixed.stop() == 0

    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert api.get("/health/ready").json() == {"status": "ready", "read_models": None}
    log = api.get("/crises/C-1/decision-log", headers=reader).json()["decisions"]
    assert sorted(d["decision_id"] for d in log) == ["D-1", "D-AFTER", "D-BUG"]  # equal instants: in key order
    assert views.failures() == {}
    live = read_model_rows(api.services)
    views.rebuild()
    assert read_model_rows(api.services) == live


@pytest.mark.postgres
def test_a_row_postgresql_refuses_stops_only_its_read_model_at_the_event_that_wrote_it(pg):
    """Given the readiness board writing, for plan CP-BUG, an MTPD its INTEGER column cannot hold (as a plan of
    3 000 000 000 minutes did), when CP-BUG is drafted among other writes, then PostgreSQL refuses the row when
    the batch's statements are sent, and the board alone stops just before CP-BUG's event, with the database's
    error kept; every other read model, the audit chain included, reaches the end of the log."""
    app, views = pg.coordination, pg.projections
    board = views.models["readiness_board"]
    drafted = board.handlers[DivisionPreparedness.PlanDrafted]

    def drafted_out_of_range(tx, event, position):  # noqa: ANN001, ANN202
        drafted(tx, event, position)
        if event.plan_id == "CP-BUG":
            board.after_rows(tx, "UPDATE rm_plans SET mtpd_minutes = %s WHERE plan_id = %s", (3_000_000_000, "CP-BUG"))

    board.handlers[DivisionPreparedness.PlanDrafted] = drafted_out_of_range
    declare(app, "C-1")
    app.draft_continuity_plan(PM, "SOTEPE", plan_id="CP-BUG", title="Water outage",
                              critical_functions=[CriticalFunction("medication", 12 * 60, 4 * 60)])
    bug = app.recorder.max_notification_id()
    app.record_log_entry(DO, "C-1", text="Tankers on their way")
    declare(app, "C-2")
    end = app.recorder.max_notification_id()

    views.catch_up()

    assert views.position("readiness_board") == bug - 1
    assert {name: views.position(name) for name in views.models if name != "readiness_board"} == {
        name: end for name in views.models if name != "readiness_board"
    }
    failure = views.failures()["readiness_board"]
    assert (failure.position, failure.error) == (bug, "DataError: integer out of range")


def test_ready_waits_for_read_models_within_the_configured_lag_and_tells_details_only_to_readers(
    api_without_follower,
):
    """Given the API with no follower running and a lag of at most 2 events allowed, when 3 events are recorded,
    then /health/ready is 503, naming each read model 3 events behind to a reader, and only "not ready" to an
    anonymous caller, while /health/live says up to anyone; a bad token is refused, not taken for anonymous.
    Once the log is followed, ready."""
    api = api_without_follower
    api.services.settings.ready_max_lag_events = 2
    officer, reader = api.headers("DO-1", "duty_officer"), api.headers("LR-1", "leadership")
    api.services.projections.catch_up()  # what the store was seeded with
    assert api.get("/health/ready").status_code == 200
    caught = api.services.coordination.recorder.max_notification_id()
    body = {"crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2}
    assert api.post("/crises", json=body, headers=officer).status_code == 201
    for text in ("Trees down", "Road closed"):
        assert api.post("/crises/C-1/log-entries", json={"text": text}, headers=officer).status_code == 200
    head = api.services.coordination.recorder.max_notification_id()

    told = api.get("/health/ready", headers=reader)
    anonymous = api.get("/health/ready")
    forged = api.get("/health/ready", headers={"Authorization": "Bearer vlm_not-a-token"})

    assert told.status_code == 503 and told.headers["content-type"] == "application/problem+json"
    assert len(told.json()["problems"]) == len(api.services.projections.models)
    behind = f"read model situation_overview is {head - caught} events behind the head {head} (at most 2)"
    assert head - caught == 3 and behind in told.json()["problems"]
    assert anonymous.status_code == 503 and set(anonymous.json()) == {"type", "title", "status", "detail", "code",
                                                                       "instance", "request_id"}
    assert (anonymous.json()["code"], anonymous.json()["detail"]) == ("NOT_READY", "not ready")
    assert forged.status_code == 401
    assert api.get("/health/live").json() == {"status": "up"}
    api.services.projections.catch_up()
    assert api.get("/health/ready", headers=reader).json()["status"] == "ready"


def test_valmius_rebuild_reports_a_failing_read_model_and_rebuilds_the_others(
    api_without_follower, monkeypatch, capsys
):
    """Given a store with decisions D-1 and D-BUG, when `valmius rebuild` runs with a bug in the decision log's
    handler of D-BUG, then it rebuilds every other read model to the end of the log, reports the decision log's
    failure (position, error) and exits 1."""
    api = api_without_follower
    officer = api.headers("DO-1", "duty_officer")
    body = {"crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2}
    assert api.post("/crises", json=body, headers=officer).status_code == 201
    for decision_id in ("D-1", "D-BUG"):
        assert api.post("/crises/C-1/decisions", json=decision(decision_id), headers=officer).status_code == 200
    end = api.services.coordination.recorder.max_notification_id()
    recorded = DecisionLog.recorded

    def recorded_with_a_bug(self, tx, event, position):  # noqa: ANN001, ANN202
        if event.decision_id == "D-BUG":
            raise ValueError("no room for decision D-BUG")
        recorded(self, tx, event, position)

    monkeypatch.setattr(DecisionLog, "recorded", recorded_with_a_bug)
    monkeypatch.setenv("VALMIUS_DATABASE_URL", api.services.settings.database_url)

    code = main(["rebuild"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"situation_overview: rebuilt over {end} events of the log, at position {end}" in out
    assert (f"decision_log: FAILED on the event at position {end} (ValueError: no room for decision D-BUG); "
            f"rebuilt up to position {end - 1}") in out
    assert api.services.projections.failures()["decision_log"].position == end


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
        subprocess.run([sys.executable, "-c", WRITE_FROM_ANOTHER_PROCESS], cwd=ROOT,
                       env=valmius_env(settings.database_url), check=True, timeout=30)
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
