"""The client: one WebSocket session with login, sends, deliveries, sync and reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tidings_client import frames
from tidings_client.ordering import ConversationOrder

GAP_WAIT_S = 0.3
# Asks again for a gap that history did not hold yet.
FILL_RETRY_S = (1.0, 2.0)
SYNC_PAGE = 500
# When the catch-up after a (re)connect reads the conversation list (seconds after the login).
CATCH_UP_DELAYS_S = (0.0, 1.0, 3.0)


class TidingsClientError(Exception):
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
    def __init__(
        self,
        ws_url: str | Sequence[str],
        sdkappid: int,
        user_id: str,
        usersig: str,
        platform: str = "Android",
        reconnect: bool = True,
        encoding: str = "json",
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
        self._orders: dict[str, ConversationOrder[Message]] = {}
        self._own_ids: set[str] = set()
        self._gap_tasks: dict[str, asyncio.Task[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._catch_up: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._closing = False
        # Set when the server pushed this session out (a newer login, or the app admin):
        # (code, message). A kicked client does not reconnect by itself.
        self.kicked: tuple[int, str] | None = None

    @property
    def ws_url(self) -> str:
        return self._urls[self._url_index]

    async def connect(self) -> None:
        """Log in. A client connecting again after close() catches up as after a reconnect."""
        self._closing = False
        await self._open()
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())
        if self._orders:
            self._start_catch_up()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for task in self._gap_tasks.values():
            task.cancel()
        if self._catch_up is not None:
            self._catch_up.cancel()

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
    ) -> Ack:
        """Send and wait for the ack. A retry with the same client_msg_id gets the same seq.
        `need_receipt` asks the group's members for read receipts (groups of at most 200)."""
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
        reply = await self.request(frame, timeout)
        ack = Ack(
            seq=reply["seq"],
            msg_key=reply["msg_key"],
            time=reply["time"],
            conversation=reply["conversation"],
            duplicate=reply.get("duplicate", False),
        )
        # Seq 0: the app server dropped the message; nothing was stored, no seq was taken.
        if ack.seq:
            self._offer(ack.conversation, ack.seq, None)
        return ack

    async def sync(
        self,
        peer: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
        group: str | None = None,
    ) -> list[Message]:
        """Messages of the conversation with `peer` (or of `group`) after `after_seq`, oldest
        first."""
        target = {"peer": peer} if group is None else {"group": group}
        reply = await self.request({"op": "sync", **target, "after_seq": after_seq, "limit": limit})
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

    async def messages(self) -> AsyncIterator[Message]:
        """Messages from others (and from this user's other devices), each once, in seq order."""
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

    async def changes(self) -> AsyncIterator[Message]:
        """Recalls and edits of messages already seen (`kind` "recall" or "modify"), and group
        system notifications (`kind` "system": live only, never in sync)."""
        while True:
            yield await self._changes.get()

    async def request(self, frame: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
        await asyncio.wait_for(self._connected.wait(), timeout)
        request_id = next(self._ids)
        frame["id"] = request_id
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = fut
        try:
            assert self._ws is not None
            await self._ws.send(frames.encode(frame, self.encoding))
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
            raise TidingsClientError(reply.get("code", -1), reply.get("message", "login failed"))
        self.conn_id = reply["conn_id"]
        self._ws = ws
        self._connected.set()

    async def _read_forever(self) -> None:
        while not self._closing:
            try:
                assert self._ws is not None
                async for raw in self._ws:
                    self._dispatch(frames.decode(raw, self.encoding))
            except ConnectionClosed:
                pass
            self._connected.clear()
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(TidingsClientError(-1, "connection lost"))
            if self._closing or not self.reconnect or self.kicked is not None:
                return
            await self._reconnect()

    async def _reconnect(self) -> None:
        delay = 0.2
        while not self._closing:
            self._url_index = (self._url_index + 1) % len(self._urls)
            try:
                await self._open()
            except (OSError, ConnectionClosed, TidingsClientError):
                await asyncio.sleep(delay + random.random() * delay)
                delay = min(delay * 2, 5.0)
                continue
            self._start_catch_up()
            return

    def _start_catch_up(self) -> None:
        # Its own task: it makes requests, whose replies the reader task has to read.
        self._catch_up = asyncio.get_running_loop().create_task(self._fetch_missed())

    async def _fetch_missed(self) -> None:
        """Offline messages: everything after what was shown, per known conversation, and
        everything after the read mark in conversations that began while this client was away.

        A message is acked once it is in the log of record; history and the conversation list
        are written from there a moment later. So the list is read again a little later, and a
        conversation whose last seq is beyond what was shown is filled again."""
        for conv in list(self._orders):
            self._schedule_fill(conv, wait=0.0)
        for delay in CATCH_UP_DELAYS_S:
            await asyncio.sleep(delay)
            try:
                listed = await self.conversations(limit=500)
            except TidingsClientError:
                continue
            for item in listed:
                conv = item["conversation"]
                order = self._orders.get(conv)
                if order is None or not order.started:
                    if item["last_seq"] <= item["read_seq"]:
                        continue
                    order = self._orders.setdefault(conv, ConversationOrder())
                    for ready in order.skip_to(item["read_seq"] + 1):
                        self._inbox.put_nowait(ready)
                if order.last_seq < item["last_seq"]:
                    self._schedule_fill(conv, wait=0.0)

    def _dispatch(self, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == "kicked":
            self.kicked = (int(frame.get("code", 0)), str(frame.get("message", "")))
            return
        if op == "receipt":
            self._receipts.put_nowait(Receipt.from_json(frame))
            return
        if op == "read_mark":
            self._read_marks.put_nowait(
                ReadMark(frame["conversation"], frame["seq"], frame.get("time", 0))
            )
            return
        if op == "msg":
            for m in frame["msgs"]:
                msg = Message.from_json(m)
                if msg.kind != "message":
                    self._changes.put_nowait(msg)
                    continue
                own = msg.client_msg_id in self._own_ids and msg.sender == self.user_id
                self._offer(msg.conversation, msg.seq, None if own else msg)
            return
        fut = self._waiting.get(frame.get("id", -1))
        if fut is not None and not fut.done():
            fut.set_result(frame)

    def _offer(self, conv: str, seq: int, msg: Message | None) -> None:
        order = self._orders.setdefault(conv, ConversationOrder())
        for ready in order.offer(seq, msg):
            self._inbox.put_nowait(ready)
        if order.has_gap:
            self._schedule_fill(conv, wait=GAP_WAIT_S)

    def _schedule_fill(self, conv: str, wait: float) -> None:
        task = self._gap_tasks.get(conv)
        if task is None or task.done():
            self._gap_tasks[conv] = asyncio.get_running_loop().create_task(self._fill(conv, wait))

    async def _fill(self, conv: str, wait: float) -> None:
        """A seq is missing: give it a moment to arrive, then fetch it from history. History is
        written a moment after delivery, so a gap it does not hold yet is asked for again; only
        a gap that history has moved past (or that outlasts the retries) is given up on."""
        order = self._orders[conv]
        if not order.started:
            # Only our own sends so far: the conversation list says where it starts.
            return
        for attempt, delay in enumerate((wait, *FILL_RETRY_S)):
            await asyncio.sleep(delay)
            if delay and not order.has_gap:
                return
            newest = await self._sync_into(conv, order)
            if newest is None or not order.has_gap:
                return
            if newest >= min(order.buffered) or attempt == len(FILL_RETRY_S):
                break
        # What history does not hold is gone (expired or never stored): move past it.
        for ready in order.skip_to(min(order.buffered)):
            self._inbox.put_nowait(ready)

    async def _sync_into(self, conv: str, order: ConversationOrder[Message]) -> int | None:
        """Offer everything history holds after what was shown; the newest seq it returned
        (0 for none), or None when the sync was refused."""
        target = self._target(conv)
        newest = 0
        while True:
            try:
                page = await self.sync(
                    target.get("peer"),
                    after_seq=order.last_seq,
                    limit=SYNC_PAGE,
                    group=target.get("group"),
                )
            except TidingsClientError:
                return None
            for m in page:
                own = m.client_msg_id in self._own_ids and m.sender == self.user_id
                self._offer_quiet(conv, m.seq, None if own else m)
                newest = max(newest, m.seq)
            if len(page) < SYNC_PAGE:
                return newest

    def _target(self, conversation: str) -> dict[str, str]:
        """A conversation id as the protocol names it: the peer, or the group."""
        kind, *ids = frames.conversation_parts(conversation)
        if kind == "group":
            return {"group": ids[0]}
        lo, hi = ids
        return {"peer": hi if lo == self.user_id else lo}

    def _offer_quiet(self, conv: str, seq: int, msg: Message | None) -> None:
        for ready in self._orders[conv].offer(seq, msg):
            self._inbox.put_nowait(ready)
