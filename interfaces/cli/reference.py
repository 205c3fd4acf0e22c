"""docs/reference.md, generated from the code: every rule code, role, permission, category, scale and
classification level, with its meaning (`valmius docs > docs/reference.md`).

The lists come from the code itself (Rule, Role, PERMISSIONS, CATEGORIES, Policy, …); what each entry means is
kept here, next to them, and tests/interfaces/test_reference.py fails when an entry has no meaning or when the
committed docs/reference.md is not what this prints.
"""

from __future__ import annotations

from domain.access import PERMISSIONS, ROLE_WORDS, Role
from domain.police_liaison import DIRECTIONS, OUTCOMES, REQUEST_TYPES
from domain.shared import CATEGORIES, CONDITIONS, DEFAULT_UNITS, Policy, Rule
from interfaces.http.errors import STATUS

ROLE_DUTIES = {
    Role.DUTY_OFFICER: "declares and runs crises: log entries, actions, situation reports, decisions recorded on "
    "behalf of the decision-maker, severity and status changes",
    Role.PREPAREDNESS_MANAGER: "everything a duty officer does, plus after-action reviews, recording that emergency "
    "conditions are in force, and every unit's readiness and continuity plans",
    Role.DIVISION_CONTACT: "the preparedness contact of one unit (`--unit`): its readiness, continuity plans, the "
    "actions assigned to it, and crisis log entries reporting from it",
    Role.POLICE_COORDINATOR: "the city's liaison with the police: raises, answers, declines and withdraws requests in "
    "both directions, records information shared",
    Role.LEADERSHIP: "reads the live situation picture; writes nothing",
    Role.AUDITOR: "reads everything, including history, refused attempts and who saw what; verifies and exports; "
    "writes nothing",
    Role.ADMIN: "manages users and tokens (`valmius token …`) and reads `/metrics` and the store's details on "
    "`/health`; sees no crisis content by virtue of the role (issue a duty officer's token to try the API)",
}

