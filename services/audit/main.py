"""audit: the record. Archives im.messages and serves HistoryService; keeps the troubleshooting
event log and the real-time monitoring buckets from im.trace; runs the daily statistics on
faust-streaming from im.messages, im.events and im.trace."""

from __future__ import annotations

import asyncio

from services.audit.archive import Archiver
from services.audit.history import HistoryServicer
from services.audit.monitor import MonitorConsumer
from services.audit.stats_stream import build_stats_app
from services.audit.trace_log import TraceLog
from services.common import topics
from services.common.app_cache import AppCache
from services.common.bus import BatchConsumer, ConsumerSpec, make_producer
from services.common.config import Settings
from services.common.config_feed import APP, ConfigFeed
from services.common.grpc_util import GrpcServer
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.recent import TailReader, Watermarks
from services.common.redis_state import connect
from services.common.runtime import run_service
from services.common.store.factory import open_stores


async def main(settings: Settings, stop: asyncio.Event) -> None:
    stores = open_stores(settings)
    producer = make_producer(settings)
    await producer.start()
    apps = AppCache(stores.apps)
    feed = ConfigFeed(settings, "audit")
    feed.on(APP, apps.on_app_change)
    await feed.start()
    redis = connect(settings.redis_url)
    archiver = Archiver(
        stores.messages,
        apps,
        Watermarks(redis, settings.recent_tail_keep),
    )
    consumer = BatchConsumer(
        settings,
        ConsumerSpec(
            "audit.archive",
            topics.MESSAGES,
            archiver.handle,
            # Off the ack path (readers see the recent tail until the archive has a message),
            # so it polls like a background consumer: fewer, larger batches and broker fetches.
            background=True,
        ),
        producer,
    )
    await consumer.start()
    # The troubleshooting event log: im.trace into the trace store, kept 7 days.
    trace_log = TraceLog(settings, stores.trace_log, producer)
    await trace_log.start()
    # Real-time monitoring: im.trace into per-app time buckets in Redis.
    monitor = MonitorConsumer(settings, redis, producer)
    await monitor.start()
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    server.add(
        lambda s: history_pb2_grpc.add_HistoryServiceServicer_to_server(
            HistoryServicer(stores.messages, TailReader(redis), apps), s
        ),
        [history_pb2.DESCRIPTOR.services_by_name["HistoryService"].full_name],
    )
    await server.start()
    # Daily statistics: faust in this process, started in the background (its first group
    # join takes seconds on Tansu, and health must not wait for it).
    stats_app = build_stats_app(settings, stores.stats)
    stats_start = asyncio.create_task(stats_app.start())
    consume = asyncio.create_task(consumer.run())
    feeding = asyncio.create_task(feed.run())
    await stop.wait()
    await consumer.stop()
    await feed.stop()
    await asyncio.gather(consume, feeding)
    await consumer.close()
    await stats_start
    await stats_app.stop()
    await trace_log.stop()
    await monitor.stop()
    await feed.close()
    await server.stop()
    await producer.stop()
    await redis.aclose()
    await stores.close()


if __name__ == "__main__":
    run_service("audit", main)
