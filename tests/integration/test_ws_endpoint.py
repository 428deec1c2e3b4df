"""The gateway's WebSocket endpoint in this process, on real sockets: the picows server and
WsEndpoint with its real login (UserSig, sessions in Valkey, the SQLite store), a producer that
acks at once, and Deliver from GatewayServicer. What it proves:

- an idle connection costs no task, and a send answered from memory makes none either;
- a client that never reads is cut off once the transport's write buffer holds the budget,
  which it never passes by more than one frame;
- a client that sends without reading its replies is read more slowly, not cut off, and gets
  every reply once it reads;
- the keepalive sweep pings a quiet client, and closes one that does not answer.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.producer.message_accumulator import BatchBuilder

from services.common import apps, usersig
from services.common.app_cache import AppCache
from services.common.config import Settings
from services.common.grpc_util import Channels
from services.common.pb.tidings.v1 import gateway_pb2, history_pb2_grpc
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_C2C, Message, MsgElement
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.redis_state import SessionRegistry, connect
from services.common.store.ports import Account
from services.common.store.sqlite import SqliteStores
from services.embedded.launchers import free_port, start_valkey
from services.gateway import sessions
from services.gateway.auth import Authenticator
from services.gateway.directory import Directory
from services.gateway.grpc_service import GatewayServicer
from services.gateway.publisher import Publisher
from services.gateway.ratelimit import RateLimiter
from services.gateway.sessions import LocalSessions
from services.gateway.ws import WsEndpoint, serve
from tests.bench.loadgen.ws import WsConn
from tests.bench.loadgen.ws import connect as light_connect
from tests.conftest import eventually

PARTITIONS = 2
BUDGET = 64 * 1024


class AckingProducer:
    """Takes record batches and acks them at once."""

    def __init__(self) -> None:
        self.records = 0

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(256 * 1024, 0)

    def _acked(self) -> asyncio.Future[object]:
        fut: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut

    async def send(self, topic: str, **_: Any) -> asyncio.Future[object]:
        self.records += 1
        return self._acked()

    async def send_batch(self, batch: BatchBuilder, topic: str, **_: Any) -> asyncio.Future[object]:
        self.records += batch.record_count()
        return self._acked()


@dataclass
class Gateway:
    endpoint: WsEndpoint
    local: LocalSessions
    publisher: Publisher
    servicer: GatewayServicer
    sdkappid: int
    key: str
    url: str

    def sig(self, user: str) -> str:
        return usersig.sign(self.sdkappid, self.key, user)

    def login_frame(self, user: str) -> bytes:
        return orjson.dumps(
            {
                "op": "login",
                "id": 1,
                "sdkappid": self.sdkappid,
                "identifier": user,
                "usersig": self.sig(user),
            }
        )

    def complete_all(self) -> int:
        """Play the router: every send in flight gets its outcome."""
        outcomes = [
            Outcome(request_id=rid, seq=i + 1, server_time_ms=1, msg_key="k", conversation="c")
            for i, rid in enumerate(list(self.publisher._pending))
        ]
        return self.publisher.complete(outcomes)


USERS = [f"u{i}" for i in range(120)]


@pytest.fixture(scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    tmp = tmp_path_factory.mktemp("ws-endpoint")
    valkey_port = free_port()
    valkey = start_valkey(valkey_port, Path(tmp) / "valkey", Path(tmp) / "logs")
    redis = connect(f"redis://127.0.0.1:{valkey_port}/0")
    stores = SqliteStores(Path(tmp) / "tidings.db")
    channels = Channels()
    try:
        app = await apps.create_app(stores.apps, "ws", "Standard")
        app.settings["send_rate"] = {"limit": 1_000_000, "per_s": 1}
        await stores.apps.save_app(app)
        await stores.directory.upsert_accounts(app.sdkappid, [Account(u) for u in USERS])
        settings = Settings(
            data_dir=Path(tmp),
            node_id="gw-test",
            ws_port=free_port(),
            ws_outbox_max_bytes=BUDGET,
        )
        local = LocalSessions()
        publisher = Publisher(AckingProducer(), "gw-test", "127.0.0.1:1", 30.0)  # type: ignore[arg-type]
        endpoint = WsEndpoint(
            settings,
            Authenticator(AppCache(stores.apps), Directory(stores)),
            local,
            SessionRegistry(redis),
            publisher,
            history_pb2_grpc.HistoryServiceStub(channels.get("127.0.0.1:1")),
            "127.0.0.1:1",
            stores,
            channels,
            RateLimiter(redis),
            redis,
        )
        server = await serve(endpoint, settings)
        yield Gateway(
            endpoint,
            local,
            publisher,
            GatewayServicer(local, publisher),
            app.sdkappid,
            apps.current_key(app),
            f"ws://127.0.0.1:{settings.ws_port}/v1",
        )
        server.close()
        await endpoint.close_all()
    finally:
        await channels.close()
        await stores.close()
        await redis.aclose()
        valkey.stop()


class Light:
    """A picows client (no task of its own), counting what it gets."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed = False
        self.got = asyncio.Event()
        self.conn: WsConn | None = None

    def on_text(self, payload: bytes) -> None:
        self.frames.append(payload)
        self.got.set()

    def on_closed(self) -> None:
        self.closed = True

    async def next(self) -> dict[str, Any]:
        while not self.frames:
            self.got.clear()
            await asyncio.wait_for(self.got.wait(), 10)
        return orjson.loads(self.frames.pop(0))  # type: ignore[no-any-return]

    async def login(self, gw: Gateway, user: str) -> None:
        self.conn = await light_connect("picows", gw.url, self)
        self.conn.send_text(gw.login_frame(user))
        reply = await self.next()
        assert reply["op"] == "login" and reply["code"] == 0, reply


