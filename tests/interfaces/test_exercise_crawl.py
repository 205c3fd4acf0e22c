"""Exercise mode on every real path, generated from the route table and the OpenAPI document (issue 13 item 3).

Given an exercise (a crisis declared with `exercise: true`) with its own ids and a marker planted in every string
field of every command body of it (the bodies generated from the OpenAPI document as in
tests/interfaces/test_secrecy.py): actions, a log entry, situation reports plain and structured, a decision, a
continuity plan activated for it, a police liaison matter with a request raised, a public warning approved and
issued; and real records beside it (the PUBLIC world of the secrecy test: a real crisis with actions, plans,
police requests, a warning, a handover brief, an after-action review), every GET route of the route table that is
not under /exercises and does not address the exercise's own records by id is crawled, as every role, cleared and
uncleared (the auditors' event log with `exercise=false`; the person's activity log of the exercise's author; the
overview stream's first frame, and the frames every reader was sent while an exercise command was run): neither an
id of the exercise nor its marker is in any answer. The exercise's own overview shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from domain.shared import utc_now
from tests.conftest import settings_for
from domain.received_alert import alert_id_for
from tests.interfaces.test_secrecy import (
    CAP_ALERT, CAP_EXAMPLE, CLASSIFICATIONS, READERS, Commands, World, crawl, streamed,
)
from tests.interfaces.test_stream_access import Subscription
from tests.live import LiveServer, running_service

EXERCISE = "X"  # the world of the exercise's markers: MRK0001XQ, …
PLAIN = "Y"  # texts of the unit's own plan (the plan is real; only its activation is the exercise's)
EXERCISE_MARKER = re.compile(r"MRK\d{4}XQ")
IDS = {
    "crisis_id": "XRC-1", "action_id": "XAC-1", "decision_id": "XDC-1", "liaison_id": "XLI-1",
    "request_id": "XRQ-1", "warning_id": "XWN-1",
}
EXERCISE_IDS = re.compile("|".join(sorted(IDS.values())) + "|XAC-2")
UNIT, PLAN = "KYMP", "CP-Y"  # the real world's unit (UNIT_OF_WORLD["P"]): its real pages are crawled
ALERT = alert_id_for(CAP_EXAMPLE.sender, f"{CAP_EXAMPLE.identifier}.{EXERCISE}", CAP_EXAMPLE.sent)  # linked to it


class ExerciseCommands(Commands):
    """The secrecy test's body generator, with the worlds of the exercise's markers and of plain texts."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        super().__init__(openapi)
        self.planted[EXERCISE] = set()
        self.planted[PLAIN] = set()


