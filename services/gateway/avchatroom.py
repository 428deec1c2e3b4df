"""AVChatRoom (live group) rules: its messages reach online members only (never archived,
never pushed: Message.online_only), and each group's message rate is bounded.

SPEC §4 and Tencent's 直播群广播消息 setting: 1 message a second by default, configurable up to
5, here per group and per app (App.settings["avchatroom_msg_rate"], 1..5). The bucket is in
Redis, so the bound holds however many gateway nodes the group's members send through.
"""

from __future__ import annotations

from services.common.app_settings import Rate
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.gateway.ratelimit import RateLimiter

MSG_RATE = "avchatroom_msg_rate"
DEFAULT_MSG_RATE = 1
MAX_MSG_RATE = 5


def msg_rate(app: App) -> Rate:
    """Messages a second per AVChatRoom group: the app's setting, 1 when absent or invalid,
    at most 5."""
    raw = app.settings.get(MSG_RATE, DEFAULT_MSG_RATE)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raw = DEFAULT_MSG_RATE
    return Rate(limit=min(raw, MAX_MSG_RATE), per_s=1)


async def check_msg_rate(limiter: RateLimiter, app: App, group_id: str) -> None:
    rate = msg_rate(app)
    if not await limiter.take(app.sdkappid, f"avchatroom:{group_id}", rate):
        raise TidingsError(
            ErrorCode.GROUP_RATE_LIMITED,
            f"this live group takes at most {rate.limit} message(s) a second",
        )
