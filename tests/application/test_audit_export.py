"""Export for an inquiry: the complete record of one crisis, redacted for the requester, with its digests.

The crises are the scenarios' own (S4: a SECRET crisis with SECRET and RECEIVED answers and refused attempts,
one of them under its police liaison matter; S1: a public one across the autumn clock change, with a
continuity plan activated for it), replayed through the HTTP API and then exported by the application.
What the archive should hold is read independently, from the stored notifications and the refusal table.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace
from datetime import datetime, timedelta, timezone

import pytest

from application.audit.export import export_crisis
from application.audit.refusals import links_from_log, search_refusals
from application.projections.deadlines import Deadline, deadline_key
from domain.access import Actor, Role
from domain.crisis import Crisis
from domain.division_preparedness import CriticalFunction
from domain.police_liaison import PoliceLiaison
from domain.reminder import Ladder, reminder_id
from domain.shared import Classification, DomainError, Rule
from interfaces.web import report

CLEARED_AUDITOR = Actor("AUD", Role.AUDITOR, clearance=True)
UNCLEARED_AUDITOR = Actor("AUD-2", Role.AUDITOR)

# Content of C-S4 that only cleared readers may see: the crisis title (SECRET), the answer to PR-S4-01
# (SECRET) and the police's answer to PR-S4-02 (RECEIVED, TL IV).
S4_SECRETS = (
    "Emailed bomb threats against six comprehensive schools",
    "delivered via secure mail",
    "5/6 swept, nothing found; Pihlajamäki continues",
)


def export(api, crisis_id: str, actor: Actor = CLEARED_AUDITOR):  # noqa: ANN001, ANN201
    """When the auditor exports the crisis: the export and the archive's files by name."""
    buffer = io.BytesIO()
    done = export_crisis(
        api.services.coordination, api.services.refusals, api.services.scratch_stores, actor, crisis_id, buffer,
        via="test", render_report=report.render,
    )
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        files = {name.split("/", 1)[1]: archive.read(name) for name in archive.namelist()}
        folders = {name.split("/", 1)[0] for name in archive.namelist()}
    assert folders == {done.filename.removesuffix(".zip")}
    return done, files


def lines(files: dict[str, bytes], name: str) -> list[dict]:
    return [json.loads(line) for line in files[name].decode("utf-8").splitlines()]


def positions_of(api, aggregate_id) -> list[int]:  # noqa: ANN001
    """The log positions of one aggregate's events, straight from the stored notifications."""
    notifications = api.services.coordination.recorder.select_notifications(start=1, limit=1_000_000)
    return [n.id for n in notifications if str(n.originator_id) == str(aggregate_id)]




def test_the_archive_holds_every_event_of_the_crisis_and_of_its_police_liaison_in_log_order(s4) -> None:  # noqa: ANN001
    # Given the S4 school threats replayed, When a cleared auditor exports C-S4
    done, files = export(s4, "C-S4")

    # Then events.jsonl holds every event of the crisis, in log order, with what an inquiry needs of each
    events = lines(files, "events.jsonl")
    assert [e["position"] for e in events] == positions_of(s4, Crisis.id_for("C-S4"))
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "Crisis.Declared" and events[-1]["type"] == "Crisis.AfterActionReviewRecorded"
    assert {e["actor"] for e in events} >= {"DO-1", "PC", "DIV:KASKO", "PM"}
    assert all(datetime.fromisoformat(e["recorded_at"]).utcoffset() is not None for e in events)
    decided = next(e for e in events if e["type"] == "Crisis.DecisionRecorded")
    assert decided["data"]["decision_id"] == "D-S4-01" and len(decided["data"]["options"]) == 3
    # And police_requests.jsonl every event of PL-C-S4, the police liaison matter opened for it
    police = lines(files, "police_requests.jsonl")
    assert [e["position"] for e in police] == positions_of(s4, PoliceLiaison.id_for("PL-C-S4"))
    assert [e["type"] for e in police].count("PoliceLiaison.RequestRaised") == 3
    # And the manifest says up to which log position it read: everything stored when it was made
    assert done.manifest["log_position"] == s4.services.coordination.recorder.max_notification_id()


