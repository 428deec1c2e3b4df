"""Reading messages back from the archive right after they were sent.

A message is acked, and delivered, once it is in im.messages; audit writes it to the archive a
moment later. A client that reports or recalls what it just received, or an app server that
withdraws what it just sent, must not be told that the message does not exist. So a seq that
the archive lacks but the conversation's counter has already given out, recently, is asked for
again for a short while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.redis_state import counter_key

# How long to wait for a given-out seq to reach the archive.
SETTLE_S = 3.0
# Only seqs this close to the counter are waited for: older ones missing are really gone
# (expired, or online-only and never stored).
RECENT_SEQS = 1000
_FIRST_RETRY_S = 0.05
_MAX_RETRY_S = 0.5


def still_arriving(missing: Sequence[int], counter: int) -> list[int]:
    return [s for s in missing if counter - RECENT_SEQS < s <= counter]


class Archive:
    def __init__(
        self,
        history: history_pb2_grpc.HistoryServiceStub,
        redis: aioredis.Redis,
        settle_s: float = SETTLE_S,
    ) -> None:
        self._history = history
        self._redis = redis
        self._settle_s = settle_s

    @property
    def history(self) -> history_pb2_grpc.HistoryServiceStub:
        return self._history

    async def get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]:
        """The archived messages among `seqs`, in the archive's order."""
        found = {m.seq: m for m in await self._get(sdkappid, conversation, seqs)}
        missing = [s for s in seqs if s not in found]
        if missing:
            counter = int(await self._redis.get(counter_key(sdkappid, conversation)) or 0)
            pending = still_arriving(missing, counter)
            deadline = time.monotonic() + self._settle_s
            delay = _FIRST_RETRY_S
            while pending and time.monotonic() < deadline:
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_RETRY_S)
                for m in await self._get(sdkappid, conversation, pending):
                    found[m.seq] = m
                pending = [s for s in pending if s not in found]
        return [found[s] for s in sorted(found)]

    async def _get(self, sdkappid: int, conversation: str, seqs: Sequence[int]) -> list[Message]:
        reply: history_pb2.GetReply = await self._history.Get(
            history_pb2.GetRequest(sdkappid=sdkappid, conversation=conversation, seqs=seqs),
            timeout=10.0,
        )
        return list(reply.messages)
