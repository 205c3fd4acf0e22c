"""Replay a scenario script (tests/acceptance/scenarios/*.json) through the HTTP API, step by step.

The scripts are the acceptance cases of /work/shared/scenarios (copied here: nothing outside the project is
read at run time). For every step the replayer

- sets the injected server clock to the step's `now`,
- acts as the step's actor (DO-n duty officer, PM preparedness manager, PC police coordinator, DIV:<UNIT>
  that unit's division contact, LR-n leadership, AUD auditor; every token has clearance unless a checkpoint
  asks for an uncleared reader),
- sends the command to the route the API's OpenAPI document gives it (`command_routes`: a POST named by its
  operation, RecordLogEntry -> record_log_entry; Edit/Replace/Delete<Record> -> PATCH/PUT/DELETE on that
  record), each argument in its path parameter or body field (`place`), `occurred_at` exactly as the script
  gives it (an offset-less local time included) and `If-Match` with the version read just before the step
  the script names; a command or an argument with no place in the API stops the run (`UnmappedCommand`),
- and checks the outcome: OK is a 2xx that appended events and kept no refused attempt; REJECT(CODE) is a
  problem detail with that `code`, a `detail` carrying every significant word and number of the script's
  `message_gist` (`missing_from`), no event appended, and exactly one refused attempt kept with that rule
  and that user.

Before the first step the script's seed plans are drafted and approved by the preparedness manager, and
before the first police request of a crisis the police coordinator opens its liaison matter "PL-<crisis>"
(unless the script opens one itself).

After the last command of a checkpoint's `after_step` the clock is set to the checkpoint's time and every
checkpoint hook is called with the checkpoint dict. `check_current_endpoints` (on by default) checks what
the current GET endpoints already show; `tests.acceptance.checkpoints.check_read_models` checks the read
models (`Replayer(..., checkpoint_hooks=[check_current_endpoints, check_read_models])`). Each hook names
the facts it checked (`CheckpointRecord.checked`); a fact of the checkpoint that no hook checked is a
failure of the replay: every key of `expect`, each key of its `history` and `audit`, and each clause of its
`unmapped` notes (the figures the structured form could not hold, split at ";").

Checks never stop the replay: every disagreement goes to `Replay.failures`, so one run names all of them.
"""

from __future__ import annotations

import json
import re
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from domain.shared import DEFAULT_UNITS

SCENARIO_DIR = Path(__file__).parent / "scenarios"

ACTIVE_STATUSES = ("ACTIVE", "CONTAINED")


def scenario_ids() -> list[str]:
    """Every script in the scenarios folder, by its id: ["S1", "S3", …]."""
    return sorted(json.loads(path.read_text(encoding="utf-8"))["id"] for path in SCENARIO_DIR.glob("*.json"))


def load_scenario(scenario_id: str) -> dict[str, Any]:
    """The script whose file is named by its id: "S1" is s1-autumn-storm.json."""
    (path,) = SCENARIO_DIR.glob(f"{scenario_id.lower()}-*.json")
    return json.loads(path.read_text(encoding="utf-8"))


# --- actors -----------------------------------------------------------------------------------------


def identity(actor: str) -> tuple[str, str, str | None]:
    """The user name, role and unit a script actor acts as."""
    if re.fullmatch(r"DO-\d+", actor):
        return actor, "duty_officer", None
    if actor == "PM":
        return actor, "preparedness_manager", None
    if actor == "PC":
        return actor, "police_coordinator", None
    if actor.startswith("DIV:"):
        return actor, "division_contact", actor.removeprefix("DIV:")
    if re.fullmatch(r"LR-\d+", actor):
        return actor, "leadership", None
    if actor == "AUD":
        return actor, "auditor", None
    raise ValueError(f"no role for script actor {actor!r}")


# --- commands -> HTTP: the API's own route table --------------------------------------------------------

# The few words of the scripts that are not the API's: a superseding decision is recorded with `supersedes`;
# the answer to a police request is its `response`; the information a decision draws on is its `references`.
COMMAND_ALIASES = {"SupersedeDecision": "RecordDecision"}
ARG_ALIASES = {"answer": "response", "information_refs": "references"}
# An attempt to change a recorded entry: Edit<Record>, Replace<Record>, Delete<Record> (EditDecision,
# DeleteLogEntry, …), sent as PATCH, PUT or DELETE on it, which the API refuses (IMMUTABLE_RECORD).
CHANGE_VERBS = {"patch": "Edit", "put": "Replace", "delete": "Delete"}


class UnmappedCommand(AssertionError):
    """A step the replayer cannot send: a command no route takes, or arguments its route has no place for."""


