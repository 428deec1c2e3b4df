"""How many frames one WebSocket connection may send: a token bucket per connection, in
memory. It guards the gateway's CPU and logs against one client (a Redis round trip per frame
would cost more than most frames do); each client's own send rate is judged elsewhere
(throttle.py). Pure, no I/O: the clock is a parameter."""

from __future__ import annotations

import time
from collections.abc import Callable


class FrameBudget:
    __slots__ = ("_at", "_burst", "_clock", "_per_s", "_tokens")

    def __init__(
        self, per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_s = per_s
        self._burst = float(burst)
        self._clock = clock
        # A new connection starts with a full bucket: login and the catch-up come at once.
        self._tokens = self._burst
        self._at = clock()

    def take(self) -> bool:
        """Spend one frame; False when the connection is over its rate and burst."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._per_s)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
