"""Finnish, Swedish and English: the catalogs are complete and up to date with the code, and every refusal is
said in the language a request asks for.

The messages are found in the code by the same extraction that writes the catalogs (interfaces/http/i18n.py),
never listed here: a message added or changed without its translations fails these tests, and so does one that
a translation lost a parameter of. The refusals are generated from the code too: every place that raises a rule
(DomainError, problem, _refused) is answered, in each language, through the real application.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.crisis import ACTIVE, CLOSED, CONTAINED, RESOLVED
from domain.shared import CATEGORIES, CONDITIONS, DomainError, Policy, Rule
from interfaces.http import i18n
from tests.conftest import FakeClock, make_api, settings_for
from tests.interfaces.conftest import declare, problem

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = i18n.LANGUAGES[1:]  # fi, sv
FORMATTER = string.Formatter()


def fields(template: str) -> set[tuple[str, str | None, str]]:
    """The parameters a template fills in, with their conversion and format."""
    return {(name, conversion, spec) for _, name, spec, conversion in FORMATTER.parse(template) if name is not None}


@pytest.fixture(scope="module")
def messages() -> set[str]:
    return {message.id for message in i18n.extract() if message.id}


# --- the catalogs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_in_the_code_is_translated(messages, language):
    missing = sorted(messages - i18n.CATALOGS[language].keys())
    assert not missing, f"untranslated in {language} (run `python -m interfaces.http.i18n`, then translate): {missing}"


@pytest.mark.parametrize("language", ["", *TRANSLATED])
def test_the_catalogs_hold_what_the_code_says_and_nothing_else(messages, language):
    """The template and the catalogs are extracted from the code as it is now (`python -m interfaces.http.i18n`)."""
    path = i18n.catalog_path(language) if language else i18n.LOCALE / f"{i18n.DOMAIN}.pot"
    with path.open("rb") as file:
        kept = {m.id for m in i18n.read_po(file) if m.id}
    assert kept == messages, f"{path} is not up to date: missing {sorted(messages - kept)}, stale {sorted(kept - messages)}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_a_translation_keeps_every_parameter_of_its_message(language):
    for message, translation in i18n.CATALOGS[language].items():
        assert fields(translation) == fields(message), (language, message, translation)


def test_every_rule_has_a_title_in_every_language():
    for rule in Rule:
        english = i18n.title(rule, "en")
        for language in TRANSLATED:
            assert i18n.title(rule, language) not in ("", english), (rule, language)


def test_every_category_status_condition_severity_and_readiness_has_a_name_in_every_language():
    named = {**i18n.NAMED, "severity": tuple(map(str, Policy().severities)), "readiness": Policy().readiness_ladder}
    assert set(i18n.NAMED["status"]) == {ACTIVE, CONTAINED, RESOLVED, CLOSED}
    assert (i18n.NAMED["category"], i18n.NAMED["condition"]) == (CATEGORIES, CONDITIONS)
    for kind, codes in named.items():
        assert set(i18n.NAMES[kind]) == set(codes), kind
        for code in codes:
            for language in TRANSLATED:
                assert i18n.CATALOGS[language].get(i18n.NAMES[kind][code]), (kind, code, language)


def test_the_dashboard_gets_every_one_of_its_texts_and_names_in_each_language(messages):
    texts = i18n.dashboard_texts()
    assert set(texts) == set(i18n.LANGUAGES)
    assert texts["en"]["texts"] and set(texts["en"]["texts"]) <= messages
    for language in TRANSLATED:
        assert texts[language]["texts"] == {m: i18n.CATALOGS[language][m] for m in texts["en"]["texts"]}
        assert texts[language]["names"]["SEVERE_WEATHER"] == i18n.CATALOGS[language]["Severe weather"]


def test_every_refusal_message_in_the_code_is_a_plain_template():
    """An f-string, a concatenation or a call in a refusal's message would escape the catalogs: each message is a
    string literal (with {parameters}), or a variable holding one marked N_ (checked below, by rendering)."""
    for path, node, message in refusal_calls():
        assert isinstance(message, ast.Constant | ast.Name | ast.Attribute), f"{path}:{node.lineno}"


# --- Accept-Language -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "language"), [
    (None, "en"), ("", "en"), ("fi", "fi"), ("sv-FI", "sv"), ("fi-FI,fi;q=0.9,en-US;q=0.8,en;q=0.7", "fi"),
    ("de-DE, sv;q=0.5, fi;q=0.4", "sv"), ("en;q=0.5, fi;q=0.6", "fi"), ("fi;q=0, sv;q=0.1", "sv"),
    ("de, *;q=0.5", "en"), ("SV", "sv"), ("fi;q=abc, sv;q=0.2", "sv"), ("nb-NO, da", "en"), ("sv, fi", "sv"),
])
def test_the_language_is_the_first_of_ours_the_header_prefers(header, language):
    assert i18n.negotiate(header) == language


@given(st.lists(st.tuples(st.sampled_from(["fi", "sv", "en", "de", "sv-FI", "fi-FI", "*", "x-y"]),
                          st.sampled_from([None, "0", "0.1", "0.5", "0.9", "1", "bad"])), max_size=6))
def test_any_accept_language_gets_one_of_ours_with_the_highest_quality(items):
    header = ", ".join(tag if q is None else f"{tag};q={q}" for tag, q in items)
    chosen = i18n.negotiate(header)
    assert chosen in i18n.LANGUAGES

    def quality(q: str | None) -> float:
        try:
            return 1.0 if q is None else float(q)
        except ValueError:
            return 0.0

    ours = [(quality(q), i18n.DEFAULT if tag == "*" else tag.split("-")[0]) for tag, q in items]
    ours = [(q, language) for q, language in ours if language in i18n.LANGUAGES and q > 0]
    if ours:
        assert max(q for q, language in ours if language == chosen) == max(q for q, _ in ours)
    else:
        assert chosen == "en"


# --- every refusal, said in each language ------------------------------------------------------------------


def refusal_calls() -> Iterator[tuple[Path, ast.Call, ast.expr]]:
    """Every call in the code that refuses with a message: DomainError(rule, message, …), problem(rule, message,
    …) and infrastructure.oidc's _refused(message, …)."""
    for source in i18n.SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    if node.func.id in ("DomainError", "problem") and len(node.args) >= 2:
                        yield path, node, node.args[1]
                    elif node.func.id in HELPERS and node.args:
                        yield path, node, node.args[0]


