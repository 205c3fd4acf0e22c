"""A store written by an earlier version opens, replays and verifies under the current code.

tests/fixtures/store-v0.1.sqlite3 was written by tests/fixtures/make_fixture_store.py with the code of its
day: the scenarios S1, S4 and S3, a snapshot of every aggregate, a keyed command, a signed audit checkpoint;
store-v0.1.expected.json beside it holds what it answered then. Every test works on a copy of it. Nothing
persisted may be renamed: event topics, entity names in snapshots, tables, columns, JSON shapes. These tests
are what says so.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest

from domain.crisis import Crisis
from infrastructure.settings import Settings
from interfaces.cli.main import main as valmius
from tests.conftest import ApiClient, FakeClock, make_api
from tests.fixtures.make_fixture_store import EXPECTED, READER, SETTINGS, STORE

FIXTURE: dict[str, Any] = json.loads(EXPECTED.read_text(encoding="utf-8"))
READ_MODEL_PATHS = [
    path for path in FIXTURE["reads"]
    if path.startswith(("/situation-overview", "/readiness-board", "/police-liaison-board"))
    or path.endswith(("/timeline", "/decision-log"))
]
AS_OF_PATHS = [path for path in FIXTURE["reads"] if "as_of=" in path]


@pytest.fixture
def stored(tmp_path) -> Iterator[ApiClient]:  # noqa: ANN001
    """The HTTP API on a copy of the fixture store, the server clock where the fixture left it."""
    target = tmp_path / "store.sqlite3"
    shutil.copyfile(STORE, target)
    settings = Settings(environment="test", database_url=f"sqlite:///{target}", _env_file=None, **SETTINGS)
    with contextmanager(make_api)(settings, FakeClock(FIXTURE["now"])) as api:
        yield api


def read(api: ApiClient, path: str) -> Any:
    response = api.get(path, headers=api.headers(*READER, clearance=True))
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
    return response.json()


def known_then(now: Any, then: Any) -> Any:
    """An answer of now with only the keys its answer of then had, at every depth: a key added since (the
    overview's `situation_report_rhythm`) is a new answer, not a changed one; a key gone or a value changed still
    differs."""
    if isinstance(now, dict) and isinstance(then, dict):
        return {key: known_then(value, then[key]) for key, value in now.items() if key in then}
    if isinstance(now, list) and isinstance(then, list):
        return [known_then(item, was) for item, was in zip(now, then)] + now[len(then):]
    return now


def differing(api: ApiClient, paths: list[str]) -> list[str]:
    return [path for path in paths if known_then(read(api, path), FIXTURE["reads"][path]) != FIXTURE["reads"][path]]


def state(aggregate: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


def test_every_aggregate_loads_from_its_old_snapshot_as_from_its_events(stored: ApiClient) -> None:
    """Given a snapshot of every aggregate written by the old entity classes, when each aggregate is loaded
    from its snapshot and, separately, from its events alone, then both give the same aggregate at the
    version the fixture recorded, and so does the repository."""
    coordination = stored.services.coordination
    assert FIXTURE["snapshots"], "the fixture holds snapshots"
    for originator, version in FIXTURE["snapshots"].items():
        originator_id = uuid.UUID(originator)
        snapshots = list(coordination.snapshots.get(originator_id, desc=True, limit=1))
        assert [s.originator_version for s in snapshots] == [version], f"{originator}: the snapshot taken then"
        from_snapshot = snapshots[0].mutate(None)
        from_events = None
        for event in coordination.events.get(originator_id):
            from_events = event.mutate(from_events)
        assert from_events is not None and from_events.version == from_snapshot.version == version
        assert state(from_snapshot) == state(from_events), f"{type(from_events).__name__} {originator}"
        assert state(coordination.repository.get(originator_id)) == state(from_events)


def test_the_store_answers_as_it_answered_when_it_was_written(stored: ApiClient) -> None:
    """Given the old store, when every read the fixture recorded (current records, read models, refusals,
    checkpoints, history by version and as of a moment) is asked again, then each answers exactly as then."""
    assert differing(stored, list(FIXTURE["reads"])) == []


def test_rebuilt_read_models_answer_the_same(stored: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the old store, when `valmius rebuild` rebuilds every read model from the old events with the
    current projections, then the overview, the boards, every timeline and decision log answer as then."""
    monkeypatch.setenv("VALMIUS_DATABASE_URL", stored.services.settings.database_url)
    assert valmius(["rebuild"]) == 0
    assert READ_MODEL_PATHS and differing(stored, READ_MODEL_PATHS) == []


def test_as_of_answers_from_old_history_snapshots_agree_with_a_full_replay(stored: ApiClient) -> None:
    """Given the overview snapshots the old follower kept, when an as-of question is answered from them and
    again by a full replay from the first event, then the pictures are the same as then."""
    overviews = [path for path in AS_OF_PATHS if path.startswith("/audit/situation-overview")]
    assert overviews
    for path in overviews:
        recorded = FIXTURE["reads"][path]
        assert recorded["history"]["snapshot_position"], f"{path}: answered from a snapshot then"
        replayed = known_then(read(stored, path + "&full_replay=true"), recorded)
        assert {**replayed, "history": None} == {**recorded, "history": None}, path


def test_the_audit_chain_and_the_signed_checkpoint_still_hold(stored: ApiClient) -> None:
    """Given the old hash chain and a checkpoint signed then, when the current code verifies the log
    against them (the key pinned), and again after it has appended an event of its own, then it is intact."""
    public_key = FIXTURE["public_key"]
    headers = stored.headers(*READER, clearance=True)
    verdict = read(stored, f"/audit/verify?public_key={public_key}")
    assert (verdict["intact"], verdict["not_yet_chained"]) == (True, 0), verdict["verdict"]
    assert [(c["position"], c["holds"]) for c in verdict["checkpoints"]] == [(FIXTURE["checkpoint"]["position"], True)]
    against = stored.post(
        f"/audit/verify-checkpoint?public_key={public_key}", json=FIXTURE["checkpoint"], headers=headers
    )
    assert against.status_code == 200 and against.json()["intact"], against.text

    entry = stored.post(
        "/crises/C-FIXTURE/log-entries", json={"text": "Cooling centre open in Kallio library"},
        headers=stored.headers("DO-1", "duty_officer"),
    )
    assert entry.status_code == 200, entry.text
    verdict = read(stored, f"/audit/verify?public_key={public_key}")
    log_head = FIXTURE["checkpoint"]["position"] + 1  # chained by the follower shortly; counted as not yet chained
    assert verdict["intact"] and verdict["log_head"] == log_head, verdict["verdict"]


def test_a_keyed_command_is_answered_again_from_its_old_idempotency_row(stored: ApiClient) -> None:
    """Given a command stored with an idempotency key by the old code, when it is sent again with the same key
    and the same (old) bearer token, then it is answered as then and nothing is appended."""
    keyed = FIXTURE["keyed"]
    head = stored.services.coordination.recorder.max_notification_id()
    headers = {"Authorization": f"Bearer {keyed['token']}", "Idempotency-Key": keyed["key"],
               "Content-Type": "application/json"}
    again = stored.post(keyed["path"], content=keyed["body"], headers=headers)
    assert (again.status_code, again.json()) == (keyed["status"], keyed["answer"]), again.text
    assert stored.services.coordination.recorder.max_notification_id() == head


def test_old_events_keep_their_recorded_time_and_new_ones_have_one_time(stored: ApiClient) -> None:
    """Given old events whose library `timestamp` was the wall clock when the fixture was made, when the
    current code appends to the same crisis at the server clock, then every old event still carries its own
    `recorded_at` (the scenario's time, which every answer above shows), and the new event's `timestamp` and
    `recorded_at` are the one server time."""
    crisis_id = Crisis.id_for("C-FIXTURE")
    [declared] = stored.services.coordination.events.get(crisis_id)
    assert declared.recorded_at == datetime.fromisoformat(FIXTURE["now"]) != declared.timestamp

    stored.clock.advance(minutes=5)
    entry = stored.post(
        "/crises/C-FIXTURE/log-entries", json={"text": "Cooling centre open in Kallio library"},
        headers=stored.headers("DO-1", "duty_officer"),
    )
    assert entry.status_code == 200, entry.text
    latest = list(stored.services.coordination.events.get(crisis_id))[-1]
    assert latest.timestamp == latest.recorded_at == stored.clock()
