"""A page of a long list read from a read model: at most `limit` items, after or before a cursor, within a
time window. A list is ordered by an instant (microseconds since the epoch) and then a key; a cursor is an
item's key (an entry's `position` in the timeline, a decision's id in the decision log), so it holds while new
items arrive. A page answers the cursors of its neighbours, `next` and `previous`. The lists of a picture (the
overview, the boards) are cut to `limit` items each, saying which were cut (`bounded`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from application.ports import Store
from domain.shared import DomainError, Rule

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
DEFAULT_LIMIT = 100  # items of a list when a reader asks for no `limit`
MAX_LIMIT = 1000  # … and at most, whatever it asks


@dataclass(frozen=True)
class Page:
    limit: int | None = None  # None: every item (what a caller that asks for no page gets)
    after: int | str | None = None  # the items after this cursor …
    before: int | str | None = None  # … or before it (the last `limit` of them), in the same order
    start: datetime | None = None  # `from`: items that occurred at or after this instant …
    end: datetime | None = None  # … `to`: and before this one

    def __post_init__(self) -> None:
        if self.after is not None and self.before is not None:
            raise DomainError(Rule.INVALID_INPUT, "give `after` or `before`, not both", field="before")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise DomainError(Rule.INVALID_INPUT, "the window's `to` must be later than its `from`", field="to")


def microseconds(moment: datetime) -> int:
    """An instant as microseconds since the epoch: what lists are ordered by (never a local clock reading)."""
    return (moment - EPOCH) // MICROSECOND


def page_rows(
    store: Store, table: str, order: tuple[str, str], crisis_id: str, page: Page
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of one crisis in `table` on `page`, in the `order` (instant column, key column) that an index of
    the table begins with after crisis_id: a condition per bound, one row more than the limit to know whether
    there is more. With the page's neighbours: {"next": key or None, "previous": key or None}."""
    instant, key = order
    where, args = ["crisis_id = %s"], [crisis_id]
    if page.start is not None:
        where.append(f"{instant} >= %s")
        args.append(microseconds(page.start))
    if page.end is not None:
        where.append(f"{instant} < %s")
        args.append(microseconds(page.end))
    backwards = page.before is not None
    cursor = page.before if backwards else page.after
    if cursor is not None:
        found = store.query(f"SELECT {instant} FROM {table} WHERE crisis_id = %s AND {key} = %s", (crisis_id, cursor))
        if not found:
            name = "before" if backwards else "after"
            raise DomainError(Rule.INVALID_INPUT, "{name}={cursor} names nothing of {crisis_id} here", {"name": name, "cursor": cursor, "crisis_id": crisis_id}, field=name)
        at = found[0][instant]
        where.append(f"{instant} <= %s AND ({instant} < %s OR {key} < %s)" if backwards else
                     f"{instant} >= %s AND ({instant} > %s OR {key} > %s)")
        args += [at, at, cursor]
    direction = " DESC" if backwards else ""
    limit = "" if page.limit is None else f" LIMIT {int(page.limit) + 1}"
    rows = store.query(
        f"SELECT * FROM {table} WHERE {' AND '.join(where)} ORDER BY {instant}{direction}, {key}{direction}{limit}",
        tuple(args),
    )
    more = page.limit is not None and len(rows) > page.limit
    rows = rows[: page.limit] if more else rows
    if backwards:
        rows.reverse()
    # beyond a page lies more in the direction it was read when there was one row more; the other way, the cursor
    more_after, more_before = (cursor is not None, more) if backwards else (more, cursor is not None)
    return rows, {
        "next": rows[-1][key] if rows and more_after else None,
        "previous": rows[0][key] if rows and more_before else None,
    }


def bounded(answer: dict[str, Any], limit: int) -> dict[str, Any]:
    """`answer` with each of its lists, at any depth, cut to its first `limit` items (in the list's own order:
    actions by due time, crises by declaration); `cut` names each list that was cut, by its JSON Pointer
    (RFC 6901), with how many items it had. No `cut` when nothing was. Maps keyed by unit are bounded by the
    unit registry and are kept whole."""
    cut: dict[str, int] = {}

    def walk(value: Any, pointer: str) -> Any:
        if isinstance(value, list):
            if len(value) > limit:
                cut[pointer] = len(value)
                value = value[:limit]
            return [walk(item, f"{pointer}/{n}") for n, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: walk(item, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
                    for key, item in value.items()}
        return value

    out = walk(answer, "")
    return {**out, "cut": cut} if cut else out
