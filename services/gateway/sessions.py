"""Client connections on this gateway node.

Each connection has an outbox and one writer task created at login: deliveries and acks are
appended without awaiting the socket, and the writer coalesces what has piled up into one
frame, so a burst costs one write and a slow client never blocks the router's Deliver call.

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
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from services.common.logging import get_logger

log = get_logger(__name__)

# A client that stops reading is cut off rather than buffered without bound.
MAX_OUTBOX = 10_000
# How long a closing connection waits for its writer to send what is queued, and then for
# the client to take the close frame.
CLOSE_FLUSH_S = 2.0
OUTBOX_OVERFLOW_CLOSE = 4008


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
        "_encode",
        "_flushed",
        "_max_bytes",
        "_msgs",
        "_push_bytes",
        "_replies",
        "_reply_bytes",
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
        encode: Callable[[dict[str, Any]], str | bytes] | None = None,
        max_bytes: int = 1024 * 1024,
    ) -> None:
        self.ws = ws
        # The connection's encoding, chosen at connect: JSON text, or protobuf binary frames.
        self._encode = encode or json_text
        self.sdkappid = sdkappid
        self.user = user
        self.platform = platform
        self.conn_id = uuid.uuid4().hex
        # Encoded replies and notices, and the messages the writer will batch into one frame.
        self._replies: deque[str | bytes] = deque()
        self._msgs: deque[dict[str, Any]] = deque()
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
        self._push_bytes += size
        self._wake.set()

    def _over(self, size: int) -> bool:
        """Whether one more push of `size` bytes overflows the outbox; if so the client is cut
        off and what was queued for it is freed."""
        if len(self._msgs) < MAX_OUTBOX and self._push_bytes + size <= self._max_bytes:
            return False
        log.warning(
            "outbox overflow",
            app=self.sdkappid,
            user=self.user,
            messages=len(self._msgs),
            queued_bytes=self._push_bytes + self._reply_bytes,
        )
        self._cut_off = True
        self._msgs.clear()
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

    def _take(self) -> list[str | bytes]:
        """Everything queued, as frames to send; the queues and their byte counts start over."""
        frames = list(self._replies)
        self._replies.clear()
        if self._msgs:
            frames.append(self._encode({"op": "msg", "msgs": list(self._msgs)}))
            self._msgs.clear()
        self._push_bytes = self._reply_bytes = 0
        self._taken.set()
        return frames

    async def write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                for frame in self._take():
                    await self.ws.send(frame)
                if self._closing and not self._replies:
                    return
        except ConnectionClosed:
            return
        finally:
            self._flushed.set()
            self._taken.set()


class LocalSessions:
    """(app, user) -> this node's connections for that user."""

    def __init__(self) -> None:
        self._by_user: dict[tuple[int, str], dict[str, Connection]] = {}

    def add(self, conn: Connection) -> None:
        self._by_user.setdefault((conn.sdkappid, conn.user), {})[conn.conn_id] = conn

    def remove(self, conn: Connection) -> None:
        key = (conn.sdkappid, conn.user)
        conns = self._by_user.get(key)
        if conns is not None:
            conns.pop(conn.conn_id, None)
            if not conns:
                del self._by_user[key]

    def of(self, sdkappid: int, user: str) -> list[Connection]:
        return list(self._by_user.get((sdkappid, user), {}).values())

    def users(self) -> list[tuple[int, str]]:
        return list(self._by_user)

    def __iter__(self) -> Iterator[Connection]:
        for conns in list(self._by_user.values()):
            yield from list(conns.values())

    def __len__(self) -> int:
        return sum(len(c) for c in self._by_user.values())
