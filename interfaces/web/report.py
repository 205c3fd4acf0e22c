"""The human-readable report of a crisis export: one self-contained, printable HTML page.

It shows the crisis, the timeline in instant order and the decision log (times in Europe/Helsinki with their
offsets, as everywhere in Valmius), the police requests and continuity plans, the refused attempts, and the
SHA-256 of every data file of the archive, so a printed copy can be matched with the files. No scripts, no
external style sheets, fonts or images: it reads the same offline, in ten years.
"""

from __future__ import annotations

from typing import Any

from interfaces.web.printing import classification, document, e, label, field, meta, section, time, words


def render(report: dict[str, Any]) -> str:
    crisis = report["crisis"]
    requester = report["requester"]
    title = f"Crisis {crisis['crisis_id']}: inquiry record"
    return document(title, [
        f"<p>{e(crisis['title'])}</p>",
        '<table class="meta">',
        meta("Classification", classification(crisis["classification"])),
        meta("Category, severity, condition", f"{crisis['category']}, {crisis['severity']}, {crisis['condition']}"),
        meta("Status at export", crisis["status"]),
        meta("Declared", f"{time(crisis['declared_at'])} by {e(crisis['declared_by'])}", raw=True),
        meta("Lead", crisis["lead"] or "—"),
        meta("Exported", time(report["exported_at"]), raw=True),
        meta("Requested by", f"{requester['user']} ({requester['role']}, "
             f"{'cleared' if requester['clearance'] else 'not cleared'}) via {report['requested_via']}"),
        meta("Log position covered", f"1–{report['log_position']}"),
        meta("Redaction", report["redaction"]),
        "</table>",
        _timeline(report["timeline"]),
        _decisions(report["decisions"]),
        _police(report["police_requests"]),
        _plans(report["plans"]),
        _refusals(report["refusals"]),
        _files(report["files"]),
        "<p>Times are Europe/Helsinki wall-clock times with their UTC offset; rows are ordered by instant.</p>",
    ], marking=f"Classification: {label(crisis['classification'])}", exercise=bool(crisis.get("exercise")))


def _timeline(entries: list[dict[str, Any]]) -> str:
    rows = []
    for entry in entries:
        classes = " ".join(c for c in ("struck" if entry["struck"] else "", "late" if entry["late"] else "") if c)
        struck = (
            f"<br>struck through by {e(entry['struck_by'])}: {e(entry['struck_reason'])}" if entry["struck"] else ""
        )
        late = (
            f"<br>late entry ({entry['late_minutes']} min): {e(entry['late_entry_reason'])}" if entry["late"] else ""
        )
        rows.append(
            f'<tr class="{classes}" data-position="{entry["position"]}">'
            f"<td>{time(entry['occurred_at'])}</td><td>{time(entry['recorded_at'])}</td>"
            f"<td>{e(entry['actor'])}</td><td>{e(entry['kind'])}</td><td>{e(entry['ref'] or '')}</td>"
            f"<td>{_content(entry)}{struck}{late}</td><td>{classification(entry['classification'])}</td></tr>"
        )
    return section(
        "Timeline",
        "timeline",
        ["Occurred", "Recorded", "By", "Entry", "Ref", "Content", "Classification"],
        rows,
    )


def _decisions(decisions: list[dict[str, Any]]) -> str:
    rows = []
    for d in decisions:
        reviews = "".join(f"<br>review {time(r['occurred_at'])} by {e(r['actor'])}: {e(r['outcome'])}"
                          for r in d["reviews"])
        links = "".join(
            f"<br>{word} {e(d[key])}"
            for key, word in (("supersedes", "supersedes"), ("superseded_by", "superseded by"))
            if d[key]
        )
        rows.append(
            f'<tr data-decision="{e(d["decision_id"])}"><td>{e(d["decision_id"])}</td>'
            f"<td>{time(d['decided_at'])}<br>recorded {time(d['recorded_at'])} by {e(d['recorded_by'])}</td>"
            f"<td>{e(d['decided_by'])}<br>{e(d['authority'] or '')}</td>"
            f"<td>{field(d, 'decision')}{links}{reviews}</td><td>{field(d, 'rationale')}</td>"
            f"<td>{field(d, 'options')}</td><td>{classification(d['classification'])}</td></tr>"
        )
    return section(
        "Decision log", "decisions",
        ["Decision", "Decided", "Decided by, authority", "Decision", "Rationale", "Options considered",
         "Classification"],
        rows,
    )


def _police(requests: list[dict[str, Any]]) -> str:
    rows = []
    for r in requests:
        response = r.get("response") or {}
        answer = field(response, "text") if response else ""
        rows.append(
            f"<tr><td>{e(r['liaison_id'])}<br>{e(r['request_id'])}</td><td>{e(r['direction'])}<br>"
            f"{e(r['request_type'])}</td><td>{time(r['raised_at'])}</td><td>{field(r, 'subject')}</td>"
            f"<td>{e(r['status'])} {time(r['closed_at']) if r['closed_at'] else ''}<br>{answer}</td></tr>"
        )
    headings = ["Matter, request", "Direction, type", "Raised", "Subject", "Outcome"]
    return section("Police requests", "police", headings, rows)


def _plans(events: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{e(event['data'].get('unit'))}</td><td>{e(event['data'].get('plan_id'))}</td>"
        f"<td>{e(event['type'])}</td><td>{time(event['data'].get('occurred_at') or event['recorded_at'])}</td>"
        f"<td>{e(event['actor'])}</td></tr>"
        for event in events
    ]
    return section("Continuity plans", "plans", ["Unit", "Plan", "Event", "When", "By"], rows)


def _refusals(refusals: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{time(r['at'])}</td><td>{e(r['user'])} ({e(r['role'])})</td><td>{e(r['command'])} on "
        f"{e(r['target'])}</td><td>{e(r['rule'])}</td><td>{e(r['message'])}</td></tr>"
        for r in refusals
    ]
    return section("Refused attempts", "refusals", ["When", "Who", "Attempt", "Rule", "Why refused"], rows)


def _files(files: list[dict[str, Any]]) -> str:
    rows = [
        f"<tr><td>{e(f['name'])}</td><td>{f['records']}</td><td class=\"digest\">{f['sha256']}</td></tr>"
        for f in files
    ]
    return section("Files of the archive", "files", ["File", "Records", "SHA-256"], rows)


def _content(entry: dict[str, Any]) -> str:
    content = entry.get("content")
    if entry.get("redacted"):
        return f'<span class="redacted">{e(content)}</span>'
    if isinstance(content, dict):
        return "<br>".join(f"{e(k)}: {e(words(v))}" for k, v in content.items() if v not in (None, [], ""))
    return e(content)
