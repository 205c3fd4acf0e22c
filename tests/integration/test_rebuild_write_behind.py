"""A rebuild on PostgreSQL applies each batch while the batch before is written by a thread of its own
(runner.Projections._write_behind); anything out of the ordinary hands over to the batch-at-a-time catch-up. Each
way out ends with every read model holding exactly the rows following the log gave it. And the recorder reads the
log in PostgreSQL's binary format (recorders.PostgresKeyedRecorder.select_notifications): it answers as the
library's read does, for every way of asking."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from domain.crisis import Crisis
from infrastructure.bootstrap import Services, open_services
from tests.conftest import TEST_POOL, settings_for
from tests.integration.test_projection_worker import VIEWS, read_model_rows
from tests.integration.test_rebuild_crash import write_log

pytestmark = pytest.mark.postgres

BATCH = 500  # several of the rebuild's batches in a small log


@pytest.fixture
def services(postgres_url: str, tmp_path) -> Iterator[Services]:  # noqa: ANN001
    opened = open_services(settings_for("postgres", tmp_path, postgres_url, **TEST_POOL))  # on a fresh schema
    write_log(opened.coordination, crises=3, entries=700)
    opened.projections.catch_up()
    opened.projections.rebuild_batch_size = BATCH
    yield opened
    opened.close()


def positions(services: Services) -> dict[str, int]:
    return {name: services.projections.position(name) for name in VIEWS}


def test_a_rebuild_written_behind_builds_the_rows_following_gave(services: Services) -> None:
    """Given read models caught up with a log of several rebuild batches, when they are rebuilt, then every batch
    is written in its turn, and every model holds the rows it held before, at the end of the log."""
    before, end = read_model_rows(services), services.coordination.recorder.max_notification_id()
    batches: list[int] = []

    covered = services.projections.rebuild(progress=batches.append)

    assert covered == end == sum(batches) and len(batches) > 3
    assert positions(services) == dict.fromkeys(VIEWS, end)
    assert read_model_rows(services) == before


def handed_over(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("the rebuild goes on a batch at a time")]


def test_a_read_model_that_reads_its_tables_hands_the_rebuild_over_to_the_catch_up(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Given the timeline remembering nothing between batches (so a completion in a later batch than its action
    reads the action's classification from the table, which the batch before may not be in yet), when every
    model is rebuilt, then the rebuild goes on batch by batch from where the written batches left it, and every
    model holds the rows it held before."""
    app = services.coordination
    now, policy = app.now(), app.policy
    crisis = Crisis.declare(crisis_id="C-LONG", title="Long storm", category="SEVERE_WEATHER", severity=2, actor="DO-1",
                            emergency_conditions_in_force=False, occurred_at=now, policy=policy, now=now)
    crisis.assign_action(action_id="A-1", unit=next(iter(policy.units.units)), task="Clear the trees",
                         due_at=now + timedelta(hours=1), actor="DO-1", occurred_at=now, policy=policy, now=now)
    for i in range(BATCH):  # the action's completion a batch after its assignment
        crisis.record_log_entry(text=f"report {i}", source="HSY", actor="DO-1", occurred_at=now, policy=policy, now=now)
    crisis.complete_action(action_id="A-1", note="done", actor="DO-1", occurred_at=now, policy=policy, now=now)
    app.save(crisis)
    services.projections.catch_up()
    before, end = read_model_rows(services), app.recorder.max_notification_id()
    timeline = services.projections.models["crisis_timeline"]
    timeline._parents.limit = 0  # noqa: SLF001 - forgets at every batch

    with caplog.at_level("INFO", "valmius.projections"):
        services.projections.rebuild()

    assert "read its tables while the batch before was being written" in " ".join(handed_over(caplog))
    assert positions(services) == dict.fromkeys(VIEWS, end)
    assert read_model_rows(services) == before


def test_a_model_another_process_rebuilt_meanwhile_is_found_and_left_where_that_process_left_it(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """Given a rebuild of every model under way, when another process rebuilds the decision log after the first
    batch is written, then this rebuild's next batch finds the decision log moved and is rolled back, the rebuild
    goes on from the positions in the store, and every model holds the rows it held before: each event once."""
    before, end = read_model_rows(services), services.coordination.recorder.max_notification_id()
    other = open_services(services.settings)  # another process on the same store
    batches: list[int] = []

    def after_each_batch(moved: int) -> None:
        batches.append(moved)
        if len(batches) == 1:
            other.projections.rebuild("decision_log")

    try:
        with caplog.at_level("INFO", "valmius.projections"):
            services.projections.rebuild(progress=after_each_batch)
    finally:
        other.close()

    assert "decision_log is not where this rebuild left it" in " ".join(handed_over(caplog))
    assert len(batches) > 3
    assert positions(services) == dict.fromkeys(VIEWS, end)
    assert read_model_rows(services) == before


def test_the_binary_read_of_the_log_answers_as_the_librarys(services: Services) -> None:
    """Every way of asking for the log's notifications (from a start, inclusive or not; up to a stop; of some
    topics; limited) is answered by the recorder's binary read with the very notifications the library's read
    gives."""
    recorder = services.coordination.recorder
    head = recorder.max_notification_id()
    topics = sorted({n.topic for n in recorder.select_notifications(start=1, limit=head)})
    asked = 0
    for start, stop, some, inclusive, limit in itertools.product(
        [None, 1, 7, head], [None, 50, head], [(), topics[:1], tuple(topics[1:3])], [True, False], [1, 10, head]
    ):
        ask = {"start": start, "limit": limit, "stop": stop, "topics": some, "inclusive_of_start": inclusive}
        ours = recorder.select_notifications(**ask)
        assert ours == PostgresApplicationRecorder.select_notifications(recorder, **ask), ask
        asked += bool(ours)
    assert asked > 100  # most ways of asking find notifications
