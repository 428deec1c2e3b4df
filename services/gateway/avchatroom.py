"""AVChatRoom (live group) rules: its messages reach online members only (never archived,
never pushed: Message.online_only), and each group's message rate is bounded.

SPEC §4 and Tencent's 直播群广播消息 setting: 1 message a second by default, configurable up to
5, here per group and per app (the messaging setting `avchatroom_msg_rate`). The bucket is in
Redis, so the bound holds however many gateway nodes the group's members send through.
"""

from __future__ import annotations

from services.common import keys, messaging_settings
from services.common.app_settings import Rate
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.gateway.ratelimit import RateLimiter


def msg_rate(app: App) -> Rate:
    """Messages a second per AVChatRoom group."""
    return Rate(limit=messaging_settings.value(app.settings, "avchatroom_msg_rate"), per_s=1)


async def check_msg_rate(limiter: RateLimiter, app: App, group_id: str) -> None:
    rate = msg_rate(app)
    if not await limiter.take(app.sdkappid, keys.join("avchatroom", group_id), rate):
        raise TidingsError(
            ErrorCode.GROUP_RATE_LIMITED,
            f"this live group takes at most {rate.limit} message(s) a second",
        )
