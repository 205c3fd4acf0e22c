"""What was still English in Finnish and Swedish answers: pydantic's words on a refused value, the changes a
CONFLICT_VERSION lists, the outcomes inside ALREADY_ANSWERED and ACTION_NOT_OPEN, Starlette's own 404 and 405,
and what /health/ready names.

The bad values are generated from the OpenAPI document's request bodies (every string and integer of every
command, with the constraints its schema states), so a new command or field is covered without being listed.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from domain import police_liaison
from domain.shared import OUTCOMES, Words, joined, outcome_words
from interfaces.http import i18n
from tests.conftest import FakeClock, make_api, settings_for
from tests.interfaces.conftest import declare, problem, request_bodies
from tests.interfaces.test_bounds import VALID, headers_for, leaves

ROOT = Path(__file__).resolve().parents[2]
HEADERS = {"fi": "fi-FI,fi;q=0.9", "sv": "sv-FI", "en": "en-GB"}
TRANSLATED = ("fi", "sv")


def bad_values(schema: dict) -> dict[str, Any]:
    """For one string or integer of a body: a value breaking each constraint its schema states, by kind."""
    if schema["type"] == "string":
        bad: dict[str, Any] = {"type": 7, "control": "a\x01b", "long": "x" * (schema["maxLength"] + 1)}
        if schema.get("minLength"):
            bad["empty"] = ""
        return bad
    bad = {"type": "seven", "fraction": 1.5, "big": schema.get("maximum", schema.get("exclusiveMaximum", 0)) + 1}
    if "minimum" in schema or "exclusiveMinimum" in schema:
        bad["small"] = schema.get("minimum", schema.get("exclusiveMinimum", 0)) - 1
    return bad


def put(body: dict, where: str, value: Any) -> None:
    """Sets the field `where` (`.critical_functions[].name`, as test_bounds.leaves names it) in `body`."""
    steps = where.strip(".").split(".")
    here: Any = body
    for number, step in enumerate(steps):
        name, listed = step.removesuffix("[]"), step.endswith("[]")
        last = number == len(steps) - 1
        if listed:
            items = here.setdefault(name, [{}] if not last else [])
            if last:
                items.append(value)
            here = items[0]
        elif last:
            here[name] = value
        else:
            here = here.setdefault(name, {})


def bodies_with_bad_values(spec: dict) -> list[tuple[str, str, str, dict]]:
    """(method, url, kind, body): each command with every field it has given a bad value of one kind, and a key it
    does not declare."""
    schemas = spec["components"]["schemas"]
    sent = []
    for method, path, body in request_bodies(spec):
        url = path
        for name, value in VALID.items():
            url = url.replace(f"{{{name}}}", value)
        by_kind: dict[str, dict] = {}
        for field, schema in leaves(body, schemas):
            for kind, value in bad_values(schema).items():
                put(by_kind.setdefault(kind, {"undeclared_key": 1}), field, value)
        sent += [(method, url, kind, bad) for kind, bad in sorted(by_kind.items())]
    return sent


def answers(api, method: str, url: str, headers: dict, **request: Any) -> dict[str, dict]:  # noqa: ANN001
    return {
        language: problem(api.request(method, url, headers={**headers, "Accept-Language": header}, **request),
                          422, "INVALID_INPUT")
        for language, header in HEADERS.items()
    }


def check_said(said: dict[str, dict]) -> set[str]:
    """Finnish and Swedish say each refused value in their own words, keeping its field and rule; the English
    answer is pydantic's own. The rules seen."""
    english = said["en"]["errors"]
    assert english
    for language in TRANSLATED:
        errors = said[language]["errors"]
        assert [(e["field"], e["rule"]) for e in errors] == [(e["field"], e["rule"]) for e in english], language
        for own, theirs in zip(errors, english, strict=True):
            assert theirs["rule"] in i18n.VALIDATION, f"no {theirs['rule']} template: {theirs['problem']}"
            assert own["problem"] != theirs["problem"], (language, own)
            assert theirs["problem"] not in said[language]["detail"], (language, theirs["problem"])
            assert f"{own['field'] or 'body'}: {own['problem']} ({own['rule']})" in said[language]["detail"]
            template = i18n.VALIDATION[theirs["rule"]]
            assert i18n.CATALOGS[language][template] and template not in said[language]["detail"]
    return {e["rule"] for e in english}


