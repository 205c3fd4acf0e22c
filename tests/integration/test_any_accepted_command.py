"""Nothing the API accepts can stop the picture: a property-based test over the OpenAPI request schemas.

Hypothesis draws commands from the request body schemas of the OpenAPI document (so a new field or command is
covered without being listed here): values from each field's examples, and edge values of its type (times at
and beyond the windows of the server clock, years 0001 and 9999 with any offset; integers at and beyond their
bounds; strings at and beyond their length, odd unicode, control characters; ids of the pattern and not).
Each command is sent through the HTTP API to a world where its records exist. Then:

- a refused command is a 4xx problem detail, never a 500;
- after an accepted one, the read models catch up on the same store without failing, every read model's
  position reaches the head of the log, the record's GET and the read models' GETs answer 200, the auditors'
  reads of it answer 200, and the audit chain verifies.

On SQLite and on the real PostgreSQL server. The read models are followed by the test itself (not in the
background), so a read model that fails on an event fails the test on the command that stored it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from interfaces.cap import CAP_MEDIA_TYPE, EXAMPLE_PATH
from interfaces.cap.alerts_in import read_alert
from interfaces.http.schemas.common import ID_PATTERN
from infrastructure.settings import Settings
from interfaces.cli.remind import build_sender
from interfaces.cli.remind import tick as remind
from tests.conftest import FakeClock, make_api, settings_for
from tests.interfaces.conftest import (
    PROBLEM_JSON, People, accepted, approved_plan, declare, liaison_with_request, request_bodies,
)

EXAMPLES_PER_STORE = 300

# The world every command is sent to: the ids of the schemas' examples exist. The records that accepted
# commands create join them, so that a command can follow another (draft, approve, activate a new plan).
WORLD = {
    "crisis_id": ["C-S1"], "unit": ["SOTEPE"], "plan_id": ["CP-SOTEPE-01"], "liaison_id": ["PL-C-S1"],
    "request_id": ["PR-S1-01"], "action_id": ["A-S1-01"], "decision_id": ["D-S1-01"], "number": ["1", "2"],
    "position": ["1"], "position_id": ["DUTY_OFFICER"], "item_id": ["I-S1-01"],
    "alert_id": [read_alert(EXAMPLE_PATH.read_bytes()).alert_id], "warning_id": ["W-C-S1-1"],
}
SHORT_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)
OFFSETS = ["+00:00", "+02:00", "+03:00", "-12:00", "+14:00", "+23:59", "Z"]
ODD_TEXT = [
    "", " ", "\u0000", "a\u0000b", "\u001b[31m", "\u0085", "\u007f", "\t\n", "\u202eevil", "e\u0301", "🌩️⚡",
    "\ufeff", "\uffff", "\U0010ffff", "\ud800", "Ä" * 3, "a/b", "../..", "%00", "'; DROP TABLE x; --",
]


def _time(moment: datetime, offset: str) -> str:
    if offset == "Z":
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return moment.astimezone(timezone(sign * timedelta(hours=hours, minutes=minutes))).isoformat()


Valid = st.SearchStrategy
Edge = st.SearchStrategy


def times(now: datetime, name: str) -> tuple[Valid, Edge]:
    """Realistic times around the clock (an occurred time mostly past, a due time mostly ahead), up to the
    edges of the windows; beyond them, and the ends of the calendar."""
    year = timedelta(days=366)
    past = [timedelta(0), timedelta(minutes=-10), timedelta(hours=-1), timedelta(days=-3), -3 * year]
    ahead = [timedelta(minutes=1), timedelta(hours=2), timedelta(days=1), 3 * year, 10 * year - timedelta(days=1)]
    inside = [*past, -10 * year + timedelta(days=1), ahead[0]] if name == "occurred_at" else [*ahead, past[-1]]
    outside = [10 * year + timedelta(days=1), -10 * year - timedelta(days=1), 200 * year, -200 * year]

    def around(spans: list[timedelta]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda span, offset: _time(now + span, offset), st.sampled_from(spans), st.sampled_from(OFFSETS)
        )

    ends = st.sampled_from([
        "0001-01-01T00:00+05:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00",
        "9999-12-31T23:59:59.999999+14:00", "1900-01-01T00:00+02:00", "2025-10-26T03:30",  # no offset
        "2025-03-30T03:30", "not a time", "2025-13-40T25:61+02:00", "",
    ])
    return around(inside), st.one_of(around(outside), ends, st.sampled_from(ODD_TEXT))


def strings(schema: dict) -> tuple[Valid, Edge]:
    longest = schema.get("maxLength", 200)
    examples = [e for e in [*schema.get("examples", []), schema.get("default")] if isinstance(e, str)]
    edges = st.sampled_from([*ODD_TEXT, "x" * (longest + 1), "é" * (longest + 1)])
    if schema.get("pattern") == ID_PATTERN:
        return st.one_of(st.sampled_from(examples or ["X-1"]), SHORT_IDS, st.just("x" * longest)), edges
    # Any unicode a client may send (format characters, private use, unassigned, astral): no controls
    odd = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=30)
    text = st.one_of(odd, st.just("x" * longest), st.just("é" * longest))
    return (st.one_of(st.sampled_from(examples), text) if examples else text), edges


def integers(schema: dict) -> tuple[Valid, Edge]:
    # An integer without a declared bound may be anything JSON carries: the read models must hold it then
    low = schema["minimum"] if "minimum" in schema else schema.get("exclusiveMinimum", -(10**30) - 1) + 1
    high = schema["maximum"] if "maximum" in schema else schema.get("exclusiveMaximum", 10**30 + 1) - 1
    examples = [e for e in schema.get("examples", []) if isinstance(e, int)]
    edges = [low - 1, high + 1, -1, 2**31, 2**63, -(2**63) - 1, 10**30]
    valid = st.one_of(st.sampled_from([low, high]), st.integers(low, high))
    return (st.one_of(st.sampled_from(examples), valid) if examples else valid), st.sampled_from(edges)


def values(schema: dict, components: dict, now: datetime, name: str = "") -> tuple[Valid, Edge]:
    """For a JSON Schema of the OpenAPI document (of the field `name`): values the schema allows (its examples,
    realistic and extreme ones), and edge values (one odd field in an otherwise valid body)."""
    if "$ref" in schema:
        return values(components[schema["$ref"].rsplit("/", 1)[1]], components, now, name)
    if "anyOf" in schema:
        options = [values(option, components, now, name) for option in schema["anyOf"]]
        return st.one_of([o[0] for o in options]), st.one_of([o[1] for o in options])
    kind = schema.get("type")
    if kind == "object":
        fields = {field: values(sub, components, now, field) for field, sub in schema["properties"].items()}
        required = set(schema.get("required", []))
        valid = st.fixed_dictionaries(
            {n: v for n, (v, _) in fields.items() if n in required},
            optional={n: v for n, (v, _) in fields.items() if n not in required},
        )

        def one_odd(body: dict, name: str, value: Any) -> dict:
            return {**body, name: value}

        odd_field = st.sampled_from(sorted(fields)).flatmap(
            lambda field: st.builds(one_odd, valid, st.just(field), fields[field][1])
        )
        odd_key = st.builds(lambda body, key: {**body, key: 1}, valid, st.sampled_from(["\u0000", "unknown", "\ud800"]))
        return valid, (st.one_of(odd_field, odd_key) if fields else odd_key)
    if kind == "array":
        most = schema.get("maxItems", 10)
        item, odd_item = values(schema["items"], components, now, name)
        examples = [e for e in schema.get("examples", []) if isinstance(e, list)]
        lists = st.lists(item, min_size=1, max_size=min(most, 4))  # an empty list is refused by most rules
        over = st.lists(item, min_size=most + 1, max_size=most + 1)
        with_odd = st.builds(lambda items, odd: [*items, odd], st.lists(item, max_size=2), odd_item)
        return (st.one_of(st.sampled_from(examples), lists) if examples else lists), st.one_of(over, with_odd)
    if kind == "string":
        return times(now, name) if schema.get("format") == "date-time" else strings(schema)
    if kind == "integer":
        return integers(schema)
    if kind == "boolean":
        return st.booleans(), st.sampled_from([0, "true", None])
    return st.none(), st.just("x")


def valid_or_odd(valid: Valid, edge: Edge) -> st.SearchStrategy[Any]:
    """Mostly a valid body (so that commands are accepted), otherwise a valid body with one odd field."""
    return st.integers(0, 3).flatmap(lambda pick: edge if pick == 0 else valid)


NO_BODY = {"type": "object", "properties": {}}  # a command that takes no body (signing on): an empty one, or odd


def commands(spec: dict) -> list[tuple[str, dict]]:
    """Every POST with a JSON body, and every POST that takes none: (path, body schema)."""
    bodiless = [(path, NO_BODY) for path, operations in spec["paths"].items()
                if "post" in operations and "requestBody" not in operations["post"]]
    return [(path, schema) for method, path, schema in request_bodies(spec) if method == "POST"] + bodiless


def roles(path: str, people: People) -> list[dict]:
    if path.startswith("/audit"):
        return [people.auditor]
    if path.startswith("/division-preparedness"):
        return [people.preparedness_manager, people.contact("SOTEPE")]
    if path.startswith("/police-liaisons"):
        return [people.police_coordinator, people.duty_officer]
    if path.startswith("/emergency-conditions"):
        return [people.preparedness_manager]
    if path.startswith("/positions"):
        return [people.duty_officer, people.preparedness_manager]
    return [people.duty_officer, people.preparedness_manager]


def world(api, settings: Settings, people: People) -> list[str]:  # noqa: ANN001
    """Given the records the schemas' examples name: the storm with an action, a decision and a log entry, an
    approved SOTEPE plan, a police liaison matter with an open request; and a reminder of an action due soon, as
    `valmius remind` records it. The reminders' ids."""
    declare(api, people.duty_officer)
    for path, body in [
        ("/crises/C-S1/actions", {"action_id": "A-S1-01", "unit": "STARA", "task": "Clear fallen trees",
                                  "due_at": _time(api.clock() + timedelta(hours=2), "+03:00")}),
        ("/crises/C-S1/actions", {"action_id": "A-S1-02", "unit": "SOTEPE", "task": "Open the shelter",
                                  "due_at": _time(api.clock() + timedelta(minutes=10), "+03:00")}),
        ("/crises/C-S1/decisions", {"decision_id": "D-S1-01", "decided_by": "ED", "decision": "Evacuate",
                                    "rationale": "no power", "options": ["evacuate", "wait"]}),
        ("/crises/C-S1/log-entries", {"text": "Helen: 9,000 customers without power"}),
    ]:
        accepted(api.post(path, json=body, headers=people.duty_officer))
    approved_plan(api, people.preparedness_manager)
    liaison_with_request(api, people.police_coordinator)
    accepted(api.post("/received-alerts", content=EXAMPLE_PATH.read_bytes(),  # a CAP alert, to link and unlink
                      headers={**people.duty_officer, "Content-Type": CAP_MEDIA_TYPE}), 201)
    assert remind(api.services, build_sender(api.services, settings))["recorded"] >= 1
    api.services.projections.catch_up()
    reminders = [row["reminder_id"] for row in api.get("/reminders", headers=people.duty_officer).json()["reminders"]]
    assert reminders, "the reminders recorded are listed"
    return reminders


