"""The pages: the leadership dashboard and the API documentation. Each is sent through `security.page`,
which gives its script and style elements this response's CSP nonce.

The dashboard is one page, live over Server-Sent Events. The page itself holds no data; it asks for the
reader's token and streams the overview with it. It speaks Finnish, Swedish or English (a switch; the browser's
language by default): its words in all three come with it, from the catalogs (interfaces/http/i18n.py).

The documentation is FastAPI's Swagger UI page, its inline start-up script run by nonce. Swagger UI itself
(script and stylesheet) is served by the service from the `swagger-ui-bundle-v2` package under `/docs/assets/`
(mounted by the app), so the page works without the internet; the page's policy allows our own origin and
nothing else. ReDoc is not served: it would add web fonts and a second bundle for the same document.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from swagger_ui_bundle import swagger_ui_path

from interfaces.http.i18n import dashboard_texts
from interfaces.http.routing import Route
from interfaces.http.security import page

router = APIRouter(tags=["dashboard"], route_class=Route)

PAGE = resources.files("interfaces.web").joinpath("dashboard.html").read_text(encoding="utf-8")
SWAGGER_UI = swagger_ui_path  # the folder of Swagger UI's distribution, served at DOCS_ASSETS
DOCS_ASSETS = "/docs/assets"
# The page's words in each language, from the catalogs; the page picks one (data, not script: the CSP holds).
TEXTS = f'data-texts="{escape(json.dumps(dashboard_texts(), ensure_ascii=False))}"'


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=True)
def dashboard(request: Request) -> HTMLResponse:
    """The situation overview for leadership, for a wall screen or a laptop; updates live."""
    oidc = request.app.state.oidc  # sign-in with the city's identity provider, when one is configured
    sign_in = escape(json.dumps(oidc.sign_in() if oidc is not None else {}))
    return page(
        request, PAGE.replace('data-sign-in="{}"', f'data-sign-in="{sign_in}"').replace('data-texts="{}"', TEXTS),
        connect=(oidc.origin,) if oidc is not None else (), **{"Cache-Control": "no-cache"},
    )


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def documentation(request: Request) -> HTMLResponse:
    swagger = get_swagger_ui_html(
        openapi_url=request.app.openapi_url, title=f"{request.app.title} - API documentation",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url="data:,",
    )
    return page(request, swagger.body.decode(), sources=("'self'",))
