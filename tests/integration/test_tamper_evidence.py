"""Mutation tests: the stored log is altered directly in the database, as an attacker with database access
would, on SQLite and on PostgreSQL; verification detects every alteration and names where and what.

One byte of an event changed, an event deleted, a forged event inserted (the following events moved up to
make room), two neighbouring events swapped: each at the first, a middle and the last chained position.
Then an attacker who also rewrites the chain table consistently, caught by a signed checkpoint the auditor
exported before.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from application.audit.chain import CHAIN_TABLE, GENESIS, event_hash, link
from application.audit.checkpoints import CHECKPOINT_TABLE, Checkpoint, Signer
from infrastructure.bootstrap import Services, open_services
from interfaces.cli.main import main as valmius
from tests.application.support import DO1, approved_plan, contact, declare, open_request
from tests.application.test_audit_chain import evidence_of
from tests.conftest import settings_for

SIGNING_KEY, PUBLIC_KEY = Signer.generate()


class Database:
    """Raw access to the store's tables, bypassing the service: what an attacker with the database has."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.table = services.coordination.recorder.events_table_name
        self.dialect = services.sql.dialect
        self.column = "rowid" if self.dialect == "sqlite" else "notification_id"

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        url = self.services.settings.database_url
        if self.dialect == "sqlite":
            conn = sqlite3.connect(url.removeprefix("sqlite:///"))
            try:
                with conn:
                    yield _Placeholders(conn.cursor())
            finally:
                conn.close()
        else:
            with psycopg.connect(url) as conn, conn.cursor() as cursor:
                yield cursor

    def event(self, position: int) -> tuple:
        with self.cursor() as c:
            c.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {self.table} WHERE {self.column} = %s",
                (position,),
            )
            return c.fetchone()

    def change_one_byte(self, position: int) -> None:
        state = bytearray(self.event(position)[3])
        middle = len(state) // 2
        state[middle] ^= 0x01  # one bit of one byte
        with self.cursor() as c:
            c.execute(f"UPDATE {self.table} SET state = %s WHERE {self.column} = %s", (bytes(state), position))

    def delete(self, position: int) -> None:
        with self.cursor() as c:
            c.execute(f"DELETE FROM {self.table} WHERE {self.column} = %s", (position,))

    def insert_forged(self, position: int) -> None:
        """A forged event at `position`: a copy of the one there under a new aggregate id, the events from
        `position` on moved up by one to make room."""
        _, _, topic, state = self.event(position)
        forged_id = uuid.uuid4()
        column = self.column
        with self.cursor() as c:
            c.execute(f"UPDATE {self.table} SET {column} = -({column} + 1) WHERE {column} >= %s", (position,))
            c.execute(f"UPDATE {self.table} SET {column} = -{column} WHERE {column} < 0")
            c.execute(
                f"INSERT INTO {self.table} ({column}, originator_id, originator_version, topic, state)"
                " VALUES (%s, %s, %s, %s, %s)",
                (position, str(forged_id) if self.dialect == "sqlite" else forged_id, 1, topic, state),
            )

    def swap(self, first: int, second: int) -> None:
        column = self.column
        with self.cursor() as c:
            c.execute(f"UPDATE {self.table} SET {column} = -1 WHERE {column} = %s", (first,))
            c.execute(f"UPDATE {self.table} SET {column} = %s WHERE {column} = %s", (first, second))
            c.execute(f"UPDATE {self.table} SET {column} = %s WHERE {column} = -1", (second,))

    def rewrite_chain_from(self, position: int) -> None:
        """Recompute the chain table from `position` on so it matches the log as it is now (the algorithm is
        public), and delete the stored checkpoints: a consistent rewrite of events and chain."""
        notifications = self.services.coordination.recorder.select_notifications(start=1, limit=1_000_000)
        digest = GENESIS
        with self.cursor() as c:
            for n in notifications:
                hashed = event_hash(n)
                digest = link(digest, n.id, hashed)
                if n.id >= position:
                    c.execute(
                        f"UPDATE {CHAIN_TABLE} SET event_hash = %s, digest = %s WHERE position = %s",
                        (hashed.hex(), digest.hex(), n.id),
                    )
            c.execute(f"DELETE FROM {CHECKPOINT_TABLE}")


