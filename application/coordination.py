"""The service layer: one eventsourcing Application with every use case of crisis coordination.

Each command authorises the actor, loads the aggregates it changes, checks the client's expected version,
lets the aggregates enforce their rules, and saves every changed aggregate in one atomic write. When two
writers race, the store's uniqueness on (aggregate, version) refuses the later one: the command is run again
on fresh state, so the expected-version check or the rules decide, and nothing is lost.

Rules that span aggregates hold because the aggregates that change together are saved together: activating
a continuity plan for a crisis also records the plan on the crisis, and raising or closing a police request
for a crisis records it on the crisis, so "close" and "activate" can never both succeed on stale state.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding

from application.audit.redaction import withhold_message
from application.ports import Clock
from domain import crisis as crisis_module
from domain import division_preparedness as preparedness_module
from domain import police_liaison as liaison_module
from domain.access import READS_CRISES, RUNS_CRISES, Actor, Role, require_own_unit, require_role, role_hint
from domain.crisis import Crisis
from domain.division_preparedness import CriticalFunction, DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.shared import PUBLIC, Classification, DomainError, Policy, Rule, utc_now

log = logging.getLogger("valmius.coordination")

A = TypeVar("A", bound=Aggregate)
SYSTEM = "system"
MAX_ATTEMPTS = 10
DEFAULT_POLICY = Policy()


class ClassificationAsDict(Transcoding):
    type = Classification
    name = "classification"

    def encode(self, obj: Classification) -> dict:
        return obj.as_dict()

    def decode(self, data: dict) -> Classification:
        return Classification(**data)


class DataclassAsDict(Transcoding):
    """Entities inside aggregates (actions, decisions, plans, …), for snapshots."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__name__

    def encode(self, obj: Any) -> dict:
        return {f.name: getattr(obj, f.name) for f in fields(obj)}

    def decode(self, data: dict) -> Any:
        return self.type(**data)


@dataclass(frozen=True)
class Outcome:
    """What a stored command left: the records it changed at their new versions, and the log position of its
    last event. Enough to answer it again exactly as it was answered."""

    aggregates: tuple[tuple[UUID, int], ...]
    position: int | None


@dataclass
class KeyedCommand:
    """A command sent with an idempotency key (interfaces.http.middleware.Idempotency sets one per request).

    Its key is decided in the transaction that stores its events: `save(..., idempotency=command)` hands it to
    the recorder, which calls `ledger.record(command, stored_events, cursor)`; `ledger.outcome(user, key)`
    tells afterwards what a run with the same key stored. With `replay` the command was stored before and is
    answered as then, without running again."""

    user: str
    key: str
    fingerprint: str
    ledger: Any
    replay: Outcome | None = None
    aggregates: tuple[tuple[UUID, int], ...] = ()
    stored: bool = False


KEYED_COMMAND: ContextVar[KeyedCommand | None] = ContextVar("valmius_keyed_command", default=None)


