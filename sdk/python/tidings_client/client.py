"""The client: one WebSocket session with login, sends, deliveries, sync and reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from tidings_client import frames
from tidings_client.device_log import DEFAULT_LINES, DeviceLog, own_logger, upload_body
from tidings_client.ordering import ConversationOrder

# History's largest page (docs/PROTOCOL.md, sync): the SDK always asks for it.
SYNC_PAGE = 500
# The conversation list's largest page: a catch-up reads this many conversations.
CONVERSATION_LIST_MAX = 500
# Conversations a catch-up syncs at the same time.
CATCH_UP_CONCURRENCY = 16
# The code of TidingsClientError when the connection went away before the reply came.
CONNECTION_LOST = -1
# The server's refusal of a group's history to a user who is not in the group.
NOT_GROUP_MEMBER = 10007
# How long a log upload may take (docs/PROTOCOL.md, upload_log_request).
LOG_UPLOAD_TIMEOUT_S = 60.0

# The SDK's records, for the app's logging configuration to show or not.
logger = logging.getLogger("tidings_client")

# What an app gives as `log_provider`: its own log, as text or bytes (gzip data is uploaded as
# it is), returned or awaited.
LogProvider = Callable[[], str | bytes | Awaitable[str | bytes]]


class TidingsClientError(Exception):
    """A refusal from the server (`code` is the protocol's error code), or CONNECTION_LOST
    (-1) when the connection closed before the reply came."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    msg_key: str
    time: int
    conversation: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Message:
    conversation: str
    seq: int
    sender: str
    to: str
    group: str
    time: int
    msg_key: str
    client_msg_id: str
    elements: list[dict[str, Any]] = field(default_factory=list)
    cloud_custom_data: str = ""
    # "message" for a new seq; "recall" or "modify" for a change to the message at `seq`;
    # "system" for a group system notification (seq 0, never stored, content in `elements`).
    kind: str = "message"
    recalled: bool = False
    # Removed from the group's history by the app (delete_group_msg_by_sender): no body.
    deleted: bool = False
    # The sender asked for read receipts (see Client.message_read_members).
    need_receipt: bool = False
    # Live only (AVChatRoom): never in sync, never pushed offline.
    online_only: bool = False
    # A group message's mentions: the members it @s, and whether it @s everyone.
    at_users: list[str] = field(default_factory=list)
    at_all: bool = False

    def mentions(self, user: str) -> bool:
        """Does this message @ `user` (by name, or everyone)?"""
        return self.at_all or user in self.at_users

    @property
    def group_tip(self) -> dict[str, Any] | None:
        """A group tip's content (a member joined or left, the group's or a member's profile
        changed: OpType, Operator_Account, MemberList_Account, GroupInfo, MemberInfo), or None
        for a message someone sent. Tips take seqs and are in history like messages."""
        for e in self.elements:
            if e["MsgType"] == "TIMGroupTipElem":
                content: dict[str, Any] = e["MsgContent"]
                return content
        return None

    @property
    def text(self) -> str:
        return "".join(
            e["MsgContent"].get("Text", "") for e in self.elements if e["MsgType"] == "TIMTextElem"
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Message:
        return cls(
            conversation=d["conversation"],
            seq=d["seq"],
            sender=d["sender"],
            to=d.get("to", ""),
            group=d.get("group", ""),
            time=d["time"],
            msg_key=d["msg_key"],
            client_msg_id=d.get("client_msg_id", ""),
            elements=d.get("elements", []),
            cloud_custom_data=d.get("cloud_custom_data", ""),
            kind=d.get("kind", "message"),
            recalled=d.get("recalled", False),
            deleted=d.get("deleted", False),
            need_receipt=d.get("need_receipt", False),
            online_only=d.get("online_only", False),
            at_users=d.get("at_users", []),
            at_all=d.get("at_all", False),
        )


@dataclass(frozen=True, slots=True)
class Receipt:
    """Someone read up to `seq`. C2C: the peer read the conversation up to `seq`. Group: a
    member read this user's message `seq`, which asked for receipts; `read_count` is how many
    members have read it so far."""

    conversation: str
    reader: str
    seq: int
    time: int
    group: str = ""
    read_count: int = 0

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Receipt:
        return cls(
            conversation=d["conversation"],
            reader=d["reader"],
            seq=d["seq"],
            time=d["time"],
            group=d.get("group", ""),
            read_count=d.get("read_count", 0),
        )


@dataclass(frozen=True, slots=True)
class ReadMark:
    """This user read `conversation` up to `seq` on another device."""

    conversation: str
    seq: int
    time: int


@dataclass(frozen=True, slots=True)
class ReadMembers:
    """Who has and has not read a group message that asked for receipts."""

    read: list[str]
    unread: list[str]


class Client:
    """One user's session: log in, send, receive each message once and in order per
    conversation, catch up on what came while away, reconnect. See sdk/python/README.md."""

    def __init__(
        self,
        ws_url: str | Sequence[str],
        sdkappid: int,
        user_id: str,
        usersig: str,
        platform: str = "Android",
        reconnect: bool = True,
        encoding: str = "json",
        rest_url: str | None = None,
        log_provider: LogProvider | None = None,
        log_lines: int = DEFAULT_LINES,
    ) -> None:
        if encoding not in (frames.JSON, frames.PROTO):
            raise ValueError("encoding must be 'json' or 'proto'")
        # JSON text frames, or protobuf binary frames (docs/PROTOCOL.md); the same API either way.
        self.encoding = encoding
        # One gateway URL, or several: a reconnect moves on to the next one, so a client
        # whose gateway node went away lands on another.
        self._urls = [ws_url] if isinstance(ws_url, str) else list(ws_url)
        self._url_index = 0
        self.sdkappid = sdkappid
        self.user_id = user_id
        self.usersig = usersig
        self.platform = platform
        self.reconnect = reconnect
        self.conn_id = ""
        self._ws: ClientConnection | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._changes: asyncio.Queue[Message] = asyncio.Queue()
        self._receipts: asyncio.Queue[Receipt] = asyncio.Queue()
        self._read_marks: asyncio.Queue[ReadMark] = asyncio.Queue()
        self._deleted_conversations: asyncio.Queue[str] = asyncio.Queue()
        # Per conversation: what was shown, and what waits for a missing seq.
        self._orders: dict[str, ConversationOrder[Message]] = {}
        # One sync of a conversation at a time (a gap fill, or a catch-up's).
        self._fill_locks: dict[str, asyncio.Lock] = {}
        self._gap_tasks: dict[str, asyncio.Task[None]] = {}
        self._own_ids: set[str] = set()
        # Until a catch-up has read the conversation list, a conversation this client has not
        # started waits: the list says where it starts (the user's read mark).
        self._holding = True
        self._catch_up_lock = asyncio.Lock()
        self._catch_up_task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        # Set when the server pushed this session out (a newer login, or the app admin):
        # (code, message). A kicked client does not reconnect by itself.
        self.kicked: tuple[int, str] | None = None
        # The server's HTTP base URL (demo-app.json's rest_url), where a log the operator asks
        # for is uploaded; without it such a request is noted and ignored.
        self.rest_url = rest_url.rstrip("/") if rest_url else None
        # The last `log_lines` records of this client, uploaded unless `log_provider` is given.
        self.device_log = DeviceLog(log_lines)
        self._own_log = own_logger(logger.name, self.device_log)
        self._log_provider = log_provider
        self._uploads: set[asyncio.Task[None]] = set()

    @property
    def ws_url(self) -> str:
        return self._urls[self._url_index]

    async def connect(self, catch_up: bool = True) -> None:
        """Log in, then catch up (see `sync()` with no arguments): when this returns, every
        message that came while this client was away is queued on `messages()`. For a new
        client, that is what the user has not read yet; for one that was connected before
        (after `close()`), what came after what it showed.

        `catch_up=False` only logs in: pushes of conversations this client already shows
        come at once, and those of other conversations wait until the next catch-up (`sync()`
        or a reconnect), which says where they start.

        Raises TidingsClientError for a refused login (70001 expired UserSig, 70013 wrong
        identifier, ...), OSError when the gateway cannot be reached, and what the catch-up
        raises (the session then stays logged in: `sync()` tries again)."""
        self._closing = False
        # What came while away is not known yet: new conversations wait for the list.
        self._holding = True
        await self._open()
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())
        if not catch_up:
            return
        try:
            await self._catch_up()
        except TidingsClientError as e:
            # Connection lost during the catch-up: a reconnect catches up again.
            if e.code != CONNECTION_LOST or not self.reconnect:
                raise

    async def close(self) -> None:
        """Log out and stop. What was shown is kept: `connect()` again catches up from there."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        tasks = [self._reader, self._catch_up_task, *self._gap_tasks.values(), *self._uploads]
        for task in tasks:
            if task is not None:
                task.cancel()
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._gap_tasks.clear()
        self._catch_up_task = None

    async def send(
        self,
        to: str | None = None,
        group: str | None = None,
        text: str | None = None,
        elements: list[dict[str, Any]] | None = None,
        client_msg_id: str | None = None,
        cloud_custom_data: str = "",
        timeout: float = 30.0,
        need_receipt: bool = False,
        offline_push: dict[str, Any] | None = None,
        at_users: list[str] | None = None,
        at_all: bool = False,
    ) -> Ack:
        """Send and wait for the ack. A retry with the same client_msg_id gets the same seq.
        `need_receipt` asks the group's members for read receipts (groups of at most 200).
        `at_users` and `at_all` mention members of the group (at most 100), or everyone.
        `offline_push` is Tencent's OfflinePushInfo, with its field names ({"Title": ...,
        "Desc": ..., "Ext": ..., "AndroidInfo": {...}, "ApnsInfo": {...}}): how the
        notification looks to recipients who are offline, or "PushFlag": 1 for none."""
        msg_id = client_msg_id or uuid.uuid4().hex
        self._own_ids.add(msg_id)
        frame: dict[str, Any] = {"op": "send", "client_msg_id": msg_id}
        if need_receipt:
            frame["need_receipt"] = True
        if to is not None:
            frame["to"] = to
        if group is not None:
            frame["group"] = group
        if text is not None:
            frame["text"] = text
        if elements is not None:
            frame["elements"] = elements
        if cloud_custom_data:
            frame["cloud_custom_data"] = cloud_custom_data
        if offline_push is not None:
            frame["offline_push"] = offline_push
        if at_users:
            frame["at_users"] = at_users
        if at_all:
            frame["at_all"] = True
        reply = await self.request(frame, timeout)
        ack = Ack(
            seq=reply["seq"],
            msg_key=reply["msg_key"],
            time=reply["time"],
            conversation=reply["conversation"],
            duplicate=reply.get("duplicate", False),
        )
        # Seq 0: the app server dropped the message; nothing was stored, no seq was taken.
        # An ack fills its seq but starts no sync: the peer's messages before it may still be
        # on their way (acks and pushes take different paths), and the next push shows a gap.
        if ack.seq:
            self._deliver(self._order(ack.conversation).offer(ack.seq, None))
        return ack

    async def sync(
        self,
        peer: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
        group: str | None = None,
    ) -> list[Message]:
        """With `peer` (or `group`): a page of that conversation's history after `after_seq`
        (0 by default), oldest first, at most `limit` messages (100 by default, 500 at most).
        It only reads: nothing goes to `messages()`.

        With no arguments: catch up every conversation. Reads the conversation list and syncs
        each conversation whose newest seq is past what this client showed (for one it never
        showed: past the user's read mark), page after page; every message found goes to
        `messages()`, once and in order, and the list of them is returned (the same messages,
        per conversation in seq order; a push that arrives meanwhile and continues a
        conversation goes to `messages()` only). Handle them from one place, not both."""
        if peer is None and group is None:
            if after_seq is not None or limit is not None:
                raise ValueError("after_seq and limit need a peer or a group")
            return await self._catch_up()
        if peer is not None and group is not None:
            raise ValueError("sync takes a peer or a group, not both")
        target = {"peer": peer} if group is None else {"group": group}
        reply = await self.request(
            {"op": "sync", **target, "after_seq": after_seq or 0, "limit": limit or 100}
        )
        return [Message.from_json(m) for m in reply["messages"]]

    async def mark_read(self, conversation: str, seq: int) -> int:
        """Read `conversation` (a Message's `.conversation`) up to `seq`: its unread count goes
        to 0 up to there, the peer (or the senders of group messages that asked for receipts)
        get a receipt, and this user's other devices a read mark. Returns the read mark."""
        reply = await self.request({"op": "read", **self._target(conversation), "seq": seq})
        mark: int = reply["seq"]
        return mark

    async def message_read_members(self, message: Message | Ack) -> ReadMembers:
        """Members who have and have not read a group message sent with need_receipt (the
        message as received, or the sender's Ack of it)."""
        reply = await self.request(
            {"op": "read_members", **self._target(message.conversation), "seq": message.seq}
        )
        return ReadMembers(read=reply["read"], unread=reply["unread"])

    async def join_group(self, group_id: str) -> bool:
        """Join a group that lets clients in (AVChatRoom, or FreeAccess); False if already in."""
        reply = await self.request({"op": "join_group", "group": group_id})
        joined: bool = reply["joined"]
        return joined

    async def quit_group(self, group_id: str) -> None:
        await self.request({"op": "quit_group", "group": group_id})

    async def recall(self, message: Message) -> None:
        """Recall a message (yours within the app's window; any, as a group owner or admin)."""
        target: dict[str, Any] = (
            {"group": message.group}
            if message.group
            else {"peer": message.to if message.sender == self.user_id else message.sender}
        )
        await self.request({"op": "recall", "seq": message.seq, **target})

    async def report(self, message: Message, reason: str, report_type: str = "other") -> str:
        """Report a message to the app's operator (Easemob's reportMessage): `report_type` is
        a category, `reason` free text. Returns the report's id."""
        target: dict[str, Any] = (
            {"group": message.group}
            if message.group
            else {"peer": message.to if message.sender == self.user_id else message.sender}
        )
        frame = {
            "op": "report",
            "seq": message.seq,
            "reason": reason,
            "type": report_type,
            **target,
        }
        reply = await self.request(frame)
        report_id: str = reply["report_id"]
        return report_id

    async def conversations(self, limit: int = 100) -> list[dict[str, Any]]:
        """The conversation list, newest first: peer or group, last message, unread count."""
        reply = await self.request({"op": "conversations", "limit": limit})
        items: list[dict[str, Any]] = reply["conversations"]
        return items

    async def delete_conversation(self, peer: str | None = None, group: str | None = None) -> None:
        target = {"peer": peer} if peer is not None else {"group": group}
        await self.request({"op": "delete_conversation", **target})

    async def presence(self, users: list[str]) -> dict[str, str]:
        """Each user's status: Online or Offline."""
        reply = await self.request({"op": "presence", "users": users})
        return {p["user"]: p["status"] for p in reply["presence"]}

    async def register_push(self, vendor: str, token: str) -> None:
        """Have offline messages pushed to this device: `vendor` is one of apns, fcm, huawei,
        xiaomi, oppo, vivo, meizu; `token` the vendor's device token (at most 512 bytes). A
        token another user registered before moves to this user."""
        await self.request({"op": "register_push", "vendor": vendor, "token": token})

    async def unregister_push(self, vendor: str, token: str) -> None:
        """Stop pushing to this device (call it on logout)."""
        await self.request({"op": "unregister_push", "vendor": vendor, "token": token})

    async def push_settings(self, **changes: Any) -> dict[str, Any]:
        """This user's push settings, after changing those named: enabled=bool,
        dnd={"start": "22:00", "end": "07:00"} (None: no window), timezone="Asia/Shanghai".
        With no arguments, just reads them."""
        reply = await self.request({"op": "push_settings", **changes})
        return {name: reply[name] for name in ("enabled", "dnd", "timezone")}

    async def set_badge(self, count: int) -> None:
        """Report this user's unread total (0 to 99999), as the app goes to the background:
        each push sent after it shows one more on the app's icon badge."""
        await self.request({"op": "set_badge", "count": count})

    async def mute(
        self, peer: str | None = None, group: str | None = None, until_ms: int = 0
    ) -> None:
        """No offline pushes for this conversation until `until_ms` (Unix ms; 0: until unmute).
        Messages still arrive; only the push notification is held back."""
        target = {"peer": peer} if peer is not None else {"group": group}
        await self.request({"op": "mute_conversation", **target, "until": until_ms})

    async def unmute(self, peer: str | None = None, group: str | None = None) -> None:
        target = {"peer": peer} if peer is not None else {"group": group}
        await self.request({"op": "unmute_conversation", **target})

    async def messages(self) -> AsyncIterator[Message]:
        """Messages from others (and from this user's other devices), each once, in seq order
        per conversation: pushes, gap fills and catch-ups all come out here."""
        while True:
            yield await self._inbox.get()

    async def receipts(self) -> AsyncIterator[Receipt]:
        """Read receipts for this user's messages, as they come."""
        while True:
            yield await self._receipts.get()

    async def read_marks(self) -> AsyncIterator[ReadMark]:
        """Read marks set on this user's other devices."""
        while True:
            yield await self._read_marks.get()

    async def deleted_conversations(self) -> AsyncIterator[str]:
        """Conversations this user deleted on another device (when the app syncs deletions)."""
        while True:
            yield await self._deleted_conversations.get()

    async def changes(self) -> AsyncIterator[Message]:
        """Recalls and edits of messages already seen (`kind` "recall" or "modify"), and group
        system notifications (`kind` "system": live only, never in sync)."""
        while True:
            yield await self._changes.get()

    async def request(self, frame: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        """Send one frame and return its reply. Waits up to `timeout` for a connection (during
        a reconnect) and as long again for the reply (TimeoutError). Raises TidingsClientError
        for an error reply, or CONNECTION_LOST when the connection closes first."""
        await asyncio.wait_for(self._connected.wait(), timeout)
        request_id = next(self._ids)
        frame["id"] = request_id
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = fut
        try:
            assert self._ws is not None
            try:
                await self._ws.send(frames.encode(frame, self.encoding))
            except ConnectionClosed as e:
                raise TidingsClientError(CONNECTION_LOST, "connection lost") from e
            reply = await asyncio.wait_for(fut, timeout)
        finally:
            self._waiting.pop(request_id, None)
        if reply.get("op") == "error":
            raise TidingsClientError(reply["code"], reply.get("message", ""))
        return reply

    async def _open(self) -> None:
        url = self.ws_url
        if self.encoding == frames.PROTO:
            url += ("&" if "?" in url else "?") + "encoding=proto"
        ws = await connect(url, max_size=4 * 1024 * 1024, compression=None)
        login = {
            "op": "login",
            "id": 0,
            "sdkappid": self.sdkappid,
            "identifier": self.user_id,
            "usersig": self.usersig,
            "platform": self.platform,
        }
        await ws.send(frames.encode(login, self.encoding))
        reply = frames.decode(await ws.recv(), self.encoding)
        if reply.get("op") != "login":
            await ws.close()
            code, message = reply.get("code", -1), reply.get("message", "login failed")
            self._note(logging.INFO, "login refused at %s: %s %s", self.ws_url, code, message)
            raise TidingsClientError(code, message)
        self.conn_id = reply["conn_id"]
        self._note(
            logging.INFO,
            "logged in as %s at %s (conn %s, %s, %s)",
            self.user_id,
            self.ws_url,
            self.conn_id,
            self.platform,
            self.encoding,
        )
        self._ws = ws
        self._connected.set()

    async def _read_forever(self) -> None:
        while not self._closing:
            try:
                assert self._ws is not None
                async for raw in self._ws:
                    self._dispatch(frames.decode(raw, self.encoding))
            except ConnectionClosed as e:
                if not self._closing:
                    self._note(logging.INFO, "connection lost (conn %s): %s", self.conn_id, e)
            self._connected.clear()
            # Until the reconnect's catch-up reads the list, new conversations wait for it.
            self._holding = True
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(TidingsClientError(CONNECTION_LOST, "connection lost"))
            if self._closing or not self.reconnect or self.kicked is not None:
                return
            await self._reconnect()

    async def _reconnect(self) -> None:
        # Backoff between attempts to reach a gateway (not a wait for history).
        delay = 0.2
        while not self._closing:
            self._url_index = (self._url_index + 1) % len(self._urls)
            try:
                await self._open()
            except (OSError, TimeoutError, WebSocketException, TidingsClientError) as e:
                # Unreachable, a handshake cut short, or a refused login: try again.
                self._note(logging.INFO, "reconnect to %s failed: %r", self.ws_url, e)
                await asyncio.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 5.0)
                continue
            # Its own task: it makes requests, whose replies this reader task has to read.
            if self._catch_up_task is not None:
                self._catch_up_task.cancel()
            self._catch_up_task = asyncio.get_running_loop().create_task(self._catch_up_quietly())
            return

    async def _catch_up_quietly(self) -> None:
        # A failed catch-up after a reconnect is retried by the next reconnect or sync().
        with contextlib.suppress(TidingsClientError, TimeoutError):
            await self._catch_up()

    async def _catch_up(self) -> list[Message]:
        """Everything this client has not shown: per conversation of the list whose last seq
        is past what was shown (for one never shown: past the user's read mark), a sync from
        there. An ack means readable, so what the list names, sync returns: no waiting."""
        async with self._catch_up_lock:
            self._holding = True
            try:
                listed = await self.conversations(limit=CONVERSATION_LIST_MAX)
            except TidingsClientError as e:
                if e.code != CONNECTION_LOST:
                    # Refused: show what waits from its first message rather than hold it.
                    self._stop_holding(set())
                raise
            released: list[Message] = []
            todo: list[tuple[str, int]] = []
            names = set()
            # Nothing below awaits until `_stop_holding`: each listed conversation starts at
            # the read mark before a push could start it later.
            for item in listed:
                conv: str = item["conversation"]
                names.add(conv)
                order = self._order(conv)
                if not order.started:
                    released += self._deliver(order.start(int(item["read_seq"]) + 1))
                if int(item["last_seq"]) > order.last_seq or order.has_gap:
                    todo.append((conv, int(item["last_seq"])))
            released += self._stop_holding(names)
            truncated = len(listed) >= CONVERSATION_LIST_MAX
            for conv, order in self._orders.items():
                # Beyond a full list, every known conversation is synced (one page if nothing
                # is new); a gap left by a failed fill is filled.
                if conv not in names and order.started and (truncated or order.has_gap):
                    todo.append((conv, order.last_seq + 1))
            limit = asyncio.Semaphore(CATCH_UP_CONCURRENCY)

            async def fill(conv: str, upto: int) -> list[Message]:
                async with limit:
                    try:
                        return await self._fill(conv, upto)
                    except TidingsClientError as e:
                        # Refused (e.g. 10007: no longer in the group): the others go on.
                        if e.code == CONNECTION_LOST:
                            raise
                        return []

            for part in await asyncio.gather(*(fill(conv, upto) for conv, upto in todo)):
                released += part
            return released

    def _stop_holding(self, listed: set[str]) -> list[Message]:
        """The list was read: a held conversation it does not name began after it was read
        (or is beyond the list), so it starts at its first pushed message."""
        self._holding = False
        released: list[Message] = []
        for conv, order in self._orders.items():
            first = order.first_held_item
            if conv not in listed and not order.started and first is not None:
                released += self._deliver(order.start(first))
                if order.has_gap:
                    self._fill_gap(conv)
        return released

    def _dispatch(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == "kicked":
            self.kicked = (int(frame.get("code", 0)), str(frame.get("message", "")))
            self._note(logging.INFO, "kicked: %s %s", *self.kicked)
            return
        if op == "upload_log_request":
            task = asyncio.get_running_loop().create_task(
                self._upload_log(str(frame.get("request_id", "")), self.conn_id)
            )
            self._uploads.add(task)
            task.add_done_callback(self._uploads.discard)
            return
        if op == "receipt":
            self._receipts.put_nowait(Receipt.from_json(frame))
            return
        if op == "read_mark":
            self._read_marks.put_nowait(
                ReadMark(frame["conversation"], frame["seq"], frame.get("time", 0))
            )
            return
        if op == "conversation_deleted":
            self._deleted_conversations.put_nowait(frame["conversation"])
            return
        if op == "msg":
            for m in frame["msgs"]:
                msg = Message.from_json(m)
                if msg.kind != "message":
                    self._changes.put_nowait(msg)
                else:
                    self._on_push(msg)
            return
        fut = self._waiting.get(frame.get("id", -1))
        if fut is not None and not fut.done():
            fut.set_result(frame)

    def _on_push(self, msg: Message) -> None:
        order = self._order(msg.conversation)
        if not order.started and not self._holding:
            # A conversation that began after the list was read: it starts here.
            self._deliver(order.start(msg.seq))
        if msg.online_only:
            # Live only (AVChatRoom): history never holds it, nor the seqs this client missed.
            self._deliver(order.settle(msg.seq - 1))
        self._deliver(order.offer(msg.seq, self._shown(msg)))
        if order.has_gap:
            # Seq N+1 came while N did not: N is readable now, so sync it at once.
            self._fill_gap(msg.conversation)

    def _fill_gap(self, conv: str) -> None:
        """Fill `conv`'s gap in a task of its own; a gap found while one runs is filled by it."""
        task = self._gap_tasks.get(conv)
        if task is None or task.done():
            self._gap_tasks[conv] = asyncio.get_running_loop().create_task(self._fill_quietly(conv))

    async def _fill_quietly(self, conv: str) -> None:
        # Connection lost: the reconnect's catch-up fills the gap. Refused, or no reply: the
        # next push into the gap asks again; but a group this user has left is never read
        # again: what it missed before leaving is gone for it, and what is held (the tip that
        # it left) is shown.
        try:
            await self._fill(conv, 0)
        except TimeoutError:
            return
        except TidingsClientError as e:
            if e.code == NOT_GROUP_MEMBER:
                order = self._orders[conv]
                self._deliver(order.settle(order.highest))

    async def _fill(self, conv: str, upto: int) -> list[Message]:
        """Sync `conv` from the last shown seq until it is shown up to `upto` and has no gap,
        or until history has nothing more for this user. Returns what it showed."""
        order = self._orders[conv]
        released: list[Message] = []
        async with self._fill_locks.setdefault(conv, asyncio.Lock()):
            while order.started and order.last_seq < max(upto, order.highest):
                before = order.last_seq
                released += await self._sync_round(conv, order)
                if order.last_seq == before:
                    break
        return released

    async def _sync_round(self, conv: str, order: ConversationOrder[Message]) -> list[Message]:
        """Sync from the last shown seq, page after page until history says `complete`.

        A seq that a page covered but did not return is not for this user (expired, or sent
        before they joined the group): the order moves past it. Everything up to the newest
        seq known when the round began came by push or ack, so it is readable: a complete
        sync settles up to there."""
        # Pushed or acked seqs are readable (docs/PROTOCOL.md): a complete sync has them all.
        known = order.highest
        target = self._target(conv)
        released: list[Message] = []
        while True:
            after = order.last_seq
            reply = await self.request(
                {"op": "sync", **target, "after_seq": after, "limit": SYNC_PAGE}
            )
            page = [Message.from_json(m) for m in reply["messages"]]
            for m in page:
                if m.kind == "message":
                    released += self._deliver(order.offer(m.seq, self._shown(m)))
            complete = bool(reply.get("complete", True))
            covered = max((m.seq for m in page), default=after)
            if complete:
                covered = max(covered, known)
            elif not page:
                # A full page of rows this user may not see (a group's messages from before
                # they joined): history read SYNC_PAGE seqs after `after`.
                covered = after + SYNC_PAGE
            released += self._deliver(order.settle(covered))
            if complete:
                return released

    def _note(self, level: int, msg: str, *args: object) -> None:
        """A record of this client: kept in its device log whatever the app's logging
        configuration, and passed to the "tidings_client" logger, which shows it or not."""
        self._own_log.log(level, msg, *args)
        logger.log(level, msg, *args)

    async def _log_to_upload(self) -> str | bytes:
        if self._log_provider is None:
            return self.device_log.text()
        provided = self._log_provider()
        return await provided if inspect.isawaitable(provided) else provided

    async def _upload_log(self, request_id: str, conn_id: str) -> None:
        """Answer the operator's upload_log_request: this client's log (or the app's, from
        `log_provider`) to POST {rest_url}/v1/device-logs, with this user's credentials."""
        if self.rest_url is None:
            self._note(logging.WARNING, "log upload %s asked, but no rest_url is set", request_id)
            return
        self._note(logging.INFO, "log upload %s asked (conn %s)", request_id, conn_id)
        try:
            body, content_type = upload_body(await self._log_to_upload())
            async with httpx.AsyncClient(timeout=LOG_UPLOAD_TIMEOUT_S) as http:
                reply = await http.post(
                    f"{self.rest_url}/v1/device-logs",
                    params={
                        "sdkappid": self.sdkappid,
                        "identifier": self.user_id,
                        "usersig": self.usersig,
                        "request_id": request_id,
                        "conn_id": conn_id,
                    },
                    content=body,
                    headers={"Content-Type": content_type},
                )
        except Exception as e:  # noqa: BLE001 - an upload never stops the session
            self._note(logging.WARNING, "log upload %s failed: %r", request_id, e)
            return
        if reply.status_code == 200:
            self._note(logging.INFO, "log upload %s done: %d bytes", request_id, len(body))
        else:
            self._note(
                logging.WARNING,
                "log upload %s refused: HTTP %d %s",
                request_id,
                reply.status_code,
                reply.text[:200],
            )

    def _order(self, conv: str) -> ConversationOrder[Message]:
        order = self._orders.get(conv)
        if order is None:
            order = self._orders[conv] = ConversationOrder()
        return order

    def _shown(self, msg: Message) -> Message | None:
        """None for one of this client's own sends: it fills its seq but is not shown."""
        own = msg.client_msg_id in self._own_ids and msg.sender == self.user_id
        return None if own else msg

    def _deliver(self, ready: list[Message]) -> list[Message]:
        for m in ready:
            self._inbox.put_nowait(m)
        return ready

    def _target(self, conversation: str) -> dict[str, str]:
        """A conversation id as the protocol names it: the peer, or the group."""
        kind, *ids = frames.conversation_parts(conversation)
        if kind == "group":
            return {"group": ids[0]}
        lo, hi = ids
        return {"peer": hi if lo == self.user_id else lo}
