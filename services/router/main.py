"""router: the ingest and fan-out stream processors."""

from __future__ import annotations

import asyncio

from services.common import topics
from services.common.bus import BatchConsumer, ConsumerSpec, make_producer
from services.common.config import Settings
from services.common.grpc_util import Channels, GrpcServer
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.redis_state import SeqAllocator, SessionRegistry, connect
from services.common.runtime import run_service
from services.common.store.factory import open_stores
from services.router.fanout import Fanout, MemberCache
from services.router.ingest import Ingest


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

    ingest = Ingest(SeqAllocator(redis, settings.dedupe_ttl_s), producer, channels, max_seq)
    stores = open_stores(settings)
    fanout = Fanout(SessionRegistry(redis), producer, channels, MemberCache(stores.groups))
    consumers = [
        BatchConsumer(
            settings, ConsumerSpec("router.ingest", topics.INBOUND, ingest.handle), producer
        ),
        BatchConsumer(
            settings, ConsumerSpec("router.fanout", topics.MESSAGES, fanout.handle), producer
        ),
    ]
    for c in consumers:
        await c.start()
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    await server.start()
    tasks = [asyncio.create_task(c.run()) for c in consumers]
    await stop.wait()
    await server.set_serving(False)
    for c in consumers:
        await c.stop()
    await asyncio.gather(*tasks)
    for c in consumers:
        await c.close()
    await server.stop()
    await producer.stop()
    await channels.close()
    await redis.aclose()
    await stores.close()


if __name__ == "__main__":
    run_service("router", main)
