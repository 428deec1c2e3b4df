"""The bus against a real broker (Tansu, started with the same launcher as `make run`):
offsets are committed only after the effect, and a poison record goes to the DLQ without
blocking its partition."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from services.common import topics
from services.common.bus import (
    BatchConsumer,
    ConsumerSpec,
    Record,
    ensure_topics,
    make_producer,
    send_all,
)
from services.common.config import Settings
from services.common.embedded import ChildProcess, free_port, start_broker
from services.common.pb.tidings.v1.envelope_pb2 import DeadLetter


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    child: ChildProcess = start_broker(port, Path(tmp_path_factory.mktemp("broker")))
    yield f"127.0.0.1:{port}"
    child.stop()


def settings_for(bootstrap: str) -> Settings:
    return Settings(
        kafka_bootstrap=bootstrap,
        kafka_partitions=2,
        kafka_assignment="static",
        consumer_max_attempts=2,
        kafka_commit_interval_ms=0,
    )


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

    async def handler(records: Sequence[Record]) -> None:
        if any(r.value == b"poison" for r in records):
            raise ValueError("cannot handle poison")
        seen.extend(r.value for r in records)
        if b"ok-2" in seen:
            done.set()

    consumer = BatchConsumer(settings, ConsumerSpec("test.dlq", topics.EVENTS, handler), producer)
    await run_until(consumer, done)
    assert seen == [b"ok-1", b"ok-2"]

    letters: list[DeadLetter] = []
    got_letter = asyncio.Event()

    async def read_dlq(records: Sequence[Record]) -> None:
        letters.extend(DeadLetter.FromString(r.value) for r in records)
        got_letter.set()

    dlq_topic = topics.Topic(topics.EVENTS.dlq, key="original")
    reader = BatchConsumer(settings, ConsumerSpec("test.dlq.reader", dlq_topic, read_dlq), producer)
    await run_until(reader, got_letter)
    assert [(d.value, d.topic, d.attempts) for d in letters] == [(b"poison", "im.events", 2)]
    assert "cannot handle poison" in letters[0].error

    # Committed after the effect: a new consumer of the same group resumes past everything.
    await send_all(producer, topics.EVENTS.name, [(b"k", b"ok-3")])
    resumed: list[bytes] = []
    again = asyncio.Event()

    async def record_rest(records: Sequence[Record]) -> None:
        resumed.extend(r.value for r in records)
        again.set()

    consumer = BatchConsumer(
        settings, ConsumerSpec("test.dlq", topics.EVENTS, record_rest), producer
    )
    await run_until(consumer, again)
    assert resumed == [b"ok-3"]
    await producer.stop()


async def test_a_failed_effect_is_not_committed(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    await send_all(producer, topics.PUSH.name, [(b"u", b"job-1")])
    first_try = asyncio.Event()

    async def crash(records: Sequence[Record]) -> None:
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

    async def handle(records: Sequence[Record]) -> None:
        replayed.extend(r.value for r in records)
        done.set()

    consumer = BatchConsumer(settings, ConsumerSpec("test.commit", topics.PUSH, handle), producer)
    await run_until(consumer, done)
    assert replayed == [b"job-1"]
    await producer.stop()
