"""Per-sender send throttle (SPEC §4): a client above the app's rate, 2 messages a second by
default, is refused. Held in Redis, so it holds across gateway nodes."""

from __future__ import annotations

from services.common import app_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.logging import get_logger
from services.common.store.ports import App
from services.gateway.ratelimit import RateLimiter

DEFAULT_SEND_RATE = app_settings.Rate(limit=2, per_s=1)
SEND_RATE = "send_rate"
log = get_logger(__name__)


def send_rate(app: App) -> app_settings.Rate:
    """App.settings["send_rate"] = {"limit": n, "per_s": s}; absent or invalid: 2/s."""
    raw = app.settings.get(SEND_RATE)
    if not isinstance(raw, dict):
        return DEFAULT_SEND_RATE
    limit, per_s = raw.get("limit"), raw.get("per_s", 1)
    valid = all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (limit, per_s))
    if not valid:
        log.warning("invalid send_rate setting; using the default", app=app.sdkappid)
        return DEFAULT_SEND_RATE
    return app_settings.Rate(limit=int(limit), per_s=int(per_s))  # type: ignore[arg-type]


async def check_send_rate(limiter: RateLimiter, app: App, sender: str, group: bool) -> None:
    rate = send_rate(app)
    if await limiter.take(app.sdkappid, f"send:{sender}", rate):
        return
    code = ErrorCode.GROUP_RATE_LIMITED if group else ErrorCode.SENDER_THROTTLED
    raise TidingsError(
        code, f"sending too fast: {rate.limit} messages per {rate.per_s} s for each sender"
    )
