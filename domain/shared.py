"""The words every aggregate shares: rule codes and domain errors, time, classification, units, scales.

Pure standard library. Values marked *configurable* in DOMAIN.md are plain data here with the defaults
from DOMAIN.md; the application is given the configured values (see `Policy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from domain.districts import DistrictRegistry

HELSINKI = ZoneInfo("Europe/Helsinki")


class Rule(StrEnum):
    """Every reason a command can be refused. The code is what a client sees in a problem detail."""

    # DOMAIN.md
    UNKNOWN_UNIT = "UNKNOWN_UNIT"
    OPEN_ITEMS = "OPEN_ITEMS"
    PLAN_STILL_ACTIVE = "PLAN_STILL_ACTIVE"
    CRISIS_NOT_CLOSED = "CRISIS_NOT_CLOSED"
    INVALID_DUE_TIME = "INVALID_DUE_TIME"
    DUPLICATE_SEQUENCE = "DUPLICATE_SEQUENCE"
    IMMUTABLE_RECORD = "IMMUTABLE_RECORD"
    WRONG_CRISIS = "WRONG_CRISIS"
    NO_EMERGENCY_CONDITIONS = "NO_EMERGENCY_CONDITIONS"
    ALREADY_ANSWERED = "ALREADY_ANSWERED"
    AMBIGUOUS_TIME = "AMBIGUOUS_TIME"
    FUTURE_TIMESTAMP = "FUTURE_TIMESTAMP"
    LATE_ENTRY_REASON_REQUIRED = "LATE_ENTRY_REASON_REQUIRED"
    BEFORE_CRISIS_START = "BEFORE_CRISIS_START"
    CLASSIFICATION_NOT_ALLOWED = "CLASSIFICATION_NOT_ALLOWED"
    CONFLICT_VERSION = "CONFLICT_VERSION"
    FORBIDDEN_ROLE = "FORBIDDEN_ROLE"
    # Rules DOMAIN.md states without naming a code.
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CRISIS_CLOSED = "CRISIS_CLOSED"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    NOT_FOUND = "NOT_FOUND"
    INVALID_SEVERITY = "INVALID_SEVERITY"
    INVALID_READINESS = "INVALID_READINESS"
    INVALID_RTO = "INVALID_RTO"
    TOO_FEW_OPTIONS = "TOO_FEW_OPTIONS"
    LEGAL_BASIS_REQUIRED = "LEGAL_BASIS_REQUIRED"
    PLAN_NOT_APPROVED = "PLAN_NOT_APPROVED"
    PLAN_NOT_ACTIVE = "PLAN_NOT_ACTIVE"
    ACTION_NOT_OPEN = "ACTION_NOT_OPEN"
    # Rules of the service rather than of the domain.
    INVALID_INPUT = "INVALID_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    TOO_MANY_FAILED_AUTHENTICATIONS = "TOO_MANY_FAILED_AUTHENTICATIONS"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    NOT_READY = "NOT_READY"  # /health/ready to an anonymous caller, whatever is wrong
    READ_MODEL_BEHIND = "READ_MODEL_BEHIND"
    STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
    IDENTITY_PROVIDER_UNAVAILABLE = "IDENTITY_PROVIDER_UNAVAILABLE"  # the OpenID provider is out of reach
    INTERNAL_ERROR = "INTERNAL_ERROR"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    POSITION_HELD = "POSITION_HELD"
    NOT_POSITION_HOLDER = "NOT_POSITION_HOLDER"
    STALE_BRIEF = "STALE_BRIEF"
    BRIEF_MISMATCH = "BRIEF_MISMATCH"
    TEXT_CHANGED = "TEXT_CHANGED"
    HANDOVER_REQUIRED = "HANDOVER_REQUIRED"
    CLEARANCE_REQUIRED = "CLEARANCE_REQUIRED"
    NOT_IN_AN_EXERCISE = "NOT_IN_AN_EXERCISE"  # a real record (a unit's readiness) does not change for an exercise  # a change whose outcome would tell classified content to the uncleared  # a position is left with a brief, and taken by accepting it  # a warning's approver named the digest of a text since revised
    # Structured situation reports (domain/situation_report.py).
    METHANE_REQUIRED = "METHANE_REQUIRED"  # the first report is in the METHANE form, with all seven sections
    SECTION_NOT_YOURS = "SECTION_NOT_YOURS"  # a division contact contributes for their own unit only
    REPORT_NOT_DRAFTED = "REPORT_NOT_DRAFTED"  # the crisis has no report draft to contribute to or issue
    REPORT_INCOMPLETE = "REPORT_INCOMPLETE"  # a standard report is issued with its situation section
    UNKNOWN_AREA = "UNKNOWN_AREA"  # an affected area that is no district of the registry, or not one of the crisis's
    AREA_ALREADY_AFFECTED = "AREA_ALREADY_AFFECTED"  # an area added to a crisis that already names it
    INVALID_CAP = "INVALID_CAP"  # a document offered as a CAP 1.2 alert that is not one (interfaces/cap)
    # Public warnings (domain/public_warning.py).
    FOUR_EYES = "FOUR_EYES"  # the approver of a warning's message wrote its text
    TEXT_REQUIRED = "TEXT_REQUIRED"  # a warning's Finnish or Swedish headline or description is missing
    NOT_PUBLIC = "NOT_PUBLIC"  # a warning's crisis, or a decision it is based on, is not PUBLIC
    WARNING_NOT_APPROVED = "WARNING_NOT_APPROVED"  # a warning's message issued before a second person approved it
    # Reminders (domain/reminder.py).
    ALREADY_ACKNOWLEDGED = "ALREADY_ACKNOWLEDGED"  # a reminder acknowledged already: no second acknowledgement, no notices
    NOT_A_RECIPIENT = "NOT_A_RECIPIENT"  # only a reminder's recipients (its unit's contact, duty officers, the manager) acknowledge it
    REMINDER_SETTLED = "REMINDER_SETTLED"  # the deadline was met or went away: the reminder takes no more steps
    NOTICE_RECORDED = "NOTICE_RECORDED"  # that step of the ladder is recorded already (by another sender)
    DELIVERY_RECORDED = "DELIVERY_RECORDED"  # that delivery's result is recorded already


class DomainError(Exception):
    """A command refused by a rule. `message` is a sentence a duty officer understands: the English `template`
    with its `params` filled in (`"{unit} is not a city unit", {"unit": code}`), so that the interfaces can say
    it in another language. `details` are further members of the problem detail answered."""

    def __init__(self, rule: Rule, template: str, params: dict[str, object] | None = None, /, **details: object) -> None:
        self.rule = rule
        self.template = template
        self.params = params or {}
        self.message = template.format_map(self.params) if self.params else template
        super().__init__(self.message)
        self.details = details

    def __repr__(self) -> str:
        return f"DomainError({self.rule}, {self.message!r})"


class Words(str):
    """Words of ours inside a message (a role's name, what was refused, a record's label): in English as a str,
    and said in the reader's language by the interfaces, from `template` and `params` (interfaces/locale)."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, params: dict[str, object] | None = None) -> Words:
        words = super().__new__(cls, template.format_map(params) if params else template)
        words.template, words.params = template, params or {}
        return words


