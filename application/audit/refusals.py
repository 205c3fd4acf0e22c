"""Refused attempts for auditors: filtered by crisis, target, user, rule and time, paged, never changed.

Which refused attempts concern a crisis is resolved from the event log when asked, not stored with the
attempt. An attempt is kept under the record it was aimed at: the crisis itself, a police liaison matter
(police requests are refused under the liaison's id, e.g. PL-C-S1) or a unit (continuity plans). A liaison's
crisis is fixed when it is opened and a plan's activation names its crisis, so the log answers the question
exactly, for every attempt kept so far (also those kept before this resolution existed), without a second
copy of the relation that could disagree with the log. An attempt concerns crisis C when

- it was aimed at C, at a police liaison matter opened for C, or at another record of C kept under a target of its
  own (a warning drafted for C, a reminder of a deadline of C, C's after-action review);
- its arguments name C (activating a plan for C, opening a liaison for C);
- it tried to deactivate a plan of a unit while that plan was activated for C (from its activation for C
  until it is next activated for another crisis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.utils import get_topic

from application.audit.redaction import withhold_message, withhold_payload, withhold_target
from application.ports import RefusalLog
from application.projections.tracking import log_pages
from domain.division_preparedness import DivisionPreparedness
from domain.crisis import Crisis
from domain.police_liaison import PoliceLiaison
from domain.public_warning import PublicWarning
from domain.reminder import Reminder
from domain.shared import DomainError, Rule, display

MAX_PAGE = 1000
_BATCH = 1000


@dataclass
class CrisisLinks:
    """The records a crisis reaches beyond its own stream: its police liaisons, its other records kept under
    targets of their own (its warnings, its reminders, its after-action review), the plans activated for it."""

    crisis_id: str
    liaisons: set[str] = field(default_factory=set)
    records: set[str] = field(default_factory=set)  # warning ids, "reminder:<id>"s (see `targets`)
    # (unit, plan id) -> [(from, until)] recording times while the plan was activated for this crisis
    plan_windows: dict[tuple[str, str], list[tuple[datetime, datetime | None]]] = field(default_factory=dict)

    @property
    def targets(self) -> set[str]:
        return {self.crisis_id, review_target(self.crisis_id), *self.liaisons, *self.records,
                *(unit for unit, _ in self.plan_windows)}

    def concerns(self, row: dict[str, Any]) -> bool:
        payload = row.get("payload") or {}
        target = row["target"]
        if target in (self.crisis_id, review_target(self.crisis_id)) or target in self.liaisons or target in self.records:
            return True
        if payload.get("crisis_id") == self.crisis_id:
            return True
        if row["command"] == "deactivate_continuity_plan":
            at = datetime.fromisoformat(row["at"])
            for start, end in self.plan_windows.get((row["target"], payload.get("plan_id")), []):
                if start <= at and (end is None or at < end):
                    return True
        return False

    def add_activations(self, activations: Iterable[tuple[str, str, str, datetime]]) -> None:
        """From every plan activation in log order: (unit, plan id, crisis id, recorded at)."""
        open_windows: dict[tuple[str, str], int] = {}
        for unit, plan_id, crisis_id, recorded_at in activations:
            key = (unit, plan_id)
            if key in open_windows:  # activated for another crisis: the window for this one ends
                windows = self.plan_windows[key]
                index = open_windows.pop(key)
                windows[index] = (windows[index][0], recorded_at)
            if crisis_id == self.crisis_id:
                self.plan_windows.setdefault(key, []).append((recorded_at, None))
                open_windows[key] = len(self.plan_windows[key]) - 1


LIAISON_OPENED = get_topic(PoliceLiaison.Opened)
PLAN_ACTIVATED = get_topic(DivisionPreparedness.PlanActivated)
REMINDER_OPENED = get_topic(Reminder.Opened)
WARNING_DRAFTED = get_topic(PublicWarning.Drafted)
DECLARED = get_topic(Crisis.Declared)


def reminder_target(reminder_id: str) -> str:
    """What a refused attempt on a reminder is kept under (Coordination.acknowledge_reminder and the sender's)."""
    return f"reminder:{reminder_id}"


def review_target(crisis_id: str) -> str:
    """What a refused attempt on a crisis's after-action review is kept under."""
    return f"after-action-review:{crisis_id}"


def links_from_log(app: Any, crisis_id: str) -> CrisisLinks:
    """Read the liaisons opened for the crisis and every plan activation from the event log (by topic)."""
    return links_of(app, [crisis_id])[0]


def links_of(app: Any, crisis_ids: Iterable[str]) -> list[CrisisLinks]:
    """The links of each of the crises, from one read of the event log (by topic)."""
    found = {crisis_id: CrisisLinks(crisis_id) for crisis_id in crisis_ids}
    if not found:
        return []
    activations = []
    for page in log_pages(app.recorder, topics=[LIAISON_OPENED, PLAN_ACTIVATED, REMINDER_OPENED, WARNING_DRAFTED]):
        for notification in page:
            event, topic = app.mapper.to_domain_event(notification), notification.topic
            if topic == PLAN_ACTIVATED:
                activations.append((event.unit, event.plan_id, event.crisis_id, event.recorded_at))
                continue
            links = found.get(event.crisis_id)
            if links is None:
                continue
            if topic == LIAISON_OPENED:
                links.liaisons.add(event.liaison_id)
            elif topic == REMINDER_OPENED:
                links.records.add(reminder_target(event.reminder_id))
            else:
                links.records.add(event.warning_id)
    for links in found.values():
        links.add_activations(activations)
    return list(found.values())


def exercise_crises(app: Any) -> set[str]:
    """The crises declared as exercises, from the event log (their declarations, by topic): not from a read
    model, which may lag behind the log or have stopped on a failure."""
    found = set()
    for page in log_pages(app.recorder, topics=[DECLARED]):
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            if getattr(event, "exercise", False):
                found.add(event.crisis_id)
    return found


def search_refusals(
    refusals: RefusalLog,
    *,
    links: CrisisLinks | None = None,
    target: str | None = None,
    user: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: int = 0,
    limit: int = 100,
    up_to: int | None = None,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[list[dict[str, Any]], int | None]:
    """Kept refused attempts matching every filter given (and `keep`), in the order they were kept, from the row
    after `after`; and the `after` of the next page (None when this is the last). `up_to` caps the row id."""
    if not 1 <= limit <= MAX_PAGE:
        raise DomainError(Rule.INVALID_INPUT, "limit {limit} is not between 1 and {max_limit}", {"limit": limit, "max_limit": MAX_PAGE})
    concerning = sorted(links.targets) if links is not None else None
    found: list[dict[str, Any]] = []
    cursor = after
    while True:
        batch = refusals.list(
            target=target, user=user, rule=rule, concerning=concerning, after=cursor, up_to=up_to, limit=_BATCH
        )
        for row in batch:
            if _matches(row, links, since, until) and (keep is None or keep(row)):
                found.append(row)
                if len(found) > limit:  # one more than asked for: there is a next page
                    return found[:limit], found[limit - 1]["id"]
        if len(batch) < _BATCH:
            return found, None
        cursor = batch[-1]["id"]


def _matches(row: dict[str, Any], links: CrisisLinks | None, since: datetime | None, until: datetime | None) -> bool:
    if links is not None and not links.concerns(row):
        return False
    if since is not None or until is not None:
        at = datetime.fromisoformat(row["at"])  # kept with the offset of the server clock: compare instants
        if (since is not None and at < since) or (until is not None and at > until):
            return False
    return True


def present_refusal(row: dict[str, Any], cleared: bool) -> dict[str, Any]:
    """A kept refused attempt as an auditor reads it: the arguments, and a message that may quote them, withheld
    from an uncleared reader."""
    at = datetime.fromisoformat(row["at"])
    return {
        "id": row["id"],
        "at": display(at, seconds=True),
        "user": row["user_name"],
        "role": row["role"],
        "command": row["command"],
        "target": withhold_target(row["target"], cleared),
        "rule": row["rule"],
        "message": withhold_message(row["rule"], row["message"], cleared),
        "payload": withhold_payload(row["payload"], cleared),
    }
