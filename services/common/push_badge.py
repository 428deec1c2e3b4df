"""The badge a push shows: the user's unread total, in Redis.

Tencent's model (doBackground(unreadCount)): the client reports its unread total when the app
goes to the background (WebSocket op `set_badge`, SDK `Client.set_badge`), and the server adds
one for each push it sends that counts (ApnsInfo.BadgeMode 0), so the number on the icon follows
the messages that arrive while the app is closed. A login resets nothing: the client reports.

The count expires BADGE_TTL_S after its last change, so a user who stopped using the app leaves
no key behind; a push after that starts again from 1, as for a user who never reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from services.common import keys

MAX_BADGE = 99_999
BADGE_TTL_S = 30 * 24 * 3600


def badge_key(sdkappid: int, user: str) -> str:
    return keys.redis_key("badge", sdkappid, keys.escape(user))


def check_badge(count: object) -> int:
    """A reported unread total (0 to MAX_BADGE), else ValueError."""
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_BADGE:
        raise ValueError(f"a badge count is an integer from 0 to {MAX_BADGE}")
    return count


async def set_badge(redis: aioredis.Redis, sdkappid: int, user: str, count: int) -> None:
    """The user's unread total as the client reports it."""
    await redis.set(badge_key(sdkappid, user), check_badge(count), ex=BADGE_TTL_S)


async def next_badges(redis: aioredis.Redis, sdkappid: int, users: Sequence[str]) -> dict[str, int]:
    """One more for each push that counts, one round trip for a batch: the badge each user's
    pushes show. A user named n times gets n more, and every one of their pushes in the batch
    shows the last count (the one the device is left with)."""
    if not users:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for user in users:
            key = badge_key(sdkappid, user)
            pipe.incr(key)
            pipe.expire(key, BADGE_TTL_S)
        replies = await pipe.execute()
    return {user: min(int(replies[2 * i]), MAX_BADGE) for i, user in enumerate(users)}


async def next_badge(redis: aioredis.Redis, sdkappid: int, user: str) -> int:
    """One more for a push that counts: the badge that push shows."""
    return (await next_badges(redis, sdkappid, [user]))[user]
