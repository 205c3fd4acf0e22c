"""Every read answers what its OpenAPI document says, generated from the route table: a route added tomorrow is
held to it too.

- every GET route documents its 200 answer: a JSON route its model (a $ref, or an object with properties),
  any other its media type;
- every JSON answer of a replayed scenario, to every reading role with and without clearance, is exactly its
  route's response model: read into the model and written back out it is the same document, so no key of it
  is undeclared (an undeclared key would be dropped) and none is of another type;
- the disclosure keeping reads the records shown from the same models: wherever an answer shows non-public
  content unredacted, a record of a declared kind is named.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from domain.secrecy import RECORDS
from domain.situation_report import SECTIONS
from interfaces.cap import CAP_MEDIA_TYPE, EXAMPLE_PATH
from interfaces.http.disclosure import disclosed_records
from tests.interfaces.conftest import api_routes

JSON = "application/json"
READERS = [  # (user, role, unit): every role that reads
    ("AUD-1", "auditor", None), ("LR-1", "leadership", None), ("DO-1", "duty_officer", None),
    ("PC-1", "police_coordinator", None), ("PM-1", "preparedness_manager", None),
    ("DIV-1", "division_contact", "KASKO"),
]
NOT_CRAWLED = {
    "/situation-overview/stream",  # an endless stream: its frames are the overview's model
    "/activity-log",  # a person's log names the person in its query (?person=): a printed page, read in its own test
}
KINDS = set(RECORDS) | {"police_request_response"}


def get_routes(api) -> list[APIRoute]:  # noqa: ANN001
    return [r for r in api_routes(api.app.routes) if "GET" in r.methods and r.include_in_schema]


def test_every_get_route_documents_its_answer(api) -> None:  # noqa: ANN001
    # Given the OpenAPI document of the app
    spec = api.get("/openapi.json").json()

    # Then every GET route's 200 answer has a schema: its model for JSON, its media type otherwise
    for route in get_routes(api):
        content = spec["paths"][route.path]["get"]["responses"]["200"].get("content", {})
        assert content, route.path
        for media_type, described in content.items():
            schema = described.get("schema") or {}
            if media_type == JSON:
                schema = schema.get("items", schema)
                assert "$ref" in schema or schema.get("properties"), (route.path, schema)
            else:
                assert media_type != JSON and schema, (route.path, media_type)


def structured_reports(api) -> str:  # noqa: ANN001
    """A crisis of its own beside the scenario's (which issue plain reports only): its first report issued in the
    METHANE form, and its next one drafted with a section, so that the structured reads answer too."""
    officer = api.headers("DO-1", "duty_officer")
    steps = [
        ("/crises", {"crisis_id": "C-SITREP", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 3}),
        ("/crises/C-SITREP/situation-reports/draft", {}),
        ("/crises/C-SITREP/situation-reports/draft/sections",
         {"sections": [{"section": name, "text": f"{name} now"} for name in SECTIONS["METHANE"]]}),
        ("/crises/C-SITREP/situation-reports/draft/issue", {}),
        ("/crises/C-SITREP/situation-reports/draft", {}),
        ("/crises/C-SITREP/situation-reports/draft/sections",
         {"sections": [{"section": "situation", "text": "calmer"}], "unit": "KYMP"}),
    ]
    for path, body in steps:
        answer = api.post(path, json=body, headers=officer)
        assert answer.status_code < 300, answer.text
    return "C-SITREP"


@pytest.mark.parametrize("scenario", ["S1", "S4"])
def test_every_read_of_a_replayed_scenario_is_exactly_its_model(replayed_api, scenario) -> None:  # noqa: ANN001
    # Given the store a scenario was replayed into, and the ids of its records
    api, replayed = replayed_api(scenario)
    auditor = api.headers("AUD-1", "auditor", clearance=True)
    alert = api.post("/received-alerts", content=EXAMPLE_PATH.read_bytes(),  # and a CAP alert received
                     headers={**api.headers("DO-CAP", "duty_officer"), "Content-Type": CAP_MEDIA_TYPE})
    assert alert.status_code == 201, alert.text
    values = {
        "alert_id": [alert.json()["id"]],
        "crisis_id": list(replayed.crises),
        "liaison_id": list(replayed.liaisons.values()),
        "unit": [p["unit"] for p in api.get("/division-preparedness", headers=auditor).json()][:3],
        "position": [c["position"] for c in api.get("/audit/checkpoints", headers=auditor).json()][:1],
        "number": [1],  # a crisis's first situation report, a position's first handover brief
        "position_id": ["DUTY_OFFICER"],
        "warning_id": [],  # the scenarios warn no one (test_http_public_warning holds those reads to their models)
        "reminder_id": [],  # no sender runs in a replay (test_http_reminder holds those reads to their models)
    }
    values["crisis_id"].append(structured_reports(api))
    brief = api.post("/positions/DUTY_OFFICER/handover-briefs", headers=api.headers("DO-BRIEF", "duty_officer"))
    assert brief.status_code == 201, brief.text  # a handover brief of the replayed picture
    as_of = quote(replayed.now.isoformat())

    # When every reading role, cleared and not, reads every GET route with every id
    answered: dict[str, int] = {}
    for route in get_routes(api):
        if route.path in NOT_CRAWLED:
            continue
        model = TypeAdapter(route.response_model) if route.response_model else None
        query = f"?as_of={as_of}" if "as_of" in {p.name for p in route.dependant.query_params} else ""
        for path in paths(route, values):
            for user, role, unit in READERS:
                for clearance in (False, True):
                    answer = api.get(path + query, headers=api.headers(user, role, unit, clearance))
                    assert answer.status_code < 500, (path, role, clearance, answer.text)
                    if answer.status_code != 200:
                        continue
                    answered[route.path] = answered.get(route.path, 0) + 1
                    if not answer.headers["content-type"].startswith(JSON):
                        continue
                    body = answer.json()

                    # Then the answer is exactly its model: nothing undeclared, nothing of another type
                    assert model is not None, route.path
                    again = model.dump_python(model.validate_python(body), mode="json", exclude_unset=True)
                    assert again == body, (path, role, clearance)

                    # And where it shows non-public content unredacted, the records named are of declared kinds
                    if shows_non_public(body):
                        named = disclosed_records(body, None, route.response_model)
                        assert named and {r["kind"] for r in named} <= KINDS, (path, role, clearance, named)

    # And every route answered someone (with ids of the scenario: S1 has no signed checkpoint yet)
    assert set(answered) == {r.path for r in get_routes(api) if paths(r, values)} - NOT_CRAWLED


def paths(route: APIRoute, values: dict[str, list[Any]]) -> list[str]:
    found = [route.path]
    for param in route.dependant.path_params:
        found = [p.replace("{%s}" % param.name, str(v)) for p in found for v in values[param.name]]
    return found


def shows_non_public(node: Any) -> bool:
    if isinstance(node, list):
        return any(shows_non_public(item) for item in node)
    if not isinstance(node, dict):
        return False
    level = (node.get("classification") or {}).get("level") if isinstance(node.get("classification"), dict) else None
    if level not in (None, "PUBLIC") and node.get("redacted") is False:
        return True
    return any(shows_non_public(value) for value in node.values())
