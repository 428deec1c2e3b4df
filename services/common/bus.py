"""The Kafka bus: topic set-up, batch produce with explicit partitions, and consumers that
commit after the effect.

Consumers follow arroyo's shape. A handler gets a batch and does its effect; only then are the
offsets marked done, and a background task commits the lowest offset not yet done of each
partition, so a commit never holds up the next poll.

What a failure means (docs/ARCHITECTURE.md, "Failures on the message path"):
- a record that can never succeed (undecodable, invalid) is poison: the handler returns it as
  `Poison` with the reason, and it goes to <topic>.dlq with that reason attached;
- anything the handler raises is an outage of something it depends on (broker, Redis, store,
  a gRPC peer): the same batch is retried with backoff until it succeeds. Nothing is
  dead-lettered for an outage, and nothing after the batch is taken meanwhile;
- more dead letters than `dlq_burst_limit` within `dlq_burst_window_s` halt the consumer and
  raise an alert (a bug that poisons every record must not drain a topic into its DLQ).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from aiokafka.structs import ConsumerRecord
from google.protobuf.message import DecodeError, Message

from services.common import topics
from services.common.config import Settings
from services.common.logging import get_logger
from services.common.metrics import (
    CONSUMER_HALTED,
    CONSUMER_LAG,
    CONSUMER_RECORDS,
    CONSUMER_RETRIES,
    DLQ_RECORDS,
)
from services.common.pb.tidings.v1.envelope_pb2 import DeadLetter

log = get_logger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Poison:
    """A record that can never be handled, and why."""

    record: Record
    reason: str


BatchHandler = Callable[[Sequence[Record]], Awaitable[Sequence[Poison]]]


def decode(records: Iterable[Record], cls: type[M]) -> tuple[list[M], list[Poison]]:
    """Each record's payload as `cls`; the undecodable ones as poison."""
    good: list[M] = []
    bad: list[Poison] = []
    for r in records:
        try:
            good.append(cls.FromString(r.value or b""))
        except DecodeError as exc:
            bad.append(Poison(r, f"undecodable {cls.DESCRIPTOR.name}: {exc}"))
    return good, bad


# --- topics and producing ---------------------------------------------------------------


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


@lru_cache(maxsize=65536)
def _hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2), so records produced here and with a key by any
    other client agree. Cached: a conversation's key repeats."""
    return _hash(key) % partitions


