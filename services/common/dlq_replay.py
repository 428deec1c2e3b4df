"""Replay a dead-letter topic: read `<topic>.dlq` from this replay's own position and put each
dead letter's original record back on the topic it came from, key and value as they were.

Run it after fixing what made the records poison (a bug, a bad deploy). The read position is a
consumer group per topic ("dlq.replay.<topic>"), committed only once the records are back on
their topic, so a replay takes what was dead-lettered since the last one, at least once. Shared
by `tidings replay-dlq --topic` and tests.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from google.protobuf.message import DecodeError

from services.common import topics
from services.common.bus import Record, make_producer, send_all
from services.common.config import Settings
from services.common.logging import get_logger
from services.common.pb.tidings.v1.envelope_pb2 import DeadLetter

log = get_logger(__name__)

# One replay reads for at most this long; what is left waits for the next one.
MAX_READ_S = 60.0
_IDLE_POLLS = 2


@dataclass(frozen=True, slots=True)
class Replayed:
    topic: str
    # Records put back on their topic.
    replayed: int
    # Dead letters read.
    scanned: int
    # False when the read stopped at MAX_READ_S before the end of the DLQ.
    complete: bool


def dlq_consumer(settings: Settings, group: str | None) -> AIOKafkaConsumer:
    """A consumer for reading a DLQ by hand: no auto commit, and from the earliest record where
    the group has no position (or a position below the log's start)."""
    if not settings.kafka_bootstrap:
        raise ValueError("no Kafka to read from: set TIDINGS_KAFKA_BOOTSTRAP")
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )


async def read_to_end(
    settings: Settings,
    group: str,
    topic: str,
    take: Callable[[Sequence[Record]], bool],
    then: Callable[[], Awaitable[None]],
    *,
    commit: bool = True,
) -> tuple[int, bool]:
    """Read `topic` from `group`'s position to its end, handing each batch to `take`, until it
    answers False (it has enough); await `then()` (the effect) and only then commit (a listing
    reads without committing). Returns (records read, reached the end)."""
    consumer = dlq_consumer(settings, group)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        scanned, idle, complete = 0, 0, False
        deadline = time.monotonic() + MAX_READ_S
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            records = [r for rs in batches.values() for r in rs]
            scanned += len(records)
            wants_more = take(records)
            idle = 0 if records else idle + 1
            # Tansu's ListOffsets(latest) is unreliable, so the end is the fetch high watermark
            # (or, for a topic never written to, polls that bring nothing).
            if await _at_end(consumer, partitions) or idle >= _IDLE_POLLS:
                complete = True
                break
            if not wants_more:
                break
        await then()
        if commit:
            await consumer.commit()
    finally:
        await consumer.stop()
    return scanned, complete


async def _at_end(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        high = consumer.highwater(tp)
        if high is None or await consumer.position(tp) < high:
            return False
    return True


async def replay_topic(settings: Settings, topic: str) -> Replayed:
    if topic not in {t.name for t in topics.WITH_DLQ}:
        names = ", ".join(t.name for t in topics.WITH_DLQ)
        raise ValueError(f"{topic!r} has no DLQ; topics with one: {names}")
    back: dict[str, list[tuple[bytes, bytes]]] = {}

    def take(records: Sequence[Record]) -> bool:
        for r in records:
            try:
                letter = DeadLetter.FromString(r.value or b"")
            except DecodeError as err:
                log.error("unreadable dead letter skipped", offset=r.offset, error=str(err))
                continue
            back.setdefault(letter.topic or topic, []).append((letter.key, letter.value))
        return True

    producer = make_producer(settings)

    async def put_back() -> None:
        await producer.start()
        try:
            for name, items in back.items():
                await send_all(producer, name, items)
        finally:
            await producer.stop()

    scanned, complete = await read_to_end(
        settings, f"dlq.replay.{topic}", topics.dlq_of(topic), take, put_back
    )
    replayed = sum(len(items) for items in back.values())
    log.info("dead letters replayed", topic=topic, replayed=replayed, scanned=scanned)
    return Replayed(topic, replayed, scanned, complete)
