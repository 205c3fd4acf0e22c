"""The district registry as the application is configured with it (Policy.districts): what clients list to name
a crisis's affected areas. The areas themselves are changed by a crisis command (application.crisis:
change_areas); the situation by district is a read (application.projections.district_overview)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.access import Actor, authorise
from domain.districts import DistrictRegistry

if TYPE_CHECKING:
    from application.coordination import Pipeline as UseCases
else:
    UseCases = object


class DistrictUseCases(UseCases):
    def list_districts(self, actor: Actor) -> DistrictRegistry:
        """The registry: every district with its code, names, parent and outline."""
        authorise(actor, "list_districts")
        return self.policy.districts
