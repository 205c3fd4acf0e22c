"""The command pipeline's use of the aggregate cache, with two workers on one PostgreSQL store: a command takes a
cached record without asking the store for newer events (application.coordination.CommandRepository.take), so
what another worker stored since must still decide every answer: a write on a record that is behind is refused by
the store and run again, a refusal decided on it is decided again on the stored record, and after any refusal the
next command sees the record as stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from application.coordination import Coordination
from domain.crisis import Crisis
from domain.shared import DomainError, Rule
from infrastructure.bootstrap import Services
from tests.conftest import FakeClock
from tests.integration.test_group_commit import OFFICER, another_process, services  # noqa: F401 - a fixture

pytestmark = pytest.mark.postgres


@pytest.fixture
def other(services: Services) -> Iterator[Coordination]:  # noqa: F811 - the fixture imported above
    """Another worker on the same store, with an aggregate cache of its own."""
    app = another_process(services)
    yield app
    app.close()


def test_an_action_another_worker_assigned_can_be_completed_here_though_this_cache_has_not_seen_it(
    services: Services, other: Coordination, clock: FakeClock  # noqa: F811
) -> None:
    app = services.coordination
    # Given a crisis this worker has loaded (its cache holds it without any action),
    app.declare_crisis(OFFICER, crisis_id="C-1", title="Storm", category="SEVERE_WEATHER", severity=2)
    app.load_crisis("C-1")
    # and an action assigned on it through another worker,
    other.assign_action(OFFICER, "C-1", action_id="A-1", unit="KYMP", task="Clear the trees",
                        due_at=clock() + timedelta(hours=2))
    # when this worker completes the action,
    version = app.complete_action(OFFICER, "C-1", action_id="A-1", note="cleared")
    # then it is completed after the assignment, not refused as unknown,
    assert version == 3
    stored = list(app.events.get(Crisis.id_for("C-1")))
    assert [type(e).__name__ for e in stored] == ["Declared", "ActionAssigned", "ActionClosed"]
    assert stored[-1].note == "cleared"  # type: ignore[attr-defined]
    # and no refusal was kept for the attempt decided on the cache.
    assert services.refusals.list(target="C-1") == []


def test_a_refusal_is_decided_on_the_stored_record_and_the_next_command_sees_the_record_as_stored(
    services: Services, other: Coordination  # noqa: F811
) -> None:
    app = services.coordination
    app.declare_crisis(OFFICER, crisis_id="C-2", title="Flood", category="SEVERE_WEATHER", severity=2)
    app.record_log_entry(OFFICER, "C-2", text="cached here at version 2")
    other.record_log_entry(OFFICER, "C-2", text="stored elsewhere at version 3")
    # When this worker sends an If-Match of the version it has cached,
    with pytest.raises(DomainError) as refused:
        app.record_log_entry(OFFICER, "C-2", text="stale", expected_version=2)
    # then the answer is the store's: the record is at version 3, and what changed since version 2 is named,
    assert refused.value.rule == Rule.CONFLICT_VERSION
    assert "at version 3, not 2" in refused.value.message
    # the refusal is kept once,
    assert [r["rule"] for r in services.refusals.list(target="C-2")] == ["CONFLICT_VERSION"]
    # and the record this worker loads next is the stored one, and takes the next command at version 4.
    assert app.load_crisis("C-2").version == 3
    assert app.record_log_entry(OFFICER, "C-2", text="fresh", expected_version=3) == 4
    assert other.load_crisis("C-2") == app.load_crisis("C-2")
