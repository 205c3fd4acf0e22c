"""The position use cases (signing on and off, preparing and accepting a handover brief), mixed into the
Coordination; the handover brief itself, built from the read models and the log; and who held which position,
and what had been handed over, at any moment (for auditors).

A brief is what the incoming person must know: what is open now (actions open and overdue, situation reports due,
police requests open and unanswered beyond the threshold, decisions due for review, readiness, active plans), what
happened in the log since the previous handover (each event's summary: who did what, when, never a record's
content) and what was decided. It is built as a reader without clearance sees the picture, so that the brief
frozen in the event shows classified records as their labels only, whoever reads it later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.ports import EventLogReader, Store
from application.projections import deadlines, situation_overview
from application.projections.situation_overview import EXERCISES
from domain.access import Actor, authorise
from domain.crisis import Crisis
from domain.position import POSITIONS, Position, post
from domain.shared import DomainError, N_, Policy, Rule, display

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object

RECORD_KEYS = ("crisis_id", "unit", "liaison_id", "position")  # what an event names its record by
BRIEF_ITEMS = 200  # at most this many of each list in a brief; the rest is counted ("more")

# (since, until, at) -> the brief: what the router hands the use case, built on the read models and the log
BriefBuilder = Callable[[int, int, datetime], dict[str, Any]]


def handover_brief(store: Store, event_log: EventLogReader, policy: Policy, since: int, until: int, at: datetime) -> dict[str, Any]:
    """The brief of what is open at `at` and what the log holds after position `since` up to `until`."""
    picture = situation_overview.overview(store, at, False, policy)
    changes, decided = [], []
    exercises = {row["crisis_id"] for row in store.query(f"SELECT crisis_id FROM {EXERCISES}")}
    liaisons = _liaisons_of(store, exercises)
    notifications = event_log.select(after=since, stop=until, limit=BRIEF_ITEMS + 1)
    for notification in notifications[:BRIEF_ITEMS]:
        event = event_log.decode(notification)
        crisis_id = getattr(event, "crisis_id", None) or getattr(event, "crisis_ref", None)
        if crisis_id in exercises or getattr(event, "liaison_id", None) in liaisons:
            continue  # an exercise's: never in a real handover
        changes.append({"position": notification.id, "recorded_at": display(event.recorded_at),
                        "record": next((getattr(event, key) for key in RECORD_KEYS if hasattr(event, key)), None),
                        "what": str(event.summary())})
        if isinstance(event, Crisis.DecisionRecorded):
            decided.append({"crisis_id": event.crisis_id, "decision_id": event.decision_id,
                            "decided_at": display(event.occurred_at), "review_at": display(event.review_at)})
    reports_due = [
        {"crisis_id": crisis["crisis_id"], **crisis["latest_situation_report"]}
        for crisis in picture["active_crises"] if crisis["latest_situation_report"] is not None
    ]
    return {
        "at": display(at, seconds=True),
        "since_position": since,
        "until_position": until,
        "active_crises": _cut(picture["active_crises"]),
        "open_actions": _cut(picture["open_actions"]),
        "overdue_actions": _cut(picture["overdue_actions"]),
        "situation_reports_due": _cut(reports_due),
        "police_requests_open": _cut(picture["police_requests"]["open"]),
        "police_requests_unanswered": _cut(picture["police_requests"]["unanswered_beyond_threshold"]),
        "decisions_review_due": _cut(picture["decisions_review_due"]),
        "readiness": picture["readiness"],
        "active_plans": _cut(picture["active_plans"]),
        "changes": {"items": changes, "more": len(notifications) > BRIEF_ITEMS},
        "decided": decided,
        "reminders_unacknowledged": _cut([
            {key: shown[key] for key in ("reminder_id", "deadline_kind", "crisis_id", "ref", "unit", "due_at", "notices")}
            for shown in map(deadlines.presented, deadlines.open_reminders(store)) if shown["acknowledged_by"] is None
        ]),
    }


def _liaisons_of(store: Store, crises: set[str]) -> set[str]:
    """The police liaison matters opened for `crises` (their events name no crisis)."""
    if not crises:
        return set()
    rows = store.query(
        f"SELECT liaison_id FROM rm_liaisons WHERE crisis_id IN ({', '.join(['%s'] * len(crises))})", tuple(crises)
    )
    return {row["liaison_id"] for row in rows}


def _cut(items: list[Any]) -> dict[str, Any]:
    return {"items": items[:BRIEF_ITEMS], "total": len(items)}


@dataclass(frozen=True)
class Holding:
    """Who held a position from when (and until when, if they no longer do)."""

    position: str
    holder: str
    since: datetime
    until: datetime | None


class PositionUseCases(UseCases):
    def load_position(self, code: str, actor: Actor | None = None) -> Position:
        """The position's record; one never used is established by the actor's first command on it."""
        post(code)
        try:
            return self._load(Position, Position.id_for(code), N_("position {position}", position=code))
        except DomainError as missing:
            if actor is None or missing.rule is not Rule.NOT_FOUND:
                raise
            return Position.establish(position=code, actor=actor.user, now=self.now())

    def _position_command(
        self, use_case: str, actor: Actor, code: str, expected_version: int | None, payload: dict[str, Any],
        change: Callable[[Position, datetime], None],
    ) -> int:
        return self._command(
            use_case, actor, f"position:{code}", lambda: self.load_position(code, actor), expected_version, payload,
            change, label=N_("position {position}", position=code),
        )

    def sign_on(self, actor: Actor, code: str, *, expected_version: int | None = None) -> int:
        """Take a vacant position."""
        return self._position_command("hold_position", actor, code, expected_version, {"position": code},
                                      lambda position, now: position.sign_on(actor=actor, now=now))

    def sign_off(self, actor: Actor, code: str, *, expected_version: int | None = None) -> int:
        """Leave a position one holds (vacant until someone signs on or takes it over)."""
        return self._position_command("hold_position", actor, code, expected_version, {"position": code},
                                      lambda position, now: position.sign_off(actor=actor, now=now))

    def prepare_handover_brief(
        self, actor: Actor, code: str, build: BriefBuilder, *, expected_version: int | None = None
    ) -> tuple[int, int]:
        """Freeze a brief of what happened since the position's previous handover and what is open now. The
        position's new version and the brief's number (that of the brief at that version: a retry with the same
        Idempotency-Key is answered with the first run's)."""

        def change(position: Position, now: datetime) -> None:
            until = self.event_log.last_position()
            brief = build(position.until, until, now)
            position.prepare_brief(since=position.until, until=until, brief=brief, actor=actor, now=now)

        version = self._position_command("hold_position", actor, code, expected_version, {"position": code}, change)
        [prepared] = self.events.get(Position.id_for(code), gt=version - 1, lte=version)
        return version, prepared.number

    def accept_handover_brief(
        self, actor: Actor, code: str, *, number: int, digest: str, expected_version: int | None = None
    ) -> int:
        """Take the position over, having read brief `number` (whose digest is named)."""
        return self._position_command(
            "hold_position", actor, code, expected_version, {"position": code, "number": number, "digest": digest},
            lambda position, now: position.accept_brief(number=number, given_digest=digest, actor=actor, now=now),
        )

    # --- reads ---------------------------------------------------------------------------------------

    def get_positions(self, actor: Actor) -> list[Position | str]:
        """Each position's record, or its code where it was never held."""
        authorise(actor, "read_situation_picture")
        found: list[Position | str] = []
        for code in POSITIONS:
            try:
                found.append(self.load_position(code))
            except DomainError:
                found.append(code)
        return found

    def get_handover_brief(self, actor: Actor, code: str, number: int) -> tuple[Position.BriefPrepared, int]:
        """Brief `number` of a position, as it was frozen, and the position's version now."""
        authorise(actor, "read_situation_picture")
        events = self._position_events(code)
        for event in events:
            if isinstance(event, Position.BriefPrepared) and event.number == number:
                return event, events[-1].originator_version
        raise DomainError(Rule.NOT_FOUND, "{position} has no handover brief #{number}", {"position": code, "number": number})

    def holdings_at(self, actor: Actor, at: datetime) -> tuple[list[Holding], list[Position.HandedOver]]:
        """Who held each position at `at` (and since when), and every handover accepted by then (auditors)."""
        authorise(actor, "get_positions_at")
        held: list[Holding] = []
        handed: list[Position.HandedOver] = []
        for code in POSITIONS:
            holding: Holding | None = None
            for event in self._position_events(code):
                if event.recorded_at > at:
                    break
                if isinstance(event, Position.SignedOn):
                    holding = Holding(code, event.holder, event.occurred_at, None)
                elif isinstance(event, Position.SignedOff):
                    holding = None
                elif isinstance(event, Position.HandedOver):
                    holding = Holding(code, event.to_holder, event.recorded_at, None)
                    handed.append(event)
            if holding is not None:
                held.append(holding)
        return held, sorted(handed, key=lambda event: event.recorded_at)

    def _position_events(self, code: str) -> list[Any]:
        post(code)
        return list(self.events.get(Position.id_for(code)))
