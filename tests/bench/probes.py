"""The gateway under the security probes: its RSS and another client's ping while each runs.

    python -m tests.bench.probes [--seconds 3]

For each probe: the gateway process's RSS (VmRSS) before, its peak (sampled every 50 ms) and
after; the growth of its log file; and the ping round trip of another logged-in client, p50 and
max, while the probe runs. The probes:

- idle: nothing, the baseline;
- login bomb: 4 connections sending login frames whose UserSig inflates to ~50 MB;
- admin / v4 upload: a POST with no operator token (admin) or a valid admin UserSig (v4) that
  declares Content-Length 209715200 and then streams 100 MB as fast as the gateway takes it;
- read flood: one logged-in connection sending `read` with seq 2^64-1 5,000 times a second
  (the per-connection frame limit may cut it off; that is reported).

Figures are printed as a Markdown table. Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import platform
import statistics
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.common.config import Settings
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tidings_client import Client

SAMPLE_S = 0.05
PING_GAP_S = 0.02
PING_TIMEOUT_S = 10.0
SETTLE_S = 2.0
MB = 1024 * 1024
BOMB_CONNECTIONS = 4
BOMB_INFLATED = 50_000_000
DECLARED = 209_715_200
UPLOAD = 100 * MB
UPLOAD_CHUNK = 256 * 1024
READ_RATE = 5000
READ_BATCH_S = 0.01
MAX_SEQ = 2**64 - 1

Probe = Callable[[], Awaitable[str]]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


@dataclass
class RssWatch:
    """The peak RSS of a process, sampled every SAMPLE_S while the watch runs."""

    pid: int
    peak: int = 0

    async def run(self) -> None:
        while True:
            self.peak = max(self.peak, rss_kib(self.pid))
            await asyncio.sleep(SAMPLE_S)


@dataclass
class Pinger:
    """Pings from a logged-in client, back to back; the round trips recorded while `on`."""

    client: Client
    on: bool = False
    rtts_ms: list[float] = field(default_factory=list)
    failures: int = 0

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                await self.client.request({"op": "ping"}, timeout=PING_TIMEOUT_S)
            except Exception:  # noqa: BLE001 - a lost ping is a figure, not an error
                if self.on:
                    self.failures += 1
            else:
                if self.on:
                    self.rtts_ms.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(PING_GAP_S)


@dataclass
class Row:
    name: str
    before_kib: int
    peak_kib: int
    after_kib: int
    log_growth: int
    rtts_ms: list[float]
    ping_failures: int
    note: str

    def markdown(self) -> str:
        p50 = statistics.median(self.rtts_ms) if self.rtts_ms else float("nan")
        top = max(self.rtts_ms, default=float("nan"))
        lost = f" ({self.ping_failures} lost)" if self.ping_failures else ""
        mib = [f"{k / 1024:.0f}" for k in (self.before_kib, self.peak_kib, self.after_kib)]
        return (
            f"| {self.name} | {' | '.join(mib)} | {self.log_growth / 1024:,.1f} "
            f"| {p50:.1f} | {top:.1f}{lost} | {self.note} |"
        )


async def measure(name: str, stack: Stack, pinger: Pinger, probe: Probe, seconds: float) -> Row:
    """Run `probe`, with pings recorded for at least `seconds` (a probe the gateway refuses at
    once still gets a comparable window), then let the gateway settle."""
    pid = stack.children["gateway"].proc.pid
    log = stack.log_dir / "gateway.log"
    before, log_before = rss_kib(pid), log.stat().st_size
    watch = RssWatch(pid, before)
    watching = asyncio.create_task(watch.run())
    pinger.rtts_ms, pinger.failures, pinger.on = [], 0, True
    window = asyncio.create_task(asyncio.sleep(seconds))
    try:
        note = await probe()
        await window
    finally:
        pinger.on = False
    await asyncio.sleep(SETTLE_S)
    watching.cancel()
    return Row(
        name,
        before,
        watch.peak,
        rss_kib(pid),
        log.stat().st_size - log_before,
        pinger.rtts_ms,
        pinger.failures,
        note,
    )


def bomb_sig(inflated: int) -> str:
    """A UserSig-shaped string: zlib of a JSON document padded with spaces to `inflated`."""
    doc = orjson.dumps({"TLS.ver": "2.0", "TLS.identifier": "bomber"})
    raw = zlib.compress(doc + b" " * (inflated - len(doc)), 9)
    return base64.b64encode(raw).decode().translate(str.maketrans("+/=", "*-_"))


async def login_bomb(app: AppUnderTest, seconds: float) -> str:
    """BOMB_CONNECTIONS connections sending bomb logins for `seconds`, reconnecting whenever
    the gateway closes one (it does after a few failed logins)."""
    frame = orjson.dumps(
        {
            "op": "login",
            "id": 1,
            "sdkappid": app.sdkappid,
            "identifier": "bomber",
            "usersig": bomb_sig(BOMB_INFLATED),
        }
    )
    assert len(frame) <= Settings().ws_max_frame_bytes, "the bomb would be refused as too big"
    codes: Counter[int] = Counter()
    deadline = time.monotonic() + seconds

    async def one() -> None:
        while time.monotonic() < deadline:
            with contextlib.suppress(ConnectionClosed, OSError):
                async with connect(app.stack.ws_url, compression=None) as ws:
                    while time.monotonic() < deadline:
                        await ws.send(frame.decode())
                        codes[int(orjson.loads(await ws.recv()).get("code", 0))] += 1

    await asyncio.gather(*(one() for _ in range(BOMB_CONNECTIONS)))
    answers = ", ".join(f"{n}x {code}" for code, n in sorted(codes.items()))
    return f"{len(frame) / 1024:.0f} KB frames; answers {answers or 'none'}"


@dataclass
class Upload:
    sent: int = 0
    status: str = "none"
    answered_after_s: float | None = None
    ended: str = "finished"


async def read_status(reader: asyncio.StreamReader, upload: Upload, started: float) -> None:
    try:
        line = await reader.readline()
    except ConnectionError as err:
        upload.status = f"none ({type(err).__name__})"
        return
    if line:
        upload.status = "HTTP " + line.decode("latin-1").split(" ", 2)[1]
        upload.answered_after_s = time.perf_counter() - started


async def stream_upload(stack: Stack, target: str, headers: dict[str, str]) -> str:
    """Declare DECLARED bytes, then write UPLOAD bytes as fast as the gateway takes them,
    reading the answer meanwhile; then wait SETTLE_S for an answer that has not come."""
    where = urlsplit(stack.rest_url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    lines = [f"POST {target} HTTP/1.1", "Host: gateway", f"Content-Length: {DECLARED}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    upload = Upload()
    started = time.perf_counter()
    answer = asyncio.create_task(read_status(reader, upload, started))
    chunk = b"x" * UPLOAD_CHUNK
    try:
        while upload.sent < UPLOAD:
            writer.write(chunk)
            await writer.drain()
            upload.sent += UPLOAD_CHUNK
    except ConnectionError as err:
        upload.ended = type(err).__name__
    took = time.perf_counter() - started
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(answer, SETTLE_S)
    answer.cancel()
    writer.close()
    when = f" after {upload.answered_after_s:.2f} s" if upload.answered_after_s is not None else ""
    return (
        f"wrote {upload.sent / MB:,.1f} MB in {took:.2f} s ({upload.ended}); "
        f"answer {upload.status}{when}"
    )


async def logged_in(app: AppUnderTest, user: str) -> ClientConnection:
    ws = await connect(app.stack.ws_url, compression=None)
    login = {"op": "login", "id": 0, "sdkappid": app.sdkappid, "identifier": user}
    await ws.send(orjson.dumps({**login, "usersig": app.sig(user)}).decode())
    reply = orjson.loads(await ws.recv())
    assert reply.get("code") == 0, reply
    return ws


async def count_replies(ws: ClientConnection, codes: Counter[int]) -> str:
    """Count the replies by code until the connection ends; how it ended."""
    try:
        async for raw in ws:
            codes[int(orjson.loads(raw).get("code", 0))] += 1
    except ConnectionClosed as closed:
        return f"closed {closed.rcvd.code if closed.rcvd else 'without a close frame'}"
    return f"closed {ws.close_code}"


async def read_flood(app: AppUnderTest, seconds: float) -> str:
    """READ_RATE `read` frames a second with seq 2^64-1 on one logged-in connection."""
    ws = await logged_in(app, "flooder")
    frame = orjson.dumps({"op": "read", "peer": "peer", "seq": MAX_SEQ}).decode()
    codes: Counter[int] = Counter()
    replies = asyncio.create_task(count_replies(ws, codes))
    per_batch = int(READ_RATE * READ_BATCH_S)
    sent = 0
    started = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - started) < seconds and not replies.done():
            for _ in range(per_batch):
                await ws.send(frame)
            sent += per_batch
            await asyncio.sleep(max(0.0, sent / READ_RATE - elapsed - READ_BATCH_S))
    except ConnectionClosed:
        pass
    took = time.perf_counter() - started
    # Cut off by the gateway, or still open when the flood ended.
    ended = replies.result() if replies.done() else "still open after the flood"
    answered = codes.total()
    await ws.close()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(replies, SETTLE_S)
    answers = ", ".join(f"{n}x {code}" for code, n in sorted(codes.items()))
    return (
        f"sent {sent} in {took:.2f} s; {answered} answered during the flood, "
        f"in all {answers or 'none'}; {ended}"
    )


async def idle(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "nothing"


@contextlib.asynccontextmanager
async def running_stack() -> AsyncIterator[Stack]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(data_dir=Path(tmp))
        await asyncio.to_thread(stack.start)
        try:
            yield stack
        finally:
            await asyncio.to_thread(stack.stop)


async def main(seconds: float) -> None:
    async with running_stack() as stack:
        app = await new_app(stack)
        await app.import_accounts("pinger", "flooder", "peer")
        client = Client(stack.ws_url, app.sdkappid, "pinger", app.sig("pinger"))
        await client.connect()
        pinger = Pinger(client)
        pinging = asyncio.create_task(pinger.run())
        v4 = f"/v4/openim/sendmsg?{urlencode(app.admin_params)}"
        probes: list[tuple[str, Probe]] = [
            ("idle", lambda: idle(seconds)),
            ("login bomb", lambda: login_bomb(app, seconds)),
            ("admin upload, no token", lambda: stream_upload(stack, "/admin/apps", {})),
            ("v4 upload, admin sig", lambda: stream_upload(stack, v4, {})),
            ("read flood", lambda: read_flood(app, seconds)),
        ]
        print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.python_version()}")
        print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        print(
            "| probe | RSS before MiB | peak MiB | after MiB | log +KiB | ping p50 ms "
            "| ping max ms | what happened |"
        )
        print("|---|---|---|---|---|---|---|---|")
        try:
            for name, probe in probes:
                row = await measure(name, stack, pinger, probe, seconds)
                print(row.markdown(), flush=True)
        finally:
            pinging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinging
            await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
