"""CHECKPOINT lines asserted against the read models: the situation overview, the crisis timeline, the
police liaison board and the decision log, read through the HTTP API as the checkpoint's reader.

Each read asks for `min_position` = the last stored event, so it reads the state after every step before
the checkpoint. Time-derived figures (overdue, ages, time against MTPD) come from the server clock, which
the replayer has set to the checkpoint's moment. The "(AUD replay)" checkpoint reads the live models here;
the audit issue recomputes it from history.

`check_read_models` names the facts it checked in the checkpoint's `CheckpointRecord.checked`: the keys of
`expect` the read models show, and the `unmapped` clauses only they show (the offsets of the timeline's rows,
the time a crisis was closed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.acceptance.replay import Replayer, note_clauses

VIEWS = ("/situation-overview", "/readiness-board", "/police-liaison-board")
CRISIS_VIEWS = ("timeline", "decision-log")
READ_MODEL_FACTS = (
    "active_crises", "overdue_actions", "open_actions", "readiness", "police_requests_open", "unanswered_over_30min",
    "active_plans", "latest_sitrep", "decisions", "superseded", "timeline_order", "redaction",
)
ENTRY_KINDS = {"sitrep": "situation_report", "log entry": "log_entry"}


def _same_instant(shown: str | None, expected: str) -> bool:
    return shown is not None and datetime.fromisoformat(shown) == datetime.fromisoformat(expected)


def _offset(text: str) -> str:
    return text[-6:]


def check_read_models(replayer: Replayer, checkpoint: dict[str, Any]) -> None:
    cid = checkpoint["id"]
    check = replayer.expect
    expect = checkpoint["expect"]
    reader, clearance = checkpoint.get("reader", "LR-1"), checkpoint.get("clearance", True)
    position = replayer.event_position()

    def read(path: str, *, cleared: bool = clearance) -> Any:
        return replayer.get(f"{path}?min_position={position}&wait=5", reader, clearance=cleared)

    overview = read("/situation-overview")
    if overview is None:
        return
    crises = list(replayer.crises)
    timelines = {c: read(f"/crises/{c}/timeline") for c in crises}
    decision_logs = {c: read(f"/crises/{c}/decision-log") for c in crises}
    board = read("/police-liaison-board")
    record = replayer.replay.checkpoints[cid]
    record.observed["read_models"] = overview
    record.checked.update(key for key in READ_MODEL_FACTS if key in expect)
    history = expect.get("history", {})
    record.checked.update(f"history.{key}" for key in ("severity", "answer_times", "completed_late") if key in history)

    if "active_crises" in expect:
        shown = {c["crisis_id"]: c for c in overview["active_crises"]}
        wanted = {c["crisis"]: c for c in expect["active_crises"]}
        check(set(shown) == set(wanted), f"{cid} overview: active crises {sorted(shown)}, expected {sorted(wanted)}")
        for crisis_id, want in wanted.items():
            got = shown.get(crisis_id, {})
            for key in ("severity", "status", "lead"):
                if key in want:
                    check(got.get(key) == want[key], f"{cid} overview: {crisis_id} {key} {got.get(key)!r}, expected {want[key]!r}")

    if "overdue_actions" in expect:
        overdue = sorted(a["action_id"] for a in overview["overdue_actions"])
        check(overdue == sorted(expect["overdue_actions"]), f"{cid} overview: overdue {overdue}")
    if "open_actions" in expect:
        open_ids = sorted(a["action_id"] for a in overview["open_actions"])
        wanted = expect["open_actions"]
        if isinstance(wanted, int):
            check(len(open_ids) == wanted, f"{cid} overview: {len(open_ids)} open actions, expected {wanted}")
        else:
            check(open_ids == sorted(wanted), f"{cid} overview: open actions {open_ids}, expected {sorted(wanted)}")

    if "readiness" in expect:
        wanted = dict(expect["readiness"])
        others = wanted.pop("others", None)
        for unit, level in overview["readiness"].items():
            target = wanted.get(unit, others)
            if target is not None:
                check(level == target, f"{cid} overview: {unit} at {level}, expected {target}")

    police = overview["police_requests"]
    if "police_requests_open" in expect:
        check(
            len(police["open"]) == expect["police_requests_open"],
            f"{cid} overview: {len(police['open'])} open police requests, expected {expect['police_requests_open']}",
        )
    if "unanswered_over_30min" in expect:
        late = sorted(r["request_id"] for r in police["unanswered_beyond_threshold"])
        check(late == sorted(expect["unanswered_over_30min"]), f"{cid} overview: unanswered beyond 30 min {late}")

    if "active_plans" in expect:
        shown = {p["plan_id"]: p for p in overview["active_plans"]}
        wanted = {p["plan"]: p for p in expect["active_plans"]}
        check(set(shown) == set(wanted), f"{cid} overview: active plans {sorted(shown)}, expected {sorted(wanted)}")
        for plan, want in wanted.items():
            for key in ("active_minutes", "mtpd_minutes"):
                if key in want:
                    got = shown.get(plan, {}).get(key)
                    check(got == want[key], f"{cid} overview: {plan} {key} {got}, expected {want[key]}")

    if "latest_sitrep" in expect:
        want = expect["latest_sitrep"]
        crisis = next((c for c in overview["active_crises"] if c["crisis_id"] == want["crisis"]), {})
        report = crisis.get("latest_situation_report") or {}
        check(report.get("number") == want["number"], f"{cid} overview: latest sitrep {report}, expected #{want['number']}")
        if "issued_at" in want:
            check(_same_instant(report.get("issued_at"), want["issued_at"]), f"{cid} overview: sitrep issued {report}")
        if "next_due" in want:
            check(_same_instant(report.get("next_due_at"), want["next_due"]), f"{cid} overview: sitrep next due {report}")
        if "sitrep_overdue" in expect:
            check(report.get("overdue") == expect["sitrep_overdue"], f"{cid} overview: sitrep overdue {report}")

    if "decisions" in expect:
        check(overview["decisions"] == expect["decisions"], f"{cid} overview: {overview['decisions']} decisions")
    if "superseded" in expect:
        logged = {d["decision_id"]: d for log in decision_logs.values() if log for d in log["decisions"]}
        for old, new in expect["superseded"]:
            check(logged.get(old, {}).get("superseded_by") == new, f"{cid} decision log: {old} superseded by {new}")
            check(logged.get(new, {}).get("supersedes") == old, f"{cid} decision log: {new} supersedes {old}")

    if "timeline_order" in expect:
        check_timeline_order(replayer, cid, expect["timeline_order"], timelines)

    if "severity" in history:
        for want in history["severity"]:
            entries = (timelines.get(want["crisis"]) or {}).get("entries", [])
            changes = [e for e in entries if e["kind"] == "severity_changed"]
            check(
                any(
                    e["content"]["from_severity"] == want["from"] and e["content"]["to_severity"] == want["to"]
                    and _same_instant(e["occurred_at"], want["at"]) and _offset(e["occurred_at"]) == _offset(want["at"])
                    for e in changes
                ),
                f"{cid} timeline: severity {want['from']}→{want['to']} at {want['at']} not among {changes}",
            )
    if "answer_times" in history:
        answered = {r["request_id"]: r.get("answer_minutes") for r in board["closed"]}
        for want in history["answer_times"]:
            got = answered.get(want["request"])
            check(got == want["minutes"], f"{cid} police board: {want['request']} answered in {got} min")
    if "completed_late" in history:
        late = {}
        for timeline in timelines.values():
            entries = (timeline or {}).get("entries", [])
            due = {e["ref"]: e["content"]["due_at"] for e in entries if e["kind"] == "action_assigned"}
            for e in entries:
                if e["kind"] == "action_completed" and datetime.fromisoformat(e["occurred_at"]) > datetime.fromisoformat(due[e["ref"]]):
                    late[e["ref"]] = int((datetime.fromisoformat(e["occurred_at"]) - datetime.fromisoformat(due[e["ref"]])).total_seconds() // 60)
        wanted = {item["action"]: item["late_minutes"] for item in history["completed_late"]}
        check(late == wanted, f"{cid} timeline: completed late {late}, expected {wanted}")

    if "redaction" in expect:
        check_redaction(replayer, cid, expect["redaction"], reader, position)

    for clause in note_clauses(expect.get("unmapped", [])):
        if clause == "every row shows its offset":
            for crisis_id, timeline in timelines.items():
                rows = [e["occurred_at"] for e in (timeline or {}).get("entries", [])]
                check(bool(rows) and all(row[-6] in "+-" for row in rows), f"{cid} timeline of {crisis_id}: {rows}")
        elif match := re.fullmatch(r"(C-[\w-]+) (ACTIVE|CONTAINED|RESOLVED|CLOSED) (\d\d:\d\d[+-]\d\d:\d\d)", clause):
            crisis_id, status, at = match.groups()
            entries = (timelines.get(crisis_id) or {}).get("entries", [])
            changes = [e for e in entries if e["kind"] == "status_changed"]
            last = changes[-1] if changes else {"content": {}, "occurred_at": ""}
            shown = (last["content"].get("to_status"), last["occurred_at"][11:16] + _offset(last["occurred_at"]))
            check(shown == (status, at), f"{cid} timeline: {crisis_id} last became {shown}, expected {status} {at}")
        else:
            continue
        record.checked.add(f"unmapped: {clause}")


def check_timeline_order(replayer: Replayer, cid: str, wanted: list[dict], timelines: dict[str, Any]) -> None:
    check = replayer.expect
    for crisis_id, timeline in timelines.items():
        entries = (timeline or {}).get("entries", [])
        check(all(e["occurred_at"][-6] in "+-" for e in entries), f"{cid} timeline: every row shows its offset")
        indexes = []
        for item in wanted:
            label = item["entry"]
            if label.startswith("sitrep #"):
                found = [i for i, e in enumerate(entries) if e["kind"] == "situation_report" and e["ref"] == label[8:]]
            elif label in ENTRY_KINDS:
                found = [i for i, e in enumerate(entries) if e["kind"] == ENTRY_KINDS[label]
                         and _same_instant(e["occurred_at"], item["at"])]
            else:
                found = [i for i, e in enumerate(entries) if e["kind"] == "action_assigned" and e["ref"] == label]
            check(len(found) == 1, f"{cid} timeline of {crisis_id}: {label} found {len(found)} times")
            if found:
                entry = entries[found[0]]
                check(
                    _same_instant(entry["occurred_at"], item["at"]) and _offset(entry["occurred_at"]) == _offset(item["at"]),
                    f"{cid} timeline: {label} shown at {entry['occurred_at']}, expected {item['at']}",
                )
                indexes.append(found[0])
        check(indexes == sorted(indexes), f"{cid} timeline of {crisis_id}: order {indexes} is not by instant")


def check_redaction(replayer: Replayer, cid: str, wanted: list[dict], reader: str, position: int) -> None:
    """The public projection: the same reads by an uncleared reader."""
    check = replayer.expect
    board = replayer.get(f"/police-liaison-board?min_position={position}", reader, clearance=False)
    requests = {r["request_id"]: r for r in board["open"] + board["closed"]}
    decisions = {
        d["decision_id"]: d
        for c in replayer.crises
        for d in replayer.get(f"/crises/{c}/decision-log", reader, clearance=False)["decisions"]
    }
    for item in wanted:
        record = item["record"]
        if record in requests:
            response = requests[record]["response"] or {}
            check(response.get("redacted") is (not item["visible"]), f"{cid} public: {record} redaction {response}")
            if not item["visible"]:
                check(response.get("text") == item["shows"], f"{cid} public: {record} shows {response.get('text')!r}")
        elif record in decisions:
            check(decisions[record]["redacted"] is (not item["visible"]), f"{cid} public: {record} {decisions[record]}")
        else:
            check(False, f"{cid} public: no record {record}")


Live = dict[str, tuple[dict[str, Any], dict[str, Any]]]


def record_live_picture(live: Live) -> Callable[[Replayer, dict[str, Any]], None]:
    """A checkpoint hook: what the live read models show at the checkpoint, to the checkpoint's reader."""

    def hook(replayer: Replayer, checkpoint: dict[str, Any]) -> None:
        reader, cleared = checkpoint.get("reader", "LR-1"), checkpoint.get("clearance", True)
        wait = f"?min_position={replayer.event_position()}&wait=5"
        shown = {path: replayer.get(path + wait, reader, clearance=cleared) for path in VIEWS}
        for crisis_id in replayer.crises:
            for view in CRISIS_VIEWS:
                path = f"/crises/{crisis_id}/{view}"
                shown[path] = replayer.get(path + wait, reader, clearance=cleared)
        live[checkpoint["id"]] = (checkpoint, shown)

    return hook
