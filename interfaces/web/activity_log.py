"""An activity log (in the manner of ICS 214) as one printable page: who did what when, event by event in the
order recorded, from application.activity_log (redacted for its reader there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.access import Actor
from domain.shared import display
from interfaces.web.printing import classification, document, e, meta, row, section, time, words


def render(log: dict[str, Any], subject: str, reader: Actor, now: Any) -> str:
    """The page of `log`, whose `subject` says whose log it is ("unit KASKO in crisis C-S4")."""
    printed = display(now, seconds=True)
    rows = [_row(log_row) for log_row in log["rows"]]
    if log["more"]:
        rows.append(f'<tr class="more"><td colspan="6">{log["more"]} more not shown (at most {log["limit"]} rows: '
                    "narrow the window with since and until)</td></tr>")
    stopped = (
        f"<p class=\"more\">The log was read up to position {log['scanned_to']} of {log['log_position']}: later "
        "events are not shown; narrow the window.</p>" if log["scanned_to"] else ""
    )
    window = f"{time(log['since']) if log['since'] else 'the start of the crisis'} – {time(log['until'])}"
    return document(f"Activity log: {subject}", [
        '<table class="meta">',
        meta("Activity of", subject),
        meta("Window (recorded)", window, raw=True),
        meta("Rows", f"{len(log['rows'])}" + (f" of {len(log['rows']) + log['more']}" if log["more"] else "")),
        meta("Prepared by", f"{reader.user} ({reader.role}, {'cleared' if reader.clearance else 'not cleared'})"),
        meta("As of", time(printed), raw=True),
        "</table>",
        section("Activities", "activities", ["Occurred", "Recorded", "By", "Record", "Activity", "Classification"],
                rows, empty="No activity in the window."),
        stopped,
        "<p>Times are Europe/Helsinki wall-clock times with their UTC offset; rows are in the order recorded. "
        "Content a reader is not cleared for is shown as its classification label.</p>",
    ], printed=f"Prepared by {reader.user} at {printed.replace('T', ' ')}", exercise=bool(log.get("exercise")))


def _row(log_row: dict[str, Any]) -> str:
    details = "".join(
        f"<br>{e(name.replace('_', ' '))}: "
        + (f'<span class="redacted">{e(value)}</span>' if log_row["redacted"] and _is_label(value) else _value(value))
        for name, value in log_row["details"].items()
    )
    record = log_row["record"]
    if log_row["crisis_id"] not in (None, record):
        record = f"{record} ({log_row['crisis_id']})"
    return row(
        time(log_row["occurred_at"]), time(log_row["recorded_at"]), e(log_row["actor"]), e(record),
        e(log_row["summary"]) + details, classification(log_row["classification"]), position=str(log_row["position"]),
    )


def _value(value: Any) -> str:
    """A detail in words; a time as the other times are shown."""
    if isinstance(value, str) and len(value) >= 16 and value[10:11] == "T":
        try:
            return time(display(datetime.fromisoformat(value), seconds=value[16:17] == ":"))
        except ValueError:
            pass
    return e(words(value))


def _is_label(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and value.endswith("]")
