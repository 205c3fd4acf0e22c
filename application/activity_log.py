"""Activity logs in the manner of ICS 214: what one unit did and was assigned, what one person recorded, or what
was recorded in one crisis, event by event in the order they were recorded, within a time window.

Read from the event log itself (not a read model): every row is a stored domain event, with its log position,
the time it was recorded and the time it says it happened (Europe/Helsinki, with the offset), who recorded it,
the record it belongs to, what it did (the event's own one-line summary, an `N_` template) and its fields,
redacted for the reader as the auditors' event log is (application.audit.history.event_data: the content of
a SECRET or RECEIVED record is its label for a reader without clearance).

- A unit's log: the events of its preparedness (readiness, continuity plans) and the actions assigned to it in
  any crisis, with their completion or cancellation. Within a crisis: its actions there, and the plan
  activations and readiness changes that name the crisis.
- A person's log: every event recorded by that user.
- A crisis's log: its own events, those of the police liaison matters opened for it, and the preparedness
  events naming it; narrowed to a unit or a person as above.

A crisis's own copy of a plan activation or of a police request (written in the same command as the unit's or
the liaison's event) is shown once, as the unit's or the liaison's event.

Bounded: the window (by default the crisis's whole life, or the `DEFAULT_WINDOW` up to now) is found in the log
by its recording times, the rows are cut at `limit` (the answer counts those left out), and one log reads at
most `SCAN_BUDGET` stored events (the answer then says where it stopped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventsourcing.utils import get_topic

from application.audit.history import NAME_OF_TOPIC, event_data, natural_id
from application.audit.redaction import Classifier
from application.ports import EventLogReader
from domain.access import Actor, Role, authorise
from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.police_liaison import PoliceLiaison
from domain.public_warning import PublicWarning
from domain.received_alert import ReceivedAlert
from domain.secrecy import record_of
from domain.shared import N_, DomainError, Rule, display

DEFAULT_ROWS = 500
MAX_ROWS = 2000
DEFAULT_WINDOW = timedelta(days=7)
SCAN_BUDGET = 100_000
CLOCK_MARGIN = timedelta(minutes=1)  # recording times of neighbouring positions may differ by this, out of order

# The crisis's own copy of what the unit's or the liaison's event records.
MIRRORS = (
    Crisis.ContinuityPlanActivated, Crisis.ContinuityPlanDeactivated, Crisis.PoliceRequestOpened,
    Crisis.PoliceRequestClosed,
)
# The events a unit's log is made of, by topic (the store filters them).
UNIT_TOPICS = sorted(
    {get_topic(cls) for cls in vars(DivisionPreparedness).values()
     if isinstance(cls, type) and issubclass(cls, DivisionPreparedness.Event)}
    | {get_topic(Crisis.ActionAssigned), get_topic(Crisis.ActionClosed)}
)
# Fields a row shows in its own columns (or its summary names), not again among its details.
SHOWN_APART = frozenset(
    "classification redacted occurred_at crisis_id unit liaison_id number action_id decision_id request_id plan_id"
    .split()
)


@dataclass(frozen=True)
class Scope:
    """Which events: of a unit, by a person, in a crisis (any together), recorded between `since` and `until`."""

    unit: str | None = None
    person: str | None = None
    crisis_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_ROWS


def activity_log(app: Any, log: EventLogReader, actor: Actor, use_case: str, scope: Scope) -> dict[str, Any]:
    """The rows of the log for `actor`, and what bounds them. `use_case` is the permission read; a division
    contact reads their own unit's log only (FORBIDDEN_ROLE)."""
    authorise(actor, use_case)
    if actor.role is Role.DIVISION_CONTACT and scope.unit != actor.unit:
        raise DomainError(
            Rule.FORBIDDEN_ROLE, "the division contact of {actor_unit} may not {what} for {unit}",
            {"actor_unit": actor.unit, "what": N_("read activity logs"), "unit": scope.unit or N_("every unit")},
            role=str(actor.role),
        )
    if not 1 <= scope.limit <= MAX_ROWS:
        raise DomainError(Rule.INVALID_INPUT, "limit must be between 1 and {max_limit}", {"max_limit": MAX_ROWS})
    if scope.unit is not None:
        app.policy.units.check_unit(scope.unit)
    end = log.last_position()
    start = 0
    since, until = scope.since, scope.until or app.now()
    if scope.crisis_id is not None:
        first = log.select(after=0, limit=1, stop=end, originators=[Crisis.id_for(scope.crisis_id)])
        if not first:
            raise DomainError(Rule.NOT_FOUND, "there is no crisis {crisis_id}", {"crisis_id": scope.crisis_id})
        start = first[0].id - 1
    elif since is None:
        since = until - DEFAULT_WINDOW
    if since is not None and since > until:
        raise DomainError(Rule.INVALID_INPUT, "the window's `until` must be later than its `since`")
    if since is not None:
        start = max(start, _recorded_before(log, since - CLOCK_MARGIN, start, end))

    reader = _Reader(app, actor, scope, since, until)
    topics = UNIT_TOPICS if scope.unit is not None and scope.crisis_id is None else []
    scanned, reached, finished = 0, start, True
    for page in log.scan(after=start, stop=end, topics=topics):
        for notification in page:
            if scanned == SCAN_BUDGET:
                finished = False
                break
            scanned += 1
            reached = notification.id
            event = log.decode(notification)
            if event.recorded_at > until + CLOCK_MARGIN:
                break
            reader.take(notification, event)
        else:
            continue
        break
    return {
        **({"exercise": True} if reader.classifier.exercise(scope.crisis_id) else {}),
        "rows": reader.rows,
        "more": reader.more,
        "since": display(since, seconds=True) if since else None,
        "until": display(until, seconds=True),
        "limit": scope.limit,
        "log_position": end,
        "scanned_to": None if finished else reached,
        "disclosed": reader.disclosed(),
    }


