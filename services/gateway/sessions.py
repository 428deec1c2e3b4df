"""Client connections on this gateway node.

Each connection has an outbox and one writer task created at login: deliveries and acks are
appended without awaiting the socket, and the writer coalesces what has piled up into one
frame, so a burst costs one write and a slow client never blocks the router's Deliver call.
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

# A client that stops reading is cut off rather than buffered without bound.
MAX_OUTBOX = 10_000
# How long a closing connection waits for its writer to send what is queued.
CLOSE_FLUSH_S = 2.0


def json_text(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


class Connection:
    __slots__ = (
        "_closing",
        "_encode",
        "_flushed",
        "_msgs",
        "_replies",
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
    ) -> None:
        self.ws = ws
        # The connection's encoding, chosen at connect: JSON text, or protobuf binary frames.
        self._encode = encode or json_text
        self.sdkappid = sdkappid
        self.user = user
        self.platform = platform
        self.conn_id = uuid.uuid4().hex
        self._replies: deque[dict[str, Any]] = deque()
        self._msgs: deque[dict[str, Any]] = deque()
        self._wake = asyncio.Event()
        # Set by close_after: the writer stops once the queued replies are sent.
        self._closing = False
        self._flushed = asyncio.Event()

    def reply(self, frame: dict[str, Any]) -> None:
        self._replies.append(frame)
        self._wake.set()

    def deliver(self, message: dict[str, Any]) -> None:
        if len(self._msgs) >= MAX_OUTBOX:
            self._msgs.clear()
            asyncio.get_running_loop().create_task(self.ws.close(4008, "outbox overflow"))
            return
        self._msgs.append(message)
        self._wake.set()

    async def close_after(self, frame: dict[str, Any], code: int, reason: str) -> None:
        """Send `frame` after everything queued before it, then close the socket.

        Only the writer task sends: closing at once would drop what it has not sent yet (a
        kick's own "kicked" frame). A client that does not read is closed after CLOSE_FLUSH_S.
        """
        self._closing = True
        self.reply(frame)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._flushed.wait(), CLOSE_FLUSH_S)
        await self.ws.close(code, reason)

    async def write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                frames = [self._encode(f) for f in self._replies]
                self._replies.clear()
                if self._msgs:
                    frames.append(self._encode({"op": "msg", "msgs": list(self._msgs)}))
                    self._msgs.clear()
                for frame in frames:
                    await self.ws.send(frame)
                if self._closing and not self._replies:
                    return
        except ConnectionClosed:
            return
        finally:
            self._flushed.set()


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
