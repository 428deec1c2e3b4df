"""The broker floor: two Kafka hops (produce -> consume -> produce -> consume) at the same rate
and with the same client settings as the services (services.common.bus.make_producer; consumers
with fetch_max_wait_ms = settings.kafka_fetch_max_wait_ms), in the same run as the pipeline, so
the pipeline can be read as "floor + X ms"."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from hdrh.histogram import HdrHistogram

from services.common.bus import make_producer
from services.common.config import Settings
from tests.bench.loadgen.procstat import Watched, cpu_seconds, delta
from tests.bench.loadgen.tally import histogram_of

TICK_S = 0.001
KEYS = [str(i).encode() for i in range(64)]


@dataclass
class FloorRun:
    offered: float
    delivered: float
    latency: HdrHistogram
    broker_cpu_s: float  # the broker's CPU over the window
    client_cpu_s: float  # this process's (producer, relay and sink)
    seconds: float

    def p(self, q: float) -> float:
        return float(self.latency.get_value_at_percentile(q)) / 1000


def _consumer(settings: Settings, topic: str) -> AIOKafkaConsumer:
    # No group: all partitions at once, and no 5 s join.
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        fetch_min_bytes=settings.kafka_fetch_min_bytes,
        enable_auto_commit=False,
    )


async def two_hops(
    settings: Settings,
    broker: Watched,
    rate: float,
    seconds: float,
    warmup_s: float,
    partitions: int,
) -> FloorRun:
    suffix = f"{int(rate)}-{time.monotonic_ns()}"
    a, b = f"bench.floor.a.{suffix}", f"bench.floor.b.{suffix}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(a, partitions, 1), NewTopic(b, partitions, 1)])
    finally:
        await admin.close()
    producer = make_producer(settings)
    relay_in, sink = _consumer(settings, a), _consumer(settings, b)
    for client in (producer, relay_in, sink):
        await client.start()
    try:
        return await _measure(producer, relay_in, sink, a, b, broker, rate, seconds, warmup_s)
    finally:
        for client in (relay_in, sink, producer):
            await client.stop()


async def _measure(
    producer: AIOKafkaProducer,
    relay_in: AIOKafkaConsumer,
    sink: AIOKafkaConsumer,
    a: str,
    b: str,
    broker: Watched,
    rate: float,
    seconds: float,
    warmup_s: float,
) -> FloorRun:
    t0 = time.monotonic() + 0.1
    window_start, window_end = t0 + warmup_s, t0 + warmup_s + seconds
    start_ns, end_ns = int(window_start * 1e9), int(window_end * 1e9)
    latencies: list[int] = []
    in_window = 0
    total = int((window_end - t0) * rate)
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
        nonlocal received, in_window
        while received < total:
            batch = await sink.getmany(timeout_ms=100)
            now = time.monotonic_ns()
            for records in batch.values():
                for r in records:
                    sent_ns = int(r.value)
                    received += 1
                    if start_ns <= now < end_ns:
                        in_window += 1
                    if start_ns <= sent_ns < end_ns:
                        latencies.append((now - sent_ns) // 1000)

    relay_task = asyncio.create_task(relay())
    drain_task = asyncio.create_task(drain())
    await asyncio.sleep(max(0.0, t0 - time.monotonic()))
    sent = 0
    marks: dict[str, tuple[dict[str, float], float]] = {}
    while (now := time.monotonic()) < window_end:
        if "start" not in marks and now >= window_start:
            marks["start"] = (broker.sample(), cpu_seconds())
        due = min(total, int((now - t0) * rate))
        while sent < due:
            value = str(time.monotonic_ns()).encode()
            await producer.send(a, key=KEYS[sent % len(KEYS)], value=value)
            sent += 1
        await asyncio.sleep(TICK_S)
    marks["end"] = (broker.sample(), cpu_seconds())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(drain_task, 60)
    relay_task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await relay_task
    broker_cpu = delta(marks["end"][0], marks["start"][0])
    return FloorRun(
        offered=rate,
        delivered=in_window / seconds,
        latency=histogram_of(latencies),
        broker_cpu_s=sum(broker_cpu.values()),
        client_cpu_s=marks["end"][1] - marks["start"][1],
        seconds=seconds,
    )
