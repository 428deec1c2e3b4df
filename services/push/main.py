"""push: offline pushes from im.push through the vendors (delivery.py), PushService over gRPC,
and all_member_push jobs from im.events, paced onto im.inbound."""

from __future__ import annotations

import asyncio
import contextlib

from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import BatchConsumer, BatchProducer, ConsumerSpec, make_producer
from services.common.config import Settings
from services.common.config_feed import APP, ConfigFeed
from services.common.grpc_util import GrpcServer
from services.common.pb.tidings.v1 import push_pb2, push_pb2_grpc
from services.common.redis_state import connect
from services.common.runtime import run_service
from services.common.store.factory import open_stores
from services.common.trace import Tracer
from services.push.adapters import Adapters
from services.push.all_member import AllMemberPush
from services.push.delivery import PushDelivery, RetryPolicy
from services.push.grpc_service import PushServicer
from services.push.tracing import traced_outcomes

# A batch is held until its jobs are published, which at the paced rate can take hours; Kafka
# must not count the consumer as failed meanwhile.
ALL_MEMBER_MAX_POLL_INTERVAL_MS = 24 * 3600 * 1000
# How long a stop waits for the jobs in hand. A job cut short is not committed, so the next
# start runs it again and the router's dedupe drops what was already sent.
STOP_GRACE_S = 5.0


async def main(settings: Settings, stop: asyncio.Event) -> None:
    stores = open_stores(settings)
    producer = make_producer(settings)
    await producer.start()
    tracer = Tracer(BatchProducer(producer))
    apps = AppCache(stores.apps)
    feed = ConfigFeed(settings, "push", settings.kafka_background_fetch_max_wait_ms)
    feed.on(APP, apps.on_app_change)
    await feed.start()
    redis = connect(settings.redis_url)
    adapters = Adapters(settings.push_endpoints, settings.push_ca_file)
    delivery = PushDelivery(
        stores,
        apps,
        adapters,
        redis,
        RetryPolicy(
            settings.push_max_attempts, settings.push_retry_base_s, settings.push_retry_max_s
        ),
        settings.push_concurrency,
        on_outcome=traced_outcomes(tracer),
    )
    all_member = AllMemberPush(
        stores.directory, stores.push_attrs, producer, settings.all_member_push_rate
    )
    consumers = [
        BatchConsumer(
            settings,
            ConsumerSpec("push.deliver", topics.PUSH, delivery.handle, background=True),
            producer,
        ),
        BatchConsumer(
            settings,
            ConsumerSpec(
                "push.all_member",
                topics.EVENTS,
                all_member.handle,
                max_poll_interval_ms=ALL_MEMBER_MAX_POLL_INTERVAL_MS,
                background=True,
            ),
            producer,
        ),
    ]
    await asyncio.gather(*(c.start() for c in consumers))
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    server.add(
        lambda s: push_pb2_grpc.add_PushServiceServicer_to_server(PushServicer(delivery), s),
        [push_pb2.DESCRIPTOR.services_by_name["PushService"].full_name],
    )
    await server.start()
    tasks = {asyncio.create_task(c.run()) for c in consumers}
    feeding = asyncio.create_task(feed.run())
    await stop.wait()
    await server.set_serving(False)
    await asyncio.gather(*(c.stop() for c in consumers))
    await feed.stop()
    _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await feeding
    await asyncio.gather(*(c.close() for c in consumers))
    await feed.close()
    await server.stop()
    await adapters.close()
    await tracer.drain()
    await producer.stop()
    await redis.aclose()
    await stores.close()


if __name__ == "__main__":
    run_service("push", main)
