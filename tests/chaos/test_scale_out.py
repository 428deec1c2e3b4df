"""Scale-out: two gateway nodes and two router instances (each owning half the partitions).
Users on different nodes talk; a group with members on both nodes gets every message once, in
order; when one gateway stops, its users reconnect to the other and lose nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.embedded.stack import Stack
from tests.conftest import eventually, new_app, start_stack
from tidings_client import Client, Message

pytestmark = [pytest.mark.stack, pytest.mark.chaos]


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("scale")), instances={"gateway": 2, "router": 2})
    yield s
    s.stop()


async def collect(c: Client, n: int, timeout: float = 60) -> list[Message]:
    got: list[Message] = []

    async def run() -> None:
        async for m in c.messages():
            got.append(m)
            if len(got) == n:
                return

    await asyncio.wait_for(run(), timeout)
    return got


async def test_users_on_two_nodes_and_a_group_across_them(two_nodes: Stack) -> None:
    gw0, gw1 = two_nodes.ws_urls
    app = await new_app(two_nodes)
    await app.import_accounts("n0a", "n0b", "n1a", "n1b")
    urls = {"n0a": gw0, "n0b": gw0, "n1a": gw1, "n1b": gw1}
    clients = {u: Client(url, app.sdkappid, u, app.sig(u)) for u, url in urls.items()}
    await asyncio.gather(*(c.connect() for c in clients.values()))
    try:
        # C2C across nodes, both ways.
        n = 200
        a_got = asyncio.create_task(collect(clients["n1a"], n))
        b_got = asyncio.create_task(collect(clients["n0a"], n))
        await asyncio.gather(
            asyncio.gather(*(clients["n0a"].send(to="n1a", text=f"x{i}") for i in range(n))),
            asyncio.gather(*(clients["n1a"].send(to="n0a", text=f"y{i}") for i in range(n))),
        )
        assert [m.text for m in await a_got] == [f"x{i}" for i in range(n)]
        assert [m.text for m in await b_got] == [f"y{i}" for i in range(n)]

        created = await app.rest(
            "group_open_http_svc",
            "create_group",
            {
                "Owner_Account": "n0a",
                "Type": "Public",
                "Name": "split",
                "MemberList": [{"Member_Account": u} for u in ("n0b", "n1a", "n1b")],
            },
        )
        group_id = created["GroupId"]
        g = 100
        waits = {u: asyncio.create_task(collect(clients[u], g)) for u in ("n0b", "n1a", "n1b")}
        acks = [await clients["n0a"].send(group=group_id, text=f"g{i}") for i in range(g)]
        assert [a.seq for a in acks] == list(range(1, g + 1))
        for u, task in waits.items():
            got = await task
            assert [m.text for m in got] == [f"g{i}" for i in range(g)], u
            assert [m.seq for m in got] == list(range(1, g + 1)), u
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))


async def test_stopping_a_gateway_moves_its_users_without_loss(two_nodes: Stack) -> None:
    gw0, gw1 = two_nodes.ws_urls
    app = await new_app(two_nodes)
    await app.import_accounts("mover", "stayer")
    # The mover starts on node 1 and can fall back to node 0.
    mover = Client([gw1, gw0], app.sdkappid, "mover", app.sig("mover"))
    stayer = Client(gw0, app.sdkappid, "stayer", app.sig("stayer"))
    await mover.connect()
    await stayer.connect()
    received: list[Message] = []

    async def receive() -> None:
        async for m in mover.messages():
            received.append(m)

    receiver = asyncio.create_task(receive())
    try:
        for i in range(50):
            await stayer.send(to="mover", text=f"before {i}")
        await eventually(lambda: _at_least(received, 50))
        # Gateway node 1 stops (drains, closes its sockets); sends go on meanwhile.
        stopper = asyncio.create_task(asyncio.to_thread(_stop_gateway_1, two_nodes))
        for i in range(50):
            await stayer.send(to="mover", text=f"during {i}")
        await stopper
        for i in range(50):
            await stayer.send(to="mover", text=f"after {i}")
        assert await eventually(lambda: _at_least(received, 150), timeout=60)
        assert mover.ws_url == gw0
    finally:
        receiver.cancel()
        await mover.close()
        await stayer.close()
    texts = [m.text for m in received]
    want = [f"{p} {i}" for p in ("before", "during", "after") for i in range(50)]
    assert texts == want
    assert [m.seq for m in received] == list(range(1, 151))


def _stop_gateway_1(stack: Stack) -> None:
    stack.children.pop("gateway-1").stop()


async def _at_least(items: list[Message], n: int) -> bool:
    return len(items) >= n
