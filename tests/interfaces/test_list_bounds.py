"""Every list the API answers is bounded, generated from the OpenAPI document: a list route added tomorrow is
held to it too.

Every GET whose answer holds a list (at any depth) takes `limit`, with a default and a maximum; a limit above
the maximum (or below 1) is refused with a 422 problem naming `query.limit`; and with more items seeded than
the limit asked for, no list of the answer holds more than the limit, while the answer says there is more
(`next`, `next_after`, `cut`, or a `Link` header). Without `limit`, no list holds more than the default.

Record reads (a crisis, a unit's preparedness, a police liaison, and their auditors' versions at a moment)
answer one record whole: they are left out here by name (RECORD_READS) and are not yet bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from application.audit.checkpoints import Signer
from application.reminder import Contacts, Sender
from domain.access import Actor, Role
from domain.division_preparedness import CriticalFunction
from domain.reminder import Ladder
from domain.shared import Classification, DomainError
from interfaces.cap.alerts_in import read_alert
from tests.application.support import DO1, LR, PC, PM, contact, declare
from tests.conftest import ApiClient, FakeClock, make_api, settings_for
from tests.interfaces.conftest import problem

RECORD_READS = {  # one record each, read whole (not yet bounded: see the module's docstring)
    "/crises/{crisis_id}", "/division-preparedness", "/division-preparedness/{unit}", "/police-liaisons/{liaison_id}",
    "/audit/crises/{crisis_id}", "/audit/division-preparedness/{unit}", "/audit/police-liaisons/{liaison_id}",
    "/crises/{crisis_id}/situation-reports/draft", "/crises/{crisis_id}/situation-reports/{number}",
    "/crises/{crisis_id}/after-action-review", "/audit/crises/{crisis_id}/after-action-review",
    "/received-alerts/{alert_id}",
    "/warnings/{warning_id}",
    "/reminders/{reminder_id}",  # one reminder: its notices and deliveries (bounded, but the seed sends few)
}
SEEDED = 3  # items of every kind: more than LIMIT
LIMIT = 2
SECRET = Classification.of("SECRET", legal_basis="JulkL 24.1 § 7 k")
SIGNING_KEY, _ = Signer.generate()


@pytest.fixture
def api(tmp_path, clock: FakeClock) -> Iterator[ApiClient]:  # noqa: ANN001
    """The HTTP API on a fresh SQLite file, with a signing key (for checkpoints)."""
    yield from make_api(settings_for("sqlite", tmp_path, signing_key=SIGNING_KEY), clock)


def seeded(api: ApiClient) -> dict[str, Any]:
    """Given SEEDED of everything a list shows: crises, SECRET log entries, actions and decisions turned overdue
    and due for review, active plans due for review, police requests open beyond the threshold and closed,
    refused attempts, cleared reads of SECRET content, signed checkpoints. Lists within an item (areas,
    options) hold fewer than LIMIT. Returns the values of the routes' path parameters."""
    app, services, now = api.services.coordination, api.services, api.clock()
    units = sorted(app.policy.units.units)[:SEEDED]
    for n in range(SEEDED):
        declare(app, f"C-{n}", areas=["Vuosaari"])
        app.record_log_entry(DO1, "C-0", text=f"report {n}", classification=SECRET)
        app.assign_action(DO1, "C-0", action_id=f"A-{n}", unit=units[n], task="sandbags",
                          due_at=now + timedelta(hours=1))
        app.record_decision(DO1, "C-0", decision_id=f"D-{n}", decided_by="Head of preparedness", decision="evacuate",
                            rationale="flooding", options=["stay", "leave"], review_at=now + timedelta(hours=1))
        app.draft_continuity_plan(
            contact(units[n]), units[n], plan_id=f"CP-{n}", title="Without tap water",
            critical_functions=[CriticalFunction("hygiene", 12 * 60, 4 * 60)], next_review_due=now + timedelta(hours=1),
        )
        app.approve_continuity_plan(contact(units[n]), units[n], plan_id=f"CP-{n}", approved_by="Director")
        app.activate_continuity_plan(contact(units[n]), units[n], plan_id=f"CP-{n}", crisis_id="C-0")
        with pytest.raises(DomainError):  # a refused attempt, kept
            app.record_log_entry(LR, "C-0", text="leadership may not log")
    app.open_police_liaison(PC, liaison_id="L-0", crisis_id="C-0")
    amber = (Path(__file__).parents[1] / "fixtures" / "cap" / "example-amber-alert.xml").read_bytes()  # 2 languages
    alerts = [  # received CAP alerts in force, on the watch list
        app.take_received_alert(DO1, amber.replace(b"-SW</identifier>", f"-{n}</identifier>".encode()), read_alert,
                                source="http")[0]
        for n in range(SEEDED)
    ]
    for n in range(2 * SEEDED):
        app.raise_police_request(PC, "L-0", request_id=f"PR-{n}", direction="POLICE_TO_CITY",
                                 request_type="INFORMATION", subject="patrol planning")
    for n in range(SEEDED):
        app.answer_police_request(PC, "L-0", request_id=f"PR-{n}", response="sent", answered_by="DO-1")
    declare(app, "C-R")  # a closed crisis, its after-action review final with SEEDED items
    for step in (app.contain_crisis, app.resolve_crisis, app.close_crisis):
        step(DO1, "C-R")
    app.draft_after_action_review(PM, "C-R", findings=["sandbags came late"])
    for n in range(SEEDED):
        app.add_improvement_item(PM, "C-R", item_id=f"I-{n}", unit=units[n], task="stock sandbags",
                                 due_at=now + timedelta(hours=1))
    app.finalise_after_action_review(PM, "C-R")
    texts = {language: {"headline": "Storm", "description": "Outages"} for language in ("fi", "sv")}
    for n in range(SEEDED):  # public warnings in force, of C-0
        app.draft_public_warning(DO1, "C-0", warning_id=f"W-{n}", texts=texts, urgency="Expected", certainty="Likely")
        app.approve_public_warning(PM, f"W-{n}")
        app.issue_public_warning(DO1, f"W-{n}")
    api.clock.advance(hours=2)  # overdue, due for review, beyond the threshold
    checkpoints = []
    for n in range(SEEDED):
        app.record_log_entry(DO1, "C-1", text=f"chained {n}")
        assert services.projections.wait_for(app.recorder.max_notification_id(), timeout=10)
        checkpoints.append(services.tamper_evidence.sign_checkpoint()[1].position)
    cleared = api.headers("LR-1", "leadership", clearance=True)
    assert api.get("/crises/C-0/timeline", headers=cleared).status_code == 200  # SECRET entries disclosed
    for post, holder in (("DUTY_OFFICER", DO1), ("PREPAREDNESS_MANAGER", PM), ("POLICE_COORDINATOR", PC)):
        app.sign_on(holder, post)  # every position held, the duty officer's with a brief of all of the above
    app.prepare_handover_brief(DO1, "DUTY_OFFICER", services.projections.handover_brief)
    services.projections.catch_up()  # reminders of the overdue actions, the reviews due and the requests unanswered
    Sender(app=app, store=services.sql, ladder=Ladder(), contacts=Contacts(), channels={},
           actor=Actor("valmius-remind", Role.DUTY_OFFICER)).tick()
    assert services.projections.wait_for(app.recorder.max_notification_id(), timeout=10)
    return {"crisis_id": "C-0", "position": checkpoints[0], "as_of": quote(api.clock().isoformat()),
            "position_id": "DUTY_OFFICER", "number": 1, "alert_id": alerts[0]}


