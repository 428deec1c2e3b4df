"""Per-sender send throttle (SPEC §4): a client above the app's rate, 2 messages a second by
default, is refused. Held in Redis, so it holds across gateway nodes."""

from __future__ import annotations

from services.common import app_settings, keys, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.gateway.ratelimit import RateLimiter


def send_rate(app: App) -> app_settings.Rate:
    """The messaging setting `send_rate`: 2 a second by default."""
    rate = messaging_settings.value(app.settings, "send_rate")
    return app_settings.Rate(limit=rate.limit, per_s=rate.per_s)


async def check_send_rate(limiter: RateLimiter, app: App, sender: str, group: bool) -> None:
    rate = send_rate(app)
    if await limiter.take(app.sdkappid, keys.join("send", sender), rate):
        return
    code = ErrorCode.GROUP_RATE_LIMITED if group else ErrorCode.SENDER_THROTTLED
    raise TidingsError(
        code, f"sending too fast: {rate.limit} messages per {rate.per_s} s for each sender"
    )
