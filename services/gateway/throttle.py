"""Per-sender send throttle (SPEC §4): a client above the app's rate, 2 messages a second by
default, is refused.

The buckets are in this gateway process's memory (`TokenBuckets`), so a send costs no Redis
round trip. With N gateway nodes the limit holds per node: a user whose connections sit on
two nodes could send up to twice the rate. A user's devices usually connect through one node,
and the limit is there against floods, not as an exact quota. The AVChatRoom per-group rate
(avchatroom.py) uses the same buckets.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from services.common import app_settings, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App

# Past this many live buckets the least recently used goes (it restarts full: lenient, never
# a false refusal). Idle buckets go before that, as soon as they would be full again.
MAX_BUCKETS = 200_000


class TokenBuckets:
    """One token bucket per key: `limit` tokens, refilled at `limit` per `per_s` seconds,
    as the REST limiter's Lua script does (ratelimit.py). Pure: the clock is a parameter.

    Memory stays bounded by the active keys: a bucket left alone until it would be full again
    is the same as no bucket, and is dropped (checked at the least recently used end on every
    take, so the sweep costs O(1) amortized)."""

    __slots__ = ("_buckets", "_clock", "_max")

    def __init__(
        self, max_buckets: int = MAX_BUCKETS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_buckets
        self._clock = clock
        # key -> [tokens, time of the last take, time it would be full again]
        self._buckets: OrderedDict[Hashable, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable, limit: int, per_s: float) -> bool:
        """Spend one token of key's bucket; False (and nothing spent) when it is empty."""
        now = self._clock()
        buckets = self._buckets
        rate = limit / per_s
        bucket = buckets.get(key)
        if bucket is None:
            tokens = float(limit)
            bucket = buckets[key] = [tokens, now, now]
        else:
            tokens = min(float(limit), bucket[0] + (now - bucket[1]) * rate)
            buckets.move_to_end(key)
        taken = tokens >= 1.0
        if taken:
            tokens -= 1.0
        bucket[0] = tokens
        bucket[1] = now
        bucket[2] = now + (limit - tokens) / rate
        # Sweep: idle buckets that are full again sit at the front (least recently used).
        while buckets:
            oldest = next(iter(buckets.values()))
            if oldest[2] > now:
                break
            buckets.popitem(last=False)
        while len(buckets) > self._max:
            buckets.popitem(last=False)
        return taken


def send_rate(app: App) -> app_settings.Rate:
    """The messaging setting `send_rate`: 2 a second by default."""
    rate = messaging_settings.value(app.settings, "send_rate")
    return app_settings.Rate(limit=rate.limit, per_s=rate.per_s)


def check_send_rate(
    buckets: TokenBuckets, app: App, rate: app_settings.Rate, sender: str, group: bool
) -> None:
    if buckets.take((app.sdkappid, sender), rate.limit, rate.per_s):
        return
    code = ErrorCode.GROUP_RATE_LIMITED if group else ErrorCode.SENDER_THROTTLED
    raise TidingsError(
        code, f"sending too fast: {rate.limit} messages per {rate.per_s} s for each sender"
    )