class BatchProducer:
    """Produces a batch with explicit partitions: one record batch per partition, sent at once
    and awaited as a whole, instead of one future per record."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._partitions: dict[str, int] = {}

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    async def partitions(self, topic: str) -> int:
        count = self._partitions.get(topic)
        if count is None:
            count = len(await self._producer.partitions_for(topic))
            self._partitions[topic] = count
        return count

    async def send(
        self, topic: str, items: Sequence[tuple[bytes, bytes]]
    ) -> list[asyncio.Future[object]]:
        """Hand `items` (key, value) to the producer, in order within each partition, and return
        one future per record batch. Await them (or `send_all`) for acks=all."""
        if not items:
            return []
        count = await self.partitions(topic)
        by_partition: dict[int, list[tuple[bytes, bytes]]] = {}
        for key, value in items:
            by_partition.setdefault(partition_for(key, count), []).append((key, value))
        futures: list[asyncio.Future[object]] = []
        for partition, records in by_partition.items():
            batch = self._producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(
                        await self._producer.send_batch(batch, topic, partition=partition)
                    )
                    batch = self._producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        return futures

    async def send_all(self, topic: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """Produce and wait until the broker has every record (acks=all)."""
        futures = await self.send(topic, items)
        if futures:
            await asyncio.gather(*futures)


async def send_all(
    producer: AIOKafkaProducer, topic: str, items: Sequence[tuple[bytes, bytes]]
) -> None:
    """Produce a few records and wait for every ack (off the hot path: events, pushes)."""
    futures = [await producer.send(topic, key=key, value=value) for key, value in items]
    if futures:
        await asyncio.gather(*futures)


# --- pure parts of a consumer ------------------------------------------------------------


class AdaptiveWait:
    """How long the broker may hold an empty fetch. Tight while records flow, for latency;
    doubling while a topic is idle, up to `idle_ms`, so an idle stack does not ask the broker
    hundreds of times a second for records that do not come."""

    def __init__(self, busy_ms: int, idle_ms: int, idle_after: int = 3) -> None:
        self.busy_ms = busy_ms
        self.idle_ms = max(idle_ms, busy_ms)
        self._idle_after = idle_after
        self._empty = 0
        self.current_ms = busy_ms

    def observe(self, got_records: bool) -> int:
        if got_records:
            self._empty = 0
            self.current_ms = self.busy_ms
        else:
            self._empty += 1
            if self._empty >= self._idle_after:
                self.current_ms = min(self.idle_ms, max(self.current_ms * 2, 1))
        return self.current_ms


class OffsetTracker:
    """Per partition: the offsets taken and those done. The commit point of a partition is the
    lowest offset taken and not done, so records may finish out of order (a conversation held
    by a slow callback) and a crash replays only what was not done."""

    def __init__(self) -> None:
        self._open: dict[TopicPartition, deque[int]] = {}
        self._done: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._changed: set[TopicPartition] = set()

    def take(self, tp: TopicPartition, offset: int) -> None:
        self._open.setdefault(tp, deque()).append(offset)
        self._done.setdefault(tp, set())

    def done(self, tp: TopicPartition, offset: int) -> None:
        open_ = self._open.get(tp)
        if open_ is None:
            return  # the partition was revoked meanwhile
        done = self._done[tp]
        done.add(offset)
        last = -1
        while open_ and open_[0] in done:
            last = open_.popleft()
            done.discard(last)
        if last >= 0:
            self._next[tp] = open_[0] if open_ else last + 1
            self._changed.add(tp)

    def in_flight(self, tp: TopicPartition | None = None) -> int:
        if tp is not None:
            return len(self._open.get(tp, ()))
        return sum(len(d) for d in self._open.values())

    def commit_points(self) -> dict[TopicPartition, int]:
        """Partitions whose commit point moved since the last call, with that point."""
        out = {tp: self._next[tp] for tp in self._changed if tp in self._next}
        self._changed.clear()
        return out

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        for tp in tps:
            self._open.pop(tp, None)
            self._done.pop(tp, None)
            self._next.pop(tp, None)
            self._changed.discard(tp)


class DlqGuard:
    """Trips when more than `limit` records were dead-lettered within `window_s`."""

    def __init__(self, limit: int, window_s: float) -> None:
        self._limit = limit
        self._window_s = window_s
        self._times: deque[float] = deque()

    def record(self, count: int, now: float) -> bool:
        """Count `count` dead letters at `now`; True if the burst limit is passed."""
        self._times.extend([now] * count)
        while self._times and self._times[0] < now - self._window_s:
            self._times.popleft()
        return len(self._times) > self._limit


def backoff_s(attempt: int, base_s: float = 0.05, cap_s: float = 5.0) -> float:
    return float(min(cap_s, base_s * 2**attempt))


# --- consumers -----------------------------------------------------------------------------


@dataclass(slots=True)
class ConsumerSpec:
    group: str
    topic: topics.Topic
    handler: BatchHandler
    # Longest a handler may hold one batch before Kafka counts the consumer as failed
    # (aiokafka's default); a consumer whose batches are long jobs raises it.
    max_poll_interval_ms: int = 300_000
    # Off the send path: polls no tighter than kafka_background_fetch_max_wait_ms.
    background: bool = False
    # Consumers that read more than one topic (the callback service's one reader of several).
    extra_topics: tuple[topics.Topic, ...] = field(default_factory=tuple)


def _declare_series(group: str, topic_names: Sequence[str]) -> None:
    """A consumer's counters at 0 from its start, so that dashboards and alerts see them (a
    labelled series is missing until first counted, and `rate()` of a missing one is empty)."""
    for name in topic_names:
        CONSUMER_RECORDS.labels(group, name)
        DLQ_RECORDS.labels(group, name)
    for outcome in ("recovered", "failed"):
        CONSUMER_RETRIES.labels(group, outcome)
    CONSUMER_HALTED.labels(group).set(0)


class Consumer:
    """An aiokafka consumer with the assignment of the settings, adaptive polling, an offset
    tracker, and commits in the background."""

    def __init__(
        self,
        settings: Settings,
        group: str,
        topic_list: Sequence[topics.Topic],
        background: bool = False,
        max_poll_interval_ms: int = 300_000,
    ) -> None:
        self._settings = settings
        self.group = group
        self._topics = list(topic_list)
        if background:
            self._wait = AdaptiveWait(
                settings.kafka_background_fetch_max_wait_ms,
                settings.kafka_background_idle_fetch_max_wait_ms,
            )
        else:
            self._wait = AdaptiveWait(
                settings.kafka_fetch_max_wait_ms, settings.kafka_idle_fetch_max_wait_ms
            )
        self.offsets = OffsetTracker()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=group,
            enable_auto_commit=False,
            # Tansu answers ListOffsets(latest) wrongly; committed offsets decide instead.
            auto_offset_reset="earliest",
            fetch_max_wait_ms=self._wait.busy_ms,
            fetch_min_bytes=settings.kafka_fetch_min_bytes,
            max_poll_records=settings.kafka_max_batch,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            rebalance_timeout_ms=6000,
            max_poll_interval_ms=max_poll_interval_ms,
        )
        self._committer: asyncio.Task[None] | None = None
        self._commit_wake = asyncio.Event()
        self._closing = False

    async def start(self) -> None:
        await self._consumer.start()
        names = [t.name for t in self._topics]
        _declare_series(self.group, names)
        if self._settings.kafka_assignment == "static":
            await self._consumer.topics()
            mine = [
                TopicPartition(name, p)
                for name in names
                for p in sorted(self._consumer.partitions_for_topic(name) or ())
                if p % self._settings.instance_count == self._settings.instance_index
            ]
            self._consumer.assign(mine)
        else:
            self._consumer.subscribe(names, listener=_Revocations(self))
        self._committer = asyncio.get_running_loop().create_task(self._commit_loop())

    async def fetch(self, max_records: int | None = None) -> list[Record]:
        """The next records of every assigned partition, in offset order per partition; each is
        taken by the offset tracker and must be marked done."""
        batches = await self._consumer.getmany(timeout_ms=200, max_records=max_records)
        records = [r for tp_records in batches.values() for r in tp_records]
        # The fetcher reads this for each fetch request it sends (aiokafka keeps no public
        # setter); tests/integration/test_bus.py checks that an idle consumer backs off.
        self._consumer._fetcher._fetch_max_wait_ms = self._wait.observe(bool(records))
        per_topic: dict[str, int] = {}
        for tp, tp_records in batches.items():
            for r in tp_records:
                self.offsets.take(tp, r.offset)
            per_topic[tp.topic] = per_topic.get(tp.topic, 0) + len(tp_records)
            hw = self._consumer.highwater(tp)
            if hw is not None:
                CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(
                    max(0, hw - tp_records[-1].offset - 1)
                )
        for topic, count in per_topic.items():
            CONSUMER_RECORDS.labels(self.group, topic).inc(count)
        return records

    def done(self, records: Iterable[Record]) -> None:
        for r in records:
            self.offsets.done(TopicPartition(r.topic, r.partition), r.offset)
        self._commit_wake.set()

    def revoked(self, tps: Iterable[TopicPartition]) -> None:
        self.offsets.forget(tps)

    async def _commit_loop(self) -> None:
        interval = self._settings.kafka_commit_interval_ms / 1000
        while True:
            await self._commit_wake.wait()
            self._commit_wake.clear()
            await self.commit()
            if self._closing:
                return
            await asyncio.sleep(interval)

    async def commit(self) -> None:
        points = self.offsets.commit_points()
        if not points:
            return
        try:
            await self._consumer.commit(points)
        except Exception as exc:  # noqa: BLE001 - a lost commit only means a harmless replay
            log.warning("commit failed", group=self.group, error=str(exc))

    async def close(self) -> None:
        """Commit what is done and leave."""
        self._closing = True
        if self._committer is not None:
            self._committer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._committer
        await self.commit()
        await self._consumer.stop()


class _Revocations:
    """Group mode: forget the offsets of partitions that moved to another consumer; records of
    them still in flight finish without committing (the new owner replays them)."""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._consumer.commit()
        self._consumer.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


class DeadLetters:
    """Sends poison records to their topic's DLQ, and halts the consumer on a burst."""

    def __init__(self, settings: Settings, group: str, producer: AIOKafkaProducer) -> None:
        self._group = group
        self._producer = producer
        self._guard = DlqGuard(settings.dlq_burst_limit, settings.dlq_burst_window_s)
        self.halted = False

    async def send(self, poison: Sequence[Poison]) -> None:
        if not poison:
            return
        now = time.time()
        by_topic: dict[str, list[tuple[bytes, bytes]]] = {}
        for p in poison:
            r = p.record
            letter = DeadLetter(
                schema_version=1,
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=r.key or b"",
                value=r.value or b"",
                error=p.reason,
                attempts=1,
                failed_at_ms=int(now * 1000),
            )
            by_topic.setdefault(topics.dlq_of(r.topic), []).append(
                (r.key or b"", letter.SerializeToString())
            )
            DLQ_RECORDS.labels(self._group, r.topic).inc()
            log.error(
                "poison record dead-lettered",
                group=self._group,
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                error=p.reason,
            )
        for topic, items in by_topic.items():
            await send_all(self._producer, topic, items)
        if self._guard.record(len(poison), now):
            self.halted = True
            CONSUMER_HALTED.labels(self._group).set(1)
            log.critical(
                "consumer halted: dead letters over the burst limit; fix the cause, then "
                "restart the service and replay the DLQ with `tidings replay-dlq`",
                group=self._group,
            )


