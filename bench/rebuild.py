#!/usr/bin/env python3
"""Rebuild rate of Valmius's read models on PostgreSQL, against the raw scan of the log.

On a database of its own (default `valmius_bench_rebuild`, created afresh and dropped at the end unless
--keep-database), fills the log up to N events (default 100,000) generated quickly in this process with the
aggregates' own command methods and Coordination.save (many commands per transaction: the use cases, one
transaction each, would take minutes), with a crisis-room mix of crisis, readiness and police-liaison events.
Then measures on that log: the raw scan-and-decode rate (select_notifications in batches +
mapper.to_domain_event, nothing else; read as the library reads the log, the baseline of the target, and as
Valmius's own recorder reads it, in PostgreSQL's binary format), the follower's catch-up into all read models, `Projections.rebuild` of
each read model one after another (what `valmius rebuild` does) and, where Projections supports it, all read
models rebuilt in one pass. The read models' tables must be identical after each of these (checked by a digest
of every row); they are VACUUMed, untimed, before each rebuild, as autovacuum would have done between two
rebuilds in production.

Nothing is written into the repository: results go to stdout, progress to stderr, optionally --json FILE.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import (  # noqa: E402
    Context,
    bench_parser,
    command_line,
    print_report,
    report_head,
    run,
    table,
    verdict,
)
from bench.workload import LEVELS  # noqa: E402

import psycopg  # noqa: E402
from eventsourcing.postgres import PostgresApplicationRecorder  # noqa: E402

# --- generating the log --------------------------------------------------------------------------------


class LogGenerator:
    """A crisis room's log, built with the aggregates' own command methods (the rules the use cases rely on
    run as usual) and stored with Coordination.save, `batch` events per transaction.

    Crises run concurrently (`active` at a time); each lives for about `per_crisis` events of log entries,
    severity changes, actions assigned and closed, situation reports, decisions and their reviews, police
    requests raised and answered (on the crisis's police liaison, recorded on the crisis too), readiness
    changes of the units and continuity plans activated for it; then it winds down (closes its items,
    contain, resolve, close, after-action review) and a new crisis is declared.
    """

    MIX: ClassVar[list[tuple[str, float]]] = [
        ("log", 46),
        ("severity", 5),
        ("assign", 12),
        ("close_action", 11),
        ("sitrep", 4),
        ("decision", 3),
        ("review", 1.5),
        ("raise", 3),
        ("answer", 2.5),
        ("share", 1),
        ("readiness", 3),
        ("activate", 1),
        ("deactivate", 0.8),
        ("contain", 0.4),
        ("plan_review", 0.5),
        ("exercise", 0.3),
    ]

    def __init__(self, app: Any, rng: random.Random, per_crisis: int, active: int, batch: int) -> None:
        from domain.division_preparedness import CriticalFunction, DivisionPreparedness

        self.app = app
        self.policy = app.policy
        self.rng = rng
        self.per_crisis = per_crisis
        self.batch = batch
        self.dirty: dict[Any, Any] = {}
        self.events = 0
        self.pending = 0
        self.serial = 0
        self.declared = 0
        self.liaisons = 0
        self.crises: list[dict[str, Any]] = []
        now = self.now()
        self.units = {u: app.repository.get(DivisionPreparedness.id_for(u)) for u in self.policy.units.units}
        for unit, prep in self.units.items():
            for i in (1, 2):
                plan_id = f"CP-{unit}-G{i}"
                if plan_id in prep.plans:
                    continue
                prep.draft_plan(
                    plan_id=plan_id,
                    title=f"Continuity of {unit} services {i}",
                    owner=f"Director, {unit}",
                    critical_functions=[CriticalFunction(f"service {i}", 12 * 60, 4 * 60)],
                    next_review_due=now + timedelta(days=180),
                    actor=f"DC-{unit}",
                    now=now,
                )
                prep.approve_plan(
                    plan_id=plan_id,
                    approved_by=f"Executive Director, {unit}",
                    occurred_at=now,
                    policy=self.policy,
                    actor=f"DC-{unit}",
                    now=now,
                )
            self.touch(prep, 0)
        self.pending = sum(len(a.pending_events) for a in self.dirty.values())
        for _ in range(active):
            self.declare()

    @staticmethod
    def now() -> datetime:
        return datetime.now(timezone.utc)

    def touch(self, aggregate: Any, events: int = 1) -> None:
        self.dirty[aggregate.id] = aggregate
        self.pending += events

    def flush(self) -> None:
        if self.dirty:
            recordings = self.app.save(*self.dirty.values())
            self.events += len(recordings)
            self.dirty.clear()
            self.pending = 0

    def declare(self) -> None:
        from domain.crisis import Crisis

        self.serial += 1
        now = self.now()
        crisis_id = f"G-{self.serial:05d}"
        crisis = Crisis.declare(
            crisis_id=crisis_id,
            title=f"{self.rng.choice(['Storm', 'Water main break', 'Heatwave', 'Data breach'])} {self.serial}",
            category=self.rng.choice(["SEVERE_WEATHER", "UTILITY_WATER", "ENERGY_SUPPLY", "CYBER_INCIDENT"]),
            severity=self.rng.choice([1, 2, 2, 3]),
            areas=self.rng.sample(["Vuosaari", "Kontula", "Kallio", "Pasila", "Malmi"], 2),
            occurred_at=now,
            emergency_conditions_in_force=False,
            policy=self.policy,
            actor="DO-1",
            now=now,
        )
        self.declared += 1
        self.touch(crisis)
        quota = self.rng.randint(self.per_crisis // 2, self.per_crisis * 3 // 2)
        self.crises.append({"crisis": crisis, "quota": quota, "events": 1, "liaison": None, "n": 0})

    def step(self) -> None:
        state = self.rng.choice(self.crises)
        if state["events"] >= state["quota"]:
            added = self.wind_down(state)
        else:
            kinds, weights = zip(*self.MIX)
            added = self.command(state, self.rng.choices(kinds, weights)[0])
        state["events"] += added
        if self.pending >= self.batch:
            self.flush()

    def command(self, state: dict[str, Any], kind: str) -> int:
        from domain.police_liaison import PoliceLiaison

        c = state["crisis"]
        state["n"] += 1
        n = state["n"]
        now = self.now()
        p = {"occurred_at": now, "policy": self.policy, "now": now}
        rng = self.rng
        open_actions = [(i, a) for i, a in c.actions.items() if a.status == "OPEN"]
        liaison = state["liaison"]
        if kind == "close_action" and not open_actions:
            kind = "assign"
        if kind == "answer" and (liaison is None or not liaison.open_requests()):
            kind = "raise"
        if kind == "review" and not c.decisions:
            kind = "decision"
        if kind == "contain" and c.status not in ("ACTIVE", "CONTAINED"):
            kind = "log"
        if kind == "log":
            c.record_log_entry(
                text=f"Update {n}: {rng.randint(10, 9999)} customers affected, crews on site",
                source=rng.choice(["HSY", "Helen", "HRT", None]),
                actor="DO-1",
                **p,
            )
        elif kind == "severity":
            c.change_severity(
                to_severity=rng.choice([s for s in (1, 2, 3, 4) if s != c.severity]),
                reason=f"reassessed ({n})",
                actor="DO-1",
                **p,
            )
        elif kind == "assign":
            unit = rng.choice(list(self.units))
            c.assign_action(
                action_id=f"A-{n}",
                unit=unit,
                task=f"Task {n} for {unit}",
                due_at=now + timedelta(hours=rng.randint(1, 8)),
                actor="DO-1",
                **p,
            )
        elif kind == "close_action":
            action_id, a = rng.choice(open_actions)
            close = c.complete_action if rng.random() < 0.9 else c.cancel_action
            close(action_id=action_id, note="done", actor=f"DC-{a.unit}", **p)
        elif kind == "sitrep":
            c.issue_situation_report(
                number=None,
                summary=f"Sitrep: {n} updates so far",
                next_due_at=now + timedelta(hours=4),
                actor="DO-1",
                **p,
            )
        elif kind == "decision":
            live = [d for d, successor in c.decisions.items() if successor is None]
            supersedes = rng.choice(live) if live and rng.random() < 0.1 else None
            c.record_decision(
                decision_id=f"D-{n}",
                decided_by="Head of Preparedness",
                authority="delegation",
                decision=f"Decision {n}",
                rationale="protect vulnerable residents first",
                options=["act now", "wait", "ask HSY"][: rng.randint(2, 3)],
                review_at=now + timedelta(hours=12) if rng.random() < 0.5 else None,
                references=[f"sitrep {n}"],
                supersedes=supersedes,
                actor="DO-1",
                **p,
            )
        elif kind == "review":
            c.record_decision_review(decision_id=rng.choice(list(c.decisions)), outcome="holds", actor="DO-1", **p)
        elif kind in ("raise", "share"):
            added = 0
            if liaison is None:
                self.liaisons += 1
                liaison = state["liaison"] = PoliceLiaison.open(
                    liaison_id=f"L-{c.crisis_id}",
                    crisis_id=c.crisis_id,
                    topic=None,
                    city_people=["DO-1"],
                    police_people=["HPD duty officer"],
                    actor="PC",
                    now=now,
                )
                self.touch(liaison)
                added = 1
            if kind == "share":
                liaison.share_information(what=f"List of sites {n}", to_whom="HPD", actor="PC", **p)
                self.touch(liaison)
                return added + 1
            request_id = f"PR-{n}"
            liaison.raise_request(
                request_id=request_id,
                direction=rng.choice(["CITY_TO_POLICE", "POLICE_TO_CITY"]),
                request_type=rng.choice(["INFORMATION", "COORDINATION"]),
                subject=f"Patrols {n}",
                not_before=c.declared_at,
                actor="PC",
                **p,
            )
            c.link_police_request(request_id=request_id, liaison_id=liaison.liaison_id, actor="PC", now=now)
            self.touch(liaison)
            self.touch(c)
            return added + 2
        elif kind == "answer":
            self.answer(c, liaison, rng.choice(liaison.open_requests()).request_id, now)
            return 2
        elif kind == "readiness":
            unit = rng.choice(list(self.units))
            prep = self.units[unit]
            prep.change_readiness(
                to_level=rng.choice([lv for lv in LEVELS if lv != prep.readiness]),
                decided_by=f"Director, {unit}",
                reason=f"{c.crisis_id}",
                crisis_ref=c.crisis_id,
                emergency_conditions_in_force=False,
                actor=f"DC-{unit}",
                **p,
            )
            self.touch(prep)
            return 1
        elif kind == "activate":
            free = [
                (u, pid)
                for u, prep in self.units.items()
                for pid, plan in prep.plans.items()
                if plan.status == "APPROVED" and plan.active_for is None
            ]
            if not free:
                return self.command(state, "log")
            unit, plan_id = rng.choice(free)
            c.link_plan(plan_id=plan_id, unit=unit, actor=f"DC-{unit}", now=now)
            self.units[unit].activate_plan(plan_id=plan_id, crisis_id=c.crisis_id, actor=f"DC-{unit}", **p)
            self.touch(self.units[unit])
            self.touch(c)
            return 2
        elif kind == "deactivate":
            if not c.active_plans:
                return self.command(state, "log")
            self.deactivate(c, rng.choice(sorted(c.active_plans)), now)
            return 2
        elif kind == "contain":
            (c.contain if c.status == "ACTIVE" else c.reopen)(reason="situation changed", actor="DO-1", **p)
        elif kind in ("plan_review", "exercise"):
            unit = rng.choice(list(self.units))
            prep = self.units[unit]
            plan_id = rng.choice(list(prep.plans))
            if kind == "plan_review":
                prep.record_plan_review(
                    plan_id=plan_id,
                    notes="reviewed",
                    next_review_due=now + timedelta(days=180),
                    actor=f"DC-{unit}",
                    **p,
                )
            else:
                prep.record_exercise(
                    plan_id=plan_id, title=f"Exercise {n}", findings=["backup power ok"], actor=f"DC-{unit}", **p
                )
            self.touch(prep)
            return 1
        self.touch(c)
        return 1

    def answer(self, c: Any, liaison: Any, request_id: str, now: datetime) -> None:
        p = {"occurred_at": now, "policy": self.policy, "now": now}
        if self.rng.random() < 0.85:
            liaison.answer_request(
                request_id=request_id, response="two patrols", answered_by="HPD field commander", actor="PC", **p
            )
        else:
            liaison.decline_request(request_id=request_id, response="no resources", actor="PC", **p)
        c.unlink_police_request(request_id=request_id, outcome=liaison.requests[request_id].status, actor="PC", now=now)
        self.touch(liaison)
        self.touch(c)

    def deactivate(self, c: Any, plan_id: str, now: datetime) -> None:
        unit = next(u for u, prep in self.units.items() if plan_id in prep.plans)
        self.units[unit].deactivate_plan(
            plan_id=plan_id, reason="service restored", occurred_at=now, policy=self.policy, actor=f"DC-{unit}", now=now
        )
        c.unlink_plan(plan_id=plan_id, actor=f"DC-{unit}", now=now)
        self.touch(self.units[unit])
        self.touch(c)

    def wind_down(self, state: dict[str, Any]) -> int:
        """Close the crisis's items one command at a time, then contain, resolve, close, review; then replace it."""
        c = state["crisis"]
        now = self.now()
        p = {"occurred_at": now, "policy": self.policy, "now": now}
        open_actions = [(i, a) for i, a in c.actions.items() if a.status == "OPEN"]
        if open_actions:
            action_id, a = open_actions[0]
            c.complete_action(action_id=action_id, note="done before closing", actor=f"DC-{a.unit}", **p)
        elif state["liaison"] is not None and state["liaison"].open_requests():
            self.answer(c, state["liaison"], state["liaison"].open_requests()[0].request_id, now)
            return 2
        elif c.active_plans:
            self.deactivate(c, sorted(c.active_plans)[0], now)
            return 2
        elif c.status == "ACTIVE":
            c.contain(reason="under control", actor="DO-1", **p)
        elif c.status == "CONTAINED":
            c.resolve(reason="resolved", actor="DO-1", **p)
        elif c.status == "RESOLVED":
            c.close(reason="closed", actor="DO-1", **p)
        else:
            c.record_after_action_review(
                findings=["backup power worked"], recommendations=["more generators"], actor="DO-1", **p
            )
            self.crises.remove(state)
            self.touch(c)
            self.declare()
            return 1
        self.touch(c)
        return 1


def count_events(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def generate(ctx: Context, target: int) -> dict[str, Any]:
    args, progress, app = ctx.args, ctx.progress, ctx.app
    table = app.recorder.events_table_name
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        before = count_events(conn, table)
    started = time.perf_counter()
    if before < target:
        generator = LogGenerator(
            app, random.Random(args.seed), args.events_per_crisis, args.active_crises, args.generate_batch
        )
        progress.note(f"generating {target - before} events ({before} in the log already)")
        while before + generator.events + generator.pending < target:
            generator.step()
            if generator.events and generator.pending == 0:
                done = before + generator.events
                progress.line(
                    f"generate: {done:7d}/{target} events  {generator.events / (time.perf_counter() - started):7.0f}/s"
                )
        generator.flush()
        progress.end_line()
    seconds = time.perf_counter() - started
    with psycopg.connect(ctx.database_url, autocommit=True) as conn:
        # as autovacuum's ANALYZE would have by the time of a rebuild: without statistics of the topics,
        # PostgreSQL reads the rest of the log and sorts it for every batch of a read by topic
        conn.execute(f"ANALYZE {table}")
        total = count_events(conn, table)
        topics = conn.execute(f"SELECT topic, count(*) FROM {table} GROUP BY topic").fetchall()
        aggregates = conn.execute(f"SELECT count(DISTINCT originator_id) FROM {table}").fetchone()[0]
        size = conn.execute(f"SELECT pg_total_relation_size('{table}'), avg(length(state)) FROM {table}").fetchone()
    by_aggregate: Counter[str] = Counter()
    by_event: Counter[str] = Counter()
    created: Counter[str] = Counter()
    for topic, count in topics:
        qualname = topic.split(":", 1)[1]
        aggregate, event = qualname.rsplit(".", 1)
        by_aggregate[aggregate] += count
        by_event[qualname] += count
        if event in ("Declared", "Opened", "Registered", "Started", "Created"):
            created[aggregate] += count
    return {
        "events": total,
        "generated": total - before,
        "seconds": seconds,
        "aggregates": aggregates,
        "aggregates_by_type": dict(created),
        "events_by_aggregate": dict(by_aggregate.most_common()),
        "top_events": dict(by_event.most_common(8)),
        "table_bytes": size[0],
        "mean_state_bytes": float(size[1]),
    }


RAW_WAYS = {  # the raw scan's ways of reading the log: "raw" is the issue's baseline
    "raw": "raw scan + decode, the library's read",
    "raw, Valmius's read": "raw scan + decode, Valmius's binary read",
}


def raw_scan(app: Any, batch: int, way: str = "raw") -> tuple[int, float]:
    """select_notifications in batches + mapper.to_domain_event: reading and decoding, no projection work. Read
    as the library reads the log ("raw": the baseline the issue's target was set against, and stays) or as
    Valmius's recorder reads it (binary rows: infrastructure.recorders), which the follower and a rebuild use."""
    select = app.recorder.select_notifications
    if way == "raw":
        select = functools.partial(PostgresApplicationRecorder.select_notifications, app.recorder)
    started = time.perf_counter()
    count, start = 0, 1
    while True:
        notifications = select(start=start, limit=batch)
        if not notifications:
            break
        for notification in notifications:
            app.mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id + 1
    return count, time.perf_counter() - started


def rebuildable(projections: Any) -> list[str]:
    """The read models a rebuild may empty (a model may declare `rebuildable = False`, e.g. evidence)."""
    return [name for name, model in projections.models.items() if getattr(model, "rebuildable", True)]


def read_model_digest(database_url: str, projections: Any) -> str:
    """One digest of every row of every rebuildable read model's tables (row text in a fixed order)."""
    parts = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        for model in (projections.models[name] for name in rebuildable(projections)):
            for table in sorted(model.tables):
                row = conn.execute(
                    f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t"
                ).fetchone()
                parts.append(f"{table}:{row[0]}:{row[1]}")
    return "/".join(parts)


def vacuum(database_url: str, projections: Any) -> None:
    """VACUUM the read models' tables (untimed) so that each rebuild starts as after autovacuum, not in the dead
    rows of the rebuild measured before it (each rebuild deletes every row and writes it again)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for model in projections.models.values():
            for table in model.tables:
                conn.execute(f"VACUUM {table}")


def supports_one_pass(projections: Any) -> bool:
    params = inspect.signature(projections.rebuild).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def rebuild_phase(ctx: Context) -> dict[str, Any]:
    """Raw scan, each read model rebuilt alone, and all of them in one pass, in rounds: on a shared virtual
    machine the same work takes ±30 % from one minute to the next, so each round measures every way once, side
    by side, and the fastest run of each way counts (for the raw scan, the harder baseline)."""
    args, progress, app = ctx.args, ctx.progress, ctx.app
    projections = ctx.services.projections
    if args.rebuild_batch_size:
        projections.rebuild_batch_size = args.rebuild_batch_size
    batch = max(projections.batch_size, projections.rebuild_batch_size)  # what a rebuild reads per batch
    log = generate(ctx, args.events)
    events = log["events"]
    progress.note(f"catch-up: following {events} events into every tracked model (the worker's path)")
    started = time.perf_counter()
    projections.catch_up()
    catch_up_seconds = time.perf_counter() - started
    reference = read_model_digest(ctx.database_url, projections)
    names = rebuildable(projections)
    alone = [] if args.one_pass_only and supports_one_pass(projections) else names
    ways = [*alone, "one pass"] if supports_one_pass(projections) else names
    runs: dict[str, list[float]] = {way: [] for way in [*RAW_WAYS, *ways]}
    cpu: dict[str, list[float]] = {way: [] for way in runs}  # this process's CPU seconds (all its threads)
    identical = True
    for round_ in range(1, args.rounds + 1):
        for raw in RAW_WAYS:
            cpu_started = time.process_time()
            count, seconds = raw_scan(app, batch, raw)
            cpu[raw].append(time.process_time() - cpu_started)
            runs[raw].append(seconds)
            progress.note(
                f"round {round_}: {RAW_WAYS[raw]} {count} notifications in {seconds:.2f} s ({count / seconds:,.0f}/s)"
            )
        for way in ways:
            vacuum(ctx.database_url, projections)
            started, cpu_started = time.perf_counter(), time.process_time()
            count = projections.rebuild(*(names if way == "one pass" else [way]))
            seconds = time.perf_counter() - started
            cpu[way].append(time.process_time() - cpu_started)
            runs[way].append(seconds)
            progress.note(
                f"round {round_}: rebuild {way}: {count} events in {seconds:.2f} s ({count / seconds:,.0f}/s)"
            )
            identical = identical and read_model_digest(ctx.database_url, projections) == reference

    def best(way: str) -> dict[str, Any]:
        seconds = min(runs[way])
        return {
            "events": events, "seconds": seconds, "per_second": events / seconds, "runs": runs[way],
            "cpu_seconds": min(cpu[way]),
        }

    per_model = {name: best(name) for name in alone}
    sequential_seconds = sum(m["seconds"] for m in per_model.values())
    return {
        "log": log,
        "batch_size": batch,
        "rounds": args.rounds,
        "raw": best("raw"),
        "raw_valmius": best("raw, Valmius's read"),
        "catch_up": {
            "events": events,
            "seconds": catch_up_seconds,
            "per_second": events / catch_up_seconds,
            "models": list(projections.models),
        },
        "per_model": per_model,
        "rebuildable": names,
        "sequential": (
            {"events": events, "seconds": sequential_seconds, "per_second": events / sequential_seconds}
            if per_model else None
        ),
        "one_pass": best("one pass") if "one pass" in runs else None,
        "identical": identical,
    }



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = bench_parser(
        __doc__, "valmius_bench_rebuild", "Prints a table with the targets and the command that produced it."
    )
    parser.add_argument("--events", type=int, default=100_000, help="events in the log (topped up)")
    parser.add_argument("--events-per-crisis", type=int, default=200, help="mean events per generated crisis")
    parser.add_argument(
        "--active-crises", type=int, default=30, help="crises running at the same time while generating"
    )
    parser.add_argument("--generate-batch", type=int, default=2000, help="events per transaction while generating")
    parser.add_argument(
        "--rebuild-batch-size",
        type=int,
        default=0,
        help="notifications per batch for raw scan and rebuild (0: the Projections default)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of the rebuild phase, each measuring the raw scan and every rebuild once; the fastest run of "
        "each counts",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the generated log")
    parser.add_argument(
        "--one-pass-only",
        action="store_true",
        help="measure only the raw scan and the one-pass rebuild of all read models, not each read model alone "
        "(a quicker rerun of the target's figure)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results, _ = run(args, "rebuild", lambda ctx: (rebuild_phase(ctx), {}))
    report(results, args, command_line(__file__, argv))
    return 0


def report(results: dict[str, Any], args: argparse.Namespace, command: str) -> None:
    out = report_head(args, "Valmius rebuild", "the benchmark and database", results["load_start"])
    rb = results["rebuild"]
    rows: list[tuple[str, str, str, str]] = []
    raw = rb["raw"]["per_second"]
    n = len(rb["rebuildable"])
    ours = rb["raw_valmius"]["per_second"]
    if rb["one_pass"]:
        one = rb["one_pass"]["per_second"]
        rows.append(
            (
                f"rebuild, all {n} read models in one pass",
                f"{one:,.0f} ev/s = {one / raw:.2f} × raw",
                "≥ 0.5 × raw",
                verdict(one >= 0.5 * raw),
            )
        )
        rows.append(
            (
                "   the same, against Valmius's own read",
                f"{one:,.0f} ev/s = {one / ours:.2f} × raw'",
                "≥ 0.5 × raw'",
                verdict(one >= 0.5 * ours),
            )
        )
    for name, r in rb["per_model"].items():
        rows.append(
            (
                f"rebuild {name}",
                f"{r['per_second']:,.0f} ev/s = {r['per_second'] / raw:.2f} × raw",
                "≥ 0.5 × raw",
                verdict(r["per_second"] >= 0.5 * raw),
            )
        )
    rows.append(("raw: scan + decode, the library's read (baseline)", f"{raw:,.0f} ev/s", "", ""))
    rows.append(("raw': scan + decode, Valmius's binary read", f"{ours:,.0f} ev/s", "", ""))
    out += table(rows)
    log = rb["log"]
    types = ", ".join(
        f"{n} {k.split('.')[-1]}" for k, n in sorted(log["aggregates_by_type"].items(), key=lambda kv: -kv[1])
    )
    out += [
        "",
        f"Rebuild: {log['events']:,} events in the log ({log['generated']:,} generated in {log['seconds']:.1f} s "
        f"through Coordination.save, ~{args.generate_batch} events per transaction), {log['aggregates']} aggregates "
        f"({types}); mean event {log['mean_state_bytes']:.0f} bytes.",
        "   events by aggregate: "
        + ", ".join(f"{k.split('.')[-1]} {v:,}" for k, v in log["events_by_aggregate"].items()),
        "   most frequent: "
        + ", ".join(f"{k.split('.', 1)[-1]} {v / log['events']:.0%}" for k, v in log["top_events"].items()),
        f"   batches of {rb['batch_size']} notifications (raw scan and rebuilds alike; a rebuild's last ones smaller); "
        f"{rb['rounds']} rounds, each "
        "measuring every way once; the fastest run of each way counts (runs in s below).",
        "   A rebuild reads only the events of its read models' topics; its rate counts every event of the log.",
        "   CPU s: this process's CPU time (its threads included) in its least costly run; the store's own work (a "
        "rebuild's writes) is not in it. On a loaded machine the CPU ratio is the steadier figure.",
        f"   {'read model / way':<44} {'seconds':>8} {'events/s':>10} {'× raw':>6} {'CPU s':>6} {'CPU × raw':>9}",
    ]

    def line(name: str, r: dict[str, Any]) -> str:
        runs = f"  ({', '.join(f'{s:.2f}' for s in r['runs'])})" if "runs" in r else ""
        cpu = (
            f" {r['cpu_seconds']:>6.2f} {rb['raw']['cpu_seconds'] / r['cpu_seconds']:>9.2f}" if "cpu_seconds" in r
            else " " * 17
        )
        return (
            f"   {name:<44} {r['seconds']:>8.2f} {r['per_second']:>10,.0f} "
            f"{r['per_second'] / rb['raw']['per_second']:>6.2f}{cpu}{runs}"
        )

    out.append(line("raw scan + decode, the library's read", rb["raw"]))
    out.append(line("raw' scan + decode, Valmius's binary read", rb["raw_valmius"]))
    out.append(
        line(f"catch-up, all {len(rb['catch_up']['models'])} tracked models (worker's path)", rb["catch_up"])
    )
    for name, r in rb["per_model"].items():
        out.append(line(f"rebuild {name}", r))
    if rb["sequential"]:
        out.append(line("rebuild all, one after another (sum of bests)", rb["sequential"]))
    if rb["one_pass"]:
        out.append(line(f"rebuild all {n} in one pass", rb["one_pass"]))
    same = rb["identical"]
    out.append(
        f"   read-model tables identical after catch-up and after every rebuild (digest of all rows): "
        f"{'yes' if same else 'NO'}; tables VACUUMed (untimed) before each rebuild."
    )
    extra = [m for m in rb["catch_up"]["models"] if m not in rb["rebuildable"]]
    if extra:
        out.append(
            f"   catch-up also follows {', '.join(extra)} (not rebuildable) and runs the follower's listeners."
        )
    if not rb["one_pass"]:
        out.append("   (this Projections has no one-pass rebuild: `rebuild(name)` rebuilds one read model)")
    print_report(out, args, command, results, {})


if __name__ == "__main__":
    sys.exit(main())
