"""A peer measured in the same run: ejabberd, then Tidings, back to back, with the same clients,
shapes and CPU accounting, and the ratio of the two.

    python -m tests.bench.peers --shape c2c --rates 1000 2000 5000 --seconds 10
    python -m tests.bench.peers --shape group --members 6000 --singles 10 --burst 20

ejabberd comes from Debian's package (installed with apt-get when missing) and runs with every
shaper and limit lifted (scripts/peers/ejabberd.py). The XMPP clients are the same light,
multi-process generator as Tidings' (tests/bench/loadgen/xmpp.py): SASL PLAIN over plain TCP,
`<message type='chat'>` to the receiver's full JID for 1:1, and a MUC room for the group.
ejabberd's CPU is its Erlang VM's (beam.smp) from /proc, like each Tidings process's.

Machines vary from day to day: compare the two only within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

from scripts.peers.ejabberd import Ejabberd
from tests.bench import c2c as tidings_c2c_bench
from tests.bench import group as tidings_group_bench
from tests.bench.loadgen import report, shapes
from tests.bench.loadgen.options import (
    C2COptions,
    GroupOptions,
    add_c2c,
    add_common,
    add_group,
    c2c_options,
    group_options,
    run,
)
from tests.bench.loadgen.pool import Pool
from tests.bench.loadgen.procstat import Watched
from tests.bench.loadgen.worker import JoinRoom, Target

SETTLE_S = 2.0
ROOM = "bench"


def server_of(ej: Ejabberd) -> Watched:
    return Watched({"ejabberd (beam.smp)": ej.pid})


async def ejabberd_rest(ej: Ejabberd, seconds: float) -> shapes.Cpu:
    await asyncio.sleep(SETTLE_S)
    rest = await shapes.at_rest(None, server_of(ej), seconds)
    print(f"**ejabberd at rest** ({seconds:.0f} s, no clients):\n")
    print(report.rest_table(rest), "\n", flush=True)
    return rest


async def ejabberd_c2c(opts: C2COptions) -> tidings_c2c_bench.C2CResults:
    results = tidings_c2c_bench.C2CResults()
    with Ejabberd() as ej:
        rest = await ejabberd_rest(ej, opts.rest_seconds)
        target = Target("xmpp", (ej.address,), domain=ej.domain)
        async with Pool(opts.procs) as pool:
            pairs = shapes.make_pairs(opts.pairs)
            per_worker = await shapes.login_pairs(pool, target, pairs, register=True)
            await tidings_c2c_bench.c2c_runs(
                pool, server_of(ej), per_worker, opts, "ejabberd", results, shapes.idle_share(rest)
            )
    return results


async def ejabberd_group(opts: GroupOptions) -> shapes.GroupRun:
    users = tidings_group_bench.members(opts.members)
    with Ejabberd() as ej:
        rest = await ejabberd_rest(ej, opts.rest_seconds)
        target = Target("xmpp", (ej.address,), domain=ej.domain)
        room = f"{ROOM}@conference.{ej.domain}"
        async with Pool(opts.procs) as pool:
            started = time.monotonic()
            await shapes.login_members(pool, target, users, register=True)
            await pool.call(0, JoinRoom(room, creator=users[0]))
            await pool.call_all(JoinRoom(room))
            print(
                f"{opts.members:,} occupants in the MUC room in "
                f"{time.monotonic() - started:.1f} s\n",
                flush=True,
            )
            result = await shapes.group(
                pool,
                server_of(ej),
                room,
                opts.singles,
                opts.burst,
                opts.gap,
                opts.timeout,
                shapes.idle_share(rest),
            )
    print(report.group_report("ejabberd, MUC room", result), "\n", flush=True)
    return result


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and not math.isnan(a) and not math.isnan(b) else "–"


def c2c_comparison(ej: tidings_c2c_bench.C2CResults, td: tidings_c2c_bench.C2CResults) -> list[str]:
    rows = [
        "| offered msg/s | ejabberd delivered | ejabberd p50 / p99 ms | ejabberd µs/msg "
        "| Tidings delivered | Tidings p50 / p99 ms | Tidings µs/msg | Tidings / ejabberd CPU |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pairs = list(zip(ej.runs, td.runs, strict=True))
    if ej.saturation is not None and td.saturation is not None:
        pairs.append((ej.saturation, td.saturation))
    for e, t in pairs:
        e_us = report.per_msg_us(e.cpu.server_total, e.delivered_in_window)
        t_us = report.per_msg_us(t.cpu.server_total, t.delivered_in_window)
        offered = f"{e.offered:,.0f}" if e.offered == t.offered else "saturation"
        rows.append(
            f"| {offered} | {e.delivered:,.0f} | {report.ms(e.latency, 50):.1f} / "
            f"{report.ms(e.latency, 99):.1f} | {e_us:,.0f} | {t.delivered:,.0f} | "
            f"{report.ms(t.latency, 50):.1f} / {report.ms(t.latency, 99):.1f} | {t_us:,.0f} | "
            f"{ratio(t_us, e_us)} |"
        )
    return rows


def group_comparison(ej: shapes.GroupRun, td: shapes.GroupRun) -> list[str]:
    def p50(run: shapes.GroupRun) -> float:
        xs = sorted(run.to_last_ms)
        return xs[len(xs) // 2] if xs else math.nan

    def us(run: shapes.GroupRun) -> float:
        return report.per_msg_us(run.burst_cpu.server_total, run.burst_deliveries)

    return [
        "| measure | ejabberd (MUC) | Tidings (Meeting group) | Tidings / ejabberd |",
        "|---|---|---|---|",
        f"| time to last delivery, p50 ms | {p50(ej):,.0f} | {p50(td):,.0f} | "
        f"{ratio(p50(td), p50(ej))} |",
        f"| burst deliveries/s | {ej.deliveries_per_s:,.0f} | {td.deliveries_per_s:,.0f} | "
        f"{ratio(td.deliveries_per_s, ej.deliveries_per_s)} |",
        f"| server µs per delivery (burst) | {us(ej):,.1f} | {us(td):,.1f} | "
        f"{ratio(us(td), us(ej))} |",
    ]


async def main_c2c(opts: C2COptions) -> None:
    print("## ejabberd\n", flush=True)
    ej = await ejabberd_c2c(opts)
    print("## Tidings\n", flush=True)
    td = await tidings_c2c_bench.tidings_c2c(opts, opts.floor)
    print("## 1:1, same run\n")
    print(ej.summary("ejabberd"))
    print("\n".join(td.summary("Tidings").splitlines()[2:]), "\n")
    print("\n".join(c2c_comparison(ej, td)), flush=True)


async def main_group(opts: GroupOptions) -> None:
    print("## ejabberd\n", flush=True)
    ej = await ejabberd_group(opts)
    print("## Tidings\n", flush=True)
    td = await tidings_group_bench.tidings_group(opts)
    print("## group fan-out, same run\n")
    print("\n".join(group_comparison(ej, td)), flush=True)


async def main(args: argparse.Namespace) -> None:
    print(report.machine(), "\n", flush=True)
    if args.gateways is None:
        args.gateways = 1 if args.shape == "c2c" else 2
    if args.shape == "c2c":
        await main_c2c(c2c_options(args))
    else:
        await main_group(group_options(args))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=("c2c", "group"), default="c2c")
    add_common(parser, gateways=None)
    add_c2c(parser)
    add_group(parser)
    run(main(parser.parse_args()))
