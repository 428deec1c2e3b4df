"""HistoryService: sync by seq, roaming by time, lookups and unread counts.

Every read merges the conversation's recent tail in Redis (written by ingest with the seq,
before the ack) with the archive (written by audit later), tail first (services/common/
recent.py says why that order). So a message is readable the moment its sender has the ack.

Sync, Roam and Get return nothing older than the app's history retention (read from the cached
app record): a shortened retention hides at once what the archive's longer TTL still keeps.
"""

from __future__ import annotations

import asyncio
import time

import grpc

from services.audit.retention import oldest_kept_ms
from services.common.app_cache import AppCache
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.recent import TailReader, merge
from services.common.store.ports import MessageStore, countable

DEFAULT_PAGE = 100
# No upper bound on a message's server time.
NO_TIME_BOUND_MS = 2**62
MAX_PAGE = 500


def page_size(limit: int) -> int:
    return DEFAULT_PAGE if limit <= 0 else min(limit, MAX_PAGE)


def in_range(m: Message, min_time_ms: int, max_time_ms: int) -> bool:
    return min_time_ms <= m.server_time_ms <= max_time_ms


def unread_by(m: Message, reader: str) -> bool:
    return countable(m) and m.sender != reader


# Tencent's atType bits: the reader is mentioned by name, everyone is.
AT_ME, AT_ALL = 1, 2


def at_type(m: Message, reader: str) -> int:
    """How an unread message mentions `reader` (0: not at all)."""
    return (AT_ME if reader in m.at_users else 0) | (AT_ALL if m.at_all else 0)


class HistoryServicer(history_pb2_grpc.HistoryServiceServicer):
    def __init__(self, messages: MessageStore, tails: TailReader, apps: AppCache) -> None:
        self._messages = messages
        self._tails = tails
        self._apps = apps

    async def _oldest_ms(self, sdkappid: int) -> int:
        return oldest_kept_ms(await self._apps.get(sdkappid), int(time.time() * 1000))

    async def Sync(
        self, request: history_pb2.SyncRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.SyncReply:
        app, conv, after = request.sdkappid, request.conversation, request.after_seq
        limit = page_size(request.limit)
        oldest = await self._oldest_ms(app)
        # One extra row tells whether the page is the last one.
        tail = await self._tails.after(app, conv, after, limit + 1)
        rows = [m for m in tail.messages if m.server_time_ms >= oldest]
        if not tail.covers(after):
            archived = await self._messages.by_time(
                app, conv, oldest, NO_TIME_BOUND_MS, after, limit + 1
            )
            rows = merge(rows, archived)
        return history_pb2.SyncReply(messages=rows[:limit], complete=len(rows) <= limit)

    async def Roam(
        self, request: history_pb2.RoamRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.RoamReply:
        app, conv = request.sdkappid, request.conversation
        lo, hi = max(request.min_time_ms, await self._oldest_ms(app)), request.max_time_ms
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
        recent, archived, oldest = await asyncio.gather(
            self._tails.get(app, conv, seqs),
            self._messages.get(app, conv, seqs),
            self._oldest_ms(app),
        )
        kept = [m for m in merge(recent, archived) if m.server_time_ms >= oldest]
        return history_pb2.GetReply(messages=kept)

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
        unread = [m for m in tail.messages if m.seq > after and unread_by(m, reader)]
        count = len(unread)
        marks = [
            history_pb2.AtMark(seq=m.seq, at_type=at) for m in unread if (at := at_type(m, reader))
        ]
        if not tail.covers(after):
            # The archive counts what lies below the tail; the tail counted the rest.
            count += await self._messages.count_unread(
                app, conv, after, reader, before_seq=tail.lowest or 0
            )
        return history_pb2.CountUnreadReply(count=count, at_marks=marks)

    async def MaxSeq(
        self, request: history_pb2.MaxSeqRequest, context: grpc.aio.ServicerContext
    ) -> history_pb2.MaxSeqReply:
        app, conv = request.sdkappid, request.conversation
        heads = await self._tails.heads(app, [conv])
        archived = await self._messages.max_seq(app, conv)
        return history_pb2.MaxSeqReply(seq=max(archived, heads[conv].seq if heads else 0))
