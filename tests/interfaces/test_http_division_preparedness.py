"""Each city unit's preparedness through HTTP: readiness along the ladder and continuity plans."""

from __future__ import annotations

from tests.interfaces.conftest import accepted, approved_plan, crisis, declare, problem, says

UNITS = {"KANSLIA", "KASKO", "KYMP", "KUVA", "SOTEPE", "STARA", "PALVELUKESKUS", "TALPA", "TYOTERVEYS"}


def test_every_city_unit_starts_at_basic_readiness(api, people):
    # When leadership reads every unit's preparedness on a fresh store
    units = accepted(api.get("/division-preparedness", headers=people.leadership))
    # Then the seeded registry's units are all there, at BASIC, without plans
    assert {u["unit"] for u in units} == UNITS
    assert {u["readiness"] for u in units} == {"BASIC"} and not any(u["plans"] for u in units)
    # and an external partner has no preparedness record
    problem(api.get("/division-preparedness/HSY", headers=people.leadership), 422, "UNKNOWN_UNIT")


def test_a_division_contact_raises_their_units_readiness_naming_who_decided_and_why(api, people, clock):
    declare(api, people.duty_officer)
    clock.set("2025-10-25T21:55+03:00")
    # When SOTEPE's contact moves SOTEPE from BASIC to ENHANCED for the storm
    accepted(api.post(
        "/division-preparedness/SOTEPE/readiness",
        json={"from_level": "BASIC", "to_level": "ENHANCED", "decided_by": "Executive Director, SOTEPE",
              "reason": "home-care clients with powered devices in area", "crisis_ref": "C-S1"},
        headers=people.contact("SOTEPE"),
    ))
    # Then SOTEPE reads ENHANCED, and its history keeps the change with who decided and why
    sotepe = accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))
    assert sotepe["readiness"] == "ENHANCED"
    [change] = sotepe["readiness_history"]
    assert {k: change[k] for k in ("from_level", "to_level", "decided_by", "crisis_ref", "actor", "occurred_at")} == {
        "from_level": "BASIC", "to_level": "ENHANCED", "decided_by": "Executive Director, SOTEPE",
        "crisis_ref": "C-S1", "actor": "DIV-SOTEPE", "occurred_at": "2025-10-25T21:55:00+03:00",
    }
    # and no other unit moved
    assert accepted(api.get("/division-preparedness/KASKO", headers=people.leadership))["readiness"] == "BASIC"


def test_a_division_contact_acts_for_their_own_unit_only(api, people):
    # When KASKO's contact tries to change SOTEPE's readiness
    response = api.post("/division-preparedness/SOTEPE/readiness", json={"to_level": "ENHANCED"},
                        headers=people.contact("KASKO"))
    # Then it is refused, naming both units
    assert says(problem(response, 403, "FORBIDDEN_ROLE")["detail"], "division contact of KASKO", "for SOTEPE")
    # while the preparedness manager may act for any unit
    accepted(api.post("/division-preparedness/SOTEPE/readiness", json={"to_level": "ENHANCED"},
                      headers=people.preparedness_manager))


def test_emergency_readiness_follows_emergency_conditions_recorded_in_force(api, people):
    # Given emergency conditions recorded in force by the preparedness manager
    accepted(api.post("/emergency-conditions",
                      json={"in_force": True, "basis": "Government decree under the Emergency Powers Act"},
                      headers=people.preparedness_manager))
    # When SOTEPE's contact moves SOTEPE to EMERGENCY
    accepted(api.post("/division-preparedness/SOTEPE/readiness",
                      json={"to_level": "EMERGENCY", "decided_by": "Executive Director, SOTEPE"},
                      headers=people.contact("SOTEPE")))
    # Then SOTEPE reads EMERGENCY
    assert accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))["readiness"] == "EMERGENCY"


def test_a_continuity_plan_is_drafted_approved_reviewed_and_exercised(api, people, clock):
    contact = people.contact("SOTEPE")
    # When SOTEPE drafts its home-care plan, approves it, reviews it and holds an exercise
    approved_plan(api, contact)
    accepted(api.post("/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/reviews",
                      json={"notes": "device register updated", "next_review_due": "2026-04-01T09:00+03:00"},
                      headers=contact))
    clock.advance(minutes=1)
    accepted(api.post("/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/exercises",
                      json={"title": "Night outage tabletop", "findings": ["battery reserve list incomplete"]},
                      headers=contact))
    # Then the plan reads APPROVED, with its MTPD, next review and the exercise's findings
    [plan] = accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))["plans"]
    assert (plan["status"], plan["approved_by"], plan["mtpd_minutes"], plan["next_review_due"]) == (
        "APPROVED", "Executive Director, SOTEPE", 360, "2026-04-01T09:00:00+03:00"
    )
    assert [e["findings"] for e in plan["exercises"]] == [["battery reserve list incomplete"]]
    # and a plan whose recovery comes after its tolerable disruption is refused
    late_recovery = {"plan_id": "CP-SOTEPE-02", "title": "Kitchens without water",
                     "critical_functions": [{"name": "meals", "mtpd_minutes": 240, "rto_minutes": 300}]}
    problem(api.post("/division-preparedness/SOTEPE/plans", json=late_recovery, headers=contact), 422, "INVALID_RTO")


def test_an_active_plan_shows_how_long_it_has_run_against_its_mtpd_until_deactivated(api, people, clock):
    # Given the storm and SOTEPE's approved home-care plan (MTPD 6 h)
    declare(api, people.duty_officer)
    contact = people.contact("SOTEPE")
    approved_plan(api, contact)
    # When SOTEPE activates it for the storm at 22:40 and it is read at 00:45
    clock.set("2025-10-25T22:40+03:00")
    accepted(api.post("/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/activate", json={"crisis_id": "C-S1"},
                      headers=contact))
    clock.set("2025-10-26T00:45+03:00")
    [plan] = accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))["plans"]
    # Then it shows active for C-S1 for 2 h 05 min of its 6 h, and the crisis knows it
    assert (plan["active_for"], plan["active_minutes"], plan["mtpd_minutes"]) == ("C-S1", 125, 360)
    assert crisis(api, people.leadership)["active_plans"] == ["CP-SOTEPE-01"]
    # and when SOTEPE deactivates it, neither shows it active any more
    clock.set("2025-10-26T05:30+02:00")
    accepted(api.post("/division-preparedness/SOTEPE/plans/CP-SOTEPE-01/deactivate",
                      json={"reason": "power restored to all home-care clients"}, headers=contact))
    [plan] = accepted(api.get("/division-preparedness/SOTEPE", headers=people.leadership))["plans"]
    assert (plan["active_for"], plan["active_minutes"]) == (None, None)
    assert crisis(api, people.leadership)["active_plans"] == []


def test_a_draft_plan_cannot_be_activated(api, people):
    declare(api, people.duty_officer)
    contact = people.contact("SOTEPE")
    accepted(api.post("/division-preparedness/SOTEPE/plans",
                      json={"plan_id": "CP-SOTEPE-09", "title": "Draft only",
                            "critical_functions": [{"name": "meals", "mtpd_minutes": 240, "rto_minutes": 60}]},
                      headers=contact), 201)
    # When SOTEPE activates the unapproved plan
    response = api.post("/division-preparedness/SOTEPE/plans/CP-SOTEPE-09/activate", json={"crisis_id": "C-S1"},
                        headers=contact)
    # Then it is refused until approved, and the crisis records no active plan
    assert says(problem(response, 409, "PLAN_NOT_APPROVED")["detail"], "approve it")
    assert crisis(api, people.leadership)["active_plans"] == []
