"""CAP 1.2, the Common Alerting Protocol (OASIS): the schema every document we send or take must satisfy.

`CAP-v1.2.xsd` is the OASIS schema as published at docs.oasis-open.org/emergency/cap/v1.2/CAP-v1.2.xsd (its
copyright notice kept in the file). Note its dateTime pattern: whole seconds and an explicit offset, never "Z".
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import xmlschema

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA_TYPE = "application/cap+xml"
SCHEMA_PATH = Path(__file__).with_name("CAP-v1.2.xsd")
EXAMPLE_PATH = Path(__file__).with_name("example-wind-warning.xml")  # the API's example: an FMI warning, in short


class InvalidCapDocument(ValueError):
    """A document that is not CAP 1.2: not XML, another version, or not valid against the schema."""


@cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def validate(document: bytes | str) -> None:
    """Raise InvalidCapDocument naming the first reason `document` is not a valid CAP 1.2 alert."""
    text = document.decode("utf-8") if isinstance(document, bytes) else document
    try:
        errors = list(schema().iter_errors(text))
    except xmlschema.XMLResourceError as error:  # not XML at all
        raise InvalidCapDocument(f"not XML: {error}") from error
    except Exception as error:  # the parser's own errors (ElementTree.ParseError and kin)
        raise InvalidCapDocument(f"not XML: {error}") from error
    if errors:
        first = errors[0]
        raise InvalidCapDocument(f"not valid CAP 1.2 at {first.path}: {first.reason}")
