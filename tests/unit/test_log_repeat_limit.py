"""The repeat limit of log lines: at most N lines per (logger, event) per window, the rest
dropped and summed up once. Driven directly as a structlog processor, without output."""

from __future__ import annotations

from typing import Any

import pytest
import structlog

from services.common.logging import SUPPRESSED_EVENT, LineKey, RepeatLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Reports:
    def __init__(self) -> None:
        self.got: list[tuple[LineKey, int]] = []

    def __call__(self, key: LineKey, count: int) -> None:
        self.got.append((key, count))


def line(event: str, logger: str = "services.gateway.ws", **kw: Any) -> dict[str, Any]:
    return {"event": event, "logger_name": logger, **kw}


def passes(limiter: RepeatLimiter, event_dict: dict[str, Any]) -> bool:
    try:
        limiter(None, "warning", event_dict)
    except structlog.DropEvent:
        return False
    return True


def test_a_flood_of_one_line_passes_n_per_window_then_one_summary() -> None:
    clock, reports = Clock(), Reports()
    limiter = RepeatLimiter(reports, limit=10, window_s=10, clock=clock)
    passed = 0
    for i in range(5000):
        clock.now = i * 0.001  # 5,000 lines in 5 s: one window
        passed += passes(limiter, line("ws request failed", request_id=i))
    assert passed == 10
    assert reports.got == []
    # The next window: the summary of the last one comes first, then lines pass again.
    clock.now = 10.0
    assert passes(limiter, line("ws request failed"))
    assert reports.got == [(("services.gateway.ws", "ws request failed"), 4990)]


def test_lines_are_alike_by_logger_and_event_only() -> None:
    clock, reports = Clock(), Reports()
    limiter = RepeatLimiter(reports, limit=2, window_s=10, clock=clock)
    assert [passes(limiter, line("a", user=u)) for u in "xyz"] == [True, True, False]
    assert passes(limiter, line("b"))
    assert passes(limiter, line("a", logger="services.router.fanout"))


def test_a_flood_that_stops_is_summed_up_at_the_next_sweep() -> None:
    clock, reports = Clock(), Reports()
    limiter = RepeatLimiter(reports, limit=1, window_s=10, clock=clock)
    for _ in range(3):
        passes(limiter, line("outbox overflow"))
    clock.now = 25.0
    # Any other line, later: the ended window is reported and forgotten.
    assert passes(limiter, line("starting", logger="gateway"))
    assert reports.got == [(("services.gateway.ws", "outbox overflow"), 2)]
    assert (("services.gateway.ws", "outbox overflow")) not in limiter._windows


def test_summaries_themselves_are_never_dropped() -> None:
    limiter = RepeatLimiter(Reports(), limit=1, window_s=10, clock=Clock())
    summary = line(SUPPRESSED_EVENT, logger="services.common.logging")
    assert all(passes(limiter, dict(summary)) for _ in range(50))


@pytest.mark.parametrize("limit", [1, 10])
def test_a_quiet_line_always_passes(limit: int) -> None:
    clock = Clock()
    limiter = RepeatLimiter(Reports(), limit=limit, window_s=10, clock=clock)
    for i in range(100):
        clock.now = i * 10.0
        assert passes(limiter, line("tick"))
