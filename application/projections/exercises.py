"""Exercise mode in the read models: a crisis declared as an exercise (Crisis.Declared.exercise) never shows in
the real picture. A model whose rows belong to crises but that does not keep the crises itself keeps the ids of
the exercises among them in a table of its own (`KeepsExercises`), and its reads of the real picture leave
their rows out in the query (`real`), or read only them for the exercises' own view (`only`). The situation
overview's set (rm_overview_exercises) serves the district overview and the handover brief too.

The tables are `later_tables` of their models: no event stored before exercise mode declares an exercise, so
the history snapshots taken before stay valid (their sets are empty); the live models are rebuilt, their shape
having changed.

Events stored before exercise mode have no `exercise`: they are real crises (`is_exercise`)."""

from __future__ import annotations

from typing import Any, ClassVar

from application.ports import Tx
from domain.crisis import Crisis

EXERCISES_TABLE = "(crisis_id TEXT PRIMARY KEY)"


def is_exercise(event: Any) -> bool:
    """Whether a Crisis.Declared declares an exercise (False for those stored before exercise mode)."""
    return bool(getattr(event, "exercise", False))


class KeepsExercises:
    """A read model's set of exercise crises: `exercises_table` (one of its `tables`, EXERCISES_TABLE), filled
    by `exercise_declared` (its handler of Crisis.Declared)."""

    exercises_table: ClassVar[str]
    later_tables: ClassVar[frozenset[str]]  # a model sets it to its exercises table (ReadModel.later_tables)

    def exercise_declared(self, tx: Tx, e: Crisis.Declared, position: int) -> None:
        if is_exercise(e):
            self.append(tx, self.exercises_table, ("crisis_id",), (e.crisis_id,))  # type: ignore[attr-defined]


def real(column: str, table: str) -> str:
    """An SQL condition: the row's crisis (`column`, which may be NULL: no crisis) is not an exercise."""
    return f"({column} IS NULL OR {column} NOT IN (SELECT crisis_id FROM {table}))"


def only(column: str, table: str) -> str:
    """An SQL condition: the row's crisis is an exercise."""
    return f"{column} IN (SELECT crisis_id FROM {table})"


def where(column: str, table: str, exercise: bool) -> str:
    """The rows of the real picture, or with `exercise` those of the exercises."""
    return only(column, table) if exercise else real(column, table)