def test_the_archive_holds_the_refused_attempts_concerning_the_crisis_also_those_under_its_liaison(s4) -> None:  # noqa: ANN001
    # Given S4's four refused attempts, one of them (answering PR-S4-02 twice) kept under PL-C-S4,
    # and a refused attempt concerning another crisis's police liaison
    police = s4.headers("PC", "police_coordinator")
    duty = s4.headers("DO-1", "duty_officer")
    s4.clock.advance(minutes=5)
    assert s4.post("/crises", json={"crisis_id": "C-OTHER", "title": "Other", "category": "OTHER", "severity": 1},
                   headers=duty).status_code == 201
    assert s4.post("/police-liaisons", json={"liaison_id": "PL-C-OTHER", "crisis_id": "C-OTHER"},
                   headers=police).status_code == 201
    refused = s4.post("/police-liaisons/PL-C-OTHER/requests/PR-NONE/answer", json={"response": "x"}, headers=police)
    assert refused.json()["code"] == "NOT_FOUND"
    refused = s4.post("/crises/C-OTHER/severity", json={"to_severity": 9}, headers=duty)
    assert refused.json()["code"] == "INVALID_SEVERITY"

    # When C-S4 is exported
    _, files = export(s4, "C-S4")

    # Then refusals.jsonl holds exactly S4's refused attempts, in the order they were kept, with who, what and why
    refusals = lines(files, "refusals.jsonl")
    assert [(r["user"], r["rule"], r["target"]) for r in refusals] == [
        ("DO-1", "BEFORE_CRISIS_START", "C-S4"),
        ("DO-1", "CLASSIFICATION_NOT_ALLOWED", "C-S4"),
        ("LR-2", "FORBIDDEN_ROLE", "C-S4"),
        ("PC", "ALREADY_ANSWERED", "PL-C-S4"),
    ]
    assert refusals[3]["command"] == "answer_police_request"
    assert refusals[3]["payload"]["response"] == "Pihlajamäki cleared"
    assert "answered 2025-11-17T09:35+02:00" in refusals[3]["message"]


def test_the_archive_holds_the_plans_activated_for_the_crisis_and_the_readiness_changes_naming_it(s1) -> None:  # noqa: ANN001
    # Given S1, where SOTEPE activated CP-SOTEPE-01 for C-S1 and later deactivated it, and raised its readiness
    # naming C-S1; and the same plan later activated for another crisis
    duty, sotepe = s1.headers("DO-1", "duty_officer"), s1.headers("DIV-SOTEPE", "division_contact", unit="SOTEPE")
    s1.clock.advance(days=1)
    assert s1.post("/crises", json={"crisis_id": "C-NEXT", "title": "Next", "category": "OTHER", "severity": 1},
                   headers=duty).status_code == 201
    assert s1.post("/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/activate", json={"crisis_id": "C-NEXT"},
                   headers=sotepe).status_code == 200

    # When C-S1 is exported
    _, files = export(s1, "C-S1")

    # Then plans.jsonl holds the plan as drafted and approved, and its activation and deactivation for C-S1 only
    plans = lines(files, "plans.jsonl")
    assert [(p["type"], p["data"]["plan_id"]) for p in plans] == [
        ("DivisionPreparedness.PlanDrafted", "CP-SOTEPE-01"),
        ("DivisionPreparedness.PlanApproved", "CP-SOTEPE-01"),
        ("DivisionPreparedness.PlanActivated", "CP-SOTEPE-01"),
        ("DivisionPreparedness.PlanDeactivated", "CP-SOTEPE-01"),
    ]
    assert plans[0]["data"]["critical_functions"][0]["mtpd_minutes"] == 360
    assert {p["data"].get("crisis_id") for p in plans[2:]} == {"C-S1"}
    # And readiness.jsonl the change that names C-S1, and not the changes that do not
    readiness = lines(files, "readiness.jsonl")
    assert [(r["data"]["unit"], r["data"]["to_level"], r["data"]["crisis_ref"]) for r in readiness] == [
        ("SOTEPE", "ENHANCED", "C-S1")
    ]