@dataclass(frozen=True)
class Route:
    """How one command is sent: `path` with its parameters ("/crises/{crisis_id}/actions/{action_id}/complete"),
    and the fields of its request body, both as the OpenAPI document gives them."""

    method: str
    path: str
    fields: frozenset[str]

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def target(self, values: dict[str, str]) -> str:
        """The record whose version `If-Match` carries: the path up to its first parameter."""
        head = re.match(r"/[^/]+(?:/{\w+})?", self.path)[0]
        return head.format(**values)


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def singular(collection: str) -> str:
    """"log-entries" -> "log_entry", "decisions" -> "decision"."""
    name = collection.replace("-", "_")
    return name[:-3] + "y" if name.endswith("ies") else name.removesuffix("s")


def command_routes(document: dict[str, Any]) -> dict[str, Route]:
    """Every command the API takes, by its name in the scripts, from its OpenAPI document.

    A POST is named by its operation (`record_log_entry` -> RecordLogEntry); a PUT, PATCH or DELETE on a
    record by the change verb and the record (PATCH /crises/{crisis_id}/decisions/{decision_id} -> EditDecision).
    """
    schemas = document["components"]["schemas"]
    routes: dict[str, Route] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "post":
                # FastAPI's operation id is the route's name, its path and its method.
                name = camel(operation["operationId"].removesuffix(f"_{method}").removesuffix(re.sub(r"\W", "_", path)))
            elif method in CHANGE_VERBS:
                name = CHANGE_VERBS[method] + camel(singular(path.split("/")[-2]))
            else:
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            fields = schemas[body["$ref"].rsplit("/", 1)[1]]["properties"] if "$ref" in body else {}
            routes[name] = Route(method.upper(), path, frozenset(fields))
    return routes


def place(arg: str, names: Iterable[str]) -> str | None:
    """Where a script argument goes among a route's parameters or fields: its own name, with `_id`, its alias, or
    the one name it starts or ends ("to" -> "to_severity", "type" -> "request_type")."""
    names = set(names)
    for name in (arg, f"{arg}_id", ARG_ALIASES.get(arg)):
        if name in names:
            return name
    around = [name for name in names if name.startswith(f"{arg}_") or name.endswith(f"_{arg}")]
    return around[0] if len(around) == 1 else None


def liaison_id_for(crisis_id: str) -> str:
    return f"PL-{crisis_id}"


# --- refusals: the answer's words against the script's gist ---------------------------------------------

GIST_STOPWORDS = frozenset("a an and as at be by for from in is it of on or the to was with".split())
TOKEN = re.compile(r"[\w§#]+(?:[-.:+/][\w§#]+)*")


def gist_words(text: str) -> set[str]:
    """The significant words and numbers of a text, lower case, a plural's "s" dropped: identifiers
    ("pr-s1-01"), times ("23:20", seconds ":00" dropped), dates, numbers, words. A timestamp also gives its
    clock time ("...T09:35+02:00" gives "09:35")."""
    text = re.sub(r"\b(\d\d:\d\d):00\b", r"\1", text.lower())
    words = set()
    for token in TOKEN.findall(text):
        words.add(re.sub(r"(?<=[a-z]{3})s$", "", token))
        words.update(re.findall(r"t(\d\d:\d\d)", token))
    return words - GIST_STOPWORDS


def missing_from(detail: str, gist: str) -> list[str]:
    """The words of the gist the detail does not carry: a refusal's message has the gist's meaning when it
    carries every significant word and number of it (the connecting words may differ)."""
    shown = gist_words(detail)
    return sorted(word for word in gist_words(gist) if word not in shown)


# --- what a replay records ---------------------------------------------------------------------------


@dataclass
class Exchange:
    """One HTTP request of the replay and its answer."""

    method: str
    path: str
    actor: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    status: int
    response: Any
    etag: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class StepRecord:
    """A script step as replayed: the request, the answer, and what it did to the stores."""

    step: dict[str, Any]
    exchange: Exchange
    events_before: int
    events_after: int
    refusals_before: int
    refusals_after: int
    refusal: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, int]:
        return self.step["step"], self.step.get("sub", 0)

    @property
    def label(self) -> str:
        step, sub = self.key
        return f"step {step}" + (f".{sub}" if sub else "") + f" {self.step['command']} by {self.step['actor']}"

    @property
    def expected(self) -> str:
        return self.step["expect"]["outcome"]

    @property
    def appended_events(self) -> int:
        return self.events_after - self.events_before


@dataclass
class CheckpointRecord:
    """What the hooks saw at a checkpoint, the facts they checked, and the facts none of them checked."""

    checkpoint: dict[str, Any]
    observed: dict[str, Any] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)
    unchecked: list[str] = field(default_factory=list)


