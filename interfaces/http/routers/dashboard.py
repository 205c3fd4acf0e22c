"""The leadership dashboard: one page, live over Server-Sent Events. The page itself holds no data; it asks
for the reader's token and streams the overview with it."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["dashboard"])

PAGE = resources.files("interfaces.web").joinpath("dashboard.html").read_text(encoding="utf-8")


@router.get("/dashboard", response_class=HTMLResponse, include_in_schema=True)
def dashboard() -> HTMLResponse:
    """The situation overview for leadership, for a wall screen or a laptop; updates live."""
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache", "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"})
