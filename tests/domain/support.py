"""What the domain tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eventsourcing.domain import Aggregate

from domain.shared import DomainError, Rule


@contextmanager
def refused(aggregate: Aggregate, rule: Rule) -> Iterator[pytest.ExceptionInfo[DomainError]]:
    """The command inside is refused by `rule` and appends no event to the aggregate."""
    before = (aggregate.version, len(aggregate.pending_events))
    with pytest.raises(DomainError) as error:
        yield error
    assert error.value.rule is rule, error.value
    assert (aggregate.version, len(aggregate.pending_events)) == before


SAVED: dict[int, list] = {}  # the events saved of each aggregate a test made, by the aggregate object's id()


def made(aggregate: Aggregate) -> Aggregate:
    """A new aggregate of a test, its creation saved: `read` folds what it recorded from here on."""
    SAVED[id(aggregate)] = aggregate.collect_events()
    return aggregate


def saved(aggregate: Aggregate) -> list:
    events = aggregate.collect_events()
    SAVED.setdefault(id(aggregate), []).extend(events)
    return events


def recorded(aggregate: Aggregate) -> list:
    """Every event of an aggregate made by a test, saved or pending: the aggregates keep no texts, readers fold
    them from the events."""
    return [*SAVED[id(aggregate)], *aggregate.pending_events]
