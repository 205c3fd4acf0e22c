"""The PublicWarning aggregate: four eyes on every message, fi/sv texts, one message at a time, each issued message
with its own identifier and whole-second sent time referencing the ones before it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.public_warning import PublicWarning, WarningRecord, check_texts, message_status
from domain.shared import DomainError, Rule

NOW = datetime.fromisoformat("2025-10-25T21:40:00.250+03:00")
TEXTS = {"fi": {"headline": " Myrsky ", "description": "Katkoja", "instruction": " "},
         "sv": {"headline": "Storm", "description": "Avbrott"}}


def drafted() -> PublicWarning:
    return PublicWarning.draft(warning_id="W-1", crisis_id="C-1", texts=TEXTS, urgency="Immediate",
                               certainty="Observed", actor="DO-1", now=NOW)


def issue(warning: PublicWarning, at: datetime) -> None:
    warning.issue(sender="city@example.fi", category="SEVERE_WEATHER", severity=2, areas=["Vuosaari"], actor="DO-1",
                  now=at)


def refused(rule: Rule, command, /, **kwargs: object) -> DomainError:  # noqa: ANN001
    with pytest.raises(DomainError) as error:
        command(**kwargs)
    assert error.value.rule is rule, error.value
    return error.value


def test_texts_need_finnish_and_swedish_and_lose_blank_optional_parts():
    assert check_texts(TEXTS) == {"fi": {"headline": "Myrsky", "description": "Katkoja"},
                                  "sv": {"headline": "Storm", "description": "Avbrott"}}
    refused(Rule.TEXT_REQUIRED, check_texts, texts={"sv": TEXTS["sv"]})
    refused(Rule.TEXT_REQUIRED, check_texts, texts={**TEXTS, "fi": {"headline": "Myrsky"}})
    refused(Rule.INVALID_INPUT, check_texts, texts={**TEXTS, "sv": {**TEXTS["sv"], "web": "x"}})


def test_the_author_never_approves_and_a_message_is_issued_only_approved():
    warning = drafted()
    refused(Rule.FOUR_EYES, warning.approve, actor="DO-1", now=NOW)
    refused(Rule.WARNING_NOT_APPROVED, issue, warning=warning, at=NOW)
    warning.approve(actor="PM", now=NOW)
    refused(Rule.INVALID_TRANSITION, warning.approve, actor="DO-2", now=NOW)
    issue(warning, NOW)
    assert warning.in_force and warning.pending is None


def test_each_message_has_its_identifier_and_whole_second_sent_time_and_references_the_earlier_ones():
    warning = drafted()
    warning.approve(actor="PM", now=NOW)
    issue(warning, NOW)
    later = NOW + timedelta(hours=1)
    warning.draft_cancellation(texts=TEXTS, actor="PM", now=later)
    refused(Rule.INVALID_TRANSITION, warning.draft_update, texts=TEXTS, urgency="Expected", certainty="Likely",
            actor="PM", now=later)
    warning.approve(actor="DO-1", now=later)
    issue(warning, later)
    record = WarningRecord.of(warning.collect_events())
    assert [(m.identifier, m.msg_type, m.references, m.sent.isoformat(), m.cap_status) for m in record.issued] == [
        ("W-1.1", "Alert", [], "2025-10-25T21:40:00+03:00", message_status()),
        ("W-1.2", "Cancel", ["W-1.1"], "2025-10-25T22:40:00+03:00", "Actual"),
    ]
    assert record.issued[1].urgency == "Past" and record.status == "CANCELLED"
    refused(Rule.INVALID_TRANSITION, warning.draft_cancellation, texts=TEXTS, actor="PM", now=later)


def test_a_revision_lets_an_approval_lapse_and_a_cancellation_takes_no_scales():
    warning = drafted()
    warning.approve(actor="PM", now=NOW)
    warning.revise(texts=TEXTS, urgency="Expected", certainty="Likely", actor="DO-2", now=NOW)
    assert warning.approved_by is None and warning.author == "DO-2"
    refused(Rule.INVALID_INPUT, warning.revise, texts=TEXTS, urgency="Soon", certainty="Likely", actor="DO-2",
            now=NOW)
    refused(Rule.FOUR_EYES, warning.approve, actor="DO-1", now=NOW)  # who drafted it wrote it too
    warning.approve(actor="PM", now=NOW)
    issue(warning, NOW)
    warning.draft_cancellation(texts=TEXTS, actor="PM", now=NOW)
    refused(Rule.INVALID_INPUT, warning.revise, texts=TEXTS, urgency="Past", certainty="Observed", actor="PM",
            now=NOW)


def test_the_approver_approves_the_text_read_and_the_approval_records_its_digest():
    warning = drafted()
    events = list(warning.collect_events())
    read = WarningRecord.of(events).pending.digest  # what the manager read
    warning.revise(texts={**TEXTS, "fi": {"headline": "Myrsky yltyy", "description": "Katkoja"}}, urgency="Immediate",
                   certainty="Observed", actor="DO-2", now=NOW)
    # The text was revised after the manager read it: that approval would approve a text no one approving read
    refused(Rule.TEXT_CHANGED, warning.approve, digest=read, actor="PM", now=NOW)
    events += warning.collect_events()
    now_waiting = WarningRecord.of(events).pending.digest
    assert now_waiting != read and now_waiting == warning.pending_digest
    warning.approve(digest=now_waiting, actor="PM", now=NOW)
    issue(warning, NOW)
    # A cancellation's digest is the same whether the aggregate or a reader computes it, revised or not
    warning.draft_cancellation(texts=TEXTS, actor="DO-1", now=NOW)
    warning.revise(texts=TEXTS, actor="DO-2", now=NOW)
    events += list(warning.collect_events())
    assert WarningRecord.of(events).pending.digest == warning.pending_digest
    warning.approve(actor="PM", now=NOW)  # naming no digest approves what waits, and records it all the same
    record = WarningRecord.of([*events, *warning.collect_events()])
    assert [m.approved_digest for m in record.messages] == [now_waiting, warning.pending_digest]


def test_the_cap_status_is_exercise_for_an_exercise_and_actual_otherwise():
    assert message_status(exercise=True) == "Exercise"
    assert message_status(exercise=False) == message_status() == "Actual"
