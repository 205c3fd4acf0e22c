"""What every aggregate shares: an id derived from its natural key, and events stamped with who and when.

Every event records the acting user (`actor`) and the server's recording time (`recorded_at`). The
library's own `timestamp` is set to that same instant, so that the event has one time of recording: the
clock's. `recorded_at` stays a field of its own because events stored before carry it beside a
`timestamp` that the library took from the wall clock.

Event classes stay nested in their aggregate's module: their module and qualified name are the topic
stored with every event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


class Record(Aggregate):
    """An aggregate of Valmius. `kind` names its ids; `key` is the attribute holding its natural key (the
    crisis id, the unit, …), which every event of the record repeats so that the log reads on its own."""

    kind = ""
    key = ""

    @classmethod
    def id_for(cls, key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"valmius:{cls.kind}:{key}")

    class Event(Aggregate.Event):
        actor: str
        recorded_at: datetime

        def summary(self) -> str:
            return type(self).__name__

    @classmethod
    def _create(cls, event_class: type, **kwargs: Any) -> Any:
        return super()._create(event_class, timestamp=kwargs["recorded_at"], **kwargs)

    def trigger_event(self, event_class: type, **kwargs: Any) -> None:
        if self.key:
            kwargs[self.key] = getattr(self, self.key)
        super().trigger_event(event_class, timestamp=kwargs["recorded_at"], **kwargs)


class Folded:
    """A record as readers are shown it, texts and all, folded from its aggregate's events in order (the
    aggregates keep only what their rules need): `apply` takes one event."""

    @classmethod
    def of(cls, events: Iterable[Any]) -> Self:
        record = cls()
        for event in events:
            record.apply(event)
        return record

    def apply(self, event: Any) -> None:
        raise NotImplementedError
