"""Requests and responses of public warnings: their texts in Finnish and Swedish (English optional), the scales
CAP asks for, each message drafted, approved and issued, and the register of warnings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.access import Actor
from domain.public_warning import CERTAINTIES, URGENCIES, WarningMessage, WarningRecord
from domain.secrecy import redact
from domain.shared import PUBLIC, Policy
from interfaces.http.schemas.common import CommandRequest, Id, Line, Text, time_out
from interfaces.http.schemas.read_models import Label, ReadResponse, Record



def closed_set(*values: str) -> Any:
    """One of `values` (CAP 1.2's, as domain.public_warning has them), its bounds stated as every string's are."""
    return Annotated[Literal[values], Field(json_schema_extra={  # type: ignore[valid-type]
        "maxLength": max(map(len, values)), "pattern": f"^({'|'.join(values)})$",
    })]


Urgency = closed_set(*URGENCIES)
Certainty = closed_set(*CERTAINTIES)

TEXTS_EXAMPLE = {
    "fi": {"headline": "Myrskyvaroitus: sähkökatkoja Itä-Helsingissä",
           "description": "Myrsky on katkaissut sähköt Vuosaaressa ja Kontulassa.",
           "instruction": "Varaudu pitkään katkoon; tarkista naapurit."},
    "sv": {"headline": "Stormvarning: elavbrott i östra Helsingfors",
           "description": "Stormen har orsakat elavbrott i Nordsjö och Gårdsbacka.",
           "instruction": "Förbered dig på ett långt avbrott; se till grannarna."},
}


class WarningTextRequest(BaseModel):
    """A warning's text in one language: headline and description, and what people should do, if anything."""

    model_config = ConfigDict(extra="forbid")

    headline: Line = Field(examples=["Myrskyvaroitus: sähkökatkoja Itä-Helsingissä"])
    description: Text = Field(examples=["Myrsky on katkaissut sähköt Vuosaaressa ja Kontulassa."])
    instruction: Text | None = Field(None, examples=["Varaudu pitkään katkoon; tarkista naapurit."])


class WarningTextsRequest(BaseModel):
    """The texts, by language: Finnish and Swedish required (TEXT_REQUIRED), English optional. Public by
    definition: write nothing that is not public."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [TEXTS_EXAMPLE]})

    fi: WarningTextRequest | None = None
    sv: WarningTextRequest | None = None
    en: WarningTextRequest | None = None

    def to_domain(self) -> dict[str, dict[str, str]]:
        return {
            language: text.model_dump(exclude_none=True)
            for language in ("fi", "sv", "en") if (text := getattr(self, language)) is not None
        }


class WarningCommandRequest(CommandRequest):
    """A command carrying a warning's texts."""

    def args(self) -> dict[str, Any]:
        out = super().args()
        if "texts" in out:
            out["texts"] = out["texts"].to_domain()
        return out


class DraftPublicWarningRequest(WarningCommandRequest):
    """The first message of a warning (an alert) for an open PUBLIC crisis, `based_on` its PUBLIC decisions."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "warning_id": "W-C-S1-1", "texts": TEXTS_EXAMPLE, "urgency": "Immediate", "certainty": "Observed",
    }]})

    warning_id: Id = Field(examples=["W-C-S1-1"])
    texts: WarningTextsRequest
    urgency: Urgency = Field(examples=["Immediate"])
    certainty: Certainty = Field(examples=["Observed"])
    based_on: list[Id] = Field(default_factory=list, max_length=20, description="Decisions of the crisis it carries out.")


class DraftPublicWarningUpdateRequest(WarningCommandRequest):
    """An update of the warning in force: its new texts and scales."""

    texts: WarningTextsRequest
    urgency: Urgency = Field(examples=["Expected"])
    certainty: Certainty = Field(examples=["Likely"])
    based_on: list[Id] = Field(default_factory=list, max_length=20, description="Decisions of the crisis it carries out.")


class ReviseWarningRequest(WarningCommandRequest):
    """New texts for the message waiting to be issued (and, but for a cancellation, its scales)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "texts": TEXTS_EXAMPLE, "urgency": "Immediate", "certainty": "Observed",
    }]})

    texts: WarningTextsRequest
    urgency: Urgency | None = Field(None, description="Required but for a cancellation.")
    certainty: Certainty | None = Field(None, description="Required but for a cancellation.")
    based_on: list[Id] | None = Field(None, max_length=20)


class DraftPublicWarningCancellationRequest(WarningCommandRequest):
    """What the public is told when the warning in force no longer holds."""

    texts: WarningTextsRequest


