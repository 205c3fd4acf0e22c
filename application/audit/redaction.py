"""Redaction of stored records (domain events, refused attempts) for a reader without clearance.

The read models redact by naming each record's content fields. Stored events and refused attempts are
redacted the other way round, failing closed: only the fields that say what kind of record it is, whose, when
and under which classification (the STRUCTURE below) are shown; every other field of a SECRET or RECEIVED
record is replaced by its label, so a field added to an event later is withheld until it is named here.
For the events of today this shows exactly what the read models show an uncleared reader.
"""

from __future__ import annotations

from typing import Any

from domain.shared import Classification

STRUCTURE = frozenset(
    {
        # every event
        "originator_id", "originator_version", "originator_topic", "timestamp", "actor", "recorded_at",
        "occurred_at", "classification",
        # which record
        "crisis_id", "liaison_id", "unit", "number", "action_id", "decision_id", "request_id", "plan_id",
        # what kind, when due, by whose authority (shown to uncleared readers by the read models too)
        "category", "severity", "condition", "lead_authority", "external_lead", "due_at", "next_due_at",
        "decided_by", "authority", "review_at", "supersedes", "direction", "request_type", "legal_basis",
        "answered_by", "to_whom", "owner", "next_review_due",
    }
)

# A refused attempt keeps the command's arguments but not the classification it asked for.
ATTEMPT_STRUCTURE = STRUCTURE | {"to_level", "from_level", "to_severity", "from_severity", "to_condition", "in_force",
                                 "type", "errors"}
WITHHELD = "[WITHHELD: no clearance; the classification of a refused attempt is not kept]"


def redact_record(
    data: dict[str, Any], classification: Classification | None, cleared: bool, short_names: dict[str, str]
) -> tuple[dict[str, Any], bool]:
    """The fields of a stored record as a reader sees them, and whether anything was replaced by the label."""
    if classification is None or classification.is_public or cleared:
        return data, False
    label = classification.label(short_names)
    shown = {key: (value if key in STRUCTURE or value is None else label) for key, value in data.items()}
    return shown, shown != data


def withhold_payload(payload: dict[str, Any] | None, cleared: bool) -> dict[str, Any] | None:
    """A refused attempt's arguments: all of them for a cleared reader, the structural ones for others."""
    if payload is None or cleared:
        return payload
    return {key: (value if key in ATTEMPT_STRUCTURE or value is None else WITHHELD) for key, value in payload.items()}