def list_routes(spec: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Every GET whose JSON answer holds a list at any depth, with its query parameters by name."""
    schemas = spec["components"]["schemas"]

    def holds_list(schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return name not in seen and holds_list(schemas[name], seen | {name})
        if schema.get("type") == "array":
            return True
        nested = [*schema.get("anyOf", []), *schema.get("allOf", []), *schema.get("properties", {}).values()]
        if isinstance(schema.get("additionalProperties"), dict):
            nested.append(schema["additionalProperties"])
        return any(holds_list(s, seen) for s in nested)

    found = {}
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        json = (get or {}).get("responses", {}).get("200", {}).get("content", {}).get("application/json")
        if json and holds_list(json["schema"]):
            found[path] = {p["name"]: p for p in get.get("parameters", []) if p["in"] == "query"}
    return found


def lists(value: Any, pointer: str = "") -> Iterator[tuple[str, list]]:
    if isinstance(value, list):
        yield pointer, value
        value = dict(enumerate(value))
    if isinstance(value, dict):
        for key, item in value.items():
            yield from lists(item, f"{pointer}/{key}")


def says_more(answer: Any, headers: Any) -> bool:
    """Whether a bounded answer says that more items lie beyond it."""
    if 'rel="next"' in headers.get("link", ""):
        return True
    if not isinstance(answer, dict):
        return False
    if "end_of_log" in answer:
        return not answer["end_of_log"]
    return bool(answer.get("cut")) or answer.get("next") is not None or answer.get("next_after") is not None


def test_every_list_route_takes_a_bounded_limit_and_answers_no_more(api: ApiClient) -> None:
    # Given more items of every kind than the limit that will be asked for
    values = seeded(api)
    auditor = api.headers("AUD-1", "auditor", clearance=True)
    leadership = api.headers("LR-1", "leadership", clearance=True)
    routes = list_routes(api.get("/openapi.json").json())
    assert len(routes) > len(RECORD_READS) + 10, sorted(routes)  # the generator found the list routes

    for path, query in sorted(routes.items()):
        if path in RECORD_READS:
            continue
        # Then each declares `limit` with a default and a maximum
        assert "limit" in query, f"{path} answers a list and takes no `limit`"
        maximum, default = query["limit"]["schema"]["maximum"], query["limit"]["schema"]["default"]
        assert 1 <= default <= maximum <= 1000, path
        url = path.format(**values) + (f"?as_of={values['as_of']}&" if "as_of" in query else "?")
        headers = auditor if path.startswith("/audit") else leadership

        # When a limit above the maximum, or below 1, is asked for: refused naming it
        for wrong in (maximum + 1, 0):
            body = problem(api.get(f"{url}limit={wrong}", headers=headers), 422, "INVALID_INPUT")
            assert "query.limit" in [body.get("field"), *(e["field"] for e in body.get("errors", []))], (path, body)

        # When LIMIT is asked for: no list holds more, and the answer says there is more
        answer = api.get(f"{url}limit={LIMIT}", headers=headers)
        assert answer.status_code == 200, (path, answer.text)
        too_long = {pointer: len(items) for pointer, items in lists(answer.json()) if len(items) > LIMIT}
        assert not too_long, (path, too_long)
        assert says_more(answer.json(), answer.headers), f"{path}: the seed holds more than {LIMIT}: it should say so"

        # And without a limit, no list holds more than the default
        whole = api.get(url, headers=headers).json()
        assert all(len(items) <= default for _, items in lists(whole)), path


def test_a_cut_list_names_itself_and_how_many_items_it_has(api: ApiClient) -> None:
    # Given the seeded overview (3 active crises, 3 open actions, all overdue)
    seeded(api)
    leadership = api.headers("LR-1", "leadership", clearance=True)

    # When it is read 2 items to a list
    cut = api.get(f"/situation-overview?limit={LIMIT}", headers=leadership).json()
    whole = api.get("/situation-overview", headers=leadership).json()

    # Then each list cut is named by its JSON Pointer, with the length it has whole, and holds its first items
    assert cut["cut"]["/active_crises"] == len(whole["active_crises"]) == SEEDED
    assert cut["cut"]["/open_actions"] == cut["cut"]["/overdue_actions"] == SEEDED
    assert cut["open_actions"] == whole["open_actions"][:LIMIT]
    assert "cut" not in whole  # nothing cut: the answer is as it always was
    # And the counts beside the lists count all of them
    assert [c["open_actions"] for c in cut["active_crises"]] == [c["open_actions"] for c in whole["active_crises"][:2]]
