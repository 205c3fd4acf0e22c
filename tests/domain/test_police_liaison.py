"""PoliceLiaison on its own: requests in both directions with exactly one outcome, and information shared."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.police_liaison import LiaisonRecord, PoliceLiaison
from domain.shared import DEFAULT_UNITS, Classification, DomainError, Policy, Rule
from tests.domain.support import made, recorded, refused, saved

POLICY = Policy()
DECLARED = datetime.fromisoformat("2025-11-17T07:00+02:00")


def minutes(n: float) -> datetime:
    return DECLARED + timedelta(minutes=n)


def when(n: float, actor: str = "PC", **extra: object) -> dict:
    return {"occurred_at": minutes(n), "policy": POLICY, "actor": actor, "now": minutes(n), **extra}


def liaison_for_crisis() -> PoliceLiaison:
    """Given the liaison matter for crisis C-S4, opened and saved."""
    liaison = PoliceLiaison.open(
        liaison_id="L-S4",
        crisis_id="C-S4",
        topic=None,
        city_people=["PC"],
        police_people=["HPD duty commander"],
        actor="PC",
        now=DECLARED,
    )
    return made(liaison)


def read(liaison: PoliceLiaison) -> LiaisonRecord:
    """The matter as a reader is shown it, folded from its events (the aggregate keeps no texts)."""
    return LiaisonRecord.of(recorded(liaison))


def raise_request(
    liaison: PoliceLiaison, request_id: str = "PR-S4-02", n: float = 20, **overrides: object
) -> None:
    args = {
        "request_id": request_id,
        "direction": "CITY_TO_POLICE",
        "request_type": "COORDINATION",
        "subject": "Police assessment: can school start at 10:00?",
        "not_before": DECLARED,
        **when(n),
        **overrides,
    }
    liaison.raise_request(**args)


def close(liaison: PoliceLiaison, outcome: str, request_id: str = "PR-S4-02", n: float = 155, **extra: object) -> None:
    response = extra.pop("response", "5/6 swept")
    getattr(liaison, f"{outcome}_request")(request_id=request_id, response=response, **when(n, **extra))


# --- the matter ---------------------------------------------------------------------------------------


def test_a_liaison_matter_is_for_a_crisis_or_a_standing_topic():
    standing = PoliceLiaison.open(
        liaison_id="L-PRIDE", crisis_id=None, topic="Helsinki Pride 2026", actor="PC", now=DECLARED
    )
    assert (standing.crisis_id, LiaisonRecord.of(standing.pending_events).topic, standing.requests) == (
        None, "Helsinki Pride 2026", {}
    )
    with pytest.raises(DomainError) as error:
        PoliceLiaison.open(liaison_id="L-X", crisis_id=None, topic=" ", actor="PC", now=DECLARED)
    assert error.value.rule is Rule.INVALID_INPUT


def test_the_people_on_both_sides_are_recorded():
    liaison = liaison_for_crisis()
    liaison.change_people(city_people=["PC", "DO-1"], police_people=["HPD field commander"], actor="PC", now=minutes(5))
    assert (read(liaison).city_people, read(liaison).police_people) == (["PC", "DO-1"], ["HPD field commander"])


# --- requests -----------------------------------------------------------------------------------------


def test_a_raised_request_is_open():
    liaison = liaison_for_crisis()
    raise_request(liaison, "PR-S4-01", n=2, direction="POLICE_TO_CITY", request_type="INFORMATION")
    request = read(liaison).requests["PR-S4-01"]
    assert (request.direction, request.request_type, request.status, request.raised_at, request.actor) == (
        "POLICE_TO_CITY", "INFORMATION", "OPEN", minutes(2), "PC"
    )
    assert [r.request_id for r in liaison.open_requests()] == ["PR-S4-01"]


@pytest.mark.parametrize("overrides", [{"direction": "SIDEWAYS"}, {"request_type": "FAVOUR"}, {"subject": " "}])
def test_a_request_has_a_direction_a_type_and_a_subject(overrides):
    liaison = liaison_for_crisis()
    with refused(liaison, Rule.INVALID_INPUT):
        raise_request(liaison, **overrides)


def test_a_request_for_executive_assistance_states_its_legal_basis():
    liaison = liaison_for_crisis()
    with refused(liaison, Rule.LEGAL_BASIS_REQUIRED):
        raise_request(liaison, "PR-EA", request_type="EXECUTIVE_ASSISTANCE", legal_basis=" ")
    raise_request(liaison, "PR-EA", request_type="EXECUTIVE_ASSISTANCE", legal_basis="Police Act 9:1")
    assert read(liaison).requests["PR-EA"].legal_basis == "Police Act 9:1"


def test_a_request_id_is_used_once_per_matter():
    liaison = liaison_for_crisis()
    raise_request(liaison)
    saved(liaison)
    with refused(liaison, Rule.ALREADY_EXISTS):
        raise_request(liaison, n=25)


def test_a_request_for_a_crisis_cannot_have_been_raised_before_the_crisis_was_declared():
    liaison = liaison_for_crisis()
    with refused(liaison, Rule.BEFORE_CRISIS_START) as error:
        raise_request(liaison, n=-10, late_entry_reason="logged late", now=minutes(30))
    assert error.value.message == "occurredAt 06:50 is before C-S4 was declared at 07:00"


def test_an_answer_records_who_answered_when_and_what():
    liaison = liaison_for_crisis()
    raise_request(liaison)
    liaison.answer_request(
        request_id="PR-S4-02", answered_by="HPD duty commander", response="5/6 swept, nothing found", **when(155)
    )
    request = read(liaison).requests["PR-S4-02"]
    assert (request.status, request.answered_by, request.response, request.closed_at, request.closed_by) == (
        "ANSWERED", "HPD duty commander", "5/6 swept, nothing found", minutes(155), "PC"
    )
    assert liaison.open_requests() == []


def test_an_answer_received_from_the_police_keeps_its_marking():
    liaison = liaison_for_crisis()
    raise_request(liaison)
    marking = Classification.of("RECEIVED", marking="TL IV KÄYTTÖ RAJOITETTU", originator="Helsinki Police Department")
    liaison.answer_request(request_id="PR-S4-02", response="5/6 swept", classification=marking, **when(155))
    label = read(liaison).requests["PR-S4-02"].response_classification.label(DEFAULT_UNITS.short_names)
    assert label == "[RECEIVED TL IV, originator HPD]"


def test_an_answer_says_something():
    liaison = liaison_for_crisis()
    raise_request(liaison)
    saved(liaison)
    with refused(liaison, Rule.INVALID_INPUT):
        close(liaison, "answer", response=" ")


def test_a_request_can_be_declined_or_withdrawn_without_a_response():
    liaison = liaison_for_crisis()
    raise_request(liaison, "PR-1")
    raise_request(liaison, "PR-2")
    close(liaison, "decline", "PR-1", response=None)
    close(liaison, "withdraw", "PR-2", response=None)
    assert [r.status for r in liaison.requests.values()] == ["DECLINED", "WITHDRAWN"]


@pytest.mark.parametrize("first", ["answer", "decline", "withdraw"])
@pytest.mark.parametrize("second", ["answer", "decline", "withdraw"])
def test_a_request_has_exactly_one_outcome(first, second):
    """Given PR-S4-02 answered (declined, withdrawn) at 09:35, when closed again, then ALREADY_ANSWERED."""
    liaison = liaison_for_crisis()
    raise_request(liaison)
    close(liaison, first)
    saved(liaison)
    with refused(liaison, Rule.ALREADY_ANSWERED) as error:
        close(liaison, second, n=165, response="Pihlajamäki cleared")
    outcome = {"answer": "answered", "decline": "declined", "withdraw": "withdrawn"}[first]
    assert error.value.message == f"PR-S4-02 {outcome} 2025-11-17T09:35+02:00; use a log entry or a new request"
    assert read(liaison).requests["PR-S4-02"].response == "5/6 swept"


def test_a_request_cannot_be_closed_before_it_was_raised():
    liaison = liaison_for_crisis()
    raise_request(liaison, n=20)
    saved(liaison)
    with refused(liaison, Rule.BEFORE_CRISIS_START):
        close(liaison, "answer", n=10, now=minutes(21))


def test_closing_an_unknown_request_is_not_found():
    liaison = liaison_for_crisis()
    with refused(liaison, Rule.NOT_FOUND):
        close(liaison, "answer", "PR-NOPE")


def test_a_request_time_obeys_the_time_rules():
    liaison = liaison_for_crisis()
    with refused(liaison, Rule.FUTURE_TIMESTAMP):
        raise_request(liaison, n=30, now=minutes(20))
    with refused(liaison, Rule.LATE_ENTRY_REASON_REQUIRED):
        raise_request(liaison, n=30, now=minutes(50))


# --- information shared -------------------------------------------------------------------------------


def test_information_shared_with_the_police_records_what_to_whom_and_when():
    liaison = liaison_for_crisis()
    secret = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")
    liaison.share_information(
        what="floor plans of 6 schools", to_whom="HPD duty commander", classification=secret, **when(25)
    )
    [shared] = read(liaison).information_shared
    assert (shared.what, shared.to_whom, shared.shared_at, shared.actor) == (
        "floor plans of 6 schools", "HPD duty commander", minutes(25), "PC"
    )
    assert shared.classification.label() == "[SECRET JulkL 24.1 § 7 k]"


def test_information_shared_names_what_and_to_whom():
    liaison = liaison_for_crisis()
    with refused(liaison, Rule.INVALID_INPUT):
        liaison.share_information(what="floor plans", to_whom=" ", **when(25))
