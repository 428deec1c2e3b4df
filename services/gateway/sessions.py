"""Client connections on this gateway node.

A connection is a picows listener (`Connection`): picows calls it with each frame the client
sends, and every frame the gateway sends goes straight to the socket. No task and no queue per
connection: an idle connection is this object, picows' protocol and transport, and the
session's entries in `LocalSessions`.

**Writes.** A reply, a notice or a delivery is encoded and handed to the transport at once
(picows' `send`: one `send()` system call when nothing is buffered, else appended to the
transport's buffer). Frames keep the order they were written in. A group message comes encoded
already (`Prepared`): Deliver encodes a frame once for every connection that gets the same
messages in the same encoding, and each connection writes those same bytes.

**The bounded queue is the transport's write buffer** (what the kernel did not take). Pushes
(deliveries, read marks, receipts) come whether or not the client reads: one that would take
the buffer past `TIDINGS_WS_OUTBOX_MAX_BYTES` (1 MiB) cuts the client off (close 4008 "outbox
overflow"), and it catches up with sync when it reconnects. Replies answer the client's own
requests: they are always written, the bytes they add do not count against pushes while they
wait in the buffer, and past the same budget (the transport's high-water mark) the connection
stops reading the client until the buffer drains to a quarter of it, so a client that asks
without reading stalls itself, not the gateway's memory.

**Closing** sends a close frame and waits for the client's; a client that does not answer
within CLOSE_FLUSH_S (one that does not read, say) is dropped, with whatever was buffered for
it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from services.common.logging import get_logger
from services.gateway import frames_proto
from services.gateway.frame_budget import FrameBudget

log = get_logger(__name__)

# How long a closing connection waits for the client to take its close frame and answer it.
CLOSE_FLUSH_S = 2.0
OUTBOX_OVERFLOW_CLOSE = 4008
ABNORMAL_CLOSE = 1006
# A client that stops answering pings (websockets' keepalive code).
KEEPALIVE_CLOSE = 1011
# The largest message a client may send, fragmented or not (a frame past it closes with 1009;
# past `ws_max_frame_bytes` and under this, the client gets error 4413 and the socket stays).
MAX_MESSAGE_BYTES = 1024 * 1024
# Frames a connection may have waiting behind a request in flight before it is read no more.
MAX_PENDING = 64

# Why a connection is not read: these requests, or its replies, are waiting.
_PENDING, _WRITES = 1, 2


@dataclass(frozen=True, slots=True)
class Encoding:
    """A connection's encoding, chosen at connect: how a frame becomes bytes, and the opcode
    those bytes go in. Connections with the same encoding can be sent the same bytes."""

    name: str
    encode: Callable[[dict[str, Any]], bytes]
    opcode: WSMsgType


JSON = Encoding(frames_proto.JSON, orjson.dumps, WSMsgType.TEXT)
PROTO = Encoding(frames_proto.PROTO, frames_proto.encode_frame, WSMsgType.BINARY)


def json_text(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A frame encoded once for many connections: the same payload for every socket."""

    payload: bytes
    opcode: WSMsgType

    @classmethod
    def of(cls, encoding: Encoding, frame: dict[str, Any]) -> Prepared:
        return cls(encoding.encode(frame), encoding.opcode)

    @property
    def size(self) -> int:
        return len(self.payload)


class Requests(Protocol):
    """What a connection hands its client's messages to (ws.WsEndpoint)."""

    def connected(self, conn: Connection) -> None: ...

    def received(self, conn: Connection, payload: bytes) -> None: ...

    def gone(self, conn: Connection) -> None: ...


