"""Archive im.messages into the message store, in partition order, idempotent by seq.

New messages are written in one batch per run of them; a recall or an edit rewrites the stored
message in place (it takes no seq), after the messages before it in the partition are written.
Each new message also moves its conversation to the top of both parties' conversation lists.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from services.common.app_cache import AppCache
from services.common.bus import Record
from services.common.logging import get_logger
from services.common.metrics import STAGE_LATENCY, STAGE_MESSAGES
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    Message,
)
from services.common.retention import retention_seconds
from services.common.store.conversations import C2C, ConversationStore, LastMessage
from services.common.store.ports import MessageStore

log = get_logger(__name__)


def last_messages(m: Message) -> list[LastMessage]:
    """Whose conversation lists a new message moves: both parties of a C2C conversation."""
    if m.chat_type != CHAT_TYPE_C2C:
        return []
    return [
        LastMessage(m.sender, m.conversation, C2C, m.to_user, m.seq, m.server_time_ms),
        LastMessage(m.to_user, m.conversation, C2C, m.sender, m.seq, m.server_time_ms),
    ]


def apply_action(stored: Message, action: Message) -> Message:
    """The stored message after a recall or an edit."""
    out = Message()
    out.CopyFrom(stored)
    if action.kind == MESSAGE_KIND_RECALL:
        out.recalled = True
    elif action.kind == MESSAGE_KIND_MODIFY:
        del out.elements[:]
        out.elements.extend(action.elements)
        out.cloud_custom_data = action.cloud_custom_data
        out.modified_at_ms = action.server_time_ms
    return out


class Archiver:
    def __init__(
        self, messages: MessageStore, conversations: ConversationStore, apps: AppCache
    ) -> None:
        self._messages = messages
        self._conversations = conversations
        self._apps = apps

    async def handle(self, records: Sequence[Record]) -> None:
        decoded = [Message.FromString(r.value) for r in records]
        run: list[Message] = []
        for m in decoded:
            if m.kind in (MESSAGE_KIND_RECALL, MESSAGE_KIND_MODIFY):
                await self._append(run)
                run = []
                await self._act(m)
            else:
                run.append(m)
        await self._append(run)
        now_ms = time.time() * 1000
        for m in decoded:
            STAGE_MESSAGES.labels("archive", str(m.sdkappid), "ok").inc()
            if m.received_at_ms:
                STAGE_LATENCY.labels("archive").observe(max(0.0, now_ms - m.received_at_ms) / 1000)

    async def _retention(self, sdkappid: int) -> int:
        app = await self._apps.get(sdkappid)
        return retention_seconds(app.edition if app else "Developer")

    async def _append(self, run: list[Message]) -> None:
        if not run:
            return
        by_app: dict[int, list[Message]] = {}
        for m in run:
            by_app.setdefault(m.sdkappid, []).append(m)
        for sdkappid, batch in by_app.items():
            await self._messages.append(batch, ttl_s=await self._retention(sdkappid))
            await self._conversations.record_last(
                sdkappid, [entry for m in batch for entry in last_messages(m)]
            )

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
        age_s = max(0, int(time.time()) - stored.server_time_ms // 1000)
        ttl_s = max(1, await self._retention(action.sdkappid) - age_s)
        await self._messages.rewrite([apply_action(stored, action)], ttl_s=ttl_s)
