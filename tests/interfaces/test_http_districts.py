"""Districts through the HTTP API: the registry for clients (GET /districts), a crisis's areas checked at its
declaration (422 UNKNOWN_AREA naming a close match) and changed by POST /crises/{id}/areas, the situation by
district (GET /situation-overview/districts), and a registry of the city's own (VALMIUS_DISTRICTS_FILE)."""

from __future__ import annotations

import json

from tests.conftest import make_api, settings_for
from tests.interfaces.conftest import STORM, accepted, declare, problem


def test_the_registry_lists_each_district_with_its_names_outline_and_cap_forms(api, people):
    answer = accepted(api.get("/districts", headers=people.leadership))
    assert "CC BY 4.0" in answer["about"]["licence"] and "APPROXIMATE" in answer["about"]["outlines"]
    vuosaari = next(d for d in answer["districts"] if d["code"] == "54")
    assert (vuosaari["name_fi"], vuosaari["name_sv"], vuosaari["parent"]) == ("Vuosaari", "Nordsjö", None)
    points = vuosaari["outline"].split(" ")
    assert points[0] == points[-1] and len(points) >= 4
    assert vuosaari["geocode"] == {"valueName": "HEL_DISTRICT", "value": "54"}
    few = accepted(api.get("/districts?limit=5", headers=people.leadership))
    assert len(few["districts"]) == 5 and few["cut"] == {"/districts": len(answer["districts"])}
    problem(api.get("/districts", headers=api.headers("ADM", "admin")), 403, "FORBIDDEN_ROLE")  # as every read


def test_a_crisis_in_an_area_that_is_no_district_is_refused_naming_the_closest(api, people):
    response = api.post("/crises", json={**STORM, "areas": ["Vuosaari", "Itakeskus"]}, headers=people.duty_officer)
    body = problem(response, 422, "UNKNOWN_AREA")
    assert body["detail"] == "Itakeskus is not a district of the city; did you mean Itäkeskus (457)?"
    said = api.post("/crises", json={**STORM, "areas": ["Tapiola"]},
                    headers={**people.duty_officer, "Accept-Language": "fi"})
    assert problem(said, 422, "UNKNOWN_AREA")["detail"] == (
        "Tapiola ei ole kaupungin kaupunginosa (GET /districts luettelee ne)"
    )


def test_the_areas_change_by_a_command_and_show_on_the_crisis_its_timeline_and_the_districts(api, people):
    # Given the storm in Vuosaari, Mellunkylä, Itäkeskus and Kontula
    declare(api, people.duty_officer)
    # When the duty officer adds Mellunmäki and removes Kontula, by its Swedish name
    change = {"added": ["Mellunmäki"], "removed": ["Gårdsbacka"], "reason": "power back in Kontula"}
    response = api.post("/crises/C-S1/areas", json=change, headers={**people.duty_officer, "If-Match": '"1"'})
    assert accepted(response) == {"id": "C-S1", "version": 2} and response.headers["ETag"] == '"2"'
    # Then the crisis names its areas as recorded, the timeline shows the change, the districts the crisis
    crisis = accepted(api.get("/crises/C-S1", headers=people.leadership))
    assert crisis["areas"] == ["Vuosaari", "Mellunkylä", "Itäkeskus", "Mellunmäki"]
    position = response.headers["Valmius-Position"]
    timeline = accepted(api.get(f"/crises/C-S1/timeline?min_position={position}", headers=people.leadership))
    assert timeline["entries"][-1]["kind"] == "areas_changed"
    assert timeline["entries"][-1]["content"] == {**change, "removed": ["Kontula"]}
    districts = accepted(api.get(f"/situation-overview/districts?min_position={position}",
                                 headers=people.leadership))
    assert {d["code"]: [c["areas"] for c in d["crises"]] for d in districts["districts"]} == {
        "45": [["Itäkeskus"]], "457": [["Itäkeskus"]], "47": [["Mellunkylä", "Mellunmäki"]], "473": [["Mellunmäki"]],
        "54": [["Vuosaari"]],
    }
    # And an area added twice, by another of its names, is refused
    again = api.post("/crises/C-S1/areas", json={"added": ["Nordsjö"], "reason": "again"},
                     headers=people.duty_officer)
    assert problem(again, 409, "AREA_ALREADY_AFFECTED")["detail"] == "Nordsjö is already an affected area of C-S1"
    # and leadership may not change them
    problem(api.post("/crises/C-S1/areas", json=change, headers=people.leadership), 403, "FORBIDDEN_ROLE")


def test_an_officer_without_clearance_learns_nothing_of_a_secret_crisiss_areas_by_changing_them(api, people):
    declare(api, people.duty_officer, crisis_id="C-SECRET", areas=["Vuosaari"],
            classification={"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"})
    uncleared, cleared = people.duty_officer, api.headers("DO-9", "duty_officer", clearance=True)
    # An area the crisis names and one it does not get the same answer, which says nothing of either
    answers = [problem(api.post("/crises/C-SECRET/areas", json={key: [area], "reason": "probe"}, headers=uncleared),
                       403, "CLEARANCE_REQUIRED")["detail"]
               for key in ("added", "removed") for area in ("Vuosaari", "Kallio")]
    assert set(answers) == {"the areas of C-SECRET are SECRET content: changing them takes clearance"}
    # while an officer with clearance is told, and changes them
    problem(api.post("/crises/C-SECRET/areas", json={"added": ["Nordsjö"], "reason": "again"}, headers=cleared),
            409, "AREA_ALREADY_AFFECTED")
    accepted(api.post("/crises/C-SECRET/areas", json={"added": ["Kallio"], "reason": "spread"}, headers=cleared))


def test_a_registry_of_the_citys_own_replaces_the_repositorys(tmp_path, clock):
    ring = [[60.16, 24.94], [60.17, 24.94], [60.17, 24.95], [60.16, 24.94]]
    path = tmp_path / "districts.json"
    path.write_text(json.dumps({"source": "the city's survey", "districts": [
        {"code": "K", "name_fi": "Keskusta", "name_sv": "Centrum", "outline": ring},
    ]}), encoding="utf-8")
    for api in make_api(settings_for("sqlite", tmp_path, districts_file=path), clock):
        officer = api.headers("DO-1", "duty_officer")
        assert [d["code"] for d in accepted(api.get("/districts", headers=officer))["districts"]] == ["K"]
        accepted(api.post("/crises", json={**STORM, "areas": ["centrum"]}, headers=officer), 201)
        problem(api.post("/crises", json={**STORM, "crisis_id": "C-2", "areas": ["Vuosaari"]}, headers=officer),
                422, "UNKNOWN_AREA")