def test_the_manifest_names_every_file_with_its_digest_and_its_own_digest_matches(s4) -> None:  # noqa: ANN001
    # When an uncleared auditor exports C-S4
    done, files = export(s4, "C-S4", UNCLEARED_AUDITOR)

    # Then manifest.sha256 is the digest of manifest.json, in the form `sha256sum -c` reads
    manifest_bytes = files["manifest.json"]
    assert files["manifest.sha256"].decode() == f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json\n"
    assert done.manifest_sha256 == hashlib.sha256(manifest_bytes).hexdigest()
    # And the manifest lists every other file with its size, its record count and a digest that matches
    manifest = json.loads(manifest_bytes)
    assert {f["name"] for f in manifest["files"]} == set(files) - {"manifest.json", "manifest.sha256"}
    for entry in manifest["files"]:
        content = files[entry["name"]]
        assert entry["sha256"] == hashlib.sha256(content).hexdigest(), entry["name"]
        assert entry["bytes"] == len(content)
        if entry["name"].endswith(".jsonl"):
            assert entry["records"] == len(content.splitlines()), entry["name"]
    # And it names the crisis, the export time, the requester and their clearance, and the log position covered
    assert manifest["crisis_id"] == "C-S4"
    assert manifest["exported_at"] == "2025-11-26T13:00:00+02:00"  # the clock after S4's last step
    assert manifest["requester"] == {"user": "AUD-2", "role": "auditor", "clearance": False}
    assert manifest["log_position"] == s4.services.coordination.recorder.max_notification_id()
    assert manifest["refusals_up_to"] == 4


def test_an_uncleared_export_shows_labels_and_no_secret_text_anywhere_and_a_cleared_one_shows_it(s4) -> None:  # noqa: ANN001
    # When an uncleared and a cleared auditor export C-S4
    _, uncleared = export(s4, "C-S4", UNCLEARED_AUDITOR)
    _, cleared = export(s4, "C-S4", CLEARED_AUDITOR)

    # Then no file of the uncleared archive holds any of the secret texts, in any form
    everything = b"".join(uncleared.values()).decode("utf-8")
    for secret in S4_SECRETS:
        assert secret not in everything
        assert json.dumps(secret)[1:-1] not in everything  # not as JSON-escaped text either
    # And the records are there with their labels instead, in the events too
    events = {(e["type"], e["data"].get("request_id")): e for e in lines(uncleared, "police_requests.jsonl")}
    received = events[("PoliceLiaison.RequestAnswered", "PR-S4-02")]
    assert received["redacted"] and received["data"]["response"] == "[RECEIVED TL IV, originator HPD]"
    assert received["data"]["answered_by"] == "[RECEIVED TL IV, originator HPD]"  # who answered is content too
    declared = lines(uncleared, "events.jsonl")[0]
    assert declared["data"]["title"] == "[SECRET JulkL 24.1 § 7 k]" and declared["data"]["severity"] == 2
    assert "[SECRET JulkL 24.1 § 7 k]" in uncleared["report.html"].decode()
    # And the cleared archive holds every one of them
    everything = b"".join(cleared.values()).decode("utf-8")
    for secret in S4_SECRETS:
        assert secret in everything
    assert not any(e["redacted"] for e in lines(cleared, "events.jsonl"))


