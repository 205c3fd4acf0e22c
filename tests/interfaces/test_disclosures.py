"""Who saw what: every read of SECRET or RECEIVED content by a cleared reader is kept for auditors.

Given a SECRET crisis with a RECEIVED log entry and a public action, the reads that show that content to a
cleared reader are kept (who, role, when, which records, through which endpoint); reads that show only
labels, or only public content, are not; and the log can be read by auditors only, and changed by no one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from interfaces.http.disclosure import disclosed_records
from tests.conftest import settings_for
from tests.interfaces.conftest import accepted, problem
from tests.live import LiveServer, running_service

SECRET = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
RECEIVED = {"level": "RECEIVED", "marking": "TL IV KÄYTTÖ RAJOITETTU", "originator": "Helsinki Police Department"}
THREATS = {"crisis_id": "C-X", "title": "Emailed bomb threats against schools", "category": "THREAT_VIOLENCE",
           "severity": 2, "classification": SECRET}


def given_a_secret_crisis_with_received_and_public_records(api) -> int:  # noqa: ANN001
    """C-X (SECRET), its log entry #1 (RECEIVED), action A-1 (PUBLIC), and a public crisis C-P; the log position."""
    duty = api.headers("DO-1", "duty_officer")
    accepted(api.post("/crises", json=THREATS, headers=duty), 201)
    accepted(api.post("/crises/C-X/log-entries", json={"text": "Sweep of school 3 found nothing", "source": "HPD",
                                                       "classification": RECEIVED}, headers=duty))
    accepted(api.post("/crises/C-X/actions", json={"action_id": "A-1", "unit": "KASKO", "task": "Keep pupils out",
                                                  "due_at": "2025-10-25T22:40+03:00"}, headers=duty))
    answer = api.post("/crises", json={"crisis_id": "C-P", "title": "Storm", "category": "SEVERE_WEATHER",
                                       "severity": 1}, headers=duty)
    accepted(answer, 201)
    return int(answer.headers["Valmius-Position"])


def kept(api, **filters) -> list[dict]:  # noqa: ANN001
    return api.services.disclosures.list(limit=1000, **filters)


def test_a_cleared_read_of_secret_and_received_content_is_kept_with_who_what_when_and_where(api) -> None:  # noqa: ANN001
    # Given a SECRET crisis with a RECEIVED log entry and a public action
    given_a_secret_crisis_with_received_and_public_records(api)
    api.clock.advance(minutes=3)

    # When a cleared leadership reader reads the crisis
    accepted(api.get("/crises/C-X", headers=api.headers("LR-2", "leadership", clearance=True)))

    # Then the read is kept: the crisis and the log entry, with their classification; not the public action
    rows = kept(api)
    assert {(r["kind"], r["record_id"], r["level"]) for r in rows} == {
        ("crisis", "C-X", "SECRET"),
        ("log_entry", "1", "RECEIVED"),
    }
    received = next(r for r in rows if r["kind"] == "log_entry")
    assert received["marking"] == "TL IV KÄYTTÖ RAJOITETTU" and received["originator"] == "Helsinki Police Department"
    # And who read it, as what, when, through which endpoint, as one read
    assert {(r["user_name"], r["role"], r["endpoint"], r["crisis_id"]) for r in rows} == {
        ("LR-2", "leadership", "GET /crises/C-X", "C-X")
    }
    assert {r["at"] for r in rows} == {api.clock().isoformat()}
    assert len({r["read_id"] for r in rows}) == 1


def test_uncleared_reads_public_reads_and_writes_are_not_kept(api) -> None:  # noqa: ANN001
    # Given a SECRET crisis and a public one
    given_a_secret_crisis_with_received_and_public_records(api)

    # When an uncleared reader reads the secret crisis (labels only), a cleared reader reads the public
    # crisis, and a cleared duty officer records a secret entry (a write, not a read)
    uncleared = accepted(api.get("/crises/C-X", headers=api.headers("LR-1", "leadership")))
    accepted(api.get("/crises/C-P", headers=api.headers("LR-2", "leadership", clearance=True)))
    accepted(api.post("/crises/C-X/log-entries", json={"text": "more", "classification": SECRET},
                      headers=api.headers("DO-9", "duty_officer", clearance=True)))

    # Then nothing is kept
    assert uncleared["redacted"] and uncleared["title"] == "[SECRET JulkL 24.1 § 7 k]"
    assert kept(api) == []


