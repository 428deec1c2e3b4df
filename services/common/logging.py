"""The one logging setup: structlog, JSON in production, readable on a terminal.

Repeated lines are rate limited: one client sending the same bad frame thousands of times a
second must not fill the disk with the same line (or its traceback). Each (logger, event)
passes REPEAT_LIMIT lines per REPEAT_WINDOW_S; the rest are dropped and counted, and one
"suppressed similar lines" warning per window says how many.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import structlog

REPEAT_LIMIT = 10
REPEAT_WINDOW_S = 10.0
SUPPRESSED_EVENT = "suppressed similar lines"

# (logger name, event) of a line: what "similar" means.
LineKey = tuple[str | None, str]
# Told, once a window ends, that it dropped `count` lines of `key`.
Report = Callable[[LineKey, int], None]


@dataclass(slots=True)
class _Window:
    started: float
    passed: int = 0
    dropped: int = 0


class RepeatLimiter:
    """A structlog processor that lets through at most `limit` lines of each (logger, event)
    per `window_s`, drops the rest, and reports the count of dropped lines once the window
    ends: on the next line of the same kind, or at the next sweep (every `window_s`, on any
    line), so a flood that stops is still summed up. Windows that ended are forgotten, so an
    event text that varies does not grow it without bound. No I/O: `report` writes the
    summary (through the logger, in setup_logging) and `clock` is a parameter."""

    def __init__(
        self,
        report: Report,
        limit: int = REPEAT_LIMIT,
        window_s: float = REPEAT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._windows: dict[LineKey, _Window] = {}
        self._next_sweep = clock() + window_s

    def __call__(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event = str(event_dict.get("event"))
        if event == SUPPRESSED_EVENT:
            # A summary: at most one per (logger, event) and window already.
            return event_dict
        now = self._clock()
        if now >= self._next_sweep:
            # Set first: the reports below log, and come through here again.
            self._next_sweep = now + self._window_s
            self._sweep(now)
        key: LineKey = (event_dict.get("logger_name"), event)
        window = self._windows.get(key)
        if window is None or now - window.started >= self._window_s:
            self._close(key)
            window = self._windows[key] = _Window(now)
        if window.passed < self._limit:
            window.passed += 1
            return event_dict
        window.dropped += 1
        raise structlog.DropEvent

    def _sweep(self, now: float) -> None:
        for key, window in list(self._windows.items()):
            if now - window.started >= self._window_s:
                self._close(key)

    def _close(self, key: LineKey) -> None:
        window = self._windows.pop(key, None)
        if window is not None and window.dropped:
            self._report(key, window.dropped)


def _report_suppressed(key: LineKey, count: int) -> None:
    get_logger(__name__).warning(
        SUPPRESSED_EVENT, suppressed=count, of_logger=key[0], of_event=key[1]
    )


def setup_logging(service: str, fmt: str = "json", level: str = "info") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s")
    # The Kafka and gRPC libraries are chatty at INFO.
    for noisy in ("aiokafka", "kafka", "grpc", "uvicorn.access", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            # First: a dropped line costs no timestamp and no traceback formatting.
            RepeatLimiter(_report_suppressed),
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    # The name goes on every line (`logger_name`; structlog keeps `logger` for itself), which
    # also tells the repeat limit which lines are alike. Bound lazily, on first use, so after
    # setup_logging has configured structlog.
    if name is None:
        return structlog.get_logger()  # type: ignore[no-any-return]
    return structlog.get_logger(name, logger_name=name)  # type: ignore[no-any-return]
