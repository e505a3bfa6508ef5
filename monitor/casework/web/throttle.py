"""Sign-in throttling: after too many failed sign-ins for one user name or from one client
within a window, further attempts are refused until the oldest failure leaves the window."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["LoginThrottle"]

logger = logging.getLogger(__name__)


@dataclass
class LoginThrottle:
    """Counts failures per key (`user:<name>`, `client:<address>`) in memory, in one inbox
    process. `max_failures` failures within `window_seconds` lock the key for the rest of
    the window; a successful sign-in clears its user's count (not the client's, so one good
    account does not reset a client that guesses others). At most `max_keys` keys are kept:
    the stalest are forgotten first."""

    max_failures: int = 5
    window_seconds: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 10_000
    _failures: dict[str, deque[float]] = field(default_factory=dict, init=False, repr=False)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and now - times[0] >= self.window_seconds:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, *keys: str) -> int:
        """Seconds until any of `keys` may try again; 0 when none is locked."""
        now, wait = self.clock(), 0.0
        for key in keys:
            times = self._recent(key, now)
            if len(times) >= self.max_failures:
                oldest = times[len(times) - self.max_failures]
                wait = max(wait, oldest + self.window_seconds - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            times = self._recent(key, now)
            times.append(now)
            self._failures.pop(key, None)
            self._failures[key] = times  # most recently failed last
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
