"""all_member_push benchmark (issue 12): one im_push to every user of an app, all offline with
one device each, while 1:1 traffic flows between online clients of another app on the stack.

    python -m tests.bench.all_member_push --users 10000 --rate 200 --chat-rate 100

- The stack is started as the other benchmarks start it (stackctl.running_stack), with
  TIDINGS_ALL_MEMBER_PUSH_RATE = --rate and TIDINGS_PUSH_ENDPOINTS aimed at a vendor stand-in
  in this process (tests/push_server.py's vendor_stand_in), which notes when each push
  arrives and for which token.
- The push app has Xiaomi credentials; its --users accounts and one Xiaomi device each are
  written straight to the store. Nobody of that app connects, so every one is offline.
- Three runs, each after the stack has gone idle: (1) 1:1 traffic alone: --pairs
  sender/receiver pairs of another app, online over the load generator's light clients, at
  --chat-rate msg/s in total, measured over --users / --rate s after --warmup; (2) one
  all_member_push alone, for its CPU; (3) the same 1:1 run with a second all_member_push (a
  job of its own) sent as its measured window opens: the 1:1 latency of (3) against (1) is
  what the push costs the chat.
- Each job's publication onto im.inbound is read off the topic (the records' CreateTime, set
  by the push service's producer), so the pacing is seen before the router and the vendor
  adapters add their batching; the pushes' arrival at the stand-in is what a phone vendor
  would see. Both are counted per user: exactly once each.
- CPU of (2): utime+stime from /proc of every stack process from the im_push request until the
  stack is idle again (the last messages are stored after the last push goes out), less what
  each spends at rest over as long. For each push, what kept the machine busy (/proc/stat):
  the stack, this process, the generator, and other work on the machine.

Figures are Markdown for docs/BENCHMARKS.md. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from services.common import push_config, topics
from services.common.config import Settings
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.common.store.ports import Account
from services.common.store.sqlite import SqliteStores
from services.embedded.launchers import free_port
from services.embedded.stack import Stack
from tests.bench.loadgen import report, shapes
from tests.bench.loadgen.options import run
from tests.bench.loadgen.pool import Pool
from tests.bench.loadgen.procstat import CLK_TCK, Watched, cpu_seconds, delta
from tests.bench.loadgen.stackctl import BenchApp, new_bench_app, running_stack, watched
from tests.bench.loadgen.worker import Target
from tests.bench.loadgen.ws import KINDS
from tests.push_server import (
    Request,
    Response,
    local_server,
    vendor_endpoints,
    vendor_stand_in,
    xiaomi_token,
)

SETTLE_S = 3.0  # after start: consumers join and the first idle fetches settle
PACKAGE = "com.example.tidings.bench"
PUSH_TEXT = "all_member_push bench"
MSG_RANDOM = 12_345
# The two jobs' tags, in their text: how the stand-in and the reader tell them apart.
ALONE, WITH_CHAT = "jobalone", "jobwithchat"
READER_LAG_S = 10.0
# The Pacer's bound (services/push/pacing.py): in any T seconds at most rate * T plus one
# booking, and a booking is a tenth of a second's worth.
BOOKINGS_PER_S = 10


@dataclass
class Arrivals:
    """Pushes in the order they were seen: wall-clock time (s) and whom they were for."""

    times: list[float] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pacing:
    count: int
    distinct: int
    max_1s: int  # most arrivals inside any window of one second
    first_s: float  # after the request
    last_s: float
    per_second: list[int]  # arrivals in each whole second after the request

    @property
    def duplicates(self) -> int:
        return self.count - self.distinct

    @property
    def mean_per_s(self) -> float:
        """From the first arrival to the last."""
        span = self.last_s - self.first_s
        return self.count / span if span > 0 else float("nan")


def max_in_window(times: Sequence[float], window_s: float = 1.0) -> int:
    """The most of `times` (sorted) inside any half-open window [t, t + window_s)."""
    return max(
        (bisect.bisect_left(times, t + window_s, i) - i for i, t in enumerate(times)), default=0
    )


def pacing_of(arrivals: Arrivals, since: float) -> Pacing:
    times = sorted(arrivals.times)
    if not times:
        return Pacing(0, 0, 0, float("nan"), float("nan"), [])
    per_second = [0] * (int(times[-1] - since) + 1)
    for t in times:
        per_second[max(0, int(t - since))] += 1
    return Pacing(
        count=len(times),
        distinct=len(set(arrivals.keys)),
        max_1s=max_in_window(times),
        first_s=times[0] - since,
        last_s=times[-1] - since,
        per_second=per_second,
    )


class Seen:
    """Arrivals per job, told apart by the job's tag in the message text."""

    def __init__(self, tags: Sequence[str]) -> None:
        self.jobs = {tag.encode(): Arrivals() for tag in tags}
        self._waits: list[tuple[Arrivals, int, asyncio.Event]] = []

    def add(self, text: bytes, at: float, key: str) -> None:
        for tag, arrivals in self.jobs.items():
            if tag in text:
                arrivals.times.append(at)
                arrivals.keys.append(key)
                for waited, count, reached in self._waits:
                    if waited is arrivals and len(arrivals.times) >= count:
                        reached.set()
                return

    def of(self, tag: str) -> Arrivals:
        return self.jobs[tag.encode()]

    async def wait_for(self, tag: str, count: int, timeout_s: float) -> bool:
        """Whether `count` arrivals of job `tag` were seen within `timeout_s`."""
        arrivals = self.of(tag)
        if len(arrivals.times) >= count:
            return True
        wait = (arrivals, count, asyncio.Event())
        self._waits.append(wait)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait[2].wait(), timeout_s)
        finally:
            self._waits.remove(wait)
        return len(arrivals.times) >= count


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy since boot, every core (/proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle, iowait = ticks[3], ticks[4]
    return (sum(ticks[:8]) - idle - iowait) / CLK_TCK


@dataclass(frozen=True)
class Snapshot:
    at: float  # monotonic
    server: dict[str, float]
    bench: float  # this process
    generator: float
    machine: float


def snapshot(pool: Pool, server: Watched) -> Snapshot:
    # From /proc, not over the pipe: the worker is busy with its run.
    generator = sum(cpu_seconds(pid) for pid in pool.pids)
    return Snapshot(time.monotonic(), server.sample(), cpu_seconds(), generator, machine_busy_s())


def machine_line(a: Snapshot, b: Snapshot) -> str:
    """Who kept the machine busy between two snapshots, in cores: what is left over is other
    work on the machine."""
    seconds = b.at - a.at
    stack = sum(delta(b.server, a.server).values())
    bench, generator, machine = b.bench - a.bench, b.generator - a.generator, b.machine - a.machine
    other = machine - stack - bench - generator
    return (
        f"over the {seconds:.1f} s to the last push, in cores: machine busy "
        f"{machine / seconds:.2f} of {os.cpu_count()}; the stack {stack / seconds:.2f}, this "
        f"process {bench / seconds:.2f}, the 1:1 generator {generator / seconds:.2f}, other "
        f"work {other / seconds:.2f}"
    )


def vendor_recorder(seen: Seen) -> Callable[[Request], Response]:
    """The stand-in's responder: notes each Xiaomi send's arrival, then answers as Xiaomi."""

    def respond(request: Request) -> Response:
        if request.path.startswith("/xiaomi/"):
            seen.add(request.body, time.time(), xiaomi_token(request))
        return vendor_stand_in(request)

    return respond


async def read_publication(stack: Stack, sdkappid: int, seen: Seen) -> None:
    """Every message of app `sdkappid` on im.inbound, at the record's CreateTime, until
    cancelled. No consumer group: every partition from the start."""
    consumer = AIOKafkaConsumer(
        topics.INBOUND.name,
        bootstrap_servers=stack.settings().kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    message = InboundMessage.FromString(r.value or b"")
                    if message.sdkappid == sdkappid and message.elements:
                        seen.add(
                            message.elements[0].content_json, r.timestamp / 1000, message.to_user
                        )
    finally:
        await consumer.stop()


def push_users(n: int) -> list[str]:
    return [f"p{i:06d}" for i in range(n)]


def token_of(user: str) -> str:
    return f"xm-{user}"


async def new_push_app(stack: Stack, users: list[str]) -> BenchApp:
    """An app with Xiaomi credentials and `users`, each with one Xiaomi device, written
    straight to the store before any service has read the app."""
    app = await new_bench_app(stack)
    stores = SqliteStores(stack.settings().sqlite_path)
    try:
        record = await stores.apps.get_app(app.sdkappid)
        assert record is not None
        push_config.set_credentials(
            record, "xiaomi", {"app_secret": "bench-secret", "package_name": PACKAGE}, False
        )
        await stores.apps.save_app(record)
        await stores.directory.upsert_accounts(app.sdkappid, [Account(u) for u in users])
        now_ms = int(time.time() * 1000)
        for user in users:
            await stores.push_devices.register(app.sdkappid, user, "xiaomi", token_of(user), now_ms)
    finally:
        await stores.close()
    return app


def latency_row(name: str, r: shapes.C2CRun) -> str:
    h = r.latency
    return (
        f"| {name} | {r.offered:,.0f} | {r.delivered:,.0f} | {report.ms(h, 50):.1f} | "
        f"{report.ms(h, 99):.1f} | {report.ms(h, 99.9):.1f} | {h.get_max_value() / 1000:.1f} | "
        f"{h.get_total_count():,} | {r.refused} | {r.undelivered} |"
    )


def pacing_row(name: str, p: Pacing, wanted: int) -> str:
    return (
        f"| {name} | {p.count:,} | {p.distinct:,} of {wanted:,} | {p.duplicates} | {p.max_1s:,} "
        f"| {p.mean_per_s:,.0f} | {p.first_s:.2f} | {p.last_s:.2f} |"
    )


def cpu_rows(cpu: shapes.Cpu, rest: shapes.Cpu, pushes: int) -> str:
    """Per process: CPU over the job, what it spends at rest over as long, the difference per
    pushed message."""
    rows = [
        "| process | CPU s | at rest over as long, s | µs per pushed message, at rest taken off |",
        "|---|---|---|---|",
    ]

    def row(name: str, s: float, idle: float) -> None:
        rows.append(
            f"| {name} | {s:.2f} | {idle:.2f} | {report.per_msg_us(s - idle, pushes):,.0f} |"
        )

    idle_total = 0.0
    for name, s in sorted(cpu.server.items(), key=lambda kv: -kv[1]):
        idle = rest.server.get(name, 0.0) / rest.seconds * cpu.seconds
        idle_total += idle
        row(name, s, idle)
    row("**stack total**", cpu.server_total, idle_total)
    return "\n".join(rows)


@dataclass
class PushRun:
    """One all_member_push job: its tag, when it was asked for and whether every push came."""

    tag: str
    task_id: str
    requested_at: float  # wall clock
    complete: bool  # every push arrived at the stand-in before the timeout


async def push_job(
    app: BenchApp, published: Seen, vendor: Seen, tag: str, msg_random: int, opts: Options
) -> PushRun:
    """im_push to every user with `tag` in the text; returns once every push has arrived at
    the stand-in (or the timeout has passed) and been seen on im.inbound."""
    requested_at = time.time()
    reply = await app.rest(
        "all_member_push",
        "im_push",
        {
            "MsgRandom": msg_random,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"{PUSH_TEXT} {tag}"}}],
        },
    )
    complete = await vendor.wait_for(tag, opts.users, opts.timeout)
    # The reader polls every 200 ms: the last records are on im.inbound already.
    await published.wait_for(tag, opts.users, READER_LAG_S)
    return PushRun(tag, str(reply["TaskId"]), requested_at, complete)


