"""Publish sends to im.inbound and route the router's outcome back to whoever waits for it.

No task per message: a pending send is a callback in a dict, resolved by the Complete gRPC
call, by a failed produce, or by the sweeper when the send timeout passes.

Produce in batches: `submit` only queues the record, on its partition's queue (explicit
partitions, Kafka's key hash). Each partition has one flusher task: woken by the first record,
it lingers (`kafka_linger_ms`), takes whatever was queued meanwhile (at most MAX_BATCH records)
and hands it to `BatchProducer.send` as one record batch, closed, so the producer sends it as
soon as the partition has no request in flight instead of lingering a second time. One callback
per record batch, not per message. While a flusher waits for the partition's previous request,
the next sends pile up for its next batch; the other partitions' flushers are not held up. A
client's sends keep their order: a conversation's records share a partition, are queued in
submit order, and that partition's one flusher hands its batches over one after the other.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

from aiokafka import AIOKafkaProducer

from services.common import topics
from services.common.bus import BatchProducer, partition_for
from services.common.conversation import app_of_key, kafka_key
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.common.pb.tidings.v1.gateway_pb2 import Outcome

log = get_logger(__name__)

OutcomeCallback = Callable[[Outcome], None]

# Records handed to the producer in one flush.
MAX_BATCH = 1000
# Sends queued and not yet handed to the producer before `submit` waits (a broker that does
# not keep up slows the clients down instead of growing the queue without bound).
MAX_QUEUED = 10_000

_TOPIC = topics.INBOUND.name
# Settings.kafka_linger_ms's default.
DEFAULT_LINGER_S = 0.002


class _ClosedBatches:
    """The producer as the publisher's BatchProducer sees it: each record batch is closed when
    handed over (aiokafka then sends a closed batch without lingering: the publisher lingered
    already, with the records queued meanwhile joining the batch)."""

    __slots__ = ("_producer",)

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    def create_batch(self) -> Any:
        return self._producer.create_batch()

    async def partitions_for(self, topic: str) -> Any:
        return await self._producer.partitions_for(topic)

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> Any:
        batch.close()
        return await self._producer.send_batch(batch, topic, partition=partition)


class Publisher:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        node_id: str,
        grpc_addr: str,
        timeout_s: float,
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        self._producer = producer
        self._batches = BatchProducer(cast(AIOKafkaProducer, _ClosedBatches(producer)))
        self._linger_s = linger_s
        self._node_id = node_id
        self._grpc_addr = grpc_addr
        self._timeout = timeout_s
        self._pending: dict[str, tuple[float, OutcomeCallback]] = {}
        # Request ids: unique in this process (outcomes come back to it), and across restarts.
        self._id_prefix = uuid.uuid4().hex[:12]
        self._ids = itertools.count()
        self.accepting = True
        # Per partition: (request id, key, value) in submit order, not yet handed to the
        # producer, and the partition's flusher.
        self._partition_count = 0
        self._queues: dict[int, list[tuple[str, bytes, bytes]]] = {}
        self._wakes: dict[int, asyncio.Event] = {}
        self._flushers: dict[int, asyncio.Task[None]] = {}
        self._queued = 0
        self._room: asyncio.Future[None] | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        return self._producer

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def submit(
        self, inbound: InboundMessage, on_done: OutcomeCallback, conn_id: str = ""
    ) -> None:
        """Queue for produce in call order (which keeps a client's sends in order) and register
        on_done. Returns at once unless MAX_QUEUED sends are waiting for the producer."""
        request_id = f"{self._id_prefix}{next(self._ids):x}"
        origin = inbound.origin
        origin.node_id = self._node_id
        origin.grpc_addr = self._grpc_addr
        origin.request_id = request_id
        origin.conn_id = conn_id
        self._pending[request_id] = (time.monotonic() + self._timeout, on_done)
        key = kafka_key(inbound.sdkappid, inbound.conversation)
        count = self._partition_count
        if not count:
            try:
                count = self._partition_count = await self._batches.partitions(_TOPIC)
            except Exception as exc:  # noqa: BLE001 - the caller gets an error outcome instead
                self._fail_all([request_id], exc)
                return
        partition = partition_for(key, count)
        queue = self._queues.get(partition)
        if queue is None:
            queue = self._queues[partition] = []
            self._wakes[partition] = asyncio.Event()
        queue.append((request_id, key, inbound.SerializeToString()))
        self._queued += 1
        if len(queue) == 1:
            self._wakes[partition].set()
        flusher = self._flushers.get(partition)
        if flusher is None or flusher.done():
            self._flushers[partition] = asyncio.get_running_loop().create_task(
                self._flush_forever(partition)
            )
            self._wakes[partition].set()
        if self._queued >= MAX_QUEUED:
            await self._wait_for_room()

    async def publish(self, inbound: InboundMessage) -> Outcome:
        """Submit and wait for the outcome (REST)."""
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

        def resolve(outcome: Outcome) -> None:
            if not done.done():
                done.set_result(outcome)

        await self.submit(inbound, resolve)
        return await done

    def complete(self, outcomes: list[Outcome]) -> int:
        matched = 0
        for outcome in outcomes:
            entry = self._pending.pop(outcome.request_id, None)
            if entry is not None:
                matched += 1
                entry[1](outcome)
        return matched

    # --- the flusher ----------------------------------------------------------------------

    async def _flush_forever(self, partition: int) -> None:
        queue, wake = self._queues[partition], self._wakes[partition]
        while True:
            await wake.wait()
            wake.clear()
            if self._linger_s > 0:
                await asyncio.sleep(self._linger_s)
            while queue:
                batch = queue[:MAX_BATCH]
                del queue[:MAX_BATCH]
                self._queued -= len(batch)
                if self._room is not None and self._queued < MAX_QUEUED:
                    if not self._room.done():
                        self._room.set_result(None)
                    self._room = None
                await self._produce(batch)

    async def _produce(self, batch: Sequence[tuple[str, bytes, bytes]]) -> None:
        """Hand one partition's records to the producer; a failed record batch fails only the
        sends in it."""
        ids = [rid for rid, _, _ in batch]
        try:
            futures = await self._batches.send(_TOPIC, [(k, v) for _, k, v in batch])
        except Exception as exc:  # noqa: BLE001 - these sends get an error outcome
            self._fail_all(ids, exc)
            return
        _count_received(batch)
        for future in futures:
            future.add_done_callback(partial(self._on_produced, ids))

    async def _wait_for_room(self) -> None:
        if self._room is None:
            self._room = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._room)

    def _on_produced(self, request_ids: list[str], fut: asyncio.Future[object]) -> None:
        if fut.cancelled():
            self._fail_all(request_ids, "cancelled")
        elif fut.exception() is not None:
            self._fail_all(request_ids, fut.exception())

    def _fail_all(self, request_ids: list[str], error: object) -> None:
        if request_ids:
            log.warning("publish failed", sends=len(request_ids), error=str(error))
        for request_id in request_ids:
            self._fail(request_id, f"publish failed: {error}")

    def _fail(self, request_id: str, info: str) -> None:
        entry = self._pending.pop(request_id, None)
        if entry is not None:
            entry[1](
                Outcome(request_id=request_id, error_code=ErrorCode.REST_TIMEOUT, error_info=info)
            )

    async def sweep_forever(self) -> None:
        """Answer sends whose outcome did not come in time. The client may retry with the same
        id: if the message did get through, the retry gets its original seq."""
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            # Every deadline is the submit time plus one timeout, and the dict keeps submit
            # order: the expired ones are a prefix, so the sweep stops at the first live one.
            expired: list[str] = []
            for request_id, (deadline, _) in self._pending.items():
                if deadline >= now:
                    break
                expired.append(request_id)
            for request_id in expired:
                self._fail(request_id, "timed out waiting for the router; retry with the same id")

    async def drain(self, timeout_s: float) -> None:
        """Stop taking sends and wait for those in flight."""
        self.accepting = False
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:  # noqa: ASYNC110 - polled briefly
            await asyncio.sleep(0.05)


def _count_received(batch: Sequence[tuple[str, bytes, bytes]]) -> None:
    """The pipeline's first stage, once per batch and app: sends taken from clients and REST
    and handed to the producer (what the dashboards' "received" panels count)."""
    by_app = Counter(str(app_of_key(key)) for _, key, _ in batch)
    for app, n in by_app.items():
        STAGE_MESSAGES.labels("receive", app, "ok").inc(n)
