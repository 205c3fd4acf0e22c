"""The answers about districts: the registry (GET /districts) and the situation by district."""

from __future__ import annotations

from pydantic import Field

from domain.districts import District, cap_geocode, cap_polygon
from interfaces.http.schemas.read_models import CrisisRecord, Label, PictureResponse, ReadResponse


class DistrictResponse(ReadResponse):
    code: str = Field(examples=["54"])
    name_fi: str = Field(examples=["Vuosaari"])
    name_sv: str = Field(examples=["Nordsjö"])
    parent: str | None = Field(description="The district a sub-district belongs to.", examples=[None])
    aliases: list[str] = Field(description="Other names the registry knows it by.")
    outline: str = Field(
        description="A closed ring of WGS84 points, \"lat,lon lat,lon …\", the first repeated last: the form of a "
        "CAP 1.2 <polygon> (one string, so that no `limit` cuts a ring).",
        examples=["60.209,25.1848 60.223,25.1731 60.2288,25.145 60.209,25.1848"],
    )
    geocode: dict[str, str] = Field(
        description="The CAP 1.2 <geocode> of the district: its valueName and value (the code).",
        examples=[{"valueName": "HEL_DISTRICT", "value": "54"}],
    )


class DistrictsResponse(PictureResponse):
    """The district registry a crisis's areas are checked against, and where its data comes from; at most `limit`
    districts (`cut` says when there are more)."""

    about: dict[str, str] = Field(description="The data file's source, licence and notes, as it gives them.")
    districts: list[DistrictResponse]


def present_district(district: District) -> DistrictResponse:
    return DistrictResponse(
        code=district.code, name_fi=district.name_fi, name_sv=district.name_sv, parent=district.parent,
        aliases=list(district.aliases), outline=cap_polygon(district), geocode=cap_geocode(district),
    )


class DistrictCrisisResponse(CrisisRecord):
    """An active crisis in a district, with the areas it names there (its own or its sub-districts')."""

    severity: int
    status: str
    category: str
    title: str | None
    areas: list[str] | Label


class DistrictSituationResponse(ReadResponse):
    code: str
    name_fi: str
    name_sv: str
    parent: str | None
    highest_severity: int
    crises: list[DistrictCrisisResponse]


class UnregisteredAreaResponse(ReadResponse):
    area: str = Field(description="An area a crisis names that the registry does not know (named before it did).")
    crises: list[DistrictCrisisResponse]


class DistrictOverviewResponse(PictureResponse):
    """Active crises (not CLOSED) by district, computed at `at`."""

    at: str
    districts: list[DistrictSituationResponse] = Field(
        description="The districts with active crises in them or in their sub-districts, by code."
    )
    unregistered_areas: list[UnregisteredAreaResponse]
    withheld_crises: int = Field(
        description="Active crises whose areas the reader is not cleared to see (SECRET or RECEIVED): in no district."
    )
