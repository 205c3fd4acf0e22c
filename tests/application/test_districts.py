"""Affected areas on every store (memory, SQLite, PostgreSQL): declaring checks them against the registry, a change
of areas is a recorded command, and the situation by district reads the active crises of each district, redacted
for readers without clearance, the same live and rebuilt."""

from __future__ import annotations

import dataclasses

import pytest

from application.projections.district_overview import DistrictOverview
from domain.access import Actor, Role
from domain.districts import DistrictRegistry, default_districts
from domain.shared import Classification, DomainError, Rule
from tests.application.support import ADMIN, DO1, LR, PM, declare, move, refused

CLEARED = Actor("LR-1", Role.LEADERSHIP, clearance=True)
SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")


@pytest.fixture
def app(services):  # noqa: ANN001, ANN201
    return services.coordination


@pytest.fixture
def views(services):  # noqa: ANN001, ANN201
    return services.projections


def placed(answer: dict) -> dict[str, list[tuple[str, int, list[str]]]]:
    """Each district of an answer by code: its crises with their severity and the areas they name there."""
    return {d["code"]: [(c["crisis_id"], c["severity"], c["areas"]) for c in d["crises"]] for d in answer["districts"]}


def test_a_crisis_naming_an_unknown_area_is_refused_and_nothing_is_recorded(services, app):
    error = refused(services, Rule.UNKNOWN_AREA, declare, app, "C-S1", areas=["Vuosaari", "Mellunkyla"])
    assert error.message == "Mellunkyla is not a district of the city; did you mean Mellunkylä (47)?"
    with pytest.raises(DomainError):
        app.get_crisis(LR, "C-S1")


def test_the_areas_are_changed_by_a_recorded_command_read_back_on_the_crisis(services, app, clock):
    declare(app, "C-S1", areas=["Vuosaari", "Kontula"])
    clock.advance(minutes=20)
    version = app.change_areas(DO1, "C-S1", added=["Mellunmäki"], removed=["Kontula"], reason="outage moved east",
                               expected_version=1)
    crisis = app.get_crisis(LR, "C-S1")
    assert (version, crisis.version, crisis.areas) == (2, 2, ["Vuosaari", "Mellunmäki"])
    refused(services, Rule.AREA_ALREADY_AFFECTED, app.change_areas, DO1, "C-S1", added=["Mellungsbacka"],
            reason="again")
    refused(services, Rule.FORBIDDEN_ROLE, app.change_areas, LR, "C-S1", added=["Kallio"], reason="no")
    refused(services, Rule.CONFLICT_VERSION, app.change_areas, DO1, "C-S1", added=["Kallio"], reason="stale",
            expected_version=1)


def test_the_registry_is_listed_to_the_roles_that_read_crises(app):
    assert app.list_districts(LR) is app.policy.districts
    assert app.list_districts(LR).get("Nordsjö").code == "54"
    with pytest.raises(DomainError) as error:
        app.list_districts(ADMIN)
    assert error.value.rule is Rule.FORBIDDEN_ROLE


def test_the_situation_by_district_shows_active_crises_with_their_severity_sub_districts_in_their_district(
    app, views, clock
):
    """Given the storm in Vuosaari and Kontula (a sub-district of Mellunkylä) and the water main in Kallio, when
    the water main is closed, then the districts show the storm alone, Mellunkylä through Kontula."""
    declare(app, "C-S1", areas=["Vuosaari", "Kontula"], severity=3)
    declare(app, "C-S3", areas=["Kallio", "Nordsjö"], category="UTILITY_WATER", severity=2)
    views.catch_up()
    answer = views.get_district_overview(LR)
    assert placed(answer) == {
        "11": [("C-S3", 2, ["Kallio"])],
        "47": [("C-S1", 3, ["Kontula"])],
        "471": [("C-S1", 3, ["Kontula"])],
        "54": [("C-S1", 3, ["Vuosaari"]), ("C-S3", 2, ["Nordsjö"])],
    }
    assert {d["code"]: d["highest_severity"] for d in answer["districts"]} == {"11": 2, "47": 3, "471": 3, "54": 3}
    assert (answer["withheld_crises"], answer["unregistered_areas"]) == (0, [])

    clock.advance(minutes=10)
    app.change_areas(DO1, "C-S1", added=["Mellunmäki"], removed=["Kontula"], reason="outage moved")
    move(app, "C-S3", "contain", "resolve", "close")
    views.catch_up()
    assert placed(views.get_district_overview(LR)) == {
        "47": [("C-S1", 3, ["Mellunmäki"])], "473": [("C-S1", 3, ["Mellunmäki"])], "54": [("C-S1", 3, ["Vuosaari"])]
    }