def reads_after(path: str, record_id: str) -> list[str]:
    """What must answer 200 once a command on `path` is accepted: the record and the reads that show it."""
    common = ["/situation-overview", "/exercises/situation-overview", "/readiness-board", "/police-liaison-board"]
    if "/warnings" in path:  # a public warning's commands answer with the warning
        return [f"/warnings/{record_id}", "/warnings", "/warnings/feed", "/crises/C-S1/warnings", *common]
    if path.startswith("/crises"):
        return [f"/crises/{record_id}", f"/crises/{record_id}/timeline", f"/crises/{record_id}/decision-log", *common]
    if path.startswith("/division-preparedness"):
        return [f"/division-preparedness/{record_id}", *common]
    if path.startswith("/police-liaisons"):
        return [f"/police-liaisons/{record_id}", *common]
    if path.startswith("/received-alerts"):
        return [f"/received-alerts/{record_id}", "/received-alerts", "/crises/C-S1/timeline", *common]
    if path.startswith("/reminders"):
        return [f"/reminders/{record_id}", "/reminders", *common]
    if path.startswith("/positions"):  # who holds each position, and its briefs
        return ["/positions", *common]
    return ["/emergency-conditions", *common]


def audit_reads_after(path: str, record_id: str, clock: FakeClock, head: int) -> list[str]:
    as_of = _time(clock(), "+00:00").replace("+", "%2B")
    reads = [f"/audit/situation-overview?as_of={as_of}", f"/audit/events?after={head - 1}"]
    if "/warnings" in path:  # the warnings are of the crisis of the world
        reads.append(f"/audit/crises/C-S1/timeline?as_of={as_of}")
    elif path.startswith("/crises"):
        reads += [f"/audit/crises/{record_id}?as_of={as_of}", f"/audit/crises/{record_id}/timeline?as_of={as_of}"]
    if path.startswith("/division-preparedness"):
        reads.append(f"/audit/division-preparedness/{record_id}?as_of={as_of}")
    if path.startswith("/police-liaisons"):
        reads.append(f"/audit/police-liaisons/{record_id}?as_of={as_of}")
    if path.startswith("/reminders"):
        reads.append(f"/audit/reminders?as_of={as_of}")
    return reads


