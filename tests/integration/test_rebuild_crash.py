"""A rebuild commits its batches without waiting for the disk (synchronous_commit off, runner.Projections._apply):
a crash of PostgreSQL in the middle of it may lose its last batches, but only whole ones, rows with the tracking
position that moved past them. Proven on a throwaway cluster of the test's own (tests/integration/test_faults.py),
crashed as a crash would (`pg_ctl stop -m immediate`) between two of the rebuild's batches."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from domain.crisis import Crisis
from infrastructure.bootstrap import open_services
from infrastructure.settings import Settings
from tests.integration.test_faults import cluster  # noqa: F401 (the throwaway cluster, as a fixture)
from tests.integration.test_projection_worker import VIEWS, read_model_rows

BATCH = 500  # the rebuild's batch here (the smallest it takes): several batches in a small log


def write_log(app, crises: int, entries: int) -> None:  # noqa: ANN001
    """Crises with log entries, actions assigned and completed and decisions, saved many events at a time."""
    policy, unit = app.policy, next(iter(app.policy.units.units))
    for n in range(crises):
        now = app.now()
        p = {"occurred_at": now, "policy": policy, "now": now}
        crisis = Crisis.declare(crisis_id=f"C-{n}", title=f"Storm {n}", category="SEVERE_WEATHER", severity=2,
                                actor="DO-1", emergency_conditions_in_force=False, **p)
        for i in range(entries):
            if i % 5 == 1:
                crisis.assign_action(action_id=f"A-{i}", unit=unit, task=f"task {i}", due_at=now + timedelta(hours=1),
                                     actor="DO-1", **p)
            elif i % 5 == 2:
                crisis.complete_action(action_id=f"A-{i - 1}", note="done", actor="DO-1", **p)
            elif i % 5 == 3:
                crisis.record_decision(decision_id=f"D-{i}", decided_by="Mayor", authority="delegation",
                                       decision=f"decision {i}", rationale="storm", options=["act", "wait"],
                                       actor="DO-1", **p)
            else:
                crisis.record_log_entry(text=f"report {i}", source="HSY", actor="DO-1", **p)
            if i % 200 == 199:
                app.save(crisis)
        app.save(crisis)


@pytest.mark.postgres
def test_a_rebuild_cut_by_a_crash_of_postgresql_resumes_and_its_read_models_equal_a_whole_one(cluster):
    """Given read models caught up with a log of several rebuild batches, when PostgreSQL crashes right after the
    rebuild committed its third batch and comes back, then the models stand at a batch's end (none of a lost
    batch's rows without its position, nor the other way round), and following the log from there gives every
    read model exactly the rows it had before the rebuild."""
    url = cluster.url(f"rebuild_{uuid.uuid4().hex[:8]}")
    services = open_services(Settings(_env_file=None, database_url=url))
    try:
        write_log(services.coordination, crises=3, entries=1100)
        head = services.coordination.recorder.max_notification_id()
        services.projections.catch_up()
        before = read_model_rows(services)
        projections = services.projections
        projections.rebuild_batch_size = BATCH
        batches: list[int] = []

        def crash_after_the_third(moved: int) -> None:
            batches.append(moved)
            if len(batches) == 3:
                cluster.crash()

        with pytest.raises(Exception):  # the store went away under the rebuild
            projections.rebuild(progress=crash_after_the_third)
    finally:
        services.close()
    assert head > 6 * BATCH and len(batches) == 3
    cluster.start()

    services = open_services(Settings(_env_file=None, database_url=url))
    try:
        positions = {row["view"]: row["position"] for row in services.sql.query(
            "SELECT view, position FROM valmius_tracking")}
        ends = {0, batches[0], batches[0] + batches[1], sum(batches)}  # where each committed batch left them
        reached = {positions[name] for name in VIEWS}
        assert len(reached) == 1 and reached <= ends, (positions, ends)  # at the end of a whole batch
        print(f"after the crash the read models stand at {reached.pop()} of the {sum(batches)} committed")
        timeline = services.sql.query("SELECT max(position) AS last, count(*) AS n FROM rm_timeline")[0]
        assert (timeline["last"] or 0) <= positions["crisis_timeline"]  # no row past the position
        services.projections.catch_up()
        assert read_model_rows(services) == before
    finally:
        services.close()
