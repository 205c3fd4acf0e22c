"""Finnish, Swedish and English: the catalogs, the language a request asks for, and the names of the codes.

English is the source language: a message's English text is its msgid. The catalogs are gettext files,
`interfaces/locale/{fi,sv}/LC_MESSAGES/messages.po`, read with babel when the service starts. The messages are
found in the code, never listed by hand (`extract`): the templates of `DomainError`, `problem`, `_refused` and `_unavailable`,
anything marked `N_(…)`, and the dashboard's `t("…")` calls and `data-i18n` texts. After changing a message,
`python -m interfaces.http.i18n` writes the template (`messages.pot`) and merges it into each catalog; the new
entries then wait for their translations (tests/interfaces/test_i18n.py fails until each has one).

A refusal's detail is its template, translated, with its parameters (ids, times, limits) filled in; a parameter
that is itself a message (a role's name, what was refused) is translated too. The `code` is the same in every
language; only `title` and `detail` change. A 422's refused values are said from a template per pydantic error
type (`VALIDATION`), and `Words` inside a problem's other members (the problems /health/ready names) are said too.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.crisis import ACTIVE, CLOSED, CONTAINED, RESOLVED
from domain.police_liaison import DIRECTIONS, REQUEST_TYPES
from domain.shared import CATEGORIES, CONDITIONS, N_, Rule, Words

LANGUAGES = ("en", "fi", "sv")  # English first: the default, and the language of the records themselves
DEFAULT = "en"
LOCALE = Path(str(resources.files("interfaces") / "locale"))
DOMAIN = "messages"

# The English title of each rule's problem detail (as the service has always sent them).
TITLES: dict[Rule, str] = {
    Rule.UNKNOWN_UNIT: N_("Unknown unit"),
    Rule.OPEN_ITEMS: N_("Open items"),
    Rule.PLAN_STILL_ACTIVE: N_("Plan still active"),
    Rule.CRISIS_NOT_CLOSED: N_("Crisis not closed"),
    Rule.INVALID_DUE_TIME: N_("Invalid due time"),
    Rule.DUPLICATE_SEQUENCE: N_("Duplicate sequence"),
    Rule.IMMUTABLE_RECORD: N_("Immutable record"),
    Rule.WRONG_CRISIS: N_("Wrong crisis"),
    Rule.NO_EMERGENCY_CONDITIONS: N_("No emergency conditions"),
    Rule.ALREADY_ANSWERED: N_("Already answered"),
    Rule.AMBIGUOUS_TIME: N_("Ambiguous time"),
    Rule.FUTURE_TIMESTAMP: N_("Future timestamp"),
    Rule.LATE_ENTRY_REASON_REQUIRED: N_("Late entry reason required"),
    Rule.BEFORE_CRISIS_START: N_("Before crisis start"),
    Rule.CLASSIFICATION_NOT_ALLOWED: N_("Classification not allowed"),
    Rule.CONFLICT_VERSION: N_("The record changed since you read it"),
    Rule.FORBIDDEN_ROLE: N_("Your role may not do this"),
    Rule.INVALID_TRANSITION: N_("Invalid transition"),
    Rule.CRISIS_CLOSED: N_("Crisis closed"),
    Rule.ALREADY_EXISTS: N_("Already exists"),
    Rule.NOT_FOUND: N_("No such record"),
    Rule.INVALID_SEVERITY: N_("Invalid severity"),
    Rule.INVALID_READINESS: N_("Invalid readiness"),
    Rule.INVALID_RTO: N_("Invalid rto"),
    Rule.TOO_FEW_OPTIONS: N_("Too few options"),
    Rule.LEGAL_BASIS_REQUIRED: N_("Legal basis required"),
    Rule.PLAN_NOT_APPROVED: N_("Plan not approved"),
    Rule.PLAN_NOT_ACTIVE: N_("Plan not active"),
    Rule.ACTION_NOT_OPEN: N_("Action not open"),
    Rule.INVALID_INPUT: N_("The request is not valid"),
    Rule.UNAUTHENTICATED: N_("A valid bearer token is required"),
    Rule.TOO_MANY_FAILED_AUTHENTICATIONS: N_("Too many failed authentications"),
    Rule.IDEMPOTENCY_KEY_REUSED: N_("Idempotency key reused"),
    Rule.IDEMPOTENCY_IN_PROGRESS: N_("Idempotency in progress"),
    Rule.REQUEST_TOO_LARGE: N_("Request too large"),
    Rule.NOT_READY: N_("Not ready"),
    Rule.READ_MODEL_BEHIND: N_("Read model behind"),
    Rule.STORE_UNAVAILABLE: N_("The store is out of reach for now"),
    Rule.IDENTITY_PROVIDER_UNAVAILABLE: N_("The identity provider is out of reach for now"),
    Rule.INTERNAL_ERROR: N_("Internal error"),
    Rule.OUT_OF_RANGE: N_("Out of range"),
    Rule.POSITION_HELD: N_("The position is held"),
    Rule.NOT_POSITION_HOLDER: N_("You do not hold this position"),
    Rule.STALE_BRIEF: N_("Not the latest handover brief"),
    Rule.BRIEF_MISMATCH: N_("Not the handover brief you were given"),
    Rule.TEXT_CHANGED: N_("The warning text was revised since you read it"),
    Rule.HANDOVER_REQUIRED: N_("A handover brief is required"),
    Rule.CLEARANCE_REQUIRED: N_("Clearance required"),
    Rule.NOT_IN_AN_EXERCISE: N_("Not changed for an exercise"),
    Rule.METHANE_REQUIRED: N_("METHANE report required"),
    Rule.SECTION_NOT_YOURS: N_("Section not yours"),
    Rule.REPORT_NOT_DRAFTED: N_("No report drafted"),
    Rule.REPORT_INCOMPLETE: N_("Report incomplete"),
    Rule.UNKNOWN_AREA: N_("Unknown area"),
    Rule.AREA_ALREADY_AFFECTED: N_("Area already affected"),
    Rule.INVALID_CAP: N_("Not a CAP 1.2 alert"),
    Rule.FOUR_EYES: N_("A second person approves this"),
    Rule.TEXT_REQUIRED: N_("Text required"),
    Rule.NOT_PUBLIC: N_("Not public"),
    Rule.WARNING_NOT_APPROVED: N_("Warning not approved"),
    Rule.ALREADY_ACKNOWLEDGED: N_("Already acknowledged"),
    Rule.NOT_A_RECIPIENT: N_("Not a recipient"),
    Rule.REMINDER_SETTLED: N_("Reminder settled"),
    Rule.NOTICE_RECORDED: N_("Notice recorded already"),
    Rule.DELIVERY_RECORDED: N_("Delivery recorded already"),
}

# The names of the domain's codes, as people read them (the API keeps sending the codes).
NAMES: dict[str, dict[str, str]] = {
    "category": {
        "SEVERE_WEATHER": N_("Severe weather"),
        "CYBER_INCIDENT": N_("Cyber incident"),
        "UTILITY_WATER": N_("Water supply"),
        "ENERGY_SUPPLY": N_("Energy supply"),
        "THREAT_VIOLENCE": N_("Threat of violence"),
        "PUBLIC_HEALTH": N_("Public health"),
        "MASS_EVENT": N_("Mass event"),
        "OTHER": N_("Other"),
    },
    "status": {ACTIVE: N_("Active"), CONTAINED: N_("Contained"), RESOLVED: N_("Resolved"), CLOSED: N_("Closed")},
    "condition": {"NORMAL_DISRUPTION": N_("Disruption under normal conditions"),
                  "EMERGENCY_CONDITIONS": N_("Emergency conditions")},
    "severity": {"1": N_("Minor"), "2": N_("Moderate"), "3": N_("Serious"), "4": N_("Critical")},
    "readiness": {"BASIC": N_("Basic readiness"), "ENHANCED": N_("Enhanced readiness"),
                  "COMMAND": N_("Command readiness"), "EMERGENCY": N_("Emergency readiness")},
    "direction": {"CITY_TO_POLICE": N_("City to police"), "POLICE_TO_CITY": N_("Police to city")},
    "request_type": {"INFORMATION": N_("Information"), "COORDINATION": N_("Coordination"),
                     "EXECUTIVE_ASSISTANCE": N_("Executive assistance")},
}
# What pydantic says of a refused value (a 422's `errors[]`), by the error's type: a template of the error's `ctx`.
# English keeps pydantic's own words; these say them in Finnish and Swedish. A type without one is said in English
# (tests/interfaces/test_i18n_said.py sends every kind of bad value the request bodies can get).
VALIDATION: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_unicode": N_("Input should be a valid string, unable to parse raw data as a unicode string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "control_character": N_("must not contain control characters: U+{code} at character {index}"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "int_parsing_size": N_("Unable to parse input string as an integer, exceeded maximum size"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "finite_number": N_("Input should be a finite number"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "list_type": N_("Input should be a valid list"),
    "too_short": N_("List should have at least {min_length} items after validation, not {actual_length}"),
    "too_long": N_("List should have at most {max_length} items after validation, not {actual_length}"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_type": N_("Input should be an object"),
    "model_attributes_type": N_("Input should be an object"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date"),
    "date_from_datetime_parsing": N_("Input should be a valid date"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "json_invalid": N_("JSON decode error"),
    "json_type": N_("JSON input should be string, bytes or bytearray"),
}

NAMED = {"category": CATEGORIES, "status": (ACTIVE, CONTAINED, RESOLVED, CLOSED), "condition": CONDITIONS,
         "direction": DIRECTIONS, "request_type": REQUEST_TYPES}  # the codes the domain defines, for the tests


# --- the catalogs -----------------------------------------------------------------------------------


def catalog_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _load(language: str) -> dict[str, str]:
    with catalog_path(language).open("rb") as file:
        return {m.id: m.string for m in read_po(file, locale=language) if m.id and m.string and not m.fuzzy}


CATALOGS: dict[str, dict[str, str]] = {DEFAULT: {}} | {language: _load(language) for language in LANGUAGES[1:]}
LANGUAGE: ContextVar[str] = ContextVar("language", default=DEFAULT)


def negotiate(accept_language: str | None) -> str:
    """The language an Accept-Language header prefers among ours (RFC 9110: q-values, `*`, `sv-FI` is `sv`;
    the first listed wins a tie); English when it names none of them."""
    ranked = []
    for order, item in enumerate((accept_language or "").split(",")):
        tag, *parameters = item.strip().split(";")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = tag.strip().lower().split("-")[0]
        language = DEFAULT if language == "*" else language
        if language in LANGUAGES and 0 < quality <= 1:
            ranked.append((-quality, order, language))
    return min(ranked)[2] if ranked else DEFAULT


def say(template: str, params: Mapping[str, object] | None = None, language: str | None = None) -> str:
    """`template` in `language` (the request's when not given), its parameters filled in; `Words` are said with
    their own."""
    language = language or LANGUAGE.get()
    if isinstance(template, Words) and params is None:
        template, params = template.template, template.params
    catalog = CATALOGS[language]
    said = catalog.get(template, template)
    if not params:
        return said
    values = {name: say(value.template, value.params, language) if isinstance(value, Words) else value
              for name, value in params.items()}
    return said.format_map(values)


def translated(value: Any, language: str | None = None) -> Any:
    """`value` with the `Words` in it (alone, or in a list) said in `language`; anything else as it is."""
    if isinstance(value, Words):
        return say(value, language=language)
    if isinstance(value, list | tuple):
        return [translated(item, language) for item in value]
    return value


def validation_problem(error: Mapping[str, Any], language: str | None = None) -> str:
    """What is wrong with a refused value (a pydantic error: its `type`, `ctx` and `msg`) in `language`."""
    language = language or LANGUAGE.get()
    template = VALIDATION.get(error["type"])
    if language == DEFAULT or template is None:
        return error["msg"]
    return say(template, error.get("ctx") or {}, language)


def title(rule: Rule, language: str | None = None) -> str:
    return say(TITLES[rule], language=language)


def dashboard_texts() -> dict[str, dict[str, dict[str, str]]]:
    """What the dashboard says, in each language: its own messages, and the names of the codes it shows."""
    with PAGE.open("rb") as page:
        messages = [message for _, _, message, _ in extract_dashboard(page, {}, [], {})]
    return {
        language: {
            "texts": {message: say(message, language=language) for message in messages},
            "names": {code: say(name, language=language) for names in NAMES.values() for code, name in names.items()},
        }
        for language in LANGUAGES
    }


class Language:
    """Sets the request's language (from Accept-Language) for everything that answers it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
            LANGUAGE.set(negotiate(header))
        await self.app(scope, receive, send)


# --- extraction ----------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("domain", "application", "infrastructure", "interfaces")
PAGE = ROOT / "interfaces" / "web" / "dashboard.html"
KEYWORDS = {  # the calls whose argument is a message: refusals, and the words of domain/access.py's refusals
    "DomainError": (2,), "problem": (2,), "_refused": (1,), "_unavailable": (1,), "N_": None,
    "Permission": (2,), "_runs_crises": (1,), "_unit": (1,), "_police": (1,), "_auditors": (1,),
}
_T_CALL = re.compile(r'\b(?:t|N_)\("((?:[^"\\]|\\.)*)"')
_MARKED = re.compile(r'<(\w+)(?=[^>]*\sdata-i18n(?:-html)?[\s>])[^>]*>(.*?)</\1>|\sdata-i18n-[a-z-]+="([^"]*)"', re.DOTALL)


def extract_dashboard(fileobj: Any, keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple]:
    """A babel extractor for the dashboard page: `t("…")` and `N_("…")` in its script, and the texts it marks `data-i18n`
    (an element's content) or `data-i18n-ATTRIBUTE="…"` (an attribute's)."""
    page = fileobj.read().decode("utf-8")
    found = [(m.start(), json.loads(f'"{m.group(1)}"')) for m in _T_CALL.finditer(page)]
    found += [(m.start(), (m.group(2) if m.group(2) is not None else m.group(3)).strip()) for m in _MARKED.finditer(page)]
    for offset, message in sorted(found):
        yield page.count("\n", 0, offset) + 1, None, message, []


def extract() -> Catalog:
    """The template catalog: every message in the code, with where it is."""
    template = Catalog(project="Valmius", domain=DOMAIN, fuzzy=False)
    files = [(path, "python") for source in SOURCES for path in sorted((ROOT / source).rglob("*.py"))]
    files.append((PAGE, extract_dashboard))
    for path, method in files:
        for line, message, comments, context in extract_from_file(method, path, keywords=KEYWORDS):
            template.add(message, locations=[(path.relative_to(ROOT).as_posix(), line)], context=context,
                         auto_comments=comments, flags=("python-brace-format",) if "{" in message else ())
    template.header_comment = "# The messages of Valmius, found in the code by interfaces/http/i18n.py."
    return template


def update_catalogs() -> None:
    """Writes messages.pot from the code, and merges it into each language's catalog."""
    template = extract()
    with (LOCALE / f"{DOMAIN}.pot").open("wb") as file:
        write_po(file, template, width=120, omit_header=True, include_lineno=False)
    for language in LANGUAGES[1:]:
        path = catalog_path(language)
        if path.exists():
            with path.open("rb") as file:
                catalog = read_po(file, locale=language)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.project, catalog.version, catalog.fuzzy = "Valmius", "", False
        catalog.last_translator = catalog.language_team = "Valmius developers"
        written = io.BytesIO()  # (the catalog is replaced only once it is written whole)
        write_po(written, catalog, width=120, ignore_obsolete=True, include_lineno=False)
        path.write_bytes(written.getvalue())


if __name__ == "__main__":
    update_catalogs()
