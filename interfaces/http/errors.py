"""Every refusal becomes an RFC 9457 problem detail naming the rule, in one place.

Refusals that happen at the edge (bad input, an ambiguous time, a classification that cannot be parsed)
are kept for auditors here, exactly like those the application refuses.

While the store is out of reach (not yet reached since the process started, or lost since), a request is
answered 503 STORE_UNAVAILABLE with Retry-After: nothing was recorded by it, and the same request may be sent
again (with its Idempotency-Key) once the store is back.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from application.audit.refusals import reminder_target
from application.backoff import RETRY_CAP_SECONDS
from domain.shared import DomainError, N_, Rule
from infrastructure.logging import REQUEST_ID
from infrastructure.persistence import STORE_ERRORS, store_unavailable
from interfaces.http import i18n
from interfaces.http.metrics import REFUSALS
from interfaces.http.security import harden

log = logging.getLogger("valmius.http")

PROBLEM_JSON = "application/problem+json"

STATUS = {
    Rule.NOT_FOUND: 404,
    Rule.FORBIDDEN_ROLE: 403,
    Rule.UNAUTHENTICATED: 401,
    Rule.TOO_MANY_FAILED_AUTHENTICATIONS: 429,
    Rule.REQUEST_TOO_LARGE: 413,
    Rule.READ_MODEL_BEHIND: 503,
    Rule.STORE_UNAVAILABLE: 503,
    Rule.IDENTITY_PROVIDER_UNAVAILABLE: 503,
    Rule.CONFLICT_VERSION: 409,
    Rule.ALREADY_EXISTS: 409,
    Rule.IDEMPOTENCY_IN_PROGRESS: 409,
    Rule.OPEN_ITEMS: 409,
    Rule.PLAN_STILL_ACTIVE: 409,
    Rule.CRISIS_NOT_CLOSED: 409,
    Rule.CRISIS_CLOSED: 409,
    Rule.DUPLICATE_SEQUENCE: 409,
    Rule.ALREADY_ANSWERED: 409,
    Rule.IMMUTABLE_RECORD: 409,
    Rule.INVALID_TRANSITION: 409,
    Rule.ACTION_NOT_OPEN: 409,
    Rule.PLAN_NOT_APPROVED: 409,
    Rule.PLAN_NOT_ACTIVE: 409,
    Rule.NO_EMERGENCY_CONDITIONS: 409,
    Rule.POSITION_HELD: 409,
    Rule.NOT_POSITION_HOLDER: 409,
    Rule.STALE_BRIEF: 409,
    Rule.BRIEF_MISMATCH: 409,
    Rule.TEXT_CHANGED: 409,
    Rule.HANDOVER_REQUIRED: 409,
    Rule.CLEARANCE_REQUIRED: 403,
    Rule.NOT_IN_AN_EXERCISE: 409,
    Rule.METHANE_REQUIRED: 409,
    Rule.REPORT_NOT_DRAFTED: 409,
    Rule.REPORT_INCOMPLETE: 409,
    Rule.SECTION_NOT_YOURS: 403,
    Rule.AREA_ALREADY_AFFECTED: 409,
    Rule.WARNING_NOT_APPROVED: 409,
    Rule.ALREADY_ACKNOWLEDGED: 409,
    Rule.NOT_A_RECIPIENT: 403,
    Rule.REMINDER_SETTLED: 409,
    Rule.NOTICE_RECORDED: 409,
    Rule.DELIVERY_RECORDED: 409,
}



# Starlette's own answers (an unknown path, a method a path does not take), said in the request's language.
PHRASES = {"Not Found": N_("Not Found"), "Method Not Allowed": N_("Method Not Allowed")}

# Answers that are no refusal to keep for auditors: failed authentications (interfaces.http.throttle keeps them,
# aggregated), unknown records, and an identity provider out of reach (an outage, like STORE_UNAVAILABLE).
NOT_KEPT = frozenset({
    Rule.UNAUTHENTICATED, Rule.TOO_MANY_FAILED_AUTHENTICATIONS, Rule.NOT_FOUND, Rule.IDENTITY_PROVIDER_UNAVAILABLE
})


def problem(
    rule: Rule, detail: str, status: int | None = None, instance: str | None = None, *,
    params: dict[str, object] | None = None, **extra: Any,
) -> JSONResponse:
    """The problem detail refusing this request by `rule`, with the request's id (and counted by its rule).
    `detail` is an English template with its `params`; title and detail are said in the request's language."""
    status = status or STATUS.get(rule, 422)
    REFUSALS.labels(str(rule)).inc()
    request_id = REQUEST_ID.get()
    title, detail = said(rule, detail, params)
    body = {
        "type": f"urn:valmius:rule:{rule}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": str(rule),
        **({"instance": instance} if instance else {}),
        **{name: i18n.translated(value) for name, value in extra.items()},
        "request_id": request_id,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    headers |= {"Content-Language": i18n.LANGUAGE.get(), "Vary": "Accept-Language"}
    if request_id is not None:  # (an answer to an unexpected failure is sent outside the middleware that adds it)
        headers["X-Request-ID"] = request_id
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def said(rule: Rule, detail: str, params: dict[str, object] | None = None) -> tuple[str, str]:
    """A problem's title and detail in the request's language (interfaces/http/i18n.py)."""
    return i18n.title(rule), i18n.say(detail, params)


def store_unavailable_problem(path: str) -> JSONResponse:
    return problem(
        Rule.STORE_UNAVAILABLE,
        "the event store cannot be reached just now; nothing was recorded by this request. Send it again (with "
        "the same Idempotency-Key) after Retry-After seconds.",
        instance=path,
        retry_after=int(RETRY_CAP_SECONDS),
    )


class StoreGate:
    """Answers 503 STORE_UNAVAILABLE while this process has not yet opened its store (it keeps trying in the
    background, see app.lifespan), and when the store is lost under a middleware (Idempotency-Key, disclosure
    records) rather than a route; pages that need no store (liveness, the API docs) are served all along."""

    OPEN_PATHS = frozenset({"/health/live", "/docs", "/openapi.json", "/dashboard"})
    OPEN_PREFIXES = ("/docs/",)  # the documentation's assets

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @classmethod
    def open(cls, path: str) -> bool:
        """Whether `path` is served while the store is out of reach."""
        return path in cls.OPEN_PATHS or path.startswith(cls.OPEN_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if getattr(scope["app"].state, "services", None) is None and not self.open(scope["path"]):
            await store_unavailable_problem(scope["path"])(scope, receive, send)
            return
        started = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            if started or not store_unavailable(error):
                raise
            log.warning("store out of reach on %s %s: %s", scope["method"], scope["path"], error)
            await store_unavailable_problem(scope["path"])(scope, receive, send)


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
QUOTED = 80  # at most this many characters of what a client sent are quoted back


def printable(text: str, limit: int = QUOTED) -> str:
    """What a client sent, safe to quote in a problem and to keep: control characters and lone surrogates
    escaped (a database refuses NUL, UTF-8 refuses surrogates), cut to `limit` characters."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return _UNPRINTABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _record_edge_refusal(request: Request, error: DomainError, payload: dict[str, Any] | None = None) -> None:
    """Every refusal answered goes to Coordination.record_refusal, which keeps each once: one the command
    pipeline kept already is not kept again."""
    services = getattr(request.app.state, "services", None)
    if services is None:
        return
    actor = getattr(request.state, "actor", None)
    route = request.scope.get("route")
    command = getattr(route, "name", None) or f"{request.method} {printable(request.url.path)}"
    params = request.path_params
    target = (  # as the command pipeline keeps its refusals (application.audit.refusals reads them by target)
        params.get("crisis_id") or params.get("unit") or params.get("liaison_id") or params.get("warning_id")
        or (reminder_target(params["reminder_id"]) if "reminder_id" in params else None) or request.url.path
    )
    services.coordination.record_refusal(command, actor, printable(str(target), 200), payload or {}, error)


def validation_errors(error: RequestValidationError, language: str = i18n.DEFAULT) -> list[dict[str, str]]:
    """Each refused value: the field (`critical_functions.0.mtpd_minutes`, `path.crisis_id`, `query.as_of`,
    `header.if-match`; JSON keys as sent, escaped), the rule (pydantic's error type, e.g. `string_too_long`,
    `less_than_equal`, `string_pattern_mismatch`, `control_character`, `extra_forbidden`) and the problem, said
    in `language`."""
    return [
        {
            "field": ".".join(printable(str(p)) for p in e["loc"] if p != "body"),
            "rule": e["type"],
            "problem": printable(i18n.validation_problem(e, language), 300),
        }
        for e in error.errors()
    ]


def validation_sentence(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{e['field'] or 'body'}: {e['problem']} ({e['rule']})" for e in errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    def domain_error(request: Request, error: DomainError) -> JSONResponse:
        if error.rule not in NOT_KEPT:
            _record_edge_refusal(request, error)
        return problem(error.rule, error.template, instance=request.url.path, params=error.params, **error.details)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = validation_errors(error)  # kept for auditors in English, the records' language
        sentence = validation_sentence(errors)
        _record_edge_refusal(request, DomainError(Rule.INVALID_INPUT, sentence), {"errors": errors})
        errors = validation_errors(error, i18n.LANGUAGE.get())
        sentence = validation_sentence(errors)
        return problem(Rule.INVALID_INPUT, sentence, instance=request.url.path, errors=errors)

    def outage(request: Request, error: Exception) -> JSONResponse:
        if not store_unavailable(error):
            raise error  # answered as unexpected, below
        log.warning("store out of reach on %s %s: %s", request.method, request.url.path, error)
        return store_unavailable_problem(request.url.path)

    for store_error in STORE_ERRORS:
        app.add_exception_handler(store_error, outage)

    @app.exception_handler(Exception)
    def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return harden(problem(
            Rule.INTERNAL_ERROR,
            "the service failed unexpectedly; the error is logged. Read the record before you retry.",
            status=500,
            instance=request.url.path,
        ))

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        rule = {404: Rule.NOT_FOUND, 401: Rule.UNAUTHENTICATED, 403: Rule.FORBIDDEN_ROLE}.get(
            error.status_code, Rule.INVALID_INPUT
        )
        detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
        detail = PHRASES.get(detail, detail)
        return problem(rule, detail, status=error.status_code, instance=request.url.path)
