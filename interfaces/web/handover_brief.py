"""A handover brief as a printable page (interfaces.web.printing): what the incoming person was given, with its
digest, so that a printed copy can be matched with the record."""

from __future__ import annotations

from typing import Any

from interfaces.web.printing import document, e, field, meta, row, section, time

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
    ("reminders_unacknowledged", "Reminders unacknowledged",
     ("reminder_id", "deadline_kind", "crisis_id", "unit", "due_at", "notices")),
]


def render(answer: dict[str, Any]) -> str:
    brief = answer["brief"]
    parts = [
        '<table class="meta">',
        meta("Prepared", f"{answer['prepared_at']} by {answer['prepared_by']}"),
        meta("Covers the log", f"after position {answer['since_position']} up to {answer['until_position']}"),
        meta("Picture at", brief["at"]),
        meta("Readiness", ", ".join(f"{unit} {level}" for unit, level in brief["readiness"].items())),
        meta("SHA-256", f'<span class="digest">{e(answer["digest"])}</span>', raw=True),
        "</table>",
    ]
    for key, heading, columns in SECTIONS:
        listed = brief.get(key)
        if listed is None:  # a brief prepared before the section was added
            continue
        parts.append(section(f"{heading} ({listed['total']})", key, [c.replace("_", " ") for c in columns],
                             [_row(item, columns) for item in listed["items"]]))
    changes = brief["changes"]
    more = " and more" if changes["more"] else ""
    parts.append(section(f"What happened ({len(changes['items'])}{more})", "changes", ["recorded at", "record", "what"],
                         [_row(item, ("recorded_at", "record", "what")) for item in changes["items"]], empty="Nothing."))
    parts.append(section(f"What was decided ({len(brief['decided'])})", "decided",
                         ["crisis id", "decision id", "decided at", "review at"],
                         [_row(item, ("crisis_id", "decision_id", "decided_at", "review_at")) for item in brief["decided"]],
                         empty="Nothing."))
    return document(f"Handover brief #{answer['number']}: {answer['position']}", parts,
                    printed=f"Prepared {answer['prepared_at']} by {answer['prepared_by']}")


def _row(item: dict[str, Any], columns: tuple[str, ...]) -> str:
    return row(*(time(item.get(c)) if c.endswith("_at") else _cell(item, c) for c in columns))


def _cell(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, bool):
        return "yes" if value else ""
    return field(item, name)
