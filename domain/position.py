"""Positions and handover: who holds the duty officer's watch, the preparedness manager's on-call and the police
coordinator's post, and what each incoming person was handed.

A Position is one post of the unit's duty roster (POSITIONS; who may hold it is decided by role). Someone signs on
to a vacant position and signs off from it; a held position changes hands only by a handover: a brief is prepared
(what happened since the previous handover and what is open: built by the application from the read models and the
log, frozen in the event with its SHA-256 digest) and the incoming person accepts it, naming its digest, so the
record says exactly what they were told. "Who held which position at T" and "what had been handed over by T" are
read from these events.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.access import Actor, Role
from domain.record import Record
from domain.shared import DomainError, N_, Rule, clock_time


@dataclass(frozen=True)
class Post:
    """One position of the roster: its code, its name, and the roles that may hold it."""

    code: str
    name: str
    roles: frozenset[Role]


POSITIONS: dict[str, Post] = {
    post.code: post
    for post in (
        Post("DUTY_OFFICER", N_("duty officer on duty"), frozenset({Role.DUTY_OFFICER, Role.PREPAREDNESS_MANAGER})),
        Post("PREPAREDNESS_MANAGER", N_("preparedness manager on call"), frozenset({Role.PREPAREDNESS_MANAGER})),
        Post("POLICE_COORDINATOR", N_("police coordinator"), frozenset({Role.POLICE_COORDINATOR})),
    )
}


def post(code: str) -> Post:
    if code not in POSITIONS:
        raise DomainError(Rule.NOT_FOUND, "no position {position!r}; there are {positions}", {"position": code, "positions": ", ".join(POSITIONS)})
    return POSITIONS[code]


def digest(brief: dict[str, Any]) -> str:
    """The SHA-256 of a brief's canonical JSON: what the incoming person names when accepting it."""
    return hashlib.sha256(json.dumps(brief, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


class Position(Record):
    """One position: who holds it since when, and its handover briefs by number (the latest decides)."""

    kind, key = "position", "position"

    class Event(Record.Event):
        position: str

    class Established(Event, Record.Created):
        def apply(self, position: Position) -> None:
            position.position = self.position
            position.holder = None
            position.held_since = None
            position.briefs = 0
            position.accepted = 0  # the number of the last accepted brief
            position.until = 0  # the log position the last accepted brief covered
            position.latest = None  # the latest brief's (digest, until)

    class SignedOn(Event):
        holder: str
        occurred_at: datetime

        def apply(self, position: Position) -> None:
            position.holder, position.held_since = self.holder, self.occurred_at

        def summary(self) -> str:
            return N_("{holder} signed on as {position} at {time}", holder=self.holder, position=self.position, time=clock_time(self.occurred_at))

    class SignedOff(Event):
        holder: str
        occurred_at: datetime

        def apply(self, position: Position) -> None:
            position.holder, position.held_since = None, None

        def summary(self) -> str:
            return N_("{holder} signed off as {position} at {time}", holder=self.holder, position=self.position, time=clock_time(self.occurred_at))

    class BriefPrepared(Event):
        number: int
        since: int  # the log positions the brief covers: after `since`, up to `until`
        until: int
        brief: dict[str, Any]
        digest: str

        def apply(self, position: Position) -> None:
            position.briefs = self.number
            position.latest = (self.digest, self.until)
            position.prepared_at = self.recorded_at

        def summary(self) -> str:
            return N_("handover brief #{number} for {position} prepared by {actor}", number=self.number, position=self.position, actor=self.actor)

    class HandedOver(Event):
        number: int
        digest: str
        from_holder: str | None
        to_holder: str
        until: int

        def apply(self, position: Position) -> None:
            position.accepted, position.until = self.number, self.until
            position.holder, position.held_since = self.to_holder, self.recorded_at

        def summary(self) -> str:
            return N_("{position} handed over to {to_holder} with brief #{number}", position=self.position, to_holder=self.to_holder, number=self.number)

    # --- commands ------------------------------------------------------------------------------------

    @classmethod
    def establish(cls, *, position: str, actor: str, now: datetime) -> Position:
        post(position)
        return cls._create(cls.Established, id=cls.id_for(position), position=position, actor=actor, recorded_at=now)

    def sign_on(self, *, actor: Actor, now: datetime) -> None:
        self._check_role(actor)
        if self.holder == actor.user:
            raise DomainError(Rule.POSITION_HELD, "{holder} holds {position} already, since {since}", self._held())
        if self.holder is not None:
            raise DomainError(
                Rule.POSITION_HELD,
                "{holder} holds {position} since {since}: take it over by accepting a handover brief", self._held(),
            )
        if self.briefs > self.accepted:
            raise DomainError(
                Rule.HANDOVER_REQUIRED, "handover brief #{number} of {position} waits to be read: take the position by "
                "accepting it", {"number": self.briefs, "position": self.position},
            )
        self.trigger_event(self.SignedOn, holder=actor.user, occurred_at=now, actor=actor.user, recorded_at=now)

    def sign_off(self, *, actor: Actor, now: datetime) -> None:
        """Leave the position, having left a brief for whoever takes it next (HANDOVER_REQUIRED): the next person
        takes it by accepting that brief, never by signing on past it."""
        self._check_holder(actor)
        prepared_at = getattr(self, "prepared_at", None)
        if prepared_at is None or prepared_at < self.held_since:
            raise DomainError(
                Rule.HANDOVER_REQUIRED, "{holder} leaves {position} with a handover brief for whoever takes it next: "
                "prepare one, then sign off", {"holder": actor.user, "position": self.position},
            )
        self.trigger_event(self.SignedOff, holder=actor.user, occurred_at=now, actor=actor.user, recorded_at=now)

    def prepare_brief(self, *, since: int, until: int, brief: dict[str, Any], actor: Actor, now: datetime) -> int:
        """Freeze a brief of what happened after log position `since` up to `until`, and what is open."""
        self._check_role(actor)
        number = self.briefs + 1
        self.trigger_event(
            self.BriefPrepared, number=number, since=since, until=until, brief=brief, digest=digest(brief),
            actor=actor.user, recorded_at=now,
        )
        return number

    def accept_brief(self, *, number: int, given_digest: str, actor: Actor, now: datetime) -> None:
        """The incoming person takes the position over, having read brief `number` (naming its digest)."""
        self._check_role(actor)
        if number < 1 or number > self.briefs:
            raise DomainError(Rule.NOT_FOUND, "{position} has no handover brief #{number}", {"position": self.position, "number": number})
        if number <= self.accepted:
            raise DomainError(Rule.STALE_BRIEF, "brief #{number} of {position} was accepted already", {"number": number, "position": self.position})
        if number != self.briefs:
            raise DomainError(
                Rule.STALE_BRIEF, "brief #{number} is not the latest of {position}: read #{latest}", {"number": number, "position": self.position, "latest": self.briefs},
            )
        brief_digest, until = self.latest
        if given_digest != brief_digest:
            raise DomainError(
                Rule.BRIEF_MISMATCH, "the digest given is not that of brief #{number} of {position}: read the brief again", {"number": number, "position": self.position},
            )
        if self.holder == actor.user:
            raise DomainError(Rule.POSITION_HELD, "{holder} holds {position} already, since {since}", self._held())
        self.trigger_event(
            self.HandedOver, number=number, digest=given_digest, from_holder=self.holder, to_holder=actor.user,
            until=until, actor=actor.user, recorded_at=now,
        )

    # --- rules ---------------------------------------------------------------------------------------

    def _check_role(self, actor: Actor) -> None:
        held = post(self.position)
        if actor.role not in held.roles:
            raise DomainError(
                Rule.FORBIDDEN_ROLE, "{role} may not hold {position}: it is held by {roles}",
                {"role": str(actor.role), "position": self.position, "roles": ", ".join(sorted(held.roles))},
                role=str(actor.role),
            )

    def _check_holder(self, actor: Actor) -> None:
        if self.holder != actor.user:
            raise DomainError(
                Rule.NOT_POSITION_HOLDER, "{user} does not hold {position} (held by {holder})",
                {"user": actor.user, "position": self.position, "holder": self.holder or "nobody"},
            )

    def _held(self) -> dict[str, object]:
        return {"holder": self.holder, "position": self.position, "since": clock_time(self.held_since)}