@pytest.fixture(params=["sqlite", "postgres"])
def store_api(request: pytest.FixtureRequest, tmp_path) -> Iterator[Any]:  # noqa: ANN001
    """The HTTP API on each store, its read models followed by the test (not in the background)."""
    pg = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = settings_for(request.param, tmp_path, pg, embedded_projections=False)
    for api in make_api(settings, FakeClock()):
        api.settings = settings
        yield api


def test_every_accepted_command_reaches_every_read_model_and_the_audit_chain(store_api):
    api = store_api
    people = People(api)
    reminders = world(api, api.settings, people)
    services = api.services
    projections = services.projections
    projections.catch_up()
    spec = api.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    known = {name: list(ids) for name, ids in {**WORLD, "reminder_id": reminders}.items()}
    drawn = st.sampled_from(commands(spec)).flatmap(
        lambda command: st.tuples(
            st.just(command[0]),
            valid_or_odd(*values(command[1], components, api.clock())),
            st.sampled_from(roles(command[0], people)),
        )
    )
    outcomes = {"accepted": 0, "refused": 0}

    @settings(
        max_examples=EXAMPLES_PER_STORE, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(drawn, st.data())
    def any_command(command: tuple[str, Any, dict], data: st.DataObject) -> None:
        path, body, headers = command
        url = path
        for name in re.findall(r"{(\w+)}", path):
            ids = known[name]  # newest first, by a fixed range: the draw must not vary with the world
            url = url.replace(f"{{{name}}}", ids[-1 - data.draw(st.integers(0, 15), label=name) % len(ids)])
        note(f"POST {url} {json.dumps(body)[:2000]}")
        response = api.post(url, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"})
        # Refused: a problem detail of the 4xx family, never a 500
        if response.status_code >= 400:
            assert response.status_code < 500, response.text
            assert response.headers["content-type"].startswith(PROBLEM_JSON), response.text
            outcomes["refused"] += 1
            event(f"refused {response.json()['code']}")
            return
        outcomes["accepted"] += 1
        event(f"accepted POST {path}")
        if path.startswith("/audit"):
            return  # a read sent as POST (verifying a kept checkpoint): nothing was stored
        # Accepted: every read model applies it, up to the head of the log
        projections.catch_up()
        head = services.coordination.recorder.max_notification_id()
        for name in projections.models:
            assert projections.position(name) == head, f"read model {name} stopped before {head}"
        # The record and the reads that show it answer 200, and so do the auditors' reads
        record_id = response.json()["id"]
        for name, ids in known.items():
            if isinstance(body.get(name), str) and body[name] not in ids:
                ids.append(body[name])
        for read in reads_after(path, record_id):
            answer = api.get(read, headers=people.cleared_leadership)
            assert answer.status_code == 200, (read, answer.text)
        for read in audit_reads_after(path, record_id, api.clock, head):
            answer = api.get(read, headers=people.auditor)
            assert answer.status_code == 200, (read, answer.text)
        # The audit chain verifies
        verdict = services.tamper_evidence.verify()
        assert verdict.intact and verdict.chain_head == head, verdict.summary()

    any_command()
    # A test that accepted nothing, or refused everything, would prove nothing
    assert outcomes["accepted"] >= EXAMPLES_PER_STORE // 20, outcomes  # measured: 36 to 78 of 300
    assert outcomes["refused"] >= EXAMPLES_PER_STORE // 20, outcomes
