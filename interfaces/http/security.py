"""Security headers on every answer, in one place (`secured`, put on every answer by metrics.Observed).

Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`,
and a Content-Security-Policy. An answer that is not a page gets `default-src 'none'; frame-ancestors 'none'`
(it runs nothing). A page (text/html) gets a policy without 'unsafe-inline': its own `<script>` and
`<style>` elements run only with the nonce drawn for this one response (`page()` puts it on them), inline
event handlers and style attributes never; other sources only where a page names them (the API documentation
loads Swagger UI's script and stylesheet from our own origin; the dashboard fetches from the city's identity
provider).
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Scope

NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_TAG = re.compile(r"<(script|style)(?=[\s>])", re.IGNORECASE)


def page(
    request: Request, html: str, *, sources: tuple[str, ...] = (), connect: tuple[str, ...] = (), **headers: str
) -> HTMLResponse:
    """An HTML answer whose `<script>` and `<style>` elements carry this response's nonce; `sources` are
    origins its scripts, styles and images may also load from, `connect` origins it may also fetch from."""
    nonce = secrets.token_urlsafe(18)
    request.state.csp = page_policy(nonce, sources, connect)
    return HTMLResponse(_TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html), headers=headers)


def page_policy(nonce: str, sources: tuple[str, ...] = (), connect: tuple[str, ...] = ()) -> str:
    extra = "".join(f" {source}" for source in sources)
    fetches = "".join(f" {origin}" for origin in connect)
    return (
        f"default-src 'none'; script-src 'nonce-{nonce}'{extra}; style-src 'nonce-{nonce}'{extra}; "
        f"img-src 'self' data:{extra}; connect-src 'self'{fetches}; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def harden(response: Response) -> Response:
    """The headers of every answer, on one built outside metrics.Observed: the unexpected-error answer, which
    Starlette sends from its outermost layer, around every middleware of ours."""
    for name, value in [*ALWAYS, (b"content-security-policy", NOT_A_PAGE.encode())]:
        response.headers[name.decode()] = value.decode()
    return response


def secured(scope: Scope, start: Message) -> Message:
    """A response's start message with the headers of every answer. Put on by metrics.Observed, which wraps
    `send` for every answer anyway: one layer of middleware fewer on every request."""
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-security-policy"]
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    policy = NOT_A_PAGE
    if content_type.startswith(b"text/html"):
        policy = (scope.get("state") or {}).get("csp") or NOT_A_PAGE  # a page not built by page()
    return {**start, "headers": [*headers, *ALWAYS, (b"content-security-policy", policy.encode())]}
