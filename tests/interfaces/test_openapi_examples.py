"""Every example of the OpenAPI document works, on the real PostgreSQL-backed service: generated from the
document, so an operation added tomorrow, or an example changed, is tried too.

Each operation is sent as its examples say (the path parameters' examples, every query parameter's example,
the request body's example), by a role the permission table lets do it, on a store of its own holding what it
needs first: the records it names, made by the examples of the operations that create them (the body field of
the same name), and for a few the state a rule asks for (GIVEN: a crisis is contained before it is resolved).
Every answer on the way, the prerequisites' too, must be one the document describes (Conformance).

Around each command's example, the headers the document says it honours are proven honoured: a stale
`If-Match` is refused with 409 CONFLICT_VERSION and records nothing, and the example sent again with its
`Idempotency-Key` gets the first answer, `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from application.projections.deadlines import Deadline
from domain.access import PERMISSIONS, Actor, Role
from domain.reminder import Ladder
from tests.conftest import TEST_POOL, ApiClient, FakeClock, make_api, settings_for
from tests.interfaces.conftest import last_event
from tests.interfaces.openapi_document import Conformance, Operation, body_example, body_sent, the_document
from tests.interfaces.test_http_audit_chain import SIGNING_KEY

SPEC, OPERATIONS = the_document()
BY_NAME = {operation.name: operation for operation in OPERATIONS if operation.method != "GET"}
COMMANDS = [o for o in OPERATIONS if o.method != "GET"]
READS = [o for o in OPERATIONS if o.method == "GET" and not o.streams()]
# The role an example is sent as: the first of these that the permission table allows (clearance given).
PREFERRED = [Role.PREPAREDNESS_MANAGER, Role.DUTY_OFFICER, Role.POLICE_COORDINATOR, Role.AUDITOR, Role.LEADERSHIP,
             Role.DIVISION_CONTACT, Role.ADMIN]


def chained(api: ApiClient) -> None:
    """The events so far chained (and signed: the fixture's service signs a checkpoint at every position)."""
    assert api.services.projections.wait_for(last_event(api), timeout=10)


def redrafted(api: ApiClient) -> None:
    """The crisis's next situation report drafted (after the one the examples issue)."""
    answer = api.post("/crises/C-S1/situation-reports/draft", json={}, headers=api.headers("DO-1", "duty_officer"))
    assert answer.status_code == 200, answer.text


def reminded(api: ApiClient) -> None:
    """The reminder the examples name, its notice at the deadline recorded (as `valmius remind` would)."""
    due = datetime.fromisoformat("2026-12-06T03:00+02:00")
    deadline = Deadline("ACTION.C-1.A-1.20261206T010000Z", "ACTION", "C-1", "A-1", "STARA", due)
    api.services.coordination.record_reminder_notice(
        Actor("valmius-remind", Role.DUTY_OFFICER), deadline, Ladder().step(2, due),
        [{"recipient": "STARA", "as": "UNIT", "channels": []}])


# What an example needs beyond the records it names: the operations (by name) whose examples make the state a
# rule asks for, or a step outside the API.
GIVEN: dict[str, list[str | Callable[[ApiClient], None]]] = {
    "change_condition": ["record_emergency_conditions"],
    "reopen_crisis": ["contain_crisis"],
    "resolve_crisis": ["contain_crisis"],
    "close_crisis": ["contain_crisis", "resolve_crisis"],
    "record_after_action_review": ["contain_crisis", "resolve_crisis", "close_crisis"],
    "strike_log_entry": ["record_log_entry"],
    "change_log_entry": ["record_log_entry"],
    "change_situation_report": ["issue_situation_report"],
    "activate_continuity_plan": ["approve_continuity_plan"],
    "deactivate_continuity_plan": ["approve_continuity_plan", "activate_continuity_plan"],
    "export_checkpoint": ["declare_crisis", chained],
    "sign_off": ["sign_on", "prepare_handover_brief"],
    "accept_handover_brief": ["prepare_handover_brief"],
    "get_handover_brief": ["prepare_handover_brief"],
    "contribute_situation_report": ["draft_situation_report"],
    "issue_drafted_situation_report": ["draft_situation_report", "contribute_situation_report"],
    "get_situation_report_draft": [  # read after the report the other reads name is issued: the next one drafted
        "draft_situation_report", "contribute_situation_report", "issue_drafted_situation_report", redrafted,
    ],
    "get_situation_report": ["draft_situation_report", "contribute_situation_report", "issue_drafted_situation_report"],
    "get_situation_report_edxl": [
        "draft_situation_report", "contribute_situation_report", "issue_drafted_situation_report"
    ],
    "draft_after_action_review": ["contain_crisis", "resolve_crisis", "close_crisis"],
    "get_after_action_review": ["draft_after_action_review"],
    "get_after_action_review_as_it_was": ["draft_after_action_review"],
    "revise_after_action_review": ["draft_after_action_review"],
    "comment_after_action_review": ["draft_after_action_review"],
    "add_improvement_item": ["draft_after_action_review"],
    "finalise_after_action_review": ["draft_after_action_review"],
    "complete_improvement_item": ["finalise_after_action_review"],
    "drop_improvement_item": ["finalise_after_action_review"],
    "set_plan_review_from_item": ["finalise_after_action_review"],
    "link_received_alert": ["take_received_alert"],  # (its example is a CAP document, naming no id in JSON)
    "unlink_received_alert": ["take_received_alert", "link_received_alert"],
    "get_received_alert": ["take_received_alert"],
    "issue_public_warning": ["approve_public_warning"],
    "draft_public_warning_update": ["issue_public_warning"],
    "draft_public_warning_cancellation": ["issue_public_warning"],
    "get_public_warning_cap": ["issue_public_warning"],
    "acknowledge_reminder": [reminded],
    "get_reminder": [reminded],
}


def brief_digest(api: ApiClient) -> dict[str, Any]:
    """The digest of the brief the example accepts: the service computes it (a digest of the picture)."""
    brief = api.get("/positions/DUTY_OFFICER/handover-briefs/1", headers=api.headers("U-LR", "leadership"))
    return {"digest": brief.json()["digest"]}


# Examples sent as another role than the first that may: a public warning's message is approved by someone who did
# not write its text (FOUR_EYES), and the preparedness manager drafted the example's.
SENT_AS = {"approve_public_warning": Role.DUTY_OFFICER}

# Examples whose values only the service knows: the body is asked of it, in the state the example's steps made.
COMPUTED: dict[str, Callable[[ApiClient], Any]] = {"accept_handover_brief": brief_digest}


def creators(operation: Operation) -> list[str]:
    """The operations whose examples create the records `operation` names (`…_id` in its path or its body's
    example): each made by the operation with the fewest path parameters whose body names it and whose path
    does not (declare_crisis for a `crisis_id`)."""
    named = [p["name"] for p in operation.parameters if p["in"] == "path"]
    example = operation.body_example
    named += list(example) if isinstance(example, dict) else []
    named = [name for name in dict.fromkeys(named) if name.endswith("_id")]
    found = []
    for name in named:
        makers = [
            o for o in COMMANDS
            if o.method == "POST" and isinstance(o.body_example, dict) and name in o.body_example
            and "{" + name + "}" not in o.path
        ]
        maker = min(makers, key=lambda o: o.path.count("{"), default=operation)
        if maker is not operation:
            found.append(maker.name)
    return found


def prerequisites(operation: Operation) -> list[str | Callable[[ApiClient], None]]:
    """Everything to do before `operation`'s example, in order, each once."""
    steps: list[str | Callable[[ApiClient], None]] = []
    for step in [*creators(operation), *GIVEN.get(operation.name, [])]:
        before = prerequisites(BY_NAME[step]) + [step] if isinstance(step, str) else [step]
        steps += [s for s in before if s not in steps]
    return steps


class Examples:
    """Sends the document's examples to one service, each answer checked against the document."""

    def __init__(self, api: ApiClient, conformance: Conformance) -> None:
        self.api = api
        self.conformance = conformance
        self.served = api.get("/openapi.json").json()  # its times ahead are set from the service's clock

    def body(self, operation: Operation) -> dict[str, Any]:
        served = self.served["paths"][operation.path][operation.method.lower()]
        example = COMPUTED[operation.name](self.api) if operation.name in COMPUTED else body_example(served)
        return body_sent(served, example)

    def roles(self, operation: Operation) -> list[Role]:
        if operation.name in SENT_AS:
            return [SENT_AS[operation.name]]
        allowed = PERMISSIONS[operation.name].roles if operation.name in PERMISSIONS else set(Role)
        return [role for role in PREFERRED if role in allowed]

    def send(self, operation: Operation, **headers: str) -> Any:
        """The example sent as the first role that may (the next ones only while refused by role)."""
        for role in self.roles(operation):
            body = self.body(operation)
            media = body.pop("headers", {})
            answer = self.conformance.check(operation, self.api.request(
                operation.method, operation.url(), **body,
                headers=self.api.headers(f"U-{role}", role, "STARA" if role is Role.DIVISION_CONTACT else None,
                                         clearance=True, **headers, **media),
            ))
            if answer.status_code != 403:
                return answer
        return answer

    def given(self, *operations: Operation) -> None:
        steps: list[str | Callable[[ApiClient], None]] = []
        for operation in operations:
            steps += [step for step in prerequisites(operation) if step not in steps]
        for step in steps:
            if callable(step):
                step(self.api)
            else:
                self.accepted(BY_NAME[step])

    def accepted(self, operation: Operation, **headers: str) -> Any:
        answer = self.send(operation, **headers)
        assert answer.status_code == operation.success, f"{operation.id}: its example got {answer.text}"
        return answer


@pytest.fixture
def examples(postgres_url: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Examples]:  # noqa: ANN001
    """The service on a fresh schema of the real PostgreSQL, its read models followed in-process, signing a
    checkpoint at every position from its start (not every 1000: a checkpoint's example names the first, one of
    the units seeded as the service starts, which its follower may chain before the fixture could step in); the
    clock where the document's example times were written for."""
    monkeypatch.setattr("infrastructure.bootstrap.CHECKPOINT_EVERY", 1)
    settings = settings_for(
        "postgres", tmp_path, postgres_url, embedded_projections=True, signing_key=SIGNING_KEY, **TEST_POOL
    )
    for api in make_api(settings, FakeClock()):
        yield Examples(api, Conformance(SPEC))


def test_every_body_and_path_parameter_has_an_example() -> None:
    for operation in OPERATIONS:
        if "requestBody" in operation.spec:
            assert operation.body_example is not None, f"{operation.id}: its body has no example"
        operation.url()  # (every path parameter has an example)


@pytest.mark.parametrize("operation", COMMANDS, ids=lambda o: o.id)
def test_the_example_of_every_command_succeeds(examples: Examples, operation: Operation) -> None:
    # Given what the example needs
    examples.given(operation)
    before = last_event(examples.api)
    # When it is sent with a stale If-Match, where it documents If-Match
    if operation.takes("If-Match"):
        stale = examples.send(operation, **{"If-Match": '"999999"', "Idempotency-Key": str(uuid.uuid4())})
        # Then it is refused as a conflict, and nothing is recorded
        assert (stale.status_code, stale.json()["code"]) == (409, "CONFLICT_VERSION"), stale.text
        assert last_event(examples.api) == before
    # When the example is sent, with an Idempotency-Key where it documents one
    key = {"Idempotency-Key": str(uuid.uuid4())} if operation.takes("Idempotency-Key") else {}
    first = examples.accepted(operation, **key)
    # Then it succeeds; and sent again with its key, it gets the same answer, replayed
    if key:
        again = examples.accepted(operation, **key)
        assert again.headers.get("Idempotent-Replayed") == "true" and again.content == first.content


def test_the_example_of_every_read_succeeds(examples: Examples) -> None:
    # Given every record the reads name (one store: reads change nothing), for the reads needing fewest commands
    # first (the checkpoint its example names is that of the first event)
    examples.given(*sorted(READS, key=lambda o: sum(isinstance(step, str) for step in prerequisites(o))))
    # When each read is sent with its examples, then it succeeds, as documented
    for operation in READS:
        examples.accepted(operation)
    assert {operation.id for operation in READS} <= {seen for seen, _ in examples.conformance.seen}