HELPERS = {"_refused": Rule.UNAUTHENTICATED, "_unavailable": Rule.IDENTITY_PROVIDER_UNAVAILABLE}  # (infrastructure/oidc.py)


def refusals() -> list[tuple[Rule, str]]:
    """Each rule with each message it is raised with: the literal ones, and those marked N_ in the function (or
    module) that raises them from a variable."""
    found: set[tuple[Rule, str]] = set()
    for path, node, message in refusal_calls():
        if node.func.id in HELPERS:
            rule = HELPERS[node.func.id]
        elif isinstance(node.args[0], ast.Attribute) and getattr(node.args[0].value, "id", None) == "Rule":
            rule = Rule[node.args[0].attr]
        else:
            continue  # a rule passed on (an error re-raised, a status mapped): its messages are raised elsewhere
        if isinstance(message, ast.Constant):
            found.add((rule, message.value))
            continue
        scope = enclosing_function(ast.parse(path.read_text(encoding="utf-8")), node.lineno)
        for call in ast.walk(scope):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "N_" and isinstance(call.args[0], ast.Constant):
                found.add((rule, call.args[0].value))
    return sorted(found)


def enclosing_function(tree: ast.Module, line: int) -> ast.AST:
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.lineno <= line <= n.end_lineno]
    scope = max(functions, key=lambda n: n.lineno) if functions else tree
    marked_here = any(getattr(c.func, "id", None) == "N_" for c in ast.walk(scope) if isinstance(c, ast.Call))
    return scope if marked_here else tree


REFUSALS = refusals()


def test_every_rule_is_raised_somewhere_with_a_message():
    assert {rule for rule, _ in REFUSALS} == set(Rule)


@pytest.fixture(scope="module")
def refusing(tmp_path_factory):  # noqa: ANN001
    """The application with one more route, which refuses with the rule and message it is given (the message's
    parameters filled in with their own names, as a test's ids)."""
    def refuse(number: int) -> None:
        rule, template = REFUSALS[number]
        raise DomainError(rule, template, {name: f"<{name}>" for name, _, _ in fields(template)})

    for api in make_api(settings_for("sqlite", tmp_path_factory.mktemp("refusing")), FakeClock()):
        api.client.app.add_api_route("/test/refusals/{number}", refuse, methods=["GET"])
        yield api


