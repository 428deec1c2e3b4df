"""C2C benchmark: sustained throughput and end-to-end latency through the whole pipeline,
beside the broker's own floor for the same number of hops, measured in the same run.

    make bench            # or: python -m tests.bench.c2c --rates 500 1000 2000 --seconds 10

The pipeline has two broker hops (im.inbound, im.messages) plus gRPC and Redis; the floor is a
produce -> consume -> produce -> consume relay at the same rate with the same client settings.
Figures are printed as a Markdown table for docs/BENCHMARKS.md. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from hdrh.histogram import HdrHistogram

from services.common.bus import make_producer
from services.common.config import Settings
from services.common.stack import Stack
from tests.conftest import new_app
from tidings_client import Client

PAIRS = 20
WARMUP_S = 3.0


def hist() -> HdrHistogram:
    return HdrHistogram(1, 60_000_000, 3)  # microseconds


def row(name: str, rate: int, achieved: float, h: HdrHistogram, failed: int = 0) -> str:
    p = [h.get_value_at_percentile(q) / 1000 for q in (50, 99, 99.9)]
    return (
        f"| {name} | {rate} | {achieved:,.0f} | {p[0]:.1f} | {p[1]:.1f} | {p[2]:.1f} | {failed} |"
    )


async def broker_floor(bootstrap: str, rate: int, seconds: float) -> tuple[float, HdrHistogram]:
    """Two hops at `rate` msg/s: produce to A, relay A -> B, consume B."""
    settings = Settings(kafka_bootstrap=bootstrap)
    suffix = f"{rate}-{time.monotonic_ns()}"
    a, b = f"bench.a.{suffix}", f"bench.b.{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(a, 2, 1), NewTopic(b, 2, 1)])
    await admin.close()
    producer = make_producer(settings)
    await producer.start()

    def consumer(topic: str) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            enable_auto_commit=False,
        )

    relay_in, sink = consumer(a), consumer(b)
    await relay_in.start()
    await sink.start()
    h = hist()
    total = int(rate * seconds)
    received = 0

    async def relay() -> None:
        while True:
            batch = await relay_in.getmany(timeout_ms=100)
            futures = [
                await producer.send(b, key=r.key, value=r.value)
                for records in batch.values()
                for r in records
            ]
            if futures:
                await asyncio.gather(*futures)

    async def drain() -> None:
        nonlocal received
        while received < total:
            batch = await sink.getmany(timeout_ms=100)
            now = time.perf_counter_ns()
            for records in batch.values():
                for r in records:
                    h.record_value(max(1, (now - int(r.value)) // 1000))
                    received += 1

    relay_task = asyncio.create_task(relay())
    drain_task = asyncio.create_task(drain())
    started = time.perf_counter()
    for i in range(total):
        await producer.send(a, key=str(i % 64).encode(), value=str(time.perf_counter_ns()).encode())
        lag = started + (i + 1) / rate - time.perf_counter()
        if lag > 0:
            await asyncio.sleep(lag)
    await asyncio.wait_for(drain_task, 120)
    achieved = total / (time.perf_counter() - started)
    relay_task.cancel()
    await relay_in.stop()
    await sink.stop()
    await producer.stop()
    return achieved, h


async def pipeline(
    stack: Stack, rate: int, seconds: float, warmup: float = WARMUP_S
) -> tuple[float, HdrHistogram, int]:
    """PAIRS sender/receiver pairs over WebSocket, paced to `rate` msg/s in total. The first
    `warmup` seconds are sent but not measured: logins, their catch-up reads and the first
    consumer fetches would otherwise count as steady-state latency."""
    app = await new_app(stack)
    users = [f"s{i}" for i in range(PAIRS)] + [f"r{i}" for i in range(PAIRS)]
    for u in users:
        await app.import_accounts(u)
    clients = {u: Client(stack.ws_url, app.sdkappid, u, app.sig(u)) for u in users}
    await asyncio.gather(*(c.connect() for c in clients.values()))
    h = hist()
    warm = int(rate * warmup) // PAIRS * PAIRS
    total = warm + int(rate * seconds) // PAIRS * PAIRS
    received = measured = 0
    measure_from_ns = 0

    async def receive(c: Client) -> None:
        nonlocal received, measured
        async for m in c.messages():
            sent_ns = int(m.text)
            if measure_from_ns and sent_ns >= measure_from_ns:
                h.record_value(max(1, (time.perf_counter_ns() - sent_ns) // 1000))
                measured += 1
            received += 1

    receivers = [asyncio.create_task(receive(clients[f"r{i}"])) for i in range(PAIRS)]
    pending: list[asyncio.Task[object]] = []
    started = time.perf_counter()
    measure_started = started
    for i in range(total):
        if i == warm:
            measure_started = time.perf_counter()
            measure_from_ns = time.perf_counter_ns()
        pair = i % PAIRS
        pending.append(
            asyncio.create_task(
                clients[f"s{pair}"].send(to=f"r{pair}", text=str(time.perf_counter_ns()))
            )
        )
        lag = started + (i + 1) / rate - time.perf_counter()
        if lag > 0:
            await asyncio.sleep(lag)
    results = await asyncio.gather(*pending, return_exceptions=True)
    failed = sum(isinstance(r, BaseException) for r in results)
    # Every acknowledged message is delivered; wait for those, however long it takes.
    target = total - failed
    deadline = time.monotonic() + 120
    while received < target and time.monotonic() < deadline:  # noqa: ASYNC110 - a poll
        await asyncio.sleep(0.05)
    achieved = measured / (time.perf_counter() - measure_started)
    for t in receivers:
        t.cancel()
    await asyncio.gather(*(c.close() for c in clients.values()))
    return achieved, h, failed


async def main(rates: list[int], seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(data_dir=Path(tmp))
        await asyncio.to_thread(stack.start)
        try:
            print(
                f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.python_version()}"
            )
            print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
            print(
                "| path | offered msg/s | delivered msg/s | p50 ms | p99 ms | p99.9 ms "
                "| failed sends |"
            )
            print("|---|---|---|---|---|---|---|")
            for rate in rates:
                achieved, h = await broker_floor(stack.kafka_bootstrap, rate, seconds)
                print(row("broker floor, 2 hops", rate, achieved, h), flush=True)
                achieved, h, failed = await pipeline(stack, rate, seconds)
                print(row("pipeline, WS to WS", rate, achieved, h, failed), flush=True)
        finally:
            await asyncio.to_thread(stack.stop)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rates", type=int, nargs="+", default=[500, 1000, 2000, 3000])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(main(args.rates, args.seconds))
