"""What an idle, logged-in WebSocket costs the gateway in memory.

    python -m tests.bench.idle_sockets --connections 5000 [--procs 2] [--workers 1] [--no-gc]

A stack (services.embedded.stack.Stack: one gateway, of --workers processes), an app and
--connections accounts; the light load generator's clients (tests/bench/loadgen, picows) log
in and stay idle. The gateway's resident memory (VmRSS from /proc, the process and the workers
it started) is read before the logins and after them, each time after a full collection in
the gateway (SIGUSR1: the gateway runs gc.collect() and logs its memory, connections and
asyncio tasks; a gateway of several workers passes it on to each; --no-gc skips it, for a
gateway from before the signal). The figure is the delta divided by the connections; the
gateway's own reports (its tasks, among them) are printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import time
from pathlib import Path

from tests.bench.loadgen import worker
from tests.bench.loadgen.options import run
from tests.bench.loadgen.pool import Pool
from tests.bench.loadgen.procstat import tree
from tests.bench.loadgen.stackctl import new_bench_app, running_stack

SETTLE_S = 3.0


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total


def reports(log: Path, since: int) -> list[dict[str, object]]:
    """The gateway's memory reports logged after byte offset `since` of its log."""
    out = []
    with log.open("rb") as f:
        f.seek(since)
        for line in f:
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if doc.get("event") == "memory report":
                out.append(doc)
    return out


async def collected(pid: int, gc: bool, log: Path, workers: int) -> list[dict[str, object]]:
    """Ask the gateway for a full collection and its report (a gateway of several workers
    passes the signal on to each)."""
    if not gc:
        await asyncio.sleep(SETTLE_S)
        return []
    since = await asyncio.to_thread(lambda: log.stat().st_size)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 10
    found: list[dict[str, object]] = []
    while time.monotonic() < deadline and len(found) < workers:
        await asyncio.sleep(0.2)
        found = await asyncio.to_thread(reports, log, since)
    return found


async def main(args: argparse.Namespace) -> None:
    async with running_stack(1, args.keep, workers=args.workers) as stack:
        app = await new_bench_app(stack)
        users = [f"idle{i}" for i in range(args.connections)]
        await app.import_accounts(users)
        gateway = stack.children["gateway"].proc.pid
        log = stack.log_dir / "gateway.log"
        await asyncio.sleep(SETTLE_S)
        before_reports = await collected(gateway, args.gc, log, args.workers)
        before = rss_kib(tree(gateway))
        target = worker.Target("tidings", tuple(stack.ws_urls), app.sdkappid, app.key)
        started = time.monotonic()
        async with Pool(args.procs) as pool:
            share = worker.split(users, pool.procs)
            await pool.call_each(
                [worker.Login(target, tuple(mine), i) for i, mine in enumerate(share)]
            )
            took = time.monotonic() - started
            await asyncio.sleep(SETTLE_S)
            after_reports = await collected(gateway, args.gc, log, args.workers)
            after = rss_kib(tree(gateway))
        per = (after - before) / args.connections
        print(
            f"**Idle sockets**: {args.connections:,} logged in ({took:.1f} s); gateway RSS "
            f"{before / 1024:.1f} → {after / 1024:.1f} MiB: **{per:.1f} KiB per connection**"
            + ("" if args.gc else " (no collection asked)")
        )
        for label, found in (("before", before_reports), ("after", after_reports)):
            for r in found:
                print(
                    f"  gateway report {label}: rss {r.get('rss_mib')} MiB, connections "
                    f"{r.get('connections')}, asyncio tasks {r.get('tasks')}"
                )


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connections", type=int, default=5000)
    p.add_argument("--procs", type=int, default=2, help="load-generator processes")
    p.add_argument("--workers", type=int, default=1, help="TIDINGS_GATEWAY_WORKERS")
    p.add_argument("--no-gc", dest="gc", action="store_false", help="do not signal the gateway")
    p.add_argument("--keep", action="store_true", help="keep the stack's data dir and logs")
    return p.parse_args()


if __name__ == "__main__":
    run(main(parse()))
