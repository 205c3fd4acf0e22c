"""The district registry, and the active crises by district. A crisis's areas are changed by POST
/crises/{crisis_id}/areas (routers.crisis)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from application.projections.district_overview import DistrictOverview
from application.projections.paging import DEFAULT_LIMIT, bounded
from interfaces.http.dependencies import App, CurrentActor
from interfaces.http.routers.read_models import READ, ListLimit, Views, caught_up
from interfaces.http.routing import Route
from interfaces.http.schemas.districts import DistrictOverviewResponse, DistrictsResponse, present_district

router = APIRouter(tags=["districts"], route_class=Route)


@router.get("/districts", response_model=DistrictsResponse, **READ)
def list_districts(app: App, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """The city's districts and sub-districts a crisis's affected areas are named from, in the registry's order:
    code, Finnish and Swedish names, parent district, outline (WGS84, in the form of a CAP 1.2 polygon) and CAP
    geocode; `about` says where the data comes from. At most `limit` districts (`cut` says how many there are)."""
    registry = app.list_districts(actor)
    answer = {"about": dict(registry.about), "districts": [present_district(d).model_dump() for d in registry]}
    return bounded(answer, limit)


@router.get(
    "/situation-overview/districts",
    response_model=DistrictOverviewResponse,
    dependencies=[caught_up(DistrictOverview.name)],
    **READ,
)
def get_district_overview(views: Views, actor: CurrentActor, limit: ListLimit = DEFAULT_LIMIT) -> dict[str, Any]:
    """The active crises by district, with their severity and status, a district's own and its sub-districts',
    most severe first; areas the registry does not know apart. A SECRET or RECEIVED crisis's areas are its
    content: a reader without clearance finds it in no district, only counted in `withheld_crises`. Each list
    holds at most `limit` items (`cut` says which hold more)."""
    return views.get_district_overview(actor, limit)
