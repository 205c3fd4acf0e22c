"""The public warning use cases on every store: a warning drafted, approved by a second person, issued, updated
and cancelled by reference to the earlier messages; only PUBLIC content reaches the public."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime

import pytest

from application.audit.export import export_crisis
from application.audit.history import EventFilter
from interfaces.web import report
from domain.shared import Classification, Rule
from tests.application.support import AUD, DO1, DO2, LR, PC, PM, declare, move, refused

TEXTS = {
    "fi": {"headline": "Myrskyvaroitus Itä-Helsinkiin", "description": "Sähkökatkoja Vuosaaressa.",
           "instruction": "Pysy sisällä."},
    "sv": {"headline": "Stormvarning för östra Helsingfors", "description": "Elavbrott i Nordsjö."},
}
UPDATED = {**TEXTS, "fi": {"headline": "Myrskyvaroitus jatkuu", "description": "Katkot jatkuvat yön yli."}}
CANCELLED = {
    "fi": {"headline": "Myrskyvaroitus päättynyt", "description": "Vaaraa ei enää ole."},
    "sv": {"headline": "Stormvarningen har upphört", "description": "Ingen fara längre."},
}


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def draft(app, warning_id: str = "W-1", crisis_id: str = "C-S1", **overrides: object) -> int:  # noqa: ANN001
    """Given a warning drafted by DO-1 for the crisis."""
    args = {"warning_id": warning_id, "texts": TEXTS, "urgency": "Immediate", "certainty": "Observed", **overrides}
    return app.draft_public_warning(args.pop("actor", DO1), crisis_id, **args)


def issued(app, warning_id: str = "W-1", crisis_id: str = "C-S1") -> None:  # noqa: ANN001
    """Given a warning drafted by DO-1, approved by the preparedness manager and issued by DO-1."""
    draft(app, warning_id, crisis_id)
    app.approve_public_warning(PM, warning_id)
    app.issue_public_warning(DO1, warning_id)


def test_a_warning_is_issued_updated_and_cancelled_each_message_referencing_the_earlier_ones(app, clock):
    # Given a storm crisis and its warning issued
    declare(app)
    issued(app)
    first = app.get_public_warning(LR, "W-1").issued[0]
    # When an update is drafted by DO-2, approved by DO-1 and issued after the severity rose
    clock.advance(minutes=30)
    app.change_severity(DO1, "C-S1", to_severity=3, reason="more outages")
    app.draft_public_warning_update(DO2, "W-1", texts=UPDATED, urgency="Expected", certainty="Likely")
    app.approve_public_warning(DO1, "W-1")
    app.issue_public_warning(DO2, "W-1")
    # and then cancelled the same way
    clock.advance(hours=2)
    app.draft_public_warning_cancellation(DO1, "W-1", texts=CANCELLED)
    app.approve_public_warning(PM, "W-1")
    app.issue_public_warning(DO1, "W-1")
    # Then three messages were issued, each with its own identifier and sent time, referencing the earlier ones
    warning = app.get_public_warning(LR, "W-1")
    assert [(m.msg_type, m.identifier, m.references) for m in warning.issued] == [
        ("Alert", "W-1.1", []), ("Update", "W-1.2", ["W-1.1"]), ("Cancel", "W-1.3", ["W-1.1", "W-1.2"]),
    ]
    assert first.sent.isoformat() == "2025-10-25T21:40:00+03:00" and first.sender == "valmius@localhost"
    assert [m.severity for m in warning.issued] == [2, 3, 3]  # the crisis's severity when each was sent
    assert [(m.drafted_by, m.approved_by, m.issued_by) for m in warning.issued] == [
        ("DO-1", "PM", "DO-1"), ("DO-2", "DO-1", "DO-2"), ("DO-1", "PM", "DO-1"),
    ]
    assert warning.status == "CANCELLED" and warning.pending is None
    assert warning.issued[0].texts["fi"]["instruction"] == "Pysy sisällä." and "en" not in warning.issued[0].texts


def test_the_author_of_a_text_never_approves_it(services, app):
    declare(app)
    draft(app)
    refused(services, Rule.FOUR_EYES, app.approve_public_warning, DO1, "W-1")
    # When DO-2 rewrites it, neither DO-2 nor DO-1 may approve it (both wrote the text), but PM may
    app.revise_public_warning(DO2, "W-1", texts=UPDATED, urgency="Expected", certainty="Likely")
    refused(services, Rule.FOUR_EYES, app.approve_public_warning, DO2, "W-1")
    refused(services, Rule.FOUR_EYES, app.approve_public_warning, DO1, "W-1")
    app.approve_public_warning(PM, "W-1")
    assert app.get_public_warning(LR, "W-1").pending.approved_by == "PM"


def test_a_warning_is_issued_only_once_approved_and_a_revision_lets_the_approval_lapse(services, app):
    declare(app)
    draft(app)
    refused(services, Rule.WARNING_NOT_APPROVED, app.issue_public_warning, DO1, "W-1")
    app.approve_public_warning(PM, "W-1")
    app.revise_public_warning(DO2, "W-1", texts=UPDATED, urgency="Immediate", certainty="Observed")
    refused(services, Rule.WARNING_NOT_APPROVED, app.issue_public_warning, DO1, "W-1")
    assert app.get_public_warning(LR, "W-1").issued == []


def test_finnish_and_swedish_texts_are_required_english_optional(services, app):
    declare(app)
    refused(services, Rule.TEXT_REQUIRED, draft, app, texts={"fi": TEXTS["fi"]})
    refused(services, Rule.TEXT_REQUIRED, draft, app, texts={**TEXTS, "sv": {"headline": "Storm", "description": " "}})
    refused(services, Rule.INVALID_INPUT, draft, app, texts={**TEXTS, "de": TEXTS["fi"]})
    refused(services, Rule.INVALID_INPUT, draft, app, urgency="Soon")
    draft(app, texts={**TEXTS, "en": {"headline": "Storm warning", "description": "Outages in Vuosaari."}})
    assert set(app.get_public_warning(LR, "W-1").pending.texts) == {"fi", "sv", "en"}


def test_only_public_content_goes_into_a_warning(services, app):
    # Given a SECRET crisis, and a PUBLIC one with a SECRET decision
    declare(app, "C-SECRET", classification=Classification.of("SECRET", "JulkL 24.1 § 7 k"))
    declare(app, "C-S1")
    for decision_id, level in (("D-1", Classification.of()), ("D-2", Classification.of("SECRET", "JulkL 24.1 § 5"))):
        app.record_decision(DO1, "C-S1", decision_id=decision_id, decided_by="Mayor", decision="Warn the public",
                            rationale="Outages", options=["warn", "wait"], classification=level)
    # Then no warning is drafted for the SECRET crisis, nor based on the SECRET decision
    refused(services, Rule.NOT_PUBLIC, draft, app, crisis_id="C-SECRET")
    refused(services, Rule.NOT_PUBLIC, draft, app, based_on=["D-2"])
    refused(services, Rule.NOT_FOUND, draft, app, based_on=["D-9"])
    draft(app, based_on=["D-1"])
    assert app.get_public_warning(LR, "W-1").pending.based_on == ["D-1"]


def test_a_closed_crisis_takes_no_new_warning_but_its_warning_in_force_can_be_cancelled(services, app):
    declare(app)
    issued(app)
    move(app, "C-S1", "contain", "resolve", "close")
    refused(services, Rule.CRISIS_CLOSED, draft, app, warning_id="W-2")
    refused(services, Rule.CRISIS_CLOSED, app.draft_public_warning_update, DO1, "W-1", texts=UPDATED,
            urgency="Expected", certainty="Likely")
    app.draft_public_warning_cancellation(DO1, "W-1", texts=CANCELLED)
    app.approve_public_warning(PM, "W-1")
    app.issue_public_warning(DO1, "W-1")
    assert app.get_public_warning(LR, "W-1").status == "CANCELLED"


def test_one_message_at_a_time_and_only_a_warning_in_force_is_updated_or_cancelled(services, app):
    declare(app)
    draft(app)
    refused(services, Rule.INVALID_TRANSITION, app.draft_public_warning_cancellation, DO1, "W-1", texts=CANCELLED)
    app.approve_public_warning(PM, "W-1")
    app.issue_public_warning(DO1, "W-1")
    refused(services, Rule.INVALID_TRANSITION, app.approve_public_warning, PM, "W-1")
    refused(services, Rule.ALREADY_EXISTS, draft, app)
    app.draft_public_warning_cancellation(DO1, "W-1", texts=CANCELLED)
    refused(services, Rule.INVALID_TRANSITION, app.draft_public_warning_update, DO1, "W-1", texts=UPDATED,
            urgency="Expected", certainty="Likely")


def test_leadership_and_the_police_coordinator_neither_draft_nor_approve(services, app):
    declare(app)
    refused(services, Rule.FORBIDDEN_ROLE, draft, app, actor=LR)
    refused(services, Rule.FORBIDDEN_ROLE, draft, app, actor=PC)
    draft(app)
    refused(services, Rule.FORBIDDEN_ROLE, app.approve_public_warning, PC, "W-1")
    refused(services, Rule.NOT_FOUND, app.approve_public_warning, PM, "W-9")


def test_the_register_holds_the_warnings_in_force_and_each_crisis_its_warnings(services, app, clock):
    # Given two warnings issued for a crisis, one of them cancelled since, and a third only drafted
    declare(app)
    issued(app, "W-1")
    clock.advance(minutes=5)
    issued(app, "W-2")
    draft(app, "W-3")
    app.draft_public_warning_cancellation(DO1, "W-1", texts=CANCELLED)
    app.approve_public_warning(PM, "W-1")
    clock.advance(minutes=5)
    app.issue_public_warning(DO1, "W-1")
    views = services.projections
    views.catch_up()
    # Then in force is W-2 alone, with the texts it was issued with; the crisis has all three
    in_force = views.list_public_warnings(LR)["warnings"]
    assert [(w["warning_id"], w["identifier"], w["msg_type"], w["sent"]) for w in in_force] == [
        ("W-2", "W-2.1", "Alert", "2025-10-25T21:45:00+03:00"),
    ]
    assert in_force[0]["texts"] == TEXTS and in_force[0]["redacted"] is False
    of_crisis = {w["warning_id"]: (w["status"], w["msg_type"], w["pending"]) for w in views.list_public_warnings(LR, "C-S1")["warnings"]}
    assert of_crisis == {"W-1": ("CANCELLED", "Cancel", None), "W-2": ("IN_FORCE", "Alert", None),
                         "W-3": ("DRAFTED", None, "Alert")}


def test_the_timeline_shows_who_drafted_and_approved_each_message_and_when_it_was_issued(services, app, clock):
    declare(app)
    clock.advance(minutes=10)
    draft(app)
    clock.advance(minutes=10)
    app.approve_public_warning(PM, "W-1")
    clock.advance(minutes=10)
    app.issue_public_warning(DO2, "W-1")
    services.projections.catch_up()
    entries = services.projections.get_crisis_timeline(LR, "C-S1")["entries"]
    shown = [(e["kind"], e["ref"], e["actor"], e["recorded_at"]) for e in entries if e["kind"].startswith("warning")]
    assert shown == [
        ("warning_drafted", "W-1", "DO-1", "2025-10-25T21:50:00+03:00"),
        ("warning_approved", "W-1", "PM", "2025-10-25T22:00:00+03:00"),
        ("warning_issued", "W-1", "DO-2", "2025-10-25T22:10:00+03:00"),
    ]
    assert entries[-1]["content"] == {"msg_type": "Alert", "identifier": "W-1.1", "sent": "2025-10-25T22:10:00+03:00",
                                      "references": [], "note": None}
    assert entries[1]["content"]["headlines"] == {"fi": TEXTS["fi"]["headline"], "sv": TEXTS["sv"]["headline"]}


def test_an_auditor_sees_the_warning_as_it_was_known_at_a_moment(services, app, clock):
    # Given a warning approved at 22:00 and issued at 22:10
    declare(app)
    draft(app)
    clock.advance(minutes=20)
    app.approve_public_warning(PM, "W-1")
    clock.advance(minutes=10)
    app.issue_public_warning(DO1, "W-1")
    # When an auditor asks for the timeline as known at 22:05
    known = services.history.get_crisis_timeline_at(AUD, "C-S1", datetime.fromisoformat("2025-10-25T22:05+03:00"))
    # Then the draft and its approval show, the issue not yet
    assert [(e["kind"], e["actor"]) for e in known["entries"] if e["ref"] == "W-1"] == [
        ("warning_drafted", "DO-1"), ("warning_approved", "PM"),
    ]
    # and the event log lists the warning's events
    logged = services.history.list_events(AUD, EventFilter(aggregate_kinds=("public_warning",)))
    assert [(e["type"], e["aggregate_id"]) for e in logged["items"]] == [
        ("PublicWarning.Drafted", "W-1"), ("PublicWarning.Approved", "W-1"), ("PublicWarning.Issued", "W-1"),
    ]


def test_the_export_of_a_crisis_holds_its_warnings_events_and_its_timeline_shows_them(services, app):
    # Given a warning of the crisis issued, and one of another crisis
    declare(app)
    declare(app, "C-OTHER")
    issued(app)
    issued(app, "W-OTHER", "C-OTHER")
    # When an auditor exports the crisis
    buffer = io.BytesIO()
    export_crisis(app, services.refusals, services.scratch_stores, AUD, "C-S1", buffer, via="test",
                  render_report=report.render)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        files = {name.split("/", 1)[1]: archive.read(name).decode() for name in archive.namelist()}
    # Then its public warnings' events are in the archive, and its timeline shows them; the other crisis's not
    events = [json.loads(line) for line in files["public_warnings.jsonl"].splitlines()]
    assert [(e["type"], e["data"]["warning_id"]) for e in events] == [
        ("PublicWarning.Drafted", "W-1"), ("PublicWarning.Approved", "W-1"), ("PublicWarning.Issued", "W-1"),
    ]
    timeline = [json.loads(line) for line in files["timeline.jsonl"].splitlines()]
    assert [e["ref"] for e in timeline if e["kind"].startswith("warning")] == ["W-1", "W-1", "W-1"]
