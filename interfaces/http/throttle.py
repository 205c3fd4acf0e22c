"""Failed authentication: throttled per client address, and kept for auditors as refused attempts.

A client address may present `per_minute` bad tokens (unknown, revoked, or not a bearer token at all) in a
window of a minute; beyond that its failing requests are answered `429 TOO_MANY_FAILED_AUTHENTICATIONS` with
`Retry-After` until the window ends. Only failures are throttled: a valid token is always let through, so a
colleague behind the same address is never held back by someone else's bad tokens. (Tokens carry 256 bits of
entropy: guessing one is hopeless anyway; the throttle keeps a flood of bad tokens cheap and visible.)

Counted per service process, in memory, for at most `max_addresses` addresses at a time (the oldest window is
let go first): with N processes an address gets N times the budget, which is still a budget. Keeping the
count in the database would cost a write per failure, the very load the throttle is there to shed.

What auditors read in the refusal log, per address and window: each failure within the budget (the path and
the first 8 hex digits of the SHA-256 of what was presented, never the token itself), one row when the
address is throttled, and one row saying how many more were refused with 429, written when the address next
fails after its window, when its window is let go, or when the service stops. So 3,000 bad tokens in 5 s
are 22 rows, not 3,000: every one is accounted for, and the log cannot be flooded through the front door.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.shared import Rule
from infrastructure.refusals import RefusalLog

COMMAND = "authenticate"


@dataclass
class _Window:
    started: float  # monotonic
    started_at: datetime
    failures: int = 0
    throttled: int = 0  # failures beyond the budget, answered 429


class FailedAuthentications:
    def __init__(
        self,
        refusals: RefusalLog,
        clock: Callable[[], datetime],
        per_minute: int = 20,
        max_addresses: int = 10_000,
        window_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.refusals = refusals
        self.clock = clock
        self.per_minute = per_minute
        self.max_addresses = max_addresses
        self.window_seconds = window_seconds
        self.monotonic = monotonic
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, address: str, digest: str, path: str) -> int | None:
        """Count a failed authentication from `address` and keep it for auditors (writes: call in a thread).
        The seconds the address must wait (its Retry-After) if it is now over its budget, else None."""
        rows: list[dict[str, Any]] = []
        retry_after = None
        with self._lock:
            now = self.monotonic()
            window = self._windows.get(address)
            if window is not None and now - window.started >= self.window_seconds:
                rows += self._closed(address, self._windows.pop(address))
                window = None
            if window is None:
                while len(self._windows) >= self.max_addresses:
                    rows += self._closed(*self._windows.popitem(last=False))
                window = self._windows[address] = _Window(now, self.clock())
            window.failures += 1
            if window.failures <= self.per_minute:
                rows.append(self._row(
                    address, path, Rule.UNAUTHENTICATED, "a token that is unknown, revoked or malformed was presented",
                    token_sha256_prefix=digest[:8],
                ))
            else:
                window.throttled += 1
                retry_after = max(1, math.ceil(window.started + self.window_seconds - now))
                if window.throttled == 1:
                    rows.append(self._row(
                        address, path, Rule.TOO_MANY_FAILED_AUTHENTICATIONS,
                        f"more than {self.per_minute} failed authentications in a minute; further ones are "
                        f"refused with 429 for {retry_after} s",
                    ))
        for row in rows:
            self.refusals.record(**row)
        return retry_after

    def flush(self) -> None:
        """Keep the count of every window that throttled (the service is stopping)."""
        with self._lock:
            rows = [row for address, window in self._windows.items() for row in self._closed(address, window)]
            self._windows.clear()
        for row in rows:
            self.refusals.record(**row)

    def _closed(self, address: str, window: _Window) -> list[dict[str, Any]]:
        if not window.throttled:
            return []
        until = window.started_at + timedelta(seconds=self.window_seconds)
        return [self._row(
            address, None, Rule.TOO_MANY_FAILED_AUTHENTICATIONS,
            f"{window.throttled} more failed authentications from {address} were refused with 429 between "
            f"{window.started_at.isoformat()} and {until.isoformat()}",
            refused=window.throttled, since=window.started_at.isoformat(), until=until.isoformat(),
        )]

    def _row(self, address: str, path: str | None, rule: Rule, message: str, **payload: Any) -> dict[str, Any]:
        return {
            "at": self.clock(), "user": None, "role": None, "command": COMMAND, "target": path, "rule": str(rule),
            "message": message, "payload": {"address": address, **payload},
        }
