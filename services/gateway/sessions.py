"""Client connections on this gateway node.

Each connection has an outbox and one writer task created at login: deliveries and acks are
appended without awaiting the socket, and the writer coalesces what has piled up into one
frame, so a burst costs one write and a slow client never blocks the router's Deliver call.
A group message comes already encoded (`deliver_frame`): Deliver encodes the frame once for
every connection that gets the same messages in the same encoding, and each writer sends
those same bytes. Server frames are not masked, so the whole WebSocket frame (header and
payload) is built once too and handed straight to the transport when the socket is open and
not backed up: one write, without websockets' per-frame work. When the writer is idle with
nothing queued, Deliver writes it at once (no task to wake); else it is queued in order and the
writer writes it. Otherwise, and for everything else, the writer goes through websockets'
send, which waits for a full write buffer to drain.

What waits for the writer is bounded. Pushes (deliveries, read marks, receipts) come whether or
not the client reads: past MAX_OUTBOX messages or the byte budget (TIDINGS_WS_OUTBOX_MAX_BYTES)
the client is cut off, its queue freed, and it catches up with sync when it reconnects. Replies
answer the client's own requests: past the same budget, the endpoint reads its next frame only
once the writer has taken them (wait_for_room), so a client that asks without reading stalls
itself rather than the gateway's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from websockets.asyncio.connection import Connection as WebSocket
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from services.common.logging import get_logger

log = get_logger(__name__)

# A client that stops reading is cut off rather than buffered without bound.
MAX_OUTBOX = 10_000
# How long a closing connection waits for its writer to send what is queued, and then for
# the client to take the close frame.
CLOSE_FLUSH_S = 2.0
OUTBOX_OVERFLOW_CLOSE = 4008

# A prepared frame is written straight to the transport only below this much buffered.
DIRECT_WRITE_BELOW = 64 * 1024

Encoded = str | bytes
Encoder = Callable[[dict[str, Any]], Encoded]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A frame encoded once for many connections: its payload (text for JSON, binary for
    protobuf) and the whole unmasked WebSocket frame, the same bytes for every socket."""

    payload: Encoded
    wire: bytes
    size: int

    @classmethod
    def of(cls, payload: Encoded) -> Prepared:
        if isinstance(payload, str):
            data, opcode = payload.encode(), Opcode.TEXT
        else:
            data, opcode = payload, Opcode.BINARY
        return cls(payload, Frame(opcode, data).serialize(mask=False), len(data))


