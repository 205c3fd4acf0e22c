"""Exercise mode through HTTP (issue 13 item 3): a crisis declared with `exercise: true` is kept out of the real
picture and shown in its own overview; everything of it says EXERCISE (its records, pages and PDFs, its export,
its warnings' CAP status, its EDXL situation report); auditors see its events apart.

The generated crawl of every real path is tests/interfaces/test_exercise_crawl.py."""

from __future__ import annotations

import json
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest

from interfaces.cap import CAP_NAMESPACE, validate
from tests.conftest import TEST_POOL, make_api, settings_for
from tests.interfaces.conftest import STORM, People, accepted, approved_plan, declare, liaison_with_request
from tests.interfaces.test_http_audit_export import archive_files
from tests.interfaces.test_http_incident_summary import pdf_text, text_of
from tests.interfaces.test_http_public_warning import TEXTS

EXERCISE = {**STORM, "crisis_id": "C-X1", "title": "Exercise: storm in eastern Helsinki", "exercise": True}


@pytest.fixture
def both(api, people):  # noqa: ANN001, ANN201
    """Given the real storm C-S1 and an exercise C-X1 (SOTEPE's plans active for each, a police request open in
    each, a warning issued for each); the position of the last write."""
    do, pm, pc = people.duty_officer, people.preparedness_manager, people.police_coordinator
    declare(api, do)
    declare(api, do, **EXERCISE)
    for crisis_id, plan_id in (("C-S1", "CP-SOTEPE-01"), ("C-X1", "CP-SOTEPE-02")):
        accepted(api.post(f"/crises/{crisis_id}/actions", headers=do, json={
            "action_id": f"A-{crisis_id}", "unit": "STARA", "task": "Clear fallen trees",
            "due_at": (api.clock() + timedelta(hours=2)).isoformat()}))
        approved_plan(api, pm, plan_id=plan_id)
        accepted(api.post(f"/division-preparedness/SOTEPE/plans/{plan_id}/activate", json={"crisis_id": crisis_id},
                          headers=pm))
        liaison_with_request(api, pc, crisis_id=crisis_id, request_id=f"PR-{crisis_id}")
        accepted(api.post(f"/crises/{crisis_id}/decisions", headers=do, json={
            "decision_id": f"D-{crisis_id}", "decided_by": "PM", "authority": "Preparedness manager",
            "decision": "Open the evacuation centre", "rationale": "Power out",
            "options": ["open it", "wait"]}))
        accepted(api.post(f"/crises/{crisis_id}/situation-reports", headers=do, json={"summary": "Power cut"}))
        accepted(api.post(f"/crises/{crisis_id}/warnings", headers=do, json={
            "warning_id": f"W-{crisis_id}", "texts": TEXTS, "urgency": "Immediate", "certainty": "Observed"}), 201)
        accepted(api.post(f"/warnings/W-{crisis_id}/approval", json={}, headers=pm))
        issued = api.post(f"/warnings/W-{crisis_id}/issue", json={}, headers=do)
        accepted(issued)
    return int(issued.headers["Valmius-Position"])


def read(api, path: str, headers: dict, position: int, **params: object) -> dict:  # noqa: ANN001
    return accepted(api.get(path, params={"min_position": position, **params}, headers=headers))


def test_the_real_picture_leaves_the_exercise_out_and_its_own_overview_shows_it(api, people, both) -> None:  # noqa: ANN001
    reader = people.leadership
    # When the real overview, boards, district overview and warnings are read
    overview = read(api, "/situation-overview", reader, both)
    assert [c["crisis_id"] for c in overview["active_crises"]] == ["C-S1"]
    assert [a["crisis_id"] for a in overview["open_actions"]] == ["C-S1"]
    assert [p["crisis_id"] for p in overview["active_plans"]] == ["C-S1"]
    assert [r["crisis_id"] for r in overview["police_requests"]["open"]] == ["C-S1"]
    assert overview["decisions"] == 1 and "exercise" not in overview
    assert [p["crisis_id"] for p in read(api, "/readiness-board", reader, both)["active_plans"]] == ["C-S1"]
    assert [r["crisis_id"] for r in read(api, "/police-liaison-board", reader, both)["open"]] == ["C-S1"]
    districts = json.dumps(read(api, "/situation-overview/districts", reader, both))
    assert "C-S1" in districts and "C-X1" not in districts
    assert [w["warning_id"] for w in read(api, "/warnings", reader, both)["warnings"]] == ["W-C-S1"]
    feed = api.get("/warnings/feed", params={"min_position": both}, headers=reader).text
    assert "W-C-S1" in feed and "C-X1" not in feed
    unit = accepted(api.get("/division-preparedness/SOTEPE", headers=reader))
    plans = {p["plan_id"]: p for p in unit["plans"]}
    assert plans["CP-SOTEPE-01"]["active_for"] == "C-S1" and not plans["CP-SOTEPE-01"]["active_in_exercise"]
    assert plans["CP-SOTEPE-02"]["active_for"] is None and plans["CP-SOTEPE-02"]["active_in_exercise"]
    # Then the exercise's own overview shows the exercise only, with its plan, request and decision
    own = read(api, "/exercises/situation-overview", reader, both)
    assert own["exercise"] is True
    assert [c["crisis_id"] for c in own["active_crises"]] == ["C-X1"]
    assert [p["plan_id"] for p in own["active_plans"]] == ["CP-SOTEPE-02"]
    assert [r["crisis_id"] for r in own["police_requests"]["open"]] == ["C-X1"] and own["decisions"] == 1
    # and only the roles that read the overview read it
    assert api.get("/exercises/situation-overview", headers=api.headers("ADM", "admin")).status_code == 403


