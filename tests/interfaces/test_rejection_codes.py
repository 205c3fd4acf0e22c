"""One test per rejection code of DOMAIN.md, each refused through the HTTP API.

Every refusal is an RFC 9457 problem detail whose `code` names the rule and whose `detail` says, in words a
duty officer understands, why; it appends no domain event (the log position on /health stays put), and the
attempt itself is kept for auditors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from domain.police_liaison import DIRECTIONS, REQUEST_TYPES
from domain.shared import CATEGORIES, CONDITIONS
from tests.interfaces.conftest import (
    accepted,
    approved_plan,
    declare,
    last_event,
    liaison_with_request,
    problem,
    says,
)

DOMAIN_MD = Path(__file__).resolve().parents[2].parent / "shared" / "context" / "DOMAIN.md"

# The codes DOMAIN.md names, for when the document is not next to the repository.
DOMAIN_CODES = {
    "UNKNOWN_UNIT", "OPEN_ITEMS", "PLAN_STILL_ACTIVE", "CRISIS_NOT_CLOSED", "INVALID_DUE_TIME",
    "DUPLICATE_SEQUENCE", "IMMUTABLE_RECORD", "WRONG_CRISIS", "NO_EMERGENCY_CONDITIONS", "ALREADY_ANSWERED",
    "AMBIGUOUS_TIME", "FUTURE_TIMESTAMP", "LATE_ENTRY_REASON_REQUIRED", "BEFORE_CRISIS_START",
    "CLASSIFICATION_NOT_ALLOWED", "CONFLICT_VERSION", "FORBIDDEN_ROLE",
}

TESTED: set[str] = set()


def refusal_of(code: str) -> Callable:
    """Marks the test of one rejection code, so that the codes tested can be compared with DOMAIN.md."""

    def mark(test: Callable) -> Callable:
        TESTED.add(code)
        return test

    return mark


class Watch:
    """What is stored before the refused command: the log position and the number of kept attempts."""

    def __init__(self, api) -> None:  # noqa: ANN001
        self.api = api
        self.position = last_event(api)
        self.attempts = len(api.services.refusals.list())

    def then_refused(self, response, status: int, code: str, by: str, *meaning: str) -> dict:  # noqa: ANN001
        body = problem(response, status, code)
        assert body["type"].endswith(code) and body["status"] == status and body["title"]
        assert says(body["detail"], *meaning), body["detail"]
        assert last_event(self.api) == self.position, "a refused command appended a domain event"
        kept = self.api.services.refusals.list()[self.attempts:]
        assert [(a["rule"], a["user_name"]) for a in kept] == [(code, by)]
        assert kept[0]["message"] == body["detail"]
        return kept[0]


@refusal_of("UNKNOWN_UNIT")
def test_an_action_for_an_external_partner_is_refused_as_no_city_unit(api, people):
    # Given the storm crisis
    declare(api, people.duty_officer)
    watch = Watch(api)
    # When the duty officer assigns an action to HSY, the water utility (a partner, not a unit)
    response = api.post(
        "/crises/C-S1/actions",
        json={"action_id": "A-S1-09", "unit": "HSY", "task": "Restore water pressure", "due_at": "2025-10-26T00:00+03:00"},
        headers=people.duty_officer,
    )
    # Then it is refused, naming HSY as an external partner
    watch.then_refused(response, 422, "UNKNOWN_UNIT", "DO-1", r"\bHSY\b", "external partner", "not a city unit")


@refusal_of("OPEN_ITEMS")
def test_a_resolved_crisis_with_an_open_action_cannot_close(api, people):
    # Given a resolved crisis whose action to KYMP is still open
    declare(api, people.duty_officer)
    accepted(
        api.post(
            "/crises/C-S1/actions",
            json={"action_id": "A-S1-04", "unit": "KYMP", "task": "Make safe 12 damaged street-light poles",
                  "due_at": "2025-10-26T12:00+02:00"},
            headers=people.duty_officer,
        )
    )
    for step in ("contain", "resolve"):
        accepted(api.post(f"/crises/C-S1/{step}", json={}, headers=people.duty_officer))
    watch = Watch(api)
    # When the duty officer closes it
    response = api.post("/crises/C-S1/close", json={}, headers=people.duty_officer)
    # Then the open action is named
    watch.then_refused(response, 409, "OPEN_ITEMS", "DO-1", r"open actions: \[A-S1-04\]")


@refusal_of("PLAN_STILL_ACTIVE")
def test_a_crisis_cannot_close_while_a_continuity_plan_is_active_for_it(api, people):
    # Given SOTEPE's home-care plan active for the storm, and the storm resolved
    declare(api, people.duty_officer)
    approved_plan(api, people.contact("SOTEPE"))
    accepted(
        api.post(
            "/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/activate",
            json={"crisis_id": "C-S1"},
            headers=people.contact("SOTEPE"),
        )
    )
    for step in ("contain", "resolve"):
        accepted(api.post(f"/crises/C-S1/{step}", json={}, headers=people.duty_officer))
    watch = Watch(api)
    # When the duty officer closes the crisis
    response = api.post("/crises/C-S1/close", json={}, headers=people.duty_officer)
    # Then the active plan is named, and who must deactivate it
    watch.then_refused(response, 409, "PLAN_STILL_ACTIVE", "DO-1", "CP-SOTEPE-01", "still active", "deactivate")


@refusal_of("CRISIS_NOT_CLOSED")
def test_the_after_action_review_waits_until_the_crisis_is_closed(api, people):
    # Given an active crisis
    declare(api, people.duty_officer)
    watch = Watch(api)
    # When the preparedness manager records its after-action review
    response = api.post(
        "/crises/C-S1/after-action-review",
        json={"findings": ["home-care device register out of date"]},
        headers=people.preparedness_manager,
    )
    # Then it is refused: the crisis is still ACTIVE
    watch.then_refused(response, 409, "CRISIS_NOT_CLOSED", "PM", r"C-S1 is ACTIVE", "once it is CLOSED")


@refusal_of("INVALID_DUE_TIME")
def test_an_action_due_before_its_assignment_is_refused(api, people):
    # Given the storm, declared 21:40
    declare(api, people.duty_officer)
    watch = Watch(api)
    # When the duty officer assigns an action due ten minutes ago
    response = api.post(
        "/crises/C-S1/actions",
        json={"action_id": "A-S1-01", "unit": "STARA", "task": "Clear fallen trees", "due_at": "2025-10-25T21:30+03:00"},
        headers=people.duty_officer,
    )
    # Then the due time must come after the assignment
    watch.then_refused(response, 422, "INVALID_DUE_TIME", "DO-1", r"due time 2025-10-25T21:30\+03:00", "must be after")


@refusal_of("DUPLICATE_SEQUENCE")
def test_a_situation_report_number_cannot_be_issued_twice(api, people, clock):
    # Given situation report #1 issued by DO-1 at 21:50
    declare(api, people.duty_officer)
    clock.set("2025-10-25T21:50+03:00")
    accepted(api.post("/crises/C-S1/situation-reports", json={"number": 1, "summary": "~9,000 without power"},
                      headers=people.duty_officer))
    watch = Watch(api)
    # When DO-2 issues #1 as well
    response = api.post(
        "/crises/C-S1/situation-reports", json={"number": 1, "summary": "duplicate"}, headers=people.second_duty_officer
    )
    # Then it is refused: #1 exists, the next is #2
    watch.then_refused(response, 409, "DUPLICATE_SEQUENCE", "DO-2", r"#1 already issued 21:50 by DO-1", r"next is #2")


@refusal_of("IMMUTABLE_RECORD")
def test_a_recorded_decision_cannot_be_edited(api, people):
    # Given decision D-S1-01 recorded on behalf of SOTEPE's Executive Director
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/decisions", json=DECISION, headers=people.duty_officer))
    watch = Watch(api)
    # When the duty officer tries to edit it in place
    response = api.patch(
        "/crises/C-S1/decisions/D-S1-01", json={"decision": "Move 8 clients instead"}, headers=people.duty_officer
    )
    # Then it is refused: decisions are superseded or reviewed, never changed
    watch.then_refused(response, 409, "IMMUTABLE_RECORD", "DO-1", "D-S1-01", "cannot be changed", "supersede")


@refusal_of("WRONG_CRISIS")
def test_a_decision_is_superseded_only_within_its_own_crisis(api, people):
    # Given decision D-S1-01 of the storm, and a second crisis: the water main in Kallio
    declare(api, people.duty_officer)
    accepted(api.post("/crises/C-S1/decisions", json=DECISION, headers=people.duty_officer))
    declare(api, people.duty_officer, crisis_id="C-S3", title="Water main burst, Kallio", category="UTILITY_WATER")
    watch = Watch(api)
    # When a decision of the water-main crisis claims to supersede the storm's decision
    response = api.post(
        "/crises/C-S3/decisions",
        json={**DECISION, "decision_id": "D-S3-01", "supersedes": "D-S1-01"},
        headers=people.duty_officer,
    )
    # Then it is refused as belonging to another crisis
    watch.then_refused(response, 422, "WRONG_CRISIS", "DO-1", "D-S1-01 is not a decision of C-S3", "own crisis")


@refusal_of("NO_EMERGENCY_CONDITIONS")
def test_emergency_readiness_needs_emergency_conditions_in_force(api, people):
    # Given no emergency conditions recorded in force
    watch = Watch(api)
    # When SOTEPE's contact raises its readiness to EMERGENCY
    response = api.post(
        "/division-preparedness/SOTEPE/readiness",
        json={"to_level": "EMERGENCY", "decided_by": "Executive Director, SOTEPE", "reason": "storm"},
        headers=people.contact("SOTEPE"),
    )
    # Then it is refused until emergency conditions are in force
    watch.then_refused(
        response, 409, "NO_EMERGENCY_CONDITIONS", "DIV-SOTEPE", "EMERGENCY", "only while emergency conditions"
    )


@refusal_of("ALREADY_ANSWERED")
def test_a_police_request_is_answered_exactly_once(api, people, clock):
    # Given PR-S1-01 answered at 22:25
    declare(api, people.duty_officer)
    liaison = liaison_with_request(api, people.police_coordinator)
    clock.set("2025-10-25T22:25+03:00")
    accepted(
        api.post(
            f"/police-liaisons/{liaison}/requests/PR-S1-01/answer",
            json={"response": "2 patrols 22:30–02:00", "answered_by": "HPD field commander"},
            headers=people.police_coordinator,
        )
    )
    clock.set("2025-10-26T11:25+02:00")
    watch = Watch(api)
    # When the police coordinator answers it again
    response = api.post(
        f"/police-liaisons/{liaison}/requests/PR-S1-01/answer",
        json={"response": "patrols withdrawn"},
        headers=people.police_coordinator,
    )
    # Then it is refused, saying when it was answered
    watch.then_refused(
        response, 409, "ALREADY_ANSWERED", "PC", r"PR-S1-01 answered 2025-10-25T22:25\+03:00", "new request"
    )


@refusal_of("AMBIGUOUS_TIME")
def test_a_local_time_without_offset_in_the_repeated_hour_is_ambiguous(api, people, clock):
    # Given the storm still running at 03:45+03:00 on the night the clocks go back
    declare(api, people.duty_officer)
    clock.set("2025-10-26T03:45+03:00")
    watch = Watch(api)
    # When DO-2 records a log entry that happened at "03:30", without an offset
    response = api.post(
        "/crises/C-S1/log-entries",
        json={"text": "Helen: substation restarted", "occurred_at": "2025-10-26T03:30"},
        headers=people.second_duty_officer,
    )
    # Then 03:30 is refused: it happens twice that night
    watch.then_refused(
        response, 422, "AMBIGUOUS_TIME", "DO-2", "03:30 occurs twice in Europe/Helsinki on 2025-10-26", "give an offset"
    )


@refusal_of("FUTURE_TIMESTAMP")
def test_an_entry_from_the_future_is_refused(api, people):
    # Given the storm, and the server clock at 21:40
    declare(api, people.duty_officer)
    watch = Watch(api)
    # When the duty officer records an entry that happened at 21:45
    response = api.post(
        "/crises/C-S1/log-entries",
        json={"text": "Trees down in Vuosaari", "occurred_at": "2025-10-25T21:45+03:00"},
        headers=people.duty_officer,
    )
    # Then it is refused: five minutes after server time
    watch.then_refused(response, 422, "FUTURE_TIMESTAMP", "DO-1", "5 min after server time")


@refusal_of("LATE_ENTRY_REASON_REQUIRED")
def test_an_entry_recorded_late_needs_a_reason(api, people, clock):
    # Given the storm, and the clock 40 minutes later
    declare(api, people.duty_officer)
    clock.advance(minutes=40)
    watch = Watch(api)
    # When the duty officer records, at 22:20, what happened at 21:50, giving no reason for the delay
    response = api.post(
        "/crises/C-S1/log-entries",
        json={"text": "Trees down in Vuosaari", "occurred_at": "2025-10-25T21:50+03:00"},
        headers=people.duty_officer,
    )
    # Then a late-entry reason is asked for
    watch.then_refused(response, 422, "LATE_ENTRY_REASON_REQUIRED", "DO-1", "30 min after", "late-entry reason")


@refusal_of("BEFORE_CRISIS_START")
def test_nothing_in_a_crisis_happened_before_it_was_declared(api, people, clock):
    # Given the storm, declared 21:40
    declare(api, people.duty_officer)
    clock.advance(minutes=2)
    watch = Watch(api)
    # When an entry is recorded as having happened at 21:35
    response = api.post(
        "/crises/C-S1/log-entries",
        json={"text": "First outage reports", "occurred_at": "2025-10-25T21:35+03:00"},
        headers=people.duty_officer,
    )
    # Then it is refused: it predates the crisis
    watch.then_refused(response, 422, "BEFORE_CRISIS_START", "DO-1", "21:35 is before C-S1 was declared at 21:40")


@refusal_of("CLASSIFICATION_NOT_ALLOWED")
def test_a_city_record_cannot_carry_a_tl_class(api, people):
    # Given the storm
    declare(api, people.duty_officer)
    watch = Watch(api)
    # When the duty officer issues the city's own situation report marked TL III
    response = api.post(
        "/crises/C-S1/situation-reports",
        json={"summary": "Critical sites without power", "classification": {"level": "TL III"}},
        headers=people.duty_officer,
    )
    # Then it is refused: city records are SECRET with a legal basis instead
    watch.then_refused(response, 422, "CLASSIFICATION_NOT_ALLOWED", "DO-1", "cannot carry a TL class", "SECRET")


@refusal_of("CONFLICT_VERSION")
def test_a_change_made_on_a_stale_read_is_refused_saying_what_changed(api, people, clock):
    # Given DO-1 and DO-2 both read the storm crisis at 23:19 (version in the ETag)
    declare(api, people.duty_officer)
    clock.set("2025-10-25T23:19+03:00")
    seen = api.get("/crises/C-S1", headers=people.second_duty_officer).headers["ETag"]
    # and DO-1 raises the severity to 3 at 23:20
    clock.set("2025-10-25T23:20+03:00")
    accepted(api.post("/crises/C-S1/severity", json={"to_severity": 3, "reason": "31,000 customers out"},
                      headers={**people.duty_officer, "If-Match": seen}))
    clock.set("2025-10-25T23:20:05+03:00")
    watch = Watch(api)
    # When DO-2 raises it to 4 on what they read
    response = api.post(
        "/crises/C-S1/severity", json={"to_severity": 4, "reason": "parallel edit"},
        headers={**people.second_duty_officer, "If-Match": seen},
    )
    # Then it is refused, saying what changed since
    body = watch.then_refused(
        response, 409, "CONFLICT_VERSION", "DO-2", r"C-S1 is at version 2, not 1", "severity changed to 3 by DO-1 at 23:20"
    )
    assert body["payload"]["to_severity"] == 4


@refusal_of("FORBIDDEN_ROLE")
def test_leadership_reads_and_may_not_record_decisions(api, people):
    # Given the storm
    declare(api, people.duty_officer)
    watch = Watch(api)
    # When a leadership reader records a decision
    response = api.post("/crises/C-S1/decisions", json=DECISION, headers=people.leadership)
    # Then it is refused: leadership is read-only, a duty officer records decisions
    watch.then_refused(response, 403, "FORBIDDEN_ROLE", "LR-1", "leadership readers are read-only", "duty officer")


def test_every_rejection_code_of_the_domain_has_its_test():
    """The codes tested here are exactly those DOMAIN.md names (read from it when it is at hand)."""
    assert TESTED == codes_named_in_domain()


def codes_named_in_domain() -> set[str]:
    """Every UPPER_SNAKE word of DOMAIN.md that is not a value of the domain's vocabulary is a rejection code."""
    if not DOMAIN_MD.exists():
        return DOMAIN_CODES
    words = set(re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", DOMAIN_MD.read_text(encoding="utf-8")))
    return words - {*CATEGORIES, *CONDITIONS, *DIRECTIONS, *REQUEST_TYPES}


DECISION = {
    "decision_id": "D-S1-01",
    "decided_by": "Executive Director, SOTEPE",
    "authority": "division delegation",
    "decision": "Move 6 oxygen-dependent home-care clients to temporary beds at Malmi hospital overnight",
    "options": ["battery swaps at home by night nurses", "hospital transfer", "ask Rescue Dept for generators"],
    "rationale": "outage ETA >6 h exceeds plan MTPD; battery reserve ≤4 h",
    "review_at": "2025-10-26T08:00+02:00",
}
