"""A consumer group that takes over the work of earlier groups starts where they stopped.

A group with no committed offset on a partition starts from the earliest record (Tansu answers
"latest" wrongly, and "latest" would skip records anyway), which for the callback service means
every after-callback of the topic's retention again. So before its consumers start, the service
gives each of its groups, on each partition it has no committed offset for, the lowest offset
that its predecessors committed there: nothing either predecessor had still to do is lost, and
what one had done and the other had not is delivered again (at least once; TidingsEventId tells
an app server a repeat). A partition that already has an offset is never touched, so this happens
once per group and partition, at the first start of the version that introduced the group; a
partition no predecessor committed starts from the earliest record, as any new group does.

In group mode the commit is refused while the group has live members (a rolling upgrade where
another instance came up first): then that instance did this already, which is checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.common import topics
from services.common.config import Settings
from services.common.logging import get_logger

log = get_logger(__name__)


def mine(settings: Settings, partition: int) -> bool:
    """Whether this instance reads `partition` (static assignment; every partition in group
    mode, where the broker assigns them)."""
    if settings.kafka_assignment != "static":
        return True
    return partition % settings.instance_count == settings.instance_index


def starting_offsets(
    predecessors: Sequence[Mapping[TopicPartition, int]], missing: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """For each partition of `missing`, the lowest offset any predecessor committed there;
    partitions none committed are left out. Pure."""
    starts: dict[TopicPartition, int] = {}
    for committed in predecessors:
        for tp in missing:
            offset = committed.get(tp)
            if offset is not None and offset >= 0:
                starts[tp] = min(offset, starts.get(tp, offset))
    return starts


async def _committed(
    admin: AIOKafkaAdminClient, group: str, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    if not partitions:
        return {}
    found = await admin.list_consumer_group_offsets(group, partitions=list(partitions))
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


async def adopt_offsets(
    settings: Settings, group: str, predecessors: Mapping[topics.Topic, Sequence[str]]
) -> dict[TopicPartition, int]:
    """Commit, for `group`, the starting offsets of the partitions of `predecessors`' topics it
    has none for (see the module doc). Returns what it committed."""
    if not predecessors:
        return {}
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await admin.start()
    try:
        await consumer.start()
        try:
            await consumer.topics()
            partitions = [
                TopicPartition(topic.name, p)
                for topic in predecessors
                for p in sorted(consumer.partitions_for_topic(topic.name) or ())
                if mine(settings, p)
            ]
            have = await _committed(admin, group, partitions)
            missing = [tp for tp in partitions if tp not in have]
            if not missing:
                return {}
            found = []
            for topic, olds in predecessors.items():
                of_topic = [tp for tp in missing if tp.topic == topic.name]
                for old in olds:
                    found.append(await _committed(admin, old, of_topic))
            starts = starting_offsets(found, missing)
            if not starts:
                return {}
            consumer.assign(list(starts))
            try:
                await consumer.commit(dict(starts))
            except KafkaError as err:
                # Refused while the group has members: one of them adopted the offsets first.
                now = await _committed(admin, group, list(starts))
                if set(now) != set(starts):
                    raise
                log.info("offsets already adopted", group=group, error=str(err))
                return {}
            log.info(
                "consumer group starts from its predecessors' offsets",
                group=group,
                predecessors={t.name: list(o) for t, o in predecessors.items()},
                offsets={f"{tp.topic}/{tp.partition}": o for tp, o in sorted(starts.items())},
            )
            return starts
        finally:
            await consumer.stop()
    finally:
        await admin.close()
