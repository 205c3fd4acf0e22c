"""Shapes shared by every resource: classification, command answers, the conversion of requests, and the
bounds every value at the edge keeps.

The bounds are declared here once, as constrained types that every request field, path and query parameter
uses, so each refusal is a 422 problem naming the field and the rule (`errors.py`):

- `Id`: letters, digits, `-`, `_`, `.`, starting with a letter or digit, at most 64 characters: an id can
  always be put in a path again (no `/`, no control characters).
- `Line` (names, codes, short fields) refuses every control character; `Text` (free text) keeps newline,
  carriage return and tab. Lone surrogates are refused by pydantic itself (`string_unicode`).
- `Time`: an ISO-8601 time with an explicit offset; the windows around the server clock it must fall in are
  the domain's (`domain.shared.TimeRules`: entries ten years back at most, due and review times ten years
  either way, times asked about a century either way), checked where the clock is known (OUT_OF_RANGE).
- Integers within the columns that keep them (`INT32`, log positions `BIGINT`) and the domain's ranges (an
  MTPD of at most a year, `domain.division_preparedness.MAX_MTPD_MINUTES`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from domain.shared import ID_LENGTH, ID_PATTERN, Classification, display, parse_instant

SHORT = 200
LONG = 4000
INT32 = 2**31 - 1
BIGINT = 2**63 - 1

TIME_EXAMPLE = "2025-10-26T03:40+03:00"
LATER_EXAMPLE = "2025-10-26T18:00+02:00"  # the end of a window starting at TIME_EXAMPLE

# What each kind of string refuses; the JSON Schema patterns say the same for the OpenAPI document. U+FFFE and U+FFFF
# are no characters of XML 1.0: a text holding one would break the CAP, Atom and EDXL documents it is written into.
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\ufffe\uffff]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]*$"


def _refusing(control: re.Pattern[str], allowed: str) -> AfterValidator:
    def check(value: str) -> str:
        found = control.search(value)
        if found:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters{allowed}: U+{code} at character {index}",
                {"allowed": allowed, "code": f"{ord(found.group()):04X}", "index": found.start()},
            )
        return value

    return AfterValidator(check)


def line(max_length: int = SHORT) -> Any:
    """A single line of at most `max_length` characters, no control characters."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length),
        _refusing(_CONTROL_IN_LINE, ""),
        Field(json_schema_extra={"pattern": LINE_PATTERN}),
    ]


Id = Annotated[str, StringConstraints(min_length=1, max_length=ID_LENGTH, pattern=ID_PATTERN)]
Line = line(SHORT)
Code = line(40)  # a value of a domain enumeration (category, level, direction, …), checked by the domain
Text = Annotated[
    str,
    StringConstraints(max_length=LONG),
    _refusing(_CONTROL_IN_TEXT, " but newline and tab"),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]
Time = Annotated[
    str,
    StringConstraints(max_length=40),
    _refusing(_CONTROL_IN_LINE, ""),
    Field(json_schema_extra={"format": "date-time", "pattern": LINE_PATTERN}),
]
Int32 = Annotated[int, Field(ge=0, le=INT32)]
Position = Annotated[int, Field(ge=0, le=BIGINT)]


def Instant(description: str = "", **kwargs: Any) -> Any:  # noqa: N802 - reads like a type
    """A `Time` field: with an explicit UTC offset, as a string: a local time without one is AMBIGUOUS_TIME."""
    return Field(
        None,
        description=(description + " " if description else "") + "ISO-8601 with an explicit offset.",
        examples=[TIME_EXAMPLE],
        **kwargs,
    )


class ClassificationRequest(BaseModel):
    """PUBLIC (default), SECRET with its legal basis, or RECEIVED with the marking and originator."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    level: Code = Field("PUBLIC", examples=["PUBLIC", "SECRET", "RECEIVED"])
    legal_basis: Line | None = Field(
        None, validation_alias=AliasChoices("legal_basis", "basis"), examples=["JulkL 24.1 § 7 k"]
    )
    marking: Line | None = Field(None, examples=["TL IV KÄYTTÖ RAJOITETTU"])
    originator: Line | None = Field(None, examples=["Helsinki Police Department"])

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
    occurred_at: Time | None = Instant("When it happened; defaults to now.")
    late_entry_reason: Text | None = Field(
        None, description="Required when recorded more than 15 minutes after it happened."
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


class FieldErrorResponse(BaseModel):
    """One refused value of a request (interfaces.http.errors.validation_errors)."""

    field: str = Field(description="Where: `title`, `critical_functions.0.mtpd_minutes`, `path.crisis_id`, "
                       "`query.as_of`, `header.if-match` (empty for the body as a whole).", examples=["title"])
    rule: str = Field(description="The check it failed (pydantic's error type, e.g. `string_too_long`, "
                      "`control_character`, `extra_forbidden`).", examples=["string_too_long"])
    problem: str = Field(examples=["String should have at most 200 characters"])


class ProblemResponse(BaseModel):
    """An RFC 9457 problem detail: every refusal, naming the rule that refused the request in `code`. Nothing
    was recorded by a refused request. A rule may add members of its own (`what_changed`, `problems`, …)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:valmius:rule:CONFLICT_VERSION"])
    title: str = Field(examples=["The record changed since you read it"])
    status: int = Field(examples=[409])
    detail: str = Field(description="What was refused and why, in a sentence.")
    code: str = Field(description="The rule's code.", examples=["CONFLICT_VERSION"])
    instance: str | None = Field(None, description="The path of the refused request.", examples=["/crises/C-S1"])
    request_id: str | None = Field(description="The request's id, as in its `X-Request-ID` header and in the logs.")
    errors: list[FieldErrorResponse] | None = Field(
        None, description="INVALID_INPUT from the request's shape: each refused value."
    )
    field: str | None = Field(None, description="The one value a rule refused (OUT_OF_RANGE, AMBIGUOUS_TIME, …).")
    retry_after: int | None = Field(None, description="Seconds to wait before sending it again (also `Retry-After`).")
