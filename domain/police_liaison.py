"""PoliceLiaison: the city–police cooperation on one matter (a crisis, or a standing topic).

Holds the people on both sides, requests in both directions with exactly one terminal outcome, and the
information shared with the police.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.record import Record
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


ENTITY_CLASSES = (PoliceRequest, InformationShare)


class PoliceLiaison(Record):
    """One liaison matter between the city and the police."""

    kind, key = "police-liaison", "liaison_id"

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
            liaison.topic = self.topic
            liaison.city_people = list(self.city_people)
            liaison.police_people = list(self.police_people)
            liaison.opened_at = self.recorded_at
            liaison.requests = {}
            liaison.information_shared = []

        def summary(self) -> str:
            return f"liaison {self.liaison_id} opened by {self.actor}"

    class PeopleChanged(Event):
        city_people: list[str]
        police_people: list[str]

        def apply(self, liaison: PoliceLiaison) -> None:
            liaison.city_people = list(self.city_people)
            liaison.police_people = list(self.police_people)

        def summary(self) -> str:
            return f"people of liaison changed by {self.actor}"

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
            liaison.requests[self.request_id] = PoliceRequest(
                request_id=self.request_id,
                direction=self.direction,
                request_type=self.request_type,
                subject=self.subject,
                legal_basis=self.legal_basis,
                classification=self.classification,
                raised_at=self.occurred_at,
                recorded_at=self.recorded_at,
                actor=self.actor,
            )

        def summary(self) -> str:
            return f"request {self.request_id} raised by {self.actor} at {clock_time(self.occurred_at)}"

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
            request.closed_by = self.actor
            request.response = self.response
            request.response_classification = self.classification

        def summary(self) -> str:
            return f"request {self.request_id} {self.outcome.lower()} by {self.actor} at {clock_time(self.occurred_at)}"

    class RequestAnswered(RequestClosed):
        answered_by: str | None
        outcome = "ANSWERED"

        def apply(self, liaison: PoliceLiaison) -> None:
            super().apply(liaison)
            liaison.requests[self.request_id].answered_by = self.answered_by

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
            liaison.information_shared.append(
                InformationShare(
                    what=self.what,
                    to_whom=self.to_whom,
                    shared_at=self.occurred_at,
                    recorded_at=self.recorded_at,
                    actor=self.actor,
                    classification=self.classification,
                )
            )

        def summary(self) -> str:
            return f"information shared by {self.actor} at {clock_time(self.occurred_at)}"


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

    def request(self, request_id: str) -> PoliceRequest:
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

    def open_requests(self) -> list[PoliceRequest]:
        return [r for r in self.requests.values() if r.status == "OPEN"]

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
                "use a log entry or a new request", {"request_id": request_id, "request_status": request.status.lower(), "closed_at": display(request.closed_at)},
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