def test_an_uncleared_export_withholds_the_arguments_of_refused_attempts(s4) -> None:  # noqa: ANN001
    # When an uncleared auditor exports C-S4
    _, files = export(s4, "C-S4", UNCLEARED_AUDITOR)

    # Then the refused answer to PR-S4-02 shows which request it was for, but not the text attempted
    # (the classification that attempt asked for is not kept)
    attempt = lines(files, "refusals.jsonl")[3]
    assert attempt["payload"]["request_id"] == "PR-S4-02"
    assert attempt["payload"]["response"].startswith("[WITHHELD")
    assert "Pihlajamäki cleared" not in b"".join(files.values()).decode()


def test_a_cleared_export_names_the_records_it_discloses(s4) -> None:  # noqa: ANN001
    # When a cleared auditor and an uncleared one export C-S4
    cleared, _ = export(s4, "C-S4", CLEARED_AUDITOR)
    uncleared, _ = export(s4, "C-S4", UNCLEARED_AUDITOR)

    # Then the cleared export names every SECRET or RECEIVED record it shows, and the uncleared one none
    assert {(r["kind"], r["id"], r["classification"]["level"]) for r in cleared.disclosed} == {
        ("crisis", "C-S4", "SECRET"),
        ("situation_report", "1", "SECRET"),
        ("police_request_response", "PR-S4-01", "SECRET"),
        ("police_request_response", "PR-S4-02", "RECEIVED"),
    }
    assert uncleared.disclosed == []


def test_the_timeline_and_the_report_are_in_instant_order_with_helsinki_offsets_across_the_clock_change(s1) -> None:  # noqa: ANN001
    # Given S1, which runs through the night the clocks went back (03:40+03:00 is before 03:20+02:00)
    # When C-S1 is exported
    _, files = export(s1, "C-S1")

    # Then the timeline holds every entry the crisis's events wrote, ordered by instant, shown with offsets
    timeline = lines(files, "timeline.jsonl")
    assert sorted(e["position"] for e in timeline) == positions_of(s1, Crisis.id_for("C-S1"))
    instants = [datetime.fromisoformat(e["occurred_at"]) for e in timeline]
    assert instants == sorted(instants)
    assert {e["occurred_at"][-6:] for e in timeline} == {"+03:00", "+02:00"}
    # And the report lists the same entries in the same order, each time in Europe/Helsinki with its offset
    html = files["report.html"].decode()
    table = html.split('id="timeline-table"')[1].split("</table>")[0]
    rows = re.findall(r'<tr[^>]*data-position="(\d+)"[^>]*><td><time datetime="([^"]+)">', table)
    assert [int(p) for p, _ in rows] == [e["position"] for e in timeline]
    shown = [datetime.fromisoformat(t) for _, t in rows]
    assert shown == sorted(shown)
    assert all(re.search(r"[+-]\d\d:\d\d$", t) for _, t in rows)
    entry_3_40 = [t for _, t in rows].index("2025-10-26T03:40+03:00")
    entry_3_20 = [t for _, t in rows].index("2025-10-26T03:20+02:00")
    assert entry_3_40 < entry_3_20  # by instant, not by clock reading
    # And the decision log: D-S1-01 with its review
    decisions = lines(files, "decisions.jsonl")
    assert [d["decision_id"] for d in decisions] == ["D-S1-01"] and decisions[0]["reviews"]
    assert 'data-decision="D-S1-01"' in html


def test_only_auditors_export_and_an_unknown_crisis_is_not_found(s4) -> None:  # noqa: ANN001
    # When someone other than an auditor asks for an export, Then it is refused by role
    for role in (Role.DUTY_OFFICER, Role.LEADERSHIP, Role.ADMIN, Role.POLICE_COORDINATOR):
        with pytest.raises(DomainError) as refused:
            export(s4, "C-S4", Actor("X", role, clearance=True))
        assert refused.value.rule is Rule.FORBIDDEN_ROLE
    # When an auditor asks for a crisis that was never declared, Then it is not found
    with pytest.raises(DomainError) as missing:
        export(s4, "C-NONE")
    assert missing.value.rule is Rule.NOT_FOUND


