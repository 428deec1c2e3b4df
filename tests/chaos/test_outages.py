"""Outages under load (issue 10): 500 msg/s flow while Redis is stopped for 10 s and started
again, and then while audit's store refuses writes for 10 s. Every acked message is delivered
and archived, no seq repeats or goes back, and every DLQ stays empty: an outage pauses and
retries, it never dead-letters. Runs on a stack of its own."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.common import conversation, topics
from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.chaos.test_kill_router import send_until_acked
from tests.conftest import AppUnderTest, NotYet, eventually, new_app, start_stack
from tidings_client import Ack, Client, Message

pytestmark = [pytest.mark.stack, pytest.mark.chaos]

PAIRS = 10
RATE = 500  # messages a second, all pairs together
OUTAGE_S = 10.0


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("outages")))
    yield s
    s.stop()


class Traffic:
    """PAIRS senders, each to its own receiver, paced to RATE in all."""

    def __init__(self, app: AppUnderTest, stack: Stack) -> None:
        self.app = app
        self.stack = stack
        self.acks: dict[int, list[Ack]] = {i: [] for i in range(PAIRS)}
        self.received: dict[int, list[Message]] = {i: [] for i in range(PAIRS)}
        self.sends: list[asyncio.Task[None]] = []
        self._senders: list[Client] = []
        self._receivers: list[Client] = []
        self._readers: list[asyncio.Task[None]] = []
        # Message numbers run on across phases: each send has its own client message id.
        self._next = 0

    async def start(self) -> None:
        users = [u for i in range(PAIRS) for u in (f"s{i}", f"r{i}")]
        await self.app.import_accounts(*users)
        for i in range(PAIRS):
            self._senders.append(await self.app.connect(f"s{i}"))
            receiver = await self.app.connect(f"r{i}")
            self._receivers.append(receiver)
            self._readers.append(asyncio.create_task(self._read(i, receiver)))

    async def _read(self, pair: int, client: Client) -> None:
        async for m in client.messages():
            self.received[pair].append(m)

    async def run_for(self, seconds: float) -> None:
        """Offer RATE messages a second for `seconds`, each retried with its id until acked."""
        started = time.monotonic()
        ticks = 0
        while time.monotonic() - started < seconds:
            for pair in range(PAIRS):
                self.sends.append(asyncio.create_task(self._send(pair, self._next)))
            self._next += 1
            ticks += 1
            await asyncio.sleep(max(0.0, started + ticks * PAIRS / RATE - time.monotonic()))

    async def _send(self, pair: int, n: int) -> None:
        ack = await send_until_acked(self._senders[pair], f"r{pair}", f"m{n}", f"outage-{pair}-{n}")
        self.acks[pair].append(ack)

    async def close(self) -> None:
        for t in self._readers:
            t.cancel()
        for c in self._senders + self._receivers:
            await c.close()


async def dlq_records(stack: Stack) -> dict[str, int]:
    """Records in every dead-letter topic, from the fetch high watermark (Tansu's ListOffsets
    for "latest" is wrong)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        names = [t.dlq for t in topics.WITH_DLQ] + [topics.CALLBACKS_DLQ.name]
        await consumer.topics()
        parts = [
            TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()
        ]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        await consumer.getmany(timeout_ms=1000)
        return {f"{tp.topic}/{tp.partition}": consumer.highwater(tp) or 0 for tp in parts}
    finally:
        await consumer.stop()


async def in_archive(stack: Stack, app: AppUnderTest, conv: str) -> list[int]:
    """The seqs the archive itself holds (the store, not the history service's merge)."""
    stores = SqliteStores(stack.settings().sqlite_path)
    try:
        seqs: list[int] = []
        while page := await stores.messages.after(app.sdkappid, conv, seqs[-1] if seqs else 0, 500):
            seqs.extend(m.seq for m in page)
        return seqs
    finally:
        await stores.close()


async def test_redis_and_store_outages_lose_nothing(outage_stack: Stack) -> None:
    app = await new_app(outage_stack)
    traffic = Traffic(app, outage_stack)
    await traffic.start()
    store = sqlite3.connect(outage_stack.settings().sqlite_path, isolation_level=None)
    try:
        await traffic.run_for(3)

        await asyncio.to_thread(outage_stack.stop_redis)
        await traffic.run_for(OUTAGE_S)
        await asyncio.to_thread(outage_stack.start_redis)
        await traffic.run_for(3)

        # The archive's writes fail (the file is locked) while messages keep coming.
        store.execute("BEGIN EXCLUSIVE")
        await traffic.run_for(OUTAGE_S)
        store.execute("COMMIT")
        await traffic.run_for(3)

        await asyncio.wait_for(asyncio.gather(*traffic.sends), 120)

        def missing() -> dict[int, list[int]]:
            out = {}
            for p in range(PAIRS):
                gone = {a.seq for a in traffic.acks[p]} - {m.seq for m in traffic.received[p]}
                if gone:
                    out[p] = sorted(gone)
            return out

        async def all_delivered() -> bool:
            return not missing()

        try:
            await eventually(all_delivered, timeout=120)
        except NotYet:
            raise AssertionError(f"acked, never delivered: {str(missing())[:2000]}") from None
    finally:
        store.close()
        await traffic.close()

    for pair in range(PAIRS):
        seqs = sorted(a.seq for a in traffic.acks[pair])
        assert seqs == list(range(1, len(seqs) + 1)), f"pair {pair}: a seq repeats or skips"
        delivered = [m.seq for m in traffic.received[pair]]
        assert delivered == seqs, f"pair {pair}: delivered once each, in order"
        conv = conversation.c2c(f"s{pair}", f"r{pair}")

        async def archived(conv: str = conv, seqs: list[int] = seqs) -> bool:
            return await in_archive(outage_stack, app, conv) == seqs

        await eventually(archived, timeout=60)
    assert not any((await dlq_records(outage_stack)).values())
    print(f"\n{sum(len(a) for a in traffic.acks.values())} messages through both outages")
