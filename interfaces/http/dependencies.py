"""What routes are given: the application, the authenticated actor, the expected version (If-Match)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from application.audit.history import History
from application.audit.verification import TamperEvidence
from application.coordination import Coordination
from application.projections.runner import Projections
from domain.access import Actor, authorise
from domain.shared import DomainError, N_, Rule, check_window, parse_instant
from infrastructure.bootstrap import Services
from infrastructure.identity import hash_token
from infrastructure.oidc import looks_like_jwt
from interfaces.http.errors import printable
from interfaces.http.schemas.common import BIGINT, ID_LENGTH, ID_PATTERN, INT32, CommandResponse

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the thread pool, a
# hand-off to a worker thread and back for every request and dependency, for nothing.

bearer = HTTPBearer(
    auto_error=False,
    description="An access token from the configured OpenID Connect issuer, or a token from `valmius token issue`",
)


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_coordination(request: Request) -> Coordination:
    return request.app.state.services.coordination


async def get_projections(request: Request) -> Projections:
    return request.app.state.services.projections


async def get_history(request: Request) -> History:
    return request.app.state.services.history


async def get_tamper_evidence(request: Request) -> TamperEvidence:
    return request.app.state.services.tamper_evidence


UNKNOWN_TOKEN = N_("this token is unknown or was revoked, or it has expired; ask an admin for a new one")


async def authenticate(state: State, token: str) -> Actor:
    """The actor behind a bearer token: an access token from the city's identity provider (a JWT, when an issuer
    is configured) or one of our own; DomainError(UNAUTHENTICATED) saying why not. Failures are not counted here."""
    tokens = state.services.tokens
    if state.oidc is not None and looks_like_jwt(token):
        verified = await run_in_threadpool(state.oidc.verify, token)
        tokens.accept_until(hash_token(token), verified.expires_at)  # an open stream ends when it expires
        return verified.actor
    actor = tokens.cached(token) or await run_in_threadpool(tokens.authenticate, token)  # cached: no I/O
    if actor is None:
        raise DomainError(Rule.UNAUTHENTICATED, UNKNOWN_TOKEN)
    return actor


async def get_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The authenticated user, whatever the request (a read sent as POST, such as verifying a checkpoint).
    A bad token is counted against the client's address and kept for auditors (interfaces.http.throttle)."""
    presented = credentials.credentials if credentials is not None else request.headers.get("authorization")
    if not presented:
        raise DomainError(Rule.UNAUTHENTICATED, "send your token as 'Authorization: Bearer <token>'")
    digest = hash_token(presented)
    known = getattr(request.state, "authenticated", None)  # (token, actor) by the Idempotency middleware
    actor, refused = None, None
    if known is not None and known[0] == presented:
        actor = known[1]
    elif credentials is not None:
        try:
            actor = await authenticate(request.app.state, presented)
        except DomainError as error:
            if error.rule is Rule.IDENTITY_PROVIDER_UNAVAILABLE:
                raise  # (503: the token was not judged, nor counted as a failure)
            refused = error
    if actor is None:
        address = request.client.host if request.client else "unknown"
        throttle = request.app.state.failed_authentications
        retry_after = await run_in_threadpool(throttle.failed, address, digest, printable(request.url.path, 200))
        if retry_after is not None:
            raise DomainError(
                Rule.TOO_MANY_FAILED_AUTHENTICATIONS,
                "too many failed authentications from {address}; retry after {retry_after} s with a valid token", {"address": address, "retry_after": retry_after},
                retry_after=retry_after,
            )
        raise refused or DomainError(Rule.UNAUTHENTICATED, UNKNOWN_TOKEN)
    request.state.actor = actor
    request.state.token_hash = digest  # an open stream checks its token again by this
    return actor


async def get_actor(request: Request, actor: Annotated[Actor, Depends(get_reader)]) -> Actor:
    """The authenticated user; on a write, read-only roles are refused before the body is looked at."""
    if request.method in WRITES:
        authorise(actor, "write")
    return actor


async def get_auditor(actor: Annotated[Actor, Depends(get_reader)]) -> Actor:
    """An auditor, for the reads sent as POST that only auditors make: others are refused before the body."""
    authorise(actor, "read_audit_trail")
    return actor


_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


async def get_expected_version(
    if_match: Annotated[
        str | None,
        Header(
            max_length=40,
            description='The version you read (its ETag, e.g. "12"); a stale one is refused with 409',
        ),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match)
    if not found:
        raise DomainError(
            Rule.INVALID_INPUT, 'If-Match {if_match!r} is not a version such as "12"', {"if_match": if_match}, field="header.if-match"
        )
    return int(found.group(1))


# Path parameters: ids of the fixed pattern (no `/`, no control characters, bounded), numbers within columns.
PathId = Annotated[
    str,
    Path(
        min_length=1, max_length=ID_LENGTH, pattern=ID_PATTERN,
        description="An id: letters, digits, '-', '_' and '.', starting with a letter or digit, at most 64.",
    ),
]
PathNumber = Annotated[int, Path(ge=1, le=INT32)]
PathPosition = Annotated[int, Path(ge=1, le=BIGINT)]

_SPACE_FOR_PLUS = re.compile(r"^(\S+T\S+) (\d\d(?::?\d\d)?)$")


def query_time(app: Coordination, text: str | None, name: str) -> datetime | None:
    """A time asked about: ISO-8601 with an explicit offset (AMBIGUOUS_TIME without one; a `+` that arrives as a
    space before the offset is read as `+`), within the query window of the server clock (OUT_OF_RANGE)."""
    if not text:
        return None
    moment = parse_instant(_SPACE_FOR_PLUS.sub(r"\1+\2", text.strip()), name)
    return check_window(moment, app.now(), app.policy.time.query_window, name)


App = Annotated[Coordination, Depends(get_coordination)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
AuditorReader = Annotated[Actor, Depends(get_auditor)]
ExpectedVersion = Annotated[int | None, Depends(get_expected_version)]


POSITION_HEADER = "Valmius-Position"


def etag(version: int) -> str:
    return f'"{version}"'


def answered(response: Response, app: Coordination, record_id: str, version: int) -> CommandResponse:
    """A command's answer: the record's new version (also its ETag), and the log position of the write, which
    a client can pass to a read model's `min_position` to read its own write."""
    response.headers["ETag"] = etag(version)
    position = app.last_position()
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
    return CommandResponse(id=record_id, version=version)
