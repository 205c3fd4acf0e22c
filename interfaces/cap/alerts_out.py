"""Our public warnings as CAP 1.2 documents (application/cap+xml), and the Atom feed of the warnings in force.

Each issued message of a warning (domain.public_warning: Alert, Update, Cancel) is one CAP alert: its own
identifier, our sender (VALMIUS_CAP_SENDER, recorded with the message when it was issued) and sent time, its
status (Actual; Exercise is chosen in domain.public_warning.message_status), msgType with the `references` of
every message it follows ("sender,identifier,sent" each), scope Public, the crisis as its incident, and one
<info> per language the message was written in, with the crisis's category, severity and areas as they stood
when it was sent. Times are whole seconds with an explicit offset (the schema's pattern admits no "Z").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from domain.districts import cap_geocode, cap_polygon
from domain.public_warning import WarningMessage, WarningRecord
from domain.shared import Policy, in_helsinki
from interfaces.cap import CAP_MEDIA_TYPE, CAP_NAMESPACE

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"

LANGUAGE_TAGS = {"fi": "fi-FI", "sv": "sv-FI", "en": "en-GB"}

# The crisis category (DOMAIN.md) as a CAP 1.2 category; one not named here is Other.
CATEGORIES = {
    "SEVERE_WEATHER": "Met",
    "CYBER_INCIDENT": "Infra",
    "UTILITY_WATER": "Infra",
    "ENERGY_SUPPLY": "Infra",
    "THREAT_VIOLENCE": "Security",
    "PUBLIC_HEALTH": "Health",
    "MASS_EVENT": "Safety",
    "OTHER": "Other",
}

# The severity scale 1–4 (DOMAIN.md) as CAP's; one off the scale is Unknown.
SEVERITIES = {1: "Minor", 2: "Moderate", 3: "Severe", 4: "Extreme"}

# What CAP's <event> names, per crisis category and language: the kind of event the public is warned of.
EVENTS = {
    "SEVERE_WEATHER": {"fi": "Vaarallinen sää", "sv": "Farligt väder", "en": "Severe weather"},
    "CYBER_INCIDENT": {"fi": "Tietoverkkohäiriö", "sv": "Störning i datanätet", "en": "Cyber incident"},
    "UTILITY_WATER": {"fi": "Vedenjakelun häiriö", "sv": "Störning i vattenförsörjningen", "en": "Water supply disruption"},
    "ENERGY_SUPPLY": {"fi": "Energiansaannin häiriö", "sv": "Störning i energiförsörjningen", "en": "Energy supply disruption"},
    "THREAT_VIOLENCE": {"fi": "Väkivallan uhka", "sv": "Hot om våld", "en": "Threat of violence"},
    "PUBLIC_HEALTH": {"fi": "Terveysuhka", "sv": "Hälsohot", "en": "Public health threat"},
    "MASS_EVENT": {"fi": "Yleisötapahtuma", "sv": "Publikevenemang", "en": "Mass event"},
    "OTHER": {"fi": "Häiriötilanne", "sv": "Störning", "en": "Disruption"},
}


@dataclass(frozen=True)
class CapArea:
    """One <area>: its description, and where the area is known as a district its polygons and geocodes."""

    description: str
    polygons: tuple[str, ...] = ()
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value)


def cap_areas(names: Iterable[str], language: str, policy: Policy) -> list[CapArea]:
    """The <area> of each of a crisis's areas, in `language` (fi, sv, en): a district of the registry
    (domain/districts.py, by name or code) by its name in that language (Finnish for English), its outline as the
    polygon and its code as the geocode; an area the registry does not know (a store older than the registry, or
    a registry replaced since) by its name only."""
    areas = []
    for name in names:
        district = policy.districts.find(name)
        if district is None:
            areas.append(CapArea(name))
            continue
        geocode = cap_geocode(district)
        areas.append(CapArea(district.name_sv if language == "sv" else district.name_fi, (cap_polygon(district),),
                             ((geocode["valueName"], geocode["value"]),)))
    return areas


def cap_time(moment: datetime) -> str:
    """A CAP dateTime: whole seconds, an explicit offset (Europe/Helsinki's), never "Z"."""
    return in_helsinki(moment).replace(microsecond=0).isoformat(timespec="seconds")


def cap_document(warning: WarningRecord, number: int, policy: Policy) -> bytes:
    """The CAP 1.2 alert of the warning's issued message `number` (1 the first), as UTF-8 XML."""
    issued = {m.number: m for m in warning.issued}
    message = issued[number]
    assert message.sent is not None and message.identifier is not None
    alert = ET.Element(_cap("alert"))
    for name, value in (
        ("identifier", message.identifier), ("sender", message.sender), ("sent", cap_time(message.sent)),
        ("status", message.cap_status), ("msgType", message.msg_type), ("scope", "Public"),
    ):
        _text(alert, name, value)
    if message.note:
        _text(alert, "note", message.note)
    earlier = [m for m in warning.issued if m.identifier in message.references]
    if earlier:
        _text(alert, "references", " ".join(f"{m.sender},{m.identifier},{cap_time(m.sent)}" for m in earlier))  # type: ignore[arg-type]
    _text(alert, "incidents", warning.crisis_id)
    for language, texts in message.texts.items():
        _info(alert, message, language, texts, policy)
    ET.indent(alert)
    return ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NAMESPACE)