class _Placeholders:
    """sqlite3 with the %s placeholders the PostgreSQL statements use."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.cursor = cursor

    def execute(self, statement: str, params: tuple = ()) -> None:
        self.cursor.execute(statement.replace("%s", "?"), params)

    def fetchone(self) -> tuple:
        return self.cursor.fetchone()


def open_store(backend: str, request: pytest.FixtureRequest, tmp_path, clock) -> Iterator[Services]:  # noqa: ANN001
    pg = request.getfixturevalue("postgres_url") if backend == "postgres" else None
    opened = open_services(settings_for(backend, tmp_path, pg, signing_key=SIGNING_KEY), clock)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", "postgres"])
def services(request: pytest.FixtureRequest, tmp_path, clock) -> Iterator[Services]:  # noqa: ANN001
    yield from open_store(request.param, request, tmp_path, clock)


@pytest.fixture
def pg_services(request: pytest.FixtureRequest, tmp_path, clock) -> Iterator[Services]:  # noqa: ANN001
    yield from open_store("postgres", request, tmp_path, clock)


@pytest.fixture
def chained(services: Services, clock) -> Database:  # noqa: ANN001
    """Given some dozens of events recorded through the application, all of them chained."""
    app = services.coordination
    declare(app, "C-S1")
    declare(app, "C-S3", category="UTILITY_WATER", title="Water main break in Kallio")
    for minute in range(12):
        clock.advance(minutes=1)
        app.record_log_entry(DO1, "C-S1", text=f"Outage report {minute}: Vuosaari substation")
    app.change_severity(DO1, "C-S1", to_severity=3, reason="outages spreading")
    approved_plan(app, "SOTEPE", "CP-SOTEPE-02")
    clock.advance(minutes=5)
    app.activate_continuity_plan(contact("SOTEPE"), "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S3")
    open_request(app, "C-S1")
    app.assign_action(DO1, "C-S1", action_id="A-1", task="Generators to home care", unit="SOTEPE",
                      due_at=clock.now + timedelta(hours=2))
    for minute in range(6):
        clock.advance(minutes=1)
        app.record_log_entry(DO1, "C-S3", text=f"Water pressure at {minute}: low")
    services.projections.catch_up()
    assert services.tamper_evidence.verify().intact
    return Database(services)


def head(services: Services) -> int:
    return services.coordination.recorder.max_notification_id()


def positions(services: Services) -> dict[str, int]:
    last = head(services)
    assert last >= 36, "some dozens of events"
    return {"first": 1, "middle": last // 2, "last": last}


def first_finding(services: Services) -> tuple[str, int]:
    """The kind and position of the first finding, the same whether the log is read in one batch or in many
    (each batch's last digest is compared; the row-by-row comparison starts after the last one that held)."""
    verdict = services.tamper_evidence.verify()
    assert not verdict.intact, verdict.summary()
    in_small_batches = evidence_of(services, batch_size=7).verify()
    assert in_small_batches.findings == verdict.findings
    return verdict.first.kind, verdict.first.position


WHERE = ["first", "middle", "last"]


@pytest.mark.parametrize("where", WHERE)
def test_one_changed_byte_is_found_at_its_position(chained, services, where):
    """Given a chained log, when one byte of the stored state of the event at `where` is changed, then
    verification reports that event as changed, at its position."""
    position = positions(services)[where]
    chained.change_one_byte(position)
    assert first_finding(services) == ("changed", position)


@pytest.mark.parametrize("where", WHERE)
def test_a_deleted_event_is_found_at_its_position(chained, services, where):
    """Given a chained log, when the event at `where` is deleted, then verification reports it as removed there."""
    position = positions(services)[where]
    chained.delete(position)
    assert first_finding(services) == ("removed", position)


@pytest.mark.parametrize("where", WHERE)
def test_a_forged_event_inserted_is_found_at_its_position(chained, services, where):
    """Given a chained log, when a forged event is put at `where` and the events from there on are moved up by
    one to make room, then verification reports an insertion there."""
    position = positions(services)[where]
    chained.insert_forged(position)
    assert first_finding(services) == ("inserted", position)


@pytest.mark.parametrize("where", WHERE)
def test_two_swapped_events_are_found_at_the_first_of_them(chained, services, where):
    """Given a chained log, when the event at `where` is swapped with its neighbour (the one before it, for the
    last), then verification reports a reordering at the earlier of the two, naming where the chain had it."""
    position = positions(services)[where]
    earlier, later = (position - 1, position) if where == "last" else (position, position + 1)
    chained.swap(earlier, later)
    assert first_finding(services) == ("reordered", earlier)
    assert services.tamper_evidence.verify().first.other_position == later


def test_events_recorded_after_the_chain_head_are_not_yet_chained_not_tampering(chained, services):
    """Given a chained log, when two more events are recorded and not yet chained, then the log verifies intact
    and the two are counted as not yet chained."""
    services.coordination.record_log_entry(DO1, "C-S1", text="Power back in Mellunkylä")
    services.coordination.record_log_entry(DO1, "C-S1", text="Police patrols reduced to two")
    for batch_size in (5000, 7):
        evidence = evidence_of(services, batch_size=batch_size)
        verdict = evidence.verify()
        assert (verdict.intact, verdict.not_yet_chained, verdict.log_head) == (True, 2, verdict.chain_head + 2)


def test_a_rewrite_of_events_and_chain_together_is_caught_by_an_exported_checkpoint(chained, services, tmp_path):
    """Given a checkpoint the auditor exported with `valmius audit checkpoint --out`, when an attacker changes
    an event and rewrites the chain table from there to match (and deletes the stored checkpoints), then the
    chain alone no longer shows it, but `valmius audit verify --against` the exported document does (exit 1),
    bounding the change by the checkpoint's position."""
    document = tmp_path / "checkpoint.json"
    env = {"VALMIUS_DATABASE_URL": services.settings.database_url, "VALMIUS_SIGNING_KEY": SIGNING_KEY}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert valmius(["audit", "checkpoint", "--out", str(document)]) == 0
        kept = json.loads(document.read_text())
        assert (kept["position"], kept["public_key"]) == (head(services), PUBLIC_KEY)
        assert valmius(["audit", "verify", "--against", str(document), "--public-key", PUBLIC_KEY]) == 0

        middle = positions(services)["middle"]
        chained.change_one_byte(middle)
        chained.rewrite_chain_from(middle)
        assert services.tamper_evidence.verify().intact, "the rewritten chain matches the rewritten log"

        assert valmius(["audit", "verify", "--against", str(document), "--public-key", PUBLIC_KEY]) == 1
    verdict = services.tamper_evidence.verify(against=Checkpoint.from_document(kept), public_key=PUBLIC_KEY)
    assert (verdict.intact, verdict.first.kind, verdict.first.position) == (False, "rewritten", kept["position"])


def test_a_checkpoint_before_the_rewrite_still_holds_and_one_after_it_does_not(chained, services, clock):
    """Given checkpoints signed before and after more events were recorded, when an attacker rewrites an event
    recorded after the first one (events and chain), then the first still holds and the second does not: the
    change lies between them."""
    evidence = services.tamper_evidence
    _, before = evidence.sign_checkpoint()
    for minute in range(5):
        clock.advance(minutes=1)
        services.coordination.record_log_entry(DO1, "C-S1", text=f"Later report {minute}")
    _, after = evidence.sign_checkpoint()
    target = before.position + 2
    chained.change_one_byte(target)
    chained.rewrite_chain_from(target)

    assert evidence.verify(against=before).intact
    verdict = evidence.verify(against=after)
    assert (verdict.first.kind, verdict.first.position) == ("rewritten", after.position)


def test_a_stored_checkpoint_left_in_place_catches_a_rewrite_without_any_document(chained, services):
    """Given a checkpoint the service stored, when an attacker rewrites an event and the chain but leaves the
    stored checkpoints alone, then plain verification reports the rewrite."""
    evidence = services.tamper_evidence
    _, checkpoint = evidence.sign_checkpoint()
    chained.change_one_byte(3)
    with chained.cursor() as c:  # the chain rewritten; the checkpoint table kept
        digest = GENESIS
        for n in services.coordination.recorder.select_notifications(start=1, limit=1000):
            digest = link(digest, n.id, event_hash(n))
            c.execute(f"UPDATE {CHAIN_TABLE} SET event_hash = %s, digest = %s WHERE position = %s",
                      (event_hash(n).hex(), digest.hex(), n.id))
    verdict = evidence.verify()
    assert (verdict.intact, verdict.first.kind, verdict.first.position) == (False, "rewritten", checkpoint.position)


def test_a_gap_in_the_postgres_log_is_no_alarm_but_an_event_forged_into_it_is(pg_services):
    """Given a PostgreSQL log with a gap in its positions (a transaction took a position and rolled back), then
    the log verifies intact; when a forged event is put into the free position, then it is reported as inserted
    there."""
    services = pg_services
    app = services.coordination
    declare(app, "C-GAP")
    database = Database(services)
    with database.cursor() as c:
        c.execute(f"SELECT nextval(pg_get_serial_sequence('{database.table}', 'notification_id'))")
        gap = c.fetchone()[0]
    app.record_log_entry(DO1, "C-GAP", text="after the gap")
    services.projections.catch_up()
    assert services.tamper_evidence.verify().intact

    _, _, topic, state = database.event(gap - 1)
    with database.cursor() as c:
        c.execute(
            f"INSERT INTO {database.table} (notification_id, originator_id, originator_version, topic, state)"
            " VALUES (%s, %s, %s, %s, %s)",
            (gap, uuid.uuid4(), 1, topic, state),
        )
    assert first_finding(services) == ("inserted", gap)



def test_keygen_prints_a_private_key_whose_public_half_it_names(capsys):
    """When `valmius audit keygen` is run, then stdout is a private key that signs checkpoints, and the public
    key on stderr verifies them."""
    assert valmius(["audit", "keygen"]) == 0
    printed = capsys.readouterr()
    signer = Signer(printed.out.strip())
    assert f"public key: {signer.public_key}" in printed.err
    assert signer.sign(7, "ab" * 32, "2025-10-25T21:40:00+03:00").signature_holds()
