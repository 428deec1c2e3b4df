"""The publisher batches: the sends of one event-loop iteration go to the producer together, one
record batch per partition, in submit order; a failed record batch answers exactly its sends;
outcomes reach their callbacks (a fake producer, no broker)."""

from __future__ import annotations

import asyncio
from typing import Any

from services.common import conversation
from services.common.bus import partition_for
from services.common.conversation import kafka_key
from services.common.errors import ErrorCode
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.gateway import publisher as publisher_module
from services.gateway.publisher import Publisher

APP = 1400000001
PARTITIONS = 4


class RecordingBatch:
    def __init__(self) -> None:
        self.values: list[bytes] = []
        self.closed = False

    def append(self, *, key: bytes, value: bytes, timestamp: None) -> object:
        self.values.append(value)
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    def __init__(self) -> None:
        self.batches: list[tuple[int, list[InboundMessage]]] = []
        self.acks: list[asyncio.Future[object]] = []
        self.fail_partition: int | None = None
        self.per_message_sends = 0
        # Closed: a broker that does not take the batch yet.
        self.gate = asyncio.Event()
        self.gate.set()

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def create_batch(self) -> RecordingBatch:
        return RecordingBatch()

    async def send_batch(
        self, batch: RecordingBatch, topic: str, *, partition: int
    ) -> asyncio.Future[object]:
        await self.gate.wait()
        if partition == self.fail_partition:
            raise RuntimeError("broker said no")
        # Handed over closed: the publisher lingered, the producer must not linger again.
        assert batch.closed
        records = [InboundMessage.FromString(v) for v in batch.values]
        self.batches.append((partition, records))
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self.per_message_sends += 1
        raise AssertionError("the publisher must produce in batches")


def message(sender: str, to: str, n: int) -> InboundMessage:
    return InboundMessage(
        sdkappid=APP,
        sender=sender,
        to_user=to,
        conversation=conversation.c2c(sender, to),
        client_msg_id=f"{sender}-{n}",
    )


def publisher(producer: FakeProducer) -> Publisher:
    return Publisher(producer, "node", "127.0.0.1:1", timeout_s=30, linger_s=0)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_one_iteration_is_one_flush_in_order() -> None:
    producer = FakeProducer()
    pub = publisher(producer)
    sent = [message(f"u{i % 7}", f"v{i % 5}", i) for i in range(60)]
    for m in sent:
        await pub.submit(m, lambda o: None)
    await settle()
    partitions = [p for p, _ in producer.batches]
    assert len(partitions) == len(set(partitions)) <= PARTITIONS
    assert producer.per_message_sends == 0
    got = [m for _, records in producer.batches for m in records]
    assert sorted(m.client_msg_id for m in got) == sorted(m.client_msg_id for m in sent)
    for partition, records in producer.batches:
        expected = [
            m.client_msg_id
            for m in sent
            if partition_for(kafka_key(APP, m.conversation), PARTITIONS) == partition
        ]
        assert [m.client_msg_id for m in records] == expected
        # The origin is stamped: this node, and a request id per send.
        assert all(m.origin.node_id == "node" and m.origin.request_id for m in records)


async def test_later_sends_go_in_a_later_flush() -> None:
    producer = FakeProducer()
    pub = publisher(producer)
    await pub.submit(message("a", "b", 1), lambda o: None)
    await settle()
    await pub.submit(message("a", "b", 2), lambda o: None)
    await settle()
    assert [[m.client_msg_id for m in r] for _, r in producer.batches] == [["a-1"], ["a-2"]]


async def test_outcomes_reach_their_callbacks() -> None:
    producer = FakeProducer()
    pub = publisher(producer)
    done: list[Outcome] = []
    await pub.submit(message("a", "b", 1), done.append, conn_id="c1")
    await settle()
    (_, (record,)) = producer.batches[0]
    assert record.origin.conn_id == "c1"
    assert pub.complete([Outcome(request_id=record.origin.request_id, seq=7)]) == 1
    assert [o.seq for o in done] == [7]
    assert pub.in_flight == 0


async def test_a_failed_record_batch_answers_exactly_its_sends() -> None:
    producer = FakeProducer()
    pub = publisher(producer)
    results: dict[str, Outcome] = {}
    sent = [message(f"u{i}", "v", i) for i in range(20)]
    for m in sent:
        await pub.submit(m, lambda o, cid=m.client_msg_id: results.__setitem__(cid, o))
    await settle()
    failed_partition = producer.batches[0][0]
    producer.acks[0].set_exception(RuntimeError("not enough replicas"))
    for ack in producer.acks[1:]:
        ack.set_result(None)
    await settle()
    failed = {m.client_msg_id for m in producer.batches[0][1]}
    assert failed and set(results) == failed
    assert {o.error_code for o in results.values()} == {ErrorCode.REST_TIMEOUT}
    assert pub.in_flight == len(sent) - len(failed)
    assert failed_partition is not None


async def test_a_refused_hand_over_answers_its_sends() -> None:
    producer = FakeProducer()
    pub = publisher(producer)
    sent = [message(f"u{i}", "v", i) for i in range(20)]
    producer.fail_partition = partition_for(kafka_key(APP, sent[0].conversation), PARTITIONS)
    results: list[Outcome] = []
    for m in sent:
        await pub.submit(m, results.append)
    await settle()
    expected = sum(
        1
        for m in sent
        if partition_for(kafka_key(APP, m.conversation), PARTITIONS) == producer.fail_partition
    )
    assert len(results) == expected
    assert all(o.error_code == ErrorCode.REST_TIMEOUT for o in results)


async def test_publish_waits_for_the_outcome() -> None:
    producer = FakeProducer()
    pub = publisher(producer)
    waiting = asyncio.create_task(pub.publish(message("a", "b", 1)))
    await settle()
    (_, (record,)) = producer.batches[0]
    pub.complete([Outcome(request_id=record.origin.request_id, seq=3)])
    assert (await waiting).seq == 3


async def test_a_full_queue_holds_the_submitter(monkeypatch: Any) -> None:
    monkeypatch.setattr(publisher_module, "MAX_QUEUED", 3)
    producer = FakeProducer()
    producer.gate.clear()
    pub = publisher(producer)
    await pub.submit(message("a", "b", 0), lambda o: None)
    await settle()  # the flusher holds that one, waiting for the broker
    for i in range(1, 3):
        await pub.submit(message("a", "b", i), lambda o: None)
    third = asyncio.create_task(pub.submit(message("a", "b", 3), lambda o: None))
    await settle()
    assert not third.done()
    producer.gate.set()
    await settle()
    assert third.done()
    assert [[m.client_msg_id for m in r] for _, r in producer.batches] == [
        ["a-0"],
        ["a-1", "a-2", "a-3"],
    ]


async def test_the_flusher_lingers_so_a_burst_is_one_batch() -> None:
    producer = FakeProducer()
    pub = Publisher(producer, "node", "127.0.0.1:1", timeout_s=30, linger_s=0.02)  # type: ignore[arg-type]
    await pub.submit(message("a", "b", 0), lambda o: None)
    await asyncio.sleep(0.005)
    await pub.submit(message("a", "b", 1), lambda o: None)
    assert producer.batches == []
    await asyncio.sleep(0.05)
    assert [[m.client_msg_id for m in r] for _, r in producer.batches] == [["a-0", "a-1"]]