def test_every_bad_value_of_every_command_is_said_in_finnish_and_swedish(api, people):
    declare(api, people.duty_officer)
    spec = api.get("/openapi.json").json()
    sent = bodies_with_bad_values(spec)
    rules: set[str] = set()
    for method, url, _kind, body in sent:
        rules |= check_said(answers(api, method, url, headers_for(url, people), json=body))
    assert len(sent) > 100
    assert {"extra_forbidden", "string_type", "control_character", "string_too_long", "int_parsing",
            "int_from_float", "less_than_equal", "greater_than_equal", "missing"} <= rules


@pytest.mark.parametrize(("content", "rule"), [
    ("{not json", "json_invalid"),
    ('{"crisis_id": "C-1", "title": "\\ud800"}', "string_unicode"),
    ('{"crisis_id": "C-1", "classification": "SECRET"}', "model_attributes_type"),
    ('{"crisis_id": "C-1", "areas": "Vuosaari"}', "list_type"),
    ('{"crisis_id": "C-1", "areas": [' + ", ".join(['"a"'] * 300) + "]}", "too_long"),
])
def test_a_body_that_is_no_command_is_said_in_finnish_and_swedish(api, people, content, rule):
    said = answers(api, "POST", "/crises", {**people.duty_officer, "Content-Type": "application/json"},
                   content=content)
    assert rule in check_said(said)


def test_odd_path_query_and_header_values_are_said_in_finnish_and_swedish(api, people):
    declare(api, people.duty_officer)
    check_said(answers(api, "GET", "/crises/C%00S1", people.duty_officer))
    check_said(answers(api, "GET", "/situation-overview?min_position=abc", people.leadership))
    check_said(answers(api, "POST", "/crises/C-S1/log-entries", {**people.duty_officer, "If-Match": "9" * 50},
                       json={"text": "x"}))


def test_a_refused_value_is_kept_for_auditors_in_english(api, people):
    said = answers(api, "POST", "/crises", people.duty_officer, json={"crisis_id": "C" * 65})
    kept = api.services.refusals.list()[-1]
    assert kept["message"] == said["en"]["detail"]


# --- the changes a CONFLICT_VERSION lists -----------------------------------------------------------------


