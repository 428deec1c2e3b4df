"""The WebSocket server libraries side by side: picows against websockets, the same minimal
echo-and-push server on each, in its own process, driven by the light load generator's client
(tests/bench/loadgen/ws.py, picows).

    python -m tests.bench.ws_server [--servers picows websockets] [--conns 64] [--rate 5000]
                                    [--pushes 100] [--seconds 5] [--idle 5000]

For each server:

- **received**: --conns connections send --rate text frames a second in total (300 bytes, the
  size of a send frame); the server echoes each. Server CPU (/proc/<pid>/stat) over the window,
  divided by the frames it received (each: read, parse, one reply written);
- **pushed**: a control connection asks for --pushes pushes a second; each push writes one text
  frame (the size of a `msg` frame) to every connection. Server CPU divided by the frames
  pushed. Each library's own send, and for both the frame built once and written as bytes to
  every transport (what the gateway does with a group's frame);
- **idle**: a fresh server process; --idle connections opened and left idle; the server's RSS
  (after a gc.collect(), from /proc/self/statm) before and after, divided by the connections.

The servers are what the gateway would run: websockets with one handler coroutine per connection
(`async for raw in ws`), its keepalive (ping every 20 s) and no compression; picows with a
listener object per connection and callbacks, no task, the read buffer at its minimum. Server
processes run on uvloop. Nothing passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import uvloop

from services.embedded.launchers import free_port, wait_tcp
from tests.bench.loadgen.procstat import cpu_seconds
from tests.bench.loadgen.ws import WsConn, connect

SERVERS = ("picows", "picows-uvloop", "websockets")
SEND_FRAME = b'{"op":"send","id":12345,"to":"r0","client_msg_id":"m1","text":"' + b"x" * 230 + b'"}'
PUSH_FRAME = (
    b'{"op":"msg","msgs":[{"kind":"message","conversation":"c2c:s0:r0","seq":42,'
    b'"time":1700000000456,"sender":"s0","to":"r0","group":"","msg_key":"1_42_1700000000",'
    b'"random":9,"client_msg_id":"x","elements":[{"MsgType":"TIMTextElem","MsgContent":'
    b'{"Text":"' + b"y" * 200 + b'"}}],"cloud_custom_data":""}]}'
)
# Control frames (from the driver's control connection).
PUSH_SEND, PUSH_WIRE, RSS = b"!push-send", b"!push-wire", b"!rss"


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def wire_frame(payload: bytes) -> bytes:
    """An unmasked server text frame, FIN set."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 65536:
        head = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return head + payload


# --- the servers (each run in its own process: `--serve NAME --port P`) -----------------------


async def serve_picows(port: int, use_aiofastnet: bool) -> None:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

    conns: set[WSTransport] = set()
    wire = wire_frame(PUSH_FRAME)

    class Echo(WSListener):
        __slots__ = ()

        def on_ws_connected(self, transport: WSTransport) -> None:
            conns.add(transport)

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            conns.discard(transport)

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type != WSMsgType.TEXT:
                if frame.msg_type == WSMsgType.CLOSE:
                    transport.send_close(frame.get_close_code())
                    transport.disconnect()
                return
            payload = frame.get_payload_as_bytes()
            if payload[:1] != b"!":
                transport.send(WSMsgType.TEXT, payload)
            elif payload == PUSH_SEND:
                for t in conns:
                    if t is not transport:
                        t.send(WSMsgType.TEXT, PUSH_FRAME)
            elif payload == PUSH_WIRE:
                for t in conns:
                    if t is not transport:
                        t.underlying_transport.write(wire)
            elif payload == RSS:
                gc.collect()
                transport.send(WSMsgType.TEXT, b"rss %d" % rss_bytes())

    server = await ws_create_server(
        lambda _: Echo(),
        "127.0.0.1",
        port,
        read_buffer_init_size=0,
        max_frame_size=1024 * 1024,
        use_aiofastnet=use_aiofastnet,
        backlog=1024,
        # Not a logging.Logger: picows would make a child Logger per connection.
        logger_name=logging.LoggerAdapter(logging.getLogger("picows.server")),
    )
    async with server:
        await server.serve_forever()


async def serve_websockets(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve
    from websockets.exceptions import ConnectionClosed

    conns: set[ServerConnection] = set()
    wire = wire_frame(PUSH_FRAME)
    push_text = PUSH_FRAME.decode()

    async def handler(ws: ServerConnection) -> None:
        conns.add(ws)
        try:
            async for raw in ws:
                if isinstance(raw, str) and raw[:1] != "!":
                    await ws.send(raw)
                elif raw == PUSH_SEND.decode():
                    broadcast([c for c in conns if c is not ws], push_text)
                elif raw == PUSH_WIRE.decode():
                    for c in conns:
                        if c is not ws:
                            c.transport.write(wire)
                elif raw == RSS.decode():
                    gc.collect()
                    await ws.send(f"rss {rss_bytes()}")
        except ConnectionClosed:
            pass
        finally:
            conns.discard(ws)

    async with serve(
        handler,
        "127.0.0.1",
        port,
        max_size=1024 * 1024,
        ping_interval=20,
        ping_timeout=20,
        compression=None,
        backlog=1024,
    ) as server:
        await server.serve_forever()


def serve_main(name: str, port: int) -> None:
    if name == "websockets":
        uvloop.run(serve_websockets(port))
    else:
        uvloop.run(serve_picows(port, use_aiofastnet=name == "picows"))


# --- the driver -------------------------------------------------------------------------------


class Counter:
    """A connection's sink: counts text frames; the control connection's replies wake `reply`."""

    __slots__ = ("closed", "received", "reply")

    def __init__(self) -> None:
        self.received = 0
        self.closed = False
        self.reply: asyncio.Future[bytes] | None = None

    def on_text(self, payload: bytes) -> None:
        if self.reply is not None and not self.reply.done():
            self.reply.set_result(payload)
            return
        self.received += 1

    def on_closed(self) -> None:
        self.closed = True


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, name: str) -> Server:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.ws_server", "--serve", name, "--port", str(port)]
        )
        wait_tcp("127.0.0.1", port, 20)
        return cls(name, port, proc)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1"

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


