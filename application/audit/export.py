"""Export for an inquiry: the complete record of one crisis as a self-contained ZIP archive.

The record is read from the event log itself, in one scan up to a fixed log position (the export's
`log_position`), so it is complete however far the read models have got: the crisis's own events, the events
of the police liaison matters opened for it (its police requests), the drafting, approval, activation and
deactivation of the continuity plans activated for it, and the readiness changes that name it. Its timeline,
decision log and police requests are then rebuilt from exactly those events, by the same read-model code the
live picture uses, in a scratch in-memory database. The refused attempts concerning it come from the table
they are kept in (see application.audit.refusals for what "concerning" means).

The archive holds, in one folder:

    events.jsonl            the crisis's domain events, in log order
    police_requests.jsonl   the events of its police liaison matters, in log order
    plans.jsonl             its continuity plans: drafted, approved, activated and deactivated for it
    readiness.jsonl         readiness changes that name the crisis
    refusals.jsonl          refused attempts concerning it, in the order they were kept
    timeline.jsonl          its timeline, in instant order (Europe/Helsinki times with their offsets)
    decisions.jsonl         its decision log
    report.html            the timeline and decision log for people: self-contained, printable
    manifest.json           what is in the archive: files with record counts and SHA-256, the crisis, the
                            export time, who asked with which clearance, the log position covered
    manifest.sha256         the SHA-256 of manifest.json (`sha256sum -c manifest.sha256`)

Each event line has its log position, type, aggregate id and version, recording time and actor, and in
`data` every other stored field (`timestamp` is the event library's own creation time of the event).

Everything is redacted for the requester's clearance: for a requester without clearance, the content of
SECRET and RECEIVED records is replaced by its label ("[SECRET JulkL 24.1 § 7 k]") in the events, the
timeline, the decision log and the report alike, and the arguments of refused attempts are withheld (the
classification they asked for is not kept). A cleared requester's export discloses that content: the records
are returned as `Export.disclosed` for the caller to keep as a disclosure.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO
from uuid import UUID

from eventsourcing.utils import get_topic

from application.audit.history import plain
from application.audit.redaction import Classifier, redact_event
from application.audit.refusals import (
    LIAISON_OPENED,
    PLAN_ACTIVATED,
    REMINDER_OPENED,
    WARNING_DRAFTED,
    CrisisLinks,
    present_refusal,
    reminder_target,
    search_refusals,
)
from application.audit.snapshots import apply_known
from application.ports import RefusalLog, ScratchStores
from application.projections import crisis_timeline, decision_log, police_liaison_board
from application.projections.crisis_timeline import CrisisTimeline
from application.projections.decision_log import DecisionLog
from application.projections.police_liaison_board import PoliceLiaisonBoard
from domain.access import Actor, authorise
from domain.after_action_review import AfterActionReview
from domain.crisis import Crisis
from domain.division_preparedness import DivisionPreparedness
from domain.police_liaison import PoliceLiaison
from domain.public_warning import PublicWarning
from domain.received_alert import ReceivedAlert
from domain.secrecy import record_of, redact
from domain.shared import Classification, DomainError, Rule, display, in_helsinki

FORMAT = "valmius-crisis-export/1"
SCAN_BATCH = 2000

Progress = Callable[[int, int], None]  # (notifications just scanned, log position the scan goes to)
ReportRenderer = Callable[[dict[str, Any]], str]

PLAN_DEFINED = {get_topic(DivisionPreparedness.PlanDrafted), get_topic(DivisionPreparedness.PlanApproved)}
PLAN_DEACTIVATED = get_topic(DivisionPreparedness.PlanDeactivated)
READINESS_CHANGED = get_topic(DivisionPreparedness.ReadinessChanged)
ALERT_TOPICS = frozenset(get_topic(cls) for cls in (ReceivedAlert.Received, ReceivedAlert.LinkedToCrisis,
                                                     ReceivedAlert.Unlinked, ReceivedAlert.Superseded,
                                                     ReceivedAlert.Cancelled))
ALERT_LINKED = get_topic(ReceivedAlert.LinkedToCrisis)

# The record an event with a classification writes, and the field naming it: what a disclosure names.
RECORD_OF = (
    (Crisis.Declared, "crisis", "crisis_id"),
    (Crisis.LogEntryRecorded, "log_entry", "number"),
    (Crisis.ActionAssigned, "action", "action_id"),
    (Crisis.SituationReportIssued, "situation_report", "number"),
    (Crisis.DecisionRecorded, "decision", "decision_id"),
    (PoliceLiaison.RequestRaised, "police_request", "request_id"),
    (PoliceLiaison.RequestClosed, "police_request_response", "request_id"),
    (PoliceLiaison.InformationShared, "information_share", None),
    (DivisionPreparedness.PlanDrafted, "continuity_plan", "plan_id"),
)
# The records of the other aggregates an export holds (domain.secrecy's kinds), by the field naming them.
OTHER_RECORD_IDS = {"review": "crisis_id", "improvement_item": "item_id", "received_alert": "alert_id"}
# The same by the event's name as the log and the archive show it ("Crisis.DecisionRecorded").
RECORD_OF_EVENT: dict[str, tuple[str, str | None]] = {
    subclass.__qualname__: (kind, id_field)
    for cls, kind, id_field in RECORD_OF
    for subclass in (cls, *cls.__subclasses__())
}

DESCRIBES = {
    "events.jsonl": "the crisis's domain events, in log order",
    "police_requests.jsonl": "the events of the police liaison matters opened for the crisis, in log order",
    "public_warnings.jsonl": "the events of the public warnings of the crisis (drafted, approved, issued), in log order",
    "after_action_review.jsonl": "the events of the crisis's after-action review (drafted, commented, revised, made "
    "final, its improvement items tracked), in log order",
    "received_alerts.jsonl": "the events of the received CAP alerts ever linked to the crisis (received, linked, "
    "unlinked, superseded, cancelled), in log order",
    "plans.jsonl": "continuity plans activated for the crisis: drafted, approved, activated and deactivated for it",
    "readiness.jsonl": "readiness changes that name the crisis",
    "refusals.jsonl": "refused attempts concerning the crisis, in the order they were kept",
    "timeline.jsonl": "the crisis timeline, in instant order, times in Europe/Helsinki with their offsets",
    "decisions.jsonl": "the decision log",
    "report.html": "the timeline and the decision log for people (self-contained, printable)",
}


@dataclass
class Scan:
    """What one pass over the event log found for a crisis: (notification, event) pairs in log order."""

    crisis_id: str
    position: int
    crisis: list[tuple[Any, Any]] = field(default_factory=list)
    liaisons: list[tuple[Any, Any]] = field(default_factory=list)
    warnings: list[tuple[Any, Any]] = field(default_factory=list)
    review: list[tuple[Any, Any]] = field(default_factory=list)
    alerts: list[tuple[Any, Any]] = field(default_factory=list)
    plans: list[tuple[Any, Any]] = field(default_factory=list)
    readiness: list[tuple[Any, Any]] = field(default_factory=list)
    links: CrisisLinks = field(init=False)

    def __post_init__(self) -> None:
        self.links = CrisisLinks(self.crisis_id)


@dataclass
class Export:
    filename: str
    manifest: dict[str, Any]
    manifest_sha256: str
    disclosed: list[dict[str, Any]]


def scan_crisis(app: Any, crisis_id: str, position: int, progress: Progress | None = None) -> Scan:
    """Read the log from the start to `position` once, decoding only the events that may concern the crisis."""
    scan = Scan(crisis_id, position)
    crisis_uuid, review_uuid = Crisis.id_for(crisis_id), AfterActionReview.id_for(crisis_id)
    alerts: dict[UUID, list[int]] = {}  # every received alert's notifications, by position only: few are linked
    linked: set[UUID] = set()
    liaisons: set[UUID] = set()
    warnings: set[UUID] = set()
    definitions: dict[tuple[str, str], list[tuple[Any, Any]]] = {}
    activations = []
    start = 1
    while start <= position:
        batch = app.recorder.select_notifications(start=start, limit=SCAN_BATCH, stop=position)
        if not batch:
            break
        for notification in batch:
            origin, topic = _uuid(notification.originator_id), notification.topic
            if origin == crisis_uuid:
                scan.crisis.append(_decoded(app, notification))
            elif origin in liaisons:
                scan.liaisons.append(_decoded(app, notification))
            elif origin in warnings:
                scan.warnings.append(_decoded(app, notification))
            elif origin == review_uuid:
                scan.review.append(_decoded(app, notification))
            elif topic in ALERT_TOPICS:
                alerts.setdefault(origin, []).append(notification.id)
                if topic == ALERT_LINKED and _decoded(app, notification)[1].crisis_id == crisis_id:
                    linked.add(origin)
            elif topic == WARNING_DRAFTED:
                pair = _decoded(app, notification)
                if pair[1].crisis_id == crisis_id:
                    warnings.add(origin)
                    scan.warnings.append(pair)
                    scan.links.records.add(pair[1].warning_id)
            elif topic == LIAISON_OPENED:
                pair = _decoded(app, notification)
                if pair[1].crisis_id == crisis_id:
                    liaisons.add(origin)
                    scan.links.liaisons.add(pair[1].liaison_id)
                    scan.liaisons.append(pair)
            elif topic == REMINDER_OPENED:
                event = _decoded(app, notification)[1]
                if event.crisis_id == crisis_id:
                    scan.links.records.add(reminder_target(event.reminder_id))
            elif topic in PLAN_DEFINED:
                pair = _decoded(app, notification)
                definitions.setdefault((pair[1].unit, pair[1].plan_id), []).append(pair)
            elif topic in (PLAN_ACTIVATED, PLAN_DEACTIVATED):
                pair = _decoded(app, notification)
                event = pair[1]
                if topic == PLAN_ACTIVATED:
                    activations.append((event.unit, event.plan_id, event.crisis_id, event.recorded_at))
                if event.crisis_id == crisis_id:
                    scan.plans.append(pair)
            elif topic == READINESS_CHANGED:
                pair = _decoded(app, notification)
                if pair[1].crisis_ref == crisis_id:
                    scan.readiness.append(pair)
        if progress:
            progress(batch[-1].id - start + 1, position)
        start = batch[-1].id + 1
    if progress and start <= position:
        progress(position - start + 1, position)
    scan.links.add_activations(activations)
    for origin in linked:  # each linked alert whole: received before it was linked, and all that followed
        for position_of in alerts[origin]:
            notification = app.recorder.select_notifications(start=position_of, limit=1)[0]
            scan.alerts.append(_decoded(app, notification))
    scan.alerts.sort(key=lambda pair: pair[0].id)
    linked = {(event.unit, event.plan_id) for _, event in scan.plans}
    scan.plans = sorted(
        scan.plans + [pair for key in linked for pair in definitions.get(key, [])], key=lambda pair: pair[0].id
    )
    return scan


def export_crisis(
    app: Any,
    refusals: RefusalLog,
    scratch: ScratchStores,
    actor: Actor,
    crisis_id: str,
    out: BinaryIO,
    *,
    via: str,
    render_report: ReportRenderer,
    progress: Progress | None = None,
) -> Export:
    """Write the archive of `crisis_id` to `out`, redacted for `actor`'s clearance. `via` names how it was asked
    for (the endpoint or the command), for the manifest."""
    authorise(actor, "export_crisis")
    if Crisis.id_for(crisis_id) not in app.repository:
        raise DomainError(Rule.NOT_FOUND, "there is no crisis {crisis_id}", {"crisis_id": crisis_id})
    now = app.now()
    position = app.recorder.max_notification_id() or 0
    refusals_up_to = refusals.last_id()
    scan = scan_crisis(app, crisis_id, position, progress)
    redactor = _Redactor(Classifier(app.repository), actor.clearance, app.policy.units.short_names, crisis_id)

    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}

    def jsonl(name: str, records: list[dict[str, Any]]) -> None:
        files[name] = "".join(_json(r) + "\n" for r in records).encode("utf-8")
        counts[name] = len(records)

    jsonl("events.jsonl", [redactor.event(n, e) for n, e in scan.crisis])
    jsonl("police_requests.jsonl", [redactor.event(n, e) for n, e in scan.liaisons])
    jsonl("public_warnings.jsonl", [redactor.event(n, e) for n, e in scan.warnings])
    jsonl("after_action_review.jsonl", [redactor.event(n, e) for n, e in scan.review])
    jsonl("received_alerts.jsonl", [redactor.event(n, e) for n, e in scan.alerts])
    plans = [redactor.event(n, e) for n, e in scan.plans]
    jsonl("plans.jsonl", plans)
    jsonl("readiness.jsonl", [redactor.event(n, e) for n, e in scan.readiness])
    concerning = _refusals_concerning(refusals, scan.links, refusals_up_to)
    refusals = [present_refusal(row, actor.clearance) for row in concerning]
    jsonl("refusals.jsonl", refusals)

    views = _rebuild_views(scratch, scan, now, actor.clearance, app.policy)
    jsonl("timeline.jsonl", views["timeline"]["entries"])
    jsonl("decisions.jsonl", views["decisions"]["decisions"])

    exported_at = display(now, seconds=True)
    redaction = (
        "none: the requester is cleared for SECRET and RECEIVED content"
        if actor.clearance
        else "the content of SECRET and RECEIVED records is replaced by its label; the arguments of refused "
        "attempts are withheld"
    )
    header = {
        "crisis": _crisis_summary(app, scan, actor.clearance),
        "exported_at": exported_at,
        "requester": {"user": actor.user, "role": str(actor.role), "clearance": actor.clearance},
        "requested_via": via,
        "log_position": position,
        "redaction": redaction,
    }
    data_files = [_file_entry(name, files[name], counts[name]) for name in files]
    files["report.html"] = render_report(
        {
            **header,
            "timeline": views["timeline"]["entries"],
            "decisions": views["decisions"]["decisions"],
            "police_requests": views["police"]["open"] + views["police"]["closed"],
            "plans": plans,
            "refusals": refusals,
            "files": data_files,
        }
    ).encode("utf-8")
    counts["report.html"] = len(views["timeline"]["entries"]) + len(views["decisions"]["decisions"])

    manifest = {
        "format": FORMAT,
        "crisis_id": crisis_id,
        **({"exercise": "EXERCISE: this crisis was declared as an exercise"} if header["crisis"]["exercise"] else {}),
        "exported_at": exported_at,
        "exported_at_utc": now.astimezone(timezone.utc).isoformat(),
        "requester": header["requester"],
        "requested_via": via,
        "log_position": position,
        "log_position_note": f"every domain event stored at positions 1–{position} was read",
        "refusals_up_to": refusals_up_to,
        "refusals_up_to_note": f"refused attempts kept up to row {refusals_up_to} of the refusal log were read",
        "redaction": redaction,
        "files": [{**_file_entry(name, files[name], counts[name]), "describes": DESCRIBES[name]} for name in files],
    }
    manifest_bytes = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    files["manifest.json"] = manifest_bytes
    files["manifest.sha256"] = f"{digest}  manifest.json\n".encode()

    stamp = in_helsinki(now).strftime("%Y%m%dT%H%M%S%z")
    folder = f"valmius-{crisis_id}-{stamp}"
    _write_zip(out, folder, files, in_helsinki(now))
    return Export(f"{folder}.zip", manifest, digest, redactor.disclosed())


# --- the parts -------------------------------------------------------------------------------------


class _Redactor:
    """Stored events as the requester may see them; remembers the non-public records shown unredacted."""

    def __init__(self, classifier: Classifier, cleared: bool, short_names: dict[str, str], crisis_id: str) -> None:
        self.classifier = classifier
        self.cleared = cleared
        self.short_names = short_names
        self.crisis_id = crisis_id
        self._disclosed: dict[tuple[str, str | None], dict[str, Any]] = {}

    def event(self, notification: Any, event: Any) -> dict[str, Any]:
        data = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version", "actor",
                                                                    "recorded_at")}
        classification = self.classifier(event)
        shown, redacted = redact_event(data, event, classification, self.cleared, self.short_names)
        if self.cleared and not classification.is_public:
            self._disclose(notification, event, classification)
        return {
            "position": notification.id,
            "type": type(event).__qualname__,
            "topic": notification.topic,
            "aggregate_id": str(notification.originator_id),
            "version": notification.originator_version,
            "recorded_at": plain(getattr(event, "recorded_at", None), local=False),
            "actor": getattr(event, "actor", None),
            "redacted": redacted,
            "data": plain(shown, local=False),
        }

    def _disclose(self, notification: Any, event: Any, classification: Classification) -> None:
        named = [(kind, id_field) for cls, kind, id_field in RECORD_OF if isinstance(event, cls)]
        kind = record_of(event)
        if not named and kind in OTHER_RECORD_IDS:
            named = [(kind, OTHER_RECORD_IDS[kind])]
        for kind, id_field in named[:1]:
            record_id = str(getattr(event, id_field)) if id_field else f"position {notification.id}"
            self._disclosed.setdefault(
                (kind, record_id),
                {"kind": kind, "id": record_id, "crisis_id": self.crisis_id,
                 "classification": classification.as_dict()},
            )

    def disclosed(self) -> list[dict[str, Any]]:
        return list(self._disclosed.values())


def _refusals_concerning(refusals: RefusalLog, links: CrisisLinks, up_to: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page, after = search_refusals(refusals, links=links, after=after, limit=1000, up_to=up_to)
        found += page
        if after is None:
            return found


def _rebuild_views(scratch: ScratchStores, scan: Scan, at: datetime, cleared: bool, policy: Any) -> dict[str, Any]:
    """The crisis's timeline, decision log and police requests, rebuilt from the scanned events only."""
    models = (CrisisTimeline(), DecisionLog(), PoliceLiaisonBoard())
    events = sorted(scan.crisis + scan.liaisons + scan.warnings, key=lambda pair: pair[0].id)
    with scratch(models) as store:
        apply_known(store, models, events)
        return {
            "timeline": crisis_timeline.timeline(store, scan.crisis_id, at, cleared, policy),
            "decisions": decision_log.decision_log(store, scan.crisis_id, at, cleared, policy),
            "police": police_liaison_board.board(store, at, cleared, policy, scan.crisis_id),
        }