def _info(alert: ET.Element, message: WarningMessage, language: str, texts: dict[str, str], policy: Policy) -> None:
    info = ET.SubElement(alert, _cap("info"))
    category = message.category or "OTHER"
    _text(info, "language", LANGUAGE_TAGS[language])
    _text(info, "category", CATEGORIES.get(category, "Other"))
    _text(info, "event", EVENTS.get(category, EVENTS["OTHER"])[language])
    _text(info, "urgency", message.urgency)
    _text(info, "severity", SEVERITIES.get(message.severity or 0, "Unknown"))
    _text(info, "certainty", message.certainty)
    for name in ("headline", "description", "instruction"):
        if texts.get(name):
            _text(info, name, texts[name])
    for area in cap_areas(message.areas, language, policy):
        element = ET.SubElement(info, _cap("area"))
        _text(element, "areaDesc", area.description)
        for polygon in area.polygons:
            _text(element, "polygon", polygon)
        for value_name, value in area.geocodes:
            geocode = ET.SubElement(element, _cap("geocode"))
            _text(geocode, "valueName", value_name)
            _text(geocode, "value", value)


def atom_feed(warnings: Iterable[dict[str, Any]], *, feed_url: str, updated: str, author: str) -> bytes:
    """The Atom feed (RFC 4287) of the warnings in force, from the register's entries
    (application.projections.public_warning_register: times already whole seconds with their offset): one entry
    per warning, its latest message, linking its CAP document (rel alternate, application/cap+xml). `feed_url`
    is the feed's own address, as it was asked for: the documents' links are made from it."""
    root = feed_url.split("/warnings/feed", 1)[0]
    feed = ET.Element("feed", xmlns=ATOM_NAMESPACE)  # (ElementTree names no default namespace beside attributes)
    _atom_text(feed, "id", "urn:valmius:public-warnings")
    _atom_text(feed, "title", "Valmius: public warnings in force")
    _atom_text(feed, "updated", updated)
    _atom_text(ET.SubElement(feed, "author"), "name", author)
    ET.SubElement(feed, "link", rel="self", type=ATOM_MEDIA_TYPE, href=feed_url)
    for warning in warnings:
        texts = warning["texts"]
        entry = ET.SubElement(feed, "entry")
        _atom_text(entry, "id", f"urn:valmius:public-warning:{warning['identifier']}")
        _atom_text(entry, "title", " / ".join(text["headline"] for text in texts.values())).set("type", "text")
        _atom_text(entry, "updated", warning["sent"])
        _atom_text(entry, "published", warning["first_sent"])
        ET.SubElement(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE,
                      href=f"{root}/warnings/{warning['warning_id']}/cap?number={warning['number']}")
        _atom_text(entry, "summary", texts["fi"]["description"])
        ET.SubElement(entry, "category", term=warning["msg_type"])
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _cap(name: str) -> str:
    return f"{{{CAP_NAMESPACE}}}{name}"


def _text(parent: ET.Element, name: str, value: str | None) -> ET.Element:
    element = ET.SubElement(parent, _cap(name))
    element.text = value
    return element


def _atom_text(parent: ET.Element, name: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.text = value
    return element