def test_a_units_real_readiness_does_not_move_for_an_exercise(api, people, both) -> None:  # noqa: ANN001
    body = {"to_level": "ENHANCED", "reason": "practising the storm", "crisis_ref": "C-X1"}
    refused = api.post("/division-preparedness/SOTEPE/readiness", json=body, headers=people.preparedness_manager)
    assert (refused.status_code, refused.json()["code"]) == (409, "NOT_IN_AN_EXERCISE"), refused.text
    assert "C-X1 is an exercise" in refused.json()["detail"]
    unit = accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))
    assert unit["readiness"] == "BASIC"
    # while for the real crisis it moves
    accepted(api.post("/division-preparedness/SOTEPE/readiness", json={**body, "crisis_ref": "C-S1"},
                      headers=people.preparedness_manager))


def test_the_auditors_see_the_exercise_apart(api, people, both) -> None:  # noqa: ANN001
    auditor = people.auditor
    events = accepted(api.get("/audit/events", params={"limit": 1000}, headers=auditor))["items"]
    marked = {e["aggregate_id"] for e in events if e["exercise"]}
    assert {"C-X1", "PL-C-X1", "W-C-X1"} <= marked and "C-S1" not in marked
    real = accepted(api.get("/audit/events", params={"limit": 1000, "exercise": "false"}, headers=auditor))["items"]
    only = accepted(api.get("/audit/events", params={"limit": 1000, "exercise": "true"}, headers=auditor))["items"]
    assert real and only and len(real) + len(only) == len(events)
    assert "C-X1" not in json.dumps(real) and all(e["exercise"] for e in only)
    # the pictures as of a moment are the real ones
    at = api.clock().isoformat()
    picture = accepted(api.get("/audit/situation-overview", params={"as_of": at}, headers=auditor))
    assert [c["crisis_id"] for c in picture["active_crises"]] == ["C-S1"]
    board = accepted(api.get("/audit/readiness-board", params={"as_of": at}, headers=auditor))
    assert [p["crisis_id"] for p in board["active_plans"]] == ["C-S1"]
    # and across crises, a person's activity log is of the real ones
    log = api.get("/activity-log", params={"person": "DO-1"}, headers=auditor).text
    assert "C-S1" in log and "C-X1" not in log and "EXERCISE" not in log


def test_the_disclosures_of_an_exercise_say_so_and_are_told_apart(api, people, both) -> None:  # noqa: ANN001
    """Given a SECRET log entry in the real storm and in the exercise, each read by a cleared reader, then the
    auditors' disclosures mark the exercise's, and filter them in or out."""
    secret = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
    for crisis_id in ("C-S1", "C-X1"):
        entry = api.post(f"/crises/{crisis_id}/log-entries", headers=people.duty_officer,
                         json={"text": "Shelter address", "classification": secret})
        accepted(entry)
        read(api, f"/crises/{crisis_id}/timeline", people.cleared_leadership, int(entry.headers["Valmius-Position"]))
    every = accepted(api.get("/audit/disclosures", headers=people.auditor))["disclosures"]
    assert {(d["crisis_id"], d["exercise"]) for d in every} == {("C-S1", False), ("C-X1", True)}
    for exercise, crisis_id in (("true", "C-X1"), ("false", "C-S1")):
        some = accepted(api.get("/audit/disclosures", params={"exercise": exercise}, headers=people.auditor))
        assert some["disclosures"] and {d["crisis_id"] for d in some["disclosures"]} == {crisis_id}


def test_the_refusals_concerning_an_exercise_say_so_and_are_told_apart(api, people, both) -> None:  # noqa: ANN001
    """Given a refused attempt on the real storm, one on the exercise, one on a police request of the exercise
    (kept under its liaison's id) and one on its warning (kept under the warning's id), then the auditors' refusals
    mark the exercise's three, and filter them in or out."""
    for path in ("/crises/C-S1/severity", "/crises/C-X1/severity"):
        assert api.post(path, json={"severity": 9, "reason": "x"}, headers=people.duty_officer).status_code == 422
    refused = api.post("/police-liaisons/PL-C-X1/requests/PR-C-X1/answer", json={}, headers=people.leadership)
    assert refused.status_code == 403
    refused = api.post("/warnings/W-C-X1/approval", json={}, headers=people.leadership)  # kept under the warning
    assert refused.status_code == 403
    every = accepted(api.get("/audit/refusals", headers=people.auditor))["refusals"]
    marked = {(r["target"], r["exercise"]) for r in every}
    assert {("C-S1", False), ("C-X1", True), ("PL-C-X1", True), ("W-C-X1", True)} <= marked
    only = accepted(api.get("/audit/refusals", params={"exercise": "true"}, headers=people.auditor))["refusals"]
    real = accepted(api.get("/audit/refusals", params={"exercise": "false"}, headers=people.auditor))["refusals"]
    assert {r["target"] for r in only} == {"C-X1", "PL-C-X1", "W-C-X1"} and all(r["exercise"] for r in only)
    assert len(only) + len(real) == len(every) and not any(r["exercise"] for r in real)


