"""Archive im.messages into the message store, in partition order, idempotent by seq.

New messages are written in one batch per run of them; a recall, an edit or a delete-by-sender
rewrites stored messages in place (it takes no seq), after the messages before it in the
partition are written. System notifications and online-only messages (AVChatRoom) are live
only: nothing is stored for them, though an online-only message still moves its group's last
message time and next seq.
Each new message also moves its conversation to the top of both parties' conversation lists,
and each group's last message time and next seq move forward, once per group per batch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from google.protobuf.message import DecodeError

from services.audit.retention import retention_seconds
from services.common import conversation
from services.common.app_cache import AppCache
from services.common.bus import Poison, Record
from services.common.logging import get_logger
from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_DELETE_BY_SENDER,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    MESSAGE_KIND_SYSTEM_NOTIFICATION,
    Message,
)
from services.common.recent import Watermarks, apply_action, deleted_by_sender
from services.common.store.conversations import C2C, LastMessage
from services.common.store.ports import ArchiveBatch, MessageStore, Received

log = get_logger(__name__)

# Tencent's delete_group_msg_by_sender reaches the sender's messages among the group's latest
# 1,000.
DELETE_SCAN = 1000


def last_messages(m: Message) -> list[LastMessage]:
    """Whose conversation lists a new message moves: both parties of a C2C conversation."""
    if m.chat_type != CHAT_TYPE_C2C:
        return []
    return [
        LastMessage(m.sender, m.conversation, C2C, m.to_user, m.seq, m.server_time_ms),
        LastMessage(m.to_user, m.conversation, C2C, m.sender, m.seq, m.server_time_ms),
    ]


def group_activity(stored: Sequence[Message]) -> dict[tuple[int, str], tuple[int, int]]:
    """(app, group) -> (last message time in Unix seconds, next seq) over the group messages
    stored: Tencent's LastMsgTime and NextMsgSeq, which get_joined_group_list's "active group"
    rule and import_group_msg's time floor read."""
    out: dict[tuple[int, str], tuple[int, int]] = {}
    for m in stored:
        # A Community topic's messages have seqs of their own, not the group's.
        if m.chat_type != CHAT_TYPE_GROUP or conversation.is_topic(m.conversation):
            continue
        key = (m.sdkappid, m.group_id)
        time_s, next_seq = out.get(key, (0, 0))
        out[key] = (max(time_s, m.server_time_ms // 1000), max(next_seq, m.seq + 1))
    return out


def ttl_left(retention_s: int, server_time_ms: int, now_s: int) -> int:
    """What a stored message has left of its retention (at least 1 s): a rewrite must not
    extend it."""
    return max(1, retention_s - max(0, now_s - server_time_ms // 1000))


class Archiver:
    def __init__(
        self,
        messages: MessageStore,
        apps: AppCache,
        watermarks: Watermarks,
    ) -> None:
        self._messages = messages
        self._apps = apps
        self._watermarks = watermarks

    async def handle(self, records: Sequence[Record]) -> list[Poison]:
        received: list[tuple[Message, bytes]] = []
        poison: list[Poison] = []
        for r in records:
            try:
                received.append((Message.FromString(r.value or b""), r.value or b""))
            except DecodeError as exc:
                poison.append(Poison(r, f"undecodable Message: {exc}"))
        # A run of new messages is one write; a recall, an edit or a delete-by-sender between
        # runs is applied in its place, after the messages before it are stored.
        run: list[tuple[Message, bytes]] = []
        for m, raw in received:
            if m.kind == MESSAGE_KIND_SYSTEM_NOTIFICATION:
                continue
            if m.kind in (MESSAGE_KIND_RECALL, MESSAGE_KIND_MODIFY, MESSAGE_KIND_DELETE_BY_SENDER):
                await self._write(run)
                run = []
                if m.kind == MESSAGE_KIND_DELETE_BY_SENDER:
                    await self._delete_by_sender(m)
                else:
                    await self._act(m)
            else:
                run.append((m, raw))
        await self._write(run)
        _count([m for m, _ in received])
        return poison

    async def _write(self, run: list[tuple[Message, bytes]]) -> None:
        """One transaction: the messages that history keeps (as the bytes they came as), both
        parties' conversation list entries, and each group's activity (online-only messages
        move it too, though nothing of them is stored). Then the tails may shrink."""
        if not run:
            return
        stored = [(m, raw) for m, raw in run if not m.online_only]
        retention = {app: await self._retention(app) for app in {m.sdkappid for m, _ in stored}}
        await self._messages.archive(
            ArchiveBatch(
                messages=[Received(m, raw, retention[m.sdkappid]) for m, raw in stored],
                last=[(m.sdkappid, entry) for m, _ in stored for entry in last_messages(m)],
                group_activity=group_activity([m for m, _ in run]),
            )
        )
        await self._archived([m for m, _ in stored])

    async def _archived(self, stored: list[Message]) -> None:
        """Let the recent tails drop what the archive now holds. Best effort: a tail that is
        not told keeps its messages longer, up to its cap."""
        highest: dict[tuple[int, str], int] = {}
        for m in stored:
            if not m.online_only:
                key = (m.sdkappid, m.conversation)
                highest[key] = max(highest.get(key, 0), m.seq)
        if not highest:
            return
        try:
            await self._watermarks.archived(highest)
        except Exception as exc:  # noqa: BLE001 - see above
            log.warning(
                "archived watermark not updated", conversations=len(highest), error=str(exc)
            )

    async def _retention(self, sdkappid: int) -> int:
        return retention_seconds(await self._apps.get(sdkappid))

    async def _act(self, action: Message) -> None:
        found = await self._messages.get(action.sdkappid, action.conversation, [action.seq])
        if not found:
            # The gateway checks the target exists before publishing; a miss means it expired.
            log.warning(
                "action on a missing message",
                app=action.sdkappid,
                conversation=action.conversation,
                seq=action.seq,
            )
            return
        stored = found[0]
        retention = await self._retention(action.sdkappid)
        ttl_s = ttl_left(retention, stored.server_time_ms, int(time.time()))
        await self._messages.rewrite([apply_action(stored, action)], ttl_s=ttl_s)

    async def _delete_by_sender(self, action: Message) -> None:
        # Bounded by Tencent's window, not by the group's size or history: one read of the
        # latest DELETE_SCAN messages of one partition, then one rewrite of the sender's among
        # them. It runs inline in partition order, so every message published before the
        # request is already stored; a hot group's archiving pauses for that one read.
        # A replay finds them already deleted and writes nothing.
        sdkappid, conv = action.sdkappid, action.conversation
        head = await self._messages.max_seq(sdkappid, conv)
        window = await self._messages.after(sdkappid, conv, max(0, head - DELETE_SCAN), DELETE_SCAN)
        targets = deleted_by_sender(window, action.sender)
        if not targets:
            return
        # One TTL for the batch, the oldest's: a deleted message that expires a little early
        # reads as a gap instead of a bodiless placeholder.
        oldest_ms = min(m.server_time_ms for m in targets)
        retention = await self._retention(sdkappid)
        await self._messages.rewrite(
            targets, ttl_s=ttl_left(retention, oldest_ms, int(time.time()))
        )


def _count(messages: Sequence[Message]) -> None:
    """Metrics once per batch and app, not per message."""
    by_app: dict[int, int] = {}
    now_ms = time.time() * 1000
    latency = STAGE_LATENCY.labels("archive")
    for m in messages:
        by_app[m.sdkappid] = by_app.get(m.sdkappid, 0) + 1
        if m.received_at_ms:
            latency.observe(max(0.0, now_ms - m.received_at_ms) / 1000)
    for app, n in by_app.items():
        STAGE_MESSAGES.labels("archive", str(app), "ok").inc(n)
