"""The incident status summary of a crisis (in the manner of ICS 209) as one printable page: the incident, its
status, the areas, the decisions in force as its objectives, the resources by unit, the actions (open first,
overdue flagged), the open police requests, the latest situation report and when the next is due, and who
prepared it when. Made from interfaces.http.schemas.incident_summary, redacted for its reader there.
"""

from __future__ import annotations

from typing import Any

from domain.shared import display
from interfaces.web.printing import classification, document, e, field, label, meta, row, section, time, words

def flag(words: object, when: bool = True) -> str:
    """`words` flagged in red (OVERDUE, REVIEW DUE, …) when `when`, else nothing."""
    return f' <span class="flag">{e(words)}</span>' if when else ""


def render(summary: dict[str, Any]) -> str:
    crisis, reader = summary["crisis"], summary["reader"]
    as_of = display(summary["as_of"], seconds=True)
    lead = crisis["lead_authority"] or crisis["external_lead"]
    title = f"Incident status summary: {crisis['crisis_id']}"
    exercise = bool(crisis.get("exercise"))
    return document(title, [
        '<table class="meta">',
        meta("Incident", field(crisis, "title"), raw=True),
        meta("Category, severity, condition", f"{crisis['category']}, {crisis['severity']}, {crisis['condition']}"),
        meta("Status", crisis["status"]),
        meta("Declared", f"{time(crisis['declared_at'])} by {e(crisis['declared_by'])}", raw=True),
        meta("Lead", field(crisis, "lead_authority") if crisis["redacted"] else e(lead or "—"), raw=True),
        meta("Areas", field(crisis, "title") if crisis["redacted"] else e(words(crisis["areas"]) or "—"), raw=True),
        meta("Classification", classification(crisis["classification"]), raw=True),
        meta("Latest situation report", _report(summary["latest_report"]), raw=True),
        meta("Next report due", _next_report(crisis), raw=True),
        meta("Prepared by", f"{reader.user} ({reader.role}, {'cleared' if reader.clearance else 'not cleared'})"),
        meta("As of", time(as_of), raw=True),
        "</table>",
        _decisions(summary["decisions"]),
        _units(summary["units"]),
        _actions(summary["actions"]),
        _police(summary["police_requests"], summary["threshold_minutes"]),
        "<p>Times are Europe/Helsinki wall-clock times with their UTC offset. Content a reader is not cleared for "
        "is shown as its classification label.</p>",
    ], marking=f"{crisis['crisis_id']} · {label(crisis['classification'])}",
       printed=f"Prepared by {reader.user} at {as_of.replace('T', ' ')}", exercise=exercise)


def _report(report: dict[str, Any] | None) -> str:
    if report is None:
        return "none issued"
    issued = f"#{report['number']} issued {time(report['occurred_at'])} by {e(report['actor'])}"
    return f"{issued}<br>{field(report, 'summary')}"


def _next_report(crisis: dict[str, Any]) -> str:
    due = crisis["next_situation_report_due"]
    if not due:
        return "—"
    return time(due) + flag("OVERDUE", crisis["next_situation_report_overdue"])


def _decisions(decisions: list[dict[str, Any]]) -> str:
    rows = [
        row(
            e(d["decision_id"]) + (f"<br>supersedes {e(d['supersedes'])}" if d["supersedes"] else ""),
            time(d["occurred_at"]),
            f"{field(d, 'decided_by')}<br>{field(d, 'authority')}",
            field(d, "decision"),
            field(d, "rationale"),
            time(d["review_at"]) + flag("REVIEW DUE", d["review_due"]),
            classification(d["classification"]),
            decision=d["decision_id"],
        )
        for d in decisions
    ]
    return section(
        "Objectives and decisions in force", "decisions",
        ["Decision", "Decided", "Decided by, authority", "Decision", "Rationale", "Review", "Classification"], rows,
    )


def _units(units: list[dict[str, Any]]) -> str:
    rows = []
    for u in units:
        plans = "<br>".join(
            f"{e(p['plan_id'])} {field(p, 'title')}: active {e(p['active'])} of MTPD {e(p['mtpd'])}"
            + flag("BEYOND MTPD", p["beyond_mtpd"])
            for p in u["plans"]
        )
        rows.append(row(
            f"{e(u['unit'])}<br>{e(u['name'])}",
            e(u["readiness"] or "—") + (f"<br>since {time(u['readiness_since'])}" if u["readiness_since"] else ""),
            str(u["open"]),
            flag(u["overdue"]).strip() if u["overdue"] else "0",
            str(u["completed"]),
            str(u["cancelled"]),
            plans or "—",
            unit=u["unit"],
        ))
    return section(
        "Resources by unit", "units",
        ["Unit", "Readiness", "Open", "Overdue", "Completed", "Cancelled", "Continuity plans active for the crisis"],
        rows,
    )


def _actions(actions: list[dict[str, Any]]) -> str:
    rows = [
        row(
            e(a["action_id"]),
            e(a["unit"]),
            field(a, "task"),
            f"{time(a['occurred_at'])}<br>by {e(a['actor'])}",
            time(a["due_at"]),
            e(a["status"]) + flag("OVERDUE", a["overdue"])
            + (f"<br>{time(a['closed_at'])} by {e(a['closed_by'])}" if a["closed_at"] else "")
            + (f"<br>{field(a, 'note')}" if a["note"] else ""),
            classification(a["classification"]),
            action=a["action_id"],
        )
        for a in actions
    ]
    return section(
        "Actions", "actions", ["Action", "Unit", "Task", "Assigned", "Due", "Status", "Classification"], rows
    )


def _police(requests: list[dict[str, Any]], threshold: int) -> str:
    rows = [
        row(
            f"{e(r['liaison_id'])}<br>{e(r['request_id'])}",
            f"{e(r['direction'])}<br>{e(r['request_type'])}",
            time(r["raised_at"]),
            field(r, "subject"),
            f"{r['age_minutes']} min" + flag(f"UNANSWERED BEYOND {threshold} MIN", r["unanswered_beyond_threshold"]),
            classification(r["classification"]),
            request=r["request_id"],
        )
        for r in requests
    ]
    return section(
        "Police requests open", "police",
        ["Matter, request", "Direction, type", "Raised", "Subject", "Open for", "Classification"], rows,
    )