class BatchConsumer:
    """A batch at a time: handle, dead-letter the poison, mark done. An exception from the
    handler retries the same batch with backoff, and nothing else is taken meanwhile."""

    def __init__(self, settings: Settings, spec: ConsumerSpec, producer: AIOKafkaProducer) -> None:
        self._spec = spec
        self._consumer = Consumer(
            settings,
            spec.group,
            [spec.topic, *spec.extra_topics],
            background=spec.background,
            max_poll_interval_ms=spec.max_poll_interval_ms,
        )
        self._dead = DeadLetters(settings, spec.group, producer)
        self._stopping = asyncio.Event()

    @property
    def halted(self) -> bool:
        return self._dead.halted

    async def start(self) -> None:
        await self._consumer.start()

    async def run(self) -> None:
        while not self._stopping.is_set() and not self._dead.halted:
            records = await self._consumer.fetch()
            if not records:
                continue
            if not await self._handle(records):
                return
            self._consumer.done(records)

    async def _handle(self, records: list[Record]) -> bool:
        """Handle until it succeeds; False if stopped before it did."""
        attempt = 0
        while True:
            try:
                poison = await self._spec.handler(records)
                await self._dead.send(poison)
                if attempt:
                    CONSUMER_RETRIES.labels(self._spec.group, "recovered").inc()
                return True
            except Exception as exc:  # noqa: BLE001 - an outage: retried, never dead-lettered
                CONSUMER_RETRIES.labels(self._spec.group, "failed").inc()
                log.warning(
                    "batch failed; retrying",
                    group=self._spec.group,
                    records=len(records),
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                )
            if self._stopping.is_set():
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff_s(attempt))
            attempt += 1

    async def stop(self) -> None:
        """Finish (or give up retrying) the batch in hand, then leave run()."""
        self._stopping.set()

    async def close(self) -> None:
        await self._consumer.close()