def test_reads_of_the_read_models_are_kept_for_the_records_they_show(api) -> None:  # noqa: ANN001
    # Given the secret crisis, a police request answered with RECEIVED content, and a SECRET decision
    given_a_secret_crisis_with_received_and_public_records(api)
    police, duty = api.headers("PC", "police_coordinator"), api.headers("DO-1", "duty_officer")
    accepted(api.post("/police-liaisons", json={"liaison_id": "PL-C-X", "crisis_id": "C-X"}, headers=police), 201)
    accepted(api.post("/police-liaisons/PL-C-X/requests", json={
        "request_id": "PR-1", "direction": "CITY_TO_POLICE", "request_type": "INFORMATION",
        "subject": "Can schools open?"}, headers=police), 201)
    accepted(api.post("/police-liaisons/PL-C-X/requests/PR-1/answer", json={
        "response": "Five of six swept", "answered_by": "HPD duty commander", "classification": RECEIVED},
        headers=police))
    answer = api.post("/crises/C-X/decisions", json={
        "decision_id": "D-1", "decided_by": "Executive Director, KASKO", "decision": "Delay school start",
        "rationale": "sweeps take 2 h", "options": ["cancel", "delay"], "classification": SECRET}, headers=duty)
    accepted(answer)
    position = int(answer.headers["Valmius-Position"])
    cleared = api.headers("LR-2", "leadership", clearance=True)

    # When the cleared reader reads the timeline, the decision log and the police liaison board
    for path in ("/crises/C-X/timeline", "/crises/C-X/decision-log", "/police-liaison-board"):
        accepted(api.get(path, params={"min_position": position}, headers=cleared))

    # Then each read is kept with the records it showed
    def records(endpoint: str) -> set[tuple]:
        return {(r["kind"], r["record_id"], r["crisis_id"]) for r in kept(api) if r["endpoint"].startswith(endpoint)}

    assert records("GET /crises/C-X/timeline") == {
        ("crisis", "C-X", "C-X"), ("log_entry", "1", "C-X"), ("decision", "D-1", "C-X"),
    }
    assert records("GET /crises/C-X/decision-log") == {("decision", "D-1", "C-X")}
    assert records("GET /police-liaison-board") == {("police_request_response", "PR-1", "C-X")}
    assert "min_position" in kept(api)[0]["endpoint"]


def test_disclosed_records_are_named_by_kind_and_id_in_every_shape_of_answer() -> None:
    # Given answers of the shapes the API gives: a crisis with nested records, an overview, a liaison, and
    # stored events as the audit history lists them
    secret = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
    public = {"level": "PUBLIC"}
    crisis = {"crisis_id": "C-1", "classification": secret, "redacted": False, "title": "t",
              "actions": [{"action_id": "A-1", "classification": public, "redacted": False},
                          {"action_id": "A-2", "classification": secret, "redacted": True, "task": "[SECRET …]"}],
              "situation_reports": [{"number": 2, "classification": secret, "redacted": False}]}
    overview = {"active_crises": [{"crisis_id": "C-1", "classification": secret, "redacted": False}],
                "open_actions": [{"crisis_id": "C-2", "action_id": "A-9", "classification": secret, "redacted": False}],
                "overdue_actions": [{"crisis_id": "C-2", "action_id": "A-9", "classification": secret,
                                     "redacted": False}]}
    liaison = {"liaison_id": "PL-1", "crisis_id": "C-3", "requests": [
        {"request_id": "PR-1", "classification": public, "redacted": False,
         "response": {"classification": secret, "redacted": False, "text": "x"}}]}
    event_log = {"items": [
        {"position": 7, "type": "Crisis.LogEntryRecorded", "aggregate_id": "C-4",
         "data": {"crisis_id": "C-4", "number": 3, "classification": secret, "redacted": False, "text": "x"}},
        {"position": 8, "type": "PoliceLiaison.RequestAnswered", "aggregate_id": "PL-4",
         "data": {"liaison_id": "PL-4", "request_id": "PR-4", "classification": secret, "redacted": False}},
        {"position": 9, "type": "Crisis.DecisionRecorded", "aggregate_id": "C-4",
         "data": {"crisis_id": "C-4", "decision_id": "D-4", "classification": secret, "redacted": True}},
    ]}

    # When the disclosed records are read from them, Then only non-public content shown unredacted is named,
    # once each, with its crisis
    assert {(r["kind"], r["id"], r["crisis_id"]) for r in disclosed_records(crisis)} == {
        ("crisis", "C-1", "C-1"), ("situation_report", "2", "C-1"),
    }
    assert {(r["kind"], r["id"], r["crisis_id"]) for r in disclosed_records(overview)} == {
        ("crisis", "C-1", "C-1"), ("action", "A-9", "C-2"),
    }
    assert [(r["kind"], r["id"], r["crisis_id"]) for r in disclosed_records(liaison)] == [
        ("police_request_response", "PR-1", "C-3")
    ]
    assert [(r["kind"], r["id"]) for r in disclosed_records(event_log)] == [
        ("log_entry", "3"), ("police_request_response", "PR-4")
    ]


