"""WebSocket operations beyond send and sync: recall, conversations, presence, deleting a
conversation, read marks and receipts, joining and quitting groups. Each takes the logged-in
connection and the frame, and returns the reply frame."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from services.common import conversation, conversation_list, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.grpc_util import Channels
from services.common.live_recent import LiveRecent
from services.common.pb.tidings.v1 import history_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import (
    SOURCE_WS,
)
from services.common.recent import TailReader
from services.common.redis_state import SessionRegistry
from services.common.store.conversations import C2C, ConversationState
from services.common.store.groups import AVCHATROOM, Group
from services.common.store.ports import App, Stores
from services.gateway.archive import Archive
from services.gateway.bounds import MSG_SEQ, STORED_U64, UINT32
from services.gateway.frames import field as frame_field
from services.gateway.frames import integer as frame_integer
from services.gateway.frames import optional_integer as frame_optional_integer
from services.gateway.handlers import membership
from services.gateway.handlers.recall import Origin, Recaller, recall
from services.gateway.msgbody import message_json
from services.gateway.publisher import Publisher
from services.gateway.receipts import GroupReceipts, Notice, notify
from services.gateway.sessions import Connection
from services.gateway.ws_events import WsEvents

MAX_PRESENCE_USERS = 500


def recall_window_s(app: App) -> int:
    """The messaging setting `recall_window_s`: 2 minutes by default, at most 7 days."""
    return int(messaging_settings.value(app.settings, "recall_window_s"))


def _target_conversation(frame: dict[str, Any], user: str) -> tuple[str, str | None]:
    peer = frame_field(frame, "peer", str, required=False)
    group = frame_field(frame, "group", str, required=False)
    if (peer is None) == (group is None):
        raise TidingsError(ErrorCode.WS_BAD_FRAME, "name exactly one of 'peer' or 'group'")
    if group is not None:
        return conversation.group(group), group
    return conversation.c2c(user, peer), None


class WsOps:
    NAMES = frozenset(
        {
            "recall",
            "conversations",
            "delete_conversation",
            "presence",
            "read",
            "read_members",
            "join_group",
            "quit_group",
        }
    )

    def __init__(
        self,
        stores: Stores,
        history: history_pb2_grpc.HistoryServiceStub,
        archive: Archive,
        tails: TailReader,
        publisher: Publisher,
        registry: SessionRegistry,
        channels: Channels,
        receipts: GroupReceipts,
        events: WsEvents,
        live: LiveRecent,
    ) -> None:
        self._stores = stores
        self._history = history
        self._archive = archive
        self._tails = tails
        self._publisher = publisher
        self._registry = registry
        self._channels = channels
        self._receipts = receipts
        self._events = events
        self._live = live

    async def recall(self, conn: Connection, app: App, frame: dict[str, Any]) -> dict[str, Any]:
        conv, group_id = _target_conversation(frame, conn.user)
        seq = frame_integer(frame, "seq", MSG_SEQ)
        role = None
        if group_id is not None:
            member = await self._stores.groups.get_members(conn.sdkappid, group_id, [conn.user])
            if conn.user not in member:
                raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "not a member of this group")
            role = member[conn.user].role
        got = await self._archive.get(conn.sdkappid, conv, [seq])
        await recall(
            self._publisher,
            got[0] if got else None,
            group_id is not None,
            Origin(SOURCE_WS, conn.platform),
            Recaller(conn.user, role),
            recall_window_s(app),
        )
        return {"op": "recall", "code": 0, "conversation": conv, "seq": seq}

    async def conversations(
        self, conn: Connection, app: App, frame: dict[str, Any]
    ) -> dict[str, Any]:
        limit = messaging_settings.conversation_page(
            app.settings, frame_optional_integer(frame, "limit", UINT32) or 0
        )
        everything = await conversation_list.user_states(
            self._stores, self._tails, conn.sdkappid, conn.user
        )
        states = sorted(
            (s for s in everything if s.visible),
            key=lambda s: s.last_time_ms,
            reverse=True,
        )[:limit]

        async def describe(s: ConversationState) -> dict[str, Any]:
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
                # Tencent's groupAtInfoList: the unread messages that mention this user.
                "at": [{"seq": a.seq, "type": a.at_type} for a in unread.at_marks],
                "pinned": bool(s.pinned_at_ms),
                "last_message": message_json(last.messages[0]) if last.messages else None,
            }

        items = await asyncio.gather(*(describe(s) for s in states))
        return {"op": "conversations", "code": 0, "conversations": list(items)}

    async def delete_conversation(
        self, conn: Connection, app: App, frame: dict[str, Any]
    ) -> dict[str, Any]:
        """Hide the conversation; with `conversation_delete_sync` on, the user's other devices
        get a `conversation_deleted` to hide it too."""
        conv, group_id = _target_conversation(frame, conn.user)
        await conversation_list.delete(self._stores, self._tails, conn.sdkappid, conn.user, conv)
        if messaging_settings.feature_on(app.settings, "conversation_delete_sync"):
            target = {"group": group_id} if group_id else {"peer": frame["peer"]}
            deleted = {"op": "conversation_deleted", "conversation": conv, **target}
            await notify(
                self._channels,
                self._registry,
                [Notice(conn.sdkappid, conn.user, deleted, skip_conn_id=conn.conn_id)],
            )
        return {"op": "delete_conversation", "code": 0, "conversation": conv}

    async def presence(self, conn: Connection, app: App, frame: dict[str, Any]) -> dict[str, Any]:
        messaging_settings.require_feature(
            app.settings, "user_status", ErrorCode.USER_STATUS_DISABLED
        )
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

    async def read(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        """Raise the user's read mark to `seq`: unread goes to 0 up to it, the user's other
        devices get a `read_mark`, the C2C peer a `receipt`, and in a group the senders of
        messages that asked for receipts a `receipt` with their new read count."""
        conv, group_id = _target_conversation(frame, conn.user)
        # 0 (nothing read) is a mark too: it answers the current one.
        seq = frame_integer(frame, "seq", STORED_U64)
        sdkappid, user = conn.sdkappid, conn.user
        if group_id is not None:
            await self._require_member(sdkappid, group_id, user)
        store = self._stores.conversations
        previous = (await store.get(sdkappid, user, [conv])).get(conv)
        before = previous.read_seq if previous else 0
        if seq <= before:
            return {"op": "read", "code": 0, "conversation": conv, "seq": before}
        await store.set_read(sdkappid, user, conv, seq)
        if group_id is None:
            await self._events.c2c_read(conn, frame["peer"])
        now_ms = int(time.time() * 1000)
        target = {"group": group_id} if group_id else {"peer": frame["peer"]}
        mark = {"op": "read_mark", "conversation": conv, "seq": seq, "time": now_ms, **target}
        notices = [Notice(sdkappid, user, mark, skip_conn_id=conn.conn_id)]
        if group_id is None:
            receipt = {"op": "receipt", "conversation": conv, "peer": user, "reader": user}
            notices.append(Notice(sdkappid, frame["peer"], {**receipt, "seq": seq, "time": now_ms}))
        else:
            for counted in await self._receipts.mark_read(sdkappid, group_id, user, before, seq):
                receipt = {"op": "receipt", "conversation": conv, "group": group_id}
                notices.append(
                    Notice(
                        sdkappid,
                        counted.sender,
                        {
                            **receipt,
                            "seq": counted.seq,
                            "reader": user,
                            "read_count": counted.read,
                            "time": now_ms,
                        },
                    )
                )
        await notify(self._channels, self._registry, notices)
        return {"op": "read", "code": 0, "conversation": conv, "seq": seq}

    async def read_members(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        """Who has and has not read a group message that asked for receipts (Tencent's
        get_group_msg_receipt_detail): members who joined after it count as not read."""
        group_id = frame_field(frame, "group", str)
        seq = frame_integer(frame, "seq", MSG_SEQ)
        sdkappid = conn.sdkappid
        await self._require_member(sdkappid, group_id, conn.user)
        sender = await self._receipts.sender_of(sdkappid, group_id, seq)
        if sender is None:
            raise TidingsError(ErrorCode.GROUP_RECEIPT_NOT_FOUND, "the message has no read receipt")
        readers, members = await asyncio.gather(
            self._receipts.readers(sdkappid, group_id, seq),
            self._stores.groups.members(sdkappid, group_id),
        )
        current = {m.user_id for m in members} - {sender}
        read = sorted(readers & current)
        unread = sorted(current - readers)
        return {
            "op": "read_members",
            "code": 0,
            "group": group_id,
            "seq": seq,
            "read": read,
            "unread": unread,
            "read_count": len(read),
            "unread_count": len(unread),
        }

    async def join_group(self, conn: Connection, app: App, frame: dict[str, Any]) -> dict[str, Any]:
        group = await self._group(conn.sdkappid, frame_field(frame, "group", str))

        async def approve() -> None:
            await self._events.before_apply(conn, group)

        changes = self._events.changes(conn)
        joined = await membership.join(
            self._stores, self._tails, app, group, conn.user, changes, approve
        )
        if group.group_type == AVCHATROOM:
            # Tencent's 直播群新成员查看入群前消息: the latest few, before the join's answer.
            count = int(messaging_settings.value(app.settings, "avchatroom_pre_join_msgs"))
            earlier = await self._live.latest(conn.sdkappid, group.group_id, count)
            if earlier:
                conn.deliver([message_json(m) for m in earlier])
        return {"op": "join_group", "code": 0, "group": group.group_id, "joined": joined}

    async def quit_group(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        group = await self._group(conn.sdkappid, frame_field(frame, "group", str))
        changes = self._events.changes(conn)
        await membership.leave(self._stores, conn.sdkappid, group, conn.user, changes)
        return {"op": "quit_group", "code": 0, "group": group.group_id}

    async def _group(self, sdkappid: int, group_id: str) -> Group:
        group = await self._stores.groups.get_group(sdkappid, group_id)
        if group is None:
            raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
        return group

    async def _require_member(self, sdkappid: int, group_id: str, user: str) -> None:
        if not await self._stores.groups.get_members(sdkappid, group_id, [user]):
            raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "not a member of this group")
