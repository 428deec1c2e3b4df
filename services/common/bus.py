"""The Kafka bus: topic set-up, a producer, and a batch consumer that commits after the effect.

The consumer follows arroyo's shape: a handler gets a batch of records and does its effect;
only when it returns are the offsets marked for commit. A batch that keeps failing is split
into single records, and a record that still fails after `consumer_max_attempts` goes to
<topic>.dlq with the error attached, so a poison record never blocks its partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import ConsumerRecord

from services.common import topics
from services.common.config import Settings
from services.common.logging import get_logger
from services.common.metrics import CONSUMER_LAG, CONSUMER_RECORDS, DLQ_RECORDS
from services.common.pb.tidings.v1.envelope_pb2 import DeadLetter

log = get_logger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
BatchHandler = Callable[[Sequence[Record]], Awaitable[None]]


def topic_specs(settings: Settings) -> list[NewTopic]:
    specs: list[NewTopic] = []
    for t in topics.ALL:
        configs = {"cleanup.policy": "compact"} if t.compacted else {}
        specs.append(
            NewTopic(
                t.name,
                t.partitions or settings.kafka_partitions,
                settings.kafka_replication,
                topic_configs=configs,
            )
        )
    for t in topics.WITH_DLQ:
        specs.append(NewTopic(t.dlq, 1, settings.kafka_replication))
    return specs


async def ensure_topics(settings: Settings) -> None:
    """Create every registry topic (and its DLQ) that does not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in topic_specs(settings) if s.name not in existing]
        if missing:
            # Another process may create them at the same time.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


def make_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=256 * 1024,
        request_timeout_ms=15000,
    )


async def send_all(
    producer: AIOKafkaProducer, topic: str, items: Sequence[tuple[bytes, bytes]]
) -> None:
    """Produce a batch and wait until every record is acknowledged by the broker (acks=all)."""
    futures = [await producer.send(topic, key=key, value=value) for key, value in items]
    if futures:
        await asyncio.gather(*futures)


@dataclass(slots=True)
class ConsumerSpec:
    group: str
    topic: topics.Topic
    handler: BatchHandler
    # Longest a handler may hold one batch before Kafka counts the consumer as failed
    # (aiokafka's default); a consumer whose batches are long jobs raises it.
    max_poll_interval_ms: int = 300_000
    # Off the send path: polls with kafka_background_fetch_max_wait_ms.
    background: bool = False


class BatchConsumer:
    def __init__(self, settings: Settings, spec: ConsumerSpec, producer: AIOKafkaProducer) -> None:
        self._settings = settings
        self._spec = spec
        self._producer = producer
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=spec.group,
            enable_auto_commit=False,
            # Tansu answers ListOffsets(latest) wrongly; committed offsets decide instead.
            auto_offset_reset="earliest",
            fetch_max_wait_ms=(
                settings.kafka_background_fetch_max_wait_ms
                if spec.background
                else settings.kafka_fetch_max_wait_ms
            ),
            max_poll_records=settings.kafka_max_batch,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            rebalance_timeout_ms=6000,
            max_poll_interval_ms=spec.max_poll_interval_ms,
        )
        self._stopping = asyncio.Event()
        self._pending: dict[TopicPartition, int] = {}
        self._last_commit = 0.0

    async def start(self) -> None:
        await self._consumer.start()
        name = self._spec.topic.name
        if self._settings.kafka_assignment == "static":
            await self._consumer.topics()
            partitions = sorted(self._consumer.partitions_for_topic(name) or ())
            mine = [
                TopicPartition(name, p)
                for p in partitions
                if p % self._settings.instance_count == self._settings.instance_index
            ]
            self._consumer.assign(mine)
        else:
            self._consumer.subscribe([name])

    async def run(self) -> None:
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=200)
            records = [r for tp_records in batches.values() for r in tp_records]
            if records:
                await self._handle(records)
                for tp, tp_records in batches.items():
                    self._pending[tp] = tp_records[-1].offset + 1
                    hw = self._consumer.highwater(tp)
                    if hw is not None:
                        CONSUMER_LAG.labels(self._spec.group, tp.topic, str(tp.partition)).set(
                            max(0, hw - self._pending[tp])
                        )
                CONSUMER_RECORDS.labels(self._spec.group, self._spec.topic.name).inc(len(records))
            await self._maybe_commit(force=False)
        await self._maybe_commit(force=True)

    async def stop(self) -> None:
        """Finish the batch in hand, commit, and leave."""
        self._stopping.set()

    async def close(self) -> None:
        await self._consumer.stop()

    async def _maybe_commit(self, force: bool) -> None:
        now = time.monotonic()
        interval = self._settings.kafka_commit_interval_ms / 1000
        if not self._pending or (not force and now - self._last_commit < interval):
            return
        offsets, self._pending = self._pending, {}
        try:
            await self._consumer.commit(offsets)
        except Exception as exc:  # noqa: BLE001 - a lost commit only means a harmless replay
            log.warning("commit failed", group=self._spec.group, error=str(exc))
        self._last_commit = now

    async def _handle(self, records: list[Record]) -> None:
        attempts = self._settings.consumer_max_attempts
        error = await self._try(records, attempts=2)
        if error is None:
            return
        log.warning(
            "batch failed, retrying one by one",
            group=self._spec.group,
            records=len(records),
            error=error,
        )
        for record in records:
            error = await self._try([record], attempts=attempts)
            if error is not None:
                await self._dead_letter(record, error, attempts)

    async def _try(self, records: list[Record], attempts: int) -> str | None:
        error = ""
        for attempt in range(attempts):
            try:
                await self._spec.handler(records)
                return None
            except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
                error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
        return error

    async def _dead_letter(self, record: Record, error: str, attempts: int) -> None:
        letter = DeadLetter(
            schema_version=1,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key or b"",
            value=record.value or b"",
            error=error,
            attempts=attempts,
            failed_at_ms=int(time.time() * 1000),
        )
        await send_all(
            self._producer,
            self._spec.topic.dlq,
            [(record.key or b"", letter.SerializeToString())],
        )
        DLQ_RECORDS.labels(self._spec.group, self._spec.topic.name).inc()
        log.error(
            "record dead-lettered",
            group=self._spec.group,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error,
        )
