"""The audit service's im.trace consumer: what it appends, and what it dead-letters as poison
(undecodable, or naming no app, no time or an unknown event); and the expiry schedule."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from aiokafka.structs import ConsumerRecord

from services.audit import trace_log
from services.audit.trace_log import TraceLogWriter, expire_on_schedule, invalid_reason
from services.common import topics, trace
from services.common.bus import Record
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.store.trace_log import RETENTION_MS, TracePage, TraceQuery

APP = 1400000701


class FakeTraceStore:
    def __init__(self) -> None:
        self.appended: list[list[TraceEvent]] = []
        self.expired: list[int] = []
        self.expired_twice = asyncio.Event()

    async def append(self, events: Sequence[TraceEvent]) -> None:
        self.appended.append(list(events))

    async def search(self, query: TraceQuery) -> TracePage:
        raise AssertionError("not searched")

    async def expire(self, before_ms: int) -> int:
        self.expired.append(before_ms)
        if len(self.expired) == 2:
            self.expired_twice.set()
        if len(self.expired) == 1:
            raise OSError("database is locked")
        return 3


def record(value: bytes, offset: int) -> Record:
    return ConsumerRecord(topics.TRACE.name, 0, offset, 0, 0, b"k", value, None, 0, 0, [])


async def test_good_records_are_appended_and_bad_ones_are_poison() -> None:
    store = FakeTraceStore()
    good = [
        trace.new_trace(APP, trace.LOGIN, "alice", time_ms=1_700_000_000_000),
        trace.new_trace(APP, trace.KICK, "bob", time_ms=1_700_000_000_001),
    ]
    unknown = TraceEvent(sdkappid=APP, time_ms=1, event="teleport", user="x")
    records = [
        record(good[0].SerializeToString(), 0),
        record(b"\x7f\xff\xff", 1),  # wire type 7 does not exist
        record(TraceEvent(time_ms=5, event=trace.LOGIN).SerializeToString(), 2),
        record(unknown.SerializeToString(), 3),
        record(good[1].SerializeToString(), 4),
    ]
    poison = await TraceLogWriter(store).handle(records)
    assert store.appended == [good]
    assert [(p.record.offset, p.reason.split(":")[0]) for p in poison] == [
        (1, "undecodable TraceEvent"),
        (2, "trace record without an sdkappid"),
        (3, "trace record of unknown event 'teleport'"),
    ]


def test_invalid_reason() -> None:
    assert invalid_reason(trace.new_trace(APP, trace.PUSH, "u", time_ms=1)) is None
    assert invalid_reason(TraceEvent(sdkappid=APP, event=trace.PUSH)) == (
        "trace record without a time"
    )


async def test_expiry_runs_on_schedule_and_survives_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trace_log, "EXPIRE_INTERVAL_S", 0.01)
    store = FakeTraceStore()
    stop = asyncio.Event()
    before = int(time.time() * 1000) - RETENTION_MS
    task = asyncio.create_task(expire_on_schedule(store, stop))
    # The first run fails (a locked file); the next interval runs again.
    await asyncio.wait_for(store.expired_twice.wait(), 5)
    assert before <= store.expired[0] <= store.expired[1] <= before + 5000
    stop.set()
    await asyncio.wait_for(task, 5)
