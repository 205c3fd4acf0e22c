"""Exercise mode: the picture of the crises declared as exercises (POST /crises with `exercise: true`), apart
from the real one, which never shows them (application.projections.exercises)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from application.projections.paging import DEFAULT_LIMIT
from application.projections.situation_overview import SituationOverview
from interfaces.http.dependencies import CurrentActor
from interfaces.http.routers.read_models import READ, ListLimit, Views, caught_up
from interfaces.http.routing import Route
from interfaces.http.schemas.read_models import SituationOverviewResponse

router = APIRouter(tags=["exercises"], route_class=Route)


@router.get(
    "/exercises/situation-overview",
    response_model=SituationOverviewResponse,
    dependencies=[caught_up(SituationOverview.name)],
    **READ,
)
def get_exercise_overview(views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """EXERCISE: the situation overview of the crises declared as exercises only, in the shape of GET
    /situation-overview (`exercise`: true), for the roles that read it. Their plans active, police requests,
    decisions and improvement items are here, never in the real picture; the units' readiness is the real one."""
    return views.get_exercise_overview(actor, limit=limit)
