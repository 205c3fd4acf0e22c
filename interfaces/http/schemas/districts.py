"""The answers about districts: the registry (GET /districts) and the situation by district."""

from __future__ import annotations

from pydantic import Field

from domain.districts import District, cap_polygon
from interfaces.http.schemas.read_models import CrisisRecord, Label, PictureResponse, ReadResponse


class DistrictResponse(ReadResponse):
    code: str = Field(examples=["54"])
    name_fi: str = Field(examples=["Vuosaari"])
    name_sv: str = Field(examples=["Nordsjö"])
    parent: str | None = Field(description="The district a sub-district belongs to.", examples=[None])
    aliases: list[str] = Field(description="Other names the registry knows it by.")
    outline: list[list[float]] = Field(
        description="A closed ring of [latitude, longitude] points (WGS84), the first repeated last."
    )
    cap_polygon: str = Field(description="The outline as a CAP 1.2 <polygon>: \"lat,lon lat,lon …\".")


class DistrictsResponse(ReadResponse):
    """The district registry a crisis's areas are checked against, and where its data comes from."""

    about: dict[str, str] = Field(description="The data file's source, licence and notes, as it gives them.")
    districts: list[DistrictResponse]


def present_district(district: District) -> DistrictResponse:
    return DistrictResponse(
        code=district.code, name_fi=district.name_fi, name_sv=district.name_sv, parent=district.parent,
        aliases=list(district.aliases), outline=[[lat, lon] for lat, lon in district.outline],
        cap_polygon=cap_polygon(district),
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
