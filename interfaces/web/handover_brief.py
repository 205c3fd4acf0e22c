"""A handover brief as a printable page: what the incoming person was given, with its digest, so a printed copy can
be matched with the record. No scripts; the audit report's print style."""

from __future__ import annotations

from html import escape
from typing import Any

from interfaces.web.report import STYLE

SECTIONS = [  # (key in the brief, heading, the columns of its rows)
    ("overdue_actions", "Overdue actions", ("crisis_id", "action_id", "unit", "due_at", "task")),
    ("open_actions", "Open actions", ("crisis_id", "action_id", "unit", "due_at", "overdue", "task")),
    ("situation_reports_due", "Situation reports due", ("crisis_id", "number", "issued_at", "next_due_at", "overdue")),
    ("police_requests_unanswered", "Police requests unanswered beyond the threshold",
     ("liaison_id", "request_id", "direction", "request_type", "age_minutes", "subject")),
    ("police_requests_open", "Police requests open", ("liaison_id", "request_id", "direction", "request_type",
                                                      "age_minutes", "subject")),
    ("decisions_review_due", "Decisions due for review", ("crisis_id", "decision_id", "review_at")),
    ("active_plans", "Continuity plans active", ("unit", "plan_id", "active_for", "active_minutes", "mtpd_minutes")),
    ("active_crises", "Active crises", ("crisis_id", "severity", "status", "condition", "title")),
]


def render(answer: dict[str, Any]) -> str:
    brief = answer["brief"]
    title = f"Handover brief #{answer['number']}: {answer['position']}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        '<table class="meta">',
        _row("Prepared", f"{answer['prepared_at']} by {answer['prepared_by']}"),
        _row("Covers the log", f"after position {answer['since_position']} up to {answer['until_position']}"),
        _row("Picture at", brief["at"]),
        _row("Readiness", ", ".join(f"{unit} {level}" for unit, level in brief["readiness"].items())),
        f'<tr><td>SHA-256</td><td class="digest">{_e(answer["digest"])}</td></tr>',
        "</table>",
    ]
    for key, heading, columns in SECTIONS:
        section = brief[key]
        parts.append(f"<h2>{_e(heading)} ({section['total']})</h2>")
        parts.append(_table(section["items"], columns) if section["items"] else "<p>None.</p>")
    changes = brief["changes"]
    parts.append(f"<h2>What happened ({len(changes['items'])}{' and more' if changes['more'] else ''})</h2>")
    parts.append(_table(changes["items"], ("recorded_at", "record", "what")) if changes["items"] else "<p>Nothing.</p>")
    parts.append(f"<h2>What was decided ({len(brief['decided'])})</h2>")
    parts.append(_table(brief["decided"], ("crisis_id", "decision_id", "decided_at", "review_at")) if brief["decided"] else "<p>Nothing.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{_e(column.replace('_', ' '))}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(_cell(row.get(column)))}</td>" for column in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


def _row(name: str, value: str) -> str:
    return f"<tr><td>{_e(name)}</td><td>{_e(value)}</td></tr>"


def _e(text: Any) -> str:
    return escape(str(text))