def N_(template: str, /, **params: object) -> Words:
    """Marks an English message of ours for the catalogs (interfaces/locale), with its parameters if any."""
    return Words(template, params)


def joined(words: list[str], separator: str = "; ") -> Words:
    """`words` one after the other, each said in the reader's language (the joint itself is no message)."""
    return Words(separator.join(f"{{_{number}}}" for number in range(len(words))),
                 {f"_{number}": said for number, said in enumerate(words)})


# How a record's outcome reads inside a sentence ("action A-1 completed by DO-1"): its code, lowercased.
OUTCOMES = {
    "COMPLETED": N_("completed"), "CANCELLED": N_("cancelled"), "ANSWERED": N_("answered"),
    "DECLINED": N_("declined"), "WITHDRAWN": N_("withdrawn"), "CLOSED": N_("closed"),
    "DONE": N_("done"), "DROPPED": N_("dropped"),
}


def outcome_words(code: str) -> Words:
    """An outcome (COMPLETED, ANSWERED, …) as words of a sentence, said in the reader's language."""
    return OUTCOMES.get(code) or Words(code.lower())


# --- time -----------------------------------------------------------------------------------------


YEAR = timedelta(days=366)


@dataclass(frozen=True)
class TimeRules:
    """*configurable*: how far ahead of the server clock a given time may be, and when an entry is late.

    The windows say how far from the server clock a given time may lie at all (OUT_OF_RANGE beyond them):
    an occurred time a decade back is a mistake, a due time centuries ahead too, and either could not be
    shown or computed with (year 9999 in Helsinki time is past the last representable moment)."""

    max_clock_skew: timedelta = timedelta(seconds=120)
    late_entry_after: timedelta = timedelta(minutes=15)
    entry_window: timedelta = 10 * YEAR  # occurred times: at most ten years before the server clock
    due_window: timedelta = 10 * YEAR  # due and review times: at most ten years before or after it
    query_window: timedelta = 100 * YEAR  # times asked about (as_of, since, until): a century either way


