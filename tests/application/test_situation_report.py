"""Structured situation reports on every store: a METHANE draft first, sections from units, issue by the duty
officer with the read models' figures frozen and digested, the standard form after, and the rhythm's overdue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.crisis import Crisis
from domain.situation_report import SECTIONS, canonical_json, figures_digest
from domain.shared import Policy, Rule
from infrastructure.settings import Settings
from tests.application.support import DO1, LR, contact, declare, refused

HOUR = timedelta(hours=1)
METHANE = {name: f"{name} as seen at 21:45" for name in SECTIONS["METHANE"]}


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


def caught_up(services) -> None:  # noqa: ANN001
    services.projections.catch_up()


def test_a_first_report_is_drafted_in_the_methane_form_and_issued_with_the_figures_of_the_moment(services, app, clock):
    """Given C-1 with an action due in an hour, when the METHANE draft gets its sections from SOTEPE and the duty
    officer and is issued two hours later, then report #1 holds the sections and the figures then, digested."""
    declare(app, "C-1")
    app.assign_action(DO1, "C-1", action_id="A-1", unit="SOTEPE", task="check home care", due_at=clock.now + HOUR)
    app.draft_situation_report(DO1, "C-1")
    app.contribute_situation_report(contact("SOTEPE"), "C-1", sections={"casualties": "40 home-care clients"})
    app.contribute_situation_report(DO1, "C-1", sections=METHANE)
    clock.advance(hours=2)
    caught_up(services)
    app.issue_drafted_situation_report(DO1, "C-1")
    crisis, report = app.get_situation_report(LR, "C-1", 1)
    assert (report.number, report.form) == (1, "METHANE")
    assert [s.section for s in report.sections][:2] == ["casualties", "major_incident"]
    assert report.sections[0].unit == "SOTEPE"
    assert report.figures["open_actions"] == 1 and report.figures["overdue_actions"] == 1
    assert report.figures["readiness"]["BASIC"] == 9
    assert report.figures_digest == figures_digest(report.figures)
    assert report.figures_digest.removeprefix("sha256:") != canonical_json(report.figures)
    assert crisis.situation_report_draft is None


def test_the_first_report_is_methane_and_is_issued_only_with_all_seven_sections(services, app):
    declare(app, "C-1")
    refused(services, Rule.METHANE_REQUIRED, app.draft_situation_report, DO1, "C-1", form="STANDARD")
    app.draft_situation_report(DO1, "C-1")
    app.contribute_situation_report(DO1, "C-1", sections={"hazards": "fallen trees"})
    refused(services, Rule.METHANE_REQUIRED, app.issue_drafted_situation_report, DO1, "C-1")


def test_sections_are_contributed_only_to_a_draft_and_by_a_contact_for_their_own_unit(services, app):
    declare(app, "C-1")
    refused(services, Rule.REPORT_NOT_DRAFTED, app.contribute_situation_report, DO1, "C-1", sections={"type": "storm"})
    refused(services, Rule.REPORT_NOT_DRAFTED, app.issue_drafted_situation_report, DO1, "C-1")
    app.draft_situation_report(DO1, "C-1")
    refused(
        services, Rule.SECTION_NOT_YOURS, app.contribute_situation_report, contact("KASKO"), "C-1",
        unit="SOTEPE", sections={"type": "storm"},
    )
    refused(services, Rule.ALREADY_EXISTS, app.draft_situation_report, DO1, "C-1")


def test_later_reports_use_the_standard_form_and_need_their_situation(services, app):
    declare(app, "C-1")
    app.issue_situation_report(DO1, "C-1", summary="first, the old way")  # a plain report keeps working
    refused(services, Rule.INVALID_INPUT, app.draft_situation_report, DO1, "C-1", form="METHANE")
    app.draft_situation_report(DO1, "C-1")
    app.contribute_situation_report(DO1, "C-1", sections={"needs": "generators"})
    refused(services, Rule.REPORT_INCOMPLETE, app.issue_drafted_situation_report, DO1, "C-1")
    app.contribute_situation_report(DO1, "C-1", sections={"situation": "power back in Kontula"})
    app.issue_drafted_situation_report(DO1, "C-1")
    assert app.get_situation_report(LR, "C-1", 2)[1].form == "STANDARD"
    refused(services, Rule.DUPLICATE_SEQUENCE, app.issue_situation_report, DO1, "C-1", number=2, summary="again")


def test_the_overview_shows_a_report_overdue_by_the_rhythm_of_the_severity(services, app, clock):
    """Given a severity-3 crisis (every 4 h by default) whose last report was 3 h ago, then it is not overdue;
    an hour and a minute later it is."""
    declare(app, "C-1", severity=3)
    app.issue_situation_report(DO1, "C-1", summary="first")
    clock.advance(hours=3)
    caught_up(services)
    rhythm = services.projections.get_situation_overview(LR)["active_crises"][0]["situation_report_rhythm"]
    assert (rhythm["every_minutes"], rhythm["overdue"]) == (240, False)
    clock.advance(hours=1, minutes=1)
    rhythm = services.projections.get_situation_overview(LR)["active_crises"][0]["situation_report_rhythm"]
    assert rhythm["overdue"] is True


def test_a_crisis_with_a_draft_survives_its_snapshot_and_one_taken_before_drafts_loads_without_one(services, app):
    """Given a draft with a section, when the crisis is snapshotted and loaded back, then the draft is kept; a
    snapshot of version 3 (before structured reports) loads with no draft."""
    declare(app, "C-1")
    app.draft_situation_report(DO1, "C-1")
    app.contribute_situation_report(DO1, "C-1", sections={"hazards": "fallen trees"})
    crisis = app.load_crisis("C-1")
    app.take_snapshot(Crisis.id_for("C-1"))
    [snapshot] = app.snapshots.get(Crisis.id_for("C-1"), desc=True, limit=1)
    loaded = snapshot.mutate(None)
    assert (loaded.sitrep_draft.form, loaded.sitrep_draft.sections) == ("METHANE", ["hazards"])
    assert loaded.sitrep_draft == crisis.sitrep_draft
    old = {name: value for name, value in vars(loaded).items() if name not in ("_pending_events", "sitrep_draft")}
    state = {**old, "class_version": 3}
    Crisis.upcast_v3_v4(state)
    assert state["sitrep_draft"] is None


def test_the_rhythm_is_configured_per_severity_and_a_severity_not_listed_has_none():
    policy = Settings(environment="test", database_url="memory://", _env_file=None,
                      sitrep_rhythm={"3": "90m", "4": "1d"}).policy()
    assert (policy.rhythm(3), policy.rhythm(4), policy.rhythm(2)) == (timedelta(minutes=90), timedelta(days=1), None)
    assert Policy().rhythm(3) == timedelta(hours=4) and Policy().rhythm(1) is None
