"""The callback service's consumer against a real broker (Tansu, as `make run` starts it), with
the app store in memory: an undecodable record of an app with nothing configured is skipped and
committed past without being dead-lettered, while the same bytes under an app with a callback
are poison on im.messages.dlq; the same consumer reads im.events and im.push; and a new group
starts from its predecessors' committed offsets."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.callback.after import AfterSend
from services.callback.consumer import TOPICS, CallbackConsumer
from services.callback.groups import GroupTypes
from services.callback.offsets import adopt_offsets
from services.callback.rules_post import PostSendRules
from services.common import events, topics
from services.common.app_cache import AppCache
from services.common.bus import (
    BatchConsumer,
    ConsumerSpec,
    ensure_topics,
    make_producer,
    partition_for,
    send_all,
)
from services.common.callback_config import C2C_AFTER_SEND
from services.common.callback_records import Delivery
from services.common.conversation import kafka_key
from services.common.pb.tidings.v1.envelope_pb2 import DeadLetter, PushJob
from tests.callback_fakes import (
    GARBAGE,
    Apps,
    Dispatched,
    Groups,
    Versions,
    app,
    message,
    no_unread,
)
from tests.conftest import eventually
from tests.integration.conftest import settings_for

QUIET, LOUD = 1400000101, 1400000102
PARTITIONS = 2


def reader() -> tuple[CallbackConsumer, Dispatched]:
    store = Apps(app(QUIET), app(LOUD, commands=[C2C_AFTER_SEND], rules=[{"stream": "offline"}]))
    groups = GroupTypes(Groups())  # type: ignore[arg-type]
    dispatched = Dispatched()
    consumer = CallbackConsumer(
        AppCache(store, ttl_s=60),  # type: ignore[arg-type]
        AfterSend(groups, no_unread),
        PostSendRules(groups),
        dispatched,  # type: ignore[arg-type]
        Versions(),  # type: ignore[arg-type]
    )
    return consumer, dispatched


def spec(group: str, handler: CallbackConsumer) -> ConsumerSpec:
    """The callback service's consumer: one of im.messages, im.events and im.push."""
    return ConsumerSpec(group, TOPICS[0], handler.handle, extra_topics=TOPICS[1:])


async def dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=1500)
        return [DeadLetter.FromString(r.value or b"") for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()


async def committed(bootstrap: str, group: str, tps: list[TopicPartition]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        found = await admin.list_consumer_group_offsets(group, partitions=tps)
        return {f"{tp.topic}/{tp.partition}": m.offset for tp, m in found.items() if m.offset >= 0}
    finally:
        await admin.close()


def same_partition_keys() -> tuple[bytes, bytes]:
    """A key of QUIET and one of LOUD on the same partition, QUIET's first in it."""
    quiet = kafka_key(QUIET, "c2c:a:b")
    target = partition_for(quiet, PARTITIONS)
    loud = next(
        k
        for k in (kafka_key(LOUD, f"c2c:a:u{i}") for i in range(100))
        if partition_for(k, PARTITIONS) == target
    )
    return quiet, loud


async def run_until(consumer: BatchConsumer, check: object, timeout: float = 30) -> None:
    await consumer.start()
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(check, timeout=timeout)
    finally:
        await consumer.stop()
        await task
        await consumer.close()


async def test_an_app_with_nothing_configured_is_skipped_not_dead_lettered(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    quiet_key, loud_key = same_partition_keys()
    # The quiet app's garbage comes first in the partition, so by the time the loud app's is
    # dead-lettered, the quiet one has been handled.
    await send_all(producer, topics.MESSAGES.name, [(quiet_key, GARBAGE), (loud_key, GARBAGE)])
    handler, dispatched = reader()
    consumer = BatchConsumer(settings, spec("test.callback.messages", handler), producer)

    async def loud_dead() -> list[DeadLetter]:
        return [d for d in await dead_letters(broker, topics.MESSAGES.dlq) if d.key == loud_key]

    await run_until(consumer, loud_dead)
    letters = await dead_letters(broker, topics.MESSAGES.dlq)
    assert [(d.key, d.value) for d in letters] == [(loud_key, GARBAGE)]
    assert "undecodable Message" in letters[0].error
    assert not consumer.halted
    # Both were committed past: the skipped record is done, not pending.
    tp = TopicPartition(topics.MESSAGES.name, partition_for(quiet_key, PARTITIONS))
    assert await committed(broker, "test.callback.messages", [tp]) == {
        f"{tp.topic}/{tp.partition}": 2
    }
    assert all(batch == [] for batch in dispatched.batches)
    await producer.stop()


async def test_events_and_push_are_read_by_the_same_consumer(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    handler, dispatched = reader()
    deleted = events.new_event(LOUD, events.FRIENDS_DELETED, {"PairList": []})
    job = PushJob(schema_version=1, sdkappid=LOUD, user="bob", message=message(LOUD))
    await send_all(
        producer,
        topics.EVENTS.name,
        [
            (events.event_key(LOUD, "alice"), deleted.SerializeToString()),
            (events.event_key(QUIET, "alice"), GARBAGE),
        ],
    )
    await send_all(
        producer,
        topics.PUSH.name,
        [(f"{LOUD}:bob".encode(), job.SerializeToString()), (f"{QUIET}:bob".encode(), GARBAGE)],
    )
    consumer = BatchConsumer(settings, spec("test.callback.events", handler), producer)

    async def delivered() -> list[Delivery]:
        return [d for batch in dispatched.batches for d, _ in batch]

    await run_until(consumer, delivered)
    # LOUD enabled no event command: its event is read and dropped; its push job is one
    # offline-rule delivery. QUIET's garbage is never read.
    (delivery,) = await delivered()
    assert delivery.rule == "r0" and delivery.body["eventType"] == "chat_offline"
    assert await dead_letters(broker, topics.EVENTS.dlq) == []
    assert await dead_letters(broker, topics.PUSH.dlq) == []
    await producer.stop()


async def test_a_new_group_starts_from_its_predecessors_lowest_offsets(broker: str) -> None:
    settings = settings_for(broker)
    await ensure_topics(settings)
    topic = topics.Topic("test.adopt", key="k")
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    await admin.create_topics([NewTopic(topic.name, 3, 1)])
    await admin.close()
    p0, p1, p2 = (TopicPartition(topic.name, p) for p in range(3))

    async def commit(group: str, offsets: dict[TopicPartition, int]) -> None:
        c = AIOKafkaConsumer(bootstrap_servers=broker, group_id=group, enable_auto_commit=False)
        await c.start()
        c.assign(list(offsets))
        await c.commit(offsets)
        await c.stop()

    await commit("test.old.a", {p0: 10, p1: 4})
    await commit("test.old.b", {p0: 7})
    await commit("test.new", {p2: 5})  # already has its own offset: left alone

    started = await adopt_offsets(settings, "test.new", {topic: ("test.old.a", "test.old.b")})
    assert started == {p0: 7, p1: 4}
    assert await committed(broker, "test.new", [p0, p1, p2]) == {
        f"{topic.name}/0": 7,
        f"{topic.name}/1": 4,
        f"{topic.name}/2": 5,
    }
    # Once only: the predecessors moving on later changes nothing.
    await commit("test.old.b", {p0: 1})
    assert await adopt_offsets(settings, "test.new", {topic: ("test.old.a", "test.old.b")}) == {}
    assert (await committed(broker, "test.new", [p0]))[f"{topic.name}/0"] == 7
    # No predecessor ever committed: nothing to adopt, the group starts from the earliest.
    assert await adopt_offsets(settings, "test.fresh", {topic: ("test.never",)}) == {}
