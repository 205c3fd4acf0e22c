"""CAP 1.2 alerts coming in: a document read into the fields a duty officer is shown and the follower follows,
and Atom feeds of them (as the Finnish Meteorological Institute publishes its warnings).

`read_alert` refuses, naming why, anything that is not a valid CAP 1.2 alert: too large, not XML, a DOCTYPE (no
entity of a document we take is ever expanded), a CAP document of another version, or one the schema refuses
(`interfaces.cap.validate`, with the path of the first error). Nothing here stores anything.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from xml.parsers import expat

from domain.received_alert import Alert
from interfaces.cap import CAP_MEDIA_TYPE, CAP_NAMESPACE, InvalidCapDocument, validate

MAX_DOCUMENT_BYTES = 64 * 1024  # as VALMIUS_MAX_REQUEST_BYTES: one document as one request may carry it
MAX_FEED_BYTES = 4 * 1024 * 1024  # an Atom feed lists many alerts
ATOM = "http://www.w3.org/2005/Atom"
OTHER_VERSIONS = {
    "urn:oasis:names:tc:emergency:cap:1.1": "CAP 1.1",
    "urn:oasis:names:tc:emergency:cap:1.0": "CAP 1.0",
    "http://www.incident.com/cap/1.0": "CAP 1.0",
}
MAX_INFOS, MAX_AREAS = 20, 50  # what one alert shows of itself (the stored document keeps it all)
_C = "{" + CAP_NAMESPACE + "}"


def digest_of(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()


def read_alert(document: bytes) -> Alert:
    """The alert `document` holds, or InvalidCapDocument naming why it is not a CAP 1.2 alert we take."""
    root = _root(document)
    if root.tag.startswith("{"):
        namespace = root.tag[1:].split("}", 1)[0]
        if namespace in OTHER_VERSIONS:
            raise InvalidCapDocument(f"not CAP 1.2: a {OTHER_VERSIONS[namespace]} document ({namespace})")
    if root.tag != _C + "alert":
        raise InvalidCapDocument(f"not CAP 1.2: its root element is {root.tag}, not {{{CAP_NAMESPACE}}}alert")
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidCapDocument(f"not UTF-8 (byte {error.start}): the alerts we take are UTF-8") from None
    validate(text)
    sender, identifier, sent = _text(root, "sender"), _text(root, "identifier"), _time(_text(root, "sent"))
    infos = tuple(_info(info) for info in root.findall(_C + "info")[:MAX_INFOS])
    expiries = [info["expires"] for info in infos]
    return Alert(
        sender=sender,
        identifier=identifier,
        sent=sent,
        status=_text(root, "status"),
        msg_type=_text(root, "msgType"),
        scope=_text(root, "scope"),
        restriction=_optional(root, "restriction"),
        references=tuple(_references(_optional(root, "references"))),
        infos=infos,
        expires=max(_time(e) for e in expiries) if expiries and all(expiries) else None,
        digest=digest_of(document),
        document=text,
    )


def _root(document: bytes, limit: int = MAX_DOCUMENT_BYTES) -> ET.Element:
    if len(document) > limit:
        raise InvalidCapDocument(f"too large: {len(document)} bytes, at most {limit}")
    _refuse_doctype(document)
    try:
        return ET.fromstring(document)
    except ET.ParseError as error:
        raise InvalidCapDocument(f"not XML: {error}") from None


def _refuse_doctype(document: bytes) -> None:
    """No DOCTYPE: its entities could expand a small document into a huge one, or reach out for files."""
    parser = expat.ParserCreate()

    def doctype(*_: object) -> None:
        raise InvalidCapDocument("not accepted: the document declares a DOCTYPE (CAP documents have none)")

    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(document, True)
    except expat.ExpatError as error:
        raise InvalidCapDocument(f"not XML: {expat.ErrorString(error.code)}: line {error.lineno}, "
                                 f"column {error.offset}") from None


def _text(element: ET.Element, name: str) -> str:
    return (element.findtext(_C + name) or "").strip()


def _optional(element: ET.Element, name: str) -> str | None:
    return _text(element, name) or None


def _time(text: str) -> datetime:
    """A CAP time (the schema holds it to YYYY-MM-DDThh:mm:ss with an offset), one that is an instant: year 9999
    at -10:00 is valid to the schema but no instant we can hold (it is past the last UTC year)."""
    moment = datetime.fromisoformat(text)
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidCapDocument(f"the time {text} is out of range") from None
    return moment


def _references(text: str | None) -> list[tuple[str, str, datetime]]:
    """`sender,identifier,sent` triples separated by whitespace (CAP 1.2, 3.2.1 references)."""
    found = []
    for reference in (text or "").split():
        parts = reference.split(",")
        if len(parts) == 3:
            try:
                found.append((parts[0], parts[1], _time(parts[2])))
            except ValueError:  # InvalidCapDocument too: a time out of range
                continue  # a reference we cannot read cannot be followed; the document keeps it
    return found


def _info(info: ET.Element) -> dict[str, Any]:
    """One `info` block: its language and what it says, its times as given, and its areas (polygons as given)."""
    return {
        "language": _text(info, "language") or "en-US",
        "category": [c.text.strip() for c in info.findall(_C + "category") if c.text],
        "event": _text(info, "event"),
        "urgency": _text(info, "urgency"),
        "severity": _text(info, "severity"),
        "certainty": _text(info, "certainty"),
        "headline": _optional(info, "headline"),
        "description": _optional(info, "description"),
        "instruction": _optional(info, "instruction"),
        "sender_name": _optional(info, "senderName"),
        "web": _optional(info, "web"),
        "contact": _optional(info, "contact"),
        "effective": _optional(info, "effective"),
        "onset": _optional(info, "onset"),
        "expires": _optional(info, "expires"),
        "areas": [
            {
                "area_desc": _text(area, "areaDesc"),
                "polygons": [p.text.strip() for p in area.findall(_C + "polygon") if p.text],
                "circles": [c.text.strip() for c in area.findall(_C + "circle") if c.text],
                "geocodes": [
                    {"name": _text(code, "valueName"), "value": _text(code, "value")}
                    for code in area.findall(_C + "geocode")
                ],
            }
            for area in info.findall(_C + "area")[:MAX_AREAS]
        ],
    }


@dataclass(frozen=True)
class FeedEntry:
    """One alert an Atom feed offers: the document inside the entry, or where to fetch it."""

    document: bytes | None
    url: str | None


def is_atom_feed(document: bytes) -> bool:
    try:
        return _root(document, MAX_FEED_BYTES).tag == f"{{{ATOM}}}feed"
    except InvalidCapDocument:
        return False


def feed_entries(document: bytes) -> list[FeedEntry]:
    """The alerts an Atom feed offers, in its order: a CAP alert inside an entry's `content`, else the entry's
    link to a CAP document (type application/cap+xml, or an `alternate`/`related` link to an .xml)."""
    root = _root(document, MAX_FEED_BYTES)
    if root.tag != f"{{{ATOM}}}feed":
        raise InvalidCapDocument(f"not an Atom feed: its root element is {root.tag}")
    found = []
    for entry in root.findall(f"{{{ATOM}}}entry"):
        inside = entry.find(f"{{{ATOM}}}content/{_C}alert")
        if inside is not None:
            found.append(FeedEntry(ET.tostring(inside, encoding="utf-8"), None))
            continue
        for link in entry.findall(f"{{{ATOM}}}link"):
            href, kind, rel = link.get("href"), link.get("type", ""), link.get("rel", "alternate")
            if href and (kind == CAP_MEDIA_TYPE or (rel in ("alternate", "related") and href.endswith(".xml"))):
                found.append(FeedEntry(None, href))
                break
    return found
