"""What the load generator's WebSocket client costs per frame, for each client in ws.py.

    python -m tests.bench.loadgen.wscost [--rate 5000] [--seconds 5] [--conns 64]

A stand-in gateway (a picows server in another process) answers each send frame with an ack
frame and a msg frame shaped like the gateway's, carrying the send time back. The client side
is the real generator code (TidingsSession, the paced loop of worker.py) in this process, whose
CPU (/proc/self/stat) is divided by the frames it sent and read.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

from services.embedded.launchers import free_port
from tests.bench.loadgen.procstat import cpu_seconds
from tests.bench.loadgen.tally import Tally, histogram_of
from tests.bench.loadgen.tidings import TidingsSession
from tests.bench.loadgen.worker import Session, pace
from tests.bench.loadgen.ws import KINDS

LOGIN_OK = b'{"op":"login","id":1,"code":0,"conn_id":"c","server_time":0,"v":1}'
ACK = (
    b'{"op":"ack","id":%b,"code":0,"seq":41,"msg_key":"1287657_41_1700000000",'
    b'"time":1700000000123,"conversation":"c2c:s0:r0","duplicate":false}'
)
MSG = (
    b'{"op":"msg","msgs":[{"kind":"message","recalled":false,"deleted":false,'
    b'"conversation":"c2c:s0:r0","seq":42,"time":1700000000456,"sender":"s0","to":"r0",'
    b'"group":"","msg_key":"1287657_42_1700000000","random":9,"client_msg_id":"x",'
    b'"elements":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"%b"}}],'
    b'"cloud_custom_data":"","need_receipt":false,"online_only":false}]}'
)


class _Echo(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type != WSMsgType.TEXT:
            return
        p = frame.get_payload_as_bytes()
        if p.startswith(b'{"op":"login"'):
            transport.send(WSMsgType.TEXT, LOGIN_OK)
            return
        request_id = p[p.find(b'"id":') + 5 : p.find(b",", p.find(b'"id":'))]
        t = p.find(b'"text":"') + 8
        transport.send(WSMsgType.TEXT, ACK % request_id)
        transport.send(WSMsgType.TEXT, MSG % p[t : p.find(b'"', t)])


async def _serve(port: int, ready: Connection) -> None:
    server = await ws_create_server(lambda _: _Echo(), "127.0.0.1", port)
    ready.send(True)
    async with server:
        await server.serve_forever()


def _server_main(port: int, ready: Connection) -> None:
    uvloop.run(_serve(port, ready))


async def measure(kind: str, url: str, rate: float, seconds: float, conns: int) -> str:
    tally = Tally()
    sessions = [TidingsSession(f"u{i}", tally) for i in range(conns)]
    await asyncio.gather(*(s.login(url, 1, "k", kind) for s in sessions))
    routes: list[tuple[Session, bytes]] = [(s, b"r0") for s in sessions]
    t0 = time.monotonic() + 0.1
    tally.reset(int(t0 * 1e9), int(t0 * 1e9), 2**63)
    cpu0 = cpu_seconds()
    sent = await pace(routes, rate, t0, t0 + seconds)
    while tally.received < sent and time.monotonic() < t0 + seconds + 10:  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    cpu = cpu_seconds() - cpu0
    frames = sent + tally.acked + tally.received
    for s in sessions:
        s.close()
    h = histogram_of(tally.latencies_us)
    return (
        f"| {kind} | {sent / seconds:,.0f} | {frames:,} | {cpu:.2f} | {cpu / frames * 1e6:.1f} "
        f"| {cpu / sent * 1e6:.1f} | {h.get_value_at_percentile(50) / 1000:.2f} |"
    )


async def main(rate: float, seconds: float, conns: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    ready, child = ctx.Pipe()
    server = ctx.Process(target=_server_main, args=(port, child), daemon=True)
    server.start()
    try:
        ready.recv()
        print(
            "| client | sends/s | frames (send+ack+msg) | CPU s | µs per frame | µs per message "
            "(3 frames) | round trip p50 ms |"
        )
        print("|---|---|---|---|---|---|---|")
        for kind in KINDS:
            print(
                await measure(kind, f"ws://127.0.0.1:{port}/v1", rate, seconds, conns), flush=True
            )
    finally:
        server.kill()
        server.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--conns", type=int, default=64)
    args = parser.parse_args()
    uvloop.run(main(args.rate, args.seconds, args.conns))