RULE_MEANINGS = {
    Rule.UNKNOWN_UNIT: "the unit is not a city unit (an external partner, a retired name, or unknown)",
    Rule.OPEN_ITEMS: "a crisis cannot close while actions or police requests linked to it are open",
    Rule.PLAN_STILL_ACTIVE: "a crisis cannot close while a continuity plan is active for it",
    Rule.CRISIS_NOT_CLOSED: "an after-action review is recorded only after the crisis is closed",
    Rule.INVALID_DUE_TIME: "a due time must lie after the time of assignment",
    Rule.DUPLICATE_SEQUENCE: "situation reports are numbered consecutively per crisis; this number is taken or skips",
    Rule.IMMUTABLE_RECORD: "decisions, log entries and situation reports are never changed: supersede, strike "
    "through or issue a new one",
    Rule.WRONG_CRISIS: "a decision is superseded only by one in the same crisis",
    Rule.NO_EMERGENCY_CONDITIONS: "EMERGENCY readiness and EMERGENCY_CONDITIONS need emergency conditions recorded "
    "as in force",
    Rule.ALREADY_ANSWERED: "a police request is answered, declined or withdrawn exactly once",
    Rule.AMBIGUOUS_TIME: "a time without a UTC offset (around the clock change it occurs twice, or never, in "
    "Europe/Helsinki)",
    Rule.FUTURE_TIMESTAMP: "the time given is beyond the server clock by more than the allowed skew",
    Rule.LATE_ENTRY_REASON_REQUIRED: "an entry recorded long after it happened needs a late-entry reason",
    Rule.BEFORE_CRISIS_START: "nothing in a crisis can have happened before the crisis was declared",
    Rule.CLASSIFICATION_NOT_ALLOWED: "a city-originated record cannot carry a TL class: use SECRET with its legal "
    "basis",
    Rule.CONFLICT_VERSION: "the `If-Match` version is stale: the answer says what changed since",
    Rule.FORBIDDEN_ROLE: "the caller's role (or unit) may not do this",
    Rule.INVALID_TRANSITION: "the record's status does not allow this step (e.g. closing an ACTIVE crisis)",
    Rule.CRISIS_CLOSED: "a closed crisis accepts nothing but its after-action review",
    Rule.ALREADY_EXISTS: "a record with this id exists already",
    Rule.NOT_FOUND: "no such record",
    Rule.INVALID_SEVERITY: "the severity is not on the scale",
    Rule.INVALID_READINESS: "the readiness level is not on the ladder",
    Rule.INVALID_RTO: "a recovery time objective may not exceed the function's MTPD",
    Rule.TOO_FEW_OPTIONS: "a decision records at least two options considered",
    Rule.LEGAL_BASIS_REQUIRED: "a SECRET record needs its legal basis (e.g. \"JulkL 24.1 § 7 k\")",
    Rule.PLAN_NOT_APPROVED: "only an approved continuity plan can be activated",
    Rule.PLAN_NOT_ACTIVE: "only an active continuity plan can be deactivated",
    Rule.ACTION_NOT_OPEN: "only an open action can be completed or cancelled",
    Rule.INVALID_INPUT: "the request is malformed (each field's rule in `errors[]`)",
    Rule.UNAUTHENTICATED: "no bearer token, or one unknown, expired or revoked",
    Rule.TOO_MANY_FAILED_AUTHENTICATIONS: "too many bad tokens from this client address: wait `Retry-After`",
    Rule.IDEMPOTENCY_KEY_REUSED: "this `Idempotency-Key` named another request: use a new key for a new command",
    Rule.IDEMPOTENCY_IN_PROGRESS: "the request with this `Idempotency-Key` is still running: retry after "
    "`Retry-After`",
    Rule.REQUEST_TOO_LARGE: "the body is larger than `VALMIUS_MAX_REQUEST_BYTES`",
    Rule.NOT_READY: "`/health/ready` to an anonymous caller: the service is not ready",
    Rule.READ_MODEL_BEHIND: "a read model is stopped or further behind the log than allowed",
    Rule.STORE_UNAVAILABLE: "the store is out of reach for now: nothing was recorded, send the request again",
    Rule.IDENTITY_PROVIDER_UNAVAILABLE: "the city's identity provider (VALMIUS_OIDC_ISSUER) is out of reach, so a sign-in token "
    "cannot be checked now: nothing was recorded, send the request again after Retry-After",
    Rule.INTERNAL_ERROR: "a bug: nothing was recorded by the request; the log has the details",
    Rule.OUT_OF_RANGE: "a value outside its bounds (a length, a number, a time too far from the server clock)",
    Rule.POSITION_HELD: "someone holds the position: an incoming person takes it over by accepting a handover brief",
    Rule.NOT_POSITION_HOLDER: "only the person holding a position signs off from it",
    Rule.STALE_BRIEF: "only the latest handover brief of a position, not yet accepted, can be accepted",
    Rule.BRIEF_MISMATCH: "the digest named is not that of the brief: the incoming person accepts what they read",
    Rule.NOT_IN_AN_EXERCISE: "a unit's real readiness does not change for a crisis declared as an exercise",
    Rule.CLEARANCE_REQUIRED: "a change whose outcome would tell a SECRET or RECEIVED crisis's content (its areas) to someone without clearance",
    Rule.HANDOVER_REQUIRED: "a position is left with a handover brief (prepared before signing off) and taken by accepting the brief waiting, not by signing on past it",
    Rule.TEXT_CHANGED: "the digest a warning's approver named is not that of the text waiting (revised since): approve what you read",
    Rule.METHANE_REQUIRED: "a crisis's first structured situation report is in the METHANE form and is issued with "
    "all seven of its sections",
    Rule.SECTION_NOT_YOURS: "a division contact contributes report sections for their own unit only",
    Rule.REPORT_NOT_DRAFTED: "the crisis has no situation report draft to contribute to or issue: draft one first",
    Rule.REPORT_INCOMPLETE: "a standard situation report is issued once its situation section is given",
    Rule.UNKNOWN_AREA: "an affected area that is no district of the registry (`GET /districts`), or that the crisis "
    "does not name (removing it)",
    Rule.AREA_ALREADY_AFFECTED: "the district added is already an affected area of the crisis (by any of its names)",
    Rule.INVALID_CAP: "a document offered as a CAP alert is not a valid CAP 1.2 alert (not XML, another version, "
    "a schema error at a path, too large); nothing was stored",
    Rule.FOUR_EYES: "a public warning's message is approved by someone who wrote none of its text (drafting or revising it)",
    Rule.TEXT_REQUIRED: "a public warning is written in Finnish and Swedish (headline and description); English is "
    "optional",
    Rule.NOT_PUBLIC: "only PUBLIC content goes into a public warning: its crisis and the decisions it is based on "
    "are PUBLIC",
    Rule.WARNING_NOT_APPROVED: "a public warning's message is issued only once a second person has approved it",
    Rule.ALREADY_ACKNOWLEDGED: "the reminder was acknowledged already: it is acknowledged once, and escalates no further",
    Rule.NOT_A_RECIPIENT: "a reminder is acknowledged by its recipients: the unit's division contact, duty officers, the "
    "preparedness manager",
    Rule.REMINDER_SETTLED: "the reminder's deadline was met or went away: it takes no further step",
    Rule.NOTICE_RECORDED: "that notice of the reminder is recorded already (another sender recorded it first)",
    Rule.DELIVERY_RECORDED: "the result of that delivery is recorded already",
}