class RefusalsInMemory:
    """Where refused attempts go when the application is built without a database (domain-level tests)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, **row: Any) -> None:
        self.rows.append(row)

    def list(self, *, target: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        return [r for r in self.rows if target is None or r["target"] == target][:limit]


class Coordination(Application):
    """Crisis and continuity coordination: the use cases of duty officers, units and the police coordinator."""

    name = "Valmius"
    snapshotting_intervals = {Crisis: 50, DivisionPreparedness: 50, PoliceLiaison: 50}
    env = {"AGGREGATE_CACHE_MAXSIZE": "5000", "COMPRESSOR_TOPIC": ""}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        policy: Policy = DEFAULT_POLICY,
        clock: Clock = utc_now,
        refusals: Any = None,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.listeners: list[Callable[[int], None]] = []
        self._written = threading.local()
        self._queues: dict[str, threading.Lock] = {}
        self._queues_lock = threading.Lock()
        super().__init__(env)
        self.refusals = refusals if refusals is not None else RefusalsInMemory()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(ClassificationAsDict())
        for module in (crisis_module, preparedness_module, liaison_module):
            for cls in module.ENTITY_CLASSES:
                assert is_dataclass(cls)
                transcoder.register(DataclassAsDict(cls))

    def now(self) -> datetime:
        return self.clock()

    def _notify(self, recordings: list[Recording]) -> None:
        """After every save: remember the log position for the caller, wake whoever follows the log."""
        if recordings:
            position = recordings[-1].notification.id
            self._written.position = position
            for listener in self.listeners:
                listener(position)

    def last_position(self) -> int | None:
        """The log position of this thread's last write: a client can wait for read models to reach it."""
        return getattr(self._written, "position", None)

    # --- setup ---------------------------------------------------------------------------------------

    def seed(self) -> None:
        """One DivisionPreparedness per unit of the registry, and the city's emergency conditions record."""
        now = self.now()
        for unit, name in self.policy.units.units.items():
            if DivisionPreparedness.id_for(unit) not in self.repository:
                self._save_if_new(DivisionPreparedness.register(unit=unit, name=name, policy=self.policy, actor=SYSTEM, now=now))
        if EmergencyConditions.ID not in self.repository:
            self._save_if_new(EmergencyConditions.start(actor=SYSTEM, now=now))

    def _save_if_new(self, aggregate: Aggregate) -> None:
        try:
            self.save(aggregate)
        except IntegrityError:
            pass  # another process seeded it first

    # --- the command pipeline ------------------------------------------------------------------------

    def _run(
        self,
        command: str,
        actor: Actor,
        target: str,
        payload: dict[str, Any],
        attempt: Callable[[datetime], list[Aggregate]],
    ) -> list[Aggregate]:
        """Run `attempt` (load, check, change) and save what it changed, atomically; refusals are kept.

        Commands on the same record queue behind each other in this process, so they do not race; writers in
        other processes can still win the race, and then the command runs again on fresh state after a short
        random pause.

        A command with an idempotency key (KEYED_COMMAND) is saved with its key's decision, in one transaction.
        If a run with the same key stored its events first, that run's records are the answer."""
        keyed = KEYED_COMMAND.get()
        if keyed is not None and keyed.stored:
            keyed = None  # the key names the request's first command
        if keyed is not None and keyed.replay is not None:
            keyed.stored = True
            return self._as_stored(keyed.replay)
        try:
            with self._queue_for(target):
                for attempt_number in range(MAX_ATTEMPTS):
                    now = self.now()
                    changed = attempt(now)
                    try:
                        if keyed is None:
                            self.save(*changed)
                        else:
                            keyed.aggregates = tuple((aggregate.id, aggregate.version) for aggregate in changed)
                            self.save(*changed, idempotency=keyed)
                    except IntegrityError:
                        stored = keyed.ledger.outcome(keyed.user, keyed.key) if keyed is not None else None
                        if stored is not None:
                            log.info("%s on %s was stored by an earlier run with the same key", command, target)
                            return self._as_stored(stored)
                        log.info("%s on %s raced another writer; running it again on fresh state", command, target)
                        time.sleep(random.uniform(0, 0.002 * 2**attempt_number))
                        continue
                    if keyed is not None:
                        keyed.stored = True
                    log.info("%s on %s by %s (%s)", command, target, actor.user, actor.role)
                    return changed
            raise DomainError(
                Rule.CONFLICT_VERSION, f"{target} is being changed by others right now; reload and try again"
            )
        except DomainError as refused:
            self.record_refusal(command, actor, target, payload, refused)
            raise

    def _as_stored(self, outcome: Outcome) -> list[Aggregate]:
        """The records as a stored command left them, and its log position as this thread's last write."""
        self._written.position = outcome.position
        return [self.repository.get(aggregate_id, version=version) for aggregate_id, version in outcome.aggregates]

    def _queue_for(self, target: str) -> threading.Lock:
        with self._queues_lock:
            return self._queues.setdefault(target, threading.Lock())

    def record_refusal(
        self, command: str, actor: Actor | None, target: str | None, payload: dict[str, Any], refused: DomainError
    ) -> None:
        message = withhold_message(refused.rule, refused.message, cleared=False)  # the log is read without clearance
        log.info("refused %s on %s by %s: %s %s", command, target, actor and actor.user, refused.rule, message)
        self.refusals.record(
            at=self.now(),
            user=actor.user if actor else None,
            role=str(actor.role) if actor else None,
            command=command,
            target=target,
            rule=str(refused.rule),
            message=refused.message,
            payload=payload,
        )
        refused.recorded = True  # type: ignore[attr-defined]

    def _load(self, cls: type[A], aggregate_id: UUID, label: str) -> A:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise DomainError(Rule.NOT_FOUND, f"there is no {label}") from None

    def _check_version(self, aggregate: Aggregate, expected_version: int | None, label: str) -> None:
        if expected_version is None or aggregate.version == expected_version:
            return
        if expected_version > aggregate.version or expected_version < 1:
            raise DomainError(
                Rule.CONFLICT_VERSION,
                f"{label} is at version {aggregate.version}; version {expected_version} does not exist",
                current_version=aggregate.version,
            )
        since = self.events.get(aggregate.id, gt=expected_version)
        changes = "; ".join(event.summary() for event in since)  # type: ignore[attr-defined]
        raise DomainError(
            Rule.CONFLICT_VERSION,
            f"{label} is at version {aggregate.version}, not {expected_version}: {changes}",
            current_version=aggregate.version,
        )

    def _crisis_command(
        self,
        command: str,
        actor: Actor,
        crisis_id: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[Crisis, datetime], None],
        roles: frozenset[Role] = RUNS_CRISES,
        what: str = "",
    ) -> int:
        def attempt(now: datetime) -> list[Aggregate]:
            if roles is not None:
                require_role(actor, roles, what or command, role_hint(actor))
            crisis = self.load_crisis(crisis_id)
            self._check_version(crisis, expected_version, crisis_id)
            change(crisis, now)
            return [crisis]

        return self._run(command, actor, crisis_id, payload, attempt)[0].version

    def _call(self, aggregate: Aggregate, method: str, actor: Actor, fields: dict[str, Any], now: datetime) -> None:
        """Call the aggregate's command method with the given fields, the entry's time defaulting to now, and
        the policy, the acting user and the clock added."""
        getattr(aggregate, method)(
            **{**fields, "occurred_at": fields.get("occurred_at") or now}, policy=self.policy, actor=actor.user, now=now
        )

    def _change_crisis(
        self,
        command: str,
        actor: Actor,
        crisis_id: str,
        expected_version: int | None,
        fields: dict[str, Any],
        method: str | None = None,
        roles: frozenset[Role] = RUNS_CRISES,
        what: str = "",
    ) -> int:
        """The common shape of a crisis command: the aggregate's method of that name with the given fields
        (see _call)."""

        def change(crisis: Crisis, now: datetime) -> None:
            self._call(crisis, method or command, actor, fields, now)

        return self._crisis_command(command, actor, crisis_id, expected_version, fields, change, roles, what)

    # --- reads ---------------------------------------------------------------------------------------

    def load_crisis(self, crisis_id: str) -> Crisis:
        return self._load(Crisis, Crisis.id_for(crisis_id), f"crisis {crisis_id}")

    def load_preparedness(self, unit: str) -> DivisionPreparedness:
        self.policy.units.check_unit(unit)
        return self._load(DivisionPreparedness, DivisionPreparedness.id_for(unit), f"preparedness record for {unit}")

    def load_liaison(self, liaison_id: str) -> PoliceLiaison:
        return self._load(PoliceLiaison, PoliceLiaison.id_for(liaison_id), f"police liaison {liaison_id}")

    def load_emergency_conditions(self) -> EmergencyConditions:
        return self._load(EmergencyConditions, EmergencyConditions.ID, "emergency conditions record")

    def get_crisis(self, actor: Actor, crisis_id: str) -> Crisis:
        require_role(actor, READS_CRISES, "read crisis content", "admins manage users and tokens only")
        return self.load_crisis(crisis_id)

    def get_division_preparedness(self, actor: Actor, unit: str) -> DivisionPreparedness:
        require_role(actor, READS_CRISES, "read preparedness", "admins manage users and tokens only")
        return self.load_preparedness(unit)

    def list_division_preparedness(self, actor: Actor) -> list[DivisionPreparedness]:
        return [self.get_division_preparedness(actor, unit) for unit in self.policy.units.units]

    def get_police_liaison(self, actor: Actor, liaison_id: str) -> PoliceLiaison:
        require_role(actor, READS_CRISES, "read police liaison", "admins manage users and tokens only")
        return self.load_liaison(liaison_id)

    def get_emergency_conditions(self, actor: Actor) -> EmergencyConditions:
        require_role(actor, READS_CRISES, "read emergency conditions")
        return self.load_emergency_conditions()

    def emergency_conditions_in_force(self) -> bool:
        return self.load_emergency_conditions().in_force

    # --- crisis --------------------------------------------------------------------------------------

    def declare_crisis(
        self,
        actor: Actor,
        *,
        crisis_id: str,
        title: str,
        category: str,
        severity: int,
        condition: str = "NORMAL_DISRUPTION",
        areas: list[str] | None = None,
        lead_authority: str | None = None,
        external_lead: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
    ) -> int:
        payload = {"title": title, "category": category, "severity": severity, "condition": condition}

        def attempt(now: datetime) -> list[Aggregate]:
            require_role(actor, RUNS_CRISES, "declare a crisis", role_hint(actor))
            if Crisis.id_for(crisis_id) in self.repository:
                raise DomainError(Rule.ALREADY_EXISTS, f"crisis {crisis_id} is already declared; choose another id")
            return [
                Crisis.declare(
                    crisis_id=crisis_id,
                    title=title,
                    category=category,
                    severity=severity,
                    condition=condition,
                    areas=areas,
                    lead_authority=lead_authority,
                    external_lead=external_lead,
                    classification=classification,
                    occurred_at=occurred_at or now,
                    late_entry_reason=late_entry_reason,
                    emergency_conditions_in_force=condition == "EMERGENCY_CONDITIONS"
                    and self.emergency_conditions_in_force(),
                    policy=self.policy,
                    actor=actor.user,
                    now=now,
                )
            ]

        return self._run("declare_crisis", actor, crisis_id, payload, attempt)[0].version

    def change_severity(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        to_severity: int,
        reason: str | None = None,
        from_severity: int | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(crisis: Crisis, now: datetime) -> None:
            if from_severity is not None and from_severity != crisis.severity:
                raise DomainError(
                    Rule.INVALID_TRANSITION, f"{crisis_id} is at severity {crisis.severity}, not {from_severity}"
                )
            crisis.change_severity(
                to_severity=to_severity,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"to_severity": to_severity, "reason": reason}
        return self._crisis_command("change_severity", actor, crisis_id, expected_version, payload, change)

    def change_condition(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        to_condition: str,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(crisis: Crisis, now: datetime) -> None:
            crisis.change_condition(
                to_condition=to_condition,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                emergency_conditions_in_force=self.emergency_conditions_in_force(),
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"to_condition": to_condition, "reason": reason}
        return self._crisis_command("change_condition", actor, crisis_id, expected_version, payload, change)

    def change_crisis_status(
        self, actor: Actor, crisis_id: str, *, transition: str, expected_version: int | None = None, **fields: Any
    ) -> int:
        """contain, reopen, resolve or close (reason, occurred_at, late_entry_reason)."""
        if transition not in {"contain", "reopen", "resolve", "close"}:
            raise DomainError(Rule.INVALID_INPUT, f"{transition!r} is not contain, reopen, resolve or close")
        return self._change_crisis(f"{transition}_crisis", actor, crisis_id, expected_version, fields, transition)

    def record_log_entry(
        self, actor: Actor, crisis_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> int:
        """Record a crisis log entry: text, source, classification, occurred_at, late_entry_reason. Division
        contacts record entries reporting from their own unit."""
        if actor.role is Role.DIVISION_CONTACT:
            if fields.get("source") not in (None, actor.unit):
                raise self._refused(
                    "record_log_entry",
                    actor,
                    crisis_id,
                    DomainError(
                        Rule.FORBIDDEN_ROLE,
                        f"the division contact of {actor.unit} records entries reporting from {actor.unit} only",
                    ),
                )
            fields["source"] = actor.unit
        return self._change_crisis(
            "record_log_entry", actor, crisis_id, expected_version, fields,
            roles=RUNS_CRISES | {Role.DIVISION_CONTACT}, what="record crisis log entries",
        )

    def strike_log_entry(
        self, actor: Actor, crisis_id: str, *, number: int, reason: str, expected_version: int | None = None
    ) -> int:
        def change(crisis: Crisis, now: datetime) -> None:
            crisis.strike_log_entry(number=number, reason=reason, actor=actor.user, now=now)

        payload = {"number": number, "reason": reason}
        return self._crisis_command("strike_log_entry", actor, crisis_id, expected_version, payload, change)

    def assign_action(self, actor: Actor, crisis_id: str, *, expected_version: int | None = None, **fields: Any) -> int:
        """Assign an action to a city unit: action_id, unit, task, due_at, classification, occurred_at, …"""
        return self._change_crisis("assign_action", actor, crisis_id, expected_version, fields)

    def close_action(
        self,
        actor: Actor,
        crisis_id: str,
        *,
        action_id: str,
        outcome: str,
        note: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Complete or cancel an action: `outcome` is "complete" or "cancel"."""
        command = f"{outcome}_action"
        roles = RUNS_CRISES | ({Role.DIVISION_CONTACT} if outcome == "complete" else set())

        def change(crisis: Crisis, now: datetime) -> None:
            action = crisis.action(action_id)
            if actor.role is Role.DIVISION_CONTACT and action.unit != actor.unit:
                raise DomainError(
                    Rule.FORBIDDEN_ROLE,
                    f"{action_id} is assigned to {action.unit}; the division contact of {actor.unit} "
                    "completes its own unit's actions only",
                )
            getattr(crisis, f"{outcome}_action")(
                action_id=action_id,
                note=note,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )

        payload = {"action_id": action_id, "note": note}
        return self._crisis_command(
            command, actor, crisis_id, expected_version, payload, change, frozenset(roles), f"{outcome} actions"
        )

    def issue_situation_report(
        self, actor: Actor, crisis_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> int:
        """Issue the next situation report: number (defaults to the next), summary, next_due_at, classification, …"""
        return self._change_crisis("issue_situation_report", actor, crisis_id, expected_version, fields)

    def record_decision(
        self, actor: Actor, crisis_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> int:
        """Record a decision on behalf of the decision-maker (`decided_by`): decision_id, authority, decision,
        rationale, options, review_at, references, classification, …; with `supersedes`, superseding one."""
        command = "supersede_decision" if fields.get("supersedes") else "record_decision"
        return self._change_crisis(
            command, actor, crisis_id, expected_version, fields, "record_decision", what="record decisions"
        )

    def record_decision_review(
        self, actor: Actor, crisis_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> int:
        """Append a review to a decision: decision_id, outcome, occurred_at, …"""
        return self._change_crisis("record_decision_review", actor, crisis_id, expected_version, fields)

    def record_after_action_review(
        self, actor: Actor, crisis_id: str, *, expected_version: int | None = None, **fields: Any
    ) -> int:
        """The after-action review, once the crisis is CLOSED: findings, recommendations, …"""
        return self._change_crisis(
            "record_after_action_review", actor, crisis_id, expected_version, fields,
            roles=frozenset({Role.PREPAREDNESS_MANAGER}), what="record after-action reviews",
        )

    # --- division preparedness -----------------------------------------------------------------------

    def _preparedness_command(
        self,
        command: str,
        actor: Actor,
        unit: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[DivisionPreparedness, datetime], Iterable[Aggregate]],
        what: str,
    ) -> int:
        def attempt(now: datetime) -> list[Aggregate]:
            require_own_unit(actor, unit, what)
            preparedness = self.load_preparedness(unit)
            self._check_version(preparedness, expected_version, unit)
            return [preparedness, *change(preparedness, now)]

        return self._run(command, actor, unit, payload, attempt)[0].version

    def _change_preparedness(
        self,
        command: str,
        actor: Actor,
        unit: str,
        expected_version: int | None,
        fields: dict[str, Any],
        method: str | None = None,
    ) -> int:
        """The common shape of a plan-keeping command: the aggregate's method of that name with the given
        fields (see _call)."""

        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            self._call(preparedness, method or command, actor, fields, now)
            return []

        return self._preparedness_command(
            command, actor, unit, expected_version, fields, change, "keep continuity plans"
        )

    def change_readiness(
        self,
        actor: Actor,
        unit: str,
        *,
        to_level: str,
        from_level: str | None = None,
        decided_by: str | None = None,
        reason: str | None = None,
        crisis_ref: str | None = None,
        decision_ref: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            if crisis_ref is not None:
                self.load_crisis(crisis_ref)
            preparedness.change_readiness(
                to_level=to_level,
                from_level=from_level,
                decided_by=decided_by or actor.user,
                reason=reason,
                crisis_ref=crisis_ref,
                decision_ref=decision_ref,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                emergency_conditions_in_force=self.emergency_conditions_in_force(),
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            return []

        payload = {"to_level": to_level, "from_level": from_level, "decided_by": decided_by, "reason": reason}
        return self._preparedness_command(
            "change_readiness", actor, unit, expected_version, payload, change, "change readiness"
        )

    def draft_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        title: str,
        owner: str | None = None,
        critical_functions: list[CriticalFunction],
        next_review_due: datetime | None = None,
        classification: Classification = PUBLIC,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            preparedness.draft_plan(
                plan_id=plan_id,
                title=title,
                owner=owner,
                critical_functions=critical_functions,
                next_review_due=next_review_due,
                classification=classification,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            return []

        payload = {"plan_id": plan_id, "title": title}
        return self._preparedness_command(
            "draft_continuity_plan", actor, unit, expected_version, payload, change, "keep continuity plans"
        )

    def approve_continuity_plan(
        self, actor: Actor, unit: str, *, expected_version: int | None = None, **fields: Any
    ) -> int:
        """Approve a drafted plan: plan_id, approved_by, occurred_at."""
        return self._change_preparedness(
            "approve_continuity_plan", actor, unit, expected_version, fields, method="approve_plan"
        )

    def record_plan_review(self, actor: Actor, unit: str, *, expected_version: int | None = None, **fields: Any) -> int:
        """Record a review of a plan: plan_id, notes, next_review_due, occurred_at."""
        return self._change_preparedness("record_plan_review", actor, unit, expected_version, fields)

    def record_exercise(self, actor: Actor, unit: str, *, expected_version: int | None = None, **fields: Any) -> int:
        """Record an exercise of a plan: plan_id, title, findings, occurred_at."""
        return self._change_preparedness("record_exercise", actor, unit, expected_version, fields)

    def activate_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        crisis_id: str,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            crisis = self.load_crisis(crisis_id)
            when = occurred_at or now
            crisis.link_plan(plan_id=plan_id, unit=unit, actor=actor.user, now=now)
            crisis.check_time(when, now, self.policy, late_entry_reason)
            preparedness.activate_plan(
                plan_id=plan_id,
                crisis_id=crisis_id,
                occurred_at=when,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            return [crisis]

        payload = {"plan_id": plan_id, "crisis_id": crisis_id}
        return self._preparedness_command(
            "activate_continuity_plan", actor, unit, expected_version, payload, change, "activate continuity plans"
        )

    def deactivate_continuity_plan(
        self,
        actor: Actor,
        unit: str,
        *,
        plan_id: str,
        reason: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(preparedness: DivisionPreparedness, now: datetime) -> list[Aggregate]:
            crisis_id = preparedness.deactivate_plan(
                plan_id=plan_id,
                reason=reason,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            crisis = self.load_crisis(crisis_id)
            crisis.unlink_plan(plan_id=plan_id, actor=actor.user, now=now)
            return [crisis]

        payload = {"plan_id": plan_id, "reason": reason}
        return self._preparedness_command(
            "deactivate_continuity_plan", actor, unit, expected_version, payload, change, "deactivate continuity plans"
        )

    # --- police liaison ------------------------------------------------------------------------------

    def _liaison_command(
        self,
        command: str,
        actor: Actor,
        liaison_id: str,
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[PoliceLiaison, datetime], Iterable[Aggregate]],
    ) -> int:
        def attempt(now: datetime) -> list[Aggregate]:
            require_role(actor, {Role.POLICE_COORDINATOR}, "keep police requests", "this is the police coordinator's")
            liaison = self.load_liaison(liaison_id)
            self._check_version(liaison, expected_version, liaison_id)
            return [liaison, *change(liaison, now)]

        return self._run(command, actor, liaison_id, payload, attempt)[0].version

    def open_police_liaison(
        self,
        actor: Actor,
        *,
        liaison_id: str,
        crisis_id: str | None = None,
        topic: str | None = None,
        city_people: list[str] | None = None,
        police_people: list[str] | None = None,
    ) -> int:
        def attempt(now: datetime) -> list[Aggregate]:
            require_role(actor, {Role.POLICE_COORDINATOR}, "open police liaison matters", "this is the police coordinator's")
            if PoliceLiaison.id_for(liaison_id) in self.repository:
                raise DomainError(Rule.ALREADY_EXISTS, f"police liaison {liaison_id} is already open")
            if crisis_id is not None:
                self.load_crisis(crisis_id).check_open()
            return [
                PoliceLiaison.open(
                    liaison_id=liaison_id,
                    crisis_id=crisis_id,
                    topic=topic,
                    city_people=city_people,
                    police_people=police_people,
                    actor=actor.user,
                    now=now,
                )
            ]

        payload = {"crisis_id": crisis_id, "topic": topic}
        return self._run("open_police_liaison", actor, liaison_id, payload, attempt)[0].version

    def change_liaison_people(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        city_people: list[str],
        police_people: list[str],
        expected_version: int | None = None,
    ) -> int:
        def change(liaison: PoliceLiaison, now: datetime) -> list[Aggregate]:
            liaison.change_people(city_people=city_people, police_people=police_people, actor=actor.user, now=now)
            return []

        payload = {"city_people": city_people, "police_people": police_people}
        return self._liaison_command("change_liaison_people", actor, liaison_id, expected_version, payload, change)

    def raise_police_request(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        request_id: str,
        direction: str,
        request_type: str,
        subject: str,
        legal_basis: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(liaison: PoliceLiaison, now: datetime) -> list[Aggregate]:
            crisis = self.load_crisis(liaison.crisis_id) if liaison.crisis_id else None
            liaison.raise_request(
                request_id=request_id,
                direction=direction,
                request_type=request_type,
                subject=subject,
                legal_basis=legal_basis,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                not_before=crisis.declared_at if crisis else None,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            if crisis is None:
                return []
            crisis.link_police_request(request_id=request_id, liaison_id=liaison_id, actor=actor.user, now=now)
            return [crisis]

        payload = {"request_id": request_id, "direction": direction, "type": request_type, "subject": subject}
        return self._liaison_command("raise_police_request", actor, liaison_id, expected_version, payload, change)

    def close_police_request(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        request_id: str,
        outcome: str,
        response: str | None = None,
        answered_by: str | None = None,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        """Answer, decline or withdraw a request: `outcome` is "answer", "decline" or "withdraw"."""
        if outcome not in {"answer", "decline", "withdraw"}:
            raise DomainError(Rule.INVALID_INPUT, f"{outcome!r} is not answer, decline or withdraw")

        def change(liaison: PoliceLiaison, now: datetime) -> list[Aggregate]:
            extra = {"answered_by": answered_by} if outcome == "answer" else {}
            getattr(liaison, f"{outcome}_request")(
                request_id=request_id,
                response=response,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
                **extra,
            )
            if not liaison.crisis_id:
                return []
            crisis = self.load_crisis(liaison.crisis_id)
            status = liaison.requests[request_id].status
            crisis.unlink_police_request(request_id=request_id, outcome=status, actor=actor.user, now=now)
            return [crisis]

        payload = {"request_id": request_id, "response": response, "answered_by": answered_by}
        return self._liaison_command(f"{outcome}_police_request", actor, liaison_id, expected_version, payload, change)

    def record_information_shared(
        self,
        actor: Actor,
        liaison_id: str,
        *,
        what: str,
        to_whom: str,
        classification: Classification = PUBLIC,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def change(liaison: PoliceLiaison, now: datetime) -> list[Aggregate]:
            liaison.share_information(
                what=what,
                to_whom=to_whom,
                classification=classification,
                occurred_at=occurred_at or now,
                late_entry_reason=late_entry_reason,
                policy=self.policy,
                actor=actor.user,
                now=now,
            )
            return []

        payload = {"what": what, "to_whom": to_whom}
        return self._liaison_command("record_information_shared", actor, liaison_id, expected_version, payload, change)

    # --- emergency conditions ------------------------------------------------------------------------

    def record_emergency_conditions(
        self,
        actor: Actor,
        *,
        in_force: bool,
        basis: str | None = None,
        occurred_at: datetime | None = None,
        late_entry_reason: str | None = None,
        expected_version: int | None = None,
    ) -> int:
        def attempt(now: datetime) -> list[Aggregate]:
            require_role(
                actor,
                {Role.PREPAREDNESS_MANAGER},
                "record emergency conditions",
                "the preparedness manager records them",
            )
            conditions = self.load_emergency_conditions()
            self._check_version(conditions, expected_version, "emergency conditions")
            if in_force:
                conditions.declare_in_force(
                    basis=basis or "",
                    occurred_at=occurred_at or now,
                    late_entry_reason=late_entry_reason,
                    policy=self.policy,
                    actor=actor.user,
                    now=now,
                )
            else:
                conditions.lift(
                    reason=basis,
                    occurred_at=occurred_at or now,
                    late_entry_reason=late_entry_reason,
                    policy=self.policy,
                    actor=actor.user,
                    now=now,
                )
            return [conditions]

        payload = {"in_force": in_force, "basis": basis}
        return self._run("record_emergency_conditions", actor, "emergency-conditions", payload, attempt)[0].version

    # --- helpers -------------------------------------------------------------------------------------

    def _refused(self, command: str, actor: Actor, target: str, error: DomainError) -> DomainError:
        self.record_refusal(command, actor, target, {}, error)
        return error
