"""docs/reference.md is what `valmius docs` prints from the code, and it names every rule code, role, permission,
category, scale and classification level the code has, each with its meaning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.access import PERMISSIONS, Role
from domain.crisis import ACTIVE, CLOSED, CONTAINED, RESOLVED
from domain.police_liaison import DIRECTIONS, OUTCOMES, REQUEST_TYPES
from domain.shared import CATEGORIES, CONDITIONS, DEFAULT_UNITS, Classification, DomainError, Policy, Rule
from interfaces.cli import reference
from interfaces.cli.main import main
from interfaces.http.schemas.common import ClassificationRequest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"


def test_the_committed_reference_is_what_the_code_prints(capsys):
    # When `valmius docs` prints the reference from the code as it is now
    assert main(["docs"]) == 0
    printed = capsys.readouterr().out
    # Then docs/reference.md is exactly that (if not: `.venv/bin/valmius docs > docs/reference.md`)
    assert REFERENCE.read_text(encoding="utf-8") == printed, "run `.venv/bin/valmius docs > docs/reference.md`"


def words_in_the_code() -> list[tuple[str, str]]:
    """Every word of the domain's vocabulary in the code, with the section of the reference that explains it."""
    policy = Policy()
    return [
        *(("Roles", str(role)) for role in Role),
        *(("Permissions", use_case) for use_case in PERMISSIONS),
        *(("Rule codes", str(rule)) for rule in Rule),
        *(("Crisis categories", category) for category in CATEGORIES),
        *(("Crisis severity", str(severity)) for severity in policy.severities),
        *(("Crisis condition", condition) for condition in CONDITIONS),
        *(("Crisis status", status) for status in (ACTIVE, CONTAINED, RESOLVED, CLOSED)),
        *(("Readiness of a unit", level) for level in policy.readiness_ladder),
        *(("Classification levels", level) for level in classification_levels()),
        *(("Police requests", word) for word in (*DIRECTIONS, *REQUEST_TYPES, *OUTCOMES)),
        *(("Units", unit) for unit in (*DEFAULT_UNITS.units, *DEFAULT_UNITS.partners)),
    ]


# What a level may come with: a legal basis (SECRET), a marking and its originator (RECEIVED), or nothing.
WITH = ({}, {"legal_basis": "JulkL 24.1 § 7 k"}, {"marking": "TL IV", "originator": "HPD"})


def accepted(level: str) -> bool:
    """Whether the domain takes `level` as a classification level (with what it needs)."""
    for extra in WITH:
        try:
            return Classification.of(level, **extra).level == level
        except DomainError:
            continue
    return False


def classification_levels() -> list[str]:
    """The levels the code takes: those the API's schema shows and those the reference names, each taken by the
    domain; and words that are not levels are refused."""
    levels = sorted({*ClassificationRequest.model_fields["level"].examples, *reference.CLASSIFICATION_MEANINGS})
    assert all(accepted(level) for level in levels)
    assert not any(accepted(word) for word in ("CONFIDENTIAL", "RESTRICTED", "TL IV", "INTERNAL", "TOP_SECRET"))
    return levels


def section(title: str) -> str:
    text = reference.render()
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


@pytest.mark.parametrize(("title", "word"), words_in_the_code(), ids=lambda value: str(value))
def test_every_word_of_the_code_has_its_row_and_meaning(title, word):
    # Then its section has a row for it, whose last cell says what it means
    row = re.search(rf"^\| `?{re.escape(word)}`? \|(.*)\|$", section(title), re.MULTILINE)
    assert row is not None, f"{word} is missing from the reference's {title}"
    assert row.group(1).split("|")[-1].strip(), f"{word} has no meaning in the reference"


def test_the_readme_points_at_the_reference_and_not_outside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/reference.md" in readme
    assert "../shared/context/DOMAIN.md" not in readme