# --- which refused attempts concern a crisis, on every store ---------------------------------------


DUTY = Actor("DO-1", Role.DUTY_OFFICER)
POLICE = Actor("PC", Role.POLICE_COORDINATOR)
SOTEPE = Actor("DIV-SOTEPE", Role.DIVISION_CONTACT, unit="SOTEPE")


def given_two_crises_with_a_liaison_and_a_plan_each(services, clock) -> None:  # noqa: ANN001
    app = services.coordination
    for crisis_id in ("C-A", "C-B"):
        app.declare_crisis(DUTY, crisis_id=crisis_id, title=crisis_id, category="OTHER", severity=2)
        app.open_police_liaison(POLICE, liaison_id=f"PL-{crisis_id}", crisis_id=crisis_id)
    app.draft_continuity_plan(
        SOTEPE, "SOTEPE", plan_id="CP-1", title="Home care",
        critical_functions=[CriticalFunction(name="home care", mtpd_minutes=360, rto_minutes=120)],
    )
    app.approve_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-1", approved_by="Executive Director, SOTEPE")


def refused(call, *args, **kwargs) -> None:  # noqa: ANN001
    with pytest.raises(DomainError):
        call(*args, **kwargs)


def test_a_refused_acknowledgement_of_a_reminder_concerns_the_crisis_of_its_deadline(services, clock) -> None:  # noqa: ANN001
    """Given a reminder of an action of C-A (recorded as the sender records it), acknowledged, when it is
    acknowledged again (refused: ALREADY_ACKNOWLEDGED, kept under the reminder), then the refusal concerns C-A, not
    C-B, and a crisis's export holds it."""
    given_two_crises_with_a_liaison_and_a_plan_each(services, clock)
    app = services.coordination
    due = clock() + timedelta(minutes=20)
    deadline = Deadline(deadline_key("ACTION", "C-A", "A-1", due), "ACTION", "C-A", "A-1", "STARA", due)
    app.record_reminder_notice(Actor("valmius-remind", Role.DUTY_OFFICER), deadline, Ladder().step(1, due), [])
    app.acknowledge_reminder(DUTY, reminder_id(deadline.key))
    refused(app.acknowledge_reminder, DUTY, reminder_id(deadline.key))

    of_a, _ = search_refusals(services.refusals, links=links_from_log(app, "C-A"))
    of_b, _ = search_refusals(services.refusals, links=links_from_log(app, "C-B"))

    assert [(r["command"], r["rule"]) for r in of_a] == [("acknowledge_reminder", "ALREADY_ACKNOWLEDGED")]
    assert of_b == []
    _, files = export(SimpleNamespace(services=services), "C-A")
    assert [r["rule"] for r in lines(files, "refusals.jsonl")] == ["ALREADY_ACKNOWLEDGED"]



