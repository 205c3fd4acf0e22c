"""The reads of the situation picture: one query per read model, for the roles that read crises, at the
Coordination's clock and policy (a mixin of application.projections.runner.Projections)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from application.projections import crisis_timeline, decision_log, police_liaison_board, readiness_board
from application.projections import situation_overview
from application.projections.situation_overview import SituationOverview
from domain.access import READS_CRISES, Actor, require_role, role_hint

if TYPE_CHECKING:
    from application.coordination import Coordination
    from application.ports import Store


class Queries:
    app: Coordination
    store: Store

    if TYPE_CHECKING:

        def freshness(self, name: str) -> dict[str, Any]: ...  # Projections.freshness

    def require_reader(self, actor: Actor) -> None:
        """Only the roles that read crises read the picture (its stream too): the others get FORBIDDEN_ROLE."""
        require_role(actor, READS_CRISES, "read the situation picture", role_hint(actor))

    def get_situation_overview(self, actor: Actor, at: datetime | None = None) -> dict[str, Any]:
        self.require_reader(actor)
        return situation_overview.overview(self.store, at or self.app.now(), actor.clearance, self.app.policy)

    def get_situation_picture(self, actor: Actor) -> dict[str, Any]:
        """The overview with its `freshness` (see Projections.freshness): what the live stream sends."""
        return {**self.get_situation_overview(actor), "freshness": self.freshness(SituationOverview.name)}

    def get_crisis_timeline(self, actor: Actor, crisis_id: str) -> dict[str, Any]:
        self.require_reader(actor)
        return crisis_timeline.timeline(self.store, crisis_id, self.app.now(), actor.clearance, self.app.policy)

    def get_readiness_board(self, actor: Actor) -> dict[str, Any]:
        self.require_reader(actor)
        return readiness_board.board(self.store, self.app.now(), actor.clearance, self.app.policy)

    def get_police_liaison_board(self, actor: Actor) -> dict[str, Any]:
        self.require_reader(actor)
        return police_liaison_board.board(self.store, self.app.now(), actor.clearance, self.app.policy)

    def get_decision_log(self, actor: Actor, crisis_id: str) -> dict[str, Any]:
        self.require_reader(actor)
        return decision_log.decision_log(self.store, crisis_id, self.app.now(), actor.clearance, self.app.policy)
