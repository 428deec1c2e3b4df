"""HistoryService: sync by seq, roaming by time, and lookups, served from the message store."""

from __future__ import annotations

import grpc

from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.store.ports import MessageStore

DEFAULT_PAGE = 100
MAX_PAGE = 500


def page_size(limit: int) -> int:
    return DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)


class HistoryServicer(history_pb2_grpc.HistoryServiceServicer):
    def __init__(self, messages: MessageStore) -> None:
        self._messages = messages

    async def Sync(
        self, request: history_pb2.SyncRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.SyncReply:
        limit = page_size(request.limit)
        # One extra row tells whether the page is the last one.
        rows = await self._messages.after(
            request.sdkappid, request.conversation, request.after_seq, limit + 1
        )
        return history_pb2.SyncReply(messages=rows[:limit], complete=len(rows) <= limit)

    async def Roam(
        self, request: history_pb2.RoamRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.RoamReply:
        limit = page_size(request.limit)
        if request.newest_first:
            rows = await self._messages.by_time_desc(
                request.sdkappid,
                request.conversation,
                request.min_time_ms,
                request.max_time_ms,
                request.before_seq,
                limit + 1,
            )
            return history_pb2.RoamReply(messages=rows[:limit], complete=len(rows) <= limit)
        rows = await self._messages.by_time(
            request.sdkappid,
            request.conversation,
            request.min_time_ms,
            request.max_time_ms,
            request.after_seq,
            limit + 1,
        )
        return history_pb2.RoamReply(messages=rows[:limit], complete=len(rows) <= limit)

    async def Get(
        self, request: history_pb2.GetRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.GetReply:
        rows = await self._messages.get(request.sdkappid, request.conversation, list(request.seqs))
        return history_pb2.GetReply(messages=rows)

    async def CountUnread(
        self, request: history_pb2.CountUnreadRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.CountUnreadReply:
        count = await self._messages.count_unread(
            request.sdkappid, request.conversation, request.after_seq, request.reader
        )
        return history_pb2.CountUnreadReply(count=count)

    async def MaxSeq(
        self, request: history_pb2.MaxSeqRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.MaxSeqReply:
        seq = await self._messages.max_seq(request.sdkappid, request.conversation)
        return history_pb2.MaxSeqReply(seq=seq)
