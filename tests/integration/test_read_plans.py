"""A page of a long crisis costs a bounded indexed query on PostgreSQL, whatever the crisis's length: with
50,000 timeline entries and 50,000 decisions in one crisis (and others beside it), every statement a page of
the timeline or the decision log runs (first page, onwards, backwards, within a window) is planned without a
sequential scan of a read model's table, nor reads more than a page's rows in any of its steps. The statements are the ones the query functions send, recorded as
they run, and EXPLAINed with their own parameters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import psycopg

from application.projections import crisis_timeline, decision_log
from application.projections.paging import Page, microseconds
from tests.conftest import ApiClient

ROWS = 50_000
START = datetime.fromisoformat("2025-10-25T21:40:00+03:00")


class Recording:
    """The store, recording every statement read through it."""

    def __init__(self, store: Any) -> None:
        self.store, self.dialect, self.statements = store, store.dialect, []

    def query(self, statement: str, params: tuple = ()) -> list[dict[str, Any]]:
        self.statements.append((statement, params))
        return self.store.query(statement, params)


def fill(url: str) -> None:
    """ROWS timeline entries and ROWS decisions (each reviewed) of C-LONG, one a minute, and 1,000 of each of ten other crises."""
    us, minute = microseconds(START), 60_000_000
    with psycopg.connect(url, autocommit=True) as conn:
        for crisis, count in [("C-LONG", ROWS), *((f"C-{n}", 1_000) for n in range(10))]:
            conn.execute(
                "INSERT INTO rm_timeline (crisis_id, position, kind, ref, occurred_at, occurred_us, recorded_at, actor,"
                " late_minutes, content, classification, struck)"
                " SELECT %s, n, CASE n WHEN 0 THEN 'declared' ELSE 'log_entry' END, n::text, %s, %s::bigint + n::bigint * %s::bigint, %s, 'DO-1', 0, '{}', NULL, 0"
                " FROM generate_series(0, %s) n",  # 0: its declaration
                (crisis, START.isoformat(), us, minute, START.isoformat(), count),
            )
            conn.execute(
                "INSERT INTO rm_decision_pages (crisis_id, decided_us, decision_id)"
                " SELECT %s, %s::bigint + n::bigint * %s::bigint, 'D-' || n FROM generate_series(1, %s) n", (crisis, us, minute, count),
            )
            conn.execute(
                "INSERT INTO rm_decisions (crisis_id, decision_id, decided_by, decision, rationale, options, refs,"
                " classification, decided_at, recorded_at, actor, reviewed)"
                " SELECT %s, 'D-' || n, 'Head', 'evacuate', 'flooding', '[]', '[]', NULL, %s, %s, 'DO-1', 0"
                " FROM generate_series(1, %s) n", (crisis, START.isoformat(), START.isoformat(), count),
            )
            conn.execute(
                "INSERT INTO rm_decision_reviews (crisis_id, position, decision_id, occurred_at, recorded_at, actor,"
                " outcome) SELECT %s, n, 'D-' || n, %s, %s, 'DO-1', 'upheld' FROM generate_series(1, %s) n",
                (crisis, START.isoformat(), START.isoformat(), count),
            )
        conn.execute("ANALYZE")


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
    fill(url)
    store = Recording(pg_api.services.sql)
    policy, at = pg_api.services.coordination.policy, START + timedelta(days=60)

    # When its timeline and decision log are read a page at a time: the first, onwards, back, and in a window
    window = Page(limit=100, start=START + timedelta(days=10), end=START + timedelta(days=11))
    for read, cursors in ((crisis_timeline.timeline, (25_000, 25_001)), (decision_log.decision_log, ("D-25000", "D-25002"))):
        for page in (Page(limit=100), Page(limit=100, after=cursors[0]), Page(limit=100, before=cursors[1]), window):
            answer = read(store, "C-LONG", at, True, policy, page)
            assert len(answer.get("entries", answer.get("decisions"))) == 100

    # Then no statement they ran scans a table sequentially, nor reads more than a page's rows in any step
    assert len(store.statements) >= 16
    assert wide_scans(url, store.statements, bound=2 * 101) == []
