"""Snapshots written before DivisionPreparedness and PoliceLiaison were slimmed (class version 1: the whole plans,
readiness history, requests, people and information shared), and before Crisis kept its records' classifications
apart (class version 2), load, on every store, as the aggregate folded from its events. The fixture store
(tests/integration/test_stored_store.py) has snapshots of version 1 only, and no plan reviews, exercises, changes
of people, declined or withdrawn requests nor information shared: these snapshots hold each of them."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Snapshot
from eventsourcing.utils import get_topic

from domain.crisis import Crisis
from domain.crisis_records import ActionState, DecisionState
from domain.division_preparedness import DivisionPreparedness
from domain.police_liaison import PoliceLiaison
from domain.shared import Classification
from tests.application.support import DO1, PC, approved_plan, contact, declare, open_request


def state(aggregate: Any) -> dict[str, Any]:
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


def written_before(services: Any, aggregate_id: Any, cls: type, old: dict[str, Any], dropped: tuple = ()) -> Any:
    """Store an old snapshot of the aggregate as it stands, holding `old` (what the slimmed class no longer keeps,
    and `class_version` unless it is 1) beside what both versions keep (not `dropped`); the aggregate as it stands,
    and as loaded back from that snapshot."""
    app = services.coordination
    current = app.repository.get(aggregate_id)
    kept = {name: value for name, value in state(current).items() if name not in (*dropped, *old)}
    snapshot = Snapshot(  # a version-1 state carries no class_version
        originator_id=aggregate_id, originator_version=current.version, timestamp=current.modified_on,
        topic=get_topic(cls), state={**kept, **old},
    )
    app.snapshots.put([snapshot])
    [stored] = app.snapshots.get(aggregate_id, desc=True, limit=1)
    return current, stored.mutate(None)


def test_an_old_snapshot_of_a_unit_loads_as_its_events_fold(services, clock) -> None:  # noqa: ANN001
    """Given SOTEPE with a readiness change and a plan drafted, approved, reviewed, exercised, activated and
    deactivated, when its snapshot of version 1 is loaded, then it equals the aggregate folded from its events."""
    app = services.coordination
    declare(app, "C-S1")
    approved_plan(app)
    app.change_readiness(contact("SOTEPE"), "SOTEPE", to_level="ENHANCED", reason="storm")
    app.record_plan_review(contact("SOTEPE"), "SOTEPE", plan_id="CP-SOTEPE-02", notes="contacts updated")
    app.record_exercise(contact("SOTEPE"), "SOTEPE", plan_id="CP-SOTEPE-02", title="Tabletop", findings=["water"])
    app.activate_continuity_plan(contact("SOTEPE"), "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1")
    clock.advance(minutes=30)
    app.deactivate_continuity_plan(contact("SOTEPE"), "SOTEPE", plan_id="CP-SOTEPE-02", reason="water back")
    app.activate_continuity_plan(contact("SOTEPE"), "SOTEPE", plan_id="CP-SOTEPE-02", crisis_id="C-S1")
    record = app.preparedness_record("SOTEPE")
    assert record.plans["CP-SOTEPE-02"].reviews and record.plans["CP-SOTEPE-02"].exercises

    current, loaded = written_before(
        services, DivisionPreparedness.id_for("SOTEPE"), DivisionPreparedness,
        {"readiness_history": record.readiness_history, "plans": record.plans},
    )
    assert state(loaded) == state(current)
    assert loaded.plans["CP-SOTEPE-02"].active_for == "C-S1"


def test_an_old_snapshot_of_a_liaison_loads_as_its_events_fold(services) -> None:  # noqa: ANN001
    """Given a liaison whose people changed, with requests answered, declined, withdrawn and open, and
    information shared, when its snapshot of version 1 is loaded, then it equals the matter folded from its
    events."""
    app = services.coordination
    declare(app, "C-S1")
    open_request(app, "C-S1", "PR-1")
    for request_id in ("PR-2", "PR-3", "PR-4"):
        app.raise_police_request(PC, "L-C-S1", request_id=request_id, direction="CITY_TO_POLICE",
                                 request_type="COORDINATION", subject=f"subject of {request_id}")
    app.change_liaison_people(PC, "L-C-S1", city_people=["PC", "DO-1"], police_people=["HPD duty commander"])
    app.answer_police_request(PC, "L-C-S1", request_id="PR-1", response="listed", answered_by="HPD")
    app.decline_police_request(PC, "L-C-S1", request_id="PR-2", response="no patrols free")
    app.withdraw_police_request(PC, "L-C-S1", request_id="PR-3", response=None)
    app.record_information_shared(PC, "L-C-S1", what="floor plans", to_whom="HPD duty commander")
    record = app.liaison_record("L-C-S1")
    assert record.information_shared and record.city_people == ["PC", "DO-1"]

    old = {name: getattr(record, name) for name in
           ("topic", "city_people", "police_people", "opened_at", "requests", "information_shared")}
    current, loaded = written_before(services, PoliceLiaison.id_for("L-C-S1"), PoliceLiaison, old)
    assert state(loaded) == state(current)
    assert [r.request_id for r in loaded.open_requests()] == ["PR-4"]


def test_an_old_snapshot_of_a_crisis_loads_as_its_events_fold(services) -> None:  # noqa: ANN001
    """Given a crisis with a secret action and a public one closed, a decision superseded by a secret one, when
    its snapshot of version 2 (each action and decision with its classification) is loaded, then it equals the
    crisis folded from its events."""
    app = services.coordination
    secret = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")
    declare(app, "C-S1")
    due = app.now().replace(year=app.now().year + 1)
    app.assign_action(DO1, "C-S1", action_id="A-1", unit="STARA", task="Clear trees", due_at=due)
    app.assign_action(DO1, "C-S1", action_id="A-2", unit="KYMP", task="Guard the site", due_at=due,
                      classification=secret)
    app.complete_action(DO1, "C-S1", action_id="A-1", note="road open")
    app.record_decision(DO1, "C-S1", decision_id="D-1", decided_by="Mayor", decision="open shelters",
                        rationale="forecast", options=["open", "wait"])
    app.record_decision(DO1, "C-S1", decision_id="D-2", decided_by="Mayor", decision="close schools",
                        rationale="forecast", options=["close", "wait"], supersedes="D-1", classification=secret)
    crisis = app.load_crisis("C-S1")
    old = {
        "actions": {i: ActionState(a.unit, crisis.action_classification(i), a.status, a.closed_at, a.closed_by)
                    for i, a in crisis.actions.items()},
        "decisions": {i: DecisionState(crisis.decision_classification(i), successor)
                      for i, successor in crisis.decisions.items()},
        "class_version": 2,
    }
    current, loaded = written_before(services, Crisis.id_for("C-S1"), Crisis, old,
                                     dropped=("classified_actions", "classified_decisions"))
    assert state(loaded) == state(current)
    assert (loaded.classified_actions, loaded.classified_decisions) == ({"A-2": secret}, {"D-2": secret})
    assert loaded.decisions == {"D-1": "D-2", "D-2": None} and loaded.action("A-1").closed_by == DO1.user
