"""The bus against a real broker (Tansu, started with the same launcher as `make run`):
offsets are committed only after the effect, a poison record goes to the DLQ without blocking
its partition, an outage is retried and never dead-lettered, and a burst of dead letters halts
the consumer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.common import topics
from services.common.bus import (
    BatchConsumer,
    BatchProducer,
    ConsumerSpec,
    Poison,
    Record,
    ensure_topics,
    make_producer,
    partition_for,
    send_all,
)
from services.common.config import Settings
from services.common.dlq_replay import replay_topic
from services.common.pb.tidings.v1.envelope_pb2 import DeadLetter
from tests.conftest import eventually
from tests.integration.conftest import settings_for as base_settings


def settings_for(bootstrap: str) -> Settings:
    return base_settings(bootstrap, dlq_burst_limit=3)


async def run_until(consumer: BatchConsumer, done: asyncio.Event) -> None:
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(done.wait(), 30)
    await consumer.stop()
    await task
    await consumer.close()


async def test_poison_goes_to_dlq_and_the_rest_is_processed(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await send_all(
        producer,
        topics.EVENTS.name,
        [(b"k", b"ok-1"), (b"k", b"poison"), (b"k", b"ok-2")],
    )
    seen: list[bytes] = []
    done = asyncio.Event()

    async def handler(records: Sequence[Record]) -> list[Poison]:
        seen.extend(r.value for r in records if r.value != b"poison")
        if b"ok-2" in seen:
            done.set()
        return [Poison(r, "cannot handle poison") for r in records if r.value == b"poison"]

    consumer = BatchConsumer(settings, ConsumerSpec("test.dlq", topics.EVENTS, handler), producer)
    await run_until(consumer, done)
    assert seen == [b"ok-1", b"ok-2"]

    letters: list[DeadLetter] = []
    got_letter = asyncio.Event()

    async def read_dlq(records: Sequence[Record]) -> list[Poison]:
        letters.extend(DeadLetter.FromString(r.value) for r in records)
        got_letter.set()
        return []

    dlq_topic = topics.Topic(topics.EVENTS.dlq, key="original")
    reader = BatchConsumer(settings, ConsumerSpec("test.dlq.reader", dlq_topic, read_dlq), producer)
    await run_until(reader, got_letter)
    assert [(d.value, d.topic) for d in letters] == [(b"poison", "im.events")]
    assert letters[0].error == "cannot handle poison"

    # Committed after the effect: a new consumer of the same group resumes past everything.
    await send_all(producer, topics.EVENTS.name, [(b"k", b"ok-3")])
    resumed: list[bytes] = []
    again = asyncio.Event()

    async def record_rest(records: Sequence[Record]) -> list[Poison]:
        resumed.extend(r.value for r in records)
        again.set()
        return []

    consumer = BatchConsumer(
        settings, ConsumerSpec("test.dlq", topics.EVENTS, record_rest), producer
    )
    await run_until(consumer, again)
    assert resumed == [b"ok-3"]
    await producer.stop()


async def test_an_outage_is_retried_in_order_and_never_dead_lettered(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await send_all(producer, topics.INBOUND.name, [(b"c", b"m-1"), (b"c", b"m-2")])
    failures = 0
    seen: list[bytes] = []
    done = asyncio.Event()

    async def flaky(records: Sequence[Record]) -> list[Poison]:
        nonlocal failures
        if failures < 4:
            failures += 1
            raise ConnectionError("redis is down")
        seen.extend(r.value for r in records)
        if b"m-2" in seen:
            done.set()
        return []

    consumer = BatchConsumer(settings, ConsumerSpec("test.outage", topics.INBOUND, flaky), producer)
    await run_until(consumer, done)
    assert failures == 4
    assert seen == [b"m-1", b"m-2"]
    assert not consumer.halted
    await producer.stop()


async def test_a_burst_of_dead_letters_halts_the_consumer(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await send_all(producer, topics.MESSAGES.name, [(b"g", b"bad-%d" % i) for i in range(10)])
    handled = 0

    async def all_bad(records: Sequence[Record]) -> list[Poison]:
        nonlocal handled
        handled += len(records)
        return [Poison(r, "bad") for r in records]

    consumer = BatchConsumer(
        settings, ConsumerSpec("test.burst", topics.MESSAGES, all_bad), producer
    )
    await consumer.start()
    # run() returns by itself once the limit (3) is passed, before draining the topic further.
    await asyncio.wait_for(consumer.run(), 30)
    assert consumer.halted
    await consumer.close()
    await producer.stop()


async def test_a_failed_effect_is_not_committed(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await send_all(producer, topics.PUSH.name, [(b"u", b"job-1")])
    first_try = asyncio.Event()

    async def crash(records: Sequence[Record]) -> list[Poison]:
        first_try.set()
        raise asyncio.CancelledError  # the process dies mid-effect

    consumer = BatchConsumer(settings, ConsumerSpec("test.commit", topics.PUSH, crash), producer)
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(first_try.wait(), 30)
    with pytest.raises(asyncio.CancelledError):
        await task
    await consumer.close()

    replayed: list[bytes] = []
    done = asyncio.Event()

    async def handle(records: Sequence[Record]) -> list[Poison]:
        replayed.extend(r.value for r in records)
        done.set()
        return []

    consumer = BatchConsumer(settings, ConsumerSpec("test.commit", topics.PUSH, handle), producer)
    await run_until(consumer, done)
    assert replayed == [b"job-1"]
    await producer.stop()


async def test_batch_producer_picks_the_partition_a_key_would_get(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    keys = [f"1400000001:c2c:u{i}:v{i}".encode() for i in range(20)]
    await BatchProducer(producer).send_all(topics.EVENTS.name, [(k, b"batch") for k in keys])
    by_key = [await (await producer.send(topics.EVENTS.name, key=k, value=b"key")) for k in keys]
    assert [m.partition for m in by_key] == [partition_for(k, 2) for k in keys]
    await producer.stop()


async def test_an_idle_consumer_backs_off_and_records_bring_it_back(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    got = asyncio.Event()

    async def handle(records: Sequence[Record]) -> list[Poison]:
        got.set()
        return []

    consumer = BatchConsumer(
        settings, ConsumerSpec("test.idle", topics.CALLBACKS_RETRY, handle), producer
    )
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    fetcher = consumer._consumer._consumer._fetcher

    async def backed_off() -> bool:
        return bool(fetcher._fetch_max_wait_ms == settings.kafka_idle_fetch_max_wait_ms)

    await eventually(backed_off, timeout=10)
    await send_all(producer, topics.CALLBACKS_RETRY.name, [(b"e", b"x")])
    await asyncio.wait_for(got.wait(), 10)
    assert fetcher._fetch_max_wait_ms == settings.kafka_fetch_max_wait_ms
    await consumer.stop()
    await task
    await consumer.close()
    await producer.stop()


async def test_replay_dlq_puts_poison_back_on_its_topic(broker: str) -> None:
    """`tidings replay-dlq --topic T`: after the fix, T.dlq's records go back on T."""
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await send_all(producer, topics.PUSH.name, [(b"u1", b"was-poison"), (b"u2", b"fine")])
    fixed = False
    seen: list[bytes] = []
    done = asyncio.Event()

    async def handler(records: Sequence[Record]) -> list[Poison]:
        # The topic is shared with the tests above: only this test's records count.
        mine = [r for r in records if r.value in (b"was-poison", b"fine")]
        poison = [Poison(r, "a bug") for r in mine if r.value == b"was-poison" and not fixed]
        seen.extend(r.value for r in mine if not any(p.record is r for p in poison))
        if b"was-poison" in seen:
            done.set()
        return poison

    consumer = BatchConsumer(settings, ConsumerSpec("test.replay", topics.PUSH, handler), producer)
    await consumer.start()
    task = asyncio.create_task(consumer.run())

    async def dead_lettered() -> bool:
        return seen == [b"fine"]

    await eventually(dead_lettered, timeout=30)
    fixed = True
    result = await replay_topic(settings, topics.PUSH.name)
    assert (result.replayed, result.complete) == (1, True)
    await asyncio.wait_for(done.wait(), 30)
    assert seen == [b"fine", b"was-poison"]
    # The replay's position moved: a second replay finds nothing new.
    assert (await replay_topic(settings, topics.PUSH.name)).replayed == 0
    await consumer.stop()
    await task
    await consumer.close()
    await producer.stop()
