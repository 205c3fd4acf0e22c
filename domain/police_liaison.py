"""PoliceLiaison: the city–police cooperation on one matter (a crisis, or a standing topic).

Records the people on both sides, requests in both directions with exactly one terminal outcome, and the
information shared with the police. The aggregate keeps what its rules need (its crisis, and each request's
classification, status and times); subjects, answers, people and what was shared live in its events, and
`LiaisonRecord` folds them for reading. Snapshots encode the entity classes by class name: `PoliceRequest` and
`InformationShare` are in snapshots written before the slimming (`upcast_v1_v2`) and are what readers are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.record import Folded, Record
from domain.shared import (
    PUBLIC,
    Classification,
    DomainError,
    N_,
    Policy,
    Rule,
    check_entry_time,
    clock_time,
    display,
    outcome_words,
    required_text,
)

DIRECTIONS = ("CITY_TO_POLICE", "POLICE_TO_CITY")
REQUEST_TYPES = ("INFORMATION", "COORDINATION", "EXECUTIVE_ASSISTANCE")
OUTCOMES = ("ANSWERED", "DECLINED", "WITHDRAWN")


@dataclass
class PoliceRequest:
    request_id: str
    direction: str
    request_type: str
    subject: str
    legal_basis: str | None
    classification: Classification
    raised_at: datetime
    recorded_at: datetime
    actor: str
    status: str = "OPEN"
    closed_at: datetime | None = None
    closed_by: str | None = None
    answered_by: str | None = None
    response: str | None = None
    response_classification: Classification = PUBLIC


@dataclass
class InformationShare:
    what: str
    to_whom: str
    shared_at: datetime
    recorded_at: datetime
    actor: str
    classification: Classification


@dataclass
class RequestState:
    """What the matter keeps of a request: its classification (its answer is at least as secret), when it was
    raised (it is closed after that), and whether, when and how it was closed."""

    request_id: str
    classification: Classification
    raised_at: datetime
    status: str = "OPEN"
    closed_at: datetime | None = None


ENTITY_CLASSES = (PoliceRequest, InformationShare, RequestState)


class PoliceLiaison(Record):
    """One liaison matter between the city and the police: its crisis, if any, and the state of each of its
    requests (module docstring)."""

    kind, key = "police-liaison", "liaison_id"
    class_version = 2

    class Event(Record.Event):
        liaison_id: str

    class Opened(Event, Record.Created):
        liaison_id: str
        crisis_id: str | None
        topic: str | None
        city_people: list[str]
        police_people: list[str]

        def apply(self, liaison: PoliceLiaison) -> None:
            liaison.liaison_id = self.liaison_id
            liaison.crisis_id = self.crisis_id
            liaison.requests = {}

        def summary(self) -> str:
            return N_("liaison {liaison_id} opened by {actor}", liaison_id=self.liaison_id, actor=self.actor)

    class PeopleChanged(Event):
        city_people: list[str]
        police_people: list[str]

        def apply(self, liaison: PoliceLiaison) -> None:
            pass  # the people change no rule: they are read from the event

        def summary(self) -> str:
            return N_("people of liaison changed by {actor}", actor=self.actor)

    class RequestRaised(Event):
        request_id: str
        direction: str
        request_type: str
        subject: str
        legal_basis: str | None
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, liaison: PoliceLiaison) -> None:
            liaison.requests[self.request_id] = RequestState(
                request_id=self.request_id, classification=self.classification, raised_at=self.occurred_at
            )

        def summary(self) -> str:
            return N_("request {request_id} raised by {actor} at {time}", request_id=self.request_id, actor=self.actor, time=clock_time(self.occurred_at))

    class RequestClosed(Event):
        """Base of the three terminal outcomes."""

        request_id: str
        response: str | None
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        outcome = "CLOSED"

        def apply(self, liaison: PoliceLiaison) -> None:
            request = liaison.requests[self.request_id]
            request.status = self.outcome
            request.closed_at = self.occurred_at

        def summary(self) -> str:
            return N_("request {request_id} {outcome} by {actor} at {time}", request_id=self.request_id, outcome=outcome_words(self.outcome), actor=self.actor, time=clock_time(self.occurred_at))

    class RequestAnswered(RequestClosed):
        answered_by: str | None
        outcome = "ANSWERED"

    class RequestDeclined(RequestClosed):
        outcome = "DECLINED"

    class RequestWithdrawn(RequestClosed):
        outcome = "WITHDRAWN"

    class InformationShared(Event):
        what: str
        to_whom: str
        classification: Classification
        occurred_at: datetime
        late_entry_reason: str | None

        def apply(self, liaison: PoliceLiaison) -> None:
            pass  # what was shared changes no rule: it is read from the event

        def summary(self) -> str:
            return N_("information shared by {actor} at {time}", actor=self.actor, time=clock_time(self.occurred_at))


    @classmethod
    def open(
        cls,
        *,
        liaison_id: str,
        crisis_id: str | None,
        topic: str | None,
        city_people: list[str] | None = None,
        police_people: list[str] | None = None,
        actor: str,
        now: datetime,
    ) -> PoliceLiaison:
        required_text(liaison_id, "the liaison id")
        if not crisis_id and not (topic or "").strip():
            raise DomainError(Rule.INVALID_INPUT, "a liaison matter is for a crisis or a standing topic; give one")
        return cls._create(
            cls.Opened,
            id=cls.id_for(liaison_id),
            liaison_id=liaison_id,
            crisis_id=crisis_id,
            topic=topic,
            city_people=list(city_people or []),
            police_people=list(police_people or []),
            actor=actor,
            recorded_at=now,
        )

    def change_people(self, *, city_people: list[str], police_people: list[str], actor: str, now: datetime) -> None:
        self.trigger_event(
            self.PeopleChanged, city_people=list(city_people), police_people=list(police_people), actor=actor,
            recorded_at=now,
        )

    def raise_request(
        self,
        *,
        request_id: str,
        direction: str,
        request_type: str,
        subject: str,
        legal_basis: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        not_before: datetime | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        required_text(request_id, "the request id")
        required_text(subject, "the subject")
        if direction not in DIRECTIONS:
            raise DomainError(Rule.INVALID_INPUT, "direction {direction!r} is not one of {directions}", {"direction": direction, "directions": ', '.join(DIRECTIONS)})
        if request_type not in REQUEST_TYPES:
            raise DomainError(Rule.INVALID_INPUT, "type {request_type!r} is not one of {request_types}", {"request_type": request_type, "request_types": ', '.join(REQUEST_TYPES)})
        if request_type == "EXECUTIVE_ASSISTANCE" and not (legal_basis or "").strip():
            raise DomainError(
                Rule.LEGAL_BASIS_REQUIRED,
                "a request for executive assistance states its legal basis (e.g. \"Police Act 9:1\")",
            )
        if request_id in self.requests:
            raise DomainError(Rule.ALREADY_EXISTS, "{liaison_id} already has a request {request_id}", {"liaison_id": self.liaison_id, "request_id": request_id})
        check_entry_time(
            occurred_at,
            now,
            policy.time,
            late_entry_reason=late_entry_reason,
            not_before=not_before,
            not_before_label=N_("{crisis_id} was declared", crisis_id=self.crisis_id),
        )
        self.trigger_event(
            self.RequestRaised,
            request_id=request_id,
            direction=direction,
            request_type=request_type,
            subject=subject,
            legal_basis=legal_basis,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def request(self, request_id: str) -> RequestState:
        try:
            return self.requests[request_id]
        except KeyError:
            raise DomainError(Rule.NOT_FOUND, "{liaison_id} has no request {request_id}", {"liaison_id": self.liaison_id, "request_id": request_id}) from None

    def answer_request(self, *, answered_by: str | None = None, **kwargs: object) -> None:
        self._close(self.RequestAnswered, answered_by=answered_by, **kwargs)

    def decline_request(self, **kwargs: object) -> None:
        self._close(self.RequestDeclined, **kwargs)

    def withdraw_request(self, **kwargs: object) -> None:
        self._close(self.RequestWithdrawn, **kwargs)

    def share_information(
        self,
        *,
        what: str,
        to_whom: str,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
    ) -> None:
        required_text(what, "what was shared")
        required_text(to_whom, "to whom it was shared")
        check_entry_time(occurred_at, now, policy.time, late_entry_reason=late_entry_reason)
        self.trigger_event(
            self.InformationShared,
            what=what,
            to_whom=to_whom,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
        )

    def open_requests(self) -> list[RequestState]:
        return [r for r in self.requests.values() if r.status == "OPEN"]

    @staticmethod
    def upcast_v1_v2(state: dict) -> None:
        """A snapshot of version 1 held the people, the whole requests and what was shared: keep what the rules
        need."""
        for name in ("topic", "city_people", "police_people", "opened_at", "information_shared"):
            del state[name]
        state["requests"] = {
            i: RequestState(i, r.classification, r.raised_at, r.status, r.closed_at) for i, r in state["requests"].items()
        }

    def _close(
        self,
        event_class: type[RequestClosed],
        *,
        request_id: str,
        response: str | None,
        classification: Classification = PUBLIC,
        occurred_at: datetime,
        late_entry_reason: str | None = None,
        policy: Policy,
        actor: str,
        now: datetime,
        **extra: object,
    ) -> None:
        request = self.request(request_id)
        if request.status != "OPEN":
            raise DomainError(
                Rule.ALREADY_ANSWERED,
                "{request_id} {request_status} {closed_at}; "
                "use a log entry or a new request", {"request_id": request_id, "request_status": outcome_words(request.status), "closed_at": display(request.closed_at)},
            )
        if event_class is self.RequestAnswered:
            required_text(response, "the answer")
        check_entry_time(
            occurred_at,
            now,
            policy.time,
            late_entry_reason=late_entry_reason,
            not_before=request.raised_at,
            not_before_label=N_("{request_id} was raised", request_id=request_id),
        )
        self.trigger_event(
            event_class,
            request_id=request_id,
            response=response,
            classification=classification,
            occurred_at=occurred_at,
            late_entry_reason=late_entry_reason,
            actor=actor,
            recorded_at=now,
            **extra,
        )


@dataclass
class LiaisonRecord(Folded):
    """A liaison matter with all it recorded, folded from its events in order: what GET /police-liaisons/{id}
    and the audit history show. The aggregate decides the rules; this is read."""

    liaison_id: str = ""
    version: int = 0
    crisis_id: str | None = None
    topic: str | None = None
    city_people: list[str] = field(default_factory=list)
    police_people: list[str] = field(default_factory=list)
    opened_at: datetime | None = None
    requests: dict[str, PoliceRequest] = field(default_factory=dict)
    information_shared: list[InformationShare] = field(default_factory=list)

    def apply(self, e: Any) -> None:
        self.version = e.originator_version
        match type(e).__name__:
            case "Opened":
                self.liaison_id, self.crisis_id, self.topic, self.opened_at = (
                    e.liaison_id, e.crisis_id, e.topic, e.recorded_at
                )
                self.city_people, self.police_people = list(e.city_people), list(e.police_people)
            case "PeopleChanged":
                self.city_people, self.police_people = list(e.city_people), list(e.police_people)
            case "RequestRaised":
                self.requests[e.request_id] = PoliceRequest(
                    request_id=e.request_id, direction=e.direction, request_type=e.request_type, subject=e.subject,
                    legal_basis=e.legal_basis, classification=e.classification, raised_at=e.occurred_at,
                    recorded_at=e.recorded_at, actor=e.actor,
                )
            case "RequestAnswered" | "RequestDeclined" | "RequestWithdrawn":
                request = self.requests[e.request_id]
                request.status, request.closed_at, request.closed_by = e.outcome, e.occurred_at, e.actor
                request.response, request.response_classification = e.response, e.classification
                request.answered_by = getattr(e, "answered_by", None)
            case "InformationShared":
                self.information_shared.append(InformationShare(
                    what=e.what, to_whom=e.to_whom, shared_at=e.occurred_at, recorded_at=e.recorded_at,
                    actor=e.actor, classification=e.classification,
                ))
