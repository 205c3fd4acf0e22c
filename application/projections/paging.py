"""A page of a long list read from a read model: at most `limit` items, after or before a cursor, within a
time window. A cursor is the log position of an item (an entry's `position`, a decision's id in the decision
log): stable while new items arrive. A page answers the cursors of its neighbours, `next` and `previous`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.shared import DomainError, Rule


@dataclass(frozen=True)
class Page:
    limit: int | None = None  # None: every item (what a caller that asks for no page gets)
    after: int | None = None  # the items after this cursor …
    before: int | None = None  # … or before it (the last `limit` of them), in the same order
    start: datetime | None = None  # `from`: items that occurred at or after this instant …
    end: datetime | None = None  # … `to`: and before this one

    def __post_init__(self) -> None:
        if self.after is not None and self.before is not None:
            raise DomainError(Rule.INVALID_INPUT, "give `after` or `before`, not both", field="before")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise DomainError(Rule.INVALID_INPUT, "the window's `to` must be later than its `from`", field="to")


def unknown_cursor(name: str, cursor: int | str, where: str) -> DomainError:
    return DomainError(Rule.INVALID_INPUT, f"{name}={cursor} names no item of {where}", field=name)
