"""Values as the read models store them: times as ISO-8601 text, JSON, classifications."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any

from domain.shared import Classification


def iso(moment: datetime | None) -> str | None:
    """Times are stored as ISO-8601 with the offset they were given in."""
    return moment.isoformat() if moment is not None else None


def parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def by_instant(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """Rows ordered by the instant in `column`. The stored text keeps the offset it was given in, so ordering
    by the text would order by clock reading, not by instant (10:20+00:00 would come before 12:00+03:00).
    Rows of equal instants keep the order they came in: read them in key order, so that every store and
    every as-of replay answers alike."""
    return sorted(rows, key=lambda row: parse(row[column]))


def _encoder() -> Callable[[Any], str]:
    """JSON as json.dumps(value, ensure_ascii=False, default=str) writes it, at a third of the cost: the C
    encoder json.dumps itself uses, made once (json.dumps with options, and a kept json.JSONEncoder's
    `encode`, make one per call). A rebuild dumps about one value per event. The private
    json.encoder.c_make_encoder is kept for that: a classification's JSON took 1.9 µs with it, 4.5 µs with a
    kept JSONEncoder and 4.6 µs with json.dumps (100,000 dumps, best of 3); falls back to the public
    encoder where the interpreter has no C accelerator."""
    try:
        from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - an interpreter without the C accelerator
        c_make_encoder = None
    if c_make_encoder is None:  # pragma: no cover
        return json.JSONEncoder(ensure_ascii=False, default=str).encode
    encode = c_make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda value: "".join(encode(value, 0))


dump = _encoder()


def load(text: str | None) -> Any:
    return json.loads(text) if text else None


_CLASSIFICATIONS: dict[Any, str] = {}  # a classification's fields -> its JSON (a few distinct ones: most are PUBLIC)
_fields_of = operator.attrgetter(*(field.name for field in fields(Classification)))


_STORED: dict[str, Classification] = {}  # the other way round: stored JSON -> classification


def stored_classification(text: str | None) -> Classification:
    """The classification a row stores (its JSON), remembered: rows are read far more often than written.
    No row (an outer join) or none stored is PUBLIC."""
    if not text:
        return Classification()
    found = _STORED.get(text)
    if found is None:
        if len(_STORED) >= 4096:
            _STORED.clear()
        found = _STORED[text] = Classification(**load(text))
    return found


def classification_json(event: Any) -> str:
    return classification_text(event.classification)


def classification_text(classification: Any) -> str:
    """The JSON of a classification, remembered (a few distinct ones: most are PUBLIC). A Classification is
    looked up by its fields, all of them (read in one C call): hashing the dataclass itself (its generated
    __hash__ and __eq__, two Python calls) cost a rebuild more than the lookup saves."""
    key = _fields_of(classification) if type(classification) is Classification else classification
    try:
        return _CLASSIFICATIONS[key]
    except KeyError:
        text = dump(classification.as_dict())
        if len(_CLASSIFICATIONS) >= 4096:
            _CLASSIFICATIONS.clear()
        _CLASSIFICATIONS[key] = text
        return text
    except TypeError:  # not hashable
        return dump(classification.as_dict())
