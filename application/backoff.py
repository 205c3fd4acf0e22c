"""How long to wait before trying again: the one backoff rule of every retry loop (the follower, a lost store
at start, a lost LISTEN connection, a read model stopped by a failure)."""

from __future__ import annotations

import random

RETRY_CAP_SECONDS = 3.0  # whatever waits out a lost store is working again within seconds of its return


def doubling(failures: int, first: float, cap: float) -> float:
    """`first` doubled for each failure after the first, at most `cap` (the exponent is bounded, so an outage
    of any length never overflows the float)."""
    return min(first * 2 ** min(failures, 64), cap)


def retry_delay(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubling from half a second, capped, with jitter (so
    processes that lost the store together do not knock on it together)."""
    return round(doubling(failures, 0.5, RETRY_CAP_SECONDS) * random.uniform(0.5, 1.0), 2)
