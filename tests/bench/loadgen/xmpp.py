"""A minimal XMPP client (RFC 6120 over plain TCP, SASL PLAIN, in-band registration) for the
peer benchmarks, built like the Tidings one: no XML parser on the hot path. Each delivered
message's `<body>` holds the send time in ns and is found with bytes.find.

Handshake steps wait for a byte pattern in what the server sent; they run only at login.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import cast

from tests.bench.loadgen.tally import Tally

NS_MUC = "http://jabber.org/protocol/muc"
RESOURCE = "r"
BODY, BODY_END = b"<body>", b"</body>"
ERROR_TYPE = b"type='error'"
_monotonic_ns = time.monotonic_ns


def stream_header(domain: str) -> bytes:
    return (
        f"<?xml version='1.0'?><stream:stream to='{domain}' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    ).encode()


class XmppSession(asyncio.Protocol):
    def __init__(self, user: str, domain: str, tally: Tally, audience: bool = True) -> None:
        self.user = user
        self.domain = domain
        self.tally = tally
        self.audience = audience
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.slow_frames = 0  # as in TidingsSession; nothing here is off a fast path
        self.buf = b""
        # While a handshake step waits: the patterns that end it, and what has come so far.
        self._want: tuple[bytes, ...] = ()
        self._seen = bytearray()
        self._got: asyncio.Future[bytes] | None = None
        self.room_jid = b""

    def address(self, user: str) -> bytes:
        return f"{user}@{self.domain}/{RESOURCE}".encode()

    # -- bytes in ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._got is not None and not self._got.done():
            self._got.set_exception(ConnectionError(f"{self.user}: closed ({exc})"))

    def data_received(self, data: bytes) -> None:
        if self._want:
            self._seen += data
            if any(w in self._seen for w in self._want) and self._got is not None:
                self._want = ()
                self._got.set_result(bytes(self._seen))
                self._seen.clear()
            return
        if self.audience:
            self._bodies(data)

    def _bodies(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        now = _monotonic_ns()
        pos = 0
        while True:
            start = buf.find(BODY, pos)
            end = buf.find(BODY_END, start) if start >= 0 else -1
            if end < 0:
                # Keep what may be the start of a stanza cut by the segment boundary.
                cut = buf.rfind(b"<message", pos)
                if cut < 0:
                    cut = buf.rfind(b"<", pos)
                self.buf = buf[cut:] if cut >= 0 else b""
                return
            stanza = buf.rfind(b"<message", pos, start)
            if ERROR_TYPE in buf[max(stanza, pos) : start]:
                self.tally.error(f"{self.user}: {buf[stanza:end].decode(errors='replace')}")
            else:
                self.tally.message(int(buf[start + len(BODY) : end]), now)
            pos = end + len(BODY_END)

    # -- handshake --------------------------------------------------------------------------

    async def _step(self, out: bytes, *want: bytes, timeout: float = 60) -> bytes:
        assert self.transport is not None
        self._got = asyncio.get_running_loop().create_future()
        self._want = want
        self.transport.write(out)
        return await asyncio.wait_for(self._got, timeout)

    async def login(self, host: str, port: int, register: bool) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, host, port)
        header = stream_header(self.domain)
        await self._step(header, b"</stream:features>")
        if register:
            reply = await self._step(
                b"<iq type='set' id='reg'><query xmlns='jabber:iq:register'>"
                b"<username>%b</username><password>p</password></query></iq>" % self.user.encode(),
                b"</iq>",
                b"id='reg'/>",
            )
            if b"type='result'" not in reply and b"conflict" not in reply:
                raise RuntimeError(f"registration of {self.user} refused: {reply[:300]!r}")
        token = base64.b64encode(b"\0%b\0p" % self.user.encode())
        reply = await self._step(
            b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%b</auth>" % token,
            b"<success",
            b"<failure",
        )
        if b"<success" not in reply:
            raise RuntimeError(f"login of {self.user} refused: {reply[:300]!r}")
        await self._step(header, b"</stream:features>")
        await self._step(
            b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            b"<resource>%b</resource></bind></iq>" % RESOURCE.encode(),
            b"</iq>",
        )

    async def join_room(self, room_jid: str, create: bool) -> None:
        """Enter a MUC room with no history. The creator also submits the default configuration
        (an "instant room", XEP-0045 10.1.2), which unlocks the room for the others."""
        self.room_jid = room_jid.encode()
        await self._step(
            b"<presence to='%b/%b'><x xmlns='%b'><history maxstanzas='0'/></x></presence>"
            % (self.room_jid, self.user.encode(), NS_MUC.encode()),
            b"code='110'",
            b"type='error'",
        )
        if create:
            reply = await self._step(
                b"<iq type='set' id='cfg' to='%b'><query xmlns='%b#owner'>"
                b"<x xmlns='jabber:x:data' type='submit'/></query></iq>"
                % (self.room_jid, NS_MUC.encode()),
                b"id='cfg'",
            )
            if b"type='result'" not in reply:
                raise RuntimeError(f"room configuration refused: {reply[:300]!r}")

    # -- bytes out --------------------------------------------------------------------------

    def send_c2c(self, to: bytes, request_id: int) -> None:
        assert self.transport is not None
        self.transport.write(
            b"<message to='%b' type='chat' id='%d'><body>%d</body></message>"
            % (to, request_id, _monotonic_ns())
        )

    def send_group(self, group: bytes, request_id: int) -> int:
        assert self.transport is not None
        sent_ns = _monotonic_ns()
        self.transport.write(
            b"<message to='%b' type='groupchat' id='%d'><body>%d</body></message>"
            % (group, request_id, sent_ns)
        )
        return sent_ns

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"</stream:stream>")
            self.transport.close()
