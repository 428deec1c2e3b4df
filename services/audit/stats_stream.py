"""The statistics' stream processing: a faust App inside the audit process, one agent per
source topic (im.messages, im.events, im.trace) handing batches to StatsAggregator, and the
table `stats-seen` (members already written; a cache: the store decides, see stats.py).

Settings verified against the embedded broker (shared INFRA notes): no web server, short
session and rebalance timeouts, topic and table partitions equal to the registry topics'
(created at start-up), no exactly_once (it needs transactions, which Tansu refuses from
aiokafka). A batch that fails (the store is away) is retried until it succeeds: faust acks a
batch's records once the agent returns, so nothing is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust

from services.audit.stats import Record, StatsAggregator
from services.common import topics
from services.common.bus import backoff_s
from services.common.config import Settings
from services.common.logging import get_logger
from services.common.store.stats import StatsStore

log = get_logger(__name__)

APP_ID = "tidings-stats"
BATCH_WITHIN_S = 0.5
RETRY_BASE_S = 0.1

Handler = Callable[[Sequence[Record]], Awaitable[None]]


def build_stats_app(settings: Settings, store: StatsStore) -> faust.App:
    app = faust.App(
        APP_ID,
        broker=f"kafka://{settings.kafka_bootstrap}",
        web_enabled=False,
        autodiscover=False,
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication,
        broker_session_timeout=10,
        broker_heartbeat_interval=1,
        broker_rebalance_timeout=10,
        # Tansu's ListOffsets(latest) is wrong: start from committed offsets or the beginning.
        consumer_auto_offset_reset="earliest",
        store="memory://",
        # Faust's own files go under the data dir, not the working directory: the root
        # filesystem is read-only in deploy/k8s, and two stacks run from one directory in tests.
        datadir=str(settings.data_dir / "faust"),
    )
    # Keyed by member, not by the record's partition: the records of three topics write it.
    seen = app.Table(
        "stats-seen",
        default=None,
        partitions=settings.kafka_partitions,
        use_partitioner=True,
    )
    aggregator = StatsAggregator(store, seen)
    for topic, handler in (
        (topics.MESSAGES, aggregator.on_messages),
        (topics.EVENTS, aggregator.on_events),
        (topics.TRACE, aggregator.on_traces),
    ):
        source = app.topic(
            topic.name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.kafka_partitions,
        )
        app.agent(source, name=f"stats.{topic.name}")(_agent(handler, settings.kafka_max_batch))
    return app


def _agent(handler: Handler, max_batch: int) -> Callable[[Any], Awaitable[None]]:
    async def agent(stream: Any) -> None:
        async for batch in stream.take_events(max_batch, within=BATCH_WITHIN_S):
            records = [
                Record(f"{e.message.topic}:{e.message.partition}", e.message.offset, e.value)
                for e in batch
            ]
            await _until_done(handler, records)

    return agent


async def _until_done(handler: Handler, records: Sequence[Record]) -> None:
    attempt = 0
    while True:
        try:
            await handler(records)
            return
        except Exception as exc:  # noqa: BLE001 - retried: a batch is never skipped
            log.warning("stats_batch_failed", records=len(records), error=str(exc))
            await asyncio.sleep(backoff_s(attempt, base_s=RETRY_BASE_S))
            attempt += 1
