"""The auditors' HTTP API for refused attempts and inquiry exports, and `valmius audit export`.

Given the S1 autumn storm replayed (its refused attempts include a police request answered twice, kept under
the liaison PL-C-S1), auditors find the attempts by crisis and other filters, download the crisis's archive,
and nobody else may; the command line writes the same archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest

from application.audit.refusals import links_from_log, search_refusals
from application.projections.deadlines import Deadline, deadline_key
from domain.access import Actor, Role
from domain.reminder import Ladder, reminder_id
from interfaces.cli.main import main
from tests.interfaces.conftest import accepted, declare, liaison_with_request, problem

OTHER_ROLES = ("duty_officer", "preparedness_manager", "police_coordinator", "leadership", "admin")



def archive_files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}


def test_an_auditor_downloads_the_archive_of_a_crisis_with_its_digest(s1) -> None:  # noqa: ANN001
    # When an auditor asks for the export of C-S1
    answer = s1.get("/audit/crises/C-S1/export", headers=s1.headers("AUD", "auditor"))

    # Then a ZIP archive comes back, named for the crisis and the time, with the manifest's digest in a header
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"] == 'attachment; filename="valmius-C-S1-20251104T130000+0200.zip"'
    files = archive_files(answer.content)
    assert answer.headers["valmius-manifest-sha256"] == hashlib.sha256(files["manifest.json"]).hexdigest()
    manifest = json.loads(files["manifest.json"])
    assert manifest["requested_via"] == "GET /audit/crises/C-S1/export"
    assert int(answer.headers["valmius-position"]) == manifest["log_position"]
    # And the refused attempts concerning C-S1 are in it, the one kept under its police liaison included
    refusals = [json.loads(line) for line in files["refusals.jsonl"].splitlines()]
    assert [(r["rule"], r["target"]) for r in refusals] == [
        ("CONFLICT_VERSION", "C-S1"), ("AMBIGUOUS_TIME", "C-S1"), ("OPEN_ITEMS", "C-S1"),
        ("ALREADY_ANSWERED", "PL-C-S1"),
    ]
    # And an export by an auditor without clearance of a public crisis discloses nothing
    assert s1.services.disclosures.list() == []


def test_a_cleared_export_of_a_secret_crisis_is_kept_as_a_disclosure(api) -> None:  # noqa: ANN001
    # Given a SECRET crisis
    declare(api, api.headers("DO-1", "duty_officer"), classification={"level": "SECRET", "basis": "JulkL 24.1 § 7 k"})

    # When a cleared auditor exports it
    answer = api.get("/audit/crises/C-S1/export", headers=api.headers("AUD", "auditor", clearance=True))
    assert answer.status_code == 200, answer.text

    # Then the export is kept as a read of that record
    rows = api.services.disclosures.list()
    assert [(r["user_name"], r["endpoint"], r["kind"], r["record_id"], r["level"]) for r in rows] == [
        ("AUD", "GET /audit/crises/C-S1/export", "crisis", "C-S1", "SECRET")
    ]


def test_only_auditors_export_and_read_refused_attempts_and_an_unknown_crisis_is_not_found(api) -> None:  # noqa: ANN001
    # Given a crisis
    declare(api, api.headers("DO-1", "duty_officer"))

    # When anyone but an auditor asks for its export or the refused attempts, Then the role is refused
    for role in OTHER_ROLES:
        headers = api.headers(f"X-{role}", role, clearance=True)
        for path in ("/audit/crises/C-S1/export", "/audit/refusals"):
            body = problem(api.get(path, headers=headers), 403, "FORBIDDEN_ROLE")
            assert "that is for auditors" in body["detail"]
    # And an auditor asking for a crisis that does not exist is told so
    problem(api.get("/audit/crises/C-NONE/export", headers=api.headers("AUD", "auditor")), 404, "NOT_FOUND")


def test_refused_attempts_are_found_by_crisis_user_rule_and_time_and_paged(s1) -> None:  # noqa: ANN001
    # Given S1's refused attempts, and one concerning another crisis's police liaison
    police = s1.headers("PC", "police_coordinator")
    s1.clock.advance(days=1)
    declare(s1, s1.headers("DO-1", "duty_officer"), crisis_id="C-OTHER")
    liaison_with_request(s1, police, crisis_id="C-OTHER", request_id="PR-O-1")
    problem(s1.post("/police-liaisons/PL-C-OTHER/requests/PR-O-1/answer", json={}, headers=police), 422,
            "INVALID_INPUT")
    auditor = s1.headers("AUD", "auditor")

    def refusals(**params: object) -> list[dict]:
        return accepted(s1.get("/audit/refusals", params=params, headers=auditor))["refusals"]

    # When an auditor asks for those concerning C-S1, Then the one kept under PL-C-S1 is among them, the
    # one under PL-C-OTHER is not
    assert [(r["rule"], r["target"]) for r in refusals(crisis="C-S1")] == [
        ("CONFLICT_VERSION", "C-S1"), ("AMBIGUOUS_TIME", "C-S1"), ("OPEN_ITEMS", "C-S1"),
        ("ALREADY_ANSWERED", "PL-C-S1"),
    ]
    assert [r["target"] for r in refusals(crisis="C-OTHER")] == ["PL-C-OTHER"]
    # And by user, by rule, by exact target and by a time range given in UTC
    assert [r["rule"] for r in refusals(user="DO-2")] == ["CONFLICT_VERSION", "AMBIGUOUS_TIME"]
    assert [r["user"] for r in refusals(rule="OPEN_ITEMS")] == ["DO-1"]
    assert [r["rule"] for r in refusals(target="PL-C-S1")] == ["ALREADY_ANSWERED"]
    # 23:20:05+03:00 is 20:20:05Z; 03:45+03:00 (before the clocks went back) is 00:45Z
    assert [r["rule"] for r in refusals(since="2025-10-25T20:20:05Z", until="2025-10-26T00:45:00Z")] == [
        "CONFLICT_VERSION", "AMBIGUOUS_TIME"
    ]
    at = refusals(rule="AMBIGUOUS_TIME")[0]
    assert at["at"] == "2025-10-26T03:45:00+03:00" and at["user"] == "DO-2" and at["command"]
    # And a time without an offset is refused as ambiguous
    problem(s1.get("/audit/refusals", params={"since": "2025-10-26T03:30"}, headers=auditor), 422, "AMBIGUOUS_TIME")
    # And pages of three follow each other through all six: S1's four, PL-C-OTHER's, and the ambiguous read
    first = accepted(s1.get("/audit/refusals", params={"limit": 3}, headers=auditor))
    rest = accepted(s1.get("/audit/refusals", params={"limit": 3, "after": first["next_after"]}, headers=auditor))
    ids = [r["id"] for r in first["refusals"] + rest["refusals"]]
    assert len(ids) == 6 and ids == sorted(set(ids)) and rest["next_after"] is None


def test_an_uncleared_auditor_sees_the_attempt_but_not_its_arguments_and_nobody_deletes_attempts(s1) -> None:  # noqa: ANN001
    # When an auditor without clearance and one with clearance read the refused answer to PR-S1-01
    plain = accepted(s1.get("/audit/refusals", params={"rule": "ALREADY_ANSWERED"},
                            headers=s1.headers("AUD", "auditor")))["refusals"][0]
    cleared = accepted(s1.get("/audit/refusals", params={"rule": "ALREADY_ANSWERED"},
                              headers=s1.headers("AUD-C", "auditor", clearance=True)))["refusals"][0]

    # Then both see who tried what and why; only the cleared one sees the text attempted
    assert plain["payload"]["request_id"] == cleared["payload"]["request_id"] == "PR-S1-01"
    assert plain["payload"]["response"].startswith("[WITHHELD") and not cleared["payload"]["response"].startswith("[")
    # And no route deletes or changes refused attempts
    kept = s1.services.refusals.list()
    for method in ("DELETE", "PUT", "PATCH", "POST"):
        assert s1.request(method, "/audit/refusals", headers=s1.headers("AUD", "auditor")).status_code == 405
    assert s1.services.refusals.list() == kept


@pytest.mark.postgres
def test_refused_attempts_by_crisis_and_the_export_on_postgresql(pg_api) -> None:  # noqa: ANN001
    # Given on PostgreSQL a crisis whose police request is answered twice (refused under PL-C-S1)
    police = pg_api.headers("PC", "police_coordinator")
    declare(pg_api, pg_api.headers("DO-1", "duty_officer"))
    liaison_with_request(pg_api, police)
    accepted(pg_api.post("/police-liaisons/PL-C-S1/requests/PR-S1-01/answer", json={"response": "done"},
                         headers=police))
    problem(pg_api.post("/police-liaisons/PL-C-S1/requests/PR-S1-01/answer", json={"response": "again"},
                        headers=police), 409, "ALREADY_ANSWERED")
    auditor = pg_api.headers("AUD", "auditor", clearance=True)

    # When an auditor asks for the attempts concerning C-S1 and for its export
    found = accepted(pg_api.get("/audit/refusals", params={"crisis": "C-S1"}, headers=auditor))["refusals"]
    answer = pg_api.get("/audit/crises/C-S1/export", headers=auditor)

    # Then the refused answer is found by its crisis and is in the archive, with the liaison's events
    assert [(r["rule"], r["target"], r["payload"]["response"]) for r in found] == [
        ("ALREADY_ANSWERED", "PL-C-S1", "again")
    ]
    files = archive_files(answer.content)
    assert [json.loads(line)["rule"] for line in files["refusals.jsonl"].splitlines()] == ["ALREADY_ANSWERED"]
    police_events = [json.loads(line)["type"] for line in files["police_requests.jsonl"].splitlines()]
    assert police_events == ["PoliceLiaison.Opened", "PoliceLiaison.RequestRaised", "PoliceLiaison.RequestAnswered"]


def test_the_command_line_writes_the_same_archive_with_a_progress_bar(s1, tmp_path, monkeypatch, capsys) -> None:  # noqa: ANN001
    # Given the S1 store on disk
    monkeypatch.setenv("VALMIUS_DATABASE_URL", s1.services.settings.database_url)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "inquiry.zip"

    # When an operator runs `valmius audit export C-S1 --out inquiry.zip --user INQ`
    status = main(["audit", "export", "C-S1", "--out", str(out), "--user", "INQ"])

    # Then the archive is written, a progress bar went over the event scan, and the digests are printed
    assert status == 0
    printed = capsys.readouterr()
    assert "scan for C-S1" in printed.err and "event" in printed.err
    files = archive_files(out.read_bytes())
    digest = hashlib.sha256(files["manifest.json"]).hexdigest()
    assert digest in printed.out
    manifest = json.loads(files["manifest.json"])
    assert manifest["requester"] == {"user": "INQ", "role": "auditor", "clearance": False}
    assert manifest["requested_via"] == "valmius audit export C-S1"
    assert manifest["log_position"] == s1.services.coordination.recorder.max_notification_id()
    assert [f["records"] for f in manifest["files"] if f["name"] == "plans.jsonl"] == [4]
    # And nothing but the archive was left behind
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".zip", ".part")) == ["inquiry.zip"]
    # And asking for a crisis that does not exist says so
    assert main(["audit", "export", "C-NONE", "--out", str(tmp_path / "none.zip")]) == 2
    assert "there is no crisis C-NONE" in capsys.readouterr().err


def test_a_refusal_at_the_edge_on_a_reminder_is_kept_under_the_reminder(api, people) -> None:  # noqa: ANN001
    """Given a reminder of an action of C-S1, when leadership tries to acknowledge it (refused by the command) and a
    duty officer sends a malformed If-Match (refused at the edge, before the command), then both are kept under
    the reminder, and both concern C-S1."""
    declare(api, people.duty_officer)
    due = api.clock() + timedelta(minutes=20)
    deadline = Deadline(deadline_key("ACTION", "C-S1", "A-1", due), "ACTION", "C-S1", "A-1", "STARA", due)
    api.services.coordination.record_reminder_notice(Actor("valmius-remind", Role.DUTY_OFFICER), deadline,
                                                     Ladder().step(1, due), [])
    rid = reminder_id(deadline.key)
    assert api.post(f"/reminders/{rid}/acknowledgement", headers=people.leadership).status_code == 403
    edge = api.post(f"/reminders/{rid}/acknowledgement", headers={**people.duty_officer, "If-Match": "nonsense"})
    assert edge.status_code in (400, 412, 422), edge.text
    kept = {r["id"]: r for r in api.services.refusals.list()}
    assert [r["target"] for r in kept.values()] == [f"reminder:{rid}"] * 2
    of_crisis, _ = search_refusals(api.services.refusals, links=links_from_log(api.services.coordination, "C-S1"))
    assert len(of_crisis) == 2
