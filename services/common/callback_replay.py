"""Replay one app's dead-lettered after-callbacks: read im.callbacks.dlq and put this app's
deliveries back on im.callbacks.retry with a fresh budget, due at once; the callback service
then posts them (signed, to the app's current URL) like any other retry.

The read position is kept per app (consumer group "callback.replay.<SDKAppID>"), so a replay
takes only what was dead-lettered since the last one, and one app's replay never touches
another's deliveries. Shared by `tidings replay-dlq` and the admin API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.common import topics
from services.common.bus import make_producer, send_all
from services.common.callback_records import Delivery
from services.common.config import Settings
from services.common.logging import get_logger

log = get_logger(__name__)

# One replay reads for at most this long; what is left waits for the next one.
MAX_READ_S = 60.0
_IDLE_POLLS = 2


@dataclass(frozen=True, slots=True)
class ReplayResult:
    sdkappid: int
    # This app's deliveries put back on im.callbacks.retry.
    replayed: int
    # Dead letters read, every app's.
    scanned: int
    # False when the read stopped at MAX_READ_S before the end of the topic.
    complete: bool


def fresh(d: Delivery) -> Delivery:
    return Delivery(
        sdkappid=d.sdkappid,
        event_id=d.event_id,
        command=d.command,
        body=d.body,
        client_ip=d.client_ip,
        platform=d.platform,
    )


async def replay_dlq(settings: Settings, sdkappid: int) -> ReplayResult:
    if not settings.kafka_bootstrap:
        raise ValueError("no Kafka to read from: set TIDINGS_KAFKA_BOOTSTRAP")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"callback.replay.{sdkappid}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=200,
    )
    producer = make_producer(settings)
    await consumer.start()
    await producer.start()
    try:
        name = topics.CALLBACKS_DLQ.name
        await consumer.topics()
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        mine: list[Delivery] = []
        scanned = 0
        idle = 0
        deadline = time.monotonic() + MAX_READ_S
        complete = False
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            records = [r for rs in batches.values() for r in rs]
            scanned += len(records)
            for record in records:
                try:
                    d = Delivery.decode(record.value)
                except ValueError as err:
                    log.error(
                        "unreadable dead letter skipped", offset=record.offset, error=str(err)
                    )
                    continue
                if d.sdkappid == sdkappid:
                    mine.append(fresh(d))
            idle = 0 if records else idle + 1
            # Tansu's ListOffsets(latest) is unreliable, so the end is the fetch high watermark
            # (or, for a topic never written to, polls that bring nothing).
            if await _at_end(consumer, partitions) or idle >= _IDLE_POLLS:
                complete = True
                break
        await send_all(producer, topics.CALLBACKS_RETRY.name, [(d.key, d.encode()) for d in mine])
        # Committed only once the deliveries are back on the retry topic: at least once.
        await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    log.info("dead letters replayed", app=sdkappid, replayed=len(mine), scanned=scanned)
    return ReplayResult(sdkappid, len(mine), scanned, complete)


async def _at_end(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        high = consumer.highwater(tp)
        if high is None or await consumer.position(tp) < high:
            return False
    return True