CATEGORY_MEANINGS = {
    "SEVERE_WEATHER": "storms, floods, heat, snow",
    "CYBER_INCIDENT": "attacks on or failures of the city's information systems",
    "UTILITY_WATER": "water supply and sewerage",
    "ENERGY_SUPPLY": "electricity, district heating, fuel",
    "THREAT_VIOLENCE": "threats of violence, attacks",
    "PUBLIC_HEALTH": "epidemics, contamination, environmental health",
    "MASS_EVENT": "large public events and gatherings",
    "OTHER": "anything else",
}

SEVERITY_MEANINGS = {
    1: "minor: one unit",
    2: "moderate: several units or vulnerable groups",
    3: "serious: city-level coordination and a fixed situation-report rhythm",
    4: "critical: vital functions affected city-wide",
}

READINESS_MEANINGS = {
    "BASIC": "normal operations",
    "ENHANCED": "heightened watch, contacts on call",
    "COMMAND": "the unit's crisis management is convened",
    "EMERGENCY": "the highest level; only while emergency conditions are in force",
}

CONDITION_MEANINGS = {
    "NORMAL_DISRUPTION": "a disruption handled under normal powers",
    "EMERGENCY_CONDITIONS": "only while emergency conditions under the Emergency Powers Act are recorded as in force",
}

CLASSIFICATION_MEANINGS = {
    "PUBLIC": "the default: anyone who may read the record reads it",
    "SECRET": "secret under the Act on the Openness of Government Activities, with its legal basis (`legal_basis`)",
    "RECEIVED": "received from a state authority with its marking (`marking`, e.g. \"TL IV\") and `originator`",
}

POLICE_MEANINGS = {
    "CITY_TO_POLICE": "a request from the city to the police",
    "POLICE_TO_CITY": "a request from the police to the city",
    "INFORMATION": "a request for information",
    "COORDINATION": "a request to coordinate",
    "EXECUTIVE_ASSISTANCE": "a formal request for executive assistance, with its legal basis",
    "ANSWERED": "the request was answered",
    "DECLINED": "the request was declined",
    "WITHDRAWN": "the request was withdrawn by its side",
}

STATUS_MEANINGS = {
    "ACTIVE": "the crisis is being managed (CONTAINED may return to it)",
    "CONTAINED": "the crisis is under control",
    "RESOLVED": "the crisis is over; it may close once nothing is left open",
    "CLOSED": "the crisis is closed; only its after-action review follows",
}


