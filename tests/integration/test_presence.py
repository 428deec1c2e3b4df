"""The presence index against a real Valkey (started as `make run` starts it): what fan-out reads
back after logins and logouts on two gateway nodes, a user on both, a user who closes one of two
connections on a node, a user who moves, a node that dies (its entries stop counting once their
time passes) and a node that stops cleanly (it leaves nothing)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from services.common import presence
from services.common.presence import NodePresence, PresenceIndex

APP = 1400000601
N1, N2 = "10.1.0.1:7001", "10.1.0.2:7001"


class Local:
    """A node's connections, as LocalSessions counts them: user -> open connections."""

    def __init__(self) -> None:
        self.conns: dict[tuple[int, str], int] = {}

    def has(self, sdkappid: int, user: str) -> bool:
        return self.conns.get((sdkappid, user), 0) > 0

    def has_app(self, sdkappid: int) -> bool:
        return any(n and app == sdkappid for (app, _), n in self.conns.items())

    def by_app(self) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for (app, user), n in self.conns.items():
            if n:
                out.setdefault(app, []).append(user)
        return out


class Node:
    def __init__(self, client: aioredis.Redis, addr: str, ttl_s: int = 90) -> None:
        self.local = Local()
        self.presence = NodePresence(client, addr, self.local, ttl_s=ttl_s)
        self.task = asyncio.get_running_loop().create_task(self.presence.run())

    async def login(self, user: str, app: int = APP) -> None:
        key = (app, user)
        self.local.conns[key] = self.local.conns.get(key, 0) + 1
        if self.local.conns[key] == 1:
            self.presence.changed(app, user)
        await self.presence.written(app, user)

    async def logout(self, user: str, app: int = APP) -> None:
        key = (app, user)
        self.local.conns[key] -= 1
        if not self.local.conns[key]:
            self.presence.changed(app, user)
        await self.presence.written(app, user)

    async def stop(self) -> None:
        await self.presence.close()
        self.task.cancel()


async def test_two_nodes_logins_logouts_and_moves(client: aioredis.Redis) -> None:
    index = PresenceIndex(client)
    n1, n2 = Node(client, N1), Node(client, N2)
    try:
        for user in ("ann", "dan"):
            await n1.login(user)
        for user in ("cat", "dan"):
            await n2.login(user)
        await n1.login("ann")  # a second device on node 1
        users = ["ann", "bob", "cat", "dan"]
        got = await index.locate({APP: users})
        assert got == {APP: {"ann": [N1], "cat": [N2], "dan": [N1, N2]}}
        # ann closes one of her two connections on node 1: still online there.
        await n1.logout("ann")
        assert (await index.locate({APP: users}))[APP]["ann"] == [N1]
        # dan leaves node 1 and stays on node 2; cat moves from node 2 to node 1.
        await n1.logout("dan")
        await n2.logout("cat")
        await n1.login("cat")
        got = await index.locate({APP: users})
        assert got == {APP: {"ann": [N1], "cat": [N1], "dan": [N2]}}
        # Another app's users are not this app's.
        await n2.login("ann", app=APP + 1)
        assert (await index.locate({APP: ["ann"], APP + 1: ["ann", "bob"]})) == {
            APP: {"ann": [N1]},
            APP + 1: {"ann": [N2]},
        }
        # A heartbeat rewrites the node's set from its connections: an entry left behind
        # (a write that was lost) is gone after it.
        await client.sadd(presence.users_key(APP, n2.presence.member), "ghost")
        assert (await index.locate({APP: ["ghost"]}))[APP] == {"ghost": [N2]}
        await n2.presence.refresh()
        assert (await index.locate({APP: ["ghost", "dan"]}))[APP] == {"dan": [N2]}
        # The last user of the app leaves node 2: the node is withdrawn from the app.
        await n2.logout("dan")
        assert await client.zscore(presence.nodes_key(APP), n2.presence.member) is None
    finally:
        await n1.stop()
        await n2.stop()
    # A clean stop leaves nothing.
    assert await client.zcard(presence.nodes_key(APP)) == 0
    assert await client.zcard(presence.nodes_key(APP + 1)) == 0
    assert await index.locate({APP: ["ann", "cat"]}) == {APP: {}}


async def test_a_dead_node_stops_counting_when_its_time_passes(client: aioredis.Redis) -> None:
    app = APP + 10
    index = PresenceIndex(client)
    dead = Node(client, N1, ttl_s=1)
    await dead.login("zoe", app=app)
    assert await index.locate({app: ["zoe"]}) == {app: {"zoe": [N1]}}
    dead.task.cancel()  # no heartbeat, no clean stop
    await asyncio.sleep(1.2)
    assert await index.locate({app: ["zoe"]}) == {app: {}}
    # The same address comes back (a restart): a new boot, with only its own users.
    again = Node(client, N1)
    try:
        await again.login("yan", app=app)
        assert await index.locate({app: ["zoe", "yan"]}) == {app: {"yan": [N1]}}
    finally:
        await again.stop()


async def test_a_big_group_is_read_in_chunks(client: aioredis.Redis) -> None:
    app = APP + 20
    index = PresenceIndex(client)
    node = Node(client, N2)
    users = [f"u{i}" for i in range(presence.CHUNK * 2 + 5)]
    try:
        node.local.conns.update({(app, u): 1 for u in users[::2]})
        await node.presence.refresh()
        got = await index.locate({app: users})
        assert sorted(got[app]) == sorted(users[::2])
        assert all(nodes == [N2] for nodes in got[app].values())
    finally:
        await node.stop()


async def test_a_user_id_with_a_newline_is_still_found(client: aioredis.Redis) -> None:
    app = APP + 30
    index = PresenceIndex(client)
    node = Node(client, N1)
    try:
        await node.login("odd\nid", app=app)
        await node.login("plain", app=app)
        got = await index.locate({app: ["plain", "odd\nid", "gone"]})
        assert got == {app: {"plain": [N1], "odd\nid": [N1]}}
    finally:
        await node.stop()
