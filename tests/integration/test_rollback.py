"""A rollback to an older version after a newer one stored an event the older does not know
(docs/operations.md, "Upgrading, and rolling back"): what the older version does with it."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient

from infrastructure.bootstrap import open_services
from interfaces.http.app import create_app
from tests.conftest import FakeClock, settings_for

NEWER_TOPIC = "domain.crisis:Crisis.ScopeRedrawn"  # an event class of a newer version, unknown to this one


@pytest.mark.postgres
def test_an_unknown_event_stops_its_record_and_the_read_models_there_and_nothing_else(postgres_url, tmp_path):  # noqa: ANN001
    """Given a crisis to which a newer version appended an event of a type this version does not know, when this
    version runs on the store, then that crisis answers 500 to reads and commands, every read model and the
    audit chain stop just before the event (ready is 503, naming its position and topic), and another crisis
    is still declared; nothing stored is changed."""
    settings = settings_for("postgres", tmp_path, postgres_url, embedded_projections=True, postgres_pool_size=3)
    clock = FakeClock()
    services = open_services(settings, clock)
    try:
        with TestClient(create_app(settings, clock, services=services), raise_server_exceptions=False) as http:
            token, _ = services.tokens.issue(user="DO-1", role="duty_officer", unit=None, clearance=True,
                                             issued_by="test", now=clock())
            officer = {"Authorization": f"Bearer {token}"}
            declared = http.post("/crises", headers=officer, json={
                "crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2})
            assert declared.status_code == 201
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                originator, version, state = conn.execute(
                    "SELECT originator_id, originator_version, state FROM valmius_events "
                    "WHERE notification_id = %s", (int(declared.headers["Valmius-Position"]),)
                ).fetchone()
                newer = conn.execute(
                    "INSERT INTO valmius_events (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s) RETURNING notification_id", (originator, version + 1, NEWER_TOPIC, state)
                ).fetchone()[0]
            services.projections.catch_up()

            reads = [http.get(path, headers=officer).status_code for path in ("/crises/C-1", "/crises/C-1/timeline")]
            command = http.post("/crises/C-1/log-entries", headers={**officer, "Idempotency-Key": uuid.uuid4().hex},
                                json={"text": "Helen: 9,000 customers without power", "source": "Helen"})
            ready = http.get("/health/ready", headers=officer)
            failures = services.projections.failures()
            other = http.post("/crises", headers=officer, json={
                "crisis_id": "C-2", "title": "Flood", "category": "SEVERE_WEATHER", "severity": 1})
    finally:
        services.close()

    assert reads == [500, 500]
    assert command.status_code == 500
    assert (ready.status_code, ready.json()["code"]) == (503, "READ_MODEL_BEHIND")
    assert f"before the event at position {newer}" in ready.json()["detail"]
    assert {f.position for f in failures.values()} == {newer} and "audit_chain" in failures
    assert all(NEWER_TOPIC in f.error for f in failures.values())
    assert other.status_code == 201
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT topic FROM valmius_events WHERE notification_id = %s", (newer,)).fetchone() == (
            NEWER_TOPIC,)
