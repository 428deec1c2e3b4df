"""WebSocket operations beyond send and sync: recall, conversations, presence, deleting a
conversation. Each takes the logged-in connection and the frame, and returns the reply frame."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_RECALL,
    SOURCE_WS,
    InboundMessage,
    Message,
)
from services.common.redis_state import SessionRegistry
from services.common.store.conversations import C2C
from services.common.store.ports import App, Stores
from services.gateway.frames import field as frame_field
from services.gateway.group_rules import ADMIN, OWNER
from services.gateway.msgbody import message_json
from services.gateway.publisher import Publisher
from services.gateway.sessions import Connection

DEFAULT_RECALL_WINDOW_S = 120
MAX_RECALL_WINDOW_S = 7 * 86400
MAX_CONVERSATIONS = 500
DEFAULT_CONVERSATIONS = 100
MAX_PRESENCE_USERS = 500


def recall_window_s(app: App) -> int:
    """App.settings["recall_window_s"]: 2 minutes by default, at most 7 days (SPEC §4)."""
    raw = app.settings.get("recall_window_s", DEFAULT_RECALL_WINDOW_S)
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= MAX_RECALL_WINDOW_S:
        return raw
    return DEFAULT_RECALL_WINDOW_S


def recall_refusal(
    target: Message, user: str, role: str | None, now_ms: int, window_s: int
) -> TidingsError | None:
    """Why `user` may not recall `target`: deleted (delete_group_msg_by_sender), not theirs (a
    group owner or admin may recall anyone's), already recalled, or past the app's window
    (senders only; owners and admins are not bound)."""
    if target.deleted:
        return TidingsError(ErrorCode.MSG_NOT_FOUND, "the message was deleted")
    if target.recalled:
        return TidingsError(ErrorCode.MSG_ALREADY_RECALLED, "the message was already recalled")
    moderator = role in (OWNER, ADMIN)
    if target.sender != user and not moderator:
        return TidingsError(
            ErrorCode.GROUP_NO_PERMISSION if target.group_id else ErrorCode.MSG_NOT_FOUND,
            "only the sender (or a group owner or admin) may recall a message",
        )
    if target.sender == user and now_ms - target.server_time_ms > window_s * 1000:
        return TidingsError(
            ErrorCode.MSG_RECALL_TIMEOUT, f"messages can be recalled for {window_s} s"
        )
    return None


def _target_conversation(frame: dict[str, Any], user: str) -> tuple[str, str | None]:
    peer = frame_field(frame, "peer", str, required=False)
    group = frame_field(frame, "group", str, required=False)
    if (peer is None) == (group is None):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "name exactly one of 'peer' or 'group'")
    if group is not None:
        return conversation.group(group), group
    return conversation.c2c(user, peer), None


class WsOps:
    NAMES = frozenset({"recall", "conversations", "delete_conversation", "presence"})

    def __init__(
        self,
        stores: Stores,
        history: history_pb2_grpc.HistoryServiceStub,
        publisher: Publisher,
        registry: SessionRegistry,
    ) -> None:
        self._stores = stores
        self._history = history
        self._publisher = publisher
        self._registry = registry

    async def recall(self, conn: Connection, app: App, frame: dict[str, Any]) -> dict[str, Any]:
        conv, group_id = _target_conversation(frame, conn.user)
        seq = frame_field(frame, "seq", int)
        got: history_pb2.GetReply = await self._history.Get(
            history_pb2.GetRequest(sdkappid=conn.sdkappid, conversation=conv, seqs=[seq]),
            timeout=10.0,
        )
        if not got.messages:
            raise TidingsError(ErrorCode.MSG_NOT_FOUND, "the message does not exist")
        target = got.messages[0]
        role = None
        if group_id is not None:
            member = await self._stores.groups.get_members(conn.sdkappid, group_id, [conn.user])
            if conn.user not in member:
                raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "not a member of this group")
            role = member[conn.user].role
        refusal = recall_refusal(
            target, conn.user, role, int(time.time() * 1000), recall_window_s(app)
        )
        if refusal is not None:
            raise refusal
        inbound = InboundMessage(
            schema_version=1,
            sdkappid=conn.sdkappid,
            conversation=conv,
            chat_type=CHAT_TYPE_GROUP if group_id else CHAT_TYPE_C2C,
            sender=target.sender,
            to_user=target.to_user,
            group_id=target.group_id,
            kind=MESSAGE_KIND_RECALL,
            target_seq=seq,
            msg_random=target.msg_random,
            source=SOURCE_WS,
            received_at_ms=int(time.time() * 1000),
            platform=conn.platform,
        )
        outcome = await self._publisher.publish(inbound)
        if outcome.error_code:
            raise TidingsError(ErrorCode.MSG_INTERNAL, outcome.error_info)
        return {"op": "recall", "code": 0, "conversation": conv, "seq": seq}

    async def conversations(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        limit = frame_field(frame, "limit", int, required=False) or DEFAULT_CONVERSATIONS
        limit = max(1, min(limit, MAX_CONVERSATIONS))
        states = [
            s
            for s in await self._stores.conversations.list_for_user(conn.sdkappid, conn.user)
            if s.visible
        ][:limit]

        async def describe(s: Any) -> dict[str, Any]:
            last, unread = await asyncio.gather(
                self._history.Get(
                    history_pb2.GetRequest(
                        sdkappid=conn.sdkappid, conversation=s.conversation, seqs=[s.last_seq]
                    ),
                    timeout=10.0,
                ),
                self._history.CountUnread(
                    history_pb2.CountUnreadRequest(
                        sdkappid=conn.sdkappid,
                        conversation=s.conversation,
                        after_seq=s.read_seq,
                        reader=conn.user,
                    ),
                    timeout=10.0,
                ),
            )
            return {
                "conversation": s.conversation,
                "peer" if s.kind == C2C else "group": s.peer,
                "last_seq": s.last_seq,
                "last_time": s.last_time_ms,
                "read_seq": s.read_seq,
                "unread": unread.count,
                "pinned": bool(s.pinned_at_ms),
                "last_message": message_json(last.messages[0]) if last.messages else None,
            }

        items = await asyncio.gather(*(describe(s) for s in states))
        return {"op": "conversations", "code": 0, "conversations": list(items)}

    async def delete_conversation(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        conv, _ = _target_conversation(frame, conn.user)
        store = self._stores.conversations
        current = (await store.get(conn.sdkappid, conn.user, [conv])).get(conv)
        if current is not None:
            await store.hide(conn.sdkappid, conn.user, conv, current.last_seq)
            await store.set_read(conn.sdkappid, conn.user, conv, current.last_seq)
        return {"op": "delete_conversation", "code": 0, "conversation": conv}

    async def presence(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        users = frame.get("users")
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise TidingsError(ErrorCode.WS_BAD_FRAME, "'users' must be an array of user ids")
        if len(users) > MAX_PRESENCE_USERS:
            raise TidingsError(ErrorCode.WS_BAD_FRAME, f"at most {MAX_PRESENCE_USERS} users")
        sessions = await self._registry.lookup([(conn.sdkappid, u) for u in users])
        return {
            "op": "presence",
            "code": 0,
            "presence": [
                {
                    "user": u,
                    # PushOnline needs push tokens, which come with the push service.
                    "status": "Online" if s else "Offline",
                    "platforms": sorted({i.platform for i in s.values()}),
                }
                for u, s in zip(users, sessions, strict=True)
            ],
        }