class Exercise:
    """The exercise, built through the API by the people whose job it is; no refused attempts (a refusal of a
    command of the exercise names its target in the auditors' refusal log, which is a record of attempts)."""

    def __init__(self, server: LiveServer, commands: ExerciseCommands) -> None:
        self.server, self.commands = server, commands
        self.position = 0
        self.tokens: dict[str, str] = {}

    def headers(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            self.tokens[role] = self.server.token(f"W-{role}", role)  # the real world's people: the same users
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def run(self, method: str, path: str, role: str, world: str = EXERCISE, **given: Any) -> Any:
        given = {"classification": CLASSIFICATIONS["P"], "unit": UNIT, "plan_id": PLAN, **IDS, **given}
        concrete = path.format(**given)
        body = self.commands.body(method, path, world, given)
        answer = self.server.http.request(method.upper(), concrete, json=body, headers=self.headers(role), timeout=30)
        assert answer.status_code < 300, f"{method.upper()} {concrete} {body}: {answer.status_code} {answer.text}"
        self.position = max(self.position, int(answer.headers.get("Valmius-Position", 0)))
        return answer

    def build(self) -> None:
        now = utc_now()
        later = lambda **kw: (now + timedelta(**kw)).isoformat()  # noqa: E731
        do, pm, pc = "duty_officer", "preparedness_manager", "police_coordinator"
        run = self.run
        run("post", "/crises", do, exercise=True)
        run("post", "/crises/{crisis_id}/log-entries", do)
        run("post", "/crises/{crisis_id}/actions", do, unit=UNIT, due_at=later(hours=2))
        run("post", "/crises/{crisis_id}/actions", do, action_id="XAC-2", unit=UNIT, due_at=later(minutes=1))
        run("post", "/crises/{crisis_id}/situation-reports", do, next_due_at=later(hours=1))
        run("post", "/crises/{crisis_id}/situation-reports/draft", do)
        run("post", "/crises/{crisis_id}/situation-reports/draft/sections", do, unit=UNIT)
        run("post", "/crises/{crisis_id}/situation-reports/draft/issue", do, next_due_at=later(hours=2))
        run("post", "/crises/{crisis_id}/decisions", do, review_at=later(minutes=1))
        run("post", "/division-preparedness/{unit}/plans", pm, PLAIN, next_review_due=later(days=30))
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/approve", pm, PLAIN)
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/activate", pm)
        # a real alert received, linked to the exercise (the alert is real; the link is the exercise's)
        document = CAP_ALERT.replace(CAP_EXAMPLE.identifier.encode(), f"{CAP_EXAMPLE.identifier}.{EXERCISE}".encode())
        taken = self.server.http.post("/received-alerts", content=document, headers={
            **self.headers(do), "Content-Type": "application/cap+xml"})
        assert taken.status_code == 201 and taken.json()["id"] == ALERT, taken.text
        run("post", "/received-alerts/{alert_id}/link", do, alert_id=ALERT)
        run("post", "/police-liaisons", pc)
        run("post", "/police-liaisons/{liaison_id}/requests", pc)
        run("post", "/crises/{crisis_id}/warnings", do, based_on=["XDC-1"])
        read = self.server.http.get(f"/warnings/{IDS['warning_id']}", headers=self.headers(pm))
        run("post", "/warnings/{warning_id}/approval", pm, digest=read.json()["messages"][-1]["digest"])
        run("post", "/warnings/{warning_id}/issue", do)


def leaks(answers: dict[str, str]) -> dict[str, list[str]]:
    """Each id or marker of the exercise found, with (a few of) the requests whose answers carried it."""
    found: dict[str, set[str]] = {}
    for request, text in answers.items():
        for hit in {*EXERCISE_MARKER.findall(text), *EXERCISE_IDS.findall(text)}:
            found.setdefault(hit, set()).add(request)
    return {hit: sorted(where)[:3] for hit, where in found.items()}


@pytest.fixture
def server(tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    with running_service(settings_for("sqlite", tmp_path, None, embedded_projections=True)) as running:
        yield running


def test_nothing_of_an_exercise_reaches_any_real_path(server: LiveServer) -> None:
    openapi = server.http.get("/openapi.json").json()
    commands = ExerciseCommands(openapi)
    auth = {"Authorization": f"Bearer {server.token('U-EC', 'preparedness_manager')}"}
    ec = server.http.post("/emergency-conditions", headers=auth,  # the real world changes a crisis's condition
                          json=commands.body("post", "/emergency-conditions", PLAIN, {"in_force": True}))
    assert ec.status_code < 300, ec.text
    streams = {
        (role, cleared): Subscription(server, server.token(f"S-{user}", role, unit, clearance=cleared))
        for user, role, unit in READERS.values() for cleared in (False, True)
    }
    # Given an exercise, then the real records beside it (their handover brief covers the exercise's time too)
    exercise = Exercise(server, commands)
    exercise.build()
    real = World(server, Commands(openapi), "P")
    real.build()
    planted = commands.planted[EXERCISE]
    assert len(planted) > 20, "markers in the exercise's every string field"
    # and a command of the exercise while every reader streams the live overview, then a real one
    exercise.run("post", "/crises/{crisis_id}/log-entries", "duty_officer")
    exercise.run("post", "/crises/{crisis_id}/actions", "duty_officer", action_id="XAC-3", unit=UNIT,
                 due_at=(utc_now() + timedelta(hours=3)).isoformat())
    real.run("post", "/crises", "duty_officer", crisis_id="C-P-2")
    frames = streamed(streams, real.position)

    # When every GET route is read by every role, cleared and not (the auditors' log without the exercises')
    answers: dict[str, str] = {}
    readers = [(user, role, unit, False) for user, role, unit in READERS.values()]
    for user, role, unit, cleared in [*readers, ("C-AUD", "auditor", None, True), ("C-LR", "leadership", None, True)]:
        token = server.token(user, role, unit, clearance=cleared)
        headers = {"Authorization": f"Bearer {token}"}
        crawled = crawl(server, openapi, [real], headers, params_for={"/audit/events": {"exercise": "false"}})
        answers |= {f"{user} {request}": text for request, text in crawled.items()}
        for path, params in (("/activity-log", {"person": "W-duty_officer"}),
                             ("/activity-log", {"person": "W-preparedness_manager"}),
                             ("/activity-log", {"person": "W-police_coordinator"}),
                             (f"/units/{UNIT}/activity-log", {}),
                             (f"/received-alerts/{ALERT}", {})):
            answer = server.http.get(path, params=params, headers=headers)
            answers[f"{user} {path}?{params}"] = f"{answer.status_code} {answer.text}"
    for (role, cleared), got in frames.items():
        answers |= {f"{role} {'cleared' if cleared else ''} {name}": data for name, data in got.items()}

    # Then neither an id nor a marker of the exercise is in any answer, frame or header
    found = leaks(answers)
    assert not found, f"{len(found)} ids or markers of the exercise on real paths: {found}"
    # while the crawl did reach the real records, and the exercise's own overview shows the exercise
    assert "C-P" in answers[next(k for k in answers if k.startswith("C-AUD /audit/events"))]
    assert any(real_marker in text for text in answers.values() for real_marker in list(real.commands.planted["P"])[:50])
    auditor = {"Authorization": f"Bearer {server.token('C-AUD2', 'auditor', None, clearance=True)}"}
    leader = {"Authorization": f"Bearer {server.token('LR-X', 'leadership')}"}
    own = server.http.get("/exercises/situation-overview", headers=leader,
                          params={"min_position": real.position, "wait": 10}).json()
    assert own.get("exercise") is True, own
    assert [c["crisis_id"] for c in own["active_crises"]] == ["XRC-1"]
    assert {a["action_id"] for a in own["open_actions"]} == {"XAC-1", "XAC-2", "XAC-3"}
    assert [p["plan_id"] for p in own["active_plans"]] == [PLAN]
    assert [r["request_id"] for r in own["police_requests"]["open"]] == ["XRQ-1"]
    # and the auditors see the exercise's events apart, marked
    marked = server.http.get("/audit/events", params={"exercise": "true", "limit": 1000}, headers=auditor).json()
    assert marked["items"] and all(item["exercise"] for item in marked["items"])
    assert {item["aggregate_id"] for item in marked["items"]} >= {"XRC-1", "XLI-1", "XWN-1", UNIT}
