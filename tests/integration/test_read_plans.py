"""A page of a long crisis costs a bounded indexed query on PostgreSQL, whatever the crisis's length: with
50,000 timeline entries and 50,000 decisions in one crisis (and others beside it), every statement a page of
the timeline or the decision log runs (first page, onwards, backwards, within a window) runs without a
sequential scan of a read model's table, and no step of its plan reads more than about a page's rows. The
statements are the ones the query functions send, recorded as they run, and run again under EXPLAIN ANALYZE
with their own parameters (the rows: bench/reads.py's `fill`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg

from application.projections import crisis_timeline, decision_log
from application.projections.paging import Page
from bench.reads import START, fill
from tests.conftest import ApiClient

ROWS = 50_000


class Recording:
    """The store, recording every statement read through it."""

    def __init__(self, store: Any) -> None:
        self.store, self.dialect, self.statements = store, store.dialect, []

    def query(self, statement: str, params: tuple = ()) -> list[dict[str, Any]]:
        self.statements.append((statement, params))
        return self.store.query(statement, params)


def wide_scans(url: str, statements: list[tuple[str, tuple]], bound: int) -> list[str]:
    """The statements whose plan scans a table sequentially, or has a step that reads (or filters out) more
    than `bound` rows: run with EXPLAIN ANALYZE, with their own parameters."""
    found = []

    def steps(node: dict[str, Any]) -> list[dict[str, Any]]:
        return [node, *(step for child in node.get("Plans", []) for step in steps(child))]

    with psycopg.connect(url) as conn:
        for statement, params in statements:
            plan = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", params).fetchone()[0][0]["Plan"]
            for step in steps(plan):
                read = step["Actual Rows"] * step["Actual Loops"] + step.get("Rows Removed by Filter", 0)
                if step["Node Type"] == "Seq Scan" or read > bound:
                    found.append(f"{statement} {params}: {step['Node Type']} reads {read} rows")
    return found


def test_pages_of_a_50000_entry_crisis_read_along_indexes(pg_api: ApiClient, postgres_url: str) -> None:
    # Given a crisis of 50,000 timeline entries and 50,000 decisions, beside ten others, on PostgreSQL
    url = pg_api.services.settings.database_url
    for crisis, count in [("C-LONG", ROWS), *((f"C-{n}", 1_000) for n in range(10))]:
        fill(url, crisis, count)
    store = Recording(pg_api.services.sql)
    policy, at = pg_api.services.coordination.policy, START + timedelta(days=60)

    # When its timeline and decision log are read a page at a time: the first, onwards, back, and in a window
    window = Page(limit=100, start=START + timedelta(days=10), end=START + timedelta(days=11))
    reads = ((crisis_timeline.timeline, (25_000, 25_001)), (decision_log.decision_log, ("D-25000", "D-25002")))
    for read, cursors in reads:
        for page in (Page(limit=100), Page(limit=100, after=cursors[0]), Page(limit=100, before=cursors[1]), window):
            answer = read(store, "C-LONG", at, True, policy, page)
            assert len(answer.get("entries", answer.get("decisions"))) == 100

    # Then no statement they ran scans a table sequentially, nor reads more than a page's rows in any step
    assert len(store.statements) >= 16
    assert wide_scans(url, store.statements, bound=2 * 101) == []