async def logged_in(gw: Gateway, users: list[str]) -> list[Light]:
    clients = [Light() for _ in users]
    await asyncio.gather(*(c.login(gw, u) for c, u in zip(clients, users, strict=True)))
    return clients


def tasks() -> int:
    return len(asyncio.all_tasks())


async def settled() -> int:
    """The task count once the logins' own short tasks (events, presence) are done."""
    await asyncio.sleep(0.3)
    return tasks()


async def test_idle_connections_and_sends_from_memory_cost_no_task(gateway: Gateway) -> None:
    few = await logged_in(gateway, USERS[:10])
    with_few = await settled()
    many = await logged_in(gateway, USERS[10:100])
    with_many = await settled()
    # Ninety more connections, logged in and idle: not one more task.
    assert with_many == with_few, (with_few, with_many)
    clients = few + many
    assert len(gateway.local) == 100

    # Sends: a first round warms the caches (the directory loads each recipient once).
    def send_round(n: int) -> None:
        for i, c in enumerate(clients):
            assert c.conn is not None
            peer = USERS[(i + 1) % 100]
            c.conn.send_text(b'{"op":"send","id":%d,"to":"%b","text":"hi"}' % (n, peer.encode()))

    async def pending(n: int) -> bool:
        return len(gateway.publisher._pending) >= n

    send_round(2)
    await eventually(lambda: pending(100), timeout=10, interval=0.01)
    gateway.complete_all()
    loop = asyncio.get_running_loop()
    made: list[object] = []
    default = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)
    try:
        send_round(3)
        await eventually(lambda: pending(100), timeout=10, interval=0.01)
        acked = gateway.complete_all()
    finally:
        loop.set_task_factory(default)
    assert acked == 100
    # A send answered from memory runs to the publisher's submit in picows' callback: no task.
    assert [getattr(c, "__qualname__", c) for c in made] == []
    await eventually(lambda: acked_twice(clients), timeout=10, interval=0.01)
    for c in clients:
        acks = [orjson.loads(f) for f in c.frames if f.startswith(b'{"op":"ack"')]
        assert [a["id"] for a in acks] == [2, 3], c.frames
        assert c.conn is not None
        c.conn.close()
    await eventually(lambda: no_sessions(gateway), timeout=10, interval=0.01)