class _Reader:
    """Takes the events that belong in the log, as rows redacted for the reader, and counts those beyond the
    limit; remembers the non-public records it showed unredacted (for the disclosure log)."""

    def __init__(self, app: Any, actor: Actor, scope: Scope, since: datetime | None, until: datetime) -> None:
        self.classifier = Classifier(app.repository)
        self.actor, self.scope, self.since, self.until = actor, scope, since, until
        self.names = app.policy.units.short_names
        self.rows: list[dict[str, Any]] = []
        self.more = 0
        self._disclosed: dict[tuple[str, str | None], dict[str, Any]] = {}

    def take(self, notification: Any, event: Any) -> None:
        if not self._belongs(event):
            return
        if len(self.rows) == self.scope.limit:
            self.more += 1
            return
        classification = self.classifier(event)
        data = event_data(event, classification, self.actor.clearance, self.names)
        crisis_id = self._crisis_of(event)
        if data.get("redacted") is False and not classification.is_public:
            kind = record_of(event) or "event"
            record = _record_id(event) or f"position {notification.id}"
            self._disclosed.setdefault((kind, record), {
                "kind": kind, "id": record, "crisis_id": crisis_id, "classification": classification.as_dict(),
            })
        self.rows.append({
            "position": notification.id,
            "recorded_at": display(event.recorded_at, seconds=True),
            "occurred_at": display(getattr(event, "occurred_at", None) or event.recorded_at),
            "actor": event.actor,
            "record": natural_id(event),
            "crisis_id": crisis_id,
            "type": NAME_OF_TOPIC.get(notification.topic, notification.topic),
            "summary": str(event.summary()),
            "classification": data.get("classification"),
            "redacted": bool(data.get("redacted")),
            "details": {k: v for k, v in data.items() if k not in SHOWN_APART and v not in (None, "", [], {})},
        })

    def disclosed(self) -> list[dict[str, Any]]:
        return list(self._disclosed.values())

    def _belongs(self, event: Any) -> bool:
        scope = self.scope
        if isinstance(event, MIRRORS):
            return False
        if self.since is not None and event.recorded_at < self.since or event.recorded_at > self.until:
            return False
        if scope.person is not None and event.actor != scope.person:
            return False
        if scope.unit is not None and not self._of_unit(event, scope.unit):
            return False
        if scope.crisis_id is None:  # across crises: the real ones only, never an exercise's
            return not self.classifier.exercise(self._crisis_of(event))
        return self._crisis_of(event) == scope.crisis_id

    def _of_unit(self, event: Any, unit: str) -> bool:
        if isinstance(event, (DivisionPreparedness.Event, Crisis.ActionAssigned)):
            return bool(event.unit == unit)
        if isinstance(event, Crisis.ActionClosed):
            action = self.classifier.aggregate(event.originator_id).actions.get(event.action_id)
            return action is not None and action.unit == unit
        return False

    def _crisis_of(self, event: Any) -> str | None:
        if isinstance(event, (Crisis.Event, PoliceLiaison.Event, DivisionPreparedness.Event, AfterActionReview.Event,
                              PublicWarning.Event, ReceivedAlert.Event)):
            return self.classifier.crisis_of(event)
        return None


def _recorded_before(log: EventLogReader, moment: datetime, after: int, end: int) -> int:
    """The last position (at least `after`) whose event was recorded before `moment`, by bisection over the log:
    its recording times grow with its positions (the server clock)."""
    low, high = after, end
    while low < high:
        middle = (low + high + 1) // 2
        found = log.select(after=middle - 1, limit=1, stop=end)
        if found and log.decode(found[0]).recorded_at < moment:
            low = found[0].id
        else:
            high = middle - 1
    return low


def _record_id(event: Any) -> str | None:
    for name in ("number", "action_id", "decision_id", "request_id", "plan_id", "liaison_id", "crisis_id", "unit"):
        if hasattr(event, name):
            return str(getattr(event, name))
    return None

