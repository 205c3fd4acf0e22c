"""Redaction of stored records (domain events, refused attempts) for a reader without clearance.

Stored events are redacted by the one declaration of domain.secrecy, like every answer built from them: the
classification governing an event (its record's, or the record's it belongs to: the note closing a SECRET
action, the topic of a liaison matter of a SECRET crisis) comes from the current state of its aggregate,
and every field of the event that its kind of record does not declare structure is replaced by the label.

A refused attempt keeps the command's arguments but not the classification it asked for, so its arguments
are withheld from an uncleared reader unless they are structure of some kind of record (ids, levels, times).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.crisis import Crisis
from domain.secrecy import RECORDS, classification_of, record_of, shown
from domain.shared import PUBLIC, Classification

# A refused attempt keeps the command's arguments but not the classification it asked for: an argument is
# shown if it is structure of some kind of record and content of none (a review's `outcome` is content).
ATTEMPT_STRUCTURE = (
    frozenset().union(*(kind.structure for kind in RECORDS.values()))
    - frozenset().union(*(kind.content for kind in RECORDS.values()))
) | {"errors"}
WITHHELD = "[WITHHELD: no clearance; the classification of a refused attempt is not kept]"


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
    return {key: (value if key in ATTEMPT_STRUCTURE or value is None else WITHHELD) for key, value in payload.items()}
