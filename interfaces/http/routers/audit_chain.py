"""Tamper evidence for auditors: verify the event log, list and export signed checkpoints, verify a kept one.

Auditors write nothing (DOMAIN.md), so this API makes no checkpoints: the service signs one itself every
1000 chained events when it has a signing key, and the operator signs one on demand with
`valmius audit checkpoint`. Auditors read and export them here and verify the log against those they keep.
Verifying a kept document is a POST only because it carries the document; it records nothing, so the
read-only auditor may send it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from application.audit.checkpoints import FORMAT
from application.audit.verification import TamperEvidence
from application.projections.paging import DEFAULT_LIMIT, bounded
from interfaces.http.dependencies import AuditorReader, CurrentActor, PathPosition, get_tamper_evidence, query_time
from interfaces.http.routers.read_models import Limit, ListLimit
from interfaces.http.routing import Route
from interfaces.http.schemas.common import BIGINT, Code, Line, Text, Time

router = APIRouter(prefix="/audit", tags=["audit"], route_class=Route)


Evidence = Annotated[TamperEvidence, Depends(get_tamper_evidence)]
HEX = r"^[0-9a-fA-F]*$"




class CheckpointDocument(BaseModel):
    """A signed checkpoint as exported: what the auditor keeps outside the database."""

    model_config = ConfigDict(extra="forbid")

    format: Line = Field(FORMAT, description="always " + FORMAT, examples=[FORMAT])
    position: int = Field(
        ge=1, le=BIGINT, examples=[1000],
        description="the log position the digest covers, everything up to and including it",
    )
    digest: str = Field(
        max_length=64, pattern=HEX, description="hex of the hash chain's digest at `position`",
        examples=["ddef96703bdd9c998bd8225fad6e4e7d368ec6bac2188ea0bcd345e81a9dd13f"],
    )
    created_at: Time = Field(
        description="when the checkpoint was signed (ISO-8601 with offset)",
        examples=["2025-10-25T21:40:00+03:00"],
    )
    public_key: str = Field(
        max_length=64, pattern=HEX, description="hex of the Ed25519 public key that verifies the signature",
        examples=["a461125ea615c996605483ef87a34d74aff4e18e162c1ce32cf4d685363096d0"],
    )
    signature: str = Field(
        max_length=128, pattern=HEX,
        description="hex of the Ed25519 signature over format, position, digest and created_at",
        examples=[
            "d3c9a99128341017e0b4f441cdfc0f1f2cdc4a57cd6f2eae9ef2b4a9727d418444fea3e390cabfdf14d07ec6eb186782914ba7d88dd2c2dd019c7095ddb5060f"  # noqa: E501
        ],
    )
    algorithm: Code = Field("Ed25519", description="the signature algorithm", examples=["Ed25519"])
    chain: Text | None = Field(
        None, description="how the chain's digests are computed, for an independent check"
    )


class FindingResponse(BaseModel):
    kind: str = Field(
        description="changed, removed, inserted, reordered; chain_altered (the chain table was edited); rewritten "
        "(events and chain rewritten together, found by a checkpoint); checkpoint_signature; checkpoint_key"
    )
    position: int = Field(description="the first position affected (rewritten: the checkpoint's position)")
    detail: str
    other_position: int | None = Field(None, description="reordered: where the chain recorded this event")
    after: int | None = Field(None, description="rewritten: the change lies after this position")


class CheckpointCheckResponse(BaseModel):
    position: int
    created_at: str
    public_key: str
    source: str = Field(description="stored (in the database) or document (the one sent)")
    signature_holds: bool
    key_pinned: bool | None = Field(description="whether signed by the pinned key; null when no key was pinned")
    digest_matches: bool = Field(description="whether the log up to `position` reproduces the signed digest")
    holds: bool


class VerdictResponse(BaseModel):
    intact: bool
    verdict: str = Field(description="the verdict in one sentence")
    first: FindingResponse | None = Field(description="the first position where the log stops matching its evidence")
    findings: list[FindingResponse]
    chain_head: int = Field(description="the last chained log position")
    log_head: int = Field(description="the last log position when verification began")
    checked: int = Field(description="events recomputed and compared with the chain")
    not_yet_chained: int = Field(description="events after the chain's head: recorded, chained shortly")
    head_digest: str | None
    checkpoints: list[CheckpointCheckResponse]
    seconds: float
    cut: dict[str, int] | None = Field(
        None, description="The lists cut to `limit` items, by JSON Pointer, with how many items each has; absent "
        "when none was cut."
    )
    behind: CheckpointCheckResponse | None = Field(
        None, description="a signed checkpoint beyond the log's end: the store ends before what it certifies (an "
        "older backup restored); `intact` says only that what is stored matches its evidence"
    )


PublicKey = Annotated[
    str | None,
    Query(
        max_length=64, pattern=HEX, description="hex of the public key every checkpoint must be signed with (pin it)"
    ),
]


@router.get("/verify", response_model=VerdictResponse, response_model_exclude_unset=True)
def verify_event_log(
    evidence: Evidence, actor: CurrentActor, public_key: PublicKey = None, limit: ListLimit = DEFAULT_LIMIT
) -> dict[str, Any]:
    """Recompute the hash chain from every stored event and compare it with the stored chain and every signed
    checkpoint. Names the first position where stored events were changed, removed, inserted or reordered.
    Events stored after the chain's head are counted as not yet chained, not as tampering. Its lists of
    findings and checkpoints hold at most `limit` items (`cut` says which hold more). Auditors only."""
    return bounded(evidence.get_verdict(actor, public_key).as_dict(), limit)


@router.get("/checkpoints", response_model=list[CheckpointDocument])
def list_checkpoints(
    evidence: Evidence,
    actor: CurrentActor,
    request: Request,
    response: Response,
    after: Annotated[int, Query(ge=0, le=BIGINT, description="The checkpoints after this log position.")] = 0,
    limit: Limit = DEFAULT_LIMIT,
    since: Annotated[Time | None, Query(description="Signed from this time on (ISO-8601 with an offset).")] = None,
    until: Annotated[Time | None, Query(description="Signed up to this time (ISO-8601 with an offset).")] = None,
) -> list[dict[str, Any]]:
    """The signed checkpoints in the database after log position `after`, oldest first, signed within
    `since`/`until` if given, at most `limit`, each as the document an auditor keeps; when there are more, a
    `Link` header rel="next" names the next page. Auditors only."""
    window = query_time(evidence.app, since, "since"), query_time(evidence.app, until, "until")
    found = evidence.list_checkpoints(actor, after, limit + 1, *window)
    if len(found) > limit:
        found = found[:limit]
        next_page = request.url.include_query_params(after=found[-1].position)
        response.headers["Link"] = f'<{next_page}>; rel="next"'
    return [checkpoint.document() for checkpoint in found]


@router.get("/checkpoints/{position}", response_model=CheckpointDocument)
def export_checkpoint(position: PathPosition, evidence: Evidence, actor: CurrentActor) -> dict[str, Any]:
    """The signed checkpoint at a log position, as the document to keep outside the database: later,
    `POST /audit/verify-checkpoint` or `valmius audit verify --against FILE` checks the log against it, which
    detects even a rewrite of events and chain together. Auditors only."""
    return evidence.get_checkpoint(actor, position).document()


@router.post("/verify-checkpoint", response_model=VerdictResponse, response_model_exclude_unset=True)
def verify_against_checkpoint(
    document: Annotated[CheckpointDocument, Body()], evidence: Evidence, actor: AuditorReader, public_key: PublicKey = None
) -> dict[str, Any]:
    """Verify the log against a checkpoint document you kept: its signature must hold (with the key in it, or
    the one you pin with `public_key`) and the log recomputed up to its position must reproduce its digest;
    the stored chain and checkpoints are verified as well. Records nothing. Auditors only."""
    return evidence.verify_checkpoint(actor, document.model_dump(), public_key).as_dict()
