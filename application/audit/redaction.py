"""Redaction of stored records (domain events, refused attempts) for a reader without clearance.

Stored events are redacted by the one declaration of domain.secrecy, like every answer built from them: the
classification governing an event (its record's, or the record's it belongs to: the note closing a SECRET
action, the topic of a liaison matter of a SECRET crisis) comes from the current state of its aggregate,
and every field of the event that its kind of record does not declare structure is replaced by the label.

A refused attempt keeps the command's arguments but not the classification it asked for, so its arguments
are withheld from an uncleared reader unless they are structure of some kind of record (ids, numbers, a
classification), and a string among them only if it is an id: a refused category or time may be any text.
Its message too, unless its rule is one decided on the records as they stand, whose messages name records
(ids, versions, states, their times) and roles only: a refusal of what was sent (422: a value out of bounds,
an unknown category, a time that does not parse, an If-Match that is not a version) may quote it. Of the
edge's `errors` an uncleared reader sees each field and rule, not the field of a key nobody declared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.police_liaison import PoliceLiaison
from domain.secrecy import RECORDS, classification_of, record_of, shown
from domain.shared import PUBLIC, Classification, is_id

# A refused attempt keeps the command's arguments but not the classification it asked for: an argument is
# shown if it is structure of some kind of record and content of none (a review's `outcome` is content).
ATTEMPT_STRUCTURE = (
    frozenset().union(*(kind.structure for kind in RECORDS.values()))
    - frozenset().union(*(kind.content for kind in RECORDS.values()))
) | {"errors"}
ID_SUFFIXES = ("_id", "_ref", "unit", "supersedes")
WITHHELD = "[WITHHELD: no clearance; the classification of a refused attempt is not kept]"
# Rules decided on the records as they stand: their messages quote nothing that was sent but ids and versions.
STATE_RULES = frozenset(
    """OPEN_ITEMS PLAN_STILL_ACTIVE CRISIS_NOT_CLOSED CRISIS_CLOSED DUPLICATE_SEQUENCE IMMUTABLE_RECORD WRONG_CRISIS
    NO_EMERGENCY_CONDITIONS ALREADY_ANSWERED ALREADY_EXISTS NOT_FOUND CONFLICT_VERSION FORBIDDEN_ROLE
    INVALID_TRANSITION PLAN_NOT_APPROVED PLAN_NOT_ACTIVE ACTION_NOT_OPEN IDEMPOTENCY_KEY_REUSED
    IDEMPOTENCY_IN_PROGRESS READ_MODEL_BEHIND STORE_UNAVAILABLE UNAUTHENTICATED
    TOO_MANY_FAILED_AUTHENTICATIONS POSITION_HELD NOT_POSITION_HOLDER STALE_BRIEF BRIEF_MISMATCH TEXT_CHANGED HANDOVER_REQUIRED CLEARANCE_REQUIRED NOT_IN_AN_EXERCISE
    METHANE_REQUIRED SECTION_NOT_YOURS REPORT_NOT_DRAFTED REPORT_INCOMPLETE
    ALREADY_ACKNOWLEDGED NOT_A_RECIPIENT REMINDER_SETTLED NOTICE_RECORDED DELIVERY_RECORDED""".split()
)


class Classifier:
    """The classification governing each stored event, from its aggregate as it stands now (a record's
    classification never changes). Make one per answer: it keeps the aggregates it loaded."""

    def __init__(self, repository: Any) -> None:
        self.repository = repository
        self._aggregates: dict[UUID, Any] = {}

    def aggregate(self, aggregate_id: UUID) -> Any:
        if aggregate_id not in self._aggregates:
            self._aggregates[aggregate_id] = self.repository.get(aggregate_id)
        return self._aggregates[aggregate_id]

    def crisis_of(self, event: Any) -> str | None:
        """The crisis an event belongs to: its own, its liaison matter's, the one a plan activation or readiness
        change names, that of a review, a warning or an alert linked to it; None for none."""
        if isinstance(event, Crisis.Event):
            return str(event.crisis_id)
        if isinstance(event, PoliceLiaison.Event):
            return self.aggregate(event.originator_id).crisis_id
        if isinstance(event, DivisionPreparedness.Event):
            return getattr(event, "crisis_id", None) or getattr(event, "crisis_ref", None)
        return getattr(event, "crisis_id", None)  # the review and warnings of a crisis, alerts linked to it

    def exercise(self, crisis_id: str | None) -> bool:
        """Whether the crisis was declared as an exercise (False for none, or one not stored)."""
        if not crisis_id:
            return False
        try:
            return bool(getattr(self.aggregate(Crisis.id_for(crisis_id)), "exercise", False))
        except AggregateNotFoundError:
            return False

    def crisis(self, crisis_id: str | None) -> Classification:
        """The classification of a crisis, PUBLIC for none (a liaison matter on a standing topic)."""
        if not crisis_id:
            return PUBLIC
        try:
            return self.aggregate(Crisis.id_for(crisis_id)).classification
        except AggregateNotFoundError:  # a crisis not (yet) stored: nothing to inherit
            return PUBLIC

    def __call__(self, event: Any) -> Classification:
        def aggregate() -> Any:
            return self.aggregate(event.originator_id)

        return classification_of(event, aggregate, lambda: self.crisis(aggregate().crisis_id))


def redact_event(
    data: dict[str, Any], event: Any, classification: Classification, cleared: bool, short_names: dict[str, str]
) -> tuple[dict[str, Any], bool]:
    """The fields of a stored event as a reader sees them, and whether anything was replaced by the label."""
    if classification.is_public or cleared:
        return data, False
    kind = record_of(event) or ""
    out = shown(kind, classification, cleared, short_names, data)
    return out, out != data


def withhold_payload(payload: dict[str, Any] | None, cleared: bool) -> dict[str, Any] | None:
    """A refused attempt's arguments: all of them for a cleared reader, the structural ones for others."""
    if payload is None or cleared:
        return payload
    out = {key: (value if _shown_argument(key, value) else WITHHELD) for key, value in payload.items()}
    if isinstance(out.get("errors"), list):  # the edge's refusal: each field and rule, no quoted key or value
        out["errors"] = [
            {"field": WITHHELD if error.get("rule") == "extra_forbidden" else error.get("field"),
             "rule": error.get("rule")}
            for error in out["errors"]
        ]
    return out


def _shown_argument(key: str, value: Any) -> bool:
    """Structure, and (a refused value may be any text: a category that is none) a string only if it is an id,
    which the edge held to its pattern, or a time."""
    if value is None:
        return True
    if key not in ATTEMPT_STRUCTURE:
        return False
    return not isinstance(value, str) or (key.endswith(ID_SUFFIXES) and is_id(value)) or _is_time(value)


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def withhold_target(target: str | None, cleared: bool) -> str | None:
    """A refused attempt's target (a record id or a request path): shown to an uncleared reader only when made of
    ids; a path refused at the edge for an id of another shape may carry any text."""
    if target is None or cleared or all(is_id(part) for part in target.strip("/").split("/")):
        return target
    return WITHHELD


def withhold_message(rule: str, message: str, cleared: bool) -> str:
    """A refused attempt's message: as kept for a cleared reader, or when its rule is decided on the records'
    state; else withheld (it may quote what was sent)."""
    return message if cleared or rule in STATE_RULES else WITHHELD
