"""1:1 benchmark: CPU per message of every process of the stack, the broker included, and the
latency through the whole pipeline beside the broker's own floor, in one run.

    make bench     # or: python -m tests.bench.c2c --rates 500 1000 2000 5000 --seconds 10
    python -m tests.bench.c2c --rates 2000 --saturate      # then search the saturation rate

- The stack is started with services.embedded.stack.Stack, with the per-sender and per-connection
  limits lifted. First its CPU at rest (no clients) is sampled for --rest-seconds.
- Load: --pairs sender/receiver pairs of light clients (raw protocol frames over picows, not the
  SDK) in --procs processes, open loop, paced to the offered rate in total. Latency is the
  receive time minus the send time carried in the message's text (one monotonic clock).
- CPU per message: utime+stime from /proc/<pid>/stat of each stack process and of each
  generator process, sampled at the edges of the measured window, divided by the messages
  delivered inside it.
- Floor: two broker hops at the same rate with the services' producer and consumer settings.
- Before each run the stack is let go idle (--quiesce), so one run's backlog is not measured in
  the next.

Figures are Markdown for docs/BENCHMARKS.md. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.embedded.stack import Stack
from tests.bench.loadgen import redisprof, report, shapes
from tests.bench.loadgen.floor import FloorRun, two_hops
from tests.bench.loadgen.options import C2COptions, add_c2c, add_common, c2c_options, run
from tests.bench.loadgen.pool import Pool
from tests.bench.loadgen.procstat import Watched
from tests.bench.loadgen.stackctl import (
    LOAD_GENERATOR_ENV,
    new_bench_app,
    running_stack,
    watched,
)
from tests.bench.loadgen.worker import Target

__all__ = ["LOAD_GENERATOR_ENV", "C2CResults", "tidings_c2c"]

SETTLE_S = 3.0  # after start: consumers join and the first idle fetches settle
FloorAt = Callable[[float], Awaitable[FloorRun]]


@dataclass
class C2CResults:
    rest: shapes.Cpu | None = None
    runs: list[shapes.C2CRun] = field(default_factory=list)
    floors: dict[float, FloorRun] = field(default_factory=dict)
    saturation: shapes.C2CRun | None = None

    def summary(self, name: str) -> str:
        rows = [report.C2C_SUMMARY_HEAD]
        for r in self.runs:
            f = self.floors.get(r.offered)
            rows.append(report.c2c_summary_row(name, r, (f.p(50), f.p(99)) if f else None))
        if self.saturation is not None:
            rows.append(report.c2c_summary_row(f"{name}, saturation", self.saturation))
        return "\n".join(rows)


async def c2c_runs(
    pool: Pool,
    server: Watched,
    per_worker: list[list[tuple[str, str]]],
    opts: C2COptions,
    name: str,
    results: C2CResults,
    idle: float,
    floor_at: FloorAt | None = None,
    redis_url: str = "",
) -> None:
    """The offered rates, then the saturation search, printing each run as it ends. Before
    each run the server is let go idle (`idle`: its CPU share, of one core, when it is).
    With `redis_url`, each offered rate's run also prints Valkey's time per message."""

    async def settle() -> None:
        waited = await shapes.quiesce(server, idle, opts.quiesce)
        if waited > 2:
            print(f"(waited {waited:.0f} s for the server to go idle)\n", flush=True)

    async def at(rate: float, seconds: float) -> shapes.C2CRun:
        await settle()
        return await shapes.c2c(pool, server, per_worker, rate, seconds, opts.warmup, opts.drain)

    for rate in opts.rates:
        if floor_at is not None:
            await settle()
            floor = await floor_at(rate)
            results.floors[rate] = floor
            print(floor_line(floor), flush=True)
        before = await redisprof.commandstats(redis_url) if redis_url else None
        r = await at(rate, opts.seconds)
        results.runs.append(r)
        print_run(name, r)
        if before is not None:
            after = await redisprof.commandstats(redis_url)
            # The whole run, warm-up included: per message sent over it (about).
            sent = round(r.sent * (opts.warmup + opts.seconds) / opts.seconds)
            print(redisprof.table(before, after, sent), "\n", flush=True)
    if opts.saturate:

        async def sat(rate: float) -> shapes.C2CRun:
            return await at(rate, opts.sat_seconds)

        def show(r: shapes.C2CRun) -> None:
            print(f"saturation search: {report.c2c_heading(name, r)}", flush=True)

        results.saturation = await shapes.saturate(
            sat, opts.sat_start, opts.sat_factor, opts.sat_limit, show
        )
        print(f"\nsaturation: at most {results.saturation.delivered:,.0f} msg/s delivered\n")


def floor_line(f: FloorRun) -> str:
    n = round(f.delivered * f.seconds)
    return (
        f"**broker floor, 2 hops, {f.offered:,.0f} msg/s**: delivered {f.delivered:,.0f} msg/s; "
        f"p50 {f.p(50):.1f} ms, p99 {f.p(99):.1f} ms, p99.9 {f.p(99.9):.1f} ms; broker "
        f"{report.per_msg_us(f.broker_cpu_s, n):,.0f} µs/msg, the floor's Python clients "
        f"{report.per_msg_us(f.client_cpu_s, n):,.0f} µs/msg\n"
    )


def print_run(name: str, r: shapes.C2CRun) -> None:
    print(report.c2c_heading(name, r), "\n", flush=True)
    print(report.cpu_table(r.cpu, r.delivered_in_window), "\n", flush=True)


async def tidings_c2c(opts: C2COptions, with_floor: bool) -> C2CResults:
    results = C2CResults()
    async with running_stack(opts.gateways, opts.keep) as stack:
        app = await new_bench_app(stack)
        pairs = shapes.make_pairs(opts.pairs)
        await app.import_accounts([u for p in pairs for u in p])
        server = watched(stack)
        await asyncio.sleep(SETTLE_S)
        results.rest = await shapes.at_rest(None, server, opts.rest_seconds)
        print(f"**Tidings at rest** ({opts.rest_seconds:.0f} s, no clients):\n")
        print(report.rest_table(results.rest), "\n", flush=True)
        target = Target("tidings", tuple(stack.ws_urls), app.sdkappid, app.key, ws=opts.ws)
        async with Pool(opts.procs) as pool:
            per_worker = await shapes.login_pairs(pool, target, pairs)
            floor = floor_runner(stack, opts) if with_floor else None
            idle = shapes.idle_share(results.rest)
            await c2c_runs(
                pool, server, per_worker, opts, "Tidings", results, idle, floor, stack.redis_url
            )
    return results


def floor_runner(stack: Stack, opts: C2COptions) -> FloorAt:
    broker = Watched({"tansu": stack.children["kafka"].proc.pid})

    async def at(rate: float) -> FloorRun:
        return await two_hops(
            stack.settings(), broker, rate, opts.seconds, opts.warmup, stack.partitions
        )

    return at


async def main(opts: C2COptions) -> None:
    print(report.machine(), "\n", flush=True)
    print(
        f"load: {opts.pairs} pairs over {opts.procs} generator processes ({opts.ws}), "
        f"{opts.gateways} gateway(s); {opts.seconds:.0f} s measured after {opts.warmup:.0f} s "
        "of warm-up\n",
        flush=True,
    )
    results = await tidings_c2c(opts, opts.floor)
    print("### summary\n")
    print(results.summary("Tidings"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common(parser, gateways=1)
    add_c2c(parser)
    run(main(c2c_options(parser.parse_args())))
