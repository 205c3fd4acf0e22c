"""The people of the scenarios and the Given steps the HTTP tests share, spoken through the API; and the walks
over the route table and the OpenAPI document that generated tests start from."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from interfaces.http.openapi import api_routes  # noqa: F401 - the route walk the generated tests start from

if TYPE_CHECKING:
    from tests.conftest import ApiClient

PROBLEM_JSON = "application/problem+json"

STORM = {
    "crisis_id": "C-S1",
    "title": "Storm: power outages in eastern Helsinki",
    "category": "SEVERE_WEATHER",
    "severity": 2,
    "areas": ["Vuosaari", "Mellunkylä", "Itäkeskus", "Kontula"],
}


class People:
    """Headers that act as the people of the scenarios (DO-1, DIV:SOTEPE, PC, LR-1, …)."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    @property
    def duty_officer(self) -> dict:
        return self.api.headers("DO-1", "duty_officer")

    @property
    def second_duty_officer(self) -> dict:
        return self.api.headers("DO-2", "duty_officer")

    @property
    def preparedness_manager(self) -> dict:
        return self.api.headers("PM", "preparedness_manager")

    @property
    def police_coordinator(self) -> dict:
        return self.api.headers("PC", "police_coordinator")

    @property
    def leadership(self) -> dict:
        return self.api.headers("LR-1", "leadership")

    @property
    def cleared_leadership(self) -> dict:
        return self.api.headers("LR-2", "leadership", clearance=True)

    @property
    def auditor(self) -> dict:
        return self.api.headers("AUD", "auditor", clearance=True)

    def contact(self, unit: str) -> dict:
        """The division contact of `unit` (DIV:<UNIT> in the scenarios)."""
        return self.api.headers(f"DIV-{unit}", "division_contact", unit=unit)


@pytest.fixture
def people(api: ApiClient) -> People:
    return People(api)


def accepted(response, status: int = 200) -> dict:  # noqa: ANN001
    """The command was accepted; its answer."""
    assert response.status_code == status, response.text
    return response.json()


def problem(response, status: int, code: str) -> dict:  # noqa: ANN001
    """The command was refused with an RFC 9457 problem detail naming `code`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code, body
    return body


def request_bodies(spec: dict) -> list[tuple[str, str, dict]]:
    """Every operation of the OpenAPI document `spec` that takes a JSON body: (method, path, body schema)."""
    return [
        (method.upper(), path, operation["requestBody"]["content"]["application/json"]["schema"])
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def last_event(api: ApiClient) -> int:
    """The position of the last stored domain event, as /health reports it to an authenticated caller."""
    return api.get("/health", headers=api.headers("health-reader", "leadership")).json()["last_event"]


def declare(api: ApiClient, headers: dict, **overrides: object) -> dict:
    """Given a crisis declared at the clock's time (the S1 storm unless overridden)."""
    return accepted(api.post("/crises", json={**STORM, **overrides}, headers=headers), 201)


def crisis(api: ApiClient, headers: dict, crisis_id: str = "C-S1") -> dict:
    return accepted(api.get(f"/crises/{crisis_id}", headers=headers))


def approved_plan(api: ApiClient, headers: dict, unit: str = "SOTEPE", plan_id: str = "CP-SOTEPE-01") -> None:
    """Given an approved continuity plan of `unit`: home care in power outage, MTPD 6 h, RTO 2 h."""
    accepted(
        api.post(
            f"/division-preparedness/{unit}/plans",
            json={
                "plan_id": plan_id,
                "title": "Home care in power outage",
                "owner": f"Executive Director, {unit}",
                "critical_functions": [
                    {"name": "clients depending on powered medical devices", "mtpd_minutes": 360, "rto_minutes": 120}
                ],
            },
            headers=headers,
        ),
        201,
    )
    accepted(
        api.post(
            f"/division-preparedness/{unit}/plans/{plan_id}/approve",
            json={"approved_by": f"Executive Director, {unit}"},
            headers=headers,
        )
    )


def liaison_with_request(
    api: ApiClient, headers: dict, crisis_id: str | None = "C-S1", request_id: str = "PR-S1-01", **request: object
) -> str:
    """Given a police liaison matter for the crisis, with one open request city → police in it."""
    liaison_id = f"PL-{crisis_id or 'TOPIC'}"
    opened = {"liaison_id": liaison_id, "crisis_id": crisis_id} if crisis_id else {
        "liaison_id": liaison_id, "topic": "Helsinki Pride 2026"
    }
    accepted(api.post("/police-liaisons", json=opened, headers=headers), 201)
    accepted(
        api.post(
            f"/police-liaisons/{liaison_id}/requests",
            json={
                "request_id": request_id,
                "direction": "CITY_TO_POLICE",
                "request_type": "COORDINATION",
                "subject": "Traffic control at 4 dark signalised junctions on Itäväylä",
                **request,
            },
            headers=headers,
        ),
        201,
    )
    return liaison_id


def says(detail: str, *patterns: str) -> bool:
    """The detail sentence carries each of the patterns (regular expressions, case-insensitive)."""
    return all(re.search(p, detail, re.IGNORECASE) for p in patterns)
