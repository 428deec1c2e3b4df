"""router: the ingest and fan-out stream processors."""

from __future__ import annotations

import asyncio

from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import (
    BatchConsumer,
    BatchProducer,
    Consumer,
    ConsumerSpec,
    DeadLetters,
    make_producer,
)
from services.common.config import Settings
from services.common.config_feed import APP, DIRTY_WORDS, ConfigFeed
from services.common.config_versions import ConfigVersions
from services.common.grpc_util import Channels, GrpcServer
from services.common.live_recent import LiveRecent
from services.common.pb.tidings.v1 import (
    callback_pb2,
    callback_pb2_grpc,
    history_pb2,
    history_pb2_grpc,
)
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.common.presence import PresenceIndex
from services.common.recent import TailSettings
from services.common.redis_state import connect
from services.common.runtime import run_service
from services.common.store.factory import open_stores
from services.router.fanout import Fanout, MemberCache
from services.router.ingest import Ingest
from services.router.moderator import Moderator, WordFilters, builtin_words
from services.router.sequencer import Sequencer, cluster_slot, one_slot


async def main(settings: Settings, stop: asyncio.Event) -> None:
    redis = connect(settings.redis_url)
    channels = Channels()
    producer = make_producer(settings)
    await producer.start()
    history = history_pb2_grpc.HistoryServiceStub(channels.get(settings.history_addr))

    async def max_seq(sdkappid: int, conversation: str) -> int:
        reply = await history.MaxSeq(
            history_pb2.MaxSeqRequest(sdkappid=sdkappid, conversation=conversation), timeout=5.0
        )
        return int(reply.seq)

    stores = open_stores(settings)
    apps = AppCache(stores.apps)
    words = WordFilters(builtin_words(settings.sensitive_words_file), stores.dirty_words, apps)
    feed = ConfigFeed(settings, "router")
    feed.on(APP, apps.on_app_change)
    feed.on(APP, words.on_change)
    feed.on(DIRTY_WORDS, words.on_change)
    callbacks = callback_pb2_grpc.CallbackServiceStub(channels.get(settings.callback_addr))

    async def before_send(
        msg: InboundMessage, deadline_s: float, config_version: int
    ) -> callback_pb2.BeforeSendReply:
        reply: callback_pb2.BeforeSendReply = await callbacks.BeforeSend(
            callback_pb2.BeforeSendRequest(message=msg, config_version=config_version),
            timeout=deadline_s,
        )
        return reply

    inbound = Consumer(settings, "router.ingest", [topics.INBOUND])
    ingest = Ingest(
        inbound,
        DeadLetters(settings, "router.ingest", producer),
        Sequencer(
            redis,
            settings.dedupe_ttl_s,
            TailSettings.of(settings),
            cluster_slot if settings.redis_cluster else one_slot,
        ),
        BatchProducer(producer),
        channels,
        max_seq,
        Moderator(apps, words, before_send, ConfigVersions(redis)),
        settings.kafka_max_batch,
    )
    fanout = Fanout(
        PresenceIndex(redis),
        BatchProducer(producer),
        channels,
        MemberCache(stores.groups),
        LiveRecent(redis),
    )
    fanning = BatchConsumer(
        settings, ConsumerSpec("router.fanout", topics.MESSAGES, fanout.handle), producer
    )
    await feed.start()
    await inbound.start()
    await fanning.start()
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    await server.start()
    tasks = [asyncio.create_task(ingest.run()), asyncio.create_task(fanning.run())]
    feeding = asyncio.create_task(feed.run())
    await stop.wait()
    await server.set_serving(False)
    await ingest.stop()
    await fanning.stop()
    await feed.stop()
    await asyncio.gather(*tasks, feeding)
    await inbound.close()
    await fanning.close()
    await feed.close()
    await server.stop()
    await producer.stop()
    await channels.close()
    await redis.aclose()
    await stores.close()


if __name__ == "__main__":
    run_service("router", main)
