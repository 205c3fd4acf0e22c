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
