"""The human-readable report of a crisis export: one self-contained, printable HTML page.

It shows the crisis, the timeline in instant order and the decision log (times in Europe/Helsinki with their
offsets, as everywhere in Valmius), the police requests and continuity plans, the refused attempts, and the
SHA-256 of every data file of the archive, so a printed copy can be matched with the files. No scripts, no
external style sheets, fonts or images: it reads the same offline, in ten years.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body { font: 11pt/1.4 "Helvetica Neue", Arial, sans-serif; color: #111; margin: 2em auto; max-width: 75em;
padding: 0 1em; }
h1 { font-size: 18pt; margin-bottom: .2em; } h2 { font-size: 14pt; margin-top: 1.6em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; } th, td { border: 1px solid #bbb; padding: 3px 5px;
vertical-align: top; text-align: left; } th { background: #eee; } time { white-space: nowrap; }
.redacted { font-style: italic; color: #555; } .struck { text-decoration: line-through; } .late { color: #a40; }
.meta td:first-child { width: 14em; font-weight: bold; }
.digest { font-family: monospace; font-size: 8pt; word-break: break-all; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def render(report: dict[str, Any]) -> str:
    crisis = report["crisis"]
    requester = report["requester"]
    title = f"Crisis {crisis['crisis_id']}: inquiry record"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f"<p>{_e(crisis['title'])}</p>",
        '<table class="meta">',
        _meta("Classification", _classification(crisis["classification"])),
        _meta("Category, severity, condition", f"{crisis['category']}, {crisis['severity']}, {crisis['condition']}"),
        _meta("Status at export", crisis["status"]),
        _meta("Declared", f"{_time(crisis['declared_at'])} by {_e(crisis['declared_by'])}", raw=True),
        _meta("Lead", crisis["lead"] or "—"),
        _meta("Exported", _time(report["exported_at"]), raw=True),
        _meta("Requested by", f"{requester['user']} ({requester['role']}, "
              f"{'cleared' if requester['clearance'] else 'not cleared'}) via {report['requested_via']}"),
        _meta("Log position covered", f"1–{report['log_position']}"),
        _meta("Redaction", report["redaction"]),
        "</table>",
        _timeline(report["timeline"]),
        _decisions(report["decisions"]),
        _police(report["police_requests"]),
        _plans(report["plans"]),
        _refusals(report["refusals"]),
        _files(report["files"]),
        "<p>Times are Europe/Helsinki wall-clock times with their UTC offset; rows are ordered by instant.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _timeline(entries: list[dict[str, Any]]) -> str:
    rows = []
    for entry in entries:
        classes = " ".join(c for c in ("struck" if entry["struck"] else "", "late" if entry["late"] else "") if c)
        struck = (
            f"<br>struck through by {_e(entry['struck_by'])}: {_e(entry['struck_reason'])}" if entry["struck"] else ""
        )
        late = (
            f"<br>late entry ({entry['late_minutes']} min): {_e(entry['late_entry_reason'])}" if entry["late"] else ""
        )
        rows.append(
            f'<tr class="{classes}" data-position="{entry["position"]}">'
            f"<td>{_time(entry['occurred_at'])}</td><td>{_time(entry['recorded_at'])}</td>"
            f"<td>{_e(entry['actor'])}</td><td>{_e(entry['kind'])}</td><td>{_e(entry['ref'] or '')}</td>"
            f"<td>{_content(entry)}{struck}{late}</td><td>{_classification(entry['classification'])}</td></tr>"
        )
    return _section(
        "Timeline",
        "timeline",
        ["Occurred", "Recorded", "By", "Entry", "Ref", "Content", "Classification"],
        rows,
    )


def _decisions(decisions: list[dict[str, Any]]) -> str:
    rows = []
    for d in decisions:
        reviews = "".join(f"<br>review {_time(r['occurred_at'])} by {_e(r['actor'])}: {_e(r['outcome'])}"
                          for r in d["reviews"])
        links = "".join(
            f"<br>{word} {_e(d[key])}"
            for key, word in (("supersedes", "supersedes"), ("superseded_by", "superseded by"))
            if d[key]
        )
        rows.append(
            f'<tr data-decision="{_e(d["decision_id"])}"><td>{_e(d["decision_id"])}</td>'
            f"<td>{_time(d['decided_at'])}<br>recorded {_time(d['recorded_at'])} by {_e(d['recorded_by'])}</td>"
            f"<td>{_e(d['decided_by'])}<br>{_e(d['authority'] or '')}</td>"
            f"<td>{_field(d, 'decision')}{links}{reviews}</td><td>{_field(d, 'rationale')}</td>"
            f"<td>{_field(d, 'options')}</td><td>{_classification(d['classification'])}</td></tr>"
        )
    return _section(
        "Decision log", "decisions",
        ["Decision", "Decided", "Decided by, authority", "Decision", "Rationale", "Options considered",
         "Classification"],
        rows,
    )


def _police(requests: list[dict[str, Any]]) -> str:
    rows = []
    for r in requests:
        response = r.get("response") or {}
        answer = _field(response, "text") if response else ""
        rows.append(
            f"<tr><td>{_e(r['liaison_id'])}<br>{_e(r['request_id'])}</td><td>{_e(r['direction'])}<br>"
            f"{_e(r['request_type'])}</td><td>{_time(r['raised_at'])}</td><td>{_field(r, 'subject')}</td>"
            f"<td>{_e(r['status'])} {_time(r['closed_at']) if r['closed_at'] else ''}<br>{answer}</td></tr>"
        )
    headings = ["Matter, request", "Direction, type", "Raised", "Subject", "Outcome"]
    return _section("Police requests", "police", headings, rows)


def _plans(events: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{_e(e['data'].get('unit'))}</td><td>{_e(e['data'].get('plan_id'))}</td><td>{_e(e['type'])}</td>"
        f"<td>{_time(e['data'].get('occurred_at') or e['recorded_at'])}</td><td>{_e(e['actor'])}</td></tr>"
        for e in events
    ]
    return _section("Continuity plans", "plans", ["Unit", "Plan", "Event", "When", "By"], rows)


def _refusals(refusals: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{_time(r['at'])}</td><td>{_e(r['user'])} ({_e(r['role'])})</td><td>{_e(r['command'])} on "
        f"{_e(r['target'])}</td><td>{_e(r['rule'])}</td><td>{_e(r['message'])}</td></tr>"
        for r in refusals
    ]
    return _section("Refused attempts", "refusals", ["When", "Who", "Attempt", "Rule", "Why refused"], rows)


def _files(files: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{_e(f['name'])}</td><td>{f['records']}</td><td class=\"digest\">{f['sha256']}</td></tr>"
        for f in files
    ]
    return _section("Files of the archive", "files", ["File", "Records", "SHA-256"], rows)


# --- pieces ------------------------------------------------------------------------------------------


def _section(title: str, ident: str, headings: list[str], rows: list[str]) -> str:
    if not rows:
        return f'<h2 id="{ident}">{_e(title)}</h2><p>None.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in headings)
    return f'<h2 id="{ident}">{_e(title)}</h2><table id="{ident}-table"><thead><tr>{head}</tr></thead><tbody>' + (
        "\n".join(rows) + "</tbody></table>"
    )


def _meta(label: str, value: Any, raw: bool = False) -> str:
    return f"<tr><td>{_e(label)}</td><td>{value if raw else _e(value)}</td></tr>"


def _time(text: str | None) -> str:
    if not text:
        return ""
    return f'<time datetime="{_e(text)}">{_e(text.replace("T", " "))}</time>'


def _content(entry: dict[str, Any]) -> str:
    content = entry.get("content")
    if entry.get("redacted"):
        return f'<span class="redacted">{_e(content)}</span>'
    if isinstance(content, dict):
        return "<br>".join(f"{_e(k)}: {_e(_words(v))}" for k, v in content.items() if v not in (None, [], ""))
    return _e(content)


def _field(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if record.get("redacted"):
        return f'<span class="redacted">{_e(value)}</span>'
    return _e(_words(value))


def _words(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_words(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_words(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _classification(classification: dict[str, Any]) -> str:
    level = classification.get("level", "PUBLIC")
    detail = classification.get("legal_basis") or classification.get("marking") or ""
    return _e(f"{level} {detail}".strip())


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))
