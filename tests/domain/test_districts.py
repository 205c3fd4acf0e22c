"""The district registry and a crisis's affected areas: names checked against the registry when a command names
them (UNKNOWN_AREA), changed by a recorded command (Crisis.AreasChanged), and the CAP 1.2 forms of a district.

No database. Times follow scenario S1 (the autumn storm, declared 2025-10-25 21:40+03:00)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.crisis import Crisis
from domain.crisis_records import CrisisRecord
from domain.districts import DATA_FILE, District, DistrictRegistry, cap_geocode, cap_polygon, default_districts
from domain.shared import DomainError, Policy, Rule
from tests.domain.support import made, recorded, refused

POLICY = Policy()
REGISTRY = POLICY.districts
DECLARED = datetime.fromisoformat("2025-10-25T21:40+03:00")
SCENARIOS = Path(__file__).resolve().parents[1] / "acceptance" / "scenarios"


def minutes(n: float) -> datetime:
    return DECLARED + timedelta(minutes=n)


def declare(areas: list[str], policy: Policy = POLICY) -> Crisis:
    return made(Crisis.declare(
        crisis_id="C-S1", title="Storm: power outages in eastern Helsinki", category="SEVERE_WEATHER", severity=2,
        areas=areas, occurred_at=DECLARED, emergency_conditions_in_force=False, policy=policy, actor="DO-1",
        now=DECLARED,
    ))


def change(crisis: Crisis, n: float = 30, **areas: list[str]) -> None:
    crisis.change_areas(
        reason="the outages moved north", occurred_at=minutes(n), policy=POLICY, actor="DO-1", now=minutes(n), **areas
    )


def areas_of(crisis: Crisis) -> list[str]:
    return CrisisRecord.of(recorded(crisis)).areas


# --- the registry ---------------------------------------------------------------------------------------------


def test_a_district_is_found_by_its_code_or_either_name_whatever_the_case():
    vuosaari = REGISTRY.get("54")
    assert (vuosaari.name_fi, vuosaari.name_sv, vuosaari.parent) == ("Vuosaari", "Nordsjö", None)
    assert REGISTRY.get("nordsjö") is REGISTRY.get(" VUOSAARI ") is vuosaari
    kontula = REGISTRY.get("Gårdsbacka")
    assert (kontula.code, kontula.name_fi, kontula.parent) == ("471", "Kontula", "47")
    assert REGISTRY.get("city-wide").code == "091"


def test_every_area_the_scenarios_name_is_a_district_of_the_registry():
    named = {
        area
        for path in SCENARIOS.glob("*.json")
        for area in re.findall(r'"areas": \[([^\]]*)\]', path.read_text(encoding="utf-8"), re.S)
        for area in json.loads(f"[{area}]")
    }
    assert {"Vuosaari", "Mellunkylä", "Itäkeskus", "Kontula", "Kallio", "Sörnäinen", "Alppila", "Vallila",
            "Mellunmäki", "Malmi", "Pihlajamäki", "city-wide"} <= named
    assert [area for area in sorted(named) if REGISTRY.find(area) is None] == []


def test_an_unknown_area_is_refused_naming_a_close_match_when_there_is_one():
    with pytest.raises(DomainError) as error:
        REGISTRY.get("Vuosari")
    assert error.value.rule is Rule.UNKNOWN_AREA
    assert error.value.message == "Vuosari is not a district of the city; did you mean Vuosaari (54)?"
    with pytest.raises(DomainError) as error:
        REGISTRY.get("Tapiola")
    assert error.value.message == "Tapiola is not a district of the city (GET /districts lists them)"


def test_the_repository_registry_is_small_closed_and_names_each_district_once():
    assert DATA_FILE.stat().st_size < 64 * 1024
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    assert {"source", "licence", "outlines"} <= set(data) and "APPROXIMATE" in data["outlines"]
    codes = [d.code for d in default_districts()]
    assert len(codes) == len(set(codes)) == len(data["districts"])
    kaupunginosat = [d for d in default_districts() if d.parent is None and d.code != "091"]
    assert [d.code for d in kaupunginosat] == [f"{n:02d}" for n in range(1, 60)]  # the city's 59 districts
    for district in default_districts():
        assert district.outline[0] == district.outline[-1]
        assert all(59.9 < lat < 60.4 and 24.7 < lon < 25.3 for lat, lon in district.outline), district.code


def test_a_registry_of_another_file_replaces_the_repositorys(tmp_path):
    ring = [[60.0, 25.0], [60.1, 25.0], [60.1, 25.1], [60.0, 25.0]]
    path = tmp_path / "districts.json"
    path.write_text(json.dumps({"source": "test", "districts": [
        {"code": "1", "name_fi": "Keskusta", "name_sv": "Centrum", "outline": ring},
        {"code": "11", "name_fi": "Tori", "name_sv": "Torget", "outline": ring, "parent": "1"},
    ]}), encoding="utf-8")
    registry = DistrictRegistry.read(path)
    assert [d.code for d in registry.children("1")] == ["11"] and registry.about == {"source": "test"}
    assert registry.find("Vuosaari") is None


@pytest.mark.parametrize(("districts", "problem"), [
    ([], "no district"),
    ([{"code": "1", "name_fi": "A", "name_sv": "B", "outline": [[60, 25], [60.1, 25], [60, 25.1]]}], "closed ring"),
    ([{"code": "1", "name_fi": "A", "name_sv": "B", "outline": [[60, 25], [60.1, 25], [60, 25.1], [60, 25]],
       "parent": "9"}], "parent 9"),
    ([{"code": "1", "name_fi": "A", "name_sv": "B", "outline": [[60, 25], [60.1, 25], [60, 25.1], [60, 25]]},
      {"code": "2", "name_fi": "a", "name_sv": "C", "outline": [[60, 25], [60.1, 25], [60, 25.1], [60, 25]]}],
     "names both 1 and 2"),
    ([{"code": "1", "name_fi": "A", "name_sv": "B", "outline": [[95, 25], [60.1, 25], [60, 25.1], [95, 25]]}],
     "not a WGS84"),
])
def test_a_registry_that_cannot_be_used_is_refused_saying_why(districts, problem):
    with pytest.raises(ValueError, match=problem):
        DistrictRegistry.of({"districts": districts})


def test_a_district_in_cap_is_its_polygon_lat_lon_closed_and_its_geocode():
    kallio = REGISTRY.get("Kallio")
    polygon = cap_polygon(kallio)
    points = polygon.split(" ")
    assert points[0] == points[-1] and len(points) == len(kallio.outline)
    assert re.fullmatch(r"(-?\d+(\.\d+)?,-?\d+(\.\d+)? ){3,}-?\d+(\.\d+)?,-?\d+(\.\d+)?", polygon)  # CAP 1.2 form
    lat, lon = map(float, points[0].split(","))
    assert (lat, lon) == kallio.outline[0] and 60 < lat < 61 and 24 < lon < 26  # latitude first
    assert cap_geocode(kallio) == {"valueName": "HEL_DISTRICT", "value": "11"}
    square = District("X", "X", "X", ((60.0, 25.0), (60.5, 25.0), (60.5, 25.25), (60.0, 25.0)))
    assert cap_polygon(square) == "60.0,25.0 60.5,25.0 60.5,25.25 60.0,25.0"


# --- a crisis's areas ------------------------------------------------------------------------------------------


def test_a_crisis_is_declared_with_the_areas_as_named_each_district_once():
    crisis = declare(["Vuosaari", "Gårdsbacka", "nordsjö", " Itäkeskus"])
    assert crisis.areas == ["Vuosaari", "Gårdsbacka", "Itäkeskus"]


def test_a_crisis_naming_an_area_that_is_no_district_is_not_declared():
    with pytest.raises(DomainError) as error:
        declare(["Vuosaari", "Kontla"])
    assert error.value.rule is Rule.UNKNOWN_AREA and "did you mean Kontula (471)?" in error.value.message


def test_areas_are_added_and_removed_with_the_reason_and_recorded():
    crisis = declare(["Vuosaari", "Kontula"])
    change(crisis, added=["Mellunmäki"], removed=["gårdsbacka"])
    event = crisis.pending_events[-1]
    assert isinstance(event, Crisis.AreasChanged)
    assert (event.added, event.removed, event.reason) == (["Mellunmäki"], ["Kontula"], "the outages moved north")
    assert crisis.areas == areas_of(crisis) == ["Vuosaari", "Mellunmäki"]
    assert event.summary() == "affected areas changed by DO-1 at 22:10"


def test_an_area_already_affected_by_any_of_its_names_is_not_added_again():
    crisis = declare(["Vuosaari"])
    with refused(crisis, Rule.AREA_ALREADY_AFFECTED) as error:
        change(crisis, added=["Nordsjö"])
    assert error.value.message == "Nordsjö is already an affected area of C-S1"


def test_an_area_the_crisis_does_not_name_is_not_removed():
    crisis = declare(["Vuosaari", "Kontula"])
    with refused(crisis, Rule.UNKNOWN_AREA) as error:
        change(crisis, removed=["Kallio"])
    assert error.value.message == "Kallio is not an affected area of C-S1"
    with refused(crisis, Rule.UNKNOWN_AREA):
        change(crisis, added=["Espoo"])


def test_a_change_of_areas_names_some_area_and_a_reason():
    crisis = declare(["Vuosaari"])
    with refused(crisis, Rule.INVALID_INPUT):
        change(crisis)
    with refused(crisis, Rule.INVALID_INPUT):
        crisis.change_areas(added=["Kallio"], reason=" ", occurred_at=minutes(5), policy=POLICY, actor="DO-1",
                            now=minutes(5))
    with refused(crisis, Rule.BEFORE_CRISIS_START):
        change(crisis, n=-5, added=["Kallio"])


def test_an_area_recorded_before_the_registry_knew_it_replays_and_is_removed_by_its_name():
    """Given a crisis declared when the registry had a district the configured one no longer has (stored events are
    never checked again), then it reads back as recorded, and that area is removed by the name it was recorded
    with."""
    ring = ((60.0, 25.0), (60.1, 25.0), (60.1, 25.1), (60.0, 25.0))
    older = Policy(districts=DistrictRegistry((District("99", "Vanha kylä", "Gamla byn", ring),
                                               *default_districts())))
    crisis = declare(["Vanha kylä", "Kallio"], policy=older)
    assert REGISTRY.find("Vanha kylä") is None
    change(crisis, removed=["vanha KYLÄ"])
    assert areas_of(crisis) == ["Kallio"]
