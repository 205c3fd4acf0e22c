"""The situation by district: the active crises of each district of the registry, with their severity.

This read model keeps the areas each crisis names (as it named them: its declaration, then its changes of
areas); the query joins them with the situation overview's crises (severity, status, classification) and
places each area in its district through the registry as it is configured now, so a replaced registry needs
no rebuild. A district also shows the crises of its sub-districts; an area the registry does not know (named
before the registry was checked) is listed apart, by its name.

The areas of a crisis are its content: a reader without clearance sees a SECRET or RECEIVED crisis in no
district, only counted among those withheld.
"""

from __future__ import annotations

from typing import Any

from application.ports import Store, Tx
from application.projections.read_model import ReadModel
from application.projections.exercises import real
from application.projections.situation_overview import CLOSED, EXERCISES
from application.projections.values import stored_classification
from domain.crisis import Crisis
from domain.districts import District
from domain.secrecy import redact
from domain.shared import Policy, display


class DistrictOverview(ReadModel):
    name = "district_overview"
    tables = {"rm_crisis_areas": "(crisis_id TEXT, area TEXT, PRIMARY KEY (crisis_id, area))"}

    def subscriptions(self) -> dict:
        return {Crisis.Declared: self.declared, Crisis.AreasChanged: self.areas_changed}

    # Rows are written in the order of the events (after_rows): an area removed and named again in one batch
    # is deleted, then inserted.
    def declared(self, tx: Tx, e: Crisis.Declared, position: int) -> None:
        for area in dict.fromkeys(e.areas):
            self.after_rows(tx, "INSERT INTO rm_crisis_areas (crisis_id, area) VALUES (%s, %s)", (e.crisis_id, area))

    def areas_changed(self, tx: Tx, e: Crisis.AreasChanged, position: int) -> None:
        for area in e.removed:
            self.after_rows(tx, "DELETE FROM rm_crisis_areas WHERE crisis_id = %s AND area = %s", (e.crisis_id, area))
        for area in e.added:
            self.after_rows(tx, "INSERT INTO rm_crisis_areas (crisis_id, area) VALUES (%s, %s)", (e.crisis_id, area))


def by_district(store: Store, cleared: bool, policy: Policy, now: Any) -> dict[str, Any]:
    """Each district with active crises (not CLOSED) in it or in its sub-districts, by code; for each crisis its
    severity, status and the areas it names there. Uncleared readers see no classified crisis placed."""
    names = policy.units.short_names
    registry = policy.districts
    rows = store.query(
        "SELECT a.crisis_id, a.area, c.title, c.category, c.severity, c.status, c.classification"
        " FROM rm_crisis_areas a JOIN rm_crises c ON c.crisis_id = a.crisis_id"
        f" WHERE c.status <> %s AND {real('c.crisis_id', EXERCISES)} ORDER BY a.crisis_id, a.area",  # no exercise
        (CLOSED,),
    )
    placed: dict[str, dict[str, dict[str, Any]]] = {}  # district code -> crisis id -> entry
    unregistered: dict[str, dict[str, dict[str, Any]]] = {}  # area name -> crisis id -> entry
    withheld: set[str] = set()
    for row in rows:
        classification = stored_classification(row["classification"])
        if not (classification.is_public or cleared):
            withheld.add(row["crisis_id"])
            continue
        district = registry.find(row["area"])
        if district is None:
            _entry(unregistered.setdefault(row["area"], {}), row, cleared, names)
            continue
        for holder in _district_and_parents(district, registry):
            _entry(placed.setdefault(holder.code, {}), row, cleared, names)
    districts = []
    for district in registry:
        if district.code in placed:
            crises = sorted(placed[district.code].values(), key=lambda c: (-c["severity"], c["crisis_id"]))
            districts.append({
                "code": district.code, "name_fi": district.name_fi, "name_sv": district.name_sv,
                "parent": district.parent, "highest_severity": crises[0]["severity"], "crises": crises,
            })
    return {
        "at": display(now, seconds=True),
        "districts": districts,
        "unregistered_areas": [
            {"area": area, "crises": sorted(crises.values(), key=lambda c: (-c["severity"], c["crisis_id"]))}
            for area, crises in sorted(unregistered.items())
        ],
        "withheld_crises": len(withheld),
    }


def _district_and_parents(district: District, registry: Any) -> list[District]:
    chain, seen = [district], {district.code}
    while chain[-1].parent is not None and chain[-1].parent not in seen:
        parent = registry.find(chain[-1].parent)
        if parent is None:
            break
        seen.add(parent.code)
        chain.append(parent)
    return chain


def _entry(crises: dict[str, dict[str, Any]], row: dict[str, Any], cleared: bool, names: dict[str, str]) -> None:
    """The crisis of `row` among `crises`, with the area it names added to those it names there."""
    entry = crises.get(row["crisis_id"])
    if entry is None:
        entry = crises[row["crisis_id"]] = redact(
            "crisis", stored_classification(row["classification"]), cleared, names,
            crisis_id=row["crisis_id"], severity=row["severity"], status=row["status"], category=row["category"],
            title=row["title"], areas=[],
        )
    entry["areas"].append(row["area"])