class Connection(WSListener):
    """One client's socket, and once it logged in, its session (app, user, platform, conn id).

    picows calls on_ws_connected, on_ws_frame for each frame and on_ws_disconnected; frames
    with a payload go to `Requests.received` whole (fragments are joined first). The endpoint
    keeps the order of a connection's requests with `pending` and `task`: a request that has to
    wait runs in a task, and the frames that come meanwhile wait in `pending` behind it."""

    __slots__ = (
        "_closer",
        "_fragments",
        "_max_bytes",
        "_paused",
        "_reply_bytes",
        "_requests",
        "_tcp",
        "budget",
        "closing",
        "conn_id",
        "encoding",
        "failed_logins",
        "gone",
        "logged_out",
        "pending",
        "platform",
        "quiet",
        "sdkappid",
        "task",
        "transport",
        "user",
    )

    transport: WSTransport

    def __init__(
        self,
        requests: Requests,
        encoding: Encoding,
        max_bytes: int,
        budget: FrameBudget,
    ) -> None:
        super().__init__()
        self._requests = requests
        self.encoding = encoding
        self._max_bytes = max_bytes
        self.budget = budget
        # The session, once logged in (conn_id is "" until then).
        self.sdkappid = 0
        self.user = ""
        self.platform = ""
        self.conn_id = ""
        self.failed_logins = 0
        # Requests waiting behind one in flight, and the task running them (None when idle).
        self.pending: deque[bytes] | None = None
        self.task: asyncio.Task[None] | None = None
        # Keepalive sweeps since the client last sent a frame (WsEndpoint.ping_quiet).
        self.quiet = 0
        # Reply bytes written since the write buffer was last empty: not counted against pushes.
        self._reply_bytes = 0
        self._paused = 0
        self._fragments: bytearray | None = None
        self._closer: asyncio.TimerHandle | None = None
        self._tcp: Any = None
        self.closing = False
        self.gone = False
        self.logged_out = False

    # --- picows callbacks -----------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        tcp = self._tcp = transport.underlying_transport
        # Past the budget the transport calls pause_writing: the connection is read no more.
        tcp.set_write_buffer_limits(high=self._max_bytes, low=self._max_bytes // 4)
        # The upgrade's headers are read (the path, in the listener factory) and not needed
        # again: the idle connection does not keep them.
        transport.request.headers = _NO_HEADERS
        if transport.response is not None:
            transport.response.headers = _NO_HEADERS
        self._requests.connected(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.quiet = 0
        if self.closing:
            if frame.msg_type == WSMsgType.CLOSE:
                transport.disconnect()
            return
        msg_type = frame.msg_type
        if msg_type == WSMsgType.TEXT or msg_type == WSMsgType.BINARY:
            if frame.rsv1 or frame.rsv2 or frame.rsv3:
                self.close(WSCloseCode.PROTOCOL_ERROR, "no extension was negotiated")
            elif self._fragments is not None:
                self.close(WSCloseCode.PROTOCOL_ERROR, "expected a continuation frame")
            elif frame.fin:
                self._requests.received(self, frame.get_payload_as_bytes())
            else:
                self._fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type == WSMsgType.CONTINUATION:
            self._continued(frame)
        elif msg_type == WSMsgType.CLOSE:
            # The client closes: answer its close frame, then close the TCP connection.
            code = frame.get_close_code()
            transport.send_close(WSCloseCode.OK if code == WSCloseCode.NO_INFO else code)
            self.closing = True
            transport.disconnect()
        # Pings are answered by picows; a pong only counts as a frame (above).

    def _continued(self, frame: WSFrame) -> None:
        parts = self._fragments
        if parts is None:
            self.close(WSCloseCode.PROTOCOL_ERROR, "unexpected continuation frame")
            return
        if len(parts) + frame.payload_size > MAX_MESSAGE_BYTES:
            self._fragments = None
            self.close(WSCloseCode.MESSAGE_TOO_BIG, "message too big")
            return
        parts += frame.get_payload_as_memoryview()
        if frame.fin:
            self._fragments = None
            self._requests.received(self, bytes(parts))

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.gone = self.closing = True
        if self._closer is not None:
            self._closer.cancel()
            self._closer = None
        self._requests.gone(self)

    def pause_writing(self) -> None:
        self.pause_reading(_WRITES)

    def resume_writing(self) -> None:
        self._reply_bytes = 0
        self.resume_reading(_WRITES)

    # --- reading --------------------------------------------------------------------------

    def pause_reading(self, why: int = _PENDING) -> None:
        if not self._paused and not self.gone:
            self._tcp.pause_reading()
        self._paused |= why

    def resume_reading(self, why: int = _PENDING) -> None:
        if self._paused & why:
            self._paused &= ~why
            if not self._paused and not self.gone:
                self._tcp.resume_reading()

    # --- the session ----------------------------------------------------------------------

    def log_in(self, sdkappid: int, user: str, platform: str, conn_id: str = "") -> None:
        self.sdkappid = sdkappid
        self.user = user
        self.platform = platform
        self.conn_id = conn_id or uuid.uuid4().hex

    @property
    def logged_in(self) -> bool:
        return bool(self.conn_id)

    @property
    def ws(self) -> Connection:
        """The socket, as the ops see it (its remote_address)."""
        return self

    @property
    def close_code(self) -> int:
        """The code of the client's close frame (its own, or its answer to the server's);
        1006 when none came (the link dropped)."""
        handshake = self.transport.close_handshake
        if handshake is None or handshake.recv is None:
            return ABNORMAL_CLOSE
        return int(handshake.recv.code.value)

    @property
    def remote_address(self) -> Any:
        tcp = self._tcp
        return tcp.get_extra_info("peername") if tcp is not None else None

    # --- writing --------------------------------------------------------------------------

    def reply(self, frame: dict[str, Any]) -> None:
        """The answer to one of the client's requests: written at once, never refused."""
        if self.closing:
            return
        data = self.encoding.encode(frame)
        if not self._tcp.get_write_buffer_size():
            self._reply_bytes = 0
        self.transport.send(self.encoding.opcode, data)
        self._reply_bytes += len(data)

    def notify(self, frame: dict[str, Any]) -> None:
        """A frame the server pushes (a read mark, a receipt), bounded like deliveries."""
        if self.closing:
            return
        data = self.encoding.encode(frame)
        if self._room(len(data)):
            self.transport.send(self.encoding.opcode, data)

    def deliver(self, messages: list[dict[str, Any]]) -> None:
        """One `msg` frame of these messages, encoded for this connection alone."""
        self.notify({"op": "msg", "msgs": messages})

    def deliver_frame(self, frame: Prepared) -> None:
        """A `msg` frame encoded already in this connection's encoding (the same bytes go to
        many connections)."""
        if not self.closing and self._room(len(frame.payload)):
            self.transport.send(frame.opcode, frame.payload)

    def _room(self, size: int) -> bool:
        """Whether a push of `size` bytes fits in the write buffer's budget; if not, the client
        is cut off."""
        buffered = self._tcp.get_write_buffer_size()
        if buffered + size <= self._max_bytes + self._reply_bytes:
            return True
        log.warning(
            "outbox overflow",
            app=self.sdkappid,
            user=self.user,
            buffered_bytes=buffered,
        )
        self.close(OUTBOX_OVERFLOW_CLOSE, "outbox overflow")
        return False

    def close_after(self, frame: dict[str, Any], code: int, reason: str) -> None:
        """Send `frame` after everything written before it, then close (a kick's "kicked")."""
        self.reply(frame)
        self.close(code, reason)

    def close(self, code: int | WSCloseCode, reason: str) -> None:
        """Send a close frame; the TCP connection closes when the client answers it, or is
        dropped after CLOSE_FLUSH_S. Nothing more is read or written."""
        if self.closing:
            return
        self.closing = True
        self.transport.send_close(WSCloseCode(code), reason.encode())
        self._closer = asyncio.get_running_loop().call_later(CLOSE_FLUSH_S, self._drop)
        # Requests still coming are not read any more; the client's close frame still is.
        self.resume_reading(_PENDING | _WRITES)

    def _drop(self) -> None:
        self._closer = None
        self.transport.disconnect(graceful=False)


class _NoHeaders(dict[str, str]):
    """The headers of an upgrade once read: none, shared by every connection."""

    def __setitem__(self, key: str, value: str) -> None:
        raise TypeError("read only")


_NO_HEADERS: Any = _NoHeaders()


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


# picows logs each accepted connection at INFO; the gateway's log is for what goes wrong.
logging.getLogger("picows").setLevel(logging.WARNING)
