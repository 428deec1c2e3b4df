"""The benchmark shapes, the same for every server: 1:1 pairs at an offered rate, a saturation
search, and a group's fan-out. The server is only a set of processes to sample (`Watched`) and
a pool of logged-in clients; Tidings and the XMPP peer run through the same code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from tests.bench.loadgen import worker
from tests.bench.loadgen.pool import Pool
from tests.bench.loadgen.procstat import Watched, delta
from tests.bench.loadgen.tally import histogram

START_DELAY_S = 0.3  # time for the run command to reach every worker before the first send


async def sleep_until(monotonic_s: float) -> None:
    await asyncio.sleep(max(0.0, monotonic_s - time.monotonic()))


def merged(encoded: list[bytes]) -> HdrHistogram:
    h = histogram()
    for e in encoded:
        h.decode_and_add(e)
    return h


@dataclass
class Cpu:
    """CPU seconds over a measured interval: the server's processes by name, the generator's
    processes in order."""

    seconds: float
    server: dict[str, float]
    generator: list[float]

    @property
    def server_total(self) -> float:
        return sum(self.server.values())

    @property
    def generator_total(self) -> float:
        return sum(self.generator)


@dataclass
class C2CRun:
    offered: float
    delivered: float  # msg/s delivered inside the measured window
    sent: int
    refused: int
    undelivered: int  # accepted but not delivered when the drain gave up
    latency: HdrHistogram
    cpu: Cpu
    errors: list[str] = field(default_factory=list)
    slow_frames: int = 0

    @property
    def delivered_in_window(self) -> int:
        return round(self.delivered * self.cpu.seconds)


async def c2c(
    pool: Pool,
    server: Watched,
    pairs: list[list[tuple[str, str]]],
    rate: float,
    seconds: float,
    warmup_s: float,
    drain_s: float,
) -> C2CRun:
    """Every worker sends over its own pairs at rate / procs; the server's CPU is sampled at the
    edges of the window the workers measure in."""
    start_at = time.monotonic() + START_DELAY_S
    window_start = start_at + warmup_s
    window_end = window_start + seconds
    cmds = [
        worker.RunC2C(tuple(p), rate / pool.procs, start_at, warmup_s, seconds, drain_s)
        for p in pairs
    ]
    task = asyncio.create_task(pool.call_each(cmds))
    # Interrupted, the workers are ended and the task fails: that is no news.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    try:
        await sleep_until(window_start)
        before = server.sample()
        await sleep_until(window_end)
        after = server.sample()
        results: list[worker.RunResult] = await task
    finally:
        task.cancel()
    in_window = sum(r.in_window for r in results)
    refused = sum(r.refused for r in results)
    sent = sum(r.sent for r in results)
    return C2CRun(
        offered=rate,
        delivered=in_window / seconds,
        sent=sent,
        refused=refused,
        undelivered=max(0, sent - refused - sum(r.received for r in results)),
        latency=merged([r.latencies for r in results]),
        cpu=Cpu(seconds, delta(after, before), [r.cpu_window_s for r in results]),
        errors=[e for r in results for e in r.errors],
        slow_frames=sum(r.slow_frames for r in results),
    )


async def at_rest(pool: Pool | None, server: Watched, seconds: float) -> Cpu:
    before = server.sample()
    gen_before = await pool.call_all(worker.CpuNow()) if pool else []
    await asyncio.sleep(seconds)
    gen_after = await pool.call_all(worker.CpuNow()) if pool else []
    after = server.sample()
    return Cpu(
        seconds, delta(after, before), [a - b for a, b in zip(gen_after, gen_before, strict=True)]
    )


async def quiesce(server: Watched, idle_share: float, timeout_s: float) -> float:
    """Wait until the server uses at most `idle_share` of a core over a second: what an
    overloaded run left queued (in the broker, in a router's backlog) is worked off before the
    next run, or it would be measured there. Seconds waited; gives up after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        before = server.sample()
        await asyncio.sleep(1.0)
        if sum(delta(server.sample(), before).values()) <= idle_share:
            break
    return time.monotonic() - started


def idle_share(rest: Cpu) -> float:
    """What counts as idle after a run: twice the share at rest, and at least 15 % of a core
    (consumers poll faster for a while after traffic)."""
    return max(0.15, 2 * rest.server_total / rest.seconds)


RunAt = Callable[[float], Coroutine[Any, Any, C2CRun]]


async def saturate(
    run_at: RunAt, start: float, factor: float, limit: float, on_run: Callable[[C2CRun], None]
) -> C2CRun:
    """Raise the offered rate by `factor` until delivered < 95 % of offered (or `limit`);
    the run with the most delivered msg/s."""
    best: C2CRun | None = None
    rate = start
    while rate <= limit:
        run = await run_at(rate)
        on_run(run)
        if best is None or run.delivered > best.delivered:
            best = run
        if run.delivered < 0.95 * rate:
            break
        rate = round(rate * factor)
    assert best is not None
    return best


@dataclass
class GroupRun:
    audience: int
    to_last_ms: list[float]  # one per single send
    single_latency: HdrHistogram  # every delivery of the singles
    single_cpu: Cpu
    burst: int
    burst_deliveries: int
    burst_seconds: float
    burst_latency: HdrHistogram
    burst_cpu: Cpu
    incomplete: int  # singles or bursts that did not reach every member in time
    errors: list[str] = field(default_factory=list)

    @property
    def deliveries_per_s(self) -> float:
        return self.burst_deliveries / self.burst_seconds if self.burst_seconds else 0.0


async def _cpu_now(pool: Pool, server: Watched) -> tuple[float, dict[str, float], list[float]]:
    return time.monotonic(), server.sample(), await pool.call_all(worker.CpuNow())


def _cpu_between(
    a: tuple[float, dict[str, float], list[float]], b: tuple[float, dict[str, float], list[float]]
) -> Cpu:
    return Cpu(b[0] - a[0], delta(b[1], a[1]), [y - x for x, y in zip(a[2], b[2], strict=True)])


async def group(
    pool: Pool,
    server: Watched,
    address: str,
    singles: int,
    burst: int,
    gap_s: float,
    timeout_s: float,
    idle: float = 1.0,
) -> GroupRun:
    """Worker 0 holds the sender. `singles` messages one at a time (each waited for at every
    member, then `gap_s` of quiet), then `burst` back to back."""
    incomplete = 0
    await quiesce(server, idle, 60)  # the logins' work is done
    await pool.call_all(worker.StartGroupRun())
    to_last: list[float] = []
    t0 = await _cpu_now(pool, server)
    for _ in range(singles):
        (sent_ns,) = await pool.call(0, worker.GroupSend(address, 1))
        seen: list[worker.GroupSeen] = await pool.call_all(worker.GroupWait((sent_ns,), timeout_s))
        incomplete += not all(s.complete for s in seen)
        to_last.append((max(s.last_ns for s in seen) - sent_ns) / 1e6)
        await asyncio.sleep(gap_s)
    t1 = await _cpu_now(pool, server)
    single_latency = merged([s.latencies for s in seen]) if singles else histogram()
    errors = [e for s in seen for e in s.errors] if singles else []

    await quiesce(server, idle, 60)
    await pool.call_all(worker.StartGroupRun())
    t2 = await _cpu_now(pool, server)
    sent = await pool.call(0, worker.GroupSend(address, burst))
    seen = await pool.call_all(worker.GroupWait(tuple(sent), timeout_s))
    t3 = await _cpu_now(pool, server)
    incomplete += not all(s.complete for s in seen)
    return GroupRun(
        audience=sum(s.audience for s in seen),
        to_last_ms=to_last,
        single_latency=single_latency,
        single_cpu=_cpu_between(t0, t1),
        burst=burst,
        burst_deliveries=sum(s.deliveries for s in seen),
        burst_seconds=(max(s.last_ns for s in seen) - sent[0]) / 1e9,
        burst_latency=merged([s.latencies for s in seen]),
        burst_cpu=_cpu_between(t2, t3),
        incomplete=incomplete,
        errors=errors + [e for s in seen for e in s.errors],
    )


def make_pairs(n: int) -> list[tuple[str, str]]:
    return [(f"s{i}", f"r{i}") for i in range(n)]


async def login_pairs(
    pool: Pool, target: worker.Target, pairs: list[tuple[str, str]], register: bool = False
) -> list[list[tuple[str, str]]]:
    """Pair i goes to worker i % procs, both its ends; each worker's pairs."""
    per_worker = worker.split(pairs, pool.procs)
    await pool.call_each(
        [
            worker.Login(target, tuple(u for p in mine for u in p), w, register=register)
            for w, mine in enumerate(per_worker)
        ]
    )
    return per_worker


async def login_members(
    pool: Pool, target: worker.Target, members: list[str], register: bool = False
) -> None:
    """members[0] is the sender, held by worker 0; the others round robin."""
    per_worker = worker.split(members, pool.procs)
    await pool.call_each(
        [
            worker.Login(target, tuple(mine), w, sender=members[0], register=register)
            for w, mine in enumerate(per_worker)
        ]
    )