def table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render() -> str:
    """The whole reference, in Markdown."""
    from domain.crisis import ACTIVE, CLOSED, CONTAINED, RESOLVED

    policy = Policy()
    roles = [(f"`{role}`", ROLE_WORDS[role], ROLE_DUTIES[role]) for role in Role]
    permissions = [
        (f"`{use_case}`", ", ".join(f"`{role}`" for role in Role if role in permission.roles)
         + (" (division contacts: own unit only)" if permission.own_unit else ""))
        for use_case, permission in PERMISSIONS.items()
    ]
    rules = [(f"`{rule}`", STATUS.get(rule, 422), RULE_MEANINGS[rule]) for rule in Rule]
    sections = [
        "# Reference: rule codes, roles, categories and scales",
        "Generated from the code by `valmius docs > docs/reference.md` (`interfaces/cli/reference.py`); "
        "`tests/interfaces/test_reference.py` fails when this file is out of date. The domain's words are "
        "explained in the README.",
        "## Roles\n\nA token's role (`valmius token issue --role …`):\n\n"
        + table(("role", "in refusals", "does"), roles),
        "## Permissions\n\nWhich roles may run each use case (any other role is refused with `403 FORBIDDEN_ROLE`):"
        "\n\n" + table(("use case", "roles"), permissions),
        "## Rule codes\n\nEvery refusal is an RFC 9457 problem detail whose `code` is one of these:\n\n"
        + table(("code", "HTTP status", "meaning"), rules),
        "## Crisis categories\n\n"
        + table(("category", "meaning"), [(f"`{c}`", CATEGORY_MEANINGS[c]) for c in CATEGORIES]),
        "## Crisis severity (configurable scale)\n\n"
        + table(("severity", "meaning"), [(s, SEVERITY_MEANINGS[s]) for s in policy.severities]),
        "## Crisis condition\n\n"
        + table(("condition", "meaning"), [(f"`{c}`", CONDITION_MEANINGS[c]) for c in CONDITIONS]),
        "## Crisis status\n\n`ACTIVE` ⇄ `CONTAINED` → `RESOLVED` → `CLOSED`.\n\n"
        + table(("status", "meaning"), [(f"`{s}`", STATUS_MEANINGS[s]) for s in (ACTIVE, CONTAINED, RESOLVED, CLOSED)]),
        "## Readiness of a unit (configurable ladder, lowest first)\n\n"
        + table(("readiness", "meaning"), [(f"`{r}`", READINESS_MEANINGS[r]) for r in policy.readiness_ladder]),
        "## Classification levels\n\nA reader without clearance (`--clearance`) sees that a SECRET or RECEIVED "
        "record exists, its times and its label, not its content.\n\n"
        + table(("level", "meaning"), [(f"`{c}`", m) for c, m in CLASSIFICATION_MEANINGS.items()]),
        "## Police requests\n\n"
        + table(("direction, type or outcome", "meaning"),
                [(f"`{w}`", POLICE_MEANINGS[w]) for w in (*DIRECTIONS, *REQUEST_TYPES, *OUTCOMES)]),
        "## Units (the built-in registry; `VALMIUS_UNITS_FILE` replaces it)\n\n"
        + table(("unit", "name"), [(f"`{code}`", name) for code, name in DEFAULT_UNITS.units.items()])
        + "\n\nExternal partners (not units: they cannot be assigned actions, `UNKNOWN_UNIT`):\n\n"
        + table(("partner", "name"), [(f"`{code}`", name) for code, name in DEFAULT_UNITS.partners.items()]),
        "## Districts (the built-in registry, `domain/districts.json`; `VALMIUS_DISTRICTS_FILE` replaces it)\n\n"
        "A crisis's affected areas are named by a district's code or its Finnish or Swedish name (or an alias), in "
        "any case; anything else is `UNKNOWN_AREA`. Outlines (`GET /districts`) are approximate: see the README.\n\n"
        + table(("code", "Finnish", "Swedish", "in district", "also"),
                [(f"`{d.code}`", d.name_fi, d.name_sv, f"`{d.parent}`" if d.parent else "", ", ".join(d.aliases))
                 for d in policy.districts]),
    ]
    return "\n\n".join(sections) + "\n"


def main() -> int:
    print(render(), end="")
    return 0
