"""Liveness and readiness of the service and its store."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from interfaces.http.dependencies import App

router = APIRouter(tags=["health"])


class HealthResponse(BaseModel):
    status: str
    store: str
    last_event: int


@router.get("/health")
def health(app: App) -> HealthResponse:
    """`ok` when the store answers; the position of the last stored event."""
    return HealthResponse(
        status="ok", store=type(app.recorder).__name__, last_event=app.recorder.max_notification_id() or 0
    )
