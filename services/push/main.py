"""push: all_member_push jobs from im.events, paced onto im.inbound."""

from __future__ import annotations

import asyncio
import contextlib

from services.common import topics
from services.common.bus import BatchConsumer, ConsumerSpec, make_producer
from services.common.config import Settings
from services.common.grpc_util import GrpcServer
from services.common.runtime import run_service
from services.common.store.factory import open_stores
from services.push.all_member import AllMemberPush

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
    all_member = AllMemberPush(
        stores.directory, stores.push_attrs, producer, settings.all_member_push_rate
    )
    consumer = BatchConsumer(
        settings,
        ConsumerSpec(
            "push.all_member",
            topics.EVENTS,
            all_member.handle,
            max_poll_interval_ms=ALL_MEMBER_MAX_POLL_INTERVAL_MS,
            background=True,
        ),
        producer,
    )
    await consumer.start()
    server = GrpcServer(settings.bind_host, settings.grpc_port)
    await server.start()
    task = asyncio.create_task(consumer.run())
    await stop.wait()
    await server.set_serving(False)
    await consumer.stop()
    done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
    if not done:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await consumer.close()
    await server.stop()
    await producer.stop()
    await stores.close()


if __name__ == "__main__":
    run_service("push", main)
