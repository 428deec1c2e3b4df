"""callback: before-callbacks to app servers (gRPC CallbackService) and the after-callback
webhooks (im.messages -> app servers, with im.callbacks.retry and im.callbacks.dlq)."""

from __future__ import annotations

import asyncio

from services.callback.after import AfterSend, Deliverer, Dispatcher, RetryWorker, retry_group
from services.callback.consumer import GROUP, PREDECESSORS, TOPICS, CallbackConsumer
from services.callback.groups import GroupTypes
from services.callback.offsets import adopt_offsets
from services.callback.poster import Poster
from services.callback.retry import Breaker
from services.callback.rules_post import PostSendRules
from services.callback.rules_pre import RulesBeforeSender
from services.callback.server import CallbackServicer
from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import BatchConsumer, BatchProducer, ConsumerSpec, make_producer
from services.common.config import Settings
from services.common.config_feed import APP, ConfigFeed
from services.common.config_versions import ConfigVersions
from services.common.grpc_util import Channels, GrpcServer
from services.common.pb.tidings.v1 import callback_pb2, callback_pb2_grpc, history_pb2_grpc
from services.common.recent import TailReader
from services.common.redis_state import connect
from services.common.runtime import run_service
from services.common.store.factory import open_stores
from services.common.trace import Tracer
from services.common.unread import c2c_unread_total

# A changed callback URL or token applies at once (SPEC §5): for everything after the writer's
# answer through the app's configuration version (config_versions.py), else (the CLI without
# Redis) when the app record is read again, after one second instead of the usual five.
APP_CACHE_TTL_S = 1.0


async def main(settings: Settings, stop: asyncio.Event) -> None:
    stores = open_stores(settings)
    apps = AppCache(stores.apps, ttl_s=APP_CACHE_TTL_S)
    feed = ConfigFeed(settings, "callback")
    feed.on(APP, apps.on_app_change)
    groups = GroupTypes(stores.groups)
    producer = make_producer(settings)
    await producer.start()
    tracer = Tracer(BatchProducer(producer))
    poster = Poster(settings.callback_allow_private, tracer=tracer)
    redis = connect(settings.redis_url)
    versions = ConfigVersions(redis)

    servicer = CallbackServicer(
        RulesBeforeSender(apps, groups, poster, settings.max_body_bytes), apps, poster, versions
    )
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    server.add(
        lambda s: callback_pb2_grpc.add_CallbackServiceServicer_to_server(servicer, s),
        [callback_pb2.DESCRIPTOR.services_by_name["CallbackService"].full_name],
    )

    deliverer = Deliverer(apps, poster, Breaker())
    dispatcher = Dispatcher(deliverer, producer, settings.callback_retry_base_s)
    # The history service counts unread messages for C2C.CallbackAfterMsgWithDraw.
    channels = Channels()
    history = history_pb2_grpc.HistoryServiceStub(channels.get(settings.history_addr))
    tails = TailReader(redis)
    after = AfterSend(
        groups, lambda sdkappid, user: c2c_unread_total(stores, tails, history, sdkappid, user)
    )
    reader = CallbackConsumer(apps, after, PostSendRules(groups), dispatcher, versions)
    retries = [
        RetryWorker(
            topic,
            deliverer,
            producer,
            settings.callback_retry_attempts,
            settings.callback_retry_base_s,
            stop,
        )
        for topic in (topics.CALLBACKS_RETRY, topics.CALLBACKS_RETRY_SLOW)
    ]
    # Three consumers, each a broker fetch loop even when idle (docs/ARCHITECTURE.md,
    # "Callbacks"): one of im.messages, im.events and im.push; and one per retry topic, whose
    # handler sleeps until its records are due and so cannot share a batch with the others.
    specs = [
        ConsumerSpec(GROUP, TOPICS[0], reader.handle, background=True, extra_topics=TOPICS[1:]),
        *(ConsumerSpec(retry_group(w.topic), w.topic, w.handle, background=True) for w in retries),
    ]
    await adopt_offsets(settings, GROUP, PREDECESSORS)
    consumers = [BatchConsumer(settings, spec, producer) for spec in specs]
    await feed.start()
    for consumer in consumers:
        await consumer.start()
    await server.start()
    running = [asyncio.create_task(c.run()) for c in consumers]
    feeding = asyncio.create_task(feed.run())
    await stop.wait()

    await server.set_serving(False)
    for consumer in consumers:
        await consumer.stop()
    await feed.stop()
    await asyncio.gather(*running, feeding)
    for consumer in consumers:
        await consumer.close()
    await feed.close()
    await server.stop()
    await tracer.drain()
    await producer.stop()
    await poster.close()
    await channels.close()
    await redis.aclose()
    await stores.close()


if __name__ == "__main__":
    run_service("callback", main)
