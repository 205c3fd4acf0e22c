"""EDXL-SitRep 1.0 (OASIS Emergency Data Exchange Language, Situation Reporting): each issued situation report
as a SitRep document.

The OASIS schema (EDXLSitRep-v1.0.xsd and the EDXL Common Types, GML and CIQ schemas it imports) could not be
obtained for this repository, so documents are not validated against it here: `validate` reads a document
back and checks what the standard requires of every SitRep (its namespace, root and mandatory elements in
order, the values of its closed lists, EDXL's dateTime form: whole seconds and an explicit offset, never "Z").

A report is written as the reader may see it (domain.secrecy): without clearance, the content of a SECRET or
RECEIVED report (its sections) and of its crisis (its areas) is its classification label. The report body is
a `FieldObservationType` report: the crisis's areas as its geopolitical location, the needs (or the emergency
services required) as its immediate needs, and every section, the frozen figures and their digest as its text.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from domain.shared import in_helsinki

SITREP_NAMESPACE = "urn:oasis:names:tc:emergency:EDXL:SitRep:1.0"
CT_NAMESPACE = "urn:oasis:names:tc:emergency:edxl:ct:1.0"
XNL_NAMESPACE = "urn:oasis:names:tc:emergency:edxl:ciq:1.0:xnl"
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
SITREP_MEDIA_TYPE = "application/xml"
AREAS_LIST = "urn:valmius:areas"  # the value list our geopolitical locations name (the crisis's areas)

# The elements every SitRep carries, in the order the standard gives them.
REQUIRED = (
    "messageID", "preparedBy", "authorizedBy", "reportPurpose", "reportNumber", "reportVersion", "forTimePeriod",
    "incidentID", "reportConfidence", "severity", "report",
)
REPORT_VERSIONS = ("Initial", "Update", "Final")
CONFIDENCE = ("HighlyConfident", "SomewhatConfident", "Unsure", "NoConfidence")
SEVERITIES = {1: "Minor", 2: "Moderate", 3: "Severe", 4: "Extreme"}
TEXT_LIMIT = 1023  # an EDXL string's length

ET.register_namespace("sitrep", SITREP_NAMESPACE)
ET.register_namespace("ct", CT_NAMESPACE)
ET.register_namespace("xnl", XNL_NAMESPACE)
ET.register_namespace("xsi", XSI_NAMESPACE)


class InvalidSitRepDocument(ValueError):
    """A document that is not an EDXL-SitRep 1.0 report as the standard requires one."""


def edxl_time(moment: datetime) -> str:
    """EDXL's dateTime: whole seconds and an explicit offset (Helsinki's), never "Z" or fractions."""
    return in_helsinki(moment).replace(microsecond=0).isoformat()


def _q(namespace: str, tag: str) -> str:
    return f"{{{namespace}}}{tag}"


def _add(parent: ET.Element, tag: str, text: str, namespace: str = SITREP_NAMESPACE) -> ET.Element:
    element = ET.SubElement(parent, _q(namespace, tag))
    element.text = text
    return element


def _person(parent: ET.Element, tag: str, name: str, moment: datetime) -> None:
    pair = ET.SubElement(parent, _q(SITREP_NAMESPACE, tag))
    details = ET.SubElement(pair, _q(CT_NAMESPACE, "personDetails"))
    person = ET.SubElement(details, _q(XNL_NAMESPACE, "personName"))
    _add(person, "nameElement", name, XNL_NAMESPACE)
    _add(pair, "timeValue", edxl_time(moment), CT_NAMESPACE)


def _observation(report: dict[str, Any]) -> str:
    sections = report["sections"]
    lines = (
        [f"{s['section']} ({s['unit'] or 'duty officer'}): {s['text']}" for s in sections]
        if isinstance(sections, list)
        else [str(sections)]  # the classification label, for a reader without clearance
    )
    if report.get("summary"):
        lines.append(f"summary: {report['summary']}")
    figures = report.get("figures")
    if figures:
        readiness = ", ".join(f"{level} {count}" for level, count in figures["readiness"].items())
        lines.append(
            f"figures at {figures['at']}: open actions {figures['open_actions']}, overdue {figures['overdue_actions']};"
            f" units at readiness {readiness}; active plans {figures['active_plans']};"
            f" open police requests {figures['open_police_requests']}; digest {report['figures_digest']}"
        )
    return "\n".join(lines) or "no sections"


def _needs(report: dict[str, Any]) -> str:
    sections = report["sections"]
    if not isinstance(sections, list):
        return str(sections)
    needs = [s["text"] for s in sections if s["section"] in ("needs", "emergency_services")]
    return "; ".join(needs)[:TEXT_LIMIT] or "none reported"


def sitrep_document(
    report: dict[str, Any], crisis: dict[str, Any], period_from: datetime, occurred_at: datetime,
    recorded_at: datetime, exercise: bool = False,
) -> bytes:
    """The EDXL-SitRep 1.0 document of an issued report. `report` and `crisis` are as the reader may see them
    (interfaces.http.schemas.situation_report.present_report; the crisis's `crisis_id`, `severity` and
    `areas`); the report covers the time from `period_from` (the previous report, or the declaration) to when
    it was issued (`occurred_at`), approved at `recorded_at`. The report of a crisis declared as an `exercise`
    says EXERCISE where the format has free text: its purpose and its observation."""
    marked = "EXERCISE: " if exercise else ""
    number = report["number"]
    root = ET.Element(_q(SITREP_NAMESPACE, "sitRep"))
    _add(root, "messageID", f"valmius:{crisis['crisis_id']}:sitrep:{number}")
    _person(root, "preparedBy", report["actor"], occurred_at)
    _person(root, "authorizedBy", report["actor"], recorded_at)
    form = f" ({report['form']} form)" if report.get("form") else ""
    _add(root, "reportPurpose", f"{marked}Situation report #{number} of crisis {crisis['crisis_id']}{form}")
    _add(root, "reportNumber", str(number))
    _add(root, "reportVersion", "Initial" if number == 1 else "Update")
    period = ET.SubElement(root, _q(SITREP_NAMESPACE, "forTimePeriod"))
    _add(period, "fromDateTime", edxl_time(period_from), CT_NAMESPACE)
    _add(period, "toDateTime", edxl_time(occurred_at), CT_NAMESPACE)
    _add(root, "incidentID", crisis["crisis_id"])
    _add(root, "reportConfidence", "HighlyConfident")  # approved and issued by the duty officer
    _add(root, "severity", SEVERITIES.get(crisis["severity"], "Unknown"))
    body = ET.SubElement(root, _q(SITREP_NAMESPACE, "report"))
    body.set(_q(XSI_NAMESPACE, "type"), "sitrep:FieldObservationType")
    location = ET.SubElement(body, _q(SITREP_NAMESPACE, "observationLocation"))
    place = ET.SubElement(location, _q(CT_NAMESPACE, "EDXLGeoPoliticalLocation"))
    code = ET.SubElement(place, _q(CT_NAMESPACE, "geoCode"))
    _add(code, "valueListURI", AREAS_LIST, CT_NAMESPACE)
    areas = crisis.get("areas")
    where = ", ".join(areas) if isinstance(areas, list) else str(areas or "")
    _add(code, "value", (where or "not given")[:TEXT_LIMIT], CT_NAMESPACE)
    _add(body, "immediateNeeds", _needs(report))
    _add(body, "observationText", marked + _observation(report))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def validate(document: bytes | str) -> ET.Element:
    """The document's root, read back; InvalidSitRepDocument naming the first way it is not an EDXL-SitRep 1.0
    report: not XML, another root or namespace, a required element missing, empty or out of order, a value
    outside its list, a time not in EDXL's form."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as error:
        raise InvalidSitRepDocument(f"not XML: {error}") from error
    if root.tag != _q(SITREP_NAMESPACE, "sitRep"):
        raise InvalidSitRepDocument(f"the root is {root.tag}, not sitRep of {SITREP_NAMESPACE}")
    names = [child.tag for child in root if child.tag.startswith(f"{{{SITREP_NAMESPACE}}}")]
    present = [name.split("}", 1)[1] for name in names]
    wanted = [name for name in present if name in REQUIRED]
    for name in REQUIRED:
        if name not in present:
            raise InvalidSitRepDocument(f"the required element {name} is missing")
    if wanted != list(REQUIRED):
        raise InvalidSitRepDocument(f"the required elements are out of order: {wanted}")
    for name in ("messageID", "reportPurpose", "reportNumber", "incidentID"):
        if not (root.findtext(_q(SITREP_NAMESPACE, name)) or "").strip():
            raise InvalidSitRepDocument(f"{name} is empty")
    if not (root.findtext(_q(SITREP_NAMESPACE, "reportNumber")) or "").isdigit():
        raise InvalidSitRepDocument("reportNumber is not a whole number")
    for name, allowed in (("reportVersion", REPORT_VERSIONS), ("reportConfidence", CONFIDENCE),
                          ("severity", (*SEVERITIES.values(), "Unknown"))):
        if root.findtext(_q(SITREP_NAMESPACE, name)) not in allowed:
            raise InvalidSitRepDocument(f"{name} is not one of {', '.join(allowed)}")
    for pair in ("preparedBy", "authorizedBy"):
        element = root.find(_q(SITREP_NAMESPACE, pair))
        name = element.findtext(f"{_q(CT_NAMESPACE, 'personDetails')}/{_q(XNL_NAMESPACE, 'personName')}/"
                                f"{_q(XNL_NAMESPACE, 'nameElement')}")
        if not name:
            raise InvalidSitRepDocument(f"{pair} names no person")
        _check_time(element.findtext(_q(CT_NAMESPACE, "timeValue")), f"{pair}/timeValue")
    period = root.find(_q(SITREP_NAMESPACE, "forTimePeriod"))
    for bound in ("fromDateTime", "toDateTime"):
        _check_time(period.findtext(_q(CT_NAMESPACE, bound)), f"forTimePeriod/{bound}")
    report = root.find(_q(SITREP_NAMESPACE, "report"))
    if not report.get(_q(XSI_NAMESPACE, "type")):
        raise InvalidSitRepDocument("the report does not name its type (xsi:type)")
    return root


def _check_time(text: str | None, where: str) -> None:
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        raise InvalidSitRepDocument(f"{where} {text!r} is not a time") from None
    if moment.tzinfo is None or moment.microsecond or (text or "").endswith("Z") or len(text or "") != 25:
        raise InvalidSitRepDocument(f"{where} {text!r} is not an EDXL time (whole seconds, explicit offset)")