def checkpoint_facts(expect: dict[str, Any]) -> list[str]:
    """The facts of a checkpoint, as hooks name them when they check one: "active_crises", "history.severity",
    "audit.rejected_attempts", "unmapped: PR-S1-02 age 70 min"."""
    facts = []
    for key, value in expect.items():
        if key == "unmapped":
            facts += [f"unmapped: {clause}" for clause in note_clauses(value)]
        elif key in ("history", "audit"):
            facts += [f"{key}.{part}" for part in value]
        else:
            facts.append(key)
    return facts


def note_clauses(notes: list[str]) -> list[str]:
    return [clause.strip() for note in notes for clause in note.split(";") if clause.strip()]


@dataclass
class Replay:
    scenario: dict[str, Any]
    setup: list[Exchange] = field(default_factory=list)
    steps: list[StepRecord] = field(default_factory=list)
    checkpoints: dict[str, CheckpointRecord] = field(default_factory=dict)
    read_versions: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def step(self, step: str, sub: int = 0) -> StepRecord:
        for record in self.steps:
            if record.key == (step, sub):
                return record
        raise KeyError(f"{self.scenario['id']} has no replayed step {step}.{sub}")

    @property
    def rejects(self) -> list[StepRecord]:
        return [r for r in self.steps if r.expected == "REJECT"]

    def report(self) -> str:
        return f"{self.scenario['id']}: {len(self.failures)} disagreement(s)\n  - " + "\n  - ".join(self.failures)


CheckpointHook = Callable[["Replayer", dict[str, Any]], None]


# --- the replayer ------------------------------------------------------------------------------------


