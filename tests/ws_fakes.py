"""A picows transport without a socket, for the gateway's connections in unit tests: it keeps
what is sent, and plays a client that never reads (every byte sent stays in the write buffer)
unless told to drain."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from picows import WSMsgType, WSTransport

from services.gateway.frame_budget import FrameBudget
from services.gateway.sessions import JSON, Connection, Encoding, Requests


class FakeTcp:
    def __init__(self) -> None:
        self.buffered = 0
        self.limits: tuple[int, int] | None = None
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        self.limits = (high, low)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_extra_info(self, name: str) -> Any:
        return ("10.0.0.1", 50000) if name == "peername" else None


class FakeTransport:
    def __init__(self) -> None:
        self.underlying_transport = FakeTcp()
        self.sent: list[tuple[WSMsgType, bytes]] = []
        self.close_sent: tuple[int, bytes] | None = None
        self.disconnected: bool | None = None  # graceful or not
        self.pings = 0
        self.request = SimpleNamespace(path=b"/v1", headers={"Host": "gateway"})
        self.response = SimpleNamespace(headers={"Upgrade": "websocket"})
        self.close_handshake = None

    def send(self, opcode: WSMsgType, payload: bytes) -> None:
        if self.close_sent is None:
            self.sent.append((opcode, payload))
            self.underlying_transport.buffered += len(payload)

    def send_close(self, code: Any, reason: bytes = b"") -> None:
        self.close_sent = (int(code.value), reason)

    def send_ping(self) -> None:
        self.pings += 1

    def disconnect(self, graceful: bool = True) -> None:
        self.disconnected = graceful

    def drain(self) -> None:
        """The client read everything."""
        self.underlying_transport.buffered = 0

    @property
    def payloads(self) -> list[bytes]:
        return [p for _, p in self.sent]


class NoRequests:
    """Keeps the client's messages (`payloads`) and the connections that went."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.gone_conns: list[Connection] = []

    def connected(self, conn: Connection) -> None:
        return None

    def received(self, conn: Connection, payload: bytes) -> None:
        self.payloads.append(payload)

    def gone(self, conn: Connection) -> None:
        self.gone_conns.append(conn)


def connected(
    max_bytes: int = 1024 * 1024,
    encoding: Encoding = JSON,
    requests: Requests | None = None,
) -> tuple[Connection, FakeTransport]:
    """A connection as picows hands it over after the upgrade, on a fake transport."""
    conn = Connection(
        requests or cast(Requests, NoRequests()), encoding, max_bytes, FrameBudget(200, 1000)
    )
    transport = FakeTransport()
    conn.on_ws_connected(cast(WSTransport, transport))
    return conn, transport
