"""The service layer: one eventsourcing Application with every use case of crisis coordination.

This module holds the Application itself: transcodings, the seed, the one command pipeline and the reads of
whole records. The use cases come in by aggregate, one typed method per domain verb: application/crisis.py,
division_preparedness.py, police_liaison.py and emergency_conditions.py.

Each command authorises the actor (domain.access.PERMISSIONS), loads the aggregates it changes, checks the client's expected version,
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
import weakref
from collections.abc import Callable, Iterable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Recording, Transcoding

from application.after_action_review import AfterActionReviewUseCases
from application.audit.redaction import withhold_message
from application.crisis import CrisisUseCases
from application.districts import DistrictUseCases
from application.division_preparedness import DivisionPreparednessUseCases
from application.emergency_conditions import EmergencyConditionsUseCases
from application.police_liaison import PoliceLiaisonUseCases
from application.position import PositionUseCases
from application.reminder import ReminderUseCases
from application.situation_report import SituationReportUseCases
from application.public_warning import PublicWarningUseCases
from application.ports import Clock
from domain import after_action_review as review_module
from application.received_alert import ReceivedAlertUseCases
from domain import crisis as crisis_module
from domain import division_preparedness as preparedness_module
from domain import police_liaison as liaison_module
from domain import public_warning as warning_module
from domain.access import Actor, authorise
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.emergency_conditions import EmergencyConditions
from domain.police_liaison import PoliceLiaison
from domain.shared import Classification, DomainError, N_, Policy, Rule, joined, utc_now

log = logging.getLogger("valmius.coordination")

A = TypeVar("A", bound=Aggregate)
SYSTEM = "system"
MAX_ATTEMPTS = 10
# Commands on records whose ids share a queue wait for each other, in this process: among 8 busy records two
# share one of 64 queues 37% of the time (and hold up each other's group commit), one of 1024 queues 3%.
QUEUES = 1024
DEFAULT_POLICY = Policy()
CHANGES_SHOWN = 20  # a stale expected version is answered with at most this many of the changes since


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
class Saved:
    """A record as a command left it: its id and new version (what the use cases answer with)."""

    id: UUID
    version: int


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


class CommandRepository(Repository):
    """The library's repository, whose cache a command takes its records out of instead of deep copying them.

    A command changes the very object it took (`take`): out of the cache, no other thread sees it while it
    changes; once its events are stored it goes back (`put_back`). Every load from the cache, and every take,
    is one step under a lock per record, so a reader never copies a record while a command takes it.

    A take does not ask the store for events newer than the cached record (the library's fast-forward, one
    round trip per command): the cache may be behind only when another process wrote the record, and then the
    store's uniqueness on (record, version) refuses the command's write, and a refusal decided on the cached
    record is decided again on the stored one (Pipeline._run). `taken_from_cache` says whether a take may
    have been behind."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._locks = tuple(threading.Lock() for _ in range(QUEUES))

    def get(self, aggregate_id: UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        if self.cache is None or version is not None:
            return super().get(aggregate_id, version=version, **kwargs)
        with self._locks[hash(aggregate_id) % QUEUES]:
            return super().get(aggregate_id, **kwargs)

    def take(self, aggregate_id: UUID) -> tuple[Any, bool]:
        """The record, out of the cache if it is there (not fast-forwarded), else from the store; and whether it
        came out of the cache."""
        if self.cache is None:
            return super().get(aggregate_id), False
        with self._locks[hash(aggregate_id) % QUEUES]:
            with suppress(KeyError):
                return self.cache.get(aggregate_id, evict=True), True
        return self._reconstruct_aggregate(aggregate_id, None, project_aggregate), False

    def put_back(self, aggregate: Aggregate) -> None:
        """A record whose events are all stored goes back into the cache; one with unsaved changes does not."""
        if self.cache is not None and not aggregate.pending_events:
            self.cache.put(aggregate.id, aggregate)


class Pipeline(Application):
    """The Application under the use cases: the command pipeline and the reads of whole records."""

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
        self._taken = threading.local()  # .records: what the running command took out of the cache, by id
        self._queues = tuple(threading.Lock() for _ in range(QUEUES))
        self._recorded: weakref.WeakSet[DomainError] = weakref.WeakSet()
        super().__init__(env)
        self.refusals = refusals  # where refused attempts are kept (infrastructure.refusals.RefusalLog)

    def construct_repository(self) -> CommandRepository:
        size = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return CommandRepository(event_store=self.events, snapshot_store=self.snapshots,
                                 cache_maxsize=int(size) if size else None)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(ClassificationAsDict())
        for module in (crisis_module, preparedness_module, liaison_module, review_module, warning_module):
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

    def _take_snapshots(self, processing_event: ProcessingEvent) -> None:
        """A record due a snapshot is snapshotted as it stands in memory when it stands at the snapshot's version:
        it is what was just stored. (The library reads it back from the store first, a query and a replay of
        up to 50 events inside the command.) One saved past the snapshot's version is read back, as before."""
        if self.snapshots is None:
            return
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate is not None else None
            if interval is None or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
                self.snapshots.put([snapshot_class.take(aggregate)])
            else:
                self.take_snapshot(event.originator_id, event.originator_version)

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

    def _command(
        self,
        use_case: str,
        actor: Actor,
        target: str,
        load: Callable[[], A],
        expected_version: int | None,
        payload: dict[str, Any],
        change: Callable[[A, datetime], Iterable[Aggregate] | None],
        *,
        unit: str | None = None,
        label: str | None = None,
    ) -> int:
        """A command on one record: authorise, load, check the expected version, change (`change` returns the
        other records it changed, if any), save. The record's new version."""

        def attempt(now: datetime) -> list[Aggregate]:
            record = load()
            self._check_version(record, expected_version, label or target)
            return [record, *(change(record, now) or ())]

        return self._run(use_case, actor, target, payload, attempt, unit=unit)[0].version

    def _run(
        self,
        use_case: str,
        actor: Actor,
        target: str,
        payload: dict[str, Any],
        attempt: Callable[[datetime], list[Aggregate]],
        *,
        unit: str | None = None,
    ) -> list[Saved]:
        """Authorise `actor` for `use_case`, run `attempt` (load, check, change) and save what it changed,
        atomically; refusals are kept. The changed records' new versions.

        Commands on the same record queue behind each other in this process, so they do not race; writers in
        other processes can still win the race, and then the command runs again on fresh state after a short
        random pause.

        The records a command loads are taken out of the aggregate cache rather than deep copied from it
        (CommandRepository): no one else sees them while the command changes them, and only once their events are
        stored do they go back. A refused, raced or failed attempt leaves them out: the next load reads the
        store. A cached record is not checked against the store first (another process may have written it
        since): a write on it is refused by the store if so, and a refusal decided on it is decided again on
        the stored records, so only the store's state is ever refused.

        A command with an idempotency key (KEYED_COMMAND) is saved with its key's decision, in one transaction.
        If a run with the same key stored its events first, that run's records are the answer."""
        keyed = KEYED_COMMAND.get()
        if keyed is not None and keyed.stored:
            keyed = None  # the key names the request's first command
        if keyed is not None and keyed.replay is not None:
            keyed.stored = True
            return self._as_stored(keyed.replay)
        try:
            authorise(actor, use_case, unit)
            with self._queue_for(target):
                for attempt_number in range(MAX_ATTEMPTS):
                    outer = getattr(self._taken, "records", None), getattr(self._taken, "cached", False)
                    self._taken.records, self._taken.cached = {}, False
                    try:
                        try:
                            changed = attempt(self.now())
                        except DomainError:
                            if not self._taken.cached:
                                raise
                            log.debug("%s on %s refused on a cached record; deciding again", use_case, target)
                            continue  # what was taken stays out of the cache: the next attempt reads the store
                        saved = [Saved(aggregate.id, aggregate.version) for aggregate in changed]
                        if keyed is None:
                            self.save(*changed)
                        else:
                            keyed.aggregates = tuple((record.id, record.version) for record in saved)
                            self.save(*changed, idempotency=keyed)
                        for aggregate in self._taken.records.values():
                            self.repository.put_back(aggregate)
                    except IntegrityError:
                        stored = keyed.ledger.outcome(keyed.user, keyed.key) if keyed is not None else None
                        if stored is not None:
                            log.info("%s on %s was stored by an earlier run with the same key", use_case, target)
                            return self._as_stored(stored)
                        log.info("%s on %s raced another writer; running it again on fresh state", use_case, target)
                        time.sleep(random.uniform(0, 0.002 * 2**attempt_number))
                        continue
                    finally:
                        self._taken.records, self._taken.cached = outer
                    if keyed is not None:
                        keyed.stored = True
                    log.info("%s on %s by %s (%s)", use_case, target, actor.user, actor.role)
                    return saved
            raise DomainError(
                Rule.CONFLICT_VERSION, "{target} is being changed by others right now; reload and try again", {"target": target}
            )
        except DomainError as refused:
            self.record_refusal(use_case, actor, target, payload, refused)
            raise

    @staticmethod
    def _given(**arguments: object) -> dict[str, object]:
        """The arguments a command was given (those not left out), kept with its refusal."""
        return {name: value for name, value in arguments.items() if value is not None}

    def _as_stored(self, outcome: Outcome) -> list[Saved]:
        """The records as a stored command left them, and its log position as this thread's last write."""
        self._written.position = outcome.position
        return [Saved(aggregate_id, version) for aggregate_id, version in outcome.aggregates]

    def _queue_for(self, target: str) -> threading.Lock:
        return self._queues[hash(target) % QUEUES]

    def record_refusal(
        self, command: str, actor: Actor | None, target: str | None, payload: dict[str, Any], refused: DomainError
    ) -> None:
        """Keep a refused attempt for auditors, once: the edge passes on every refusal it answers, and those
        the command pipeline kept already are not kept twice."""
        if refused in self._recorded:
            return
        self._recorded.add(refused)
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

    def _load(self, cls: type[A], aggregate_id: UUID, label: str) -> A:
        try:
            taken = getattr(self._taken, "records", None)
            if taken is None:
                return self.repository.get(aggregate_id)
            if aggregate_id not in taken:
                taken[aggregate_id], cached = self.repository.take(aggregate_id)
                self._taken.cached = self._taken.cached or cached
            return taken[aggregate_id]
        except AggregateNotFoundError:
            raise DomainError(Rule.NOT_FOUND, "there is no {label}", {"label": label}) from None

    def _check_version(self, aggregate: Aggregate, expected_version: int | None, label: str) -> None:
        if expected_version is None or aggregate.version == expected_version:
            return
        if expected_version > aggregate.version or expected_version < 1:
            raise DomainError(
                Rule.CONFLICT_VERSION,
                "{label} is at version {version}; version {expected_version} does not exist", {"label": label, "version": aggregate.version, "expected_version": expected_version},
                current_version=aggregate.version,
            )
        since = self.events.get(aggregate.id, gt=expected_version, limit=CHANGES_SHOWN)  # not a long history whole
        changes = [event.summary() for event in since]  # type: ignore[attr-defined]
        if aggregate.version - expected_version > CHANGES_SHOWN:
            changes.append(N_("and {count} more", count=aggregate.version - expected_version - CHANGES_SHOWN))
        raise DomainError(
            Rule.CONFLICT_VERSION,
            "{label} is at version {version}, not {expected_version}: {changes}", {"label": label, "version": aggregate.version, "expected_version": expected_version, "changes": joined(changes)},
            current_version=aggregate.version,
        )

    # --- reads ---------------------------------------------------------------------------------------

    def load_crisis(self, crisis_id: str) -> Crisis:
        return self._load(Crisis, Crisis.id_for(crisis_id), N_("crisis {crisis_id}", crisis_id=crisis_id))

    def is_exercise(self, crisis_id: str) -> bool:
        """Whether the crisis was declared as an exercise (False for one not stored): what a record naming it
        (a unit's plan active for it) needs to keep it out of the real picture."""
        try:
            return bool(self.load_crisis(crisis_id).exercise)
        except DomainError:
            return False

    def load_preparedness(self, unit: str) -> DivisionPreparedness:
        self.policy.units.check_unit(unit)
        return self._load(DivisionPreparedness, DivisionPreparedness.id_for(unit), N_("preparedness record for {unit}", unit=unit))

    def load_liaison(self, liaison_id: str) -> PoliceLiaison:
        return self._load(PoliceLiaison, PoliceLiaison.id_for(liaison_id), N_("police liaison {liaison_id}", liaison_id=liaison_id))

    def load_emergency_conditions(self) -> EmergencyConditions:
        return self._load(EmergencyConditions, EmergencyConditions.ID, N_("emergency conditions record"))

    def get_emergency_conditions(self, actor: Actor) -> EmergencyConditions:
        authorise(actor, "get_emergency_conditions")
        return self.load_emergency_conditions()

    def emergency_conditions_in_force(self) -> bool:
        return self.load_emergency_conditions().in_force


class Coordination(
    CrisisUseCases, DivisionPreparednessUseCases, PoliceLiaisonUseCases, EmergencyConditionsUseCases,
    PositionUseCases, SituationReportUseCases, DistrictUseCases, AfterActionReviewUseCases, ReceivedAlertUseCases,
    PublicWarningUseCases, ReminderUseCases, Pipeline,
):
    """Crisis and continuity coordination: the use cases of duty officers, units and the police coordinator."""

    name = "Valmius"  # persisted: it names the store's tables (valmius_events) and its environment variables