class Replayer:
    def __init__(
        self,
        api: Any,
        scenario: dict[str, Any] | str,
        *,
        checkpoint_hooks: Sequence[CheckpointHook] | None = None,
    ) -> None:
        self.api = api
        self.clock = api.clock
        self.scenario = load_scenario(scenario) if isinstance(scenario, str) else scenario
        self.hooks = list(checkpoint_hooks) if checkpoint_hooks is not None else [check_current_endpoints]
        self.routes = command_routes(api.client.app.openapi())
        self.replay = Replay(self.scenario)
        self.plan_units = {p["plan"]: p["unit"] for p in self.scenario.get("seed", {}).get("plans", [])}
        self.crises: list[str] = []
        self.liaisons: dict[str, str] = {}  # crisis -> liaison id
        self.reads_before = {
            s["args"]["expected_version"]["read_before_step"]
            for s in self.scenario["steps"]
            if isinstance(s["args"].get("expected_version"), dict)
        }

    # -- soft checks ------------------------------------------------------------------------------

    def expect(self, condition: bool, message: str) -> bool:
        if not condition:
            self.replay.failures.append(message)
        return condition

    # -- HTTP -------------------------------------------------------------------------------------

    def headers(self, actor: str, clearance: bool = True, **extra: str) -> dict[str, str]:
        user, role, unit = identity(actor)
        return self.api.headers(user, role, unit=unit, clearance=clearance, **extra)

    def send(
        self, method: str, path: str, actor: str, body: dict[str, Any] | None = None, *, clearance: bool = True,
        **extra_headers: str,
    ) -> Exchange:
        headers = self.headers(actor, clearance, **extra_headers)
        try:
            response = self.api.request(method, path, json=body, headers=headers)
        except Exception as error:  # noqa: BLE001 - a server crash is a finding, not the end of the replay
            detail = "".join(traceback.format_exception_only(error)).strip()
            return Exchange(method, path, actor, body, headers, 500, {"code": "SERVER_ERROR", "detail": detail}, None)
        try:
            content = response.json()
        except ValueError:
            content = response.text
        return Exchange(method, path, actor, body, headers, response.status_code, content, response.headers.get("etag"))

    def get(self, path: str, actor: str = "AUD", *, clearance: bool = True) -> Any:
        """A read for checks; a failed read is a failure and answers None."""
        exchange = self.send("GET", path, actor, clearance=clearance)
        self.expect(exchange.ok, f"GET {path} as {actor}: {exchange.status} {exchange.response}")
        return exchange.response if exchange.ok else None

    def _setup(self, method: str, path: str, actor: str, body: dict[str, Any]) -> Exchange:
        exchange = self.send(method, path, actor, body, **{"Idempotency-Key": str(uuid.uuid4())})
        self.replay.setup.append(exchange)
        self.expect(exchange.ok, f"setup {method} {path} as {actor}: {exchange.status} {exchange.response}")
        return exchange

    # -- store positions --------------------------------------------------------------------------

    def event_position(self) -> int:
        return self.api.services.coordination.recorder.max_notification_id() or 0

    def refusals(self) -> list[dict[str, Any]]:
        return self.api.services.refusals.list(limit=100_000)

    # -- the replay -------------------------------------------------------------------------------

    def run(self) -> Replay:
        steps = self.scenario["steps"]
        self.seed(steps[0]["now"])
        last_index = {s["step"]: i for i, s in enumerate(steps)}
        checkpoints_after: dict[int, list[dict[str, Any]]] = {}
        for checkpoint in self.scenario.get("checkpoints", []):
            checkpoints_after.setdefault(last_index[checkpoint["after_step"]], []).append(checkpoint)
        for index, step in enumerate(steps):
            self.run_step(step)
            for checkpoint in checkpoints_after.get(index, []):
                self.run_checkpoint(checkpoint)
        self.check_refusals_kept()
        return self.replay

    def seed(self, first_now: str) -> None:
        """The seed plans, drafted and approved by the preparedness manager the day before the scenario."""
        plans = self.scenario.get("seed", {}).get("plans", [])
        if not plans:
            return
        self.clock.set(datetime.fromisoformat(first_now) - timedelta(days=1))
        for plan in plans:
            unit = plan["unit"]
            self._setup(
                "POST",
                f"/division-preparedness/{unit}/plans",
                "PM",
                {"plan_id": plan["plan"], "title": plan["title"], "critical_functions": plan["critical_functions"]},
            )
            if plan.get("status", "APPROVED") == "APPROVED":
                self._setup(
                    "POST",
                    f"/division-preparedness/{unit}/plans/{plan['plan']}/approve",
                    "PM",
                    {"approved_by": f"Executive Director, {unit}"},
                )
        for plan in plans:
            prep = self.get(f"/division-preparedness/{plan['unit']}", "PM") or {"plans": []}
            seeded = {p["plan_id"]: p for p in prep["plans"]}.get(plan["plan"])
            mtpd = min(f["mtpd_minutes"] for f in plan["critical_functions"])
            self.expect(
                seeded is not None and seeded["status"] == plan.get("status", "APPROVED")
                and seeded["mtpd_minutes"] == mtpd,
                f"seed plan {plan['plan']} reads back as {seeded}",
            )

    def route(self, step: dict[str, Any]) -> Route:
        command = step["command"]
        route = self.routes.get(COMMAND_ALIASES.get(command, command))
        if route is None:
            raise UnmappedCommand(
                f"{self.scenario['id']} step {step['step']}: no route of the API takes the command {command!r}"
            )
        return route

    def resolve(self, step: dict[str, Any]) -> tuple[Route, dict[str, str], dict[str, Any] | None]:
        """The route of a step, the values of its path parameters, and its body.

        Every argument goes to a path parameter or a body field (`place`); `crisis` may also just name the
        crisis the step belongs to, and `expected_version` goes to `If-Match`. A police liaison is the
        crisis's ("PL-<crisis>"), a plan's unit the seed's or the acting division contact's.
        """
        route = self.route(step)
        args = {k: v for k, v in step["args"].items() if k != "expected_version"}
        values = {
            param: str(args.pop(arg))
            for param in route.params
            if (arg := next((a for a in args if place(a, [param]) == param), None)) is not None
        }
        if "liaison_id" in route.params and "liaison_id" not in values and "crisis" in args:
            values["liaison_id"] = self.liaisons.get(args["crisis"]) or liaison_id_for(args["crisis"])
        if "unit" in route.params and "unit" not in values and "plan_id" in values:
            values["unit"] = self.plan_units.get(values["plan_id"]) or identity(step["actor"])[2] or ""
        body: dict[str, Any] = {}
        for arg in list(args):
            if field_name := place(arg, route.fields):
                body[field_name] = args.pop(arg)
        args.pop("crisis", None)
        missing = [p for p in route.params if not values.get(p)]
        if args and route.method in ("PATCH", "PUT"):  # the change attempted on the record
            body, args = {**body, **args}, {}
        if missing or args:
            raise UnmappedCommand(
                f"{self.scenario['id']} step {step['step']} {step['command']}: "
                + (f"no value for {missing} " if missing else "")
                + (f"arguments {sorted(args)} have no place " if args else "")
                + f"in {route.method} {route.path}"
            )
        if "occurred_at" in route.fields:
            body["occurred_at"] = step["occurred_at"]
        return route, values, body if route.method != "DELETE" else None

    def run_step(self, step: dict[str, Any]) -> StepRecord:
        self.clock.set(step["now"])
        route, values, body = self.resolve(step)
        if step["step"] in self.reads_before:
            read = self.send("GET", route.target(values), step["actor"])
            self.expect(read.ok and read.etag, f"read before step {step['step']}: {read.status} {read.response}")
            if read.etag:
                self.replay.read_versions[step["step"]] = int(read.etag.strip('W/"'))
        if "liaison_id" in values and "crisis" in step["args"]:
            self.ensure_liaison(step["args"]["crisis"], values["liaison_id"])
        extra = {"Idempotency-Key": str(uuid.uuid4())}
        version = step["args"].get("expected_version")
        if isinstance(version, dict):
            extra["If-Match"] = f'"{self.replay.read_versions.get(version["read_before_step"])}"'
        elif version is not None:
            extra["If-Match"] = f'"{version}"'
        events_before, refusals_before = self.event_position(), len(self.refusals())
        exchange = self.send(route.method, route.path.format(**values), step["actor"], body, **extra)
        refusals = self.refusals()
        record = StepRecord(
            step, exchange, events_before, self.event_position(), refusals_before, len(refusals),
            refusals[-1] if len(refusals) > refusals_before else None,
        )
        self.replay.steps.append(record)
        if exchange.ok:
            self.remember(route, values, body or {})
        self.check_outcome(record)
        return record

    def remember(self, route: Route, values: dict[str, str], body: dict[str, Any]) -> None:
        """The crises, liaisons and plans a step made, for the steps and checkpoints after it."""
        if route.path == "/crises":
            self.crises.append(body["crisis_id"])
        elif route.path == "/police-liaisons" and body.get("crisis_id"):
            self.liaisons[body["crisis_id"]] = body["liaison_id"]
        elif "plan_id" in body and "unit" in values:
            self.plan_units[body["plan_id"]] = values["unit"]

    def ensure_liaison(self, crisis_id: str, liaison_id: str) -> None:
        """The police coordinator opens the crisis's liaison matter before its first request."""
        if crisis_id in self.liaisons:
            return
        self._setup("POST", "/police-liaisons", "PC", {"liaison_id": liaison_id, "crisis_id": crisis_id})
        self.liaisons[crisis_id] = liaison_id

    def check_outcome(self, record: StepRecord) -> None:
        exchange, expect = record.exchange, record.step["expect"]
        got = exchange.response if isinstance(exchange.response, dict) else {"detail": exchange.response}
        answer = f"{exchange.status} {got.get('code', '')} {got.get('detail', got)!s}"
        if expect["outcome"] == "OK":
            if not self.expect(exchange.ok, f"{record.label}: expected OK, got {answer}"):
                return
            self.expect(record.appended_events > 0, f"{record.label}: OK but no domain event appended")
            self.expect(
                record.refusals_after == record.refusals_before,
                f"{record.label}: OK but a refused attempt was kept: {record.refusal}",
            )
            return
        code = expect["code"]
        label = f"{record.label}: expected REJECT({code}) \"{expect.get('message_gist', '')}\""
        if not self.expect(not exchange.ok and got.get("code") == code, f"{label}, got {answer}"):
            return
        detail = str(got.get("detail", ""))
        if self.expect(bool(expect.get("message_gist")), f"{label}: the script gives no message_gist"):
            missing = missing_from(detail, self.gist(record.step))
            self.expect(not missing, f"{label}: detail {detail!r} does not carry {missing} of the gist")
        self.expect(
            record.appended_events == 0, f"{label}: the refusal appended {record.appended_events} domain event(s)"
        )
        kept = record.refusals_after - record.refusals_before
        if self.expect(kept == 1, f"{label}: {kept} refused attempts kept (one expected)"):
            user = identity(record.step["actor"])[0]
            self.expect(
                record.refusal["rule"] == code and record.refusal["user_name"] == user,
                f"{label}: kept attempt is {record.refusal['rule']} by {record.refusal['user_name']}",
            )

    def gist(self, step: dict[str, Any]) -> str:
        """The step's message gist, with the script's N (the version read before the step, or given) as a number:
        "C-S1 is at N+1" for a read of version 9 is "C-S1 is at 10"."""
        version = step["args"].get("expected_version")
        read = self.replay.read_versions.get(version["read_before_step"]) if isinstance(version, dict) else version
        gist = step["expect"]["message_gist"]
        if read is None:
            return gist
        return re.sub(r"\bN(?:([+-])(\d+))?\b", lambda m: str(read + int(m[1] + m[2]) if m[1] else read), gist)

    def check_refusals_kept(self) -> None:
        """Every REJECT step, and nothing else, is kept as a refused attempt, in order; none appended events."""
        rejects = self.replay.rejects
        refusals = self.refusals()
        self.expect(
            [r["rule"] for r in refusals] == [r.step["expect"]["code"] for r in rejects],
            f"refused attempts kept {[(r['user_name'], r['rule']) for r in refusals]} "
            f"for REJECT steps {[(r.label, r.step['expect']['code']) for r in rejects]}",
        )
        for record in rejects:
            self.expect(record.appended_events == 0, f"{record.label}: REJECT appended {record.appended_events} events")

    def run_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.clock.set(checkpoint["at"])
        record = self.replay.checkpoints[checkpoint["id"]] = CheckpointRecord(checkpoint)
        for hook in self.hooks:
            hook(self, checkpoint)
        record.unchecked = [fact for fact in checkpoint_facts(checkpoint["expect"]) if fact not in record.checked]
        self.expect(not record.unchecked, f"{checkpoint['id']}: facts no checkpoint hook checked: {record.unchecked}")