class WarningStepRequest(CommandRequest):
    """Approving or issuing the message waiting: a note, if any (issued, it is the CAP message's `note`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}]})

    note: Text | None = Field(None, examples=["Checked against decision D-S1-02"])


class ApprovePublicWarningRequest(WarningStepRequest):
    """Approving the message waiting: name the `digest` of the text you read (its message's `digest` in
    GET /warnings/{id}), and a text revised since is not approved (TEXT_CHANGED)."""

    digest: str | None = Field(
        None, pattern="^[0-9a-f]{64}$", max_length=64,
        description="The SHA-256 digest of the message as read (its `digest`): only that text is approved.",
    )


# --- answers ------------------------------------------------------------------------------------------------


class WarningTextResponse(ReadResponse):
    headline: str
    description: str
    instruction: str | None = None


class WarningMessageResponse(Record):
    """One message of a warning: drafted (and revised), approved, issued. Named by its warning."""

    record_kind = "public_warning"

    msg_type: str
    texts: dict[str, WarningTextResponse] | Label
    urgency: str
    certainty: str
    based_on: list[str]
    drafted_by: str
    drafted_at: str | None
    revised_by: str | None
    revised_at: str | None
    approved_by: str | None
    approved_at: str | None
    approval_note: str | None
    digest: str = Field(description="SHA-256 of the message's canonical JSON (kind, texts, scales, decisions): what "
                        "its approver names.")
    approved_digest: str | None = Field(description="The digest of the text approved, as the approval recorded it.")
    number: int | None
    identifier: str | None
    sender: str | None
    cap_status: str | None
    sent: str | None
    issued_by: str | None
    note: str | None
    references: list[str]
    category: str | None
    severity: int | None
    areas: list[str] | Label
    cap: str | None = Field(description="Where its CAP 1.2 document is, once issued.")


class PublicWarningResponse(Record):
    """A public warning with its messages: those issued, in order, then the one waiting to be issued, if any."""

    record_kind = "public_warning"
    record_id = "warning_id"

    warning_id: str
    crisis_id: str
    version: int
    status: str = Field(description="DRAFTED (never issued), IN_FORCE or CANCELLED.")
    in_force: bool
    messages: list[WarningMessageResponse]
    exercise: bool = Field(False, description="True for a warning of a crisis declared as an exercise (CAP status Exercise).")


class WarningRegisterEntryResponse(Record):
    """A warning of the register: its state, the message waiting (and who approved it), its latest issued
    message and when it was first issued."""

    record_kind = "public_warning"
    record_id = "warning_id"

    warning_id: str
    crisis_id: str
    status: str
    pending: str | None
    approved_by: str | None
    number: int | None
    identifier: str | None
    msg_type: str | None
    sent: str | None
    first_sent: str | None
    texts: dict[str, WarningTextResponse] | Label | None
    cap: str | None


class PublicWarningRegisterResponse(ReadResponse):
    at: str
    crisis_id: str | None = None
    exercise: bool = Field(False, description="A crisis's warnings: true when it was declared as an exercise (the "
                           "register of the warnings in force never holds an exercise's).")
    warnings: list[WarningRegisterEntryResponse]
    cut: dict[str, int] | None = Field(
        None, description="The lists cut to `limit` items, each by its JSON Pointer (RFC 6901) with how many items "
        "it has; absent when none was cut. Ask again with a larger `limit` (at most 1000) for more.",
    )


def cap_path(warning_id: str, number: int | None) -> str | None:
    return None if number is None else f"/warnings/{warning_id}/cap?number={number}"


def present_warning(warning: WarningRecord, actor: Actor, policy: Policy) -> PublicWarningResponse:
    """The warning for `actor`: public by definition (drafted only for a PUBLIC crisis), shown through `redact`
    all the same."""
    names = policy.units.short_names

    def message(m: WarningMessage) -> dict[str, Any]:
        return redact(
            "public_warning", PUBLIC, actor.clearance, names,
            msg_type=m.msg_type, texts=m.texts, urgency=m.urgency, certainty=m.certainty, based_on=m.based_on,
            drafted_by=m.drafted_by, drafted_at=time_out(m.drafted_at), revised_by=m.revised_by,
            revised_at=time_out(m.revised_at), approved_by=m.approved_by, approved_at=time_out(m.approved_at),
            approval_note=m.approval_note, digest=m.digest, approved_digest=m.approved_digest, number=m.number, identifier=m.identifier, sender=m.sender,
            cap_status=m.cap_status, sent=time_out(m.sent), issued_by=m.issued_by, note=m.note,
            references=m.references, category=m.category, severity=m.severity, areas=m.areas,
            cap=cap_path(warning.warning_id, m.number),
        )

    return PublicWarningResponse(
        **redact("public_warning", PUBLIC, actor.clearance, names, warning_id=warning.warning_id,
                 crisis_id=warning.crisis_id, version=warning.version, status=warning.status,
                 in_force=warning.status == "IN_FORCE"),
        messages=[message(m) for m in warning.messages],
    )
