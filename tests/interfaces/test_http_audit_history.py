"""The auditors' history through HTTP and the CLI: one test per route family, Given/When/Then through the API."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from interfaces.cli.main import main

T = "2025-10-25T22:20:00+03:00"
STORM = {"crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status: int, code: str) -> dict:
    assert (response.status_code, response.json().get("code")) == (status, code), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def caught_up(api) -> str:
    return f"min_position={api.services.coordination.recorder.max_notification_id()}&wait=5"


@pytest.fixture
def night(api, clock):
    """C-1 declared at 21:40 by DO-1, raised to severity 3 at 22:00, given action A-1 due 22:10 at 22:05, and
    a SECRET log entry at 22:30. What the live reads showed: the crisis after each of its first three changes,
    and at 22:20 (A-1 overdue) leadership's overview, C-1's timeline and decision log."""
    do, lr = api.headers("DO-1", "duty_officer"), api.headers("LR-1", "leadership")
    live: dict = {}
    ok(api.post("/crises", json=STORM, headers=do), 201)
    live[1] = ok(api.get("/crises/C-1", headers=do))
    clock.set("2025-10-25T22:00:00+03:00")
    ok(api.post("/crises/C-1/severity", json={"to_severity": 3, "reason": "worse"}, headers=do))
    live[2] = ok(api.get("/crises/C-1", headers=do))
    clock.set("2025-10-25T22:05:00+03:00")
    body = {"action_id": "A-1", "unit": "STARA", "task": "trees", "due_at": "2025-10-25T22:10:00+03:00"}
    ok(api.post("/crises/C-1/actions", json=body, headers=do))
    live[3] = ok(api.get("/crises/C-1", headers=do))
    clock.set(T)
    live["overview"] = ok(api.get(f"/situation-overview?{caught_up(api)}", headers=lr))
    live["timeline"] = ok(api.get(f"/crises/C-1/timeline?{caught_up(api)}", headers=lr))
    live["decision-log"] = ok(api.get(f"/crises/C-1/decision-log?{caught_up(api)}", headers=lr))
    clock.set("2025-10-25T22:30:00+03:00")
    secret = {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"}
    ok(api.post("/crises/C-1/log-entries", json={"text": "names of clients", "classification": secret}, headers=do))
    return live


def test_only_auditors_may_read_the_history_and_the_refused_read_is_kept(api, night):
    """Given the night, when leadership asks for the audit log, then 403 FORBIDDEN_ROLE, and the attempt is
    kept for auditors like any refusal."""
    before = len(api.services.refusals.list())
    problem = refused(api.get("/audit/events", headers=api.headers("LR-1", "leadership")), 403, "FORBIDDEN_ROLE")
    assert "auditors" in problem["detail"]
    kept = api.services.refusals.list()
    assert len(kept) == before + 1 and (kept[-1]["user_name"], kept[-1]["rule"]) == ("LR-1", "FORBIDDEN_ROLE")


def test_a_time_without_an_offset_is_ambiguous_and_a_plus_sent_unencoded_is_read_as_plus(api, night):
    """Given the night, when the auditor asks as of 22:20 without an offset, then AMBIGUOUS_TIME; with the
    offset's + left unencoded in the URL (it arrives as a space), then it is read as +03:00."""
    aud = api.headers("AUD", "auditor")
    problem = refused(api.get("/audit/situation-overview?as_of=2025-10-25T22:20", headers=aud), 422, "AMBIGUOUS_TIME")
    assert "give one, e.g. 2025-10-25T22:20+03:00" in problem["detail"]
    raw = ok(api.get(f"/audit/situation-overview?as_of={T}", headers=aud))
    encoded = ok(api.get(f"/audit/situation-overview?as_of={quote(T)}", headers=aud))
    assert raw["history"]["as_of"] == encoded["history"]["as_of"] == "2025-10-25T22:20:00+03:00"
    refused(api.get("/audit/situation-overview", headers=aud), 422, "INVALID_INPUT")