# --- checkpoint checks on the current GET endpoints ---------------------------------------------------


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _minutes(start: str, end: str) -> int:
    return int((_instant(end) - _instant(start)) / timedelta(minutes=1))


def check_current_endpoints(replayer: Replayer, checkpoint: dict[str, Any]) -> None:
    """What GET /crises/{id}, /division-preparedness and /police-liaisons/{id} already show at a checkpoint.

    Figures that need the read models (the severity history, when a crisis was closed, the offsets of the
    timeline's rows) are left to `check_read_models`; the facts this hook checked are named in
    `CheckpointRecord.checked`.
    """
    record = replayer.replay.checkpoints[checkpoint["id"]]
    cid = checkpoint["id"]
    reader, clearance = checkpoint.get("reader", "LR-1"), checkpoint.get("clearance", True)
    expect = checkpoint["expect"]
    check = replayer.expect

    crises = {c: replayer.get(f"/crises/{c}", reader, clearance=clearance) for c in replayer.crises}
    crises = {c: body for c, body in crises.items() if body}
    units = {p["unit"]: p for p in replayer.get("/division-preparedness", reader, clearance=clearance) or []}
    liaisons = {
        c: replayer.get(f"/police-liaisons/{lid}", reader, clearance=clearance) for c, lid in replayer.liaisons.items()
    }
    requests = {r["request_id"]: r for body in liaisons.values() if body for r in body["requests"]}
    actions = {a["action_id"]: a for body in crises.values() for a in body["actions"]}
    record.observed.update(crises=crises, units=units, liaisons=liaisons)

    def checked(key: str) -> Any:
        record.checked.add(key)
        return expect[key]

    if "active_crises" in expect:
        wanted = {c["crisis"]: c for c in checked("active_crises")}
        active = {c: body for c, body in crises.items() if body["status"] in ACTIVE_STATUSES}
        check(set(active) == set(wanted), f"{cid}: active crises {sorted(active)}, expected {sorted(wanted)}")
        for crisis_id, want in wanted.items():
            body = crises.get(crisis_id) or {}
            for key, field_name in (("severity", "severity"), ("status", "status")):
                check(
                    body.get(field_name) == want[key],
                    f"{cid}: {crisis_id} {key} is {body.get(field_name)}, expected {want[key]}",
                )
            if "lead" in want:
                lead = body.get("lead_authority") or body.get("external_lead")
                check(lead == want["lead"], f"{cid}: {crisis_id} lead is {lead}, expected {want['lead']}")

    if "overdue_actions" in expect:
        overdue = sorted(a for a, body in actions.items() if body["overdue"])
        check(overdue == sorted(checked("overdue_actions")), f"{cid}: overdue actions {overdue}")

    if "open_actions" in expect:
        wanted = checked("open_actions")
        open_ids = sorted(a for a, body in actions.items() if body["status"] == "OPEN")
        if isinstance(wanted, int):
            check(len(open_ids) == wanted, f"{cid}: {len(open_ids)} open actions {open_ids}, expected {wanted}")
        else:
            check(open_ids == sorted(wanted), f"{cid}: open actions {open_ids}, expected {sorted(wanted)}")

    if "readiness" in expect:
        wanted = dict(checked("readiness"))
        others = wanted.pop("others", None)
        levels = {unit: body["readiness"] for unit, body in units.items()}
        for unit, level in wanted.items():
            check(levels.get(unit) == level, f"{cid}: {unit} readiness is {levels.get(unit)}, expected {level}")
        if others is not None:
            wrong = {u: lvl for u, lvl in levels.items() if u not in wanted and lvl != others}
            check(not wrong, f"{cid}: readiness of other units should be {others}: {wrong}")

    if "police_requests_open" in expect:
        wanted = checked("police_requests_open")
        open_ids = sorted(r for r, body in requests.items() if body["status"] == "OPEN")
        check(len(open_ids) == wanted, f"{cid}: open police requests {open_ids}, expected {wanted}")
        on_crises = sorted(r for body in crises.values() for r in body["open_police_requests"])
        check(on_crises == open_ids, f"{cid}: crises list open police requests {on_crises}, liaisons {open_ids}")

    if "unanswered_over_30min" in expect:
        late = sorted(r for r, body in requests.items() if body["unanswered_beyond_threshold"])
        check(late == sorted(checked("unanswered_over_30min")), f"{cid}: unanswered beyond threshold {late}")

    if "active_plans" in expect:
        wanted = {p["plan"]: p for p in checked("active_plans")}
        active = sorted(p for body in crises.values() for p in body["active_plans"])
        check(active == sorted(wanted), f"{cid}: active plans {active}, expected {sorted(wanted)}")
        plans = {p["plan_id"]: p for body in units.values() for p in body["plans"]}
        for plan_id, want in wanted.items():
            plan = plans.get(plan_id) or {}
            for key in ("active_minutes", "mtpd_minutes"):
                if key in want:
                    check(
                        plan.get(key) == want[key], f"{cid}: {plan_id} {key} is {plan.get(key)}, expected {want[key]}"
                    )

    if "latest_sitrep" in expect:
        want = checked("latest_sitrep")
        body = crises.get(want["crisis"]) or {"situation_reports": [], "next_situation_report_due": None}
        latest = body["situation_reports"][-1] if body["situation_reports"] else {}
        check(latest.get("number") == want["number"], f"{cid}: latest sitrep is #{latest.get('number')}")
        if "issued_at" in want:
            check(
                _instant(latest.get("occurred_at")) == _instant(want["issued_at"]),
                f"{cid}: latest sitrep issued at {latest.get('occurred_at')}, expected {want['issued_at']}",
            )
        if "next_due" in want:
            check(
                _instant(body["next_situation_report_due"]) == _instant(want["next_due"]),
                f"{cid}: next sitrep due {body['next_situation_report_due']}, expected {want['next_due']}",
            )

    if "sitrep_overdue" in expect:
        wanted = checked("sitrep_overdue")
        flags = {c: body["next_situation_report_overdue"] for c, body in crises.items()}
        check(all(flag == wanted for flag in flags.values()), f"{cid}: sitrep overdue flags {flags}")

    if "decisions" in expect:
        count = sum(len(body["decisions"]) for body in crises.values())
        check(count == checked("decisions"), f"{cid}: {count} decisions, expected {expect['decisions']}")

    if "superseded" in expect:
        decisions = {d["decision_id"]: d for body in crises.values() for d in body["decisions"]}
        for old, new in checked("superseded"):
            check(
                decisions.get(old, {}).get("superseded_by") == new and decisions.get(new, {}).get("supersedes") == old,
                f"{cid}: {old} should be superseded by {new}",
            )

    if "timeline_order" in expect:
        rows = []
        for item in checked("timeline_order"):
            entry, at = item["entry"], item["at"]
            found = None
            for body in crises.values():
                if entry.startswith("sitrep #"):
                    number = int(entry.removeprefix("sitrep #"))
                    found = next((r for r in body["situation_reports"] if r["number"] == number), found)
                elif entry == "log entry":
                    found = next((e for e in body["log"] if _instant(e["occurred_at"]) == _instant(at)), found)
                else:
                    found = next((a for a in body["actions"] if a["action_id"] == entry), found)
            shown = found["occurred_at"] if found else None
            check(shown == at, f"{cid}: {entry} shows {shown}, expected {at} (Helsinki time with its offset)")
            rows.append((entry, shown))
        instants = [_instant(shown) for _, shown in rows if shown]
        check(instants == sorted(instants), f"{cid}: timeline rows not in instant order: {rows}")

    if "history" in expect:
        history = checked("history")
        record.checked.update(f"history.{key}" for key in ("actions_total", "completed_late", "answer_times")
                              if key in history)
        if "actions_total" in history:
            check(len(actions) == history["actions_total"], f"{cid}: {len(actions)} actions")
        if "completed_late" in history:
            late = {
                a: _minutes(body["due_at"], body["closed_at"])
                for a, body in actions.items()
                if body["status"] == "COMPLETED" and _instant(body["closed_at"]) > _instant(body["due_at"])
            }
            wanted = {item["action"]: item["late_minutes"] for item in history["completed_late"]}
            check(late == wanted, f"{cid}: completed late {late}, expected {wanted}")
        if "answer_times" in history:
            for item in history["answer_times"]:
                body = requests.get(item["request"]) or {}
                minutes = _minutes(body["raised_at"], body["closed_at"]) if body.get("closed_at") else None
                check(minutes == item["minutes"], f"{cid}: {item['request']} answered in {minutes} min")

    if "audit" in expect:
        audit = checked("audit")
        rejects_so_far = replayer.replay.rejects
        kept = replayer.refusals()
        if "rejected_attempts" in audit:
            check(
                len(kept) == audit["rejected_attempts"] == len(rejects_so_far),
                f"{cid}: {len(kept)} refused attempts kept, {len(rejects_so_far)} REJECT steps so far, "
                f"expected {audit['rejected_attempts']}",
            )
        record.checked.update(f"audit.{key}" for key in ("rejected_attempts", "attempt_steps",
                              "absent_from_domain_events") if key in audit)
        for key in ("attempt_steps", "absent_from_domain_events"):
            for ref in audit.get(key, []):
                step = replayer.replay.step(ref["step"], ref.get("sub", 0))
                if key == "attempt_steps":
                    check(step.refusal is not None, f"{cid}: {step.label} was not kept as a refused attempt")
                else:
                    check(step.appended_events == 0, f"{cid}: {step.label} appended domain events")

    if "redaction" in expect:
        # The uncleared reader's view of the same records.
        crises_public = {c: replayer.get(f"/crises/{c}", reader, clearance=False) for c in crises}
        requests_public = {
            r["request_id"]: r
            for lid in replayer.liaisons.values()
            for r in (replayer.get(f"/police-liaisons/{lid}", reader, clearance=False) or {"requests": []})["requests"]
        }
        decisions_public = {d["decision_id"]: d for body in crises_public.values() if body for d in body["decisions"]}
        record.observed["uncleared"] = {"crises": crises_public, "requests": requests_public}
        for item in checked("redaction"):
            ref = item["record"]
            if ref in requests_public:
                shown = requests_public[ref]["response"] if item.get("field") == "answer" else requests_public[ref]
                text = shown.get("text") if item.get("field") == "answer" else shown.get("subject")
            elif ref in decisions_public:
                shown, text = decisions_public[ref], decisions_public[ref]["decision"]
            else:
                check(False, f"{cid}: {ref} not found in the uncleared view")
                continue
            if item["visible"]:
                check(not shown["redacted"] and text, f"{cid}: {ref} should be visible uncleared: {shown}")
            else:
                check(
                    shown["redacted"] and text == item["shows"],
                    f"{cid}: {ref} {item.get('field', '')} shows {text!r} uncleared, expected {item['shows']!r}",
                )

    # Figures the structured form left in `unmapped` that the current endpoints show: each clause is checked
    # whole or left to another hook.
    decisions = {d["decision_id"]: d for body in crises.values() for d in body["decisions"]}
    listed = [c["crisis"] for c in expect.get("active_crises", [])] or [
        c for c, body in crises.items() if body["status"] in ACTIVE_STATUSES
    ]
    for clause in note_clauses(expect.get("unmapped", [])):
        note = f"({clause})"
        if match := re.fullmatch(r"(PR-[\w-]+)(?: ([A-Z_]+))? age (\d+) min", clause):
            request_id, direction, minutes = match.groups()
            body = requests.get(request_id) or {}
            age = body.get("age_minutes")
            check(age == int(minutes), f"{cid}: {request_id} age is {age} min {note}")
            if direction:
                check(body.get("direction") == direction, f"{cid}: {request_id} is {body.get('direction')} {note}")
        elif match := re.fullmatch(r"(A-[\w-]+)(?: ([A-Z]+))? due (\d\d:\d\d)", clause):
            action_id, unit, due = match.groups()
            action = actions.get(action_id) or {}
            shown = (action.get("due_at") or "")[11:16]
            check(shown == due and unit in (None, action.get("unit")), f"{cid}: {action_id} is {action} {note}")
        elif match := re.fullmatch(r"(C-[\w-]+) (ACTIVE|CONTAINED|RESOLVED|CLOSED)", clause):
            crisis_id, status = match.groups()
            shown = (crises.get(crisis_id) or {}).get("status")
            check(shown == status, f"{cid}: {crisis_id} is {shown}, expected {status} {note}")
        elif match := re.fullmatch(r"(D-[\w-]+) review due (\d\d:\d\d)", clause):
            decision_id, due = match.groups()
            shown = ((decisions.get(decision_id) or {}).get("review_at") or "")[11:16]
            check(shown == due, f"{cid}: {decision_id} review is due {shown}, expected {due} {note}")
        elif match := re.fullmatch(r"\(sev(?:erity)? is NOT (\d)\)", clause):
            severities = {c: (crises.get(c) or {}).get("severity") for c in listed}
            check(bool(listed) and int(match[1]) not in severities.values(), f"{cid}: severities {severities} {note}")
        elif match := re.fullmatch(r"lead=(.+)", clause):
            # The script writes the partner's short name (HPD); the crisis names it in full.
            names = {match[1], DEFAULT_UNITS.partners.get(match[1])}
            leads = {c: (crises.get(c) or {}).get("lead_authority") or (crises.get(c) or {}).get("external_lead")
                     for c in listed}
            check(bool(listed) and set(leads.values()) <= names, f"{cid}: leads {leads} {note}")
        else:
            continue
        record.checked.add(f"unmapped: {clause}")
