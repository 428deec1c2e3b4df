"""HistoryService: sync by seq, roaming by time, lookups and unread counts.

Every read merges the conversation's recent tail in Redis (written by ingest with the seq,
before the ack) with the archive (written by audit later), tail first (services/common/
recent.py says why that order). So a message is readable the moment its sender has the ack.
"""

from __future__ import annotations

import grpc

from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.recent import TailReader, merge
from services.common.store.ports import MessageStore, countable

DEFAULT_PAGE = 100
MAX_PAGE = 500


def page_size(limit: int) -> int:
    return DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)


def in_range(m: Message, min_time_ms: int, max_time_ms: int) -> bool:
    return min_time_ms <= m.server_time_ms <= max_time_ms


def unread_by(m: Message, reader: str) -> bool:
    return countable(m) and m.sender != reader


class HistoryServicer(history_pb2_grpc.HistoryServiceServicer):
    def __init__(self, messages: MessageStore, tails: TailReader) -> None:
        self._messages = messages
        self._tails = tails

    async def Sync(
        self, request: history_pb2.SyncRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.SyncReply:
        app, conv, after = request.sdkappid, request.conversation, request.after_seq
        limit = page_size(request.limit)
        # One extra row tells whether the page is the last one.
        tail = await self._tails.after(app, conv, after, limit + 1)
        rows = tail.messages
        if not tail.covers(after):
            rows = merge(rows, await self._messages.after(app, conv, after, limit + 1))
        return history_pb2.SyncReply(messages=rows[:limit], complete=len(rows) <= limit)

    async def Roam(
        self, request: history_pb2.RoamRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.RoamReply:
        app, conv = request.sdkappid, request.conversation
        lo, hi = request.min_time_ms, request.max_time_ms
        limit = page_size(request.limit)
        tail = await self._tails.everything(app, conv)
        recent = [m for m in tail.messages if in_range(m, lo, hi)]
        if request.newest_first:
            before = request.before_seq
            recent = [m for m in recent if not before or m.seq < before]
            archived = await self._messages.by_time_desc(app, conv, lo, hi, before, limit + 1)
            rows = merge(recent, archived)[::-1]
        else:
            recent = [m for m in recent if m.seq > request.after_seq]
            archived = await self._messages.by_time(app, conv, lo, hi, request.after_seq, limit + 1)
            rows = merge(recent, archived)
        return history_pb2.RoamReply(messages=rows[:limit], complete=len(rows) <= limit)

    async def Get(
        self, request: history_pb2.GetRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.GetReply:
        app, conv, seqs = request.sdkappid, request.conversation, list(request.seqs)
        recent = await self._tails.get(app, conv, seqs)
        archived = await self._messages.get(app, conv, seqs)
        return history_pb2.GetReply(messages=merge(recent, archived))

    async def CountUnread(
        self, request: history_pb2.CountUnreadRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.CountUnreadReply:
        app, conv, after, reader = (
            request.sdkappid,
            request.conversation,
            request.after_seq,
            request.reader,
        )
        tail = await self._tails.everything(app, conv)
        count = sum(1 for m in tail.messages if m.seq > after and unread_by(m, reader))
        if not tail.covers(after):
            # The archive counts what lies below the tail; the tail counted the rest.
            count += await self._messages.count_unread(
                app, conv, after, reader, before_seq=tail.lowest or 0
            )
        return history_pb2.CountUnreadReply(count=count)

    async def MaxSeq(
        self, request: history_pb2.MaxSeqRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.MaxSeqReply:
        app, conv = request.sdkappid, request.conversation
        heads = await self._tails.heads(app, [conv])
        archived = await self._messages.max_seq(app, conv)
        return history_pb2.MaxSeqReply(seq=max(archived, heads[conv].seq if heads else 0))