def json_text(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


async def close_within(ws: ServerConnection, code: int, reason: str) -> None:
    """Close with a close frame if the client takes it within CLOSE_FLUSH_S, else drop the TCP
    connection: websockets' close first waits for room in the write buffer, which a client that
    does not read never makes, and the socket (with what is buffered for it) would stay."""
    try:
        await asyncio.wait_for(ws.close(code, reason), CLOSE_FLUSH_S)
    except TimeoutError:
        ws.transport.abort()


class Connection:
    __slots__ = (
        "_closer",
        "_closing",
        "_cut_off",
        "_direct",
        "_encode",
        "_flushed",
        "_max_bytes",
        "_msgs",
        "_push_bytes",
        "_queued",
        "_ready",
        "_replies",
        "_reply_bytes",
        "_sending",
        "_taken",
        "_wake",
        "conn_id",
        "platform",
        "sdkappid",
        "user",
        "ws",
    )

    def __init__(
        self,
        ws: ServerConnection,
        sdkappid: int,
        user: str,
        platform: str,
        encode: Encoder | None = None,
        max_bytes: int = 1024 * 1024,
    ) -> None:
        self.ws = ws
        # The connection's encoding, chosen at connect: JSON text, or protobuf binary frames.
        self._encode = encode or json_text
        self.sdkappid = sdkappid
        self.user = user
        self.platform = platform
        self.conn_id = uuid.uuid4().hex
        # Encoded replies and notices; and, in order, messages (dicts the writer batches into
        # one frame) and frames of messages encoded already (sent as they are).
        self._replies: deque[Encoded] = deque()
        self._msgs: deque[dict[str, Any] | Prepared] = deque()
        # Messages in _msgs, counting each one inside an encoded frame.
        self._queued = 0
        # Bytes queued and not yet taken by the writer: pushes (messages and notices) and
        # replies, each against max_bytes.
        self._max_bytes = max_bytes
        self._push_bytes = 0
        self._reply_bytes = 0
        self._wake = asyncio.Event()
        # Set each time the writer takes the queues, and when it stops.
        self._taken = asyncio.Event()
        # Set by close_after: the writer stops once the queued replies are sent.
        self._closing = False
        self._flushed = asyncio.Event()
        # Set when the outbox overflowed: nothing more is queued, the socket is closing.
        self._cut_off = False
        self._closer: asyncio.Task[None] | None = None
        # A real websockets connection, whose transport can take prepared frames.
        self._direct = isinstance(ws, WebSocket)
        # The writer has sent its first frames (the login reply), and is sending now.
        self._ready = False
        self._sending = False

    @property
    def encoder(self) -> Encoder:
        """How this connection encodes a frame: connections with the same encoder can be sent
        the same bytes."""
        return self._encode

    def reply(self, frame: dict[str, Any]) -> None:
        """Queue the answer to one of the client's requests."""
        if self._cut_off:
            return
        encoded = self._encode(frame)
        self._replies.append(encoded)
        self._reply_bytes += len(encoded)
        self._wake.set()

    def notify(self, frame: dict[str, Any]) -> None:
        """Queue a frame the server pushes (a read mark, a receipt), counted like deliveries."""
        if self._cut_off:
            return
        encoded = self._encode(frame)
        if self._over(len(encoded)):
            return
        self._replies.append(encoded)
        self._push_bytes += len(encoded)
        self._wake.set()

    def deliver(self, message: dict[str, Any], size: int) -> None:
        """Queue a message; `size` estimates its encoded bytes (the caller has them at hand)."""
        if self._cut_off or self._over(size):
            return
        self._msgs.append(message)
        self._queued += 1
        self._push_bytes += size
        self._wake.set()

    def deliver_frame(self, frame: Prepared, count: int) -> None:
        """Queue a `msg` frame of `count` messages encoded already in this connection's encoding
        (the same bytes go to many connections)."""
        if self._cut_off or self._over(frame.size, count):
            return
        if self._idle() and self._writes_directly():
            # Nothing queued before it and the writer idle: written now, without waking the
            # writer task (3,000 wake-ups a message on a node with 3,000 members online).
            self.ws.transport.write(frame.wire)
            return
        self._msgs.append(frame)
        self._queued += count
        self._push_bytes += frame.size
        self._wake.set()

    def _over(self, size: int, count: int = 1) -> bool:
        """Whether one more push of `size` bytes (`count` messages) overflows the outbox; if so
        the client is cut off and what was queued for it is freed."""
        if self._queued + count <= MAX_OUTBOX and self._push_bytes + size <= self._max_bytes:
            return False
        log.warning(
            "outbox overflow",
            app=self.sdkappid,
            user=self.user,
            messages=self._queued,
            queued_bytes=self._push_bytes + self._reply_bytes,
        )
        self._cut_off = True
        self._msgs.clear()
        self._queued = 0
        self._replies.clear()
        self._push_bytes = self._reply_bytes = 0
        self._closer = asyncio.get_running_loop().create_task(
            close_within(self.ws, OUTBOX_OVERFLOW_CLOSE, "outbox overflow")
        )
        return True

    async def wait_for_room(self) -> None:
        """Return once the queued replies are within the byte budget (or the writer stopped):
        the endpoint reads a client's next frame only then."""
        while self._reply_bytes > self._max_bytes and not self._flushed.is_set():
            self._taken.clear()
            await self._taken.wait()

    async def close_after(self, frame: dict[str, Any], code: int, reason: str) -> None:
        """Send `frame` after everything queued before it, then close the socket.

        Only the writer task sends: closing at once would drop what it has not sent yet (a
        kick's own "kicked" frame). A client that does not read is closed after CLOSE_FLUSH_S.
        """
        self._closing = True
        self.reply(frame)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._flushed.wait(), CLOSE_FLUSH_S)
        await close_within(self.ws, code, reason)

    def _take(self) -> list[Encoded | Prepared]:
        """Everything queued, as frames to send; the queues and their byte counts start over.
        Messages keep their order: each run of queued messages becomes one frame, and frames
        encoded already go out as they are, between them."""
        frames: list[Encoded | Prepared] = list(self._replies)
        self._replies.clear()
        run: list[dict[str, Any]] = []
        for item in self._msgs:
            if isinstance(item, dict):
                run.append(item)
                continue
            if run:
                frames.append(self._encode({"op": "msg", "msgs": run}))
                run = []
            frames.append(item)
        if run:
            frames.append(self._encode({"op": "msg", "msgs": run}))
        self._msgs.clear()
        self._queued = 0
        self._push_bytes = self._reply_bytes = 0
        self._taken.set()
        return frames

    def _idle(self) -> bool:
        """The writer has sent the login reply, is waiting, and has nothing queued: a frame
        written now keeps every frame's order."""
        return (
            self._ready
            and not self._sending
            and not self._msgs
            and not self._replies
            and not self._closing
            and not self._wake.is_set()
        )

    def _writes_directly(self) -> bool:
        """Whether a prepared frame may go straight to the transport: the connection is open,
        negotiated no extension (the gateway offers none), is not sending a fragmented message,
        and its write buffer is not backed up (else websockets' send waits for it to drain)."""
        if not self._direct:
            return False
        ws = self.ws
        return (
            ws.protocol.state is State.OPEN
            and not ws.protocol.extensions
            and ws.send_in_progress is None
            and ws.transport.get_write_buffer_size() < DIRECT_WRITE_BELOW
        )

    async def write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                self._sending = True
                for frame in self._take():
                    if isinstance(frame, Prepared):
                        if self._writes_directly():
                            self.ws.transport.write(frame.wire)
                            continue
                        frame = frame.payload
                    await self.ws.send(frame)
                self._sending = False
                self._ready = True
                if self._closing and not self._replies:
                    return
        except ConnectionClosed:
            return
        finally:
            self._flushed.set()
            self._taken.set()


