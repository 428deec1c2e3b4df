"""Two minimal WebSocket client transports for the load generator, chosen with `--ws`:

- `picows`: the picows library (Cython frame parser, SIMD masking, automatic pongs);
- `raw`: an asyncio.Protocol of ~80 lines written here: no extension, frames parsed with slices,
  and a zero masking key (legal: RFC 6455 only asks the client to mask, and XOR with zero keeps
  the payload as it is, so nothing is copied to mask it).

Both hand every text frame to `sink.on_text(bytes)` and take `send_text(bytes)`. The cost of each
per frame is measured by `python -m tests.bench.loadgen.wscost`; picows is the default.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Protocol, cast
from urllib.parse import urlsplit

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

KINDS = ("picows", "raw")


class TextSink(Protocol):
    def on_text(self, payload: bytes) -> None: ...
    def on_closed(self) -> None: ...


class WsConn(Protocol):
    def send_text(self, payload: bytes) -> None: ...
    def close(self) -> None: ...


# --- picows -----------------------------------------------------------------------------------


class _PicowsListener(WSListener):
    def __init__(self, sink: TextSink) -> None:
        super().__init__()
        self.sink = sink

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            self.sink.on_text(frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.sink.on_closed()


class PicowsConn:
    __slots__ = ("_transport",)

    def __init__(self, transport: WSTransport) -> None:
        self._transport = transport

    def send_text(self, payload: bytes) -> None:
        self._transport.send(WSMsgType.TEXT, payload)

    def close(self) -> None:
        self._transport.disconnect(graceful=False)


async def _connect_picows(url: str, sink: TextSink) -> WsConn:
    # Pongs are automatic; no client pings: the gateway pings every 20 s, and a generator whose
    # loop is busy must not time its own connections out.
    transport, _ = await ws_connect(
        lambda: _PicowsListener(sink),
        url,
        websocket_handshake_timeout=60,
        enable_auto_ping=False,
        enable_auto_pong=True,
    )
    return PicowsConn(transport)


# --- raw asyncio ------------------------------------------------------------------------------

_ZERO_MASK = b"\x00\x00\x00\x00"
_OP_TEXT, _OP_CLOSE, _OP_PING, _OP_PONG = 1, 8, 9, 10


def frame_header(opcode: int, length: int) -> bytes:
    """A client frame's header, FIN set, masked with the zero key."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, 0x80 | length)) + _ZERO_MASK
    if length < 65536:
        return bytes((first, 0xFE)) + length.to_bytes(2, "big") + _ZERO_MASK
    return bytes((first, 0xFF)) + length.to_bytes(8, "big") + _ZERO_MASK


class RawWs(asyncio.Protocol):
    def __init__(self, sink: TextSink, host: str, path: str) -> None:
        self.sink = sink
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n\r\n"
        ).encode()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed during the handshake: {exc}"))
        self.sink.on_closed()

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not self.opened.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.opened.set_exception(ConnectionError(buf[:200].decode(errors="replace")))
                return
            self.opened.set_result(None)
            buf = buf[end + 4 :]
        self.buf = self._frames(buf)

    def _frames(self, buf: bytes) -> bytes:
        """Hand over every whole frame in `buf`; return the rest. Server frames are unmasked."""
        pos, end = 0, len(buf)
        while end - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if end - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            stop = pos + head + length
            if stop > end:
                break
            opcode = buf[pos] & 0x0F
            if opcode == _OP_TEXT:
                self.sink.on_text(buf[pos + head : stop])
            elif opcode == _OP_PING:
                self._write(_OP_PONG, buf[pos + head : stop])
            elif opcode == _OP_CLOSE and self.transport is not None:
                self.transport.close()
            pos = stop
        return buf[pos:]

    def _write(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame_header(opcode, len(payload)) + payload)

    def send_text(self, payload: bytes) -> None:
        self._write(_OP_TEXT, payload)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def _connect_raw(url: str, sink: TextSink) -> WsConn:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: RawWs(sink, f"{host}:{port}", path), host, port)
    await asyncio.wait_for(proto.opened, 60)
    return proto


async def connect(kind: str, url: str, sink: TextSink) -> WsConn:
    if kind == "picows":
        return await _connect_picows(url, sink)
    if kind == "raw":
        return await _connect_raw(url, sink)
    raise ValueError(f"unknown WebSocket client {kind!r}; one of {KINDS}")
