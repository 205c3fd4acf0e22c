"""Secrecy on every path, generated from the OpenAPI document and the route table, not hand-listed.

A unique marker is planted in every free-text string of every command body the OpenAPI document describes
(resolving $refs, nested objects and arrays), in one world of records per classification: SECRET, RECEIVED
and PUBLIC. Fields that are not free text get valid values (ids, times, the values of a closed set); every
other string is a marker. Commands that take a classification get the world's; those that do not add to a
record of the world (a note closing an action, a review, a strike reason, a change of severity, the topic of a
liaison matter of the crisis, …) and are as secret as it. An answer to a police request is recorded PUBLIC
on a classified request, to show that it takes its request's classification.

Each command is also sent refused, with fresh markers: as a reader (403), and by its writer once for each
string of its body made invalid (free text with a control character or over-long, a category, level or time
that is none, an id off its pattern), once with a key nobody declared and once with an If-Match that is no
version. The sender's own answer may quote what it sent; what is kept of the refusal for auditors must not
show an uncleared one anything sent but ids, numbers and times.

Then every GET route of the route table is crawled, with the ids of the worlds in its path, as-of variants,
every page of the event log, the export archive's files and the live overview stream's first frame, as each
uncleared role (answers' headers included); and every frame of the live overview that each role, cleared and
not, streamed while the worlds were built (the whole picture, then a change frame per change) is read too: no
marker of a classified world may appear, and none in conflict answers or the logs. The
cleared reader sees every marker (the crawl reaches every field) and the uncleared ones every PUBLIC marker.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import re
import time
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from application.projections.deadlines import Deadline, deadline_key
from domain.access import Actor, Role
from domain.crisis import Crisis
from domain.received_alert import alert_id_for
from domain.reminder import Ladder, reminder_id
from domain.shared import DomainError, utc_now
from infrastructure.settings import Settings
from interfaces.cap.alerts_in import read_alert
from tests.conftest import settings_for
from tests.interfaces.test_stream_access import Subscription
from tests.live import LiveServer, running_service

CLASSIFICATIONS = {
    "S": {"level": "SECRET", "legal_basis": "JulkL 24.1 § 7 k"},
    "R": {"level": "RECEIVED", "marking": "TL IV KÄYTTÖ RAJOITETTU", "originator": "Helsinki Police Department"},
    "P": {"level": "PUBLIC"},
}
UNIT_OF_WORLD = {"S": "KASKO", "R": "KUVA", "P": "KYMP"}
# a received alert (as the Finnish Meteorological Institute's) is RECEIVED content of its sender, in every world
CAP_ALERT = (Path(__file__).parents[1] / "fixtures" / "cap" / "fmi-wind-warning.xml").read_bytes()
CAP_EXAMPLE = read_alert(CAP_ALERT)
CAP_TEXTS = (  # (the element, its text): what the alert says, in each language
    (b"<headline>", b"Oranssi tuulivaroitus: Helsinki"), (b"<instruction>", "Kiinnitä irtaimet tavarat.".encode()),
    (b"<headline>", b"Orange vindvarning: Helsingfors"), (b"<description>", b"Gusts of 25 m/s from the afternoon."),
    (b"<areaDesc>", b"Helsinki"),
)

# Fields that are not free text: the world gives them valid values. Any other string field gets a marker.
CLOSED_SETS = {
    "category": "CYBER_INCIDENT", "condition": "NORMAL_DISRUPTION", "to_condition": "EMERGENCY_CONDITIONS",
    "direction": "CITY_TO_POLICE", "request_type": "COORDINATION", "to_level": "ENHANCED", "from_level": "BASIC",
    "form": "STANDARD", "section": "situation",
    "areas": "Vuosaari",  # a district of the registry (UNKNOWN_AREA otherwise)
}
INTEGERS = {"severity": 2, "to_severity": 3, "mtpd_minutes": 360, "rto_minutes": 120}
NOT_RECORDS = {("post", "/audit/verify-checkpoint")}  # checks a signed document; nothing is recorded

READERS = {  # (user, role, unit) of every role that reads, without clearance
    "duty_officer": ("U-DO", "duty_officer", None),
    "preparedness_manager": ("U-PM", "preparedness_manager", None),
    "division_contact": ("U-DIV", "division_contact", "KASKO"),
    "police_coordinator": ("U-PC", "police_coordinator", None),
    "leadership": ("U-LR", "leadership", None),
    "auditor": ("U-AUD", "auditor", None),
}
MARKER = re.compile(r"MRK\d{4}[SRP]Q")


class Commands:
    """Bodies generated from the OpenAPI document: markers in free text, valid values elsewhere."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi
        self.counter = itertools.count(1)
        self.planted: dict[str, set[str]] = {world: set() for world in CLASSIFICATIONS}
        self.ran: set[tuple[str, str]] = set()
        self.where: dict[str, str] = {}  # marker -> the command and field it was planted in
        self.refused: set[str] = set()  # markers of refused commands: kept as far as the refusal keeps them
        self._command = ""

    def routes(self) -> set[tuple[str, str]]:
        """Every command route with a body in the OpenAPI document (a CAP document's too: World.take_alert)."""
        return {
            (method, path)
            for path, operations in self.openapi["paths"].items()
            for method, operation in operations.items()
            if method in ("post", "put", "patch") and "requestBody" in operation
        }

    def ref(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            node: Any = self.openapi
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            return self.ref(node)
        if "anyOf" in schema:  # Optional[X]: X
            return self.ref(next(s for s in schema["anyOf"] if s.get("type") != "null"))
        return schema

    def marker(self, world: str, name: str | None) -> str:
        text = f"MRK{next(self.counter):04d}{world}Q"
        self.planted[world].add(text)
        self.where[text] = f"{self._command} {name or '[]'}"
        return text

    def named(self, markers: set[str]) -> list[str]:
        return sorted(f"{m}: {self.where[m]}" for m in markers)

    def body(self, method: str, path: str, world: str, given: dict[str, Any]) -> dict[str, Any]:
        """A body for the command: `given` values (ids, the classification), else generated."""
        self.ran.add((method, path))
        self._command = f"{method.upper()} {path}"
        return self.value(self.ref(self.openapi["paths"][path][method]["requestBody"]["content"]["application/json"]
                                   ["schema"]), None, world, given)

    def value(self, schema: dict[str, Any], name: str | None, world: str, given: dict[str, Any]) -> Any:
        schema = self.ref(schema)
        if name in given:
            return given[name]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            out = {}
            for field, sub in schema.get("properties", {}).items():
                generated = self.value(sub, field, world, given)
                if generated is not _OMIT:
                    out[field] = generated
            return out
        if kind == "array":
            return [self.value(schema["items"], name, world, given) for _ in range(2)]
        if kind == "integer":
            return INTEGERS.get(name or "", _OMIT)
        if kind == "boolean":
            return _OMIT
        if kind == "string":
            if name in CLOSED_SETS:
                return CLOSED_SETS[name]
            if "enum" in schema:
                return schema["enum"][0]
            if name and (name.endswith(("_id", "_ref", "_at", "_due")) or name in ("unit", "supersedes")):
                return _OMIT  # ids and times the world gives where the command needs them
            if schema.get("format") in ("date-time", "date"):
                return _OMIT
            return self.marker(world, name)  # free text, whatever pattern it must match (markers are plain)
        return _OMIT

    def spoiled(self, body: dict[str, Any], world: str) -> Iterator[dict[str, Any]]:
        """The body once for each of its strings made invalid, with markers in it."""
        for number, (where, value) in enumerate(_leaves(body)):
            name = next((part for part in reversed(where) if isinstance(part, str)), "")
            if MARKER.fullmatch(value):  # free text: refused at the edge
                bad = value + "\x01" if number % 2 else value * 450
            elif name.endswith(_IDS):
                bad = self.marker(world, name) + " /"
            elif name in CLOSED_SETS or name == "level" or name.endswith(("_at", "_due")):
                bad = self.marker(world, name)  # a category, level or time that is none: refused where understood
            else:  # free text the world gives (a legal basis, a marking)
                bad = self.marker(world, name) + "\x01"
            yield _replaced(body, where, bad)


_OMIT = object()
_IDS = ("_id", "_ref", "unit", "supersedes")


def _leaves(value: Any, where: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every string in a body, by its path (keys and list indices)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _leaves(sub, (*where, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _leaves(sub, (*where, index))
    elif isinstance(value, str):
        yield where, value


def _replaced(value: Any, where: tuple[Any, ...], new: str) -> Any:
    if not where:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[where[0]] = _replaced(value[where[0]], where[1:], new)
    return copy




class World:
    """The records of one classification, built through the API by the people whose job it is."""

    def __init__(self, server: LiveServer, commands: Commands, world: str) -> None:
        self.server, self.commands, self.world = server, commands, world
        self.level = CLASSIFICATIONS[world]
        self.crisis, self.unit, self.liaison = f"C-{world}", UNIT_OF_WORLD[world], f"PL-{world}"
        self.plan = f"CP-{world}"
        self.reviewed = f"C-{world}-1"  # a second crisis, whose after-action review is recorded in one step
        self.alert = alert_id_for(CAP_EXAMPLE.sender, f"{CAP_EXAMPLE.identifier}.{world}", CAP_EXAMPLE.sent)
        self.position = 0
        self.refusal_answers: list[str] = []
        self.tokens: dict[tuple[str, str | None], str] = {}

    def headers(self, role: str, unit: str | None = None) -> dict[str, str]:
        """A token of `role` without clearance (`role:cleared`: with it, for a change that needs it)."""
        if (role, unit) not in self.tokens:
            name, _, cleared = role.partition(":")
            self.tokens[role, unit] = self.server.token(f"W-{role}", name, unit, clearance=bool(cleared))
        return {"Authorization": f"Bearer {self.tokens[role, unit]}"}

    def run(self, method: str, path: str, role: str, world: str | None = None, **given: Any) -> httpx.Response:
        """Run the command; its markers are of `world` (a public record in a classified world: "P")."""
        given.setdefault("classification", self.level)
        concrete = path.format(crisis_id=self.crisis, unit=self.unit, liaison_id=self.liaison, plan_id=self.plan,
                               alert_id=self.alert,
                               **{k: v for k, v in given.items() if k in ("number", "action_id", "decision_id",
                                                                           "request_id", "position_id",
                                                                           "item_id", "warning_id")})
        unit = self.unit if role == "division_contact" else None
        body = self.commands.body(method, path, world or self.world, given)
        answer = self.server.http.request(method.upper(), concrete, json=body,
                               headers=self.headers(role, unit), timeout=30)
        assert answer.status_code < 300, (
            f"{method.upper()} {concrete} {body}: {answer.status_code} {answer.text}"
        )
        self.position = max(self.position, int(answer.headers.get("Valmius-Position", 0)))
        self.refuse(method, path, concrete, world or self.world, given)
        self.refuse_invalid(method, path, concrete, world or self.world, given, role, unit)
        return answer

    def refuse(self, method: str, path: str, concrete: str, world: str, given: dict[str, Any],
               role: str = "leadership", status: int = 403, **headers: str) -> None:
        """The same command with fresh markers, refused (by default: by a reader); its arguments are kept."""
        before = set(self.commands.where)
        body = self.commands.body(method, path, world, given)
        self.commands.refused |= set(self.commands.where) - before
        answer = self.server.http.request(method.upper(), concrete, json=body,
                               headers={**self.headers(role), **headers}, timeout=30)
        assert answer.status_code == status, answer.text
        self.refusal_answers.append(answer.text)

    def refuse_invalid(self, method: str, path: str, concrete: str, world: str, given: dict[str, Any], role: str,
                       unit: str | None) -> None:
        """The same command by its writer, with fresh markers, refused at the edge or by the domain: once for
        each string of the body made invalid (free text with a control character or over-long; any other value
        replaced by a marker: a category, level or time that is none, an id off its pattern), once with a key
        nobody declared, once with an If-Match that is no version. The answer may quote what was sent; what is
        kept of it for auditors must not, to an uncleared one."""
        before = set(self.commands.where)
        body = self.commands.body(method, path, world, given)
        variants = [(spoiled, {}) for spoiled in self.commands.spoiled(body, world)]
        variants.append(({**body, self.commands.marker(world, "(undeclared key)"): "x"}, {}))
        parameters = self.commands.openapi["paths"][path][method].get("parameters", [])
        if any(p["in"] == "header" and p["name"].lower() == "if-match" for p in parameters):
            variants.append((body, {"If-Match": self.commands.marker(world, "If-Match")}))
        self.commands.refused |= set(self.commands.where) - before
        for spoiled, headers in variants:
            answer = self.server.http.request(method.upper(), concrete, json=spoiled,
                                   headers={**self.headers(role, unit), **headers}, timeout=30)
            assert 400 <= answer.status_code < 500 and answer.status_code not in (401, 403), (
                f"{method.upper()} {concrete} {spoiled!r} {headers}: {answer.status_code} {answer.text}"
            )

    def build(self) -> None:
        now = utc_now()
        later = lambda **kw: (now + timedelta(**kw)).isoformat()  # noqa: E731
        do, pm, pc = "duty_officer", "preparedness_manager", "police_coordinator"
        run = self.run
        run("post", "/crises", do, crisis_id=self.crisis)
        run("post", "/crises/{crisis_id}/severity", do)
        run("post", "/crises/{crisis_id}/condition", do)
        run("post", "/crises/{crisis_id}/log-entries", do)
        run("post", "/crises/{crisis_id}/log-entries/{number}/strike", do, number=1)
        for action_id, close in (("A-1", "complete"), ("A-2", "cancel")):
            run("post", "/crises/{crisis_id}/actions", do, action_id=action_id, unit=self.unit, due_at=later(hours=2))
            run("post", f"/crises/{{crisis_id}}/actions/{{action_id}}/{close}", do, action_id=action_id)
        run("post", "/crises/{crisis_id}/situation-reports", do, next_due_at=later(hours=1))
        # a structured report (#2), and the next one left in the making
        for issued in (True, False):
            run("post", "/crises/{crisis_id}/situation-reports/draft", do)
            run("post", "/crises/{crisis_id}/situation-reports/draft/sections", do, unit=self.unit)
            if issued:
                run("post", "/crises/{crisis_id}/situation-reports/draft/issue", do, next_due_at=later(hours=2))
        run("post", "/crises/{crisis_id}/decisions", do, decision_id="D-1", review_at=later(hours=1))
        run("post", "/crises/{crisis_id}/decisions/{decision_id}/reviews", do, decision_id="D-1")
        run("post", "/crises/{crisis_id}/decisions", do, decision_id="D-2", supersedes="D-1")
        # the areas of a classified crisis are its content: changing them takes clearance (CLEARANCE_REQUIRED)
        run("post", "/crises/{crisis_id}/areas", f"{do}:cleared", added=["Kallio"], removed=["Vuosaari"])
        # a unit's readiness is public, whatever crisis it names
        run("post", "/division-preparedness/{unit}/readiness", pm, "P", crisis_ref=self.crisis, decision_ref="D-2")
        run("post", "/division-preparedness/{unit}/plans", pm, plan_id=self.plan, next_review_due=later(days=30))
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/approve", pm)
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/reviews", pm, next_review_due=later(days=60))
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/exercises", pm)
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/activate", pm, crisis_id=self.crisis)
        run("post", "/division-preparedness/{unit}/plans/{plan_id}/deactivate", pm)
        run("post", "/police-liaisons", pc, liaison_id=self.liaison, crisis_id=self.crisis)
        run("post", "/police-liaisons/{liaison_id}/people", pc)
        for request_id, close, answered in (("PR-1", "answer", {"level": "PUBLIC"}), ("PR-2", "decline", self.level),
                                            ("PR-3", "withdraw", self.level)):
            run("post", "/police-liaisons/{liaison_id}/requests", pc, request_id=request_id)
            run("post", f"/police-liaisons/{{liaison_id}}/requests/{{request_id}}/{close}", pc,
                request_id=request_id, classification=answered)
        run("post", "/police-liaisons/{liaison_id}/information-shared", pc)
        self.take_alert()
        run("post", "/received-alerts/{alert_id}/link", do, "R", crisis_id=self.crisis)
        run("post", "/received-alerts/{alert_id}/unlink", do, "R")
        run("post", "/received-alerts/{alert_id}/link", do, "R", crisis_id=self.crisis)
        if self.world == "P":  # a public warning only for a PUBLIC crisis (NOT_PUBLIC): written, approved by another
            self.warnings(run, do, pm)
        for step in ("contain", "reopen", "contain", "resolve", "close"):
            run("post", f"/crises/{{crisis_id}}/{step}", do)
        review = "/crises/{crisis_id}/after-action-review"
        run("post", f"{review}/draft", pm)
        run("post", f"{review}/comments", do)
        run("post", f"{review}/revisions", pm)
        for item_id in ("I-1", "I-2", "I-3"):
            run("post", f"{review}/items", pm, item_id=item_id, unit=self.unit, due_at=later(days=30),
                evidence=[{"kind": "LOG_ENTRY", "ref": "1"}, {"kind": "DECISION", "ref": "D-1"}])
        run("post", f"{review}/final", pm)
        run("post", f"{review}/items/{{item_id}}/done", pm, item_id="I-1")
        run("post", f"{review}/items/{{item_id}}/drop", pm, item_id="I-2")
        run("post", f"{review}/items/{{item_id}}/plan-review", pm, item_id="I-3", plan_id=self.plan,
            next_review_due=later(days=90))
        crisis, self.crisis = self.crisis, self.reviewed
        run("post", "/crises", do, crisis_id=self.crisis)
        for step in ("contain", "resolve", "close"):
            run("post", f"/crises/{{crisis_id}}/{step}", do)
        run("post", "/crises/{crisis_id}/after-action-review", pm)
        # a handover brief is built as an uncleared reader sees the picture: one per world, each for a post of its own
        position_id, holder = {"P": ("DUTY_OFFICER", do), "S": ("PREPAREDNESS_MANAGER", pm)}.get(
            self.world, ("POLICE_COORDINATOR", pc))
        brief = self.server.http.post(f"/positions/{position_id}/handover-briefs", headers=self.headers(holder))
        assert brief.status_code == 201, brief.text
        run("post", "/positions/{position_id}/handover-briefs/{number}/accept", holder, position_id=position_id,
            number=brief.json()["number"], digest=brief.json()["digest"])
        self.crisis = crisis

    def take_alert(self) -> None:
        """A CAP alert taken in as its document (no JSON body to generate), its texts RECEIVED markers; and the
        same refused, by a reader and as a document the schema refuses (a marker where a code belongs)."""
        self.commands.ran.add(("post", "/received-alerts"))
        self.commands._command = "POST /received-alerts"
        document = CAP_ALERT.replace(CAP_EXAMPLE.identifier.encode(), f"{CAP_EXAMPLE.identifier}.{self.world}".encode())
        for element, text in CAP_TEXTS:
            document = document.replace(element + text, element + self.commands.marker("R", "CAP text").encode())
        xml = {"Content-Type": "application/cap+xml"}
        answer = self.server.http.post("/received-alerts", content=document, headers={**self.headers("duty_officer"), **xml})
        assert answer.status_code == 201 and answer.json()["id"] == self.alert, answer.text
        self.position = max(self.position, int(answer.headers["Valmius-Position"]))
        before = set(self.commands.where)
        for role, status, sent in (
            ("leadership", 403, document.replace(b"wind.helsinki", b"wind.again")),
            ("duty_officer", 422, document.replace(b"<status>Actual", b"<status>" + self.commands.marker("R", "status").encode())),
        ):
            refused = self.server.http.post("/received-alerts", content=sent, headers={**self.headers(role), **xml})
            assert refused.status_code == status, refused.text
            self.refusal_answers.append(refused.text)
        self.commands.refused |= set(self.commands.where) - before

    def warnings(self, run: Any, do: str, pm: str) -> None:
        """A public warning issued, updated and its cancellation drafted, each text approved by another than
        its author (the duty officer writes, the preparedness manager approves)."""
        warning = {"warning_id": f"W-{self.world}"}
        run("post", "/crises/{crisis_id}/warnings", do, **warning, based_on=["D-2"])
        run("post", "/warnings/{warning_id}/revision", do, **warning, based_on=["D-2"])
        for draft in ("/warnings/{warning_id}/update", "/warnings/{warning_id}/cancellation"):
            read = self.server.http.get(f"/warnings/{warning['warning_id']}", headers=self.headers(pm))
            run("post", "/warnings/{warning_id}/approval", pm, **warning, digest=read.json()["messages"][-1]["digest"])
            run("post", "/warnings/{warning_id}/issue", do, **warning)
            run("post", draft, do, **warning, **({"based_on": ["D-2"]} if draft.endswith("update") else {}))

    def conflicts(self) -> None:
        """A command on each record with a stale If-Match: the 409 says what changed since version 1 (every
        event's summary), to a writer without clearance."""
        for path, role in (("/crises/{crisis_id}/log-entries", "duty_officer"),
                           ("/division-preparedness/{unit}/plans/{plan_id}/exercises", "preparedness_manager"),
                           ("/police-liaisons/{liaison_id}/information-shared", "police_coordinator")):
            concrete = path.format(crisis_id=self.crisis, unit=self.unit, plan_id=self.plan, liaison_id=self.liaison)
            self.refuse("post", path, concrete, self.world, {"classification": self.level}, role, 409,
                        **{"If-Match": '"1"'})


# --- the crawl ---------------------------------------------------------------------------------------------


def get_routes(openapi: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every GET route of the app's route table, with its operation in the OpenAPI document (its query
    parameters), if it is described there."""
    from interfaces.http.app import create_app

    def gets(routes: list[Any], prefix: str = "") -> Iterator[str]:
        for route in routes:
            if hasattr(route, "original_router"):  # an included router
                yield from gets(route.original_router.routes, prefix + route.include_context.prefix)
            elif "GET" in (getattr(route, "methods", None) or ()):
                yield prefix + route.path

    table = create_app(Settings(environment="test", database_url="memory://", _env_file=None)).routes
    return [(path, openapi["paths"].get(path, {}).get("get", {})) for path in gets(table)]


def crawl(server: LiveServer, openapi: dict[str, Any], worlds: list[World], headers: dict[str, str], *,
          params_for: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    """Every answer a reader gets from every GET route, by the request that got it; `params_for` adds query
    parameters to the reads of a route (by its path)."""
    seen: dict[str, str] = {}
    base = server.base_url
    position = max(w.position for w in worlds)
    reminder_ids = reminded(server)
    values = {
        "crisis_id": [crisis for w in worlds for crisis in (w.crisis, w.reviewed)],
        "unit": [w.unit for w in worlds],
        "liaison_id": [w.liaison for w in worlds],
        "alert_id": [w.alert for w in worlds],
        "warning_id": [f"W-{w.world}" for w in worlds],
        "position": ["1"],
        "position_id": ["DUTY_OFFICER", "PREPAREDNESS_MANAGER", "POLICE_COORDINATOR"],
        "number": ["1", "2"],  # situation reports: the plain one and the structured one; handover briefs
        "reminder_id": reminder_ids,
    }
    now = utc_now().isoformat()
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for path, operation in get_routes(openapi):
            names = re.findall(r"{(\w+)}", path)
            query = {q["name"] for q in operation.get("parameters", []) if q["in"] == "query"}
            for combination in itertools.product(*(values[n] for n in names)):
                url = path.format(**dict(zip(names, combination, strict=True)))
                if path.endswith("/stream"):
                    seen[url] = first_frame(client, url)
                    continue
                variants: list[dict[str, Any]] = [{}]
                if "min_position" in query:
                    variants = [{"min_position": position, "wait": 20}]
                if "as_of" in query:
                    variants = [{"as_of": now}] + ([{"as_of": now, "full_replay": "true"}] if "full_replay" in query
                                                   else [])
                if "limit" in query:
                    variants = [{**variant, "limit": 1000} for variant in variants]
                variants = [{**variant, **(params_for or {}).get(path, {})} for variant in variants]
                for params in variants:
                    answer = client.get(url, params=params)
                    key = f"{url}?{params}"
                    content = archive_text(answer.content) if url.endswith("/export") and answer.status_code == 200 \
                        else answer.text
                    seen[key] = f"{answer.headers}\n{content}"  # the headers too (freshness, ETag, …)
                    if answer.status_code == 200 and "version" in query:  # every version of the record
                        latest = answer.json().get("latest_version") or answer.json().get("version") or 0
                        for version in range(1, int(latest) + 1):
                            seen[f"{url}?version={version}"] = client.get(url, params={"version": version}).text
                    if answer.status_code == 200 and "after" in query and "next_after" in answer.json():  # every page
                        body, after = answer.json(), None
                        while body.get("next_after") not in (None, after) and not body.get("end_of_log", True):
                            after = body["next_after"]
                            page = client.get(url, params={**params, "after": after})
                            seen[f"{key}&after={after}"] = page.text
                            body = page.json()
    return seen


def reminded(server: LiveServer) -> list[str]:
    """A reminder of every action and decision review of the worlds (a notice before each, as `valmius remind`
    records it; their crises are closed by now, so the sender itself would pass them over), so that the crawl reads
    reminders of classified records too. Their ids."""
    services = server.services
    app = services.coordination
    if not services.projections.wait_for(app.recorder.max_notification_id(), timeout=30, name="deadlines"):
        return []  # the deadlines model is stopped by a failure put into it (the failure test): no reminders
    ladder, sender = Ladder(), Actor("valmius-remind", Role.DUTY_OFFICER)
    found = []
    for row in services.sql.query(  # never an exercise's, as the sender does (rm_deadline_crises.exercise)
        "SELECT d.* FROM rm_deadlines d JOIN rm_deadline_crises c ON c.crisis_id = d.crisis_id"
        " WHERE d.kind IN ('ACTION', 'DECISION_REVIEW') AND c.exercise = 0"
    ):
        due = datetime.fromisoformat(row["due_at"])
        deadline = Deadline(deadline_key(row["kind"], row["scope"], row["ref"], due), row["kind"], row["crisis_id"],
                            row["ref"], row["unit"], due)
        with contextlib.suppress(DomainError):  # recorded by an earlier crawl (NOTICE_RECORDED)
            app.record_reminder_notice(sender, deadline, ladder.step(1, due), [
                {"recipient": row["unit"] or "W-duty_officer", "as": "UNIT" if row["unit"] else "DUTY_OFFICER", "channels": []}])
        found.append(reminder_id(deadline.key))
    assert found, "the worlds have actions and decisions: their reminders are crawled"
    assert services.projections.wait_for(app.recorder.max_notification_id(), timeout=30, name="deadlines")
    return found


def first_frame(client: httpx.Client, url: str) -> str:
    with client.stream("GET", url, timeout=10) as stream:
        if stream.status_code != 200:
            return stream.read().decode()
        for line in stream.iter_lines():
            if line.startswith("data:"):
                return line
    return ""


def streamed(streams: dict[Any, Subscription], position: int) -> dict[Any, dict[str, str]]:
    """Every frame (its data) each open stream got, once it was sent a frame showing `position`; then closed."""
    frames: dict[Any, dict[str, str]] = {}
    for reader, stream in streams.items():
        deadline = time.monotonic() + 30
        while not any(int(frame_id.partition(".")[0]) >= position for _, frame_id, _ in list(stream.raw)):
            assert time.monotonic() < deadline, f"the stream of {reader} was sent no frame showing {position}"
            time.sleep(0.05)
        stream.close()
        frames[reader] = {f"stream frame {frame_id} ({event})": data for event, frame_id, data in stream.raw}
    return frames


def archive_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return "\n".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def markers_in(answers: dict[str, str]) -> dict[str, set[str]]:
    """Each marker found, with the requests whose answers carried it."""
    found: dict[str, set[str]] = {}
    for request, text in answers.items():
        for marker in MARKER.findall(text):
            found.setdefault(marker, set()).add(request)
    return found


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path) -> Iterator[LiveServer]:  # noqa: ANN001
    pg = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    settings = settings_for(request.param, tmp_path, pg, embedded_projections=True)
    with running_service(settings) as running:
        yield running


def test_no_classified_marker_reaches_an_uncleared_reader_on_any_path(server: LiveServer, caplog) -> None:  # noqa: ANN001
    caplog.set_level(logging.INFO)
    openapi = server.http.get("/openapi.json").json()
    commands = Commands(openapi)
    auth = {"Authorization": f"Bearer {server.token('U-EC', 'preparedness_manager')}"}
    ec = server.http.post("/emergency-conditions", headers=auth,
                          json=commands.body("post", "/emergency-conditions", "P", {"in_force": True}))
    assert ec.status_code < 300, ec.text

    # Given every reader streaming the live overview, cleared or not, while a world of records is built for each
    # classification, markers in every free-text field of every command
    streams = {
        (role, cleared): Subscription(server, server.token(f"S-{user}", role, unit, clearance=cleared))
        for user, role, unit in READERS.values() for cleared in (False, True)
    }
    worlds = [World(server, commands, world) for world in CLASSIFICATIONS]
    for world in worlds:
        world.build()
        world.conflicts()
    frames = streamed(streams, max(w.position for w in worlds))
    assert commands.ran == commands.routes() - NOT_RECORDS, "a command route the worlds do not run"
    secret = commands.planted["S"] | commands.planted["R"]
    public = commands.planted["P"]
    assert len(secret) > 80 and public

    # When every GET route is read by each role without clearance, and by cleared readers
    uncleared: dict[str, str] = {}
    for user, role, unit in READERS.values():
        token = server.token(user, role, unit)
        answers = crawl(server, openapi, worlds, {"Authorization": f"Bearer {token}"})
        uncleared.update({f"{role} {request}": text for request, text in answers.items()})
    cleared: dict[str, str] = {}
    for user, role in (("C-AUD", "auditor"), ("C-LR", "leadership")):
        token = server.token(user, role, None, clearance=True)
        answers = crawl(server, openapi, worlds, {"Authorization": f"Bearer {token}"})
        cleared.update({f"{role} {request}": text for request, text in answers.items()})
    # and the frames every reader streamed: the whole picture first, then a change frame per change
    for (role, is_cleared), got in frames.items():
        (cleared if is_cleared else uncleared).update({f"{role} {name}": data for name, data in got.items()})
    changes = {reader: [d for name, d in got.items() if "(patch)" in name] for reader, got in frames.items()}
    assert min(map(len, changes.values())) >= 20, "each stream was sent change frames while the worlds were built"
    cleared_changes = {f"{i}": d for (_, is_cleared), ds in changes.items() if is_cleared for i, d in enumerate(ds)}
    assert set(markers_in(cleared_changes)) & secret, "the cleared readers' change frames show classified content"

    # Then no classified marker reaches an uncleared reader, in answers, stream frames, conflicts or logs
    leaks = {m: sorted(where)[:3] for m, where in markers_in(uncleared).items() if m in secret}
    assert not leaks, (
        f"{len(leaks)} of {len(secret)} classified markers reached uncleared readers: "
        f"{[(commands.where[m], where) for m, where in leaks.items()]}"
    )
    conflicts = [m for w in worlds for text in w.refusal_answers for m in MARKER.findall(text) if m in secret]
    assert not conflicts, conflicts
    logged = {m for m in MARKER.findall(caplog.text) if m in secret}
    assert not logged, logged
    assert commands.refused & set(markers_in(cleared)), "the refused attempts' arguments kept for cleared auditors"
    # while the cleared readers see every marker, and the uncleared ones every PUBLIC one: the crawl reaches them
    assert secret - commands.refused <= set(markers_in(cleared)), commands.named(
        secret - commands.refused - set(markers_in(cleared))
    )
    assert public - commands.refused <= set(markers_in(uncleared)), commands.named(
        public - commands.refused - set(markers_in(uncleared))
    )


FAILURE_MARKER = "MRKFAIL7Q"  # in the message of a read model's failure: for the server's log only


def test_a_read_model_failure_shows_its_structure_never_its_message(server: LiveServer, caplog) -> None:  # noqa: ANN001
    """Given every read model that follows declarations failing on one (its handler raises an error whose message
    quotes a marker, as one quoting an event's value would), when every GET route, the stream and the dashboard
    are read by every role, cleared or not, and anonymously, then the failure is shown by its structure (model,
    position, the error's kind) and its message by no answer: it is in the server's log only."""
    caplog.set_level(logging.INFO)
    openapi = server.http.get("/openapi.json").json()
    for model in server.services.projections.models.values():
        handler = model.handlers.get(Crisis.Declared)
        if handler is None:
            continue

        def failing(tx, event, position, handler=handler):  # noqa: ANN001, ANN202
            if event.crisis_id == "C-P":
                raise ValueError(f"no room for {event.crisis_id}: {FAILURE_MARKER}")
            handler(tx, event, position)

        model.handlers[Crisis.Declared] = failing
    world = World(server, Commands(openapi), "P")
    declared = server.http.post("/crises", headers=world.headers("duty_officer"), json={
        "crisis_id": world.crisis, "title": "Water main burst in Kallio", "category": "SEVERE_WEATHER", "severity": 2,
    })
    assert declared.status_code < 300, declared.text
    reader = {"Authorization": f"Bearer {server.token('U-LR', 'leadership')}"}
    deadline = time.monotonic() + 30
    while (ready := server.http.get("/health/ready", headers=reader)).status_code != 503:
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.2)
    assert "situation_overview" in ready.text and "ValueError" in ready.text, ready.text

    answers = crawl(server, openapi, [world], {})  # anonymous
    readers = [(user, role, unit, False) for user, role, unit in READERS.values()]
    for user, role, unit, cleared in [*readers, ("C-AUD", "auditor", None, True), ("C-LR", "leadership", None, True)]:
        token = server.token(user, role, unit, clearance=cleared)
        crawled = crawl(server, openapi, [world], {"Authorization": f"Bearer {token}"})
        answers |= {f"{user} {request}": text for request, text in crawled.items()}

    assert FAILURE_MARKER in caplog.text, "the failure's message is logged"
    shown = sorted(request for request, text in answers.items() if FAILURE_MARKER in text)
    assert not shown, shown
    assert any('"failed":{"model"' in text.replace(" ", "") for text in answers.values()), "the failure is shown"
