"""Process runtime shared by every service main: logging, uvloop, metrics, signals."""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable

import uvloop

from services.common.config import Settings, get_settings
from services.common.logging import get_logger, setup_logging
from services.common.metrics import serve_metrics

ServiceMain = Callable[[Settings, asyncio.Event], Awaitable[None]]

# A gateway holding thousands of connections has a large, long-lived heap; with CPython's
# default first threshold (700 allocations) a fan-out burst runs the cyclic collector over and
# over. Collect young objects a hundred times less often (docs/BENCHMARKS.md has the effect).
GC_THRESHOLDS = (70_000, 10, 10)


def run_service(name: str, main: ServiceMain) -> None:
    """Run `main(settings, stop)` until SIGTERM or SIGINT sets `stop`; main then drains."""
    settings = get_settings()
    gc.set_threshold(*GC_THRESHOLDS)
    setup_logging(name, settings.log_format, settings.log_level)
    serve_metrics(settings.metrics_port, settings.bind_host)
    log = get_logger(name)

    async def entry() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("starting", node=settings.node_id)
        await main(settings, stop)
        log.info("stopped")

    uvloop.run(entry())