def test_a_secret_crisis_is_in_no_district_for_a_reader_without_clearance(app, views):
    declare(app, "C-S4", areas=["Itäkeskus", "Kontula"], category="THREAT_VIOLENCE", classification=SECRET,
            title="Emailed bomb threats against six comprehensive schools")
    declare(app, "C-S1", areas=["Vuosaari"])
    views.catch_up()
    uncleared = views.get_district_overview(LR)
    assert placed(uncleared) == {"54": [("C-S1", 2, ["Vuosaari"])]}
    assert uncleared["withheld_crises"] == 1
    assert "bomb" not in str(uncleared)
    cleared = views.get_district_overview(CLEARED)
    assert placed(cleared)["457"] == [("C-S4", 2, ["Itäkeskus"])]
    assert cleared["districts"][0]["crises"][0]["title"] is not None and cleared["withheld_crises"] == 0
    with pytest.raises(DomainError) as error:
        views.get_district_overview(ADMIN)
    assert error.value.rule is Rule.FORBIDDEN_ROLE


def test_an_area_the_registry_no_longer_knows_is_shown_apart_by_its_name(app, views):
    """Given a crisis declared in Kallio, when the city replaces the registry with one without Kallio, then the
    crisis still reads back and the situation by district shows Kallio apart, as recorded."""
    declare(app, "C-S3", areas=["Kallio", "Vuosaari"])
    app.policy = dataclasses.replace(app.policy, districts=DistrictRegistry(
        tuple(d for d in default_districts() if d.name_fi != "Kallio" and d.parent != "11")
    ))
    views.catch_up()
    answer = views.get_district_overview(LR)
    assert placed(answer) == {"54": [("C-S3", 2, ["Vuosaari"])]}
    assert [(u["area"], [c["crisis_id"] for c in u["crises"]]) for u in answer["unregistered_areas"]] == [
        ("Kallio", ["C-S3"])
    ]
    assert app.get_crisis(LR, "C-S3").areas == ["Kallio", "Vuosaari"]


def test_the_situation_by_district_rebuilt_from_the_log_reads_as_the_live_one(app, views, clock):
    declare(app, "C-S1", areas=["Vuosaari", "Kontula"])
    views.catch_up()
    for n in range(3):  # an area removed and named again within one batch, and across batches
        clock.advance(minutes=5)
        app.change_areas(DO1, "C-S1", removed=["Kontula"], reason=f"power back {n}")
        app.change_areas(DO1, "C-S1", added=["Kontula"], reason=f"power out again {n}")
        if n:
            views.catch_up()
    app.change_areas(PM, "C-S1", added=["Kallio"], removed=["Vuosaari"], reason="moved")
    views.catch_up()
    live = {reader.user: views.get_district_overview(reader) for reader in (LR, CLEARED)}
    assert placed(live["LR-2"]) == {
        "11": [("C-S1", 2, ["Kallio"])], "47": [("C-S1", 2, ["Kontula"])], "471": [("C-S1", 2, ["Kontula"])]
    }
    assert views.rebuild(DistrictOverview.name) == app.recorder.max_notification_id()
    assert {reader.user: views.get_district_overview(reader) for reader in (LR, CLEARED)} == live
