"""The reads of the situation picture (a mixin of application.projections.runner.Projections): one query per
read model, for the roles that read crises, at the Coordination's clock and policy; and how current the picture
is (positions, failures, freshness, readiness).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.audit.refusals import exercise_crises
from application.position import handover_brief
from application.projections import (
    after_action_items, crisis_timeline, decision_log, police_liaison_board, public_warning_register,
    readiness_board, received_alert, situation_overview,
)
from application.projections.after_action_items import AfterActionItems
from application.projections.decision_log import DecisionLog
from application.projections.district_overview import DistrictOverview, by_district
from application.projections.paging import DEFAULT_LIMIT, Page, bounded
from application.projections.police_liaison_board import PoliceLiaisonBoard
from application.projections.readiness_board import ReadinessBoard
from application.projections.situation_overview import EXERCISES, SituationOverview
from application.projections.tracking import FAILURES_TABLE, TRACKING_TABLE, Failure
from domain.access import Actor, authorise
from domain.shared import N_, DomainError, Rule, display

if TYPE_CHECKING:
    from application.coordination import Coordination
    from application.ports import Store
    from application.projections.read_model import ReadModel

log = logging.getLogger("valmius.projections")

# A read of one model that is made of the tables of others too: the overview counts decisions, shows readiness
# and police requests from their boards. It is as current as the least current of them.
MADE_OF: dict[str, tuple[str, ...]] = {
    DistrictOverview.name: (DistrictOverview.name, SituationOverview.name),
    SituationOverview.name: (
        SituationOverview.name, DecisionLog.name, ReadinessBoard.name, PoliceLiaisonBoard.name, AfterActionItems.name,
    ),
}
BEHIND_AFTER_SECONDS = 5.0  # a picture missing an event older than this is "behind" (amber on the dashboard)
STALE_AFTER_SECONDS = 60.0  # … older than this, or a read model stopped by a failure: "stale" (red)


@dataclass(frozen=True)
class Readiness:
    problems: list[str]  # sentences; none when ready
    read_models: dict[str, dict[str, Any]]  # name -> position, behind, failed
    store_unreachable: bool = False


class Queries:
    app: Coordination
    store: Store
    models: dict[str, ReadModel]
    _times: dict[tuple[int, bool], datetime | None]  # see _event_time

    def require_reader(self, actor: Actor) -> None:
        """Only the roles that read crises read the picture (its stream too): the others get FORBIDDEN_ROLE."""
        authorise(actor, "read_situation_picture")

    def get_situation_overview(
        self, actor: Actor, at: datetime | None = None, limit: int = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """The overview, each of its lists cut to `limit` items (application.projections.paging.bounded)."""
        self.require_reader(actor)
        return bounded(
            situation_overview.overview(self.store, at or self.app.now(), actor.clearance, self.app.policy), limit
        )

    def get_exercise_overview(
        self, actor: Actor, at: datetime | None = None, limit: int = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """The overview of the crises declared as exercises only (the real one never shows them), for the roles
        that read the overview; each list cut to `limit`."""
        self.require_reader(actor)
        return bounded(
            situation_overview.overview(
                self.store, at or self.app.now(), actor.clearance, self.app.policy, exercise=True
            ),
            limit,
        )

    def get_district_overview(self, actor: Actor, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        """The active crises by district (application.projections.district_overview), each list cut to `limit`."""
        self.require_reader(actor)
        return bounded(by_district(self.store, actor.clearance, self.app.policy, self.app.now()), limit)

    def get_situation_picture(self, actor: Actor) -> dict[str, Any]:
        """The overview with its `freshness` (see `freshness`): what the live stream sends."""
        return {**self.get_situation_overview(actor), "freshness": self.freshness(SituationOverview.name)}

    def handover_brief(self, since: int, until: int, at: datetime) -> dict[str, Any]:
        """A position's handover brief (application.position): the picture once the read models have applied the
        log up to `until`, so that what is open is that of the log the brief covers, not of a lagging picture."""
        if not self.wait_for(until, timeout=5):
            raise DomainError(Rule.READ_MODEL_BEHIND, "the situation picture is behind the log; prepare the brief again shortly")
        return handover_brief(self.store, self.app.event_log, self.app.policy, since, until, at)

    def get_crisis_timeline(self, actor: Actor, crisis_id: str, page: Page | None = None) -> dict[str, Any]:
        """Every entry, or with a `page` that page and its neighbours' cursors (application.projections.paging)."""
        self.require_reader(actor)
        return crisis_timeline.timeline(
            self.store, crisis_id, self.app.now(), actor.clearance, self.app.policy, page
        )

    def get_readiness_board(self, actor: Actor, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        self.require_reader(actor)
        return bounded(readiness_board.board(self.store, self.app.now(), actor.clearance, self.app.policy), limit)

    def get_police_liaison_board(self, actor: Actor, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        self.require_reader(actor)
        return bounded(
            police_liaison_board.board(self.store, self.app.now(), actor.clearance, self.app.policy), limit
        )

    def get_decision_log(self, actor: Actor, crisis_id: str, page: Page | None = None) -> dict[str, Any]:
        """Every decision, or with a `page` that page and its neighbours' cursors."""
        self.require_reader(actor)
        return decision_log.decision_log(
            self.store, crisis_id, self.app.now(), actor.clearance, self.app.policy, page
        )

    def list_after_action_items(
        self, actor: Actor, page: Page, *, unit: str | None = None, status: str | None = None,
        overdue: bool | None = None,
    ) -> dict[str, Any]:
        """The improvement items of final after-action reviews by due time, a page at a time."""
        self.require_reader(actor)
        return after_action_items.items(
            self.store, self.app.now(), actor.clearance, self.app.policy, page, unit=unit, status=status,
            overdue=overdue,
        )
    def list_received_alerts(self, actor: Actor, limit: int = DEFAULT_LIMIT, after: str | None = None) -> dict[str, Any]:
        """The watch list of received alerts (application.projections.received_alert), a page at a time."""
        authorise(actor, "list_received_alerts")
        return received_alert.watch_list(self.store, self.app.now(), actor.clearance, self.app.policy, limit, after)
    def exercise_crises(self) -> set[str]:
        """The crises declared as exercises, for the auditors' lists: the overview's set when it has applied the
        whole log (one small query), else read from the log, so that a lagging or stopped follower changes no
        answer (the log's declarations are read by topic: a scan of the events table)."""
        head = self.app.recorder.max_notification_id() or 0
        if self.position(SituationOverview.name) >= head:  # type: ignore[attr-defined] - Projections' own
            return {row["crisis_id"] for row in self.store.query(f"SELECT crisis_id FROM {EXERCISES}")}
        return exercise_crises(self.app)

    def list_public_warnings(
        self, actor: Actor, crisis_id: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """The register: the warnings of a crisis (drafts too), or without one the warnings in force, the
        latest issued first; at most `limit` (`cut` says how many there are)."""
        authorise(actor, "list_public_warnings")
        warnings = public_warning_register.register(
            self.store, actor.clearance, self.app.policy, crisis_id=crisis_id, in_force_only=crisis_id is None
        )
        at = display(self.app.now(), seconds=True)
        crisis = {"crisis_id": crisis_id, "exercise": self.app.is_exercise(crisis_id)} if crisis_id else {}
        return bounded({"at": at, **crisis, "warnings": warnings}, limit)

    # --- how current the picture is -----------------------------------------------------------------

    def status(self) -> dict[str, tuple[int, Failure | None]]:
        """Every read model's position, and the failure that stopped it (kept in the store by whichever process
        follows the log), in one query."""
        rows = self.store.query(
            f"SELECT t.view, t.position, f.position AS failed_position, f.error, f.failed_at, f.attempts"
            f" FROM {TRACKING_TABLE} t LEFT JOIN {FAILURES_TABLE} f ON f.view = t.view"
        )
        found = {
            row["view"]: (
                int(row["position"]),
                Failure(row["view"], int(row["failed_position"]), row["error"], row["failed_at"], int(row["attempts"]))
                if row["failed_position"] is not None
                else None,
            )
            for row in rows
        }
        return {name: found.get(name, (0, None)) for name in self.models}

    def failures(self) -> dict[str, Failure]:
        return {name: failure for name, (_, failure) in self.status().items() if failure is not None}

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def freshness(self, name: str) -> dict[str, Any]:
        """How current a read of `name` is: the log position it reflects (the lowest of the models it is made
        of), the head of the log, how many events it is behind, `as_of` (when the last event it reflects was
        recorded) and `state`: `live`; `behind` when an event it misses is older than BEHIND_AFTER_SECONDS;
        `stale` when one is older than STALE_AFTER_SECONDS or a model of it is stopped by an event it fails on
        (`failed`: which, where, since when)."""
        status = self.status()
        parts = [status[part] for part in MADE_OF.get(name, (name,))]
        position = min(part_position for part_position, _ in parts)
        failure = min((f for _, f in parts if f is not None), key=lambda f: f.position, default=None)
        head = self.head()
        behind = max(0, head - position)
        lag = self.lag_seconds(position, head)
        state = "live" if lag < BEHIND_AFTER_SECONDS else "behind" if lag < STALE_AFTER_SECONDS else "stale"
        if failure is not None:
            state = "stale"
        return {
            "position": position,
            "head": head,
            "behind": behind,
            "as_of": display(self._event_time(position), seconds=True),
            "state": state,
            "failed": None
            if failure is None
            else {
                "model": failure.model,
                "position": failure.position,
                "since": display(datetime.fromisoformat(failure.failed_at), seconds=True),
                "attempts": failure.attempts,
            },
        }

    def readiness(self, max_lag: int) -> Readiness:
        """Whether the picture may be served: the store answers, no read model is stopped by a failure, and
        every one is within `max_lag` events of the log's head."""
        try:
            status, head = self.status(), self.head()
        except Exception as error:
            log.warning("readiness: the store does not answer (%s)", error)
            return Readiness([N_("the store does not answer")], {}, store_unreachable=True)
        problems: list[str] = []
        models: dict[str, dict[str, Any]] = {}
        for name, (position, failure) in status.items():
            behind = max(0, head - position)
            models[name] = {"position": position, "behind": behind, "failed": failure is not None}
            if failure is not None:
                kind = failure.error.split(":", 1)[0]
                problems.append(N_(
                    "read model {name} is stopped before the event at position {position}, which it fails "
                    "on ({kind}; since {failed_at}, {attempts} attempt(s)); {behind} events behind", name=name, position=failure.position, kind=kind, failed_at=failure.failed_at, attempts=failure.attempts, behind=behind
                ))
            elif behind > max_lag:
                problems.append(N_("read model {name} is {behind} events behind the head {head} (at most {max_lag})", name=name, behind=behind, head=head, max_lag=max_lag))
        return Readiness(problems, models)

    def lag_seconds(self, position: int, head: int) -> float:
        """How old the first event after `position` is, when the log's head is beyond it (0 at the head)."""
        missing = self._event_time(position, following=True) if head > position else None
        return max(0.0, (self.app.now() - missing).total_seconds()) if missing is not None else 0.0

    def _event_time(self, position: int, following: bool = False) -> datetime | None:
        """When the event at `position` (or the first one after it) was recorded; remembered, a few at a time."""
        key = (position, following)
        if key in self._times:
            return self._times[key]
        found = self.app.recorder.select_notifications(
            start=position + 1 if following else position, limit=1, stop=None if following else position
        ) if following or position > 0 else []
        moment = None
        if found:
            event = self.app.mapper.to_domain_event(found[0])
            moment = getattr(event, "recorded_at", None) or event.timestamp
        if len(self._times) >= 256:
            self._times.clear()
        self._times[key] = moment
        return moment
