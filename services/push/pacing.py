"""Pacing of all-member pushes: at most `rate` messages a second from one push instance.

Pure arithmetic; the caller sleeps for what `reserve` answers. Bookings queue one after another,
so jobs running at once share the rate and take turns instead of one starving the others.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Pacer:
    rate: float
    # The (monotonic) time from which the next booking may send.
    next_at: float = 0.0

    def reserve(self, count: int, now: float) -> float:
        """Book `count` sends at the earliest free time; returns the seconds to wait first.

        Idle time earns no credit, so sends never burst above one booking: in any T seconds at
        most rate * T + one booking go out.
        """
        start = max(now, self.next_at)
        self.next_at = start + count / self.rate
        return start - now


def chunk_size(rate: int) -> int:
    """Sends per booking: a tenth of a second's worth, so a burst stays short."""
    return max(1, rate // 10)
