"""A user's unread C2C messages over every C2C conversation (Tencent's UnreadMsgNum in the read
report and withdraw callbacks): the conversations as of the last ack (conversation_list), the
counts from the history service, one call per conversation."""

from __future__ import annotations

import asyncio

from services.common import conversation_list
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.recent import TailReader
from services.common.store.conversations import ConversationState
from services.common.store.ports import Stores


async def c2c_unread(
    stores: Stores,
    tails: TailReader,
    history: history_pb2_grpc.HistoryServiceStub,
    sdkappid: int,
    user: str,
) -> tuple[list[ConversationState], list[int]]:
    """The user's C2C conversations and the unread count of each."""
    states = await conversation_list.c2c_states(stores, tails, sdkappid, user)

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
    stores: Stores,
    tails: TailReader,
    history: history_pb2_grpc.HistoryServiceStub,
    sdkappid: int,
    user: str,
) -> int:
    _, counts = await c2c_unread(stores, tails, history, sdkappid, user)
    return sum(counts)
