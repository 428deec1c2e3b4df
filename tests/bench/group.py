"""Group fan-out benchmark: one Meeting group of N members (6,000 by default), every member
online over light clients spread over the generator processes; one member sends.

    python -m tests.bench.group --members 6000 --singles 10 --burst 20

Through the whole pipeline (WS send -> im.inbound -> ingest -> im.messages -> fan-out -> Deliver
per gateway node -> every member's socket) it measures:
- time to the last delivery of one message, for `singles` messages sent one at a time;
- deliveries per second over a burst of `burst` messages sent back to back, and the CPU per
  delivery of every stack process and of the generator over that burst.

Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from tests.bench.loadgen import report, shapes
from tests.bench.loadgen.options import GroupOptions, add_common, add_group, group_options, run
from tests.bench.loadgen.pool import Pool
from tests.bench.loadgen.stackctl import new_bench_app, running_stack, watched
from tests.bench.loadgen.worker import Target

SETTLE_S = 3.0


def members(n: int) -> list[str]:
    return [f"m{i}" for i in range(n)]


async def tidings_group(opts: GroupOptions) -> shapes.GroupRun:
    async with running_stack(opts.gateways, opts.keep) as stack:
        app = await new_bench_app(stack, edition="Premium", group_member_addon=True)
        users = members(opts.members)
        started = time.monotonic()
        await app.import_accounts(users)
        group_id = await app.make_group(users[0], users[1:])
        print(f"group of {opts.members:,} made in {time.monotonic() - started:.1f} s", flush=True)
        server = watched(stack)
        await asyncio.sleep(SETTLE_S)
        rest = await shapes.at_rest(None, server, opts.rest_seconds)
        print(f"\n**Tidings at rest** ({opts.rest_seconds:.0f} s, no clients):\n")
        print(report.rest_table(rest), "\n", flush=True)
        target = Target("tidings", tuple(stack.ws_urls), app.sdkappid, app.key, ws=opts.ws)
        async with Pool(opts.procs) as pool:
            started = time.monotonic()
            await shapes.login_members(pool, target, users)
            print(
                f"{opts.members:,} members online in {time.monotonic() - started:.1f} s "
                f"on {opts.gateways} gateway(s)\n",
                flush=True,
            )
            result = await shapes.group(
                pool,
                server,
                group_id,
                opts.singles,
                opts.burst,
                opts.gap,
                opts.timeout,
                shapes.idle_share(rest),
            )
    print(report.group_report("Tidings, Meeting group", result), "\n", flush=True)
    return result


async def main(opts: GroupOptions) -> None:
    print(report.machine(), "\n", flush=True)
    print(f"load: {opts.members:,} members over {opts.procs} generator processes ({opts.ws})\n")
    await tidings_group(opts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common(parser, gateways=2)
    add_group(parser)
    run(main(group_options(parser.parse_args())))