def push_report(name: str, run: PushRun, published: Seen, vendor: Seen, opts: Options) -> str:
    """Counted when the report is made: a push that comes twice, late, is in it."""
    on_topic = pacing_of(published.of(run.tag), run.requested_at)
    at_vendor = pacing_of(vendor.of(run.tag), run.requested_at)
    head = (
        f"**{name}**: TaskId {run.task_id}; every push "
        f"{'arrived' if run.complete else 'did NOT arrive'} within {opts.timeout:.0f} s"
    )
    return "\n".join(
        [
            head,
            "",
            "| where | messages | distinct users | duplicates | max in any 1 s | mean /s "
            "(first to last) | first at s | last at s |",
            "|---|---|---|---|---|---|---|---|",
            pacing_row("published on im.inbound", on_topic, opts.users),
            pacing_row("arrived at the vendor stand-in", at_vendor, opts.users),
            "",
            f"per second after the request, published: {on_topic.per_second}  ",
            f"per second after the request, at the vendor: {at_vendor.per_second}",
        ]
    )


@dataclass
class Options:
    users: int
    rate: int
    chat_rate: float
    pairs: int
    warmup: float
    drain: float
    rest_seconds: float
    quiesce: float
    timeout: float
    ws: str
    keep: bool


async def bench(opts: Options) -> None:
    vendor_port = free_port()
    # The stack's services inherit this process's environment (Stack.service_env), as they
    # would a shell's: `TIDINGS_ALL_MEMBER_PUSH_RATE=500 tidings up`.
    os.environ["TIDINGS_ALL_MEMBER_PUSH_RATE"] = str(opts.rate)
    os.environ["TIDINGS_PUSH_ENDPOINTS"] = json.dumps(
        vendor_endpoints(f"http://127.0.0.1:{vendor_port}")
    )
    published, vendor = Seen((ALONE, WITH_CHAT)), Seen((ALONE, WITH_CHAT))
    users = push_users(opts.users)
    seconds = opts.users / opts.rate
    async with (
        local_server(vendor_recorder(vendor), port=vendor_port),
        running_stack(1, opts.keep) as stack,
    ):
        started = time.monotonic()
        push_app = await new_push_app(stack, users)
        print(
            f"{opts.users:,} accounts with one Xiaomi device each written in "
            f"{time.monotonic() - started:.1f} s\n",
            flush=True,
        )
        chat_app = await new_bench_app(stack)
        pairs = shapes.make_pairs(opts.pairs)
        await chat_app.import_accounts([u for p in pairs for u in p])
        server = watched(stack)
        await asyncio.sleep(SETTLE_S)
        rest = await shapes.at_rest(None, server, opts.rest_seconds)
        print(f"**at rest** ({opts.rest_seconds:.0f} s, no clients):\n")
        print(report.rest_table(rest), "\n", flush=True)
        idle = shapes.idle_share(rest)
        reading = asyncio.create_task(read_publication(stack, push_app.sdkappid, published))
        target = Target(
            "tidings", tuple(stack.ws_urls), chat_app.sdkappid, chat_app.key, ws=opts.ws
        )
        try:
            async with Pool(1) as pool:
                per_worker = await shapes.login_pairs(pool, target, pairs)

                # 1. The 1:1 traffic alone.
                await shapes.quiesce(server, idle, opts.quiesce)
                baseline = await shapes.c2c(
                    pool, server, per_worker, opts.chat_rate, seconds, opts.warmup, opts.drain
                )
                print(report.c2c_heading("1:1 baseline, no push", baseline), "\n", flush=True)

                # 2. The push alone, for its CPU: from the request until the stack is idle
                # again (the last messages' storage comes after the last push).
                await shapes.quiesce(server, idle, opts.quiesce)
                before, bench_before, t0 = server.sample(), cpu_seconds(), time.monotonic()
                alone_from = snapshot(pool, server)
                alone = await push_job(push_app, published, vendor, ALONE, MSG_RANDOM, opts)
                alone_busy = machine_line(alone_from, snapshot(pool, server))
                await shapes.quiesce(server, idle, opts.quiesce)
                cpu = shapes.Cpu(time.monotonic() - t0, delta(server.sample(), before), [])
                bench_cpu = cpu_seconds() - bench_before
                print(f"push alone done, TaskId {alone.task_id}\n", flush=True)

                # 3. The push again, a job of its own, sent as the 1:1 run's window opens.
                await shapes.quiesce(server, idle, opts.quiesce)
                window_start = time.monotonic() + shapes.START_DELAY_S + opts.warmup
                chatting = asyncio.create_task(
                    shapes.c2c(
                        pool, server, per_worker, opts.chat_rate, seconds, opts.warmup, opts.drain
                    )
                )
                await shapes.sleep_until(window_start)
                with_chat_from = snapshot(pool, server)
                with_chat = await push_job(
                    push_app, published, vendor, WITH_CHAT, MSG_RANDOM + 1, opts
                )
                with_chat_busy = machine_line(with_chat_from, snapshot(pool, server))
                during = await chatting
                print(report.c2c_heading("1:1 during the push", during), "\n", flush=True)
                # Whatever the jobs still had in flight (a push sent twice, late) is counted.
                await shapes.quiesce(server, idle, opts.quiesce)
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

    bound = opts.rate + opts.rate // BOOKINGS_PER_S
    print(f"### summary: all_member_push to {opts.users:,} offline users\n")
    print(
        f"configured rate TIDINGS_ALL_MEMBER_PUSH_RATE = {opts.rate}/s; the pacer's bound over "
        f"any 1 s is {bound} (the rate and one booking of {opts.rate // BOOKINGS_PER_S})\n"
    )
    print(push_report("push alone", alone, published, vendor, opts), "\n")
    print(alone_busy, "\n")
    print(push_report("push with 1:1 traffic", with_chat, published, vendor, opts), "\n")
    print(with_chat_busy, "\n")
    pushed = len(vendor.of(ALONE).times)
    print(
        "\n| 1:1 run | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms | max ms "
        "| messages in the window | refused | undelivered |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(latency_row("baseline, no push", baseline))
    print(latency_row("during the push", during), "\n")
    print(
        f"CPU of the push alone, from the request until the stack was idle again "
        f"({cpu.seconds:.1f} s), per pushed message ({pushed:,}):\n"
    )
    print(cpu_rows(cpu, rest, pushed), "\n")
    print(
        f"this process (vendor stand-in on hypercorn, im.inbound reader) over the same time: "
        f"{bench_cpu:.2f} CPU s, {report.per_msg_us(bench_cpu, pushed):,.0f} µs "
        "per push",
        flush=True,
    )


async def main(opts: Options) -> None:
    print(report.machine(), "\n", flush=True)
    print(
        f"load: all_member_push to {opts.users:,} offline users at {opts.rate}/s; 1:1 at "
        f"{opts.chat_rate:,.0f} msg/s over {opts.pairs} pairs ({opts.ws}), one generator "
        f"process; windows of {opts.users / opts.rate:.0f} s after {opts.warmup:.0f} s of "
        "warm-up\n",
        flush=True,
    )
    await bench(opts)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000, help="accounts pushed to")
    parser.add_argument(
        "--rate",
        type=int,
        default=Settings.model_fields["all_member_push_rate"].default,
        help="TIDINGS_ALL_MEMBER_PUSH_RATE (default: the service's)",
    )
    parser.add_argument("--chat-rate", type=float, default=100, help="1:1 msg/s in total")
    parser.add_argument("--pairs", type=int, default=10, help="1:1 sender/receiver pairs")
    parser.add_argument("--warmup", type=float, default=3.0, help="1:1 before each window")
    parser.add_argument("--drain", type=float, default=10.0, help="wait for 1:1 in flight")
    parser.add_argument("--rest-seconds", type=float, default=5.0, help="the at-rest sample")
    parser.add_argument(
        "--quiesce", type=float, default=60.0, help="at most this long for the stack to go idle"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="at most this long for every push"
    )
    parser.add_argument("--ws", choices=KINDS, default="picows", help="WebSocket client")
    parser.add_argument("--keep", action="store_true", help="keep the stack's data dir and logs")
    run(main(Options(**vars(parser.parse_args()))))
