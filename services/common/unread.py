"""A user's unread C2C messages over every C2C conversation (Tencent's UnreadMsgNum in the read
report and withdraw callbacks): the read marks come from the conversation store, the counts from
the history service, one call per conversation."""

from __future__ import annotations

import asyncio

from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.store.conversations import C2C, ConversationState
from services.common.store.ports import Stores


async def c2c_unread(
    stores: Stores, history: history_pb2_grpc.HistoryServiceStub, sdkappid: int, user: str
) -> tuple[list[ConversationState], list[int]]:
    """The user's C2C conversations and the unread count of each."""
    states = [s for s in await stores.conversations.list_for_user(sdkappid, user) if s.kind == C2C]

    async def unread(s: ConversationState) -> int:
        reply = await history.CountUnread(
            history_pb2.CountUnreadRequest(
                sdkappid=sdkappid, conversation=s.conversation, after_seq=s.read_seq, reader=user
            ),
            timeout=10.0,
        )
        return int(reply.count)

    return states, list(await asyncio.gather(*(unread(s) for s in states)))


async def c2c_unread_total(
    stores: Stores, history: history_pb2_grpc.HistoryServiceStub, sdkappid: int, user: str
) -> int:
    _, counts = await c2c_unread(stores, history, sdkappid, user)
    return sum(counts)
