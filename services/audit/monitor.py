"""Real-time monitoring: consumes im.trace (group `audit.monitor`) into per-app time buckets in
Redis (services/common/monitor_buckets.py), which the admin API reads.

A batch costs two round trips: the marks of its apps (one HGETALL each, pipelined), then one
script per app that checks those marks are still as read, adds the app's counts to its
buckets, and moves the marks, all at once. A record at or below its app's mark for its
partition was applied before (a batch replayed after a crash, whose offsets were not committed
yet) and is skipped, so a replay adds nothing. If a mark moved meanwhile (another instance
took the partition during a rebalance), nothing of that app is applied and the batch is
retried from the marks as they are now.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from google.protobuf.message import DecodeError

from services.common import monitor_buckets as mb
from services.common import topics
from services.common.bus import BatchConsumer, ConsumerSpec, Poison, Record
from services.common.config import Settings
from services.common.metrics import STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import TraceEvent
from services.common.redis_state import Script, ScriptArg, text

STAGE = "monitor"
# How long a mark outlives its app's last applied record: longer than any bucket is kept.
MARK_KEEP_S = mb.HOUR.keep_s + mb.DAY_S

# KEYS[1] = the app's marks; KEYS[2..] = its buckets. ARGV[1] = JSON {marks: [[partition,
# as read, new]], inc: [[key index, field, n]], max: [[key index, field, value]], expire:
# [unix s per bucket], keep: s}. Returns 0, changing nothing, when a mark is not as read.
APPLY_LUA = """
local a = cjson.decode(ARGV[1])
for _, m in ipairs(a.marks) do
  if (redis.call('HGET', KEYS[1], m[1]) or '') ~= m[2] then return 0 end
end
for _, c in ipairs(a.inc) do
  redis.call('HINCRBY', KEYS[c[1]], c[2], c[3])
end
for _, c in ipairs(a.max) do
  local now = tonumber(redis.call('HGET', KEYS[c[1]], c[2]) or '0')
  if c[3] > now then redis.call('HSET', KEYS[c[1]], c[2], c[3]) end
end
for i, at in ipairs(a.expire) do
  redis.call('EXPIREAT', KEYS[i + 1], at)
end
for _, m in ipairs(a.marks) do
  redis.call('HSET', KEYS[1], m[1], m[3])
end
redis.call('EXPIRE', KEYS[1], a.keep)
return 1
"""


class MarkMoved(Exception):
    """An app's mark changed between the read and the write: the batch is retried."""


def script_call(sdkappid: int, plan: mb.Plan) -> tuple[list[str], list[ScriptArg]]:
    """APPLY_LUA's keys and argument for one app's plan."""
    buckets = plan.tally.buckets()
    resolution = {r.step_s: r for r in mb.RESOLUTIONS}
    index = {b: i + 2 for i, b in enumerate(buckets)}  # Lua's KEYS are 1-based; 1 is the marks
    arg: dict[str, Any] = {
        "marks": [[str(p), read, new] for p, read, new in plan.marks],
        "inc": [
            [index[(step, start)], name, n]
            for (step, start, name), n in plan.tally.increments.items()
        ],
        "max": [
            [index[(step, start)], name, v] for (step, start, name), v in plan.tally.maxima.items()
        ],
        "expire": [mb.expires_at(resolution[step], start) for step, start in buckets],
        "keep": MARK_KEEP_S,
    }
    keys = [mb.applied_key(sdkappid), *(mb.bucket_key(sdkappid, s, t) for s, t in buckets)]
    return keys, [json.dumps(arg, separators=(",", ":"))]


class Monitor:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client
        self._apply = Script(client, APPLY_LUA)

    async def handle(self, records: Sequence[Record]) -> Sequence[Poison]:
        poison: list[Poison] = []
        by_app: dict[int, list[mb.Traced]] = {}
        for r in records:
            try:
                event = TraceEvent.FromString(r.value or b"")
            except DecodeError as exc:
                poison.append(Poison(r, f"undecodable TraceEvent: {exc}"))
                continue
            # A record naming no app is the event log's poison; here it just counts nowhere.
            if event.sdkappid and mb.metrics_of(event):
                by_app.setdefault(event.sdkappid, []).append(
                    (r.partition, r.offset, r.timestamp, event)
                )
        if not by_app:
            return poison
        apps = list(by_app)
        async with self._client.pipeline(transaction=False) as pipe:
            for sdkappid in apps:
                pipe.hgetall(mb.applied_key(sdkappid))
            stored: list[dict[bytes, bytes]] = await pipe.execute()
        now_s = int(time.time())
        plans: list[tuple[int, mb.Plan]] = []
        for sdkappid, marks in zip(apps, stored, strict=True):
            plan = mb.plan(
                by_app[sdkappid], {int(text(p)): text(m) for p, m in marks.items()}, now_s
            )
            if plan is not None:
                plans.append((sdkappid, plan))
        calls = [script_call(sdkappid, plan) for sdkappid, plan in plans if plan.marks]
        replies = await self._apply.run_many(calls) if calls else []
        if any(int(reply) != 1 for reply in replies):
            raise MarkMoved("an app's monitor mark moved during the batch")
        for sdkappid, plan in plans:
            applied = len(by_app[sdkappid]) - plan.replayed
            if applied:
                STAGE_MESSAGES.labels(STAGE, str(sdkappid), "ok").inc(applied)
            if plan.replayed:
                STAGE_MESSAGES.labels(STAGE, str(sdkappid), "replayed").inc(plan.replayed)
        return poison


class MonitorConsumer:
    """The consumer of im.trace (group audit.monitor), started and stopped by the audit
    service."""

    def __init__(
        self, settings: Settings, client: aioredis.Redis, producer: AIOKafkaProducer
    ) -> None:
        self._consumer = BatchConsumer(
            settings,
            # Nobody waits on it: it polls like a background consumer.
            ConsumerSpec("audit.monitor", topics.TRACE, Monitor(client).handle, background=True),
            producer,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._consumer.run())

    async def stop(self) -> None:
        await self._consumer.stop()
        if self._task is not None:
            await self._task
        await self._consumer.close()
