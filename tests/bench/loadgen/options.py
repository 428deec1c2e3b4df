"""Command-line options shared by the benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import uvloop

from tests.bench.loadgen.ws import KINDS


@dataclass
class C2COptions:
    rates: list[int]
    seconds: float
    warmup: float
    drain: float
    quiesce: float
    procs: int
    pairs: int
    ws: str
    gateways: int
    rest_seconds: float
    floor: bool
    saturate: bool
    sat_start: int
    sat_factor: float
    sat_limit: int
    sat_seconds: float
    keep: bool


@dataclass
class GroupOptions:
    members: int
    singles: int
    burst: int
    gap: float
    timeout: float
    procs: int
    ws: str
    gateways: int
    rest_seconds: float
    keep: bool


def add_common(p: argparse.ArgumentParser, gateways: int | None) -> None:
    p.add_argument("--procs", type=int, default=2, help="load-generator processes")
    p.add_argument("--ws", choices=KINDS, default="picows", help="WebSocket client")
    p.add_argument(
        "--gateways", type=int, default=gateways, help="gateway processes (group: 2, else 1)"
    )
    p.add_argument("--rest-seconds", type=float, default=10.0, help="the at-rest sample")
    p.add_argument("--keep", action="store_true", help="keep the stack's data dir and logs")


def add_c2c(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rates", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    p.add_argument("--seconds", type=float, default=10.0, help="measured, after the warm-up")
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--drain", type=float, default=20.0, help="wait for messages in flight")
    p.add_argument(
        "--quiesce", type=float, default=60.0, help="at most this long for the server to go idle"
    )
    p.add_argument("--pairs", type=int, default=64)
    p.add_argument("--no-floor", dest="floor", action="store_false")
    p.add_argument("--saturate", action="store_true", help="then search the saturation rate")
    p.add_argument("--sat-start", type=int, default=1000)
    p.add_argument("--sat-factor", type=float, default=1.3)
    p.add_argument("--sat-limit", type=int, default=60_000)
    p.add_argument("--sat-seconds", type=float, default=5.0)


def add_group(p: argparse.ArgumentParser) -> None:
    p.add_argument("--members", type=int, default=6000)
    p.add_argument("--singles", type=int, default=10)
    p.add_argument("--burst", type=int, default=20)
    p.add_argument("--gap", type=float, default=0.5, help="quiet between single sends, s")
    p.add_argument("--timeout", type=float, default=120.0, help="per send, for every member")


def c2c_options(ns: argparse.Namespace) -> C2COptions:
    return C2COptions(
        **{k: getattr(ns, k) for k in C2COptions.__dataclass_fields__},
    )


def group_options(ns: argparse.Namespace) -> GroupOptions:
    return GroupOptions(**{k: getattr(ns, k) for k in GroupOptions.__dataclass_fields__})


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop; SIGTERM cancels it like Ctrl-C, so every `finally` (which stops
    the stack, ejabberd and the workers) runs."""

    async def guarded() -> None:
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await main

    try:
        uvloop.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted; everything started was stopped", flush=True)
        raise SystemExit(130) from None
