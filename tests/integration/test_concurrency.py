"""Many writers at once on real PostgreSQL: nothing acknowledged is lost or doubled, stale writes lose, and
the rules that span aggregates hold under races.

The first test goes through real HTTP (uvicorn in a thread, the app as `valmius serve` builds it): 16 writers
on one hot crisis, on crises shared by four, and on crises of their own; with If-Match fresh from a read,
with If-Match known to be stale, and without If-Match. Every write carries a unique marker, so each stored
event is traced back to the answer its writer got.

The second test races closing a RESOLVED crisis against activating continuity plans for it and against raising
police requests for it, round after round, alternately over HTTP and through separate application instances
(each with its own aggregate cache, as separate worker processes have).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from application.coordination import Coordination
from domain.access import Actor, Role
from domain.crisis import Crisis
from domain.division_preparedness import CriticalFunction, DivisionPreparedness
from domain.police_liaison import PoliceLiaison
from domain.shared import DomainError
from infrastructure.persistence import eventsourcing_env
from tests.application.support import RefusalsInMemory
from tests.live import LiveServer

pytestmark = pytest.mark.postgres

WRITERS = 16
OPS_PER_WRITER = 20
RACE_ROUNDS = 8
UNITS = ["KYMP", "SOTEPE", "STARA", "KASKO"]


@dataclass
class Answer:
    """One write and what its writer was told."""

    crisis: str
    marker: str
    kind: str  # free: no If-Match; fresh: If-Match just read; stale: If-Match known stale; own; race
    if_match: int | None
    status: int
    body: dict[str, Any]

    @property
    def acknowledged(self) -> bool:
        return 200 <= self.status < 300


def marker_of(event: Any) -> str | None:
    """The unique marker a test write put into its event (log text, reason, action id or note)."""
    if isinstance(event, Crisis.LogEntryRecorded):
        return event.text
    if isinstance(event, Crisis.SeverityChanged):
        return event.reason
    if isinstance(event, Crisis.ActionAssigned):
        return event.action_id
    if isinstance(event, Crisis.ActionClosed):
        return event.note
    return None


def all_notifications(app: Coordination) -> list[Any]:
    out: list[Any] = []
    start = 0
    while True:
        page = app.recorder.select_notifications(start=start, limit=1000, inclusive_of_start=False)
        if not page:
            return out
        out.extend(page)
        start = page[-1].id


def test_concurrent_http_writers_every_acknowledged_write_is_stored_once_and_stale_ones_lose(
    live_server: LiveServer,
) -> None:
    app = live_server.services.coordination
    officer = Actor("SETUP", Role.DUTY_OFFICER)
    hot, race = "C-HOT", "C-RACE"
    warm = [f"C-WARM-{w}" for w in range(4)]
    own = [f"C-OWN-{k:02d}" for k in range(WRITERS)]
    for crisis_id in [hot, race, *warm, *own]:
        app.declare_crisis(officer, crisis_id=crisis_id, title=f"Storm {crisis_id}", category="SEVERE_WEATHER", severity=2)
    app.record_log_entry(officer, hot, text="setup: past version 1, so If-Match 1 is stale")

    # Writers 3, 7, 11, 15 are division contacts (log entries only); the others duty officers.
    contacts = {k: UNITS[k // 4] for k in range(WRITERS) if k % 4 == 3}
    tokens = {
        k: live_server.token(f"W-{k:02d}", "division_contact", unit=contacts[k])
        if k in contacts
        else live_server.token(f"W-{k:02d}", "duty_officer")
        for k in range(WRITERS)
    }
    answers: list[list[Answer]] = [[] for _ in range(WRITERS)]
    transport_errors: list[str] = []
    start_together = threading.Barrier(WRITERS)
    race_barrier = threading.Barrier(WRITERS)

    def writer(k: int) -> None:
        mine = answers[k]
        headers = {"Authorization": f"Bearer {tokens[k]}"}
        with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=60) as client:

            def post(crisis: str, path: str, body: dict, marker: str, kind: str, if_match: int | None) -> Answer:
                extra = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
                response = client.post(f"/crises/{crisis}{path}", json=body, headers=extra)
                answer = Answer(crisis, marker, kind, if_match, response.status_code, response.json())
                mine.append(answer)
                return answer

            def version_of(crisis: str) -> int:
                response = client.get(f"/crises/{crisis}")
                assert response.status_code == 200, response.text
                return int(response.headers["ETag"].strip('"'))

            own_crisis, own_version, severity = own[k], 1, 2
            my_warm = warm[k % 4]
            my_actions: list[str] = []
            start_together.wait()
            for i in range(OPS_PER_WRITER):
                m = f"w{k:02d}-{i:02d}"
                op = i % 5
                if op == 0:  # the hot crisis, no If-Match: must be accepted
                    post(hot, "/log-entries", {"text": m}, m, "free", None)
                elif op == 1:  # the hot crisis, If-Match fresh from a read: wins or loses the race
                    post(hot, "/log-entries", {"text": m}, m, "fresh", version_of(hot))
                elif op == 2:  # a crisis shared by four writers, no If-Match
                    if k in contacts or i % 10 == 2:
                        post(my_warm, "/log-entries", {"text": m}, m, "free", None)
                    elif my_actions and i % 20 == 17:
                        action_id = my_actions.pop(0)
                        post(my_warm, f"/actions/{action_id}/complete", {"note": m}, m, "free", None)
                    else:
                        due = (datetime.now(UTC) + timedelta(days=30)).isoformat()  # within the due window
                        body = {"action_id": m, "unit": UNITS[k % 4], "task": f"task {m}", "due_at": due}
                        if post(my_warm, "/actions", body, m, "free", None).acknowledged:
                            my_actions.append(m)
                elif op == 3:  # the writer's own crisis, If-Match of its own last write: always current
                    if k in contacts:
                        answer = post(own_crisis, "/log-entries", {"text": m}, m, "own", own_version)
                    else:
                        severity = 3 if severity == 2 else 2
                        answer = post(own_crisis, "/severity", {"to_severity": severity, "reason": m}, m, "own", own_version)
                    if answer.acknowledged:
                        own_version = answer.body["version"]
                else:  # the hot crisis with If-Match 1, long stale: must lose
                    post(hot, "/log-entries", {"text": m}, m, "stale", 1)

            # Rounds of a pure race: all read the same version, then all write with it. One wins per round.
            for r in range(RACE_ROUNDS):
                race_barrier.wait()
                seen = version_of(race)
                race_barrier.wait()
                m = f"race-{r}-w{k:02d}"
                post(race, "/log-entries", {"text": m}, m, "race", seen)

    def guarded(k: int) -> None:
        try:
            writer(k)
        except Exception as error:  # noqa: BLE001 - a transport error must fail the test, not hang it
            transport_errors.append(f"writer {k}: {error!r}")
            start_together.abort()
            race_barrier.abort()

    started = time.monotonic()
    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(guarded, range(WRITERS)))
    elapsed = time.monotonic() - started
    assert not transport_errors, transport_errors
    every = [a for mine in answers for a in mine]
    assert len(every) == WRITERS * (OPS_PER_WRITER + RACE_ROUNDS)

    # Every answer is an acknowledgement or a 409 CONFLICT_VERSION; nothing else (no 5xx, no other rule).
    by_outcome = Counter((a.kind, a.status, a.body.get("code")) for a in every)
    assert {(s, c) for _, s, c in by_outcome} <= {(200, None), (409, "CONFLICT_VERSION")}, by_outcome
    losers = [a for a in every if not a.acknowledged]
    assert all(a.status == 409 and a.body["code"] == "CONFLICT_VERSION" for a in losers)

    # Stale If-Match always loses, and says which version the crisis is at; the own-crisis writes always win.
    stale = [a for a in every if a.kind == "stale"]
    assert stale and not any(a.acknowledged for a in stale)
    assert all(a.body["current_version"] > 1 for a in stale)
    assert all(a.acknowledged for a in every if a.kind == "own")
    # A write with If-Match that wins makes exactly the next version; one that loses was really stale.
    for a in every:
        if a.if_match is not None and a.acknowledged:
            assert a.body["version"] == a.if_match + 1, a
        if a.if_match is not None and not a.acknowledged:
            assert a.body["current_version"] != a.if_match, a

    # Exactly one winner per race round, everyone else told CONFLICT_VERSION.
    for r in range(RACE_ROUNDS):
        round_answers = [a for a in every if a.marker.startswith(f"race-{r}-")]
        assert sum(a.acknowledged for a in round_answers) == 1, round_answers

    # What is stored: for every crisis, versions 1..N without gap or duplicate, and exactly the acknowledged
    # writes' events, each once, at the version its writer was told.
    events = live_server.services.coordination.events
    acknowledged_by_crisis: dict[str, dict[str, Answer]] = defaultdict(dict)
    refused_markers: dict[str, set[str]] = defaultdict(set)
    for a in every:
        if a.acknowledged:
            assert a.marker not in acknowledged_by_crisis[a.crisis]
            acknowledged_by_crisis[a.crisis][a.marker] = a
        else:
            refused_markers[a.crisis].add(a.marker)
    stored_counts: dict[str, int] = {}
    for crisis_id in [hot, race, *warm, *own]:
        stored = list(events.get(Crisis.id_for(crisis_id)))
        versions = [e.originator_version for e in stored]
        assert versions == list(range(1, len(stored) + 1)), f"{crisis_id}: versions {versions}"
        stored_counts[crisis_id] = len(stored)
        markers = [marker_of(e) for e in stored[1:]]  # after the declaration
        if crisis_id == hot:
            markers = markers[1:]  # the setup entry
        assert len(markers) == len(set(markers)), f"{crisis_id}: a write stored twice"
        acked = acknowledged_by_crisis[crisis_id]
        assert set(markers) == set(acked), (
            f"{crisis_id}: stored but not acknowledged {set(markers) - set(acked)}, "
            f"acknowledged but not stored {set(acked) - set(markers)}"
        )
        assert not set(markers) & refused_markers[crisis_id], f"{crisis_id}: a refused write was stored"
        for event in stored[1:]:
            marker = marker_of(event)
            if marker in acked:
                assert acked[marker].body["version"] == event.originator_version, (crisis_id, marker)

    # The notification log holds each of those events exactly once, in one order.
    notifications = all_notifications(app)
    ids = [n.id for n in notifications]
    assert ids == sorted(set(ids))
    positions = Counter((n.originator_id, n.originator_version) for n in notifications)
    assert max(positions.values()) == 1
    per_crisis = Counter(n.originator_id for n in notifications)
    for crisis_id, count in stored_counts.items():
        assert per_crisis[Crisis.id_for(crisis_id)] == count, crisis_id

    # Every refused write was kept for auditors, under its crisis.
    refusals = live_server.services.refusals.list(limit=100_000)
    kept = Counter(r["target"] for r in refusals if r["rule"] == "CONFLICT_VERSION")
    assert kept == Counter(a.crisis for a in losers)

    free_refused = sum(1 for a in every if a.kind == "free" and not a.acknowledged)
    print(
        f"\n{len(every)} writes by {WRITERS} HTTP writers in {elapsed:.1f} s; outcomes {dict(by_outcome)}; "
        f"writes without If-Match refused after the application's retries: {free_refused}"
    )


# --- closing races activating a plan and raising a police request ------------------------------------


ROUNDS = 60
CLOSERS, PLANS, REQUESTS = 2, {"KYMP": "K", "SOTEPE": "S"}, ("R1", "R2")


@dataclass
class Outcome:
    who: str  # close-0, activate-KYMP, raise-R1, …
    ok: bool
    code: str | None


def test_closing_a_crisis_races_plan_activation_and_police_requests_and_never_ends_closed_with_open_items(
    live_server: LiveServer,
) -> None:
    services = live_server.services
    app = services.coordination
    manager = Actor("PM", Role.PREPAREDNESS_MANAGER)
    coordinator_actor = Actor("POL", Role.POLICE_COORDINATOR)
    officer_actor = Actor("DO", Role.DUTY_OFFICER)

    def crisis_of(r: int) -> str:
        return f"C-R{r:02d}"

    def plan_of(r: int, unit: str) -> str:
        return f"P-R{r:02d}-{PLANS[unit]}"

    for r in range(ROUNDS):
        c = crisis_of(r)
        app.declare_crisis(officer_actor, crisis_id=c, title=f"Race {c}", category="UTILITY_WATER", severity=2)
        app.contain_crisis(officer_actor, c)
        app.resolve_crisis(officer_actor, c)
        for unit in PLANS:
            app.draft_continuity_plan(
                manager, unit, plan_id=plan_of(r, unit), title="Water outage",
                critical_functions=[CriticalFunction("home care", mtpd_minutes=240, rto_minutes=60)],
            )
            app.approve_continuity_plan(manager, unit, plan_id=plan_of(r, unit), approved_by="Director")
        app.open_police_liaison(coordinator_actor, liaison_id=f"L-R{r:02d}", crisis_id=c)

    # Over HTTP: one token per racer. Through the application: separate instances, each with its own cache.
    officers = [live_server.token(f"DO-{i}", "duty_officer") for i in range(CLOSERS)]
    contacts = {unit: live_server.token(f"DC-{unit}", "division_contact", unit=unit) for unit in PLANS}
    coordinator = live_server.token("POL", "police_coordinator")
    settings = live_server.settings.model_copy(update={"postgres_pool_size": 2})
    workers = [
        Coordination(eventsourcing_env(settings), policy=settings.policy(), refusals=RefusalsInMemory())
        for _ in range(CLOSERS + len(PLANS) + 1)
    ]
    clients = [httpx.Client(base_url=live_server.base_url, timeout=60) for _ in range(CLOSERS + len(PLANS) + len(REQUESTS))]

    def racers(r: int, over_http: bool) -> list[tuple[str, Callable[[], tuple[bool, str | None]]]]:
        c, liaison = crisis_of(r), f"L-R{r:02d}"

        def via_http(client: httpx.Client, token: str, path: str, body: dict) -> Callable[[], tuple[bool, str | None]]:
            def go() -> tuple[bool, str | None]:
                response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
                return response.is_success, None if response.is_success else response.json()["code"]

            return go

        def via_app(call: Callable[[], Any]) -> Callable[[], tuple[bool, str | None]]:
            def go() -> tuple[bool, str | None]:
                try:
                    call()
                    return True, None
                except DomainError as refused:
                    return False, str(refused.rule)

            return go

        out = []
        for i in range(CLOSERS):
            if over_http:
                go = via_http(clients[i], officers[i], f"/crises/{c}/close", {})
            else:
                closer = Actor(f"DO-{i}", Role.DUTY_OFFICER)
                go = via_app(lambda w=workers[i], a=closer: w.close_crisis(a, c))
            out.append((f"close-{i}", go))
        for j, unit in enumerate(PLANS):
            plan = plan_of(r, unit)
            if over_http:
                go = via_http(
                    clients[CLOSERS + j], contacts[unit], f"/division-preparedness/{unit}/plans/{plan}/activate",
                    {"crisis_id": c},
                )
            else:
                contact = Actor(f"DC-{unit}", Role.DIVISION_CONTACT, unit=unit)
                go = via_app(
                    lambda w=workers[CLOSERS + j], u=unit, p=plan, a=contact: w.activate_continuity_plan(
                        a, u, plan_id=p, crisis_id=c
                    )
                )
            out.append((f"activate-{unit}", go))
        for j, request_id in enumerate(REQUESTS):
            body = {"request_id": request_id, "direction": "CITY_TO_POLICE", "request_type": "COORDINATION",
                    "subject": "traffic control at the water distribution points"}
            if over_http:
                go = via_http(clients[CLOSERS + len(PLANS) + j], coordinator, f"/police-liaisons/{liaison}/requests", body)
            else:
                go = via_app(
                    lambda b=body: workers[-1].raise_police_request(
                        coordinator_actor, liaison, request_id=b["request_id"], direction=b["direction"],
                        request_type=b["request_type"], subject=b["subject"],
                    )
                )
            out.append((f"raise-{request_id}", go))
        return out

    size = CLOSERS + len(PLANS) + len(REQUESTS)
    barrier = threading.Barrier(size)
    rng = random.Random(20251026)
    results: dict[int, list[Outcome]] = {}
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(size) as pool:
            for r in range(ROUNDS):
                delays = [rng.uniform(0, 0.008) for _ in range(size)]

                def run(item: tuple[int, tuple[str, Callable[[], tuple[bool, str | None]]]]) -> Outcome:
                    index, (who, go) = item
                    barrier.wait(timeout=30)
                    time.sleep(delays[index])  # vary who comes first from round to round
                    ok, code = go()
                    return Outcome(who, ok, code)

                results[r] = list(pool.map(run, enumerate(racers(r, over_http=r % 2 == 0))))
    finally:
        for client in clients:
            client.close()
        for worker in workers:
            worker.close()
    elapsed = time.monotonic() - started

    # Read back through a fresh application: no cache, nothing but the store.
    reader = Coordination(eventsourcing_env(settings), policy=settings.policy(), refusals=RefusalsInMemory())
    try:
        tally: Counter[str] = Counter()
        for r, outcomes in results.items():
            c = crisis_of(r)
            crisis = reader.load_crisis(c)
            units = {unit: reader.repository.get(DivisionPreparedness.id_for(unit)) for unit in PLANS}
            liaison = reader.repository.get(PoliceLiaison.id_for(f"L-R{r:02d}"))
            assert isinstance(crisis, Crisis)
            closed = crisis.status == "CLOSED"
            active_for_it = {p.plan_id for u in units.values() for p in u.plans.values() if p.active_for == c}
            open_requests = {q.request_id for q in liaison.open_requests()}

            # The invariant: never CLOSED with an active plan or an open request, on either side.
            if closed:
                assert not crisis.active_plans and not crisis.open_police_requests, (c, outcomes)
                assert not active_for_it and not open_requests, (c, outcomes)
            # Both sides agree on what is active and open.
            assert set(crisis.active_plans) == active_for_it, (c, outcomes)
            assert set(crisis.open_police_requests) == open_requests, (c, outcomes)

            # The answers agree with what is stored.
            ok = {o.who for o in outcomes if o.ok}
            assert closed == any(w.startswith("close-") for w in ok), (c, outcomes)
            assert sum(w.startswith("close-") for w in ok) <= 1, (c, outcomes)
            assert active_for_it == {plan_of(r, u) for u in PLANS if f"activate-{u}" in ok}, (c, outcomes)
            assert open_requests == {q for q in REQUESTS if f"raise-{q}" in ok}, (c, outcomes)
            for o in outcomes:
                if not o.ok:
                    expected = {"CRISIS_CLOSED", "CONFLICT_VERSION"}
                    if o.who.startswith("close-"):
                        expected |= {"PLAN_STILL_ACTIVE", "OPEN_ITEMS"}
                    assert o.code in expected, (c, o)

            # Nothing was recorded on the crisis after it closed.
            history = list(reader.events.get(Crisis.id_for(c)))
            closing = [i for i, e in enumerate(history) if isinstance(e, Crisis.StatusChanged) and e.to_status == "CLOSED"]
            if closing:
                assert closing == [len(history) - 1], (c, [type(e).__name__ for e in history])
            tally["closed" if closed else "kept open"] += 1
            tally[("over HTTP" if r % 2 == 0 else "in-process") + (": closed" if closed else ": kept open")] += 1
            tally["plans activated"] += len(active_for_it)
            tally["requests raised"] += len(open_requests)
    finally:
        reader.close()
    # The race really was a race: both kinds of ending happened.
    assert tally["closed"] and tally["kept open"], tally
    print(f"\n{ROUNDS} rounds of close vs activate vs raise in {elapsed:.1f} s: {dict(tally)}")