async def open_many(url: str, n: int, concurrency: int = 200) -> list[tuple[WsConn, Counter]]:
    out: list[tuple[WsConn, Counter]] = []
    for i in range(0, n, concurrency):
        sinks = [Counter() for _ in range(min(concurrency, n - i))]
        conns = await asyncio.gather(*(connect("picows", url, s) for s in sinks))
        out.extend(zip(conns, sinks, strict=True))
    return out


async def ask(control: tuple[WsConn, Counter], what: bytes) -> bytes:
    conn, sink = control
    sink.reply = asyncio.get_running_loop().create_future()
    conn.send_text(what)
    return await asyncio.wait_for(sink.reply, 60)


def push_modes(conn: WsConn, mode: bytes, k: int) -> None:
    for _ in range(k):
        conn.send_text(mode)


async def paced(rate: float, seconds: float, send: object) -> int:
    """Call send(k) every 2 ms with the k sends due since the last call; returns how many."""
    assert callable(send)
    tick = 0.002
    start = time.monotonic()
    done = 0
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            return done
        due = int((now - start) * rate) - done
        if due > 0:
            send(due)
            done += due
        await asyncio.sleep(tick)


async def settle(counters: list[Counter], want: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while sum(c.received for c in counters) < want and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


@dataclass
class Figures:
    name: str
    recv_us: float
    push_send_us: float
    push_wire_us: float
    idle_kib: float


async def measure(
    name: str, conns: int, rate: float, pushes: float, seconds: float, idle: int
) -> Figures:
    server = Server.start(name)
    try:
        clients = await open_many(server.url, conns)
        control = (await open_many(server.url, 1))[0]
        counters = [c for _, c in clients]
        await asyncio.sleep(0.5)

        # Received frames, each echoed.
        turn = 0

        def send(k: int) -> None:
            nonlocal turn
            for _ in range(k):
                clients[turn % conns][0].send_text(SEND_FRAME)
                turn += 1

        cpu0 = server.cpu()
        sent = await paced(rate, seconds, send)
        await settle(counters, sent)
        recv_us = (server.cpu() - cpu0) / sent * 1e6

        figures = {}
        for mode in (PUSH_SEND, PUSH_WIRE):
            await asyncio.sleep(0.5)
            before = sum(c.received for c in counters)
            cpu0 = server.cpu()
            asked = await paced(
                pushes, seconds, lambda k, mode=mode: push_modes(control[0], mode, k)
            )
            await settle(counters, before + asked * conns)
            figures[mode] = (server.cpu() - cpu0) / (asked * conns) * 1e6
        for c, _ in clients:
            c.close()
        control[0].close()
    finally:
        server.stop()

    # Idle connections, in a fresh server.
    server = Server.start(name)
    try:
        control = (await open_many(server.url, 1))[0]
        await asyncio.sleep(0.5)
        rss0 = int((await ask(control, RSS)).split()[1])
        many = await open_many(server.url, idle)
        await asyncio.sleep(2)
        rss1 = int((await ask(control, RSS)).split()[1])
        open_now = sum(not s.closed for _, s in many)
        for c, _ in many:
            c.close()
        control[0].close()
    finally:
        server.stop()
    return Figures(
        name,
        recv_us,
        figures[PUSH_SEND],
        figures[PUSH_WIRE],
        (rss1 - rss0) / open_now / 1024,
    )


def table(rows: list[Figures], conns: int, rate: float, pushes: float, idle: int) -> str:
    head = (
        f"| server | µs per received frame ({rate:,.0f}/s over {conns} conns, echoed) "
        f"| µs per pushed frame, library send ({pushes:,.0f} pushes/s × {conns}) "
        f"| µs per pushed frame, pre-built bytes | KiB per idle connection ({idle:,}) |\n"
        "|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.recv_us:.1f} | {r.push_send_us:.1f} | {r.push_wire_us:.1f} "
            f"| {r.idle_kib:.1f} |"
        )
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    rows = []
    for name in args.servers:
        fig = await measure(name, args.conns, args.rate, args.pushes, args.seconds, args.idle)
        print(
            f"{name}: {fig.recv_us:.1f} µs/received frame, {fig.push_send_us:.1f} µs/pushed frame"
            f" (send), {fig.push_wire_us:.1f} (bytes), {fig.idle_kib:.1f} KiB/idle connection",
            flush=True,
        )
        rows.append(fig)
    print()
    print(table(rows, args.conns, args.rate, args.pushes, args.idle))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--servers", nargs="+", choices=SERVERS, default=list(SERVERS))
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--rate", type=float, default=5000, help="frames a second, all connections")
    p.add_argument("--pushes", type=float, default=100, help="pushes a second (× conns frames)")
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--idle", type=int, default=5000, help="idle connections for the RSS figure")
    p.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return p.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.serve:
        with contextlib.suppress(KeyboardInterrupt):
            serve_main(args.serve, args.port)
    else:
        uvloop.run(main(args))
