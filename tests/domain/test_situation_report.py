"""Structured situation reports on the Crisis aggregate alone: the forms, the draft it keeps (no texts), the
digest of the figures."""

from __future__ import annotations

from domain.crisis_records import CrisisRecord
from domain.shared import Rule
from domain.situation_report import SECTIONS, canonical_json, figures_digest
from tests.domain.support import recorded, refused
from tests.domain.test_crisis import POLICY, declare, minutes, when

FIGURES = {"at": "2025-10-25T22:10:00+03:00", "open_actions": 2, "overdue_actions": 1,
           "readiness": {"BASIC": 8, "ENHANCED": 1}, "active_plans": 0, "open_police_requests": 1}


def test_the_digest_is_the_sha256_of_the_canonical_json_whatever_the_order_of_the_keys():
    shuffled = dict(reversed(list(FIGURES.items())))
    assert canonical_json(shuffled) == canonical_json(FIGURES)
    assert canonical_json(FIGURES).startswith('{"active_plans":0,"at":"2025-10-25T22:10:00+03:00",')
    assert figures_digest(shuffled) == figures_digest(FIGURES)
    assert figures_digest({**FIGURES, "open_actions": 3}) != figures_digest(FIGURES)
    assert len(figures_digest(FIGURES)) == len("sha256:") + 64


def test_the_crisis_keeps_which_sections_were_given_never_their_texts():
    storm = declare()
    storm.draft_situation_report(actor="DO-1", now=minutes(5))
    storm.contribute_situation_report(
        unit="SOTEPE", sections={"casualties": "40 clients"}, policy=POLICY, actor="DIV-SOTEPE", now=minutes(6)
    )
    assert storm.sitrep_draft.sections == ["casualties"]
    assert "40 clients" not in repr({k: v for k, v in vars(storm).items() if k != "_pending_events"})
    with refused(storm, Rule.INVALID_INPUT):
        storm.contribute_situation_report(unit=None, sections={"situation": "x"}, policy=POLICY, actor="DO-1",
                                          now=minutes(7))
    with refused(storm, Rule.UNKNOWN_UNIT):
        storm.contribute_situation_report(unit="HKL", sections={"type": "x"}, policy=POLICY, actor="DO-1",
                                          now=minutes(7))


def test_an_issued_report_is_numbered_with_the_plain_ones_and_folds_with_its_sections_and_figures():
    storm = declare()
    storm.draft_situation_report(actor="DO-1", now=minutes(5))
    storm.contribute_situation_report(
        unit=None, sections={name: f"{name} text" for name in SECTIONS["METHANE"]}, policy=POLICY, actor="DO-1",
        now=minutes(6),
    )
    with refused(storm, Rule.INVALID_DUE_TIME):
        storm.issue_drafted_situation_report(figures=FIGURES, next_due_at=minutes(9), **when(10))
    assert storm.issue_drafted_situation_report(figures=FIGURES, next_due_at=minutes(130), **when(10)) == 1
    assert storm.sitrep_draft is None and len(storm.situation_reports) == 1
    report = CrisisRecord.of(recorded(storm)).situation_reports[0]
    assert (report.form, report.figures, report.figures_digest) == ("METHANE", FIGURES, figures_digest(FIGURES))
    assert [s.section for s in report.sections] == list(SECTIONS["METHANE"])
    storm.issue_situation_report(summary="the plain way", **when(20))
    assert storm.draft_situation_report(actor="DO-1", now=minutes(21)) == "STANDARD"
