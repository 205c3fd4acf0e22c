"""The police liaison use cases: matters, requests in both directions, information shared; one typed method per
domain verb, mixed into the Coordination. All are the police coordinator's (PERMISSIONS).

A request raised for a crisis is recorded on the crisis too, and its answer, decline or withdrawal takes it
off, in the same save: the crisis cannot close while a request for it is open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from domain.access import Actor, authorise
from domain.police_liaison import LiaisonRecord, PoliceLiaison
from domain.shared import PUBLIC, Classification, DomainError, Rule

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


class PoliceLiaisonUseCases(UseCases):
    def get_police_liaison(self, actor: Actor, liaison_id: str) -> LiaisonRecord:
        authorise(actor, "get_police_liaison")
        return self.liaison_record(liaison_id)

    def liaison_record(self, liaison_id: str, version: int | None = None) -> LiaisonRecord:
        """The matter with all it recorded (at `version`), folded from its events: the aggregate keeps no texts."""
        record = LiaisonRecord.of(self.events.get(PoliceLiaison.id_for(liaison_id), lte=version))
        if not record.version:
            raise DomainError(Rule.NOT_FOUND, "there is no police liaison {liaison_id}", {"liaison_id": liaison_id})
        return record

    def _change_liaison(
        self,
        use_case: str,
        actor: Actor,
        liaison_id: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[PoliceLiaison, datetime], Iterable[Aggregate] | None],
    ) -> int:
        return self._command(
            use_case, actor, liaison_id, lambda: self.load_liaison(liaison_id), expected_version, payload, change
        )

    def _close_request(
        self,
        use_case: str,
        close: Callable[..., None],
        actor: Actor,
        liaison_id: str,
        request_id: str,
        response: str | None,
        classification: Classification,
        occurred_at: datetime | None,
        late_entry_reason: str | None,
        expected_version: int | None,
        payload: dict[str, Any],
    ) -> int:
        """Close an open request: `close` is the matter's own verb (PoliceLiaison.answer_request, …); the request
        is taken off the matter's crisis, if any, in the same save."""

        def change(liaison: PoliceLiaison, now: datetime) -> list[Aggregate]:
            close(
                liaison,
                request_id=request_id,
                response=response,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            if not liaison.crisis_id:
                return []
            crisis = self.load_crisis(liaison.crisis_id)
            outcome = liaison.requests[request_id].status
            crisis.unlink_police_request(request_id=request_id, outcome=outcome, actor=actor.user, now=now)
            return [crisis]

        return self._change_liaison(use_case, actor, liaison_id, expected_version, payload, change)

    def open_police_liaison(
        self,
        actor: Actor,
        *,
        liaison_id: str,
        crisis_id: str | None = None,
        topic: str | None = None,
        city_people: list[str] | None = None,
        police_people: list[str] | None = None,
    ) -> int:
        """Open a matter for a crisis (still open) or a standing topic."""

        def attempt(now: datetime) -> list[Aggregate]:
            if PoliceLiaison.id_for(liaison_id) in self.repository:
                raise DomainError(Rule.ALREADY_EXISTS, "police liaison {liaison_id} is already open", {"liaison_id": liaison_id})
            if crisis_id is not None:
                self.load_crisis(crisis_id).check_open()
            liaison = PoliceLiaison.open(
                liaison_id=liaison_id,
                crisis_id=crisis_id,
                topic=topic,
                city_people=city_people,
                police_people=police_people,
                actor=actor.user,
                now=now,
            )
            return [liaison]

        payload = {"crisis_id": crisis_id, "topic": topic}
        return self._run("open_police_liaison", actor, liaison_id, payload, attempt)[0].version

    def change_liaison_people(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        city_people: list[str],
        police_people: list[str],
        expected_version: int | None = None,
    ) -> int:
        def change(liaison: PoliceLiaison, now: datetime) -> None:
            liaison.change_people(city_people=city_people, police_people=police_people, actor=actor.user, now=now)

        payload = {"city_people": city_people, "police_people": police_people}
        return self._change_liaison("change_liaison_people", actor, liaison_id, expected_version, payload, change)

    def raise_police_request(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        request_id: str,
        direction: str,
        request_type: str,
        subject: str,
        legal_basis: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Raise a request, city to police or police to city; recorded on the matter's crisis too."""

        def change(liaison: PoliceLiaison, now: datetime) -> list[Aggregate]:
            crisis = self.load_crisis(liaison.crisis_id) if liaison.crisis_id else None
            liaison.raise_request(
                request_id=request_id,
                direction=direction,
                request_type=request_type,
                subject=subject,
                legal_basis=legal_basis,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                not_before=crisis.declared_at if crisis else None,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            if crisis is None:
                return []
            crisis.link_police_request(request_id=request_id, liaison_id=liaison_id, actor=actor.user, now=now)
            return [crisis]

        payload = {"request_id": request_id, "direction": direction, "type": request_type, "subject": subject}
        return self._change_liaison("raise_police_request", actor, liaison_id, expected_version, payload, change)

    def answer_police_request(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        request_id: str,
        response: str | None = None,
        answered_by: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Answer an open request; a request has exactly one outcome (ALREADY_ANSWERED)."""

        answer = partial(PoliceLiaison.answer_request, answered_by=answered_by)
        payload = {"request_id": request_id, "response": response, "answered_by": answered_by}
        return self._close_request(
            "answer_police_request", answer, actor, liaison_id, request_id, response, classification, occurred_at,
            late_entry_reason, expected_version, payload,
        )

    def decline_police_request(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        request_id: str,
        response: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Decline an open request, `response` saying why."""
        return self._close_request(
            "decline_police_request", PoliceLiaison.decline_request, actor, liaison_id, request_id, response,
            classification, occurred_at, late_entry_reason, expected_version,
            {"request_id": request_id, "response": response},
        )

    def withdraw_police_request(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        request_id: str,
        response: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Withdraw an open request, `response` saying why."""
        return self._close_request(
            "withdraw_police_request", PoliceLiaison.withdraw_request, actor, liaison_id, request_id, response,
            classification, occurred_at, late_entry_reason, expected_version,
            {"request_id": request_id, "response": response},
        )

    def record_information_shared(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        what: str,
        to_whom: str,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(liaison: PoliceLiaison, now: datetime) -> None:
            liaison.share_information(
                what=what,
                to_whom=to_whom,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"what": what, "to_whom": to_whom}
        return self._change_liaison("record_information_shared", actor, liaison_id, expected_version, payload, change)
