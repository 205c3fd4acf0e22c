"""Shapes shared by every resource: classification, command answers, and the conversion of requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from domain.shared import Classification, display, parse_instant

SHORT = 200
LONG = 4000

TIME_EXAMPLE = "2025-10-26T03:40+03:00"


def Instant(description: str = "", **kwargs: Any) -> Any:  # noqa: N802 - reads like a type
    """A time with an explicit UTC offset, as a string: a local time without one is AMBIGUOUS_TIME."""
    return Field(
        None,
        description=(description + " " if description else "") + "ISO-8601 with an explicit offset.",
        examples=[TIME_EXAMPLE],
        max_length=40,
        **kwargs,
    )


class ClassificationRequest(BaseModel):
    """PUBLIC (default), SECRET with its legal basis, or RECEIVED with the marking and originator."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    level: str = Field("PUBLIC", max_length=40, examples=["PUBLIC", "SECRET", "RECEIVED"])
    legal_basis: str | None = Field(
        None, max_length=SHORT, validation_alias=AliasChoices("legal_basis", "basis"), examples=["JulkL 24.1 § 7 k"]
    )
    marking: str | None = Field(None, max_length=SHORT, examples=["TL IV KÄYTTÖ RAJOITETTU"])
    originator: str | None = Field(None, max_length=SHORT, examples=["Helsinki Police Department"])

    def to_domain(self) -> Classification:
        return Classification.of(self.level, self.legal_basis, self.marking, self.originator)


class CommandRequest(BaseModel):
    """A command's body. `args()` turns it into the use case's keyword arguments."""

    model_config = ConfigDict(extra="forbid")

    def args(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, ClassificationRequest):
                value = value.to_domain()
            elif name.endswith(("_at", "_due")) and isinstance(value, str):
                value = parse_instant(value, name)
            out[name] = value
        return out


class EntryRequest(CommandRequest):
    occurred_at: str | None = Instant("When it happened; defaults to now.")
    late_entry_reason: str | None = Field(
        None, max_length=LONG, description="Required when recorded more than 15 minutes after it happened."
    )


class CommandResponse(BaseModel):
    """The answer to an accepted command: the record and its new version (also the ETag)."""

    id: str
    version: int


class ClassificationResponse(BaseModel):
    level: str
    legal_basis: str | None = None
    marking: str | None = None
    originator: str | None = None


def time_out(moment: datetime | None) -> str | None:
    """Times leave the service in Europe/Helsinki with their offset."""
    return display(moment, seconds=True)
