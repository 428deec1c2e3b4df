"""Group fan-out across two gateway nodes, seen on the wire (raw WebSocket clients, so every
`msg` frame counts, duplicates and echoes included): a message reaches members on both nodes,
each of a member's connections on either node, in JSON and in protobuf frames, and never the
sender's own sending connection; presence follows a second connection closing and a member
moving nodes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, eventually, new_app, start_stack
from tidings_client import frames

pytestmark = [pytest.mark.stack]


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(Path(tmp_path_factory.mktemp("fanout")), instances={"gateway": 2})
    yield s
    s.stop()


class Wire:
    """One connection, logged in; keeps every message pushed to it (kind, conversation, seq,
    text) in the order the frames came."""

    def __init__(self, ws: ClientConnection, encoding: str, conn_id: str) -> None:
        self.ws = ws
        self.encoding = encoding
        self.conn_id = conn_id
        self.got: list[tuple[str, int, str]] = []
        self._ids = itertools.count(1)
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(
        cls, url: str, app: AppUnderTest, user: str, platform: str, encoding: str = "json"
    ) -> Wire:
        if encoding == frames.PROTO:
            url += "?encoding=proto"
        ws = await connect(url, compression=None)
        login = {
            "op": "login",
            "id": 0,
            "sdkappid": app.sdkappid,
            "identifier": user,
            "usersig": app.sig(user),
            "platform": platform,
        }
        await ws.send(frames.encode(login, encoding))
        reply = frames.decode(await ws.recv(), encoding)
        assert reply["op"] == "login", reply
        return cls(ws, encoding, reply["conn_id"])

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = frames.decode(raw, self.encoding)
                if frame.get("op") == "msg":
                    for m in frame["msgs"]:
                        text = m["elements"][0]["MsgContent"]["Text"] if m["elements"] else ""
                        self.got.append((m["conversation"], m["seq"], text))
                    continue
                fut = self._replies.pop(frame.get("id", -1), None)
                if fut is not None:
                    fut.set_result(frame)
        except ConnectionClosed:
            pass

    async def send_group(self, group_id: str, text: str) -> int:
        request_id = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[request_id] = fut
        await self.ws.send(
            frames.encode(
                {
                    "op": "send",
                    "id": request_id,
                    "group": group_id,
                    "text": text,
                    "client_msg_id": f"{self.conn_id[:8]}-{request_id}",
                },
                self.encoding,
            )
        )
        ack = await asyncio.wait_for(fut, 30)
        assert ack["op"] == "ack", ack
        return int(ack["seq"])

    def texts(self) -> list[str]:
        return [t for _, _, t in self.got]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


async def until(condition: Callable[[], bool]) -> None:
    async def check() -> bool:
        return condition()

    assert await eventually(check)


async def make_group(app: AppUnderTest, owner: str, members: list[str]) -> str:
    created = await app.rest(
        "group_open_http_svc",
        "create_group",
        {
            "Owner_Account": owner,
            "Type": "Public",
            "Name": "nodes",
            "MemberList": [{"Member_Account": u} for u in members],
        },
    )
    assert created["ErrorCode"] == 0, created
    return str(created["GroupId"])


async def test_a_group_message_reaches_every_connection_on_both_nodes(two_gateways: Stack) -> None:
    gw0, gw1 = two_gateways.ws_urls
    app = await new_app(two_gateways)
    users = ["ann", "bob", "cat", "dan", "eve"]
    await app.import_accounts(*users)
    group_id = await make_group(app, "ann", users[1:])
    # ann sends from node 0 (Android) and also has a Web session on node 1; bob is on node 0;
    # cat on node 1 in protobuf frames; dan twice (node 0 Android, node 1 Web); eve offline.
    ann = await Wire.open(gw0, app, "ann", "Android")
    ann_web = await Wire.open(gw1, app, "ann", "Web")
    bob = await Wire.open(gw0, app, "bob", "Android")
    cat = await Wire.open(gw1, app, "cat", "Android", encoding=frames.PROTO)
    dan0 = await Wire.open(gw0, app, "dan", "Android")
    dan1 = await Wire.open(gw1, app, "dan", "Web")
    wires = [ann, ann_web, bob, cat, dan0, dan1]
    try:
        seqs = [await ann.send_group(group_id, f"g{i}") for i in range(5)]
        assert seqs == [1, 2, 3, 4, 5]
        want = [f"g{i}" for i in range(5)]
        receivers = [ann_web, bob, cat, dan0, dan1]
        await until(lambda: all(len(w.got) >= 5 for w in receivers))
        for w in receivers:
            # Each connection gets each message once, in order.
            assert w.texts() == want
            assert [s for _, s, _ in w.got] == seqs

        # dan closes his node-1 session: node 0 still has him; the one closed gets nothing.
        await dan1.close()
        # cat moves from node 1 to node 0.
        await cat.close()
        cat0 = await Wire.open(gw0, app, "cat", "Android")
        wires.append(cat0)
        seq = await bob.send_group(group_id, "after")
        assert seq == 6
        await until(lambda: all(w.texts()[-1:] == ["after"] for w in (ann, ann_web, dan0, cat0)))
        # No echo to ann's sending connection, and no second copy anywhere: "after" is in the
        # same group (one partition, fanned out batch after batch, each Deliver written in
        # order), so it reaches each connection after anything of g0-g4 still due to it.
        assert ann.texts() == ["after"]
        assert ann_web.texts() == [*want, "after"] and dan0.texts() == [*want, "after"]
        # The same for bob's "after": dan's marker follows it in the group.
        assert await dan0.send_group(group_id, "mark") == 7
        await until(lambda: all(w.texts()[-1:] == ["mark"] for w in (bob, ann, cat0)))
        assert bob.texts() == [*want, "mark"]  # no echo to bob's sending connection
        assert dan1.texts() == want and cat.texts() == want
        assert cat0.texts() == ["after", "mark"]
        assert ann.texts() == ["after", "mark"]
    finally:
        await asyncio.gather(*(w.close() for w in wires))