@pytest.mark.parametrize("number", range(len(REFUSALS)), ids=[f"{r}:{t[:40]}" for r, t in REFUSALS])
def test_every_refusal_is_said_in_finnish_and_swedish_and_english(refusing, number):
    rule, template = REFUSALS[number]
    params = {name: f"<{name}>" for name, _, _ in fields(template)}
    answers = {}
    for language, header in [("fi", "fi-FI,fi;q=0.9,en;q=0.8"), ("sv", "sv-FI, fi;q=0.5"), ("en", "de, en;q=0.1")]:
        response = refusing.client.get(f"/test/refusals/{number}", headers={"Accept-Language": header})
        body = problem(response, response.status_code, str(rule))  # the code is the same in every language
        assert response.headers["Content-Language"] == language
        assert "Accept-Language" in response.headers["Vary"]
        assert body["title"] == i18n.title(rule, language)
        assert body["detail"] == i18n.say(template, params, language)
        answers[language] = body
    assert answers["en"]["detail"] == DomainError(rule, template, params).message  # English as it always was
    assert answers["fi"]["detail"] != answers["en"]["detail"] != answers["sv"]["detail"] != answers["fi"]["detail"]
    for language in ("fi", "sv"):
        for name in params:
            assert f"<{name}>" in answers[language]["detail"], (language, name)  # no parameter lost


# --- through the real commands ----------------------------------------------------------------------------


def test_a_refused_command_is_said_in_the_language_asked_for_and_kept_in_english(api, people):
    """A duty officer's entry from the future (21:45 at 21:40), refused in Finnish, in Swedish and in English;
    what is kept for auditors stays in English, the records' language."""
    declare(api, people.duty_officer)
    entry = {"text": "Trees down in Vuosaari", "occurred_at": "2025-10-25T21:45+03:00"}
    for header, title, detail in [
        ("fi", "Aika tulevaisuudessa", "occurredAt on 5 min palvelimen ajan jälkeen (annettu 2025-10-25T21:45+03:00, "
                                       "palvelimen kello 2025-10-25T21:40+03:00)"),
        ("sv-SE", "Tid i framtiden", "occurredAt ligger 5 min efter serverns tid (2025-10-25T21:45+03:00 angiven, "
                                     "serverns klocka 2025-10-25T21:40+03:00)"),
        ("en-GB", "Future timestamp", "occurredAt is 5 min after server time (2025-10-25T21:45+03:00 given, "
                                      "server clock 2025-10-25T21:40+03:00)"),
    ]:
        response = api.post("/crises/C-S1/log-entries", json=entry,
                            headers={**people.duty_officer, "Accept-Language": header})
        said = problem(response, 422, "FUTURE_TIMESTAMP")
        assert (said["title"], said["detail"]) == (title, detail)
    kept = api.services.refusals.list()[-3:]
    assert {k["message"] for k in kept} == {said["detail"]}


def test_a_role_refused_names_the_role_and_the_deed_in_the_language_asked_for(api, people):
    """The parameters that are words (a role, what it may not do) are said in the language too."""
    declare(api, people.duty_officer)
    entry = {"text": "Trees down in Vuosaari"}
    finnish = api.post("/crises/C-S1/log-entries", json=entry, headers={**people.leadership, "Accept-Language": "fi"})
    swedish = api.post("/crises/C-S1/log-entries", json=entry, headers={**people.leadership, "Accept-Language": "sv"})
    assert problem(finnish, 403, "FORBIDDEN_ROLE")["detail"] == (
        "johdon lukijat: vain lukuoikeus; päivystäjä kirjaa päätökset toimivaltaisen päättäjän puolesta"
    )
    assert problem(swedish, 403, "FORBIDDEN_ROLE")["detail"] == (
        "ledningens läsare: endast läsrätt; jourhavande registrerar besluten för den behöriga beslutsfattaren"
    )


def test_a_record_not_found_is_named_in_the_language_asked_for(api, people):
    """A label of ours inside a message (N_ with its own parameters) is said in the language too."""
    entry = {"text": "Trees down in Vuosaari"}
    said = {language: api.post("/crises/C-NONE/log-entries", json=entry,
                               headers={**people.duty_officer, "Accept-Language": language})
            for language in ("fi", "sv", "en")}
    assert problem(said["fi"], 404, "NOT_FOUND")["detail"] == "ei löydy: häiriötilanne C-NONE"
    assert problem(said["sv"], 404, "NOT_FOUND")["detail"] == "störningssituationen C-NONE finns inte"
    assert problem(said["en"], 404, "NOT_FOUND")["detail"] == "there is no crisis C-NONE"
