"""The words every aggregate shares: given times, classification, the unit registry and the scales."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.shared import (
    DEFAULT_UNITS,
    PUBLIC,
    Classification,
    DomainError,
    Policy,
    Rule,
    TimeRules,
    check_due_time,
    check_entry_time,
    check_window,
    clock_time,
    display,
    format_duration,
    parse_instant,
    required_text,
)

RULES = TimeRules()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def refused_with(rule: Rule, call, *args, **kwargs) -> DomainError:  # noqa: ANN001
    with pytest.raises(DomainError) as refused:
        call(*args, **kwargs)
    assert refused.value.rule is rule
    return refused.value


# --- given times --------------------------------------------------------------------------------------


def test_a_time_with_an_offset_is_taken_as_that_instant():
    """Given a time with its offset, when parsed, then it is that instant, whichever offset was used."""
    assert parse_instant("2025-10-26T03:40+03:00") == at("2025-10-26T00:40Z")
    assert parse_instant("2025-10-26T00:40Z") == at("2025-10-26T03:40+03:00")


def test_a_local_time_that_occurs_twice_at_the_autumn_clock_change_is_ambiguous():
    """Given 03:30 on 2025-10-26 without an offset (clocks go back at 04:00+03:00), then it is AMBIGUOUS_TIME."""
    refused = refused_with(Rule.AMBIGUOUS_TIME, parse_instant, "2025-10-26T03:30", "occurredAt")
    assert refused.message == "03:30 occurs twice in Europe/Helsinki on 2025-10-26; give an offset"
    assert refused.details == {"field": "occurredAt"}


def test_the_two_readings_of_0330_on_the_night_of_the_clock_change_are_an_hour_apart():
    """Given both offsets of 03:30 that night, then they are different instants, one hour apart."""
    summer, winter = parse_instant("2025-10-26T03:30+03:00"), parse_instant("2025-10-26T03:30+02:00")
    assert winter - summer == timedelta(hours=1)


def test_any_local_time_without_an_offset_is_refused_with_the_offset_that_would_apply():
    """Given an everyday local time without an offset, then AMBIGUOUS_TIME names the offset to give."""
    summer = refused_with(Rule.AMBIGUOUS_TIME, parse_instant, "2025-10-25T21:40", "occurredAt")
    winter = refused_with(Rule.AMBIGUOUS_TIME, parse_instant, "2025-11-17T07:00", "occurredAt")
    assert summer.message == "occurredAt 2025-10-25T21:40 has no UTC offset; give one, e.g. 2025-10-25T21:40+03:00"
    assert winter.message.endswith("e.g. 2025-11-17T07:00+02:00")


def test_a_local_time_skipped_by_the_spring_clock_change_is_refused_as_not_occurring():
    """Given 03:30 on 2026-03-29 (clocks jump from 03:00 to 04:00), then AMBIGUOUS_TIME says it never occurs."""
    refused = refused_with(Rule.AMBIGUOUS_TIME, parse_instant, "2026-03-29T03:30")
    assert "does not occur" in refused.message
    assert "twice" not in refused.message


def test_a_time_that_is_not_iso_8601_is_invalid_input():
    refused = refused_with(Rule.INVALID_INPUT, parse_instant, "half past ten", "dueAt")
    assert "dueAt 'half past ten' is not an ISO-8601 time" in refused.message


def test_times_are_displayed_on_the_helsinki_clock_with_the_offset_that_applied():
    """Given instants either side of the clock change, then each shows the Helsinki reading and its offset."""
    assert display(at("2025-10-26T00:40Z")) == "2025-10-26T03:40+03:00"
    assert display(at("2025-10-26T01:20Z")) == "2025-10-26T03:20+02:00"
    assert display(at("2025-10-26T01:20:05Z"), seconds=True) == "2025-10-26T03:20:05+02:00"
    assert display(None) is None
    assert clock_time(at("2025-10-25T20:20Z")) == "23:20"


def test_a_time_past_the_end_of_the_calendar_in_helsinki_is_shown_as_it_was_given():
    # Stored before the windows held: the record holding it can still be read
    assert display(at("9999-12-31T23:59:59-12:00"), seconds=True) == "9999-12-31T23:59:59-12:00"
    assert clock_time(at("0001-01-01T00:00+05:00")) == "00:00"


def test_order_is_by_instant_not_by_the_local_clock_reading():
    """Given a log entry at 03:40+03:00 and a sitrep at 03:20+02:00, then the sitrep came later."""
    log_entry, sitrep = parse_instant("2025-10-26T03:40+03:00"), parse_instant("2025-10-26T03:20+02:00")
    assert sorted([sitrep, log_entry]) == [log_entry, sitrep]
    assert display(sitrep) < display(log_entry)  # the local reading alone would put them the wrong way round


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(hours=2, minutes=20), "2 h 20 min"),
        (timedelta(hours=6), "6 h"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(seconds=30), "30 s"),
        (-timedelta(minutes=5), "5 min"),
    ],
)
def test_durations_are_said_in_hours_and_minutes(span, words):
    assert format_duration(span) == words


# --- the rules every given time obeys -----------------------------------------------------------------

NOW = at("2026-02-10T12:40+02:00")


def test_a_time_up_to_120_seconds_after_the_server_clock_is_accepted():
    check_entry_time(NOW + timedelta(seconds=120), NOW, RULES, late_entry_reason=None)


def test_a_time_more_than_120_seconds_after_the_server_clock_is_a_future_timestamp():
    ahead = NOW + timedelta(seconds=121)
    refused_with(Rule.FUTURE_TIMESTAMP, check_entry_time, ahead, NOW, RULES, late_entry_reason=None)


def test_the_future_timestamp_answer_says_how_far_ahead_the_time_is():
    """Given the server clock at 12:40 and occurredAt 15:00 the same day, then it is 2 h 20 min ahead."""
    refused = refused_with(
        Rule.FUTURE_TIMESTAMP, check_entry_time, at("2026-02-10T15:00+02:00"), NOW, RULES, late_entry_reason=None
    )
    assert refused.message.startswith("occurredAt is 2 h 20 min after server time")


def test_an_entry_recorded_up_to_15_minutes_after_it_happened_needs_no_reason():
    check_entry_time(NOW - timedelta(minutes=15), NOW, RULES, late_entry_reason=None)


def test_an_entry_recorded_more_than_15_minutes_late_needs_a_late_entry_reason():
    refused = refused_with(
        Rule.LATE_ENTRY_REASON_REQUIRED,
        check_entry_time,
        NOW - timedelta(minutes=15, seconds=1),
        NOW,
        RULES,
        late_entry_reason="   ",
    )
    assert "give a late-entry reason (required after 15 min)" in refused.message


def test_a_late_entry_with_its_reason_is_accepted():
    check_entry_time(NOW - timedelta(hours=3), NOW, RULES, late_entry_reason="phone call logged late")


def test_nothing_can_have_happened_before_the_crisis_was_declared():
    """Given C-S4 declared at 07:00, when an entry says it happened at 06:40, then BEFORE_CRISIS_START."""
    refused = refused_with(
        Rule.BEFORE_CRISIS_START,
        check_entry_time,
        at("2025-11-17T06:40+02:00"),
        at("2025-11-17T07:08+02:00"),
        RULES,
        late_entry_reason="phone call logged late",
        not_before=at("2025-11-17T07:00+02:00"),
        not_before_label="C-S4 was declared",
    )
    assert refused.message == "occurredAt 06:40 is before C-S4 was declared at 07:00"


@pytest.mark.parametrize(
    "given", ["0001-01-01T00:00+05:00", "9999-12-31T23:59:59-12:00", "2010-01-01T00:00+02:00", "1900-01-01T00:00Z"]
)
def test_a_given_time_more_than_ten_years_from_the_server_clock_is_out_of_range(given):
    # Even with a late-entry reason: a decade back is a typo, and year 9999 cannot even be shown in Helsinki
    error = refused_with(Rule.OUT_OF_RANGE, check_entry_time, at(given), NOW, RULES, late_entry_reason="typed late")
    assert error.details == {"field": "occurred_at"} and "10 years" in error.message


def test_a_given_time_nine_years_back_with_its_reason_is_accepted():
    check_entry_time(NOW - timedelta(days=9 * 366), NOW, RULES, late_entry_reason="backfilled from paper records")


@pytest.mark.parametrize(("span", "inside"), [(timedelta(days=3660), True), (timedelta(days=3661), False)])
def test_due_times_lie_within_ten_years_of_the_server_clock_either_way(span, inside):
    for due in (NOW + span, NOW - span):
        if inside:
            check_due_time(due, NOW, RULES, "due_at")
        else:
            assert refused_with(Rule.OUT_OF_RANGE, check_due_time, due, NOW, RULES, "due_at").details == {
                "field": "due_at"
            }


def test_a_time_asked_about_may_lie_a_century_either_way():
    check_window(at("1950-01-01T00:00+02:00"), NOW, RULES.query_window, "as_of")
    refused_with(Rule.OUT_OF_RANGE, check_window, at("0001-01-01T00:00+05:00"), NOW, RULES.query_window, "as_of")


def test_the_skew_and_the_late_entry_threshold_are_configurable():
    """Given a 60 s skew and a 5 min threshold, then 90 s ahead and 6 min late are both refused."""
    strict = TimeRules(max_clock_skew=timedelta(seconds=60), late_entry_after=timedelta(minutes=5))
    ahead, late = NOW + timedelta(seconds=90), NOW - timedelta(minutes=6)
    refused_with(Rule.FUTURE_TIMESTAMP, check_entry_time, ahead, NOW, strict, late_entry_reason=None)
    refused_with(Rule.LATE_ENTRY_REASON_REQUIRED, check_entry_time, late, NOW, strict, late_entry_reason=None)


# --- classification -----------------------------------------------------------------------------------


def test_records_are_public_by_default_and_public_records_carry_no_label():
    assert Classification.of() == PUBLIC
    assert PUBLIC.is_public
    assert PUBLIC.label() == ""


def test_a_secret_record_is_shown_to_uncleared_readers_by_its_legal_basis():
    secret = Classification.of("secret", legal_basis=" JulkL 24.1 § 7 k ")
    assert not secret.is_public
    assert secret.label() == "[SECRET JulkL 24.1 § 7 k]"


def test_a_secret_record_needs_its_legal_basis():
    refused_with(Rule.LEGAL_BASIS_REQUIRED, Classification.of, "SECRET")


def test_a_record_received_from_the_police_keeps_its_marking_and_shows_a_short_label():
    """Given an answer marked "TL IV KÄYTTÖ RAJOITETTU" by the Helsinki Police Department, then its label is short."""
    received = Classification.of("RECEIVED", marking="TL IV KÄYTTÖ RAJOITETTU", originator="Helsinki Police Department")
    assert received.marking == "TL IV KÄYTTÖ RAJOITETTU"
    assert received.label(DEFAULT_UNITS.short_names) == "[RECEIVED TL IV, originator HPD]"
    assert received.label() == "[RECEIVED TL IV, originator Helsinki Police Department]"


def test_a_received_record_needs_its_marking_and_originator():
    refused_with(Rule.INVALID_INPUT, Classification.of, "RECEIVED", marking="TL IV")
    refused_with(Rule.INVALID_INPUT, Classification.of, "RECEIVED", originator="Helsinki Police Department")


@pytest.mark.parametrize(
    "attempt",
    [
        {"level": "TL III", "marking": "LUOTTAMUKSELLINEN"},
        {"level": "PUBLIC", "marking": "TL IV"},
        {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k", "marking": "TL III"},
        {"level": "RECEIVED", "marking": "TL IV", "originator": "Helsingin kaupunki"},
    ],
)
def test_a_city_originated_record_cannot_carry_a_tl_class(attempt):
    refused = refused_with(Rule.CLASSIFICATION_NOT_ALLOWED, Classification.of, **attempt)
    assert refused.message == "city-originated records cannot carry a TL class; use SECRET with a JulkL 24 § basis"


def test_an_unknown_classification_level_is_invalid_input():
    refused_with(Rule.INVALID_INPUT, Classification.of, "CONFIDENTIAL")


# --- units --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit", ["KANSLIA", "KASKO", "KYMP", "KUVA", "SOTEPE", "STARA", "PALVELUKESKUS", "TALPA", "TYOTERVEYS"]
)
def test_the_seeded_city_units_are_known(unit):
    assert DEFAULT_UNITS.check_unit(unit) == unit


def test_hkl_is_no_longer_a_city_unit_and_the_answer_says_where_trams_went():
    refused = refused_with(Rule.UNKNOWN_UNIT, DEFAULT_UNITS.check_unit, "HKL")
    assert refused.message == (
        "HKL is not a city unit: tram operations moved to Kaupunkiliikenne Oy on 1.2.2022; "
        "record an external-partner request instead"
    )


@pytest.mark.parametrize("partner", ["HPD", "HSY", "HELEN", "KAUPUNKILIIKENNE", "FINGRID", "NCSC-FI"])
def test_an_external_partner_is_not_a_city_unit(partner):
    refused = refused_with(Rule.UNKNOWN_UNIT, DEFAULT_UNITS.check_unit, partner)
    assert "is an external partner, not a city unit" in refused.message


def test_an_unknown_unit_is_refused_with_the_list_of_units():
    refused = refused_with(Rule.UNKNOWN_UNIT, DEFAULT_UNITS.check_unit, "KAUPUNKI")
    assert refused.message.startswith("KAUPUNKI is not a city unit; units are KANSLIA, KASKO, KUVA")


# --- scales -------------------------------------------------------------------------------------------


def test_severity_runs_from_1_to_4():
    policy = Policy()
    assert [policy.check_severity(s) for s in (1, 2, 3, 4)] == [1, 2, 3, 4]
    assert refused_with(Rule.INVALID_SEVERITY, policy.check_severity, 5).message == "severity 5 is not on the scale 1–4"
    refused_with(Rule.INVALID_SEVERITY, policy.check_severity, 0)


def test_the_severity_scale_is_configurable():
    assert Policy(severities=(1, 2, 3, 4, 5)).check_severity(5) == 5


def test_readiness_is_on_the_ladder_basic_enhanced_command_emergency():
    policy = Policy()
    assert policy.readiness_ladder == ("BASIC", "ENHANCED", "COMMAND", "EMERGENCY")
    assert policy.check_readiness("COMMAND") == "COMMAND"
    refused_with(Rule.INVALID_READINESS, policy.check_readiness, "RED")


def test_required_text_is_trimmed_and_must_not_be_blank():
    assert required_text("  Storm  ", "the title") == "Storm"
    assert refused_with(Rule.INVALID_INPUT, required_text, " ", "the title").message == "the title must not be empty"
    refused_with(Rule.INVALID_INPUT, required_text, None, "the title")
