"""The troubleshooting event log: im.trace into the trace store, kept 7 days.

Records are appended a batch at a time and committed after the store has them; the store keys
each record by a digest of it, so a batch replayed after a crash is stored once. A record that
does not decode, or names no app, no time or an unknown event, can never be stored: it is
poison, for im.trace.dlq. Where the store does not expire rows by itself (SQLite), the audit
service deletes those past the 7 days kept once an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from google.protobuf.message import DecodeError

from services.common import topics, trace
from services.common.bus import BatchConsumer, ConsumerSpec, Poison, Record
from services.common.config import Settings
from services.common.logging import get_logger
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.trace_log import RETENTION_MS, TraceStore

log = get_logger(__name__)

EXPIRE_INTERVAL_S = 3600.0


def invalid_reason(event: TraceEvent) -> str | None:
    """Why a decoded record cannot be stored, or None when it can."""
    if event.sdkappid <= 0:
        return "trace record without an sdkappid"
    if event.time_ms <= 0:
        return "trace record without a time"
    if event.event not in trace.KINDS:
        return f"trace record of unknown event {event.event!r}"
    return None


class TraceLogWriter:
    def __init__(self, store: TraceStore) -> None:
        self._store = store

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        good: list[TraceEvent] = []
        poison: list[Poison] = []
        for record in records:
            try:
                event = TraceEvent.FromString(record.value or b"")
            except DecodeError as exc:
                poison.append(Poison(record, f"undecodable TraceEvent: {exc}"))
                continue
            reason = invalid_reason(event)
            if reason is None:
                good.append(event)
            else:
                poison.append(Poison(record, reason))
        await self._store.append(good)
        return poison


async def expire_on_schedule(store: TraceStore, stop: asyncio.Event) -> None:
    """Delete records past the kept days now and then every EXPIRE_INTERVAL_S until `stop`."""
    while not stop.is_set():
        try:
            deleted = await store.expire(int(time.time() * 1000) - RETENTION_MS)
            if deleted:
                log.info("trace records expired", deleted=deleted)
        except Exception as exc:  # noqa: BLE001 - tried again at the next interval
            log.warning("trace expiry failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), EXPIRE_INTERVAL_S)


class TraceLog:
    """The consumer of im.trace (group audit.trace_log) and the expiry schedule, started and
    stopped together by the audit service."""

    def __init__(self, settings: Settings, store: TraceStore, producer: AIOKafkaProducer) -> None:
        self._store = store
        self._consumer = BatchConsumer(
            settings,
            # Nobody waits on it: it polls like a background consumer.
            ConsumerSpec(
                "audit.trace_log", topics.TRACE, TraceLogWriter(store).handle, background=True
            ),
            producer,
        )
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self._consumer.start()
        self._tasks = [
            asyncio.create_task(self._consumer.run()),
            asyncio.create_task(expire_on_schedule(self._store, self._stopping)),
        ]

    async def stop(self) -> None:
        self._stopping.set()
        await self._consumer.stop()
        await asyncio.gather(*self._tasks)
        await self._consumer.close()
