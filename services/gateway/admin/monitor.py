"""/admin/apps/{id}/monitor: an app's real-time figures, as Tencent's console shows them.

GET ?window=1h|6h|24h|3d answers:
- `online_now`: the app's users online now, from the presence index (services/common/presence.py);
- `today`: the C2C, group and live-group (AVChatRoom) messages sent since midnight UTC;
- `rates`: per metric (login, c2c_send, group_send, live_group, callback, push, rest) over the
  window: outcomes, successes, the success rate, latency (p50, p99, avg, max; ms) and the count
  of each code (0 is success);
- `series`: the same per bucket, oldest first, for charts: a minute for 1h, five minutes for
  6h, an hour for 24h and 3d.

The counts come from im.trace through the audit service's buckets (services/audit/monitor.py,
services/common/monitor_buckets.py), so they trail the traffic by that consumer's lag.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

import redis.asyncio as aioredis
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.common import monitor_buckets as mb
from services.common import presence
from services.common.redis_state import text
from services.gateway.admin.apps import SdkAppId
from services.gateway.admin.base import AdminDeps

# Up to this many (user, node) entries, online_now reads the nodes' sets and counts each user
# once; above it, it sums the sets' sizes (a user online on two nodes at once counts twice).
EXACT_ONLINE_UP_TO = 10_000

WindowName = Literal["1h", "6h", "24h", "3d"]


class Latency(BaseModel):
    p50: int | None = Field(description="upper bound of the median (ms)")
    p99: int | None = Field(description="upper bound of the 99th percentile (ms)")
    avg: float | None
    max: int | None


class PointRate(BaseModel):
    total: int
    success: int
    success_rate: float | None = Field(description="success / total; null with no outcome")
    latency_ms: Latency


class Rate(PointRate):
    codes: dict[str, int] = Field(description="outcomes per code; 0 is success")


class Point(BaseModel):
    start_ms: int
    metrics: dict[str, PointRate]


class Today(BaseModel):
    c2c: int
    group: int
    live_group: int


class MonitorView(BaseModel):
    sdkappid: int
    window: WindowName
    step_s: int = Field(description="the span of each series point")
    from_ms: int
    to_ms: int
    online_now: int
    online_exact: bool = Field(
        description=f"false above {EXACT_ONLINE_UP_TO} online: then a user online on two "
        "gateway nodes at once counts twice"
    )
    today: Today
    rates: dict[str, Rate]
    series: list[Point]


async def online_now(client: aioredis.Redis, sdkappid: int, now_ms: int) -> tuple[int, bool]:
    """The app's users online (on a node whose presence entry is live), and whether the count
    is exact."""
    nodes = [
        text(m) for m in await client.zrangebyscore(presence.nodes_key(sdkappid), now_ms, "+inf")
    ]
    if not nodes:
        return 0, True
    sets = [presence.users_key(sdkappid, m) for m in nodes]
    async with client.pipeline(transaction=False) as pipe:
        for key in sets:
            pipe.scard(key)
        sizes: list[int] = await pipe.execute()
    if len(sets) == 1 or sum(sizes) > EXACT_ONLINE_UP_TO:
        return sum(sizes), len(sets) == 1
    async with client.pipeline(transaction=False) as pipe:
        for key in sets:
            pipe.smembers(key)
        members: list[set[bytes]] = await pipe.execute()
    return len(set().union(*members)), True


async def read_monitor(client: aioredis.Redis, sdkappid: int, window: str) -> MonitorView:
    now = time.time()
    now_s = int(now)
    spec = mb.WINDOWS[window]
    starts = mb.window_starts(spec, now_s)
    today = mb.today_starts(now_s)
    async with client.pipeline(transaction=False) as pipe:
        for start in starts:
            pipe.hgetall(mb.bucket_key(sdkappid, spec.resolution.step_s, start))
        for start in today:
            pipe.hmget(mb.bucket_key(sdkappid, mb.HOUR.step_s, start), mb.today_fields())
        replies = await pipe.execute()
    buckets = [{text(k): text(v) for k, v in h.items()} for h in replies[: len(starts)]]
    rows = [[None if v is None else text(v) for v in row] for row in replies[len(starts) :]]
    online, exact = await online_now(client, sdkappid, int(now * 1000))
    view = mb.monitor_view(window, now_s, buckets, mb.today_counts(rows))
    return MonitorView.model_validate(
        {**view, "sdkappid": sdkappid, "online_now": online, "online_exact": exact}
    )


def build_router(deps: AdminDeps, client: aioredis.Redis) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/monitor")

    @router.get("", summary="Real-time monitoring: online now, today's messages, success rates")
    async def get_monitor(
        sdkappid: SdkAppId,
        window: Annotated[WindowName, Query(description="how far back the rates reach")] = "1h",
    ) -> MonitorView:
        await deps.load_app(sdkappid)
        return await read_monitor(client, sdkappid, window)

    return router
