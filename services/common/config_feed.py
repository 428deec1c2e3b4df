"""im.config: settings changes reach every service within seconds, with no restart.

The store stays the truth; im.config carries "section S of app A changed" (compacted by the key
`A:S`, so the topic keeps only the latest change of each). Writers publish after the store write;
every service runs a `ConfigFeed` that reads the whole topic from the beginning with no consumer
group (each instance needs every change, and a group join would cost 5-18 s on Tansu) and calls
the listeners of a section when its value changes. Listeners drop what they cached; the next
read goes to the store.

Sections: `app` (the app record: settings incl. the callback configuration, rate limits,
whitelist, word-list actions) and `dirty_words` (the app's custom sensitive words).

The CLI writes the store directly and may run with no broker, so it publishes nothing: its
changes apply when `AppCache` entries expire (its TTL stays as the fallback), and the router's
word filters are rebuilt after at most their own max age.

A service may have the same consumer follow other topics (`follow`): the gateway reads
im.events with it, for its directory's invalidations, so each gateway has one background
consumer, not two. A followed topic is read from its end, not from the beginning.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Mapping

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from google.protobuf.message import DecodeError

from services.common import topics
from services.common.config import Settings
from services.common.config_versions import ConfigVersions
from services.common.logging import get_logger
from services.common.pb.tidings.v1.envelope_pb2 import ConfigChange

log = get_logger(__name__)

APP = "app"
DIRTY_WORDS = "dirty_words"
SECTIONS: tuple[str, ...] = (APP, DIRTY_WORDS)
SCHEMA_VERSION = 1
RETRY_S = 1.0

# A listener gets the app and the section's new value (JSON).
Listener = Callable[[int, bytes], None]
# A followed topic's listener gets each record's value; a gap listener is called when reading
# failed (records may have been missed: drop whatever they would have invalidated).
RecordListener = Callable[[bytes | None], None]
GapListener = Callable[[], None]


def config_key(sdkappid: int, section: str) -> bytes:
    return f"{sdkappid}:{section}".encode()


def config_change(
    sdkappid: int, section: str, value: Mapping[str, object], version: int
) -> ConfigChange:
    if section not in SECTIONS:
        raise ValueError(f"unknown im.config section {section!r}")
    return ConfigChange(
        schema_version=SCHEMA_VERSION,
        sdkappid=sdkappid,
        section=section,
        value_json=orjson.dumps(dict(value), option=orjson.OPT_SORT_KEYS),
        version=version,
    )


async def publish_config_change(
    producer: AIOKafkaProducer | None,
    sdkappid: int,
    section: str,
    value: Mapping[str, object],
) -> bool:
    """Announce a change that is already in the store. A broker that is down does not fail the
    write: the change then applies through the readers' TTL fallbacks. False if not published."""
    change = config_change(sdkappid, section, value, version=time.time_ns() // 1_000_000)
    if producer is None:
        return False
    try:
        sent = await producer.send(
            topics.CONFIG.name, key=config_key(sdkappid, section), value=change.SerializeToString()
        )
        await sent
    except KafkaError as err:
        log.warning("config change not published", app=sdkappid, section=section, error=str(err))
        return False
    return True


class ConfigAnnouncer:
    """A writer's side, once a change is in the store: announce it on im.config, so that every
    service drops what it cached, then bump the app's configuration version, so that the
    change applies to everything sent after the writer answers (config_versions.py). Raises
    ConfigNotCurrent if the version could not be bumped: the writer should fail its answer, and
    the caller retry."""

    def __init__(self, versions: ConfigVersions, producer: AIOKafkaProducer | None) -> None:
        self._versions = versions
        self._producer = producer

    async def announce(self, sdkappid: int, section: str, value: Mapping[str, object]) -> None:
        await publish_config_change(self._producer, sdkappid, section, value)
        await self._versions.bump(sdkappid)


class ConfigState:
    """The latest value of each (app, section). Pure."""

    def __init__(self) -> None:
        self._latest: dict[tuple[int, str], tuple[int, bytes]] = {}

    def apply(self, change: ConfigChange) -> bool:
        """True if this change is news: a newer version, or the same version with another value.
        Replays and changes older than the one held (two writers racing) are not."""
        key = (change.sdkappid, change.section)
        held = self._latest.get(key)
        if held is not None and (
            change.version < held[0] or (change.version, change.value_json) == held
        ):
            return False
        self._latest[key] = (change.version, change.value_json)
        return True

    def value(self, sdkappid: int, section: str) -> bytes | None:
        held = self._latest.get((sdkappid, section))
        return None if held is None else held[1]


class ConfigFeed:
    def __init__(self, settings: Settings, name: str, fetch_max_wait_ms: int = 500) -> None:
        self._settings = settings
        self._name = name
        self._state = ConfigState()
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._followed: dict[str, tuple[topics.Topic, RecordListener]] = {}
        self._gap_listeners: list[GapListener] = []
        self._stopping = asyncio.Event()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # Changes are rare: a long poll costs nothing and still delivers within half a second
            # (a service that follows im.events asks for less, its own reads wait on it).
            fetch_max_wait_ms=fetch_max_wait_ms,
        )

    def on(self, section: str, listener: Listener) -> None:
        if section not in SECTIONS:
            raise ValueError(f"unknown im.config section {section!r}")
        self._listeners[section].append(listener)

    def follow(
        self, topic: topics.Topic, listener: RecordListener, on_gap: GapListener | None = None
    ) -> None:
        """Also read `topic`, every partition, from its end on: `listener` gets each record's
        value, in order within a partition. Call before start."""
        self._followed[topic.name] = (topic, listener)
        if on_gap is not None:
            self._gap_listeners.append(on_gap)

    def _partitions(self, topic: topics.Topic) -> list[TopicPartition]:
        found = self._consumer.partitions_for_topic(topic.name)
        partitions = sorted(found) if found else range(topic.partitions or 1)
        return [TopicPartition(topic.name, p) for p in partitions]

    async def start(self) -> None:
        await self._consumer.start()
        await self._consumer.topics()
        config = self._partitions(topics.CONFIG)
        followed = [tp for t, _ in self._followed.values() for tp in self._partitions(t)]
        self._consumer.assign(config + followed)
        # Earliest, never latest (Tansu answers ListOffsets(latest) wrongly): the whole compacted
        # topic is small, and replaying it only drops caches that are still empty.
        await self._consumer.seek_to_beginning(*config)
        if followed:
            # A followed topic from its end: what came before start changes nothing cached yet.
            # Here Tansu's wrong "latest" is acceptable: it replays the tail of the last batch,
            # which only repeats a few invalidations. The positions are resolved now, so every
            # record produced after start is read.
            await self._consumer.seek_to_end(*followed)
            for tp in followed:
                await self._consumer.position(tp)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                batches = await self._consumer.getmany(timeout_ms=200)
            except KafkaError as err:
                # A broker hiccup must not end the feed: without it, changes would wait for the
                # readers' TTL fallbacks until the next restart.
                log.warning("im.config read failed; retrying", feed=self._name, error=str(err))
                self._gap()
                await asyncio.sleep(RETRY_S)
                continue
            for tp, records in batches.items():
                if tp.topic == topics.CONFIG.name:
                    for record in records:
                        self._apply(record.value)
                    continue
                if tp.topic not in self._followed:
                    continue
                listener = self._followed[tp.topic][1]
                for record in records:
                    try:
                        listener(record.value)
                    except Exception:  # one record must not stop the feed
                        log.exception("feed listener failed", feed=self._name, topic=tp.topic)

    def _gap(self) -> None:
        for listener in self._gap_listeners:
            try:
                listener()
            except Exception:  # one listener must not stop the others, nor the feed
                log.exception("feed gap listener failed", feed=self._name)

    async def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        await self._consumer.stop()

    def _apply(self, value: bytes | None) -> None:
        if not value:
            return
        try:
            change = ConfigChange.FromString(value)
        except DecodeError:
            log.error("unreadable im.config record skipped", feed=self._name)
            return
        if not self._state.apply(change):
            return
        for listener in self._listeners.get(change.section, ()):
            try:
                listener(int(change.sdkappid), change.value_json)
            except Exception:  # one listener must not stop the others, nor the feed
                log.exception("config listener failed", feed=self._name, section=change.section)