def test_refused_attempts_are_found_by_crisis_through_its_liaisons_and_plans(services, clock) -> None:  # noqa: ANN001
    # Given two crises, each with its police liaison matter, and one continuity plan
    given_two_crises_with_a_liaison_and_a_plan_each(services, clock)
    app = services.coordination
    # And refused attempts: on C-A itself, under C-A's liaison, on C-B's liaison, and on plans
    refused(app.change_severity, DUTY, "C-A", to_severity=9)
    refused(app.answer_police_request, POLICE, "PL-C-A", request_id="PR-NONE", response="x")
    refused(app.answer_police_request, POLICE, "PL-C-B", request_id="PR-NONE", response="x")
    refused(app.activate_continuity_plan, SOTEPE, "SOTEPE", plan_id="CP-NONE", crisis_id="C-A")  # no such plan
    clock.advance(minutes=10)
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-1", crisis_id="C-A")
    clock.advance(minutes=10)
    refused(app.deactivate_continuity_plan, SOTEPE, "SOTEPE", plan_id="CP-1",
            occurred_at=clock() - timedelta(hours=1))  # before its activation, while active for C-A
    app.deactivate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-1")
    clock.advance(minutes=10)
    app.activate_continuity_plan(SOTEPE, "SOTEPE", plan_id="CP-1", crisis_id="C-B")
    clock.advance(minutes=10)
    refused(app.deactivate_continuity_plan, SOTEPE, "SOTEPE", plan_id="CP-1",
            occurred_at=clock() - timedelta(hours=1))  # while active for C-B: concerns C-B, not C-A

    # When the refused attempts concerning C-A are searched
    found, next_after = search_refusals(services.refusals, links=links_from_log(app, "C-A"))

    # Then they are the attempt on C-A, under its liaison, activating a plan for it, and deactivating it
    assert [(r["command"], r["target"], r["rule"]) for r in found] == [
        ("change_severity", "C-A", "INVALID_SEVERITY"),
        ("answer_police_request", "PL-C-A", "NOT_FOUND"),
        ("activate_continuity_plan", "SOTEPE", "NOT_FOUND"),
        ("deactivate_continuity_plan", "SOTEPE", "BEFORE_CRISIS_START"),
    ]
    assert next_after is None
    # And those concerning C-B are the ones under its liaison and on its plan activation
    found_b, _ = search_refusals(services.refusals, links=links_from_log(app, "C-B"))
    assert [(r["command"], r["target"]) for r in found_b] == [
        ("answer_police_request", "PL-C-B"),
        ("deactivate_continuity_plan", "SOTEPE"),
    ]


def test_refused_attempts_are_filtered_by_user_rule_and_time_and_paged(services, clock) -> None:  # noqa: ANN001
    # Given five refused attempts, a minute apart, by two users, for two rules
    given_two_crises_with_a_liaison_and_a_plan_each(services, clock)
    app = services.coordination
    start = clock()
    for minute in range(5):
        clock.set(start + timedelta(minutes=minute))
        if minute % 2:
            refused(app.answer_police_request, POLICE, "PL-C-A", request_id="PR-NONE", response="x")
        else:
            refused(app.change_severity, DUTY, "C-A", to_severity=9)

    # When they are searched by user, rule and time range (given in another offset than kept)
    by_user, _ = search_refusals(services.refusals, user="PC")
    by_rule, _ = search_refusals(services.refusals, rule="INVALID_SEVERITY")
    window, _ = search_refusals(
        services.refusals, since=(start + timedelta(minutes=1)).astimezone(timezone.utc), until=start + timedelta(minutes=3)
    )
    # Then each filter keeps exactly the matching attempts
    assert [r["user_name"] for r in by_user] == ["PC", "PC"]
    assert len(by_rule) == 3 and {r["rule"] for r in by_rule} == {"INVALID_SEVERITY"}
    assert [datetime.fromisoformat(r["at"]) for r in window] == [start + timedelta(minutes=m) for m in (1, 2, 3)]
    # And pages of two follow each other to the end without overlap
    first, after = search_refusals(services.refusals, limit=2)
    second, after_second = search_refusals(services.refusals, limit=2, after=after)
    third, last = search_refusals(services.refusals, limit=2, after=after_second)
    ids = [r["id"] for r in first + second + third]
    assert len(ids) == 5 == len(set(ids)) and ids == sorted(ids) and last is None


