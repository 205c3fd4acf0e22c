"""Requests and responses of police liaison matters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ConfigDict, Field

from domain.access import Actor
from domain.police_liaison import PoliceLiaison
from domain.secrecy import redact, stricter
from domain.shared import Classification, Policy
from interfaces.http.schemas.common import (
    ClassificationRequest,
    Code,
    CommandRequest,
    EntryRequest,
    Id,
    Line,
    Text,
    time_out,
)
from interfaces.http.schemas.read_models import InformationShareResponse, PoliceRequestResponse, Record


class OpenPoliceLiaisonRequest(CommandRequest):
    """A liaison matter for a crisis (`crisis_id`) or for a standing topic (`topic`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"liaison_id": "PL-C-S1", "crisis_id": "C-S1"}]})

    liaison_id: Id = Field(examples=["PL-C-S1"])
    crisis_id: Id | None = Field(None, examples=["C-S1"])
    topic: Line | None = Field(None, examples=["Helsinki Pride 2026"])
    city_people: list[Line] = Field(default_factory=list, max_length=50)
    police_people: list[Line] = Field(default_factory=list, max_length=50)


class ChangeLiaisonPeopleRequest(CommandRequest):
    city_people: list[Line] = Field(max_length=50, examples=[["PC (police coordinator)", "DO-1"]])
    police_people: list[Line] = Field(max_length=50, examples=[["HPD field commander"]])


class RaisePoliceRequestRequest(EntryRequest):
    request_id: Id = Field(examples=["PR-S1-01"])
    direction: Code = Field(examples=["CITY_TO_POLICE"])
    request_type: Code = Field(examples=["COORDINATION"])
    subject: Text = Field(examples=["Traffic control at 4 dark signalised junctions on Itäväylä"])
    legal_basis: Line | None = Field(None, description="Required for EXECUTIVE_ASSISTANCE.")
    classification: ClassificationRequest | None = None


class AnswerPoliceRequestRequest(EntryRequest):
    response: Text = Field(examples=["2 patrols 22:30–02:00"])
    answered_by: Line | None = Field(None, examples=["HPD field commander"])
    classification: ClassificationRequest | None = None


class ClosePoliceRequestRequest(EntryRequest):
    response: Text | None = Field(None, description="Why it was declined or withdrawn.")
    classification: ClassificationRequest | None = None


class RecordInformationSharedRequest(EntryRequest):
    what: Text = Field(examples=["The list of dark junctions"])
    to_whom: Line = Field(examples=["HPD field commander"])
    classification: ClassificationRequest | None = None


class PoliceLiaisonResponse(Record):
    """A police liaison matter: its topic and people as secret as its crisis."""

    record_kind = "police_liaison"
    record_id = "liaison_id"

    liaison_id: str
    version: int
    crisis_id: str | None
    topic: str | None
    city_people: list[str] | None
    police_people: list[str] | None
    requests: list[PoliceRequestResponse]
    information_shared: list[InformationShareResponse]


def present_liaison(
    liaison: PoliceLiaison, crisis: Classification, actor: Actor, now: datetime, policy: Policy
) -> PoliceLiaisonResponse:
    """The matter for `actor`: its topic and people as secret as its `crisis` (that crisis's classification);
    each request and information shared by its own classification; an answer, and who gave it, as secret as
    its request or its own classification, whichever is classified."""
    names = policy.units.short_names
    cleared = actor.clearance
    threshold = policy.police_answer_threshold

    def request(r: Any) -> dict[str, Any]:
        classification = r.classification
        answer = stricter(classification, r.response_classification)
        return {
            **redact(
                "police_request", classification, cleared, names,
                request_id=r.request_id,
                direction=r.direction,
                request_type=r.request_type,
                legal_basis=r.legal_basis,
                raised_at=time_out(r.raised_at),
                recorded_at=time_out(r.recorded_at),
                actor=r.actor,
                status=r.status,
                age_minutes=int(((r.closed_at or now) - r.raised_at) / timedelta(minutes=1)),
                unanswered_beyond_threshold=r.status == "OPEN" and now - r.raised_at > threshold,
                closed_at=time_out(r.closed_at),
                closed_by=r.closed_by,
                subject=r.subject,
            ),
            "answered_by": redact("police_request", answer, cleared, names, answered_by=r.answered_by)["answered_by"],
            "response": redact("police_request", answer, cleared, names, text=r.response),
        }

    matter = redact(
        "police_liaison", crisis, cleared, names,
        liaison_id=liaison.liaison_id, version=liaison.version, crisis_id=liaison.crisis_id, topic=liaison.topic,
        city_people=liaison.city_people, police_people=liaison.police_people,
    )
    if matter["redacted"]:
        matter["city_people"] = matter["police_people"] = None
    return PoliceLiaisonResponse(
        **matter,
        requests=[request(r) for r in liaison.requests.values()],
        information_shared=[
            redact(
                "information_share", i.classification, cleared, names,
                shared_at=time_out(i.shared_at), recorded_at=time_out(i.recorded_at), actor=i.actor,
                to_whom=i.to_whom, what=i.what,
            )
            for i in liaison.information_shared
        ],
    )
