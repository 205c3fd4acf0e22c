"""The city's districts: the registry a crisis's affected areas are checked against (*configurable*).

A district has the city's code, its Finnish and Swedish names and an outline (a closed ring of WGS84
latitude/longitude points); a sub-district (osa-alue) names its district as `parent`. The registry finds one
by code or by either name, whatever the case (a few have aliases too: the whole city is also "city-wide").
It is read from `domain/districts.json` unless `VALMIUS_DISTRICTS_FILE` names another file of the same form
(infrastructure.settings); README.md says where the data comes from.

Areas are checked when a command names them, never when stored events are read again: a crisis declared
before the registry, or before a district was renamed, keeps the names it was recorded with.

For CAP 1.2 (OASIS Common Alerting Protocol) an <area> is described by its name (`areaDesc`), a `polygon`
("lat,lon lat,lon …", first point repeated last: `cap_polygon`) and a `geocode` (`cap_geocode`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.shared import DomainError, Rule

DATA_FILE = Path(__file__).with_name("districts.json")
GEOCODE_VALUE_NAME = "HEL_DISTRICT"  # the CAP geocode's valueName: the city's district code follows as its value


@dataclass(frozen=True)
class District:
    code: str
    name_fi: str
    name_sv: str
    outline: tuple[tuple[float, float], ...]  # (lat, lon) WGS84, a closed ring: the first point is the last
    parent: str | None = None
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.code or not self.name_fi or not self.name_sv:
            raise ValueError(f"district {self.code!r}: a code, a Finnish and a Swedish name are required")
        if len(self.outline) < 4 or self.outline[0] != self.outline[-1]:
            raise ValueError(f"district {self.code}: its outline is a closed ring of at least 3 points")
        for lat, lon in self.outline:
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError(f"district {self.code}: ({lat}, {lon}) is not a WGS84 latitude and longitude")

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name_fi, self.name_sv, *self.aliases)


def cap_polygon(district: District) -> str:
    """The outline as a CAP 1.2 <polygon>: "lat,lon lat,lon …", the first point repeated last."""
    return " ".join(f"{lat!r},{lon!r}" for lat, lon in district.outline)


def cap_geocode(district: District) -> dict[str, str]:
    """The <geocode> a CAP <area> of the district carries: {"valueName": …, "value": its code}."""
    return {"valueName": GEOCODE_VALUE_NAME, "value": district.code}


@dataclass(frozen=True)
class DistrictRegistry:
    """The districts by code, found by code or by any of their names, case-insensitively."""

    districts: tuple[District, ...]
    about: Mapping[str, str] = field(default_factory=dict)  # the file's source, licence and notes, as given
    _by_key: dict[str, District] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[str, District] = {}
        codes = {d.code for d in self.districts}
        for district in self.districts:
            if district.parent is not None and district.parent not in codes:
                raise ValueError(f"district {district.code}: its parent {district.parent} is not in the registry")
            for key in {district.code.casefold(), *(name.casefold() for name in district.names)}:
                other = by_key.get(key)
                if other is not None and other is not district:
                    raise ValueError(f"{key!r} names both {other.code} and {district.code}")
                by_key[key] = district
        object.__setattr__(self, "_by_key", by_key)

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> DistrictRegistry:
        """The registry of a parsed districts file: {"districts": [{code, name_fi, name_sv, outline, parent,
        aliases}, …]} with anything else (source, licence) kept as `about`."""
        districts = tuple(
            District(
                code=str(d["code"]), name_fi=d["name_fi"], name_sv=d["name_sv"],
                outline=tuple((float(lat), float(lon)) for lat, lon in d["outline"]),
                parent=d.get("parent"), aliases=tuple(d.get("aliases") or ()),
            )
            for d in data["districts"]
        )
        if not districts:
            raise ValueError("the registry names no district")
        return cls(districts, {k: v for k, v in data.items() if k != "districts" and isinstance(v, str)})

    @classmethod
    def read(cls, path: Path) -> DistrictRegistry:
        return cls.of(json.loads(path.read_text(encoding="utf-8")))

    def __iter__(self) -> Iterator[District]:
        return iter(self.districts)

    def __len__(self) -> int:
        return len(self.districts)

    def find(self, area: str) -> District | None:
        """The district `area` names (its code or a name, any case), None for none."""
        return self._by_key.get(area.strip().casefold())

    def get(self, area: str) -> District:
        """The district `area` names; UNKNOWN_AREA, with the closest name if one is close, for none."""
        found = self.find(area)
        if found is not None:
            return found
        close = difflib.get_close_matches(area.strip().casefold(), list(self._by_key), n=1, cutoff=0.75)
        if close:
            match = self._by_key[close[0]]
            name = next((n for n in match.names if n.casefold() == close[0]), match.name_fi)
            raise DomainError(
                Rule.UNKNOWN_AREA, "{area} is not a district of the city; did you mean {match} ({code})?",
                {"area": area, "match": name, "code": match.code},
            )
        raise DomainError(
            Rule.UNKNOWN_AREA, "{area} is not a district of the city (GET /districts lists them)", {"area": area}
        )

    def check_areas(self, areas: Iterable[str]) -> list[str]:
        """`areas` as given (trimmed), each a district of the registry (UNKNOWN_AREA); a district named twice,
        by the same name or by another of its names, is kept once, as first named."""
        named: dict[str, str] = {}
        for area in areas:
            named.setdefault(self.get(area).code, area.strip())
        return list(named.values())

    def children(self, code: str) -> list[District]:
        return [d for d in self.districts if d.parent == code]


def default_districts() -> DistrictRegistry:
    """The registry of the repository's data file (domain/districts.json)."""
    return _DEFAULT


_DEFAULT = DistrictRegistry.read(DATA_FILE)