class PresenceSink(Protocol):
    """Told when a user's first connection on this node opens or their last one closes
    (services/common/presence.NodePresence)."""

    def changed(self, sdkappid: int, user: str) -> None: ...

    async def written(self, sdkappid: int, user: str) -> None: ...


_NONE: dict[str, Connection] = {}


class LocalSessions:
    """(app, user) -> this node's connections for that user. A user is online on this node
    while one of their connections here is open; the presence index (`watch`) is told when
    that changes."""

    def __init__(self) -> None:
        self._by_user: dict[tuple[int, str], dict[str, Connection]] = {}
        # Users with a connection here, per app.
        self._per_app: dict[int, int] = {}
        self._presence: PresenceSink | None = None

    def watch(self, presence: PresenceSink) -> None:
        self._presence = presence

    def add(self, conn: Connection) -> None:
        key = (conn.sdkappid, conn.user)
        conns = self._by_user.get(key)
        if conns is None:
            conns = self._by_user[key] = {}
            self._per_app[conn.sdkappid] = self._per_app.get(conn.sdkappid, 0) + 1
            if self._presence is not None:
                self._presence.changed(*key)
        conns[conn.conn_id] = conn

    def remove(self, conn: Connection) -> None:
        key = (conn.sdkappid, conn.user)
        conns = self._by_user.get(key)
        if conns is not None:
            conns.pop(conn.conn_id, None)
            if not conns:
                del self._by_user[key]
                left = self._per_app[conn.sdkappid] - 1
                if left:
                    self._per_app[conn.sdkappid] = left
                else:
                    del self._per_app[conn.sdkappid]
                if self._presence is not None:
                    self._presence.changed(*key)

    async def announced(self, conn: Connection) -> None:
        """Return once the presence index lists `conn`'s user on this node, so fan-out sends
        the next message for them here."""
        if self._presence is not None:
            await self._presence.written(conn.sdkappid, conn.user)

    def of(self, sdkappid: int, user: str) -> list[Connection]:
        return list(self._by_user.get((sdkappid, user), _NONE).values())

    def connections(self, sdkappid: int, user: str) -> Collection[Connection]:
        """The user's connections here, not copied: iterate without awaiting."""
        return self._by_user.get((sdkappid, user), _NONE).values()

    def has(self, sdkappid: int, user: str) -> bool:
        return (sdkappid, user) in self._by_user

    def has_app(self, sdkappid: int) -> bool:
        return sdkappid in self._per_app

    def by_app(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for sdkappid, user in self._by_user:
            out.setdefault(sdkappid, []).append(user)
        return out

    def users(self) -> list[tuple[int, str]]:
        return list(self._by_user)

    def __iter__(self) -> Iterator[Connection]:
        for conns in list(self._by_user.values()):
            yield from list(conns.values())

    def __len__(self) -> int:
        return sum(len(c) for c in self._by_user.values())
