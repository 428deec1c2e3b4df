"""The latest messages of each live group (AVChatRoom), for its new members.

Live-group messages are online-only: never archived, never in the recent tail. Tencent's
直播群新成员查看入群前消息 lets a member who joins see the latest few anyway (the messaging
setting `avchatroom_pre_join_msgs`), so the router's fan-out keeps the last MAX_KEPT of every
live group here as each passes, and a join reads as many as the app allows.

Per live group, in its conversation's Redis Cluster slot: `lv:{sdkappid:conversation}`, a
sorted set of serialized `Message`s scored by seq, the latest MAX_KEPT, gone a day after the
group's last message.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import redis.asyncio as aioredis

from services.common import conversation, keys
from services.common.pb.tidings.v1.envelope_pb2 import MESSAGE_KIND_MESSAGE, Message

# The most any app may show (the setting's bound), so the most kept.
MAX_KEPT = 20
KEPT_FOR_S = 86_400


def _key(sdkappid: int, group_id: str) -> str:
    return keys.redis_key("lv", sdkappid, conversation.group(group_id))


def is_live_message(m: Message) -> bool:
    """A message (not a recall, modify or notification) sent to one live group."""
    return m.online_only and bool(m.group_id) and m.kind == MESSAGE_KIND_MESSAGE and not m.silent


class LiveRecent:
    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def keep(self, messages: Iterable[tuple[bytes, Message]]) -> None:
        """Keep the live-group messages among `messages` (serialized, decoded): one round trip,
        none when there are none."""
        live = [(raw, m) for raw, m in messages if is_live_message(m)]
        if not live:
            return
        pipe = self._client.pipeline(transaction=False)
        for raw, m in live:
            key = _key(m.sdkappid, m.group_id)
            pipe.zadd(key, {raw: m.seq})
            pipe.zremrangebyrank(key, 0, -(MAX_KEPT + 1))
            pipe.expire(key, KEPT_FOR_S)
        await pipe.execute()

    async def latest(self, sdkappid: int, group_id: str, count: int) -> list[Message]:
        """The group's latest `count` messages (at most MAX_KEPT), oldest first."""
        if count <= 0:
            return []
        kept = await self._client.zrange(_key(sdkappid, group_id), -min(count, MAX_KEPT), -1)
        return [Message.FromString(raw) for raw in cast(list[bytes], kept)]