def test_every_event_summary_is_a_template_of_the_catalogs():
    """A summary() that is an f-string would escape the catalogs: each returns N_("template", …)."""
    for path in sorted((ROOT / "domain").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "summary" and path.name != "record.py":
                for returned in (n.value for n in ast.walk(node) if isinstance(n, ast.Return)):
                    assert isinstance(returned, ast.Call) and getattr(returned.func, "id", None) == "N_", (
                        f"{path.name}:{returned.lineno}"
                    )


def test_the_changes_since_the_version_read_are_said_in_the_language_asked_for(api, people):
    declare(api, people.duty_officer)
    seen = api.get("/crises/C-S1", headers=people.duty_officer).headers["ETag"]
    accepted = api.post("/crises/C-S1/severity", json={"to_severity": 3, "reason": "spreading"},
                        headers=people.duty_officer)
    assert accepted.status_code == 200, accepted.text
    entry = {"text": "Trees down in Vuosaari"}
    said = {
        language: problem(api.post("/crises/C-S1/log-entries", json=entry,
                                   headers={**people.duty_officer, "If-Match": seen, "Accept-Language": header}),
                          409, "CONFLICT_VERSION")["detail"]
        for language, header in HEADERS.items()
    }
    assert said["en"] == "C-S1 is at version 2, not 1: severity changed to 3 by DO-1 at 21:40"
    assert said["fi"] == "C-S1 on versiossa 2, ei 1: DO-1 muutti vakavuudeksi 3 klo 21:40"
    assert said["sv"] == "C-S1 har version 2, inte 1: DO-1 ändrade allvarlighetsgraden till 3 kl. 21:40"


def test_changes_joined_are_each_said_and_read_as_before_in_english():
    changes = [Words("plan {plan_id} drafted by {actor}", {"plan_id": "CP-1", "actor": "PM-1"}),
               Words("and {count} more", {"count": 4})]

    assert joined(changes) == "plan CP-1 drafted by PM-1; and 4 more"
    assert i18n.say(joined(changes), language="fi") == "PM-1 laati suunnitelman CP-1 luonnoksen; ja 4 muuta"


# --- outcomes, Starlette's answers, readiness ---------------------------------------------------------------


def outcomes_in_the_domain() -> set[str]:
    """The outcomes the domain closes a record with: `outcome = "…"` of an event class, `_close_action("…")` and
    `_close_item("…")`."""
    codes = set()
    for path in sorted((ROOT / "domain").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["outcome"]:
                codes.add(node.value.value)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("_close_action", "_close_item"):
                codes.add(node.args[0].value)
    return codes


def test_every_outcome_a_record_can_have_is_said_in_each_language():
    codes = outcomes_in_the_domain()
    assert set(police_liaison.OUTCOMES) < codes and {"COMPLETED", "CANCELLED"} < codes
    assert set(OUTCOMES) == codes
    for code in codes:
        assert outcome_words(code) == code.lower()
        for language in TRANSLATED:
            assert i18n.CATALOGS[language][outcome_words(code)], (code, language)


def test_an_action_closed_already_names_its_outcome_in_the_language_asked_for(api, people):
    declare(api, people.duty_officer)
    action = {"action_id": "A-S1-01", "unit": "STARA", "task": "Clear the roads", "due_at": "2025-10-26T00:00+03:00"}
    assert api.post("/crises/C-S1/actions", json=action, headers=people.duty_officer).status_code == 200
    assert api.post("/crises/C-S1/actions/A-S1-01/cancel", json={"note": "done by Helen"},
                    headers=people.duty_officer).status_code == 200
    said = {language: problem(api.post("/crises/C-S1/actions/A-S1-01/complete", json={},
                                       headers={**people.contact("STARA"), "Accept-Language": header}),
                              409, "ACTION_NOT_OPEN")["detail"]
            for language, header in HEADERS.items()}
    assert said["en"].startswith("action A-S1-01 was already cancelled by DO-1")
    assert "(peruttu)" in said["fi"] and "(inställd)" in said["sv"]


@pytest.mark.parametrize(("method", "url", "status", "words"), [
    ("GET", "/no-such-page", 404, {"en": "Not Found", "fi": "Ei löydy", "sv": "Hittades inte"}),
    ("DELETE", "/crises", 405, {"en": "Method Not Allowed", "fi": "Menetelmä ei ole sallittu",
                                "sv": "Metoden är inte tillåten"}),
])
def test_an_unknown_path_or_method_is_answered_in_the_language_asked_for(api, people, method, url, status, words):
    for language, header in HEADERS.items():
        response = api.request(method, url, headers={**people.duty_officer, "Accept-Language": header})
        assert response.status_code == status
        assert response.json()["detail"] == words[language]
        assert response.headers["Content-Language"] == language


def test_what_keeps_the_service_from_being_ready_is_said_in_the_language_asked_for(tmp_path):
    for api in make_api(settings_for("sqlite", tmp_path, embedded_projections=False), FakeClock()):
        api.services.settings.ready_max_lag_events = 0
        reader = api.headers("LR-1", "leadership")
        declare(api, api.headers("DO-1", "duty_officer"))
        said = {}
        for language, header in HEADERS.items():
            response = api.get("/health/ready", headers={**reader, "Accept-Language": header})
            said[language] = problem(response, 503, "READ_MODEL_BEHIND")
        assert all(p.startswith("read model ") for p in said["en"]["problems"])
        assert all(p.startswith("lukumalli ") for p in said["fi"]["problems"])
        assert all(p.startswith("läsmodellen ") for p in said["sv"]["problems"])
        for language in HEADERS:
            assert said[language]["detail"] == "; ".join(said[language]["problems"])
        assert json.dumps(said["en"]["problems"]).count("events behind the head") == len(said["en"]["problems"])
