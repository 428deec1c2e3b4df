"""What one request costs on the embedded broker, and how fast an idle fetch wakes up.

    python -m tests.bench.broker_cost

The profile behind the 1:1 CPU figures (docs/BENCHMARKS.md): Tansu's CPU follows its requests,
not its records, and so does aiokafka's. Three measurements against a broker of its own (the
launcher `make run` uses):

1. produce requests of 1, 10 and 100 records at a fixed request rate: Tansu's CPU per request;
2. eight consumers fetching an empty topic with fetch waits of 5, 50 and 500 ms: Tansu's and
   the Python clients' CPU per second (what consumers at rest, or polling at the busy wait, cost);
3. one record produced after a quiet spell, to a consumer waiting with 100, 250 and 1,000 ms:
   how long until it has it (the price of a longer idle wait on this broker).

Nothing passes or fails; figures go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.embedded.launchers import free_port, start_broker
from tests.bench.loadgen import report
from tests.bench.loadgen.options import run
from tests.bench.loadgen.procstat import cpu_seconds

RECORD = b"x" * 200
PARTITIONS = 2


@asynccontextmanager
async def broker() -> AsyncIterator[tuple[str, int]]:
    with tempfile.TemporaryDirectory() as logs:
        port = free_port()
        child = start_broker(port, Path(logs))
        try:
            yield f"127.0.0.1:{port}", child.proc.pid
        finally:
            child.stop()


async def new_topic(bootstrap: str, name: str) -> str:
    """Each measurement has a topic of its own: a consumer from the start of an empty topic
    is idle at once (Tansu's "latest" offsets are wrong, so no seeking to the end)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()
    return name


async def consumer(bootstrap: str, topic: str, wait_ms: int) -> AIOKafkaConsumer:
    c = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        fetch_max_wait_ms=wait_ms,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await c.start()
    c.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    return c


async def produce_cost(bootstrap: str, pid: int) -> None:
    print("| records per request | requests/s | Tansu µs per request | Tansu µs per record |")
    print("|---|---|---|---|")
    topic = await new_topic(bootstrap, "produce")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for per_request, rate in ((1, 200), (1, 500), (10, 200), (100, 20)):
            requests = rate * 4
            cpu0, started = cpu_seconds(pid), time.monotonic()
            for i in range(requests):
                sent = [await producer.send(topic, RECORD, partition=0) for _ in range(per_request)]
                await asyncio.gather(*sent)
                await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.monotonic()))
            used = cpu_seconds(pid) - cpu0
            print(
                f"| {per_request} | {rate} | {report.per_msg_us(used, requests):,.0f} "
                f"| {report.per_msg_us(used, requests * per_request):,.0f} |"
            )
    finally:
        await producer.stop()
    print()


async def idle_fetch_cost(bootstrap: str, pid: int, consumers: int = 8) -> None:
    print(f"| fetch wait ms | {consumers} idle consumers: Tansu % of a core | Python % of a core |")
    print("|---|---|---|")
    topic = await new_topic(bootstrap, "idle")
    for wait_ms in (5, 50, 500):
        group = [await consumer(bootstrap, topic, wait_ms) for _ in range(consumers)]

        async def poll(c: AIOKafkaConsumer) -> None:
            while True:
                await c.getmany(timeout_ms=1000)

        polling = [asyncio.create_task(poll(c)) for c in group]
        await asyncio.sleep(2)
        broker0, me0, started = cpu_seconds(pid), cpu_seconds(), time.monotonic()
        await asyncio.sleep(5)
        elapsed = time.monotonic() - started
        tansu = 100 * (cpu_seconds(pid) - broker0) / elapsed
        python = 100 * (cpu_seconds() - me0) / elapsed
        print(f"| {wait_ms} | {tansu:.1f} | {python:.1f} |")
        for task in polling:
            task.cancel()
        await asyncio.gather(*polling, return_exceptions=True)
        for c in group:
            await c.stop()
    print()


async def wake_latency(bootstrap: str, samples: int = 8) -> None:
    print("| fetch wait ms | one record after a quiet spell: ms until fetched, sorted |")
    print("|---|---|")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for wait_ms in (100, 250, 1000):
            topic = await new_topic(bootstrap, f"wake{wait_ms}")
            c = await consumer(bootstrap, topic, wait_ms)
            await c.getmany(timeout_ms=300)
            took = []
            for i in range(samples):
                # Quiet spells of different lengths, so the record lands anywhere in a wait.
                await asyncio.sleep(0.5 + 0.137 * i)
                started = time.monotonic()
                await (await producer.send(topic, RECORD, partition=i % PARTITIONS))
                while not await c.getmany(timeout_ms=5000):
                    pass
                took.append(1000 * (time.monotonic() - started))
            print(f"| {wait_ms} | {', '.join(f'{t:.0f}' for t in sorted(took))} |")
            await c.stop()
    finally:
        await producer.stop()
    print()


async def main() -> None:
    print(report.machine(), "\n", flush=True)
    async with broker() as (bootstrap, pid):
        await produce_cost(bootstrap, pid)
        await idle_fetch_cost(bootstrap, pid)
        await wake_latency(bootstrap)


if __name__ == "__main__":
    run(main())
