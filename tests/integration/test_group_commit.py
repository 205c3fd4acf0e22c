"""Group commit on real PostgreSQL (infrastructure.recorders.PostgresKeyedRecorder): commands that reach the
store while another write holds it are stored together in one transaction, each answered with its own
events; a conflict in a group is its own command's alone; nothing acknowledged is lost or doubled, and the
log's order is the order of commits.

Which transaction stored an event is read from PostgreSQL itself: the row's `xmin`, the id of the
transaction that inserted it. To make a group form for certain, a test holds the events table's lock from a
connection of its own while the commands arrive (the first one waits for the lock inside its transaction, the
others queue behind it), then lets go.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from application.coordination import KEYED_COMMAND, Coordination, KeyedCommand
from domain.access import Actor, Role
from domain.crisis import Crisis
from domain.shared import DomainError, Rule
from infrastructure.bootstrap import Services, open_services
from infrastructure.persistence import eventsourcing_env
from tests.application.support import RefusalsInMemory
from tests.conftest import FakeClock, settings_for

pytestmark = pytest.mark.postgres

OFFICER = Actor("DO-1", Role.DUTY_OFFICER)


@pytest.fixture
def services(postgres_url: str, tmp_path, clock: FakeClock) -> Iterator[Services]:  # noqa: ANN001
    opened = open_services(settings_for("postgres", tmp_path, postgres_url, postgres_pool_size=4), clock)
    yield opened
    opened.close()


def another_process(services: Services) -> Coordination:
    """A second application on the same store, with its own aggregate cache and recorder: another worker."""
    settings = services.settings
    return Coordination(eventsourcing_env(settings), policy=settings.policy(), clock=services.clock,
                        refusals=RefusalsInMemory())


def apart(app: Coordination, prefix: str, count: int) -> list[str]:
    """`count` crisis ids whose commands do not queue behind each other in this process (commands on records
    whose ids share a queue do): each reaches the store on its own."""
    ids: list[str] = []
    queues: set[int] = set()
    n = 0
    while len(ids) < count:
        crisis_id, n = f"{prefix}{n}", n + 1
        if id(app._queue_for(crisis_id)) not in queues:
            queues.add(id(app._queue_for(crisis_id)))
            ids.append(crisis_id)
    return ids


def declare(app: Coordination, *crisis_ids: str) -> None:
    for crisis_id in crisis_ids:
        app.declare_crisis(OFFICER, crisis_id=crisis_id, title=f"Storm {crisis_id}", category="SEVERE_WEATHER",
                           severity=2)


def entries(app: Coordination, crisis_id: str) -> dict[str, int]:
    """The crisis' stored log entries: each text with the version of its event (from the events themselves)."""
    return {
        event.text: event.originator_version
        for event in app.events.get(Crisis.id_for(crisis_id))
        if isinstance(event, Crisis.LogEntryRecorded)
    }


def stored_rows(services: Services) -> list[dict[str, Any]]:
    """Every stored event with the transaction that inserted it, in log order."""
    table = services.coordination.recorder.events_table_name
    with psycopg.connect(services.settings.database_url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, xmin::text::bigint AS tx FROM {table}"
            " ORDER BY notification_id"
        ).fetchall()
    return [{"position": r[0], "originator_id": r[1], "version": r[2], "tx": r[3]} for r in rows]


@contextmanager
def events_table_held(services: Services) -> Iterator[None]:
    """The events table's write lock, held by a transaction of the test's own until the block ends."""
    table = services.coordination.recorder.events_table_name
    with psycopg.connect(services.settings.database_url) as conn:
        conn.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        yield
        conn.commit()


def run_queued_behind_the_lock(services: Services, commands: list[Callable[[], Any]]) -> list[Any]:
    """Start every command while the events table is held, wait until one of them waits for the lock and the
    others are queued behind it in the recorder, then let go. What each returned, or the error it raised."""
    recorder = services.coordination.recorder
    results: list[Any] = [None] * len(commands)

    def run(index: int) -> None:
        try:
            results[index] = commands[index]()
        except Exception as error:  # noqa: BLE001 - the test looks at it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commands))]
    with events_table_held(services):
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while recorder.queued() < len(commands) - 1:
            assert time.monotonic() < deadline, f"{recorder.queued()} of {len(commands) - 1} queued; done: {results}"
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_commands_that_arrive_while_the_store_is_busy_are_stored_in_one_transaction_each_with_its_own_events(
    services: Services,
) -> None:
    app = services.coordination
    crises = apart(app, "C-G", 8)
    declare(app, *crises)
    before = {row["position"] for row in stored_rows(services)}

    # Given eight officers' log entries on eight crises, half of them sent with an Idempotency-Key,
    def entry(crisis_id: str, keyed: bool) -> Callable[[], int]:
        def send() -> int:
            if keyed:
                KEYED_COMMAND.set(KeyedCommand("officer", f"key-{crisis_id}", "fingerprint", services.idempotency))
            return app.record_log_entry(OFFICER, crisis_id, text=f"entry on {crisis_id}")

        return send

    # when they reach the store while it is busy,
    versions = run_queued_behind_the_lock(services, [entry(c, i % 2 == 0) for i, c in enumerate(crises)])

    # then each is answered with its own crisis' next version,
    assert versions == [2] * len(crises)
    new = [row for row in stored_rows(services) if row["position"] not in before]
    assert sorted(new, key=lambda r: r["position"]) == new
    assert Counter(row["originator_id"] for row in new) == Counter(Crisis.id_for(c) for c in crises)
    assert all(row["version"] == 2 for row in new)
    # the first alone (it held the way), the seven queued behind it in one transaction,
    transactions = [row["tx"] for row in new]
    assert len(set(transactions)) == 2, transactions
    # each transaction's events one block of the log, in the order of the commits,
    assert transactions == sorted(transactions, key=transactions.index)
    # and each keyed command's key decided with its own record, in the same transaction.
    for i, crisis_id in enumerate(crises):
        outcome = services.idempotency.outcome("officer", f"key-{crisis_id}")
        if i % 2 == 0:
            assert outcome is not None and outcome.aggregates == ((Crisis.id_for(crisis_id), 2),)
        else:
            assert outcome is None
    for crisis_id in crises:
        assert entries(app, crisis_id) == {f"entry on {crisis_id}": 2}


