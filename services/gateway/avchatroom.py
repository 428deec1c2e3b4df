"""AVChatRoom (live group) rules: its messages reach online members only (never archived,
never pushed: Message.online_only), and each group's message rate is bounded.

SPEC §4 and Tencent's 直播群广播消息 setting: 1 message a second by default, configurable up to
5, here per group and per app (the messaging setting `avchatroom_msg_rate`). The bucket is in
the gateway's memory (throttle.TokenBuckets), so the bound holds per gateway node: a live
group whose members send through N nodes may take up to N times the rate.
"""

from __future__ import annotations

from services.common import messaging_settings
from services.common.app_settings import Rate
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import App
from services.gateway.throttle import TokenBuckets


def msg_rate(app: App) -> Rate:
    """Messages a second per AVChatRoom group."""
    return Rate(limit=messaging_settings.value(app.settings, "avchatroom_msg_rate"), per_s=1)


def check_msg_rate(buckets: TokenBuckets, app: App, rate: Rate, group_id: str) -> None:
    if not buckets.take((app.sdkappid, group_id), rate.limit, rate.per_s):
        raise TidingsError(
            ErrorCode.GROUP_RATE_LIMITED,
            f"this live group takes at most {rate.limit} message(s) a second",
        )
