"""What every printable page of Valmius shares: one style sheet for the screen and for paper, the pieces of HTML
the pages are made of, and the PDF made from a page.

The pages are self-contained (no scripts, no external style sheets, fonts or images), so they read the same
offline and in ten years: the inquiry report of a crisis export (report.py), the incident status summary
(incident_summary.py) and the activity logs (activity_log.py). On paper (and in the PDF, which weasyprint makes
from the same HTML) a page is A4 with margins, each page names the document in its header and says "page 1/3"
in its footer, a table's heading row is repeated on every page it runs over, and a row is not split across two
pages. Times are Europe/Helsinki wall-clock times with their UTC offset, as everywhere in Valmius.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body { font: 11pt/1.4 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111; margin: 2em auto;
max-width: 75em; padding: 0 1em; }
h1 { font-size: 18pt; margin-bottom: .2em; } h2 { font-size: 14pt; margin-top: 1.6em; border-bottom: 1px solid #999; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; } th, td { border: 1px solid #bbb; padding: 3px 5px;
vertical-align: top; text-align: left; } th { background: #eee; } time { white-space: nowrap; }
thead { display: table-header-group; }
.redacted { font-style: italic; color: #555; } .struck { text-decoration: line-through; } .late { color: #a40; }
.flag { color: #a00; font-weight: bold; } .more { font-style: italic; }
.meta td:first-child { width: 14em; font-weight: bold; }
.digest { font-family: monospace; font-size: 8pt; word-break: break-all; }
.marking, .printed { margin: .2em 0; font-size: 9pt; color: #555; }
@media print { body { margin: 0; max-width: none; padding: 0; } h2 { break-after: avoid; }
tr { break-inside: avoid; } table { font-size: 8.5pt; } time { white-space: normal; }
td { overflow-wrap: break-word; } }
@page { size: A4; margin: 18mm 14mm 18mm 14mm;
@top-left { content: string(document-title); font: 8pt "DejaVu Sans", sans-serif; color: #555; }
@top-right { content: string(document-classification); font: 8pt "DejaVu Sans", sans-serif; color: #a00; }
@bottom-left { content: string(document-printed); font: 8pt "DejaVu Sans", sans-serif; color: #555; }
@bottom-right { content: "page " counter(page) "/" counter(pages); font: 8pt "DejaVu Sans", sans-serif; } }
h1 { string-set: document-title content(); }
.printed { string-set: document-printed content(); } .marking { string-set: document-classification content(); }
"""


EXERCISE = "EXERCISE"


def document(title: str, body: list[str], *, marking: str = "", printed: str = "", exercise: bool = False) -> str:
    """A whole page: `title` (its first heading, and every printed page's header), the `body` parts, and the
    `marking` (a classification) and `printed` line each printed page repeats in its corners. A page of a crisis
    declared as an exercise says EXERCISE in its marking line (every printed page's corner) and its title."""
    if exercise:
        marking = f"{EXERCISE} · {marking}" if marking else EXERCISE
        title = f"{EXERCISE}: {title}"
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="marking">{e(marking)}</p>' if marking else "",
        f'<p class="printed">{e(printed)}</p>' if printed else "",
        *body,
        "</body></html>",
    ]) + "\n"


def pdf(html: str) -> bytes:
    """The page as a PDF (A4, by the page's own print style)."""
    from weasyprint import HTML  # imported when a PDF is asked for: it loads pango, which nothing else needs

    return HTML(string=html).write_pdf()


def section(title: str, ident: str, headings: list[str], rows: list[str], *, empty: str = "None.") -> str:
    if not rows:
        return f'<h2 id="{ident}">{e(title)}</h2><p>{e(empty)}</p>'
    head = "".join(f"<th>{e(h)}</th>" for h in headings)
    return f'<h2 id="{ident}">{e(title)}</h2><table id="{ident}-table"><thead><tr>{head}</tr></thead><tbody>' + (
        "\n".join(rows) + "</tbody></table>"
    )


def row(*cells: str, **data: str) -> str:
    """A table row of `cells` (HTML already), with `data-*` attributes naming what it shows."""
    attributes = "".join(f' data-{name}="{e(value)}"' for name, value in data.items())
    return f"<tr{attributes}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def meta(label: str, value: Any, raw: bool = False) -> str:
    return f"<tr><td>{e(label)}</td><td>{value if raw else e(value)}</td></tr>"


def time(text: str | None) -> str:
    if not text:
        return ""
    return f'<time datetime="{e(text)}">{e(text.replace("T", " "))}</time>'


def field(record: dict[str, Any], name: str) -> str:
    """A field of a record as shown: its words, or, when its content was replaced by the label, the label."""
    value = record.get(name)
    if record.get("redacted"):
        return f'<span class="redacted">{e(value)}</span>'
    return e(words(value))


def words(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(words(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {words(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def classification(value: dict[str, Any] | None) -> str:
    return e(label(value))


def label(value: dict[str, Any] | None) -> str:
    """A classification in words: "SECRET JulkL 24.1 § 7 k", "RECEIVED TL IV …", "PUBLIC"."""
    value = value or {}
    level = value.get("level", "PUBLIC")
    detail = value.get("legal_basis") or value.get("marking") or ""
    return f"{level} {detail}".strip()


def e(value: Any) -> str:
    return escape("" if value is None else str(value))