def parse_instant(text: str, field_name: str = "time") -> datetime:
    """An ISO-8601 time with an explicit UTC offset. A local time without one is AMBIGUOUS_TIME."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise DomainError(
            Rule.INVALID_INPUT,
            "{field_name} {text!r} is not an ISO-8601 time such as 2025-10-26T03:30+03:00", {"field_name": field_name, "text": text},
            field=field_name,
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        first = value.replace(tzinfo=HELSINKI, fold=0)
        second = value.replace(tzinfo=HELSINKI, fold=1)
        said = {"clock": value.strftime("%H:%M"), "date": value.date().isoformat(), "field_name": field_name, "text": text}
        if in_helsinki(first.astimezone(timezone.utc)).replace(tzinfo=None) != value:
            # The spring change skips this reading (03:00 jumps to 04:00): it never occurs.
            template = N_("{clock} does not occur in Europe/Helsinki on {date}; give an offset")
        elif first.utcoffset() != second.utcoffset():
            template = N_("{clock} occurs twice in Europe/Helsinki on {date}; give an offset")
        else:
            template = N_("{field_name} {text} has no UTC offset; give one, e.g. {example}")
            said["example"] = f"{value.strftime('%Y-%m-%dT%H:%M')}{format_offset(first)}"
        raise DomainError(Rule.AMBIGUOUS_TIME, template, said, field=field_name)
    return value


def format_offset(moment: datetime) -> str:
    return moment.strftime("%z")[:3] + ":" + moment.strftime("%z")[3:]


def in_helsinki(moment: datetime) -> datetime:
    """The moment on the Helsinki clock; one past the calendar's end there (a year-9999 time stored before the
    windows held) stays in the offset it was given in, so that a record holding it can still be shown."""
    try:
        return moment.astimezone(HELSINKI)
    except OverflowError:
        return moment


def display(moment: datetime | None, *, seconds: bool = False) -> str | None:
    """Europe/Helsinki wall time with its offset, e.g. 2025-10-26T03:20+02:00."""
    if moment is None:
        return None
    local = in_helsinki(moment)
    return local.isoformat(timespec="seconds" if seconds else "minutes")


def clock_time(moment: datetime) -> str:
    """The Helsinki clock reading, e.g. 23:20, for sentences."""
    return in_helsinki(moment).strftime("%H:%M")


def format_duration(span: timedelta) -> str:
    """2 h 20 min, 45 min, 30 s."""
    total = int(abs(span).total_seconds())
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def check_window(moment: datetime, now: datetime, window: timedelta, field_name: str) -> datetime:
    """A given time lies within `window` of the server clock, either way (OUT_OF_RANGE)."""
    if abs(moment - now) > window:
        raise DomainError(
            Rule.OUT_OF_RANGE,
            "{field_name} {moment} is more than {years} years from the server clock "
            "({now})", {"field_name": field_name, "moment": moment.isoformat(), "years": window.days // 366, "now": display(now)},
            field=field_name,
        )
    return moment


def check_due_time(due: datetime | None, now: datetime, rules: TimeRules, field_name: str) -> None:
    """A due or review time: within the due window of the server clock."""
    if due is not None:
        check_window(due, now, rules.due_window, field_name)


def check_assigned_due(
    due_at: datetime | None, occurred_at: datetime, now: datetime, rules: TimeRules, missing: Words
) -> datetime:
    """The due time of what is assigned to a unit (an action, an improvement item): given (`missing` says what
    lacks one), within the due window, after the assignment (INVALID_DUE_TIME)."""
    if due_at is None:
        raise DomainError(Rule.INVALID_DUE_TIME, missing.template, missing.params)
    check_due_time(due_at, now, rules, "due_at")
    if due_at <= occurred_at:
        raise DomainError(
            Rule.INVALID_DUE_TIME,
            "due time {due_at} must be after the time of assignment {occurred_at}", {"due_at": display(due_at), "occurred_at": display(occurred_at)},
        )
    return due_at


def check_entry_time(
    occurred_at: datetime,
    now: datetime,
    rules: TimeRules,
    *,
    late_entry_reason: str | None,
    not_before: datetime | None = None,
    not_before_label: str = "",
    field_name: str = "occurred_at",
) -> None:
    """The rules every given time obeys: within the entry window, not in the future, not before the crisis,
    late ones explained."""
    check_window(occurred_at, now, rules.entry_window, field_name)
    if occurred_at - now > rules.max_clock_skew:
        raise DomainError(
            Rule.FUTURE_TIMESTAMP,
            "occurredAt is {ahead} after server time "
            "({occurred_at} given, server clock {now})", {"ahead": format_duration(occurred_at - now), "occurred_at": display(occurred_at), "now": display(now)},
        )
    if not_before is not None and occurred_at < not_before:
        raise DomainError(
            Rule.BEFORE_CRISIS_START,
            "occurredAt {occurred_at} is before {not_before_label} at {not_before}", {"occurred_at": clock_time(occurred_at), "not_before_label": not_before_label, "not_before": clock_time(not_before)},
        )
    if now - occurred_at > rules.late_entry_after and not (late_entry_reason or "").strip():
        raise DomainError(
            Rule.LATE_ENTRY_REASON_REQUIRED,
            "this entry is recorded {late_by} after it happened; "
            "give a late-entry reason (required after {required_after})", {"late_by": format_duration(now - occurred_at), "required_after": format_duration(rules.late_entry_after)},
        )


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- classification -------------------------------------------------------------------------------

CITY_ORIGINATORS = frozenset({"", "city", "city of helsinki", "helsingin kaupunki", "helsinki"})
_TL_CLASS = re.compile(r"\bTL\s*(IV|III|II|I)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Classification:
    """Finnish Act on the Openness of Government Activities: PUBLIC, SECRET (legal basis) or RECEIVED."""

    level: str = "PUBLIC"
    legal_basis: str | None = None
    marking: str | None = None
    originator: str | None = None

    @classmethod
    def of(
        cls,
        level: str = "PUBLIC",
        legal_basis: str | None = None,
        marking: str | None = None,
        originator: str | None = None,
    ) -> Classification:
        level = (level or "PUBLIC").strip().upper()
        if level.startswith("TL") or (level in {"PUBLIC", "SECRET"} and marking):
            raise DomainError(
                Rule.CLASSIFICATION_NOT_ALLOWED,
                "city-originated records cannot carry a TL class; use SECRET with a JulkL 24 § basis",
            )
        if level == "PUBLIC":
            return cls()
        if level == "SECRET":
            if not (legal_basis or "").strip():
                raise DomainError(
                    Rule.LEGAL_BASIS_REQUIRED, "a SECRET record needs its legal basis, e.g. \"JulkL 24.1 § 7 k\""
                )
            return cls("SECRET", legal_basis=legal_basis.strip())
        if level == "RECEIVED":
            if not (marking or "").strip() or not (originator or "").strip():
                raise DomainError(
                    Rule.INVALID_INPUT,
                    "a RECEIVED record needs the marking it came with (e.g. \"TL IV\") and its originator",
                )
            if originator.strip().lower() in CITY_ORIGINATORS:
                raise DomainError(
                    Rule.CLASSIFICATION_NOT_ALLOWED,
                    "city-originated records cannot carry a TL class; use SECRET with a JulkL 24 § basis",
                )
            return cls("RECEIVED", legal_basis=legal_basis, marking=marking.strip(), originator=originator.strip())
        raise DomainError(Rule.INVALID_INPUT, "classification {level!r} is not PUBLIC, SECRET or RECEIVED", {"level": level})

    @property
    def is_public(self) -> bool:
        return self.level == "PUBLIC"

    def label(self, short_names: dict[str, str] | None = None) -> str:
        """What an uncleared reader sees instead of the content."""
        if self.level == "SECRET":
            return f"[SECRET {self.legal_basis}]"
        if self.level == "RECEIVED":
            found = _TL_CLASS.search(self.marking or "")
            marking = f"TL {found.group(1).upper()}" if found else self.marking
            originator = (short_names or {}).get(self.originator or "", self.originator)
            return f"[RECEIVED {marking}, originator {originator}]"
        return ""

    def as_dict(self) -> dict[str, str | None]:
        return {
            "level": self.level,
            "legal_basis": self.legal_basis,
            "marking": self.marking,
            "originator": self.originator,
        }


PUBLIC = Classification()


# --- units ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRegistry:
    """*configurable*: the city units (one DivisionPreparedness each), external partners, retired names."""

    units: dict[str, str]
    partners: dict[str, str]
    retired: dict[str, str] = field(default_factory=dict)
    short_names: dict[str, str] = field(default_factory=dict)

    def check_unit(self, code: str) -> str:
        if code in self.units:
            return code
        if code in self.retired:
            raise DomainError(Rule.UNKNOWN_UNIT, "{code} is not a city unit: {reason}", {"code": code, "reason": self.retired[code]})
        if code in self.partners:
            raise DomainError(
                Rule.UNKNOWN_UNIT,
                "{code} ({partner}) is an external partner, not a city unit: "
                "record a request or a log entry instead", {"code": code, "partner": self.partners[code]},
            )
        raise DomainError(
            Rule.UNKNOWN_UNIT, "{code} is not a city unit; units are {units}", {"code": code, "units": ', '.join(sorted(self.units))}
        )


DEFAULT_UNITS = UnitRegistry(
    units={
        "KANSLIA": "City Executive Office",
        "KASKO": "Education Division",
        "KYMP": "Urban Environment Division",
        "KUVA": "Culture and Leisure Division",
        "SOTEPE": "Social Services, Health Care and Rescue Services Division",
        "STARA": "Stara (city enterprise)",
        "PALVELUKESKUS": "Palvelukeskus Helsinki (city enterprise)",
        "TALPA": "Talpa (city enterprise)",
        "TYOTERVEYS": "Työterveys Helsinki (city enterprise)",
    },
    partners={
        "HPD": "Helsinki Police Department",
        "HSY": "Helsinki Region Environmental Services",
        "HELEN": "Helen",
        "KAUPUNKILIIKENNE": "Kaupunkiliikenne Oy",
        "FINGRID": "Fingrid",
        "NCSC-FI": "National Cyber Security Centre Finland",
        "TIETOSUOJAVALTUUTETTU": "Data Protection Ombudsman",
    },
    retired={
        "HKL": "tram operations moved to Kaupunkiliikenne Oy on 1.2.2022; record an external-partner request instead",
    },
    short_names={"Helsinki Police Department": "HPD"},
)


# --- scales ---------------------------------------------------------------------------------------


DEFAULT_SITREP_RHYTHM = (
    (2, timedelta(hours=12)), (3, timedelta(hours=4)), (4, timedelta(hours=2)),
)  # *configurable* (VALMIUS_SITREP_RHYTHM); a minor crisis (1) has no fixed rhythm


@dataclass(frozen=True)
class Policy:
    """Everything DOMAIN.md marks *configurable*, in one value the application is built with."""

    units: UnitRegistry = DEFAULT_UNITS
    time: TimeRules = TimeRules()
    severities: tuple[int, ...] = (1, 2, 3, 4)
    readiness_ladder: tuple[str, ...] = ("BASIC", "ENHANCED", "COMMAND", "EMERGENCY")
    police_answer_threshold: timedelta = timedelta(minutes=30)
    # The reporting rhythm: a crisis of a severity listed here is due a situation report within this time of its
    # last report (or of its declaration); overdue is derived when read.
    sitrep_rhythm: tuple[tuple[int, timedelta], ...] = DEFAULT_SITREP_RHYTHM

    def rhythm(self, severity: int) -> timedelta | None:
        """How soon after the last report a crisis of `severity` is due the next, None if it has no rhythm."""
        return dict(self.sitrep_rhythm).get(severity)
    districts: DistrictRegistry = field(default_factory=lambda: _default_districts())
    cap_sender: str = "valmius@localhost"  # the sender of our CAP messages (VALMIUS_CAP_SENDER)

    def check_severity(self, severity: int) -> int:
        if severity not in self.severities:
            raise DomainError(
                Rule.INVALID_SEVERITY,
                "severity {severity} is not on the scale {lowest}–{highest}", {"severity": severity, "lowest": self.severities[0], "highest": self.severities[-1]},
            )
        return severity

    def check_readiness(self, level: str) -> str:
        if level not in self.readiness_ladder:
            raise DomainError(
                Rule.INVALID_READINESS, "readiness {level!r} is not one of {readiness_ladder}", {"level": level, "readiness_ladder": ', '.join(self.readiness_ladder)}
            )
        return level


def _default_districts() -> DistrictRegistry:
    """The repository's district registry (domain.districts imports this module, hence the late import)."""
    from domain.districts import default_districts

    return default_districts()


CONDITIONS = ("NORMAL_DISRUPTION", "EMERGENCY_CONDITIONS")
CATEGORIES = (
    "SEVERE_WEATHER",
    "CYBER_INCIDENT",
    "UTILITY_WATER",
    "ENERGY_SUPPLY",
    "THREAT_VIOLENCE",
    "PUBLIC_HEALTH",
    "MASS_EVENT",
    "OTHER",
)


# --- ids -------------------------------------------------------------------------------------------

ID_LENGTH = 64
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # no `/`, no spaces, no control characters: always addressable
_ID = re.compile(ID_PATTERN)


def is_id(text: object) -> bool:
    """Whether `text` has the shape of a record id (as every id the service accepts has)."""
    return isinstance(text, str) and len(text) <= ID_LENGTH and _ID.match(text) is not None


def required_text(value: str | None, what: str) -> str:
    if not (value or "").strip():
        raise DomainError(Rule.INVALID_INPUT, "{what} must not be empty", {"what": what})
    return value.strip()