def test_a_conflict_in_a_group_is_answered_to_its_own_command_alone_and_the_others_are_stored(
    services: Services,
) -> None:
    app, other = services.coordination, another_process(services)
    try:
        *crises, stale_if_match, stale = apart(app, "C-K", 8)
        declare(app, *crises, stale_if_match, stale)
        # Given two crises this worker has read (its cache holds them at version 1) and another worker has
        # changed since,
        for crisis_id in (stale_if_match, stale):
            app.load_crisis(crisis_id)
            other.record_log_entry(OFFICER, crisis_id, text=f"written elsewhere on {crisis_id}")

        def entry(crisis_id: str, expected: int | None = None) -> Callable[[], int]:
            text = f"mine on {crisis_id}"
            return lambda: app.record_log_entry(OFFICER, crisis_id, text=text, expected_version=expected)

        # when commands on them and on six others reach the store together,
        results = run_queued_behind_the_lock(
            services, [entry(crises[0]), entry(stale_if_match, expected=1), *map(entry, crises[1:]), entry(stale)]
        )
        refused, stale_free = results[1], results[-1]

        # then the one whose If-Match is stale is refused with 409, saying what changed, and stores nothing,
        assert isinstance(refused, DomainError) and refused.rule == Rule.CONFLICT_VERSION, refused
        assert "written elsewhere" not in refused.message and "at version 2" in refused.message
        assert entries(app, stale_if_match) == {f"written elsewhere on {stale_if_match}": 2}
        assert [r["rule"] for r in services.refusals.list(target=stale_if_match)] == ["CONFLICT_VERSION"]
        # the one without If-Match runs again on the stored record and follows the other worker's entry,
        assert stale_free == 3
        assert entries(app, stale) == {f"written elsewhere on {stale}": 2, f"mine on {stale}": 3}
        # and every other command is stored once, at its crisis' next version.
        assert [results[0], *results[2:-1]] == [2] * len(crises)
        for crisis_id in crises:
            assert entries(app, crisis_id) == {f"mine on {crisis_id}": 2}
    finally:
        other.close()


def test_many_writers_in_two_processes_on_shared_and_own_crises_lose_nothing_and_the_log_keeps_commit_order(
    services: Services,
) -> None:
    """Sixteen writers, half through each of two application instances (two workers, each with its own cache
    and group commit), on two crises they all share and a crisis of their own each; every command carries a
    unique text, so each stored event is traced to the writer that was told it was stored."""
    app, other = services.coordination, another_process(services)
    writers, commands = 16, 12
    shared = ["C-SHARED-A", "C-SHARED-B"]
    own = [f"C-OWN-{w:02d}" for w in range(writers)]
    try:
        declare(app, *shared, *own)
        told: dict[str, list[tuple[str, int]]] = defaultdict(list)  # crisis -> (text, version) acknowledged
        refusals: list[DomainError] = []
        barrier = threading.Barrier(writers)

        def writer(w: int) -> None:
            rng = random.Random(w)
            instance = app if w % 2 == 0 else other
            barrier.wait(timeout=30)
            for n in range(commands):
                crisis_id = rng.choice([*shared, own[w]])
                text = f"writer {w} entry {n}"
                try:
                    told[crisis_id].append((text, instance.record_log_entry(OFFICER, crisis_id, text=text)))
                except DomainError as refused:
                    refusals.append(refused)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

        # No If-Match: a race is run again on fresh state; only a command that lost MAX_ATTEMPTS races in a row
        # is refused, as busy, and then (like every refused one) stores nothing: below, the store holds exactly
        # the acknowledged entries.
        assert all(refused.rule == Rule.CONFLICT_VERSION for refused in refusals), refusals
        for crisis_id in [*shared, *own]:  # every acknowledged entry stored once, at the version answered
            assert entries(app, crisis_id) == dict(told[crisis_id]), crisis_id
        rows = stored_rows(services)
        assert len(rows) == len({(r["originator_id"], r["version"]) for r in rows})
        # The log's order is the order of the commits: each transaction's events are one block of positions,
        transactions = [row["tx"] for row in rows]
        blocks = [tx for i, tx in enumerate(transactions) if i == 0 or transactions[i - 1] != tx]
        assert len(blocks) == len(set(blocks)), "a transaction's events are split by another's"
        # and each record's versions come in the log in their order.
        for originator in {r["originator_id"] for r in rows}:
            versions = [r["version"] for r in rows if r["originator_id"] == originator]
            assert versions == list(range(1, len(versions) + 1))
        # The audit chain follows the whole log and holds.
        services.projections.catch_up()
        verdict = services.tamper_evidence.verify()
        assert verdict.intact, verdict.summary()
    finally:
        other.close()