class RawClient:
    """A client on a bare socket with a small receive buffer: it reads only when told."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    @classmethod
    async def open(cls, url: str) -> RawClient:
        host, port = url.removeprefix("ws://").split("/")[0].split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        await loop.sock_sendall(
            sock,
            (
                f"GET /v1 HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {key}\r\n\r\n"
            ).encode(),
        )
        client = cls(sock)
        head = await client._until(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return client

    async def _until(self, marker: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        while marker not in self.buf:
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), 10)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        head, self.buf = self.buf.split(marker, 1)
        return head

    async def send(self, payload: bytes, opcode: int = 1) -> None:
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        # Masked with the zero key: the payload as it is.
        await asyncio.get_running_loop().sock_sendall(self.sock, head + b"\0\0\0\0" + payload)

    async def frame(self) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        while True:
            if len(self.buf) >= 2:
                opcode, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
                at = 2
                if n == 126 and len(self.buf) >= 4:
                    n, at = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
                if (n < 126 or at > 2) and len(self.buf) >= at + n:
                    payload, self.buf = self.buf[at : at + n], self.buf[at + n :]
                    return opcode, payload
            chunk = await asyncio.wait_for(loop.sock_recv(self.sock, 65536), 10)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    async def text(self) -> dict[str, Any]:
        while True:
            opcode, payload = await self.frame()
            if opcode == 1:
                return orjson.loads(payload)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.sock.close()


def big_delivery(gw: Gateway, user: str, seq: int) -> gateway_pb2.DeliverRequest:
    message = Message(
        sdkappid=gw.sdkappid,
        conversation=f"c2c:{user}:z",
        chat_type=CHAT_TYPE_C2C,
        seq=seq,
        sender="z",
        to_user=user,
        elements=[
            MsgElement(msg_type="TIMTextElem", content_json=orjson.dumps({"Text": "x" * 10_000}))
        ],
    )
    req = gateway_pb2.DeliverRequest()
    req.messages.add(message=message.SerializeToString(), sdkappid=gw.sdkappid, users=[user])
    return req


async def test_a_client_that_never_reads_is_cut_off_at_the_write_buffer_budget(
    gateway: Gateway, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sessions, "CLOSE_FLUSH_S", 0.3)
    client = await RawClient.open(gateway.url)
    await client.send(gateway.login_frame("u100"))
    assert (await client.text())["op"] == "login"
    (conn,) = gateway.local.of(gateway.sdkappid, "u100")
    # From here on the client reads nothing: ~10 KB messages until the gateway gives up on it.
    most = 0
    for seq in range(1, 2001):
        request = big_delivery(gateway, "u100", seq)
        reply = await gateway.servicer.Deliver(request, None)  # type: ignore[arg-type]
        if conn.closing:
            break
        assert reply.delivered == 1
        most = max(most, conn._tcp.get_write_buffer_size())
        await asyncio.sleep(0)  # the loop runs: the kernel takes what it can
    assert conn.closing, "never cut off"
    assert conn.transport.close_handshake.sent.code.value == 4008
    # The gateway never held more for it than the budget (a push that would pass it is refused).
    assert 0 < most <= BUDGET, most
    # It does not take the close frame either: dropped, and logged out.
    await eventually(lambda: logged_out(conn, gateway), timeout=10, interval=0.01)
    client.close()


async def test_a_client_that_does_not_read_its_replies_is_read_more_slowly(
    gateway: Gateway,
) -> None:
    client = await RawClient.open(gateway.url)
    await client.send(gateway.login_frame("u101"))
    assert (await client.text())["op"] == "login"
    (conn,) = gateway.local.of(gateway.sdkappid, "u101")
    # Each request gets a ~60 KB error reply ("unknown op ..."): 400 of them (24 MB, more than
    # the kernel's buffers hold), none read.
    asks = 400
    bad = {"op": "x" * 60_000}
    sender = asyncio.get_running_loop().create_task(
        _send_all(client, [orjson.dumps({**bad, "id": i}) for i in range(asks)])
    )
    await asyncio.sleep(1.0)
    # The gateway stopped reading it once its replies filled the budget; it was not cut off.
    assert not sender.done(), "every request was read: nothing pushed back"
    assert not conn.closing
    # The requests picows had in hand when reading stopped (one read of its buffer) are
    # answered too: that many replies past the budget at most, nowhere near the 24 MB asked.
    assert conn._tcp.get_write_buffer_size() <= 2 * 1024 * 1024
    # Now it reads: every reply comes, in order, and the requests held back go through.
    ids = [(await client.text())["id"] for _ in range(asks)]
    await asyncio.wait_for(sender, 10)
    assert ids == list(range(asks))
    client.close()


async def _send_all(client: RawClient, payloads: list[bytes]) -> None:
    for p in payloads:
        await client.send(p)


async def test_a_quiet_client_is_pinged_and_closed_when_it_does_not_answer(
    gateway: Gateway,
) -> None:
    answering = Light()
    await answering.login(gateway, "u102")  # picows answers pings by itself
    silent = await RawClient.open(gateway.url)  # answers nothing
    await silent.send(gateway.login_frame("u103"))
    assert (await silent.text())["op"] == "login"
    gateway.endpoint.ping_quiet()  # both quiet since the last sweep: pinged
    opcode, _ = await silent.frame()
    assert opcode == 0x9
    await asyncio.sleep(0.2)  # the pong comes back from the picows client
    gateway.endpoint.ping_quiet()  # the silent one sent nothing, not even the pong
    opcode, payload = await silent.frame()
    assert (opcode, struct.unpack("!H", payload[:2])[0]) == (0x8, 1011)
    assert not answering.closed
    (conn,) = gateway.local.of(gateway.sdkappid, "u102")
    assert not conn.closing
    silent.close()
    assert answering.conn is not None
    answering.conn.close()


async def acked_twice(clients: list[Any]) -> bool:
    return all(sum(f.startswith(b'{"op":"ack"') for f in c.frames) >= 2 for c in clients)


async def no_sessions(gateway: Any) -> bool:
    return len(gateway.local) == 0


async def logged_out(conn: Any, gateway: Any) -> bool:
    return bool(conn.gone) and not gateway.local.has(gateway.sdkappid, "u100")