def _crisis_summary(app: Any, scan: Scan, cleared: bool) -> dict[str, Any]:
    """The crisis as it stood at the export's log position."""
    crisis: Crisis = app.repository.get(Crisis.id_for(scan.crisis_id), version=scan.crisis[-1][1].originator_version)
    return redact(
        "crisis", crisis.classification, cleared, app.policy.units.short_names,
        crisis_id=crisis.crisis_id,
        version=crisis.version,
        title=crisis.title,
        category=crisis.category,
        severity=crisis.severity,
        condition=crisis.condition,
        status=crisis.status,
        declared_at=display(crisis.declared_at),
        declared_by=crisis.declared_by,
        lead=crisis.lead_authority or crisis.external_lead,
        exercise=crisis.exercise,
    )


# --- encoding --------------------------------------------------------------------------------------


def _decoded(app: Any, notification: Any) -> tuple[Any, Any]:
    return notification, app.mapper.to_domain_event(notification)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _json(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _file_entry(name: str, content: bytes, records: int) -> dict[str, Any]:
    return {"name": name, "records": records, "bytes": len(content), "sha256": hashlib.sha256(content).hexdigest()}


def _write_zip(out: BinaryIO, folder: str, files: dict[str, bytes], local_time: datetime) -> None:
    stamp = (local_time.year, local_time.month, local_time.day, local_time.hour, local_time.minute, local_time.second)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
