"""What one generator process saw: deliveries, acks, refusals and latencies.

Latencies are kept as a list of microseconds while a run goes and put into an HdrHistogram after
it: `HdrHistogram.record_value` costs about 3 µs in pure Python, as much as reading the frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

MAX_ERRORS_KEPT = 5


def histogram() -> HdrHistogram:
    return HdrHistogram(1, 600_000_000, 3)  # microseconds, up to 10 minutes


def histogram_of(latencies_us: list[int]) -> HdrHistogram:
    h = histogram()
    for v in latencies_us:
        h.record_value(v if v > 0 else 1)
    return h


@dataclass
class Tally:
    """Counters of the current run. Clock: time.monotonic_ns(), which is one clock for every
    process of the machine, so a sender in one process and a receiver in another agree."""

    run_from_ns: int = 0  # messages sent before this are from an earlier run: ignored
    window_start_ns: int = 0
    window_end_ns: int = 0
    received: int = 0  # messages of this run delivered, whenever
    in_window: int = 0  # messages delivered inside the window (by arrival time)
    acked: int = 0
    error_frames: int = 0
    refused: int = 0  # acks with a non-zero code, and error frames
    latencies_us: list[int] = field(default_factory=list)  # of messages sent inside the window
    errors: list[str] = field(default_factory=list)
    # Group runs: send timestamp -> [deliveries, last arrival ns].
    arrivals: dict[int, list[int]] | None = None

    def reset(self, run_from_ns: int, window_start_ns: int, window_end_ns: int) -> None:
        self.run_from_ns = run_from_ns
        self.window_start_ns = window_start_ns
        self.window_end_ns = window_end_ns
        self.received = self.in_window = self.acked = self.error_frames = self.refused = 0
        self.latencies_us = []
        self.errors = []
        if self.arrivals is not None:
            self.arrivals = {}

    def message(self, sent_ns: int, now_ns: int) -> None:
        if sent_ns < self.run_from_ns:
            return
        self.received += 1
        if self.window_start_ns <= now_ns < self.window_end_ns:
            self.in_window += 1
        if self.window_start_ns <= sent_ns < self.window_end_ns:
            self.latencies_us.append((now_ns - sent_ns) // 1000)
        if self.arrivals is not None:
            seen = self.arrivals.get(sent_ns)
            if seen is None:
                self.arrivals[sent_ns] = [1, now_ns]
            else:
                seen[0] += 1
                seen[1] = now_ns

    def ack(self, ok: bool) -> None:
        self.acked += 1
        if not ok:
            self.refused += 1

    @property
    def answered(self) -> int:
        """Sends the server has answered, with an ack or an error frame."""
        return self.acked + self.error_frames

    def error(self, text: str) -> None:
        self.error_frames += 1
        self.refused += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text[:300])