def test_the_event_log_pages_on_with_next_after_and_filters_by_query(api, night):
    """Given the night, when the auditor reads C-1's events two at a time, then four pages hold its four
    events in order; filtered by actor and recording time, only the severity change of 22:00 remains; the
    SECRET entry shows its label to an uncleared auditor."""
    aud = api.headers("AUD", "auditor")
    seen, after = [], 0
    for _ in range(10):
        page = ok(api.get(f"/audit/events?crisis_id=C-1&limit=2&after={after}", headers=aud))
        seen += page["items"]
        after = page["next_after"]
        if page["end_of_log"]:
            break
    assert [(e["version"], e["type"]) for e in seen] == [
        (1, "Crisis.Declared"), (2, "Crisis.SeverityChanged"), (3, "Crisis.ActionAssigned"), (4, "Crisis.LogEntryRecorded")
    ]
    assert seen[-1]["data"]["text"] == "[SECRET JulkL 24.1 § 7 k]" and seen[-1]["data"]["number"] == 1

    window = {"actor": "DO-1", "recorded_from": "2025-10-25T21:50:00+03:00", "recorded_to": "2025-10-25T22:00:00+03:00"}
    only = ok(api.get("/audit/events", params=window, headers=aud))["items"]
    assert [(e["type"], e["recorded_at"], e["data"]["to_severity"]) for e in only] == [
        ("Crisis.SeverityChanged", "2025-10-25T22:00:00+03:00", 3)
    ]
    refused(api.get("/audit/events?limit=1001", headers=aud), 422, "INVALID_INPUT")


def test_a_crisis_at_a_version_is_shown_as_the_live_get_showed_it(api, night):
    """Given the live GET of C-1 read after each of its first three changes, when the auditor asks later for
    each version, then each is what the live GET showed then; as of 22:02, version 2."""
    aud = api.headers("AUD", "auditor")
    for version, shown in [(v, night[v]) for v in (1, 2, 3)]:
        body = ok(api.get(f"/audit/crises/C-1?version={version}", headers=aud))
        assert body["crisis"] == shown
        assert (body["version"], body["latest_version"]) == (version, 4)
    at_moment = ok(api.get("/audit/crises/C-1", params={"as_of": "2025-10-25T22:02:00+03:00"}, headers=aud))
    assert (at_moment["version"], at_moment["crisis"]["severity"], at_moment["version_recorded_at"]) == (
        2, 3, "2025-10-25T22:00:00+03:00"
    )
    refused(api.get("/audit/crises/C-1?version=9", headers=aud), 404, "NOT_FOUND")
    refused(api.get("/audit/crises/C-1", headers=aud), 422, "INVALID_INPUT")


def test_a_unit_and_a_liaison_as_they_were(api, clock):
    """Given SOTEPE raised to ENHANCED at 21:50 and a police request raised at 22:00 and answered at 22:20,
    when the auditor asks as of 21:45 and 22:10, then SOTEPE was BASIC and the request open for 10 min."""
    sotepe = api.headers("DIV-SOTEPE", "division_contact", unit="SOTEPE")
    pc = api.headers("PC", "police_coordinator")
    ok(api.post("/crises", json=STORM, headers=api.headers("DO-1", "duty_officer")), 201)
    clock.set("2025-10-25T21:50:00+03:00")
    ok(api.post("/division-preparedness/SOTEPE/readiness", json={"to_level": "ENHANCED", "reason": "storm"}, headers=sotepe))
    clock.set("2025-10-25T22:00:00+03:00")
    ok(api.post("/police-liaisons", json={"liaison_id": "PL-C-1", "crisis_id": "C-1"}, headers=pc), 201)
    request = {"request_id": "PR-1", "direction": "POLICE_TO_CITY", "request_type": "INFORMATION", "subject": "units"}
    ok(api.post("/police-liaisons/PL-C-1/requests", json=request, headers=pc), 201)
    clock.set("2025-10-25T22:20:00+03:00")
    ok(api.post("/police-liaisons/PL-C-1/requests/PR-1/answer", json={"response": "list sent"}, headers=pc))

    aud = api.headers("AUD", "auditor")
    unit = ok(api.get("/audit/division-preparedness/SOTEPE", params={"as_of": "2025-10-25T21:45:00+03:00"}, headers=aud))
    assert (unit["preparedness"]["readiness"], unit["version"]) == ("BASIC", 1)
    liaison = ok(api.get("/audit/police-liaisons/PL-C-1", params={"as_of": "2025-10-25T22:10:00+03:00"}, headers=aud))
    assert [(r["status"], r["age_minutes"]) for r in liaison["liaison"]["requests"]] == [("OPEN", 10)]