def test_a_secret_crisis_on_every_store_exports_redacted(services, clock) -> None:  # noqa: ANN001
    # Given a SECRET crisis with a RECEIVED log entry, recorded on this store
    app = services.coordination
    secret = Classification.of("SECRET", "JulkL 24.1 § 7 k")
    app.declare_crisis(DUTY, crisis_id="C-X", title="Threat against the city hall", category="THREAT_VIOLENCE",
                       severity=3, classification=secret)
    app.record_log_entry(DUTY, "C-X", text="Suspect seen at the market square", source="HPD",
                         classification=Classification.of("RECEIVED", marking="TL IV", originator="HPD"))

    # When an uncleared auditor exports it (straight from the application: no read model has followed the log)
    buffer = io.BytesIO()
    done = export_crisis(
        app, services.refusals, services.scratch_stores, UNCLEARED_AUDITOR, "C-X", buffer, via="test",
        render_report=report.render,
    )

    # Then the archive holds both events and the timeline, with labels and without the texts
    with zipfile.ZipFile(buffer) as archive:
        contents = {n.split("/", 1)[1]: archive.read(n).decode() for n in archive.namelist()}
    assert contents["events.jsonl"].count("\n") == 2 and contents["timeline.jsonl"].count("\n") == 2
    everything = "".join(contents.values())
    assert "city hall" not in everything and "market square" not in everything
    assert "[RECEIVED TL IV, originator HPD]" in contents["timeline.jsonl"]
    assert done.manifest["log_position"] == app.recorder.max_notification_id()


def test_an_export_holds_the_crisiss_after_action_review_and_the_alerts_linked_to_it(services, clock) -> None:  # noqa: ANN001
    from interfaces.cap.alerts_in import read_alert
    from tests.application.support import DO1, PM, move

    # Given a crisis whose warning came as a CAP alert, linked while it ran, and another alert never linked
    app = services.coordination
    clock.set("2025-10-26T10:00:00+02:00")
    cap = Path(__file__).parents[1] / "fixtures" / "cap"
    wind, _ = app.take_received_alert(DO1, (cap / "fmi-wind-warning.xml").read_bytes(), read_alert, source="http")
    other, _ = app.take_received_alert(DO1, (cap / "example-amber-alert.xml").read_bytes(), read_alert,
                                       source="http")
    app.declare_crisis(DUTY, crisis_id="C-S1", title="Storm", category="SEVERE_WEATHER", severity=2)
    app.link_received_alert(DO1, wind, crisis_id="C-S1")
    # and, once it closed, its SECRET after-action review
    app.record_log_entry(DO1, "C-S1", text="HSY: pressure loss in Vuosaari")
    clock.advance(minutes=1)
    move(app, "C-S1", "contain", "resolve", "close")
    app.draft_after_action_review(PM, "C-S1", findings=["the device register was out of date"],
                                  classification=Classification.of("SECRET", "JulkL 24.1 § 7 k"))

    # When a cleared and an uncleared auditor export it
    def exported(auditor: Actor) -> dict[str, str]:
        buffer = io.BytesIO()
        export_crisis(app, services.refusals, services.scratch_stores, auditor, "C-S1", buffer, via="test",
                      render_report=report.render)
        with zipfile.ZipFile(buffer) as archive:
            return {n.split("/", 1)[1]: archive.read(n).decode() for n in archive.namelist()}

    cleared, uncleared = exported(CLEARED_AUDITOR), exported(UNCLEARED_AUDITOR)
    # Then both hold the review and the linked alert whole (received, then linked), never the other alert
    for contents in (cleared, uncleared):
        alerts = [json.loads(line) for line in contents["received_alerts.jsonl"].splitlines()]
        assert [a["type"] for a in alerts] == ["ReceivedAlert.Received", "ReceivedAlert.LinkedToCrisis"]
        assert {a["data"]["alert_id"] for a in alerts} == {wind} and other not in contents["received_alerts.jsonl"]
        review = [json.loads(line) for line in contents["after_action_review.jsonl"].splitlines()]
        assert [r["type"] for r in review] == ["AfterActionReview.Drafted"]
        manifest = json.loads(contents["manifest.json"])
        assert {"after_action_review.jsonl", "received_alerts.jsonl"} <= {f["name"] for f in manifest["files"]}
    # and the review's findings and the alert's texts only for the cleared one
    assert "device register" in cleared["after_action_review.jsonl"]
    assert "device register" not in uncleared["after_action_review.jsonl"]
    assert "Tuulivaroitus" not in uncleared["received_alerts.jsonl"]