def test_only_auditors_read_the_disclosures_filtered_and_nobody_deletes_them(api) -> None:  # noqa: ANN001
    # Given reads kept for two cleared readers
    given_a_secret_crisis_with_received_and_public_records(api)
    accepted(api.get("/crises/C-X", headers=api.headers("LR-2", "leadership", clearance=True)))
    api.clock.advance(minutes=10)
    accepted(api.get("/crises/C-X", headers=api.headers("DO-1", "duty_officer", clearance=True)))

    # When an auditor (without clearance: the log itself shows no content) asks by user, record and time
    auditor = api.headers("AUD", "auditor")
    by_user = accepted(api.get("/audit/disclosures", params={"user": "DO-1"}, headers=auditor))["disclosures"]
    by_record = accepted(api.get("/audit/disclosures", params={"crisis": "C-X", "kind": "log_entry", "record": "1"},
                                 headers=auditor))["disclosures"]
    since = accepted(api.get("/audit/disclosures", params={"since": api.clock().isoformat()},
                             headers=auditor))["disclosures"]
    page = accepted(api.get("/audit/disclosures", params={"limit": 1}, headers=auditor))

    # Then each answer holds the matching reads
    assert {d["user"] for d in by_user} == {"DO-1"} and len(by_user) == 2
    assert [d["user"] for d in by_record] == ["LR-2", "DO-1"]
    assert {d["user"] for d in since} == {"DO-1"}
    assert by_record[0]["at"] == "2025-10-25T21:40:00+03:00" and by_record[0]["level"] == "RECEIVED"
    assert len(page["disclosures"]) == 1 and page["next_after"] == page["disclosures"][0]["id"]
    # And no one else may read them
    for role in ("duty_officer", "leadership", "admin", "preparedness_manager"):
        body = problem(api.get("/audit/disclosures", headers=api.headers("X", role, clearance=True)), 403,
                       "FORBIDDEN_ROLE")
        assert "auditors" in body["detail"]
    # And no route deletes or changes them
    before = kept(api)
    for method in ("DELETE", "PUT", "PATCH", "POST"):
        answer = api.request(method, "/audit/disclosures", headers=auditor)
        assert answer.status_code == 405, (method, answer.status_code)
    assert kept(api) == before


# --- the live overview ---------------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    """The service over real HTTP: Server-Sent Events stream as they do for a browser."""
    with running_service(settings_for("sqlite", tmp_path)) as running:
        yield running


def first_overview(server: LiveServer, token: str) -> dict:
    """Open the live overview stream, read its first frame, and hang up."""
    with httpx.stream("GET", f"{server.base_url}/situation-overview/stream",
                      headers={"Authorization": f"Bearer {token}"}, timeout=10) as stream:
        assert stream.status_code == 200
        for line in stream.iter_lines():
            if line.startswith("data:"):
                return json.loads(line[5:])
    raise AssertionError("the stream ended before its first overview")


def test_the_live_overview_stream_is_kept_when_a_cleared_reader_starts_it(server: LiveServer) -> None:
    # Given a SECRET crisis
    duty = server.token("DO-1", "duty_officer")
    answer = httpx.post(f"{server.base_url}/crises", json=THREATS, headers={"Authorization": f"Bearer {duty}"})
    assert answer.status_code == 201, answer.text
    server.services.projections.wait_for(int(answer.headers["Valmius-Position"]), 10)

    # When an uncleared reader and then a cleared one open the live overview
    labelled = first_overview(server, server.token("LR-1", "leadership"))
    shown = first_overview(server, server.token("LR-2", "leadership", clearance=True))

    # Then the cleared reader's stream is kept, with the secret crisis its first picture showed; the other not
    assert labelled["active_crises"][0]["redacted"] and not shown["active_crises"][0]["redacted"]
    rows = server.services.disclosures.list()
    assert [(r["user_name"], r["endpoint"], r["kind"], r["record_id"]) for r in rows] == [
        ("LR-2", "GET /situation-overview/stream", "crisis", "C-X")
    ]


def test_a_cleared_stream_with_nothing_secret_yet_is_kept_as_a_subscription(server: LiveServer) -> None:
    # Given nothing secret recorded yet
    # When a cleared reader opens the live overview
    first_overview(server, server.token("LR-2", "leadership", clearance=True))

    # Then the subscription itself is kept: later pictures may show secret content to this reader
    rows = server.services.disclosures.list()
    assert [(r["user_name"], r["kind"], r["record_id"]) for r in rows] == [("LR-2", "overview_stream", None)]