def test_everything_of_the_exercise_says_exercise(api, people, both) -> None:  # noqa: ANN001
    reader, auditor = people.leadership, people.auditor
    # Its records
    assert accepted(api.get("/crises/C-X1", headers=reader))["exercise"] is True
    assert accepted(api.get("/crises/C-S1", headers=reader))["exercise"] is False
    assert read(api, "/crises/C-X1/timeline", reader, both)["exercise"] is True
    assert read(api, "/crises/C-X1/decision-log", reader, both)["exercise"] is True
    assert read(api, "/crises/C-S1/timeline", reader, both).get("exercise", False) is False
    assert accepted(api.get("/crises/C-X1/situation-reports/1", headers=reader))["exercise"] is True
    assert accepted(api.get("/warnings/W-C-X1", headers=reader))["exercise"] is True
    assert accepted(api.get("/warnings/W-C-S1", headers=reader))["exercise"] is False
    assert read(api, "/crises/C-X1/warnings", reader, both)["exercise"] is True
    assert read(api, "/crises/C-S1/warnings", reader, both)["exercise"] is False
    # its warnings' CAP documents are of status Exercise (valid CAP 1.2), the real ones Actual
    for warning_id, status in (("W-C-X1", "Exercise"), ("W-C-S1", "Actual")):
        document = api.get(f"/warnings/{warning_id}/cap", headers=reader)
        validate(document.content)
        assert ET.fromstring(document.content).findtext("cap:status", namespaces={"cap": CAP_NAMESPACE}) == status
    # its EDXL situation report
    edxl = api.get("/crises/C-X1/situation-reports/1/edxl", headers=reader).text
    assert "EXERCISE: Situation report #1 of crisis C-X1" in edxl
    assert "EXERCISE" not in api.get("/crises/C-S1/situation-reports/1/edxl", headers=reader).text
    # its pages and their PDFs: every printed page's marking line
    for path in ("/crises/{}/incident-summary", "/crises/{}/activity-log"):
        page = api.get(path.format("C-X1"), headers=reader)
        assert page.status_code == 200, page.text
        assert '<p class="marking">EXERCISE' in page.text and "<h1>EXERCISE: " in page.text
        pages, text = pdf_text(api.get(path.format("C-X1"), params={"format": "pdf"}, headers=reader).content)
        assert text.count("EXERCISE") >= 2 * pages, text  # the heading and each page's corner
        assert "EXERCISE" not in text_of(api.get(path.format("C-S1"), headers=reader).text)
    # its export: the manifest and the report
    files = archive_files(api.get("/audit/crises/C-X1/export", headers=auditor).content)
    assert json.loads(files["manifest.json"])["exercise"].startswith("EXERCISE")
    assert '<p class="marking">EXERCISE' in files["report.html"].decode()
    real = archive_files(api.get("/audit/crises/C-S1/export", headers=auditor).content)
    assert "exercise" not in json.loads(real["manifest.json"]) and b"EXERCISE" not in real["report.html"]


@pytest.mark.postgres
def test_the_auditors_tell_an_exercise_from_the_log_whatever_the_read_models_progress(postgres_url, tmp_path, clock):
    """Given an exercise declared on PostgreSQL with no follower running (the read models have applied nothing:
    a worker lagging or down), a refused attempt on it and a cleared read of its SECRET content, then the auditors'
    refusals and disclosures still mark them as the exercise's and keep them out of the real lists, as
    /audit/events does: the exercises are read from the log."""
    settings = settings_for("postgres", tmp_path, postgres_url, embedded_projections=False, **TEST_POOL)
    for api in make_api(settings, clock):
        people = People(api)
        declare(api, people.duty_officer, **{**EXERCISE, "classification": {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}})
        assert api.post("/crises/C-X1/severity", json={"severity": 9, "reason": "x"},
                        headers=people.duty_officer).status_code == 422
        accepted(api.get("/crises/C-X1", headers=people.cleared_leadership))
        projections = api.services.projections
        for applied in (False, True):  # read from the log; then from the overview's set, once it has the log
            if applied:
                projections.catch_up()
            assert (projections.position() > 0) is applied and projections.exercise_crises() == {"C-X1"}
            for path, rows in (("/audit/refusals", "refusals"), ("/audit/disclosures", "disclosures")):
                every = accepted(api.get(path, headers=people.auditor))[rows]
                real = accepted(api.get(path, params={"exercise": "false"}, headers=people.auditor))[rows]
                assert every and all(row["exercise"] for row in every) and real == [], (path, every)
