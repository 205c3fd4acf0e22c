#!/usr/bin/env python3
"""The situation overview as known at a past moment, in a store of 100,000 events (target ≤ 1 s).

What it does, in one run:

1. Creates a fresh PostgreSQL database of its own (default `valmius_bench_as_of`, dropped first if it
   exists, and dropped again at the end unless --keep), or with --sqlite a SQLite file in a temporary
   directory.
2. Generates the events through the Coordination application, quickly: the domain's own command methods
   on aggregates held in memory (so every rule is enforced and every event is the real one), saved with
   `Coordination.save` in bursts: all commands of one burst share one server-clock reading and are stored
   in one transaction. Bursts are 10 simulated minutes apart, so recording times follow log order. The
   application's own aggregate snapshots (a separate table, not part of the log) are switched off while
   generating: taking them was two thirds of the generation time.
   The mix is a city's busy fortnight: about 25 crises at a time, each declared, logged into (45 % of the
   commands), given actions that are completed or cancelled, situation reports, severity changes,
   decisions and their reviews, police requests raised and answered, units' readiness changed, continuity
   plans activated and deactivated, and finally contained, resolved and closed.
3. Lets the follower catch up (`Projections.catch_up`, what `valmius project` runs) into the read models;
   the history snapshots of the overview are taken by it, every --snapshot-every events.
4. For each chosen moment (default 30 %, 60 % and 95 % of the way through the recorded time), measures
   - the overview as known at that moment through HTTP (GET /audit/situation-overview?as_of=…, in-process
     TestClient, an auditor's token): median and worst of --repeat requests;
   - the same computed by a full replay from the first event, without snapshots (`full_replay=true`);
   and checks that both answers are the same.

Nothing is written into the repository: the table goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import random
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import fresh_database, drop_database

from eventsourcing.domain import Aggregate

from application.coordination import Coordination
from domain.crisis import Crisis
from domain.division_preparedness import CriticalFunction, DivisionPreparedness
from domain.police_liaison import PoliceLiaison
from domain.shared import display
from infrastructure.bootstrap import Services, open_services
from infrastructure.settings import Settings

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
UNITS = ["KANSLIA", "KASKO", "KYMP", "KUVA", "SOTEPE", "STARA", "PALVELUKESKUS", "TALPA", "TYOTERVEYS"]
LADDER = ["BASIC", "ENHANCED", "COMMAND"]
CATEGORIES = ["SEVERE_WEATHER", "CYBER_INCIDENT", "UTILITY_WATER", "ENERGY_SUPPLY", "PUBLIC_HEALTH", "MASS_EVENT"]
BURST_EVERY = timedelta(minutes=10)
START = datetime(2025, 10, 1, 8, 0, tzinfo=UTC)


def note(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# --- generating the store ------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class CrisisRun:
    crisis: Crisis
    liaison: PoliceLiaison | None = None
    commands: int = 0
    lifetime: int = 0
    open_actions: list[str] = field(default_factory=list)
    open_requests: list[str] = field(default_factory=list)
    decisions_to_review: list[str] = field(default_factory=list)
    plans: list[tuple[str, str]] = field(default_factory=list)  # (unit, plan_id) active for it
    counter: int = 0


class Generator:
    """A city's busy fortnight, command by command, through the domain and Coordination.save."""

    def __init__(self, app: Coordination, clock: Clock, seed: int) -> None:
        self.app = app
        self.clock = clock
        self.policy = app.policy
        self.rng = random.Random(seed)
        self.units = {u: app.repository.get(DivisionPreparedness.id_for(u)) for u in UNITS}
        self.free_plans: list[tuple[str, str]] = []
        self.running: list[CrisisRun] = []
        self.declared = 0
        self.dirty: dict[Any, Aggregate] = {}

    def touch(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self.dirty[aggregate.id] = aggregate

    def save(self) -> int:
        aggregates = list(self.dirty.values())
        self.dirty.clear()
        pending = sum(len(a.pending_events) for a in aggregates)
        if aggregates:
            self.app.save(*aggregates)
        return pending

    def kw(self) -> dict[str, Any]:
        return {"occurred_at": self.clock.now, "policy": self.policy, "actor": "DO-1", "now": self.clock.now}

    def plans(self) -> None:
        now = self.clock.now
        for unit, prep in self.units.items():
            for n in range(1, 4):
                plan_id = f"CP-{unit}-{n:02d}"
                prep.draft_plan(
                    plan_id=plan_id, title=f"Continuity plan {n} of {unit}", owner=f"Head of {unit}",
                    critical_functions=[CriticalFunction(f"function {n}", 240 * n, 60 * n)],
                    next_review_due=now + timedelta(days=self.rng.randint(3, 40)), actor="PM", now=now,
                )
                prep.approve_plan(plan_id=plan_id, approved_by=f"Director of {unit}", occurred_at=now,
                                  policy=self.policy, actor="PM", now=now)
                self.free_plans.append((unit, plan_id))
            self.touch(prep)

    def declare(self) -> None:
        self.declared += 1
        crisis_id = f"C-{self.declared:04d}"
        crisis = Crisis.declare(
            crisis_id=crisis_id, title=f"Crisis {self.declared}", category=self.rng.choice(CATEGORIES),
            severity=self.rng.randint(1, 3), areas=["Kallio", "Vuosaari"], occurred_at=self.clock.now,
            emergency_conditions_in_force=False, policy=self.policy, actor="DO-1", now=self.clock.now,
        )
        self.running.append(CrisisRun(crisis, lifetime=self.rng.randint(250, 650)))
        self.touch(crisis)

    def command(self, run: CrisisRun) -> None:
        crisis, rng, now = run.crisis, self.rng, self.clock.now
        run.commands += 1
        run.counter += 1
        n = run.counter
        roll = rng.random()
        if roll < 0.45:
            crisis.record_log_entry(text=f"Update {n}: crews on site", source="HSY", **self.kw())
        elif roll < 0.57:
            action_id = f"A-{n}"
            crisis.assign_action(action_id=action_id, unit=rng.choice(UNITS), task=f"Task {n}",
                                 due_at=now + timedelta(minutes=rng.choice([30, 60, 120, 240])), **self.kw())
            run.open_actions.append(action_id)
        elif roll < 0.67 and run.open_actions:
            action_id = run.open_actions.pop(rng.randrange(len(run.open_actions)))
            close = crisis.complete_action if rng.random() < 0.9 else crisis.cancel_action
            close(action_id=action_id, note="done", **self.kw())
        elif roll < 0.74:
            crisis.issue_situation_report(number=None, summary=f"Report {n}", next_due_at=now + timedelta(hours=2),
                                          **self.kw())
        elif roll < 0.78:
            to = crisis.severity + 1 if crisis.severity < 3 else crisis.severity - 1
            crisis.change_severity(to_severity=to, reason="reassessed", **self.kw())
        elif roll < 0.82:
            decision_id = f"D-{n}"
            crisis.record_decision(
                decision_id=decision_id, decided_by="Executive Director", authority="delegation",
                decision=f"Decision {n}", rationale="because", options=["act", "wait"],
                review_at=now + timedelta(hours=rng.choice([1, 3, 6])), references=[], **self.kw(),
            )
            run.decisions_to_review.append(decision_id)
        elif roll < 0.84 and run.decisions_to_review:
            crisis.record_decision_review(decision_id=run.decisions_to_review.pop(0), outcome="held", **self.kw())
        elif roll < 0.88:
            self.raise_request(run, n)
        elif roll < 0.92 and run.open_requests:
            self.answer_request(run, run.open_requests.pop(0))
        elif roll < 0.95:
            unit = rng.choice(UNITS)
            prep = self.units[unit]
            to = rng.choice([level for level in LADDER if level != prep.readiness])
            prep.change_readiness(to_level=to, decided_by="Director", reason="situation", crisis_ref=crisis.crisis_id,
                                  emergency_conditions_in_force=False, **self.kw())
            self.touch(prep)
        elif roll < 0.975 and self.free_plans and len(run.plans) < 2:
            unit, plan_id = self.free_plans.pop(rng.randrange(len(self.free_plans)))
            crisis.link_plan(plan_id=plan_id, unit=unit, actor="DO-1", now=now)
            self.units[unit].activate_plan(plan_id=plan_id, crisis_id=crisis.crisis_id, **self.kw())
            run.plans.append((unit, plan_id))
            self.touch(self.units[unit])
        elif run.plans:
            self.deactivate_plan(run, run.plans.pop(0))
        else:
            crisis.record_log_entry(text=f"Update {n}", source=None, **self.kw())
        self.touch(crisis)

    def raise_request(self, run: CrisisRun, n: int) -> None:
        now = self.clock.now
        if run.liaison is None:
            run.liaison = PoliceLiaison.open(liaison_id=f"PL-{run.crisis.crisis_id}", crisis_id=run.crisis.crisis_id,
                                             topic=None, actor="PC", now=now)
        request_id = f"PR-{n}"
        run.liaison.raise_request(
            request_id=request_id, direction=self.rng.choice(["CITY_TO_POLICE", "POLICE_TO_CITY"]),
            request_type="COORDINATION", subject=f"Request {n}", not_before=run.crisis.declared_at, **self.kw(),
        )
        run.crisis.link_police_request(request_id=request_id, liaison_id=run.liaison.liaison_id, actor="PC", now=now)
        run.open_requests.append(request_id)
        self.touch(run.liaison, run.crisis)

    def answer_request(self, run: CrisisRun, request_id: str) -> None:
        assert run.liaison is not None
        run.liaison.answer_request(request_id=request_id, response="answered", answered_by="HPD", **self.kw())
        run.crisis.unlink_police_request(request_id=request_id, outcome="ANSWERED", actor="PC", now=self.clock.now)
        self.touch(run.liaison, run.crisis)

    def deactivate_plan(self, run: CrisisRun, plan: tuple[str, str]) -> None:
        unit, plan_id = plan
        self.units[unit].deactivate_plan(plan_id=plan_id, reason="restored", **self.kw())
        run.crisis.unlink_plan(plan_id=plan_id, actor="DO-1", now=self.clock.now)
        self.free_plans.append(plan)
        self.touch(self.units[unit], run.crisis)

    def wind_down(self, run: CrisisRun) -> None:
        """Everything open is closed, then the crisis is contained, resolved and closed."""
        crisis = run.crisis
        for action_id in run.open_actions:
            crisis.complete_action(action_id=action_id, note="done", **self.kw())
        for request_id in run.open_requests:
            self.answer_request(run, request_id)
        for plan in run.plans:
            self.deactivate_plan(run, plan)
        for move in (crisis.contain, crisis.resolve, crisis.close):
            move(reason="over", **self.kw())
        self.touch(crisis)
        self.running.remove(run)

    def run(self, events: int, concurrent: int, progress: Callable[[int], None]) -> tuple[datetime, datetime]:
        self.plans()
        first = self.clock.now
        stored = self.app.recorder.max_notification_id() or 0
        stored += self.save()
        while stored < events:
            self.clock.now += BURST_EVERY
            for _ in range(self.rng.randint(20, 60)):
                if len(self.running) < concurrent and self.rng.random() < 0.3:
                    self.declare()
                    continue
                if not self.running:
                    continue
                run = self.rng.choice(self.running)
                if run.commands >= run.lifetime:
                    self.wind_down(run)
                else:
                    self.command(run)
            added = self.save()
            stored += added
            progress(added)
        return first, self.clock.now


# --- measuring ------------------------------------------------------------------------------------------


def without_basis(picture: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in picture.items() if k != "history"}


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def measure(services: Services, settings: Settings, moments: list[tuple[float, datetime]], repeat: int) -> list[dict]:
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    token, _ = services.tokens.issue(user="AUD-bench", role="auditor", unit=None, clearance=True, issued_by="bench",
                                     now=datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    with TestClient(create_app(settings, services=services)) as client:
        for fraction, moment in moments:
            url = f"/audit/situation-overview?as_of={quote(moment.isoformat())}"
            client.get(url, headers=headers)  # warm: the first request of a process pays for imports
            times, answer = [], None
            for _ in range(repeat):
                seconds, response = timed(lambda url=url: client.get(url, headers=headers))
                assert response.status_code == 200, response.text
                times.append(seconds)
                answer = response.json()
            note(f"  {fraction:.0%}: as-of median {statistics.median(times) * 1000:.0f} ms; full replay …")
            full_seconds, full = timed(lambda url=url: client.get(url + "&full_replay=true", headers=headers))
            full = full.json()
            basis = answer["history"]
            rows.append({
                "moment": f"{fraction:.0%}",
                "as_of": display(moment, seconds=True),
                "snapshot": basis["snapshot_position"],
                "read": basis["events_read"],
                "applied": basis["events_applied"],
                "median_ms": statistics.median(times) * 1000,
                "worst_ms": max(times) * 1000,
                "full_ms": full_seconds * 1000,
                "full_applied": full["history"]["events_applied"],
                "same": without_basis(answer) == without_basis(full),
                "active": len(answer["active_crises"]),
                "open_actions": len(answer["open_actions"]),
            })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time the situation overview as known at past moments in a store of N events, from the "
        "follower's snapshots and by a full replay. Prints a table; writes nothing into the repository.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=100_000, help="events to generate")
    parser.add_argument("--snapshot-every", type=int, default=5000, help="VALMIUS_HISTORY_SNAPSHOT_EVERY")
    parser.add_argument("--moments", default="30,60,95", help="moments as percentages of the recorded time span")
    parser.add_argument("--repeat", type=int, default=5, help="as-of requests per moment")
    parser.add_argument("--concurrent-crises", type=int, default=25, help="crises running at a time")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the command mix")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL server (the database is created on it)")
    parser.add_argument("--database", default="valmius_bench_as_of", help="the database created for the run")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file in a temporary directory instead")
    args = parser.parse_args(argv)

    command = shlex.join(["python", "bench/as_of.py", *(argv if argv is not None else sys.argv[1:])])
    workdir = tempfile.TemporaryDirectory(prefix="valmius-bench-")
    if args.sqlite:
        url = f"sqlite:///{workdir.name}/valmius.sqlite3"
    else:
        url = fresh_database(args.admin_url, args.database)
    settings = Settings(
        environment="test", database_url=url, history_snapshot_every=args.snapshot_every,
        embedded_projections=False, _env_file=None,
    )
    clock = Clock(START)
    services = open_services(settings, clock)
    try:
        note(f"generating {args.events:,} events on {settings.store} …")
        generator = Generator(services.coordination, clock, args.seed)
        services.coordination.snapshotting_intervals = {}  # aggregate snapshots: not in the log, only slower
        done = [0]

        def progress(added: int) -> None:
            done[0] += added
            if done[0] // 10_000 != (done[0] - added) // 10_000:
                note(f"  {done[0]:,} events")

        generate_seconds, (first, last) = timed(lambda: generator.run(args.events, args.concurrent_crises, progress))
        total = services.coordination.recorder.max_notification_id()
        note(f"follower catching up {total:,} events into the read models (snapshots every {args.snapshot_every}) …")
        follow_seconds, _ = timed(services.projections.catch_up)
        snapshots = services.history.snapshots.all()
        size = services.sql.query("SELECT SUM(LENGTH(data)) AS bytes FROM valmius_history_snapshots")[0]["bytes"] or 0
        span = last - first
        moments = [(int(p) / 100, first + span * (int(p) / 100)) for p in args.moments.split(",")]
        note("measuring …")
        rows = measure(services, settings, moments, args.repeat)
    finally:
        services.close()
        if not args.sqlite and not args.keep:
            drop_database(args.admin_url, args.database)
        workdir.cleanup()

    print(f"$ {command}")
    print(
        f"store: {settings.store}, {total:,} events ({generator.declared} crises) recorded from "
        f"{display(first)} to {display(last)}; generated in {generate_seconds:.1f} s "
        f"({total / generate_seconds:,.0f} events/s through Coordination.save)"
    )
    print(
        f"follower: {follow_seconds:.1f} s to project them ({total / follow_seconds:,.0f} events/s), taking "
        f"{len(snapshots)} overview snapshots every {args.snapshot_every} events ({size / 1e6:.1f} MB compressed)"
    )
    print()
    header = (
        f"{'moment':>6}  {'as of (Helsinki)':<25} {'snapshot':>8} {'read':>6} {'applied':>7} "
        f"{'as-of median':>12} {'worst':>7} {'full replay':>11} {'(events)':>9} {'same':>5}  picture"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['moment']:>6}  {r['as_of']:<25} {r['snapshot'] or '-':>8} {r['read']:>6} {r['applied']:>7} "
            f"{r['median_ms']:>9.0f} ms {r['worst_ms']:>4.0f} ms {r['full_ms']:>8.0f} ms {r['full_applied']:>9} "
            f"{'yes' if r['same'] else 'NO':>5}  {r['active']} crises, {r['open_actions']} open actions"
        )
    print()
    print("as-of: GET /audit/situation-overview?as_of=… (HTTP, in-process), from the latest snapshot whose events "
          f"were all recorded by then; median and worst of {args.repeat}. full replay: the same with full_replay=true.")
    return 0 if all(r["same"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
