"""History for auditors: the event log, any record as it was, and the live picture as it was known.

Everything here is computed from the stored events, never from the live read-model tables:

- the global event log, paged by position and filtered by aggregate, event type, actor and recording time;
- any crisis, unit's preparedness or police liaison at a version, or at a recording time (the last version
  recorded at or before it), for the HTTP presenters of the live GETs;
- the situation overview (with the readiness and police liaison boards it is made of), a crisis timeline and
  a decision log AS THEY WERE KNOWN at a past moment T: the events recorded at or before T are replayed
  through the same ReadModel classes into a scratch in-memory SQLite store, and the same query functions
  run on it with at=T, so time-derived facts (overdue, ages, time against MTPD, reviews due) are those of T.

A moment is a recording time (the server's `recorded_at`), not an occurred time: "as known at 14:00" is
what had been recorded by 14:00, even if it happened earlier.

So that the overview as known at T does not replay the whole log, it starts from a snapshot of the
overview's read models (application.audit.snapshots) and applies the later events recorded by T.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from application.audit.redaction import Classifier, redact_event
from application.audit.snapshots import OVERVIEW_MODELS, OverviewSnapshots, apply_known
from application.coordination import Coordination
from application.ports import EventLogReader, ScratchStore, ScratchStores
from application.projections import (
    crisis_timeline,
    decision_log,
    police_liaison_board,
    readiness_board,
    situation_overview,
)
from application.projections.read_model import ReadModel
from application.projections.crisis_timeline import CrisisTimeline
from application.projections.paging import Page
from application.projections.decision_log import DecisionLog
from domain.access import Actor, authorise
from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.received_alert import ReceivedAlert
from domain.public_warning import PublicWarning
from domain.shared import Classification, DomainError, Rule, display, in_helsinki

MAX_PAGE = 1000
SCAN_BUDGET = 10_000  # stored events one page of a filtered event log reads at most
READ_PAGE = 1000  # stored events one step of a filtered event log reads

CRISIS_MODELS: tuple[type[ReadModel], ...] = (CrisisTimeline, DecisionLog)

# --- the aggregates and their events, as the log names them ---------------------------------------------

AGGREGATE_KINDS: dict[str, type[Aggregate]] = {
    "crisis": Crisis,
    "division_preparedness": DivisionPreparedness,
    "police_liaison": PoliceLiaison,
    "emergency_conditions": EmergencyConditions,
    "after_action_review": AfterActionReview,
    "received_alert": ReceivedAlert,
    "public_warning": PublicWarning,
}


def _event_classes(aggregate: type[Aggregate]) -> list[type]:
    base = aggregate.Event  # type: ignore[attr-defined]
    return [c for c in vars(aggregate).values() if isinstance(c, type) and issubclass(c, base) and c is not base]


EVENT_TYPES: dict[str, tuple[str, str]] = {  # "Crisis.SeverityChanged" -> (kind, topic)
    f"{cls.__name__}.{event.__name__}": (kind, get_topic(event))
    for kind, cls in AGGREGATE_KINDS.items()
    for event in _event_classes(cls)
}
KIND_OF_TOPIC: dict[str, str] = {topic: kind for kind, topic in EVENT_TYPES.values()}
NAME_OF_TOPIC: dict[str, str] = {topic: name for name, (_, topic) in EVENT_TYPES.items()}

# Never shown inside `data`: the log item shows them itself, or they are the library's bookkeeping.
BOOKKEEPING = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp", "actor", "recorded_at"})
def natural_id(event: Any) -> str:
    for name in ("crisis_id", "unit", "liaison_id", "alert_id", "warning_id"):
        if isinstance(event, _OWNER_EVENT[name]):
            return getattr(event, name)
    return "emergency-conditions"


_OWNER_EVENT = {
    "crisis_id": (Crisis.Event, AfterActionReview.Event), "unit": DivisionPreparedness.Event,
    "liaison_id": PoliceLiaison.Event, "alert_id": ReceivedAlert.Event, "warning_id": PublicWarning.Event,
}


def plain(value: Any, *, local: bool = True) -> Any:
    """Event values as JSON: exact times in Europe/Helsinki with their offset (or, with local=False, with the
    offset they were stored with), value objects and entities as their fields."""
    if isinstance(value, datetime):
        return in_helsinki(value).isoformat() if local else value.isoformat()
    if isinstance(value, Classification):
        return value.as_dict()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v, local=local) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v, local=local) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), local=local) for f in fields(value)}
    return value


def event_data(event: Any, classification: Classification, cleared: bool, short_names: dict[str, str]) -> dict[str, Any]:
    """An event's stored fields as the reader sees them under the classification governing it (its record's,
    or that of the record it belongs to), with whether its content was replaced by the label."""
    data = {k: plain(v) for k, v in vars(event).items() if k not in BOOKKEEPING}
    shown, redacted = redact_event(data, event, classification, cleared, short_names)
    if "classification" in data or not classification.is_public:
        shown.setdefault("classification", classification.as_dict())  # the governing one, if none of its own
        shown["redacted"] = redacted
    return shown



# --- the use cases ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """Which events of the log: all of them unless narrowed."""

    after: int = 0
    limit: int = 100
    crisis_ids: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    liaison_ids: tuple[str, ...] = ()
    aggregate_kinds: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    actor: str | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    exercise: bool | None = None  # only the events of exercises (True), or none of theirs (False)

    def originators(self) -> list[UUID]:
        ids = [Crisis.id_for(c) for c in self.crisis_ids]
        ids += [AfterActionReview.id_for(c) for c in self.crisis_ids]  # a crisis's after-action review
        ids += [DivisionPreparedness.id_for(u) for u in self.units]
        ids += [PoliceLiaison.id_for(i) for i in self.liaison_ids]
        return ids

    def topics(self) -> list[str]:
        for kind in self.aggregate_kinds:
            if kind not in AGGREGATE_KINDS:
                raise DomainError(
                    Rule.INVALID_INPUT, "aggregate kind {kind!r} is not one of {kinds}", {"kind": kind, "kinds": ', '.join(AGGREGATE_KINDS)}
                )
        chosen = {
            topic for name, (kind, topic) in EVENT_TYPES.items()
            if (not self.aggregate_kinds or kind in self.aggregate_kinds)
            and (not self.event_types or name in self.event_types or name.split(".", 1)[1] in self.event_types)
        }
        unknown = [t for t in self.event_types if t not in EVENT_TYPES and not any(
            name.split(".", 1)[1] == t for name in EVENT_TYPES
        )]
        if unknown:
            raise DomainError(
                Rule.INVALID_INPUT,
                "no event type {unknown}; the types are {types}", {"unknown": ', '.join(unknown), "types": ', '.join(sorted(EVENT_TYPES))},
            )
        if (self.aggregate_kinds or self.event_types) and not chosen:
            raise DomainError(Rule.INVALID_INPUT, "no event type is of that aggregate kind")
        return sorted(chosen) if (self.aggregate_kinds or self.event_types) else []

    def matches(self, event: Any) -> bool:
        if self.actor is not None and getattr(event, "actor", None) != self.actor:
            return False
        if self.recorded_from is not None and event.recorded_at < self.recorded_from:
            return False
        return self.recorded_to is None or event.recorded_at <= self.recorded_to

    @property
    def decodes_to_filter(self) -> bool:
        return (self.actor is not None or self.recorded_from is not None or self.recorded_to is not None
                or self.exercise is not None)


@dataclass
class Basis:
    """What an as-of answer was computed from, for the auditor to see."""

    as_of: datetime
    log_position: int
    snapshot_position: int | None = None
    events_read: int = 0
    events_applied: int = 0
    full_replay: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": display(self.as_of, seconds=True),
            "known_by": "events recorded at or before as_of",
            "log_position": self.log_position,
            "snapshot_position": self.snapshot_position,
            "events_read": self.events_read,
            "events_applied": self.events_applied,
            "full_replay": self.full_replay,
        }


@dataclass(frozen=True)
class AggregateAt:
    """An aggregate as it was, and the moment its time-derived facts are computed for."""

    aggregate: Any
    version: int
    version_recorded_at: datetime
    at: datetime
    latest_version: int


class History:
    """The auditors' reads of history. Every read is the auditor's alone (FORBIDDEN_ROLE otherwise)."""

    def __init__(
        self, app: Coordination, event_log: EventLogReader, snapshots: OverviewSnapshots, scratch: ScratchStores
    ) -> None:
        self.app = app
        self.log = event_log
        self.snapshots = snapshots
        self.scratch = scratch
        self.overview_models = [cls() for cls in OVERVIEW_MODELS]
        self.crisis_models = [cls() for cls in CRISIS_MODELS]

    # -- the event log ------------------------------------------------------------------------------------

    def list_events(self, actor: Actor, wanted: EventFilter = EventFilter()) -> dict[str, Any]:
        """A page of the log in position order. Filters on actor and time read at most SCAN_BUDGET stored
        events per page: a page may then hold fewer items than asked while `end_of_log` is false; go on from
        `next_after`."""
        authorise(actor, "list_events")
        if not 1 <= wanted.limit <= MAX_PAGE:
            raise DomainError(Rule.INVALID_INPUT, "limit must be between 1 and {max_limit}", {"max_limit": MAX_PAGE})
        end = self.log.last_position()
        originators, topics = wanted.originators(), wanted.topics()
        names = self.app.policy.units.short_names
        items: list[dict[str, Any]] = []
        classifier = Classifier(self.app.repository)
        reached = wanted.after
        budget = SCAN_BUDGET
        exhausted = False
        while len(items) < wanted.limit and budget > 0:
            size = min(READ_PAGE, budget) if wanted.decodes_to_filter else wanted.limit - len(items)
            page = self.log.select(after=reached, limit=size, stop=end, originators=originators, topics=topics)
            budget -= len(page)
            for notification in page:
                reached = notification.id
                event = self.log.decode(notification)
                exercise = classifier.exercise(classifier.crisis_of(event))
                if wanted.matches(event) and wanted.exercise in (None, exercise):
                    items.append({**self._item(notification, event, classifier(event), actor.clearance, names),
                                  **({"exercise": True} if exercise else {})})
                    if len(items) == wanted.limit:
                        break
            if len(page) < size:
                exhausted = True
                break
        if exhausted and len(items) < wanted.limit:
            reached = max(reached, end)
        return {
            "items": items,
            "next_after": reached,
            "end_of_log": reached >= end,
            "log_position": end,
        }

    @staticmethod
    def _item(
        notification: Notification, event: Any, classification: Classification, cleared: bool, names: dict[str, str]
    ) -> dict[str, Any]:
        return {
            "position": notification.id,
            "aggregate_kind": KIND_OF_TOPIC.get(notification.topic),
            "aggregate_id": natural_id(event),
            "version": notification.originator_version,
            "type": NAME_OF_TOPIC.get(notification.topic, notification.topic),
            "actor": getattr(event, "actor", None),
            "recorded_at": in_helsinki(event.recorded_at).isoformat(),
            "data": event_data(event, classification, cleared, names),
        }

    # -- aggregates as they were ----------------------------------------------------------------------------

    def _aggregate_at(
        self, aggregate_id: UUID, label: str, version: int | None, as_of: datetime | None
    ) -> AggregateAt:
        """The aggregate at `version`, or as known at `as_of`, reading a few of its events (not all: a crisis may
        have tens of thousands): its last, the one chosen, and for `as_of` those a binary search over its
        versions reads. The recorded times of one record's events grow with its versions (the server clock)."""
        if (version is None) == (as_of is None):
            raise DomainError(Rule.INVALID_INPUT, "give either version=N or as_of=<time with offset>, not both")
        read: dict[int, Any] = {}

        def event(number: int) -> Any:
            if number not in read:
                [read[number]] = self.app.events.get(aggregate_id, gt=number - 1, lte=number)
            return read[number]

        last = list(self.app.events.get(aggregate_id, desc=True, limit=1))
        if not last:
            raise DomainError(Rule.NOT_FOUND, "there is no {label}", {"label": label})
        latest = last[0].originator_version
        if version is not None:
            if not 1 <= version <= latest:
                raise DomainError(Rule.NOT_FOUND, "{label} has versions 1–{latest}, not {version}", {"label": label, "latest": latest, "version": version})
            chosen, at = event(version), event(version).recorded_at
        else:
            if event(1).recorded_at > as_of:
                raise DomainError(
                    Rule.NOT_FOUND,
                    "{label} was first recorded at {recorded_at}, "
                    "after {as_of}", {"label": label, "recorded_at": display(event(1).recorded_at, seconds=True), "as_of": display(as_of, seconds=True)},
                )
            low, high = 1, latest  # event(low) was recorded by as_of; the one chosen is at most `high`
            while low < high:
                middle = (low + high + 1) // 2
                low, high = (middle, high) if event(middle).recorded_at <= as_of else (low, middle - 1)
            chosen, at = event(low), as_of
        try:
            aggregate = self.app.repository.get(aggregate_id, version=chosen.originator_version)
        except AggregateNotFoundError:  # pragma: no cover - the events were just read
            raise DomainError(Rule.NOT_FOUND, "there is no {label}", {"label": label}) from None
        return AggregateAt(aggregate, chosen.originator_version, chosen.recorded_at, at, latest)

    def get_crisis_at(
        self, actor: Actor, crisis_id: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        authorise(actor, "get_crisis_at")
        found = self._aggregate_at(Crisis.id_for(crisis_id), f"crisis {crisis_id}", version, as_of)
        return replace(found, aggregate=self.app.crisis_record(crisis_id, found.version))  # with its texts

    def get_division_preparedness_at(
        self, actor: Actor, unit: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        authorise(actor, "get_division_preparedness_at")
        found = self._aggregate_at(DivisionPreparedness.id_for(unit), f"preparedness record for {unit}", version, as_of)
        return replace(found, aggregate=self.app.preparedness_record(unit, found.version))  # with its texts

    def get_police_liaison_at(
        self, actor: Actor, liaison_id: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        authorise(actor, "get_police_liaison_at")
        found = self._aggregate_at(PoliceLiaison.id_for(liaison_id), f"police liaison {liaison_id}", version, as_of)
        return replace(found, aggregate=self.app.liaison_record(liaison_id, found.version))  # with its texts

    def get_after_action_review_at(
        self, actor: Actor, crisis_id: str, *, version: int | None = None, as_of: datetime | None = None
    ) -> AggregateAt:
        authorise(actor, "get_after_action_review_at")
        label = f"after-action review of {crisis_id}"
        found = self._aggregate_at(AfterActionReview.id_for(crisis_id), label, version, as_of)
        return replace(found, aggregate=self.app.after_action_review_record(crisis_id, found.version))

    # -- the live picture as it was known -------------------------------------------------------------------

    @contextmanager
    def _overview_known_at(self, at: datetime, full_replay: bool = False) -> Iterator[tuple[ScratchStore, Basis]]:
        """A scratch store holding the overview's read models as they stood with the events recorded by `at`."""
        stop = self.log.last_position()
        basis = Basis(at, stop, full_replay=full_replay)
        snapshot = None if full_replay else self.snapshots.known_by(at, stop)
        image = self.snapshots.image(snapshot) if snapshot is not None else None
        with self.scratch(self.overview_models, image) as store:
            if snapshot is not None:
                basis.snapshot_position = snapshot.position
            after = snapshot.position if snapshot else 0
            ranges = [(after, stop)] if full_replay else self.snapshots.ranges_to_read(after, stop, at)
            topics = self.snapshots.topics
            for gt, lte in ranges:
                for page in self.log.scan(after=gt, stop=lte, topics=topics):
                    basis.events_read += len(page)
                    decoded = ((n, self.log.decode(n)) for n in page)
                    known = [(n, e) for n, e in decoded if e.recorded_at <= at]
                    basis.events_applied += apply_known(store, self.overview_models, known)
            yield store, basis

    def get_situation_overview_at(self, actor: Actor, at: datetime, *, full_replay: bool = False) -> dict[str, Any]:
        authorise(actor, "get_situation_overview_at")
        with self._overview_known_at(at, full_replay) as (store, basis):
            picture = situation_overview.overview(store, at, actor.clearance, self.app.policy, improvement_items=False)
        return {**picture, "history": basis.as_dict()}

    def get_readiness_board_at(self, actor: Actor, at: datetime, *, full_replay: bool = False) -> dict[str, Any]:
        authorise(actor, "get_readiness_board_at")
        with self._overview_known_at(at, full_replay) as (store, basis):
            board = readiness_board.board(store, at, actor.clearance, self.app.policy)
        return {**board, "history": basis.as_dict()}

    def get_police_liaison_board_at(
        self, actor: Actor, at: datetime, *, full_replay: bool = False
    ) -> dict[str, Any]:
        authorise(actor, "get_police_liaison_board_at")
        with self._overview_known_at(at, full_replay) as (store, basis):
            board = police_liaison_board.board(store, at, actor.clearance, self.app.policy)
        return {**board, "history": basis.as_dict()}

    @contextmanager
    def _crisis_known_at(self, crisis_id: str, at: datetime) -> Iterator[tuple[ScratchStore, Basis]]:
        """A scratch store with the crisis's timeline and decision log from its events recorded by `at`."""
        notifications = self.log.of_aggregate(Crisis.id_for(crisis_id))
        review = self.log.of_aggregate(AfterActionReview.id_for(crisis_id))  # its steps are on the timeline too
        if notifications and review:
            notifications = sorted([*notifications, *review], key=lambda notification: notification.id)
        if not notifications:
            raise DomainError(Rule.NOT_FOUND, "there is no crisis {crisis_id}", {"crisis_id": crisis_id})
        decoded = sorted([(n, self.log.decode(n)) for n in notifications] + self._warnings_of(crisis_id),
                         key=lambda pair: pair[0].id)
        known = [(n, e) for n, e in decoded if e.recorded_at <= at]
        if not known:
            raise DomainError(
                Rule.NOT_FOUND,
                "crisis {crisis_id} was first recorded at {recorded_at}, "
                "after {at}", {"crisis_id": crisis_id, "recorded_at": display(decoded[0][1].recorded_at, seconds=True), "at": display(at, seconds=True)},
            )
        basis = Basis(at, self.log.last_position(), events_read=len(decoded), full_replay=True)
        with self.scratch(self.crisis_models) as store:
            basis.events_applied = apply_known(store, self.crisis_models, known)
            yield store, basis

    def _warnings_of(self, crisis_id: str) -> list[tuple[Notification, Any]]:
        """The events of the crisis's public warnings (its timeline shows them): each warning found by its
        first event, among the few of that one type in the log."""
        found: list[tuple[Notification, Any]] = []
        for page in self.log.scan(topics=[get_topic(PublicWarning.Drafted)]):
            for drafted in page:
                event = self.log.decode(drafted)
                if event.crisis_id == crisis_id:
                    found += [(n, self.log.decode(n)) for n in self.log.of_aggregate(event.originator_id)]
        return found

    def get_crisis_timeline_at(
        self, actor: Actor, crisis_id: str, at: datetime, page: Page | None = None
    ) -> dict[str, Any]:
        authorise(actor, "get_crisis_timeline_at")
        with self._crisis_known_at(crisis_id, at) as (store, basis):
            timeline = crisis_timeline.timeline(store, crisis_id, at, actor.clearance, self.app.policy, page)
        return {**timeline, "history": basis.as_dict()}

    def get_decision_log_at(
        self, actor: Actor, crisis_id: str, at: datetime, page: Page | None = None
    ) -> dict[str, Any]:
        authorise(actor, "get_decision_log_at")
        with self._crisis_known_at(crisis_id, at) as (store, basis):
            decisions = decision_log.decision_log(store, crisis_id, at, actor.clearance, self.app.policy, page)
        return {**decisions, "history": basis.as_dict()}
