"""A gateway of two worker processes (TIDINGS_GATEWAY_WORKERS=2, as `tidings up` runs one per
core): both share the WebSocket and HTTP ports (SO_REUSEPORT), each is a node of its own
(node id, gRPC port, sessions, presence). Users on either worker reach each other, one to one
and in a group; the idle connections cost the workers no task each; killing the gateway's
parent with SIGKILL takes its workers along."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.redis_state import SessionRegistry, connect
from services.embedded.stack import Stack
from tests.bench.loadgen.procstat import tree
from tests.conftest import eventually, http_client, new_app, start_stack
from tidings_client import Client, Message

pytestmark = [pytest.mark.stack]

USERS = [f"w{i}" for i in range(16)]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("workers")), gateway_workers=2)
    yield s
    s.stop()


async def metric(port: int, name: str) -> dict[str, float]:
    """A gauge's values on one worker's /metrics, by its node label."""
    async with http_client(timeout=10) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    out: dict[str, float] = {}
    for m in re.finditer(rf'^{name}\{{node="([^"]+)"\}} (\S+)$', text, re.M):
        out[m.group(1)] = float(m.group(2))
    return out


async def collect(c: Client, n: int, timeout: float = 60) -> list[Message]:
    got: list[Message] = []

    async def run() -> None:
        async for m in c.messages():
            got.append(m)
            if len(got) == n:
                return

    await asyncio.wait_for(run(), timeout)
    return got


async def test_two_workers_share_the_ports_and_are_two_nodes(two_workers: Stack) -> None:
    ports = two_workers.ports["gateway"]
    assert ports.workers == 2
    app = await new_app(two_workers)
    await app.import_accounts(*USERS)
    clients = {u: await app.connect(u) for u in USERS}
    try:
        # The kernel spread the connections over both workers, each its own node.
        conns = [await metric(p, "tidings_ws_connections") for p in ports.metrics_ports]
        assert [list(c) for c in conns] == [["gateway-0-w0"], ["gateway-0-w1"]]
        assert all(sum(c.values()) > 0 for c in conns), conns
        assert sum(sum(c.values()) for c in conns) == len(USERS)
        redis = connect(two_workers.redis_url)
        try:
            found = await SessionRegistry(redis).lookup([(app.sdkappid, u) for u in USERS])
        finally:
            await redis.aclose()
        nodes = {info.node_addr for sessions in found for info in sessions.values()}
        assert nodes == set(two_workers.grpc_addrs("gateway"))

        # Everyone writes to everyone: half the pairs cross from one worker to the other.
        waits = {u: asyncio.create_task(collect(c, len(USERS) - 1)) for u, c in clients.items()}
        await asyncio.gather(
            *(clients[a].send(to=b, text=f"{a}>{b}") for a in USERS for b in USERS if a != b)
        )
        for u, task in waits.items():
            got = sorted(m.text for m in await task)
            assert got == sorted(f"{a}>{u}" for a in USERS if a != u), u

        created = await app.rest(
            "group_open_http_svc",
            "create_group",
            {
                "Owner_Account": USERS[0],
                "Type": "Public",
                "Name": "workers",
                "MemberList": [{"Member_Account": u} for u in USERS[1:]],
            },
        )
        group = created["GroupId"]
        waits = {u: asyncio.create_task(collect(clients[u], 5)) for u in USERS[1:]}
        acks = [await clients[USERS[0]].send(group=group, text=f"g{i}") for i in range(5)]
        assert [a.seq for a in acks] == [1, 2, 3, 4, 5]
        for u, task in waits.items():
            assert [m.text for m in await task] == [f"g{i}" for i in range(5)], u

        # Sixteen more connections (second devices), logged in and idle: no task each. What a
        # login leaves running ends by itself (its state event is produced in the background,
        # its request task returns after the reply): wait for that, failing if the count stays
        # up, as it would with a task per connection.
        before = await tasks(ports.metrics_ports)
        more = [await app.connect(u, platform="Windows") for u in USERS]
        try:

            async def settled() -> bool:
                return await tasks(ports.metrics_ports) - before <= 2

            assert await eventually(settled)
        finally:
            await asyncio.gather(*(c.close() for c in more))
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))


async def tasks(metrics_ports: list[int]) -> float:
    """asyncio tasks in every worker's event loop, now."""
    total = 0.0
    for port in metrics_ports:
        total += sum((await metric(port, "tidings_gateway_asyncio_tasks")).values())
    return total


async def test_the_http_port_is_served_by_every_worker(two_workers: Stack) -> None:
    async with http_client(timeout=10) as http:
        for _ in range(20):
            # A new connection each time: the kernel picks a worker for each.
            r = await http.get(f"{two_workers.rest_url}/healthz", headers={"Connection": "close"})
            assert r.status_code == 200


def test_killing_the_gateway_takes_its_workers_along(two_workers: Stack) -> None:
    parent = two_workers.children["gateway"].proc.pid
    family = tree(parent)
    assert len(family) == 3  # the parent and two workers
    two_workers.kill("gateway")
    for _ in range(50):
        if not any(_alive(pid) for pid in family):
            break
        time.sleep(0.1)
    assert not [pid for pid in family if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
