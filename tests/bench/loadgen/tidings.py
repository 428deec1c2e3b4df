"""A Tidings client reduced to what the benchmarks need: log in, send, count acks and read the
send timestamp out of each delivered message.

Frames are not parsed on the hot path. The gateway writes `{"op":"msg",...}` and
`{"op":"ack",...}` with `op` first (orjson keeps the order the dict was built in), so the op is
read from a fixed prefix, and each message's text (the send time in ns) is found with
bytes.find. Anything else (login replies, errors) goes through orjson.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from services.common import usersig
from tests.bench.loadgen import ws
from tests.bench.loadgen.tally import Tally

MSG_PREFIX = b'{"op":"msg"'
ACK_PREFIX = b'{"op":"ack"'
ACK_OK = b'"code":0'
TEXT_KEY = b'"Text":"'
LOGIN_ID = 1  # sends use ids above it
_monotonic_ns = time.monotonic_ns


class TidingsSession:
    """One logged-in connection. `audience` is False for a group's sender, whose own sends come
    back as acks, not as deliveries."""

    def __init__(self, user: str, tally: Tally, audience: bool = True) -> None:
        self.user = user
        self.tally = tally
        self.audience = audience
        self.conn: ws.WsConn | None = None
        self.closed = False
        self.slow_frames = 0  # msg and ack frames that missed the fast path (should stay 0)
        self._reply: asyncio.Future[dict[str, Any]] | None = None

    @staticmethod
    def address(user: str) -> bytes:
        return user.encode()

    # -- frames in --------------------------------------------------------------------------

    def on_text(self, payload: bytes) -> None:
        if payload.startswith(MSG_PREFIX):
            if self.audience:
                self._messages(payload)
        elif payload.startswith(ACK_PREFIX):
            self.tally.ack(ACK_OK in payload)
        else:
            self._slow(payload)

    def _messages(self, payload: bytes) -> None:
        now = _monotonic_ns()
        i = payload.find(TEXT_KEY)
        while i >= 0:
            j = payload.find(b'"', i + 8)
            self.tally.message(int(payload[i + 8 : j]), now)
            i = payload.find(TEXT_KEY, j)

    def _slow(self, payload: bytes) -> None:
        frame = orjson.loads(payload)
        op = frame.get("op")
        if op == "msg":
            self.slow_frames += 1
            if self.audience:
                self._messages(payload)
        elif op == "ack":
            self.slow_frames += 1
            self.tally.ack(frame.get("code") == 0)
        elif frame.get("id") == LOGIN_ID and self._reply is not None and not self._reply.done():
            self._reply.set_result(frame)
        elif op in ("error", "kicked"):
            self.tally.error(f"{self.user}: {payload.decode(errors='replace')}")

    def on_closed(self) -> None:
        self.closed = True
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(ConnectionError(f"{self.user}: connection closed"))

    # -- frames out -------------------------------------------------------------------------

    async def login(self, url: str, sdkappid: int, key: str, ws_kind: str) -> None:
        self.conn = await ws.connect(ws_kind, url, self)
        self._reply = asyncio.get_running_loop().create_future()
        sig = usersig.sign(sdkappid, key, self.user)
        self.conn.send_text(
            orjson.dumps(
                {
                    "op": "login",
                    "id": LOGIN_ID,
                    "sdkappid": sdkappid,
                    "identifier": self.user,
                    "usersig": sig,
                    "platform": "Android",
                }
            )
        )
        reply = await asyncio.wait_for(self._reply, 60)
        self._reply = None
        if reply.get("code") != 0:
            raise RuntimeError(f"login of {self.user} refused: {reply}")

    def send_c2c(self, to: bytes, request_id: int) -> None:
        assert self.conn is not None
        self.conn.send_text(
            b'{"op":"send","id":%d,"to":"%b","text":"%d"}' % (request_id, to, _monotonic_ns())
        )

    def send_group(self, group: bytes, request_id: int) -> int:
        assert self.conn is not None
        sent_ns = _monotonic_ns()
        self.conn.send_text(
            b'{"op":"send","id":%d,"group":"%b","text":"%d"}' % (request_id, group, sent_ns)
        )
        return sent_ns

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
