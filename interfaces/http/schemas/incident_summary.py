"""The incident status summary of a crisis (ICS 209 style) as data, for the printable page, and what the printable
answers take.

The summary is made of what the JSON answers already show, redacted exactly as they are: the crisis as GET
/crises/{id} presents it (`present_crisis`), its active continuity plans as the readiness board shows them, its
open police requests as the police liaison board does. `disclosed` names the non-public records it shows a
cleared reader, in the words of the disclosure log (interfaces.http.disclosure reads them off the same
response models the JSON answers have).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query

from application.coordination import Coordination
from application.ports import Store
from application.projections import police_liaison_board, readiness_board
from domain.access import Actor, authorise
from domain.shared import format_duration
from interfaces.http.disclosure import disclosed_records
from interfaces.http.schemas.crisis import CrisisResponse, present_crisis
from interfaces.http.schemas.read_models import PoliceLiaisonBoardResponse, ReadinessBoardResponse

PDF = "application/pdf"
HTML = "text/html"


class PrintFormat(StrEnum):
    """How a printable document is sent: the page, or the same as a PDF."""

    HTML = "html"
    PDF = "pdf"


FormatQuery = Annotated[PrintFormat | None, Query(
    description="`pdf` for a PDF (A4), `html` for the printable page; without it, the `Accept` header decides "
    "(`application/pdf` for a PDF), else the page.",
)]
PRINTABLE = {
    200: {
        "description": "The printable page (self-contained HTML), or the same as a PDF (A4), by `format` or "
        "`Accept`. Redacted for the reader; a cleared reader's reading of SECRET or RECEIVED content is kept "
        "in the disclosure log.",
        "content": {HTML: {"schema": {"type": "string"}}, PDF: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def wants_pdf(format: PrintFormat | None, accept: str | None) -> bool:  # noqa: A002 - the query parameter's name
    """The PDF when asked for by `format`, or when `Accept` names application/pdf before text/html."""
    if format is not None:
        return format is PrintFormat.PDF
    media = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    return PDF in media and (HTML not in media or media.index(PDF) < media.index(HTML))


def incident_summary(app: Coordination, store: Store, actor: Actor, crisis_id: str) -> dict[str, Any]:
    """The summary of the crisis for `actor`, as of now; with `disclosed`, the non-public records it shows them."""
    authorise(actor, "get_incident_summary")
    now = app.now()
    crisis = present_crisis(app.get_crisis(actor, crisis_id), actor, now, app.policy).model_dump()
    decisions = [d for d in crisis["decisions"] if not d["superseded_by"]]
    actions = sorted(
        crisis["actions"], key=lambda a: (a["status"] != "OPEN", not a["overdue"], datetime.fromisoformat(a["due_at"]))
    )
    latest = crisis["situation_reports"][-1:]
    board = readiness_board.board(store, now, actor.clearance, app.policy, exercise=crisis["exercise"])
    plans = [p for p in board["active_plans"] if p["crisis_id"] == crisis_id]
    police = police_liaison_board.board(store, now, actor.clearance, app.policy, crisis_id=crisis_id, open_only=True)
    shown = {**crisis, "log": [], "decisions": decisions, "situation_reports": latest, "after_action_review": None}
    return {
        "as_of": now,
        "reader": actor,
        "crisis": crisis,
        "decisions": decisions,
        "actions": actions,
        "latest_report": latest[0] if latest else None,
        "units": _units(actions, plans, board["units"]),
        "police_requests": police["open"],
        "threshold_minutes": police["threshold_minutes"],
        "disclosed": [
            *disclosed_records(shown, crisis_id, CrisisResponse),
            *disclosed_records({"active_plans": plans}, crisis_id, ReadinessBoardResponse),
            *disclosed_records({"open": police["open"]}, crisis_id, PoliceLiaisonBoardResponse),
        ],
    }


def _units(
    actions: list[dict[str, Any]], plans: list[dict[str, Any]], readiness: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The units with actions in the crisis or plans active for it: their actions by state, their readiness,
    and their active plans with the time active against the MTPD."""
    known = {u["unit"]: u for u in readiness}
    units = sorted({a["unit"] for a in actions} | {p["unit"] for p in plans})
    return [
        {
            "unit": unit,
            "name": known.get(unit, {}).get("name") or unit,
            "readiness": known.get(unit, {}).get("readiness"),
            "readiness_since": known.get(unit, {}).get("changed_at"),
            "open": sum(a["unit"] == unit and a["status"] == "OPEN" for a in actions),
            "overdue": sum(a["unit"] == unit and a["overdue"] for a in actions),
            "completed": sum(a["unit"] == unit and a["status"] == "COMPLETED" for a in actions),
            "cancelled": sum(a["unit"] == unit and a["status"] == "CANCELLED" for a in actions),
            "plans": [
                {**p, "active": format_duration(timedelta(minutes=p["active_minutes"])),
                 "mtpd": format_duration(timedelta(minutes=p["mtpd_minutes"]))}
                for p in plans if p["unit"] == unit
            ],
        }
        for unit in units
    ]