def test_the_overview_timeline_and_decision_log_as_known_are_what_the_live_reads_showed(api, night, clock):
    """Given the night, whose live overview, timeline and decision log were read at 22:20, when the auditor
    asks after 22:30 for them as known at 22:20, then they are what the live reads showed (and a full replay
    gives the same overview); as known at 22:30 the timeline has the SECRET entry, redacted."""
    aud = api.headers("AUD", "auditor")
    known = ok(api.get("/audit/situation-overview", params={"as_of": T}, headers=aud))
    replayed = ok(api.get("/audit/situation-overview", params={"as_of": T, "full_replay": "true"}, headers=aud))
    history = known.pop("history")
    assert (replayed.pop("history")["full_replay"], history["full_replay"]) == (True, False)
    assert known == night["overview"] == replayed
    assert [(a["action_id"], a["overdue"]) for a in known["overdue_actions"]] == [("A-1", True)]
    assert history["log_position"] == api.services.coordination.recorder.max_notification_id()

    for view in ("timeline", "decision-log"):
        as_known = ok(api.get(f"/audit/crises/C-1/{view}", params={"as_of": T}, headers=aud))
        as_known.pop("history")
        assert as_known == night[view]
    later = ok(api.get("/audit/crises/C-1/timeline", params={"as_of": "2025-10-25T22:30:00+03:00"}, headers=aud))
    assert [e["kind"] for e in later["entries"]] == ["declared", "severity_changed", "action_assigned", "log_entry"]
    assert later["entries"][-1]["content"] == "[SECRET JulkL 24.1 § 7 k]"
    refused(api.get("/audit/crises/C-1/timeline", params={"as_of": "2025-10-25T21:00:00+03:00"}, headers=aud), 404, "NOT_FOUND")


def test_the_route_docstrings_are_the_openapi_text(api):
    paths = ok(api.get("/openapi.json"))["paths"]
    overview = paths["/audit/situation-overview"]["get"]
    assert "leadership would have seen" in overview["description"]
    assert {p["name"] for p in overview["parameters"]} >= {"as_of", "full_replay"}
    assert "next_after" in paths["/audit/events"]["get"]["description"]


def test_the_cli_prints_the_overview_as_known_and_the_event_log(api, night, monkeypatch, capsys):
    """Given the night in a SQLite file, when an operator runs `valmius audit overview --as-of 22:20+03:00`,
    then it prints the overview as known then; with --json, the same overview the API gives; and `valmius
    audit events --crisis C-1 --json` prints C-1's four events as JSON lines."""
    monkeypatch.setenv("VALMIUS_DATABASE_URL", api.services.settings.database_url)
    assert main(["audit", "overview", "--as-of", T, "--user", "AUD"]) == 0
    text = capsys.readouterr().out
    assert "Situation overview as known at 2025-10-25T22:20:00+03:00" in text
    assert "C-1  severity 3  ACTIVE  Storm" in text
    assert "OVERDUE A-1 (C-1) STARA due 2025-10-25T22:10+03:00" in text

    assert main(["audit", "overview", "--as-of", T, "--json", "--user", "AUD"]) == 0
    printed = json.loads(capsys.readouterr().out)
    served = ok(api.get("/audit/situation-overview", params={"as_of": T}, headers=api.headers("AUD", "auditor")))
    assert printed == served

    assert main(["audit", "overview", "--as-of", "2025-10-25T22:20"]) == 2
    assert "has no UTC offset" in capsys.readouterr().err

    assert main(["audit", "events", "--crisis", "C-1", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["version"] for e in lines] == [1, 2, 3, 4]
