"""Group fan-out benchmark: one group of N members (6,000 by default), every member online.

    python -m tests.bench.group --members 6000 --singles 10 --burst 20

It measures, through the whole pipeline (WS send -> im.inbound -> ingest -> im.messages -> fan-out
-> Deliver per gateway node -> every member's socket):
- time to the last delivery of one message, for `singles` messages sent one at a time;
- deliveries per second over a burst of `burst` messages sent back to back.

The members are light WebSocket clients (the `websockets` library, not the SDK) in this process,
so the load generator shares the machine's cores with the stack; the figures include its cost.
Nothing here passes or fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import orjson
from hdrh.histogram import HdrHistogram
from websockets.asyncio.client import ClientConnection, connect

from services.common.stack import Stack
from tests.bench.c2c import hist
from tests.conftest import AppUnderTest, new_app

IMPORT_PAGE = 100
ADD_PAGE = 500
CONNECT_CONCURRENCY = 200
GATEWAYS = 2


class Member:
    """A logged-in socket that notes when each group message (by its text) arrives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrivals: dict[str, int] = {}

    async def read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter_ns()
            frame = orjson.loads(raw)
            if frame.get("op") == "error":
                print(f"error frame: {frame}", flush=True)
            if frame.get("op") != "msg":
                continue
            for m in frame["msgs"]:
                for e in m.get("elements", ()):
                    if e.get("MsgType") == "TIMTextElem":
                        self.arrivals[e["MsgContent"]["Text"]] = now


async def login(url: str, app: AppUnderTest, user: str) -> ClientConnection:
    # No client pings: one process holds every member, and a busy loop must not time them out.
    ws = await connect(url, max_size=None, open_timeout=60, ping_interval=None)
    await ws.send(
        orjson.dumps(
            {
                "op": "login",
                "id": 1,
                "sdkappid": app.sdkappid,
                "identifier": user,
                "usersig": app.sig(user),
                "platform": "Android",
            }
        )
    )
    reply = orjson.loads(await ws.recv())
    if reply.get("code") != 0:
        raise RuntimeError(f"login of {user} failed: {reply}")
    return ws


async def make_group(app: AppUnderTest, users: list[str]) -> str:
    for i in range(0, len(users), IMPORT_PAGE):
        reply = await app.rest(
            "im_open_login_svc", "multiaccount_import", {"Accounts": users[i : i + IMPORT_PAGE]}
        )
        assert reply["ErrorCode"] == 0, reply
    reply = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": users[0], "Type": "Meeting", "Name": "bench"},
    )
    assert reply["ErrorCode"] == 0, reply
    group_id = str(reply["GroupId"])
    for i in range(1, len(users), ADD_PAGE):
        page = [{"Member_Account": u} for u in users[i : i + ADD_PAGE]]
        reply = await app.rest(
            "group_open_http_svc",
            "add_group_member",
            {"GroupId": group_id, "Silence": 1, "MemberList": page},
        )
        assert reply["ErrorCode"] == 0, reply
    return group_id


async def send(sender: ClientConnection, group_id: str, text: str, request_id: int) -> None:
    await sender.send(
        orjson.dumps({"op": "send", "id": request_id, "group": group_id, "text": text})
    )


def last_arrival(members: list[Member], text: str) -> int | None:
    times = [m.arrivals.get(text) for m in members]
    if any(t is None for t in times):
        return None
    return max(t for t in times if t is not None)


async def wait_all(members: list[Member], texts: list[str], timeout: float) -> int:
    """Wait until every member has every text; the latest arrival (perf_counter_ns)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lasts = [last_arrival(members, t) for t in texts]
        if all(x is not None for x in lasts):
            return max(x for x in lasts if x is not None)
        await asyncio.sleep(0.01)
    got = sum(t in m.arrivals for m in members for t in texts)
    raise TimeoutError(f"{got} of {len(members) * len(texts)} deliveries after {timeout} s")


async def run(stack: Stack, n_members: int, singles: int, burst: int) -> None:
    app = await new_app(stack, edition="Premium", group_member_addon=True)
    users = [f"m{i}" for i in range(n_members)]
    started = time.monotonic()
    group_id = await make_group(app, users)
    print(f"group of {n_members} made in {time.monotonic() - started:.1f} s", flush=True)

    urls = stack.ws_urls
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def join(i: int, user: str) -> ClientConnection:
        async with gate:
            return await login(urls[i % len(urls)], app, user)

    started = time.monotonic()
    sockets = await asyncio.gather(*(join(i, u) for i, u in enumerate(users)))
    print(f"{n_members} members online in {time.monotonic() - started:.1f} s", flush=True)
    members = [Member(ws) for ws in sockets]
    readers = [asyncio.create_task(m.read()) for m in members]
    # The sender's own connection gets the ack, not an echo: the others are the audience.
    sender, audience = members[0].ws, members[1:]

    to_last = hist()
    for i in range(singles):
        text = f"single-{i}"
        t0 = time.perf_counter_ns()
        await send(sender, group_id, text, 1000 + i)
        last = await wait_all(audience, [text], 60)
        to_last.record_value(max(1, (last - t0) // 1000))
        await asyncio.sleep(0.5)

    texts = [f"burst-{i}" for i in range(burst)]
    t0 = time.perf_counter_ns()
    for i, text in enumerate(texts):
        await send(sender, group_id, text, 2000 + i)
    last = await wait_all(audience, texts, 300)
    seconds = (last - t0) / 1e9
    deliveries = len(audience) * burst

    report(n_members, singles, to_last, burst, deliveries, seconds, len(urls))
    for t in readers:
        t.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def report(
    n_members: int,
    singles: int,
    to_last: HdrHistogram,
    burst: int,
    deliveries: int,
    seconds: float,
    gateways: int,
) -> None:
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, {platform.python_version()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"members: {n_members} on {gateways} gateway nodes, all online")
    p50, p99 = (to_last.get_value_at_percentile(q) / 1000 for q in (50, 99))
    print("| measure | value |")
    print("|---|---|")
    print(f"| time to last delivery, one message (p50 of {singles}) | {p50:.0f} ms |")
    print(f"| time to last delivery, one message (max of {singles}) | {p99:.0f} ms |")
    print(
        f"| burst of {burst} messages: deliveries/s | {deliveries / seconds:,.0f} "
        f"({deliveries:,} in {seconds:.2f} s) |"
    )


async def main(n_members: int, singles: int, burst: int, keep: bool) -> None:
    # --keep leaves the data dir (and the services' logs) behind for a look afterwards.
    data_dir = Path(tempfile.mkdtemp(prefix="tidings-bench-"))
    print(f"data dir: {data_dir}", flush=True)
    stack = Stack(data_dir=data_dir, instances={"gateway": GATEWAYS})
    await asyncio.to_thread(stack.start)
    try:
        await run(stack, n_members, singles, burst)
    finally:
        await asyncio.to_thread(stack.stop)
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=6000)
    parser.add_argument("--singles", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.members, args.singles, args.burst, args.keep))
