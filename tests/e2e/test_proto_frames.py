"""The protobuf encoding of the client protocol (`/v1?encoding=proto`, tidings.v1.Frame as
binary WebSocket messages): malformed protobuf gets an error frame with the JSON path's code
and the connection keeps serving; SDK clients work the same in both encodings, and talk to
each other across them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from services.common.errors import ErrorCode
from services.gateway import frames_proto
from tests.conftest import AppUnderTest
from tests.e2e.test_group_messages import make_group
from tidings_client import Client, Message, TidingsClientError

pytestmark = pytest.mark.stack

WAIT_S = 30.0


async def recv_proto(ws: ClientConnection) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), WAIT_S)
    assert isinstance(raw, bytes), "a proto connection gets binary frames"
    return frames_proto.decode_frame(raw, 1 << 20)


async def client(app: AppUnderTest, user: str, encoding: str) -> Client:
    c = Client(app.stack.ws_url, app.sdkappid, user, app.sig(user), encoding=encoding)
    await c.connect()
    return c


async def receive(c: Client, count: int) -> list[Message]:
    it = c.messages()
    return [await asyncio.wait_for(it.__anext__(), WAIT_S) for _ in range(count)]


async def test_malformed_protobuf_gets_error_frames_and_the_connection_serves_on(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("pa", "pb")
    async with connect(app.stack.ws_url + "?encoding=proto") as ws:
        await ws.send(b"\xff\xff\xff\xff")
        reply = await recv_proto(ws)
        assert (reply["op"], reply["code"]) == ("error", ErrorCode.WS_BAD_FRAME)
        # No op: as in JSON, a frame that is not a request gets an error without an id.
        await ws.send(frames_proto.encode_frame({"id": 1, "to": "pb"}))
        reply = await recv_proto(ws)
        assert (reply["op"], reply["code"]) == ("error", ErrorCode.WS_BAD_FRAME)
        await ws.send(frames_proto.encode_frame({"op": "send", "id": 2, "to": "pb", "text": "x"}))
        reply = await recv_proto(ws)
        assert (reply["id"], reply["code"]) == (2, ErrorCode.WS_NOT_LOGGED_IN)

        login = {
            "op": "login",
            "id": 3,
            "sdkappid": app.sdkappid,
            "identifier": "pa",
            "usersig": app.sig("pa"),
        }
        await ws.send(frames_proto.encode_frame(login))
        reply = await recv_proto(ws)
        assert (reply["op"], reply["id"], reply["code"]) == ("login", 3, 0)

        await ws.send(frames_proto.encode_frame({"op": "send", "id": 4, "to": "pb", "seq": "x"}))
        reply = await recv_proto(ws)
        assert (reply["id"], reply["code"]) == (4, ErrorCode.WS_BAD_FRAME)
        await ws.send(b"\x0a")
        assert (await recv_proto(ws))["code"] == ErrorCode.WS_BAD_FRAME
        await ws.send(frames_proto.encode_frame({"op": "nope", "id": 5}))
        assert (await recv_proto(ws))["code"] == ErrorCode.WS_UNKNOWN_OP
        await ws.send(frames_proto.encode_frame({"op": "ping", "id": 6}))
        assert await recv_proto(ws) == {"op": "pong", "id": 6}
        await ws.send(frames_proto.encode_frame({"op": "send", "id": 7, "to": "pb", "text": "hi"}))
        reply = await recv_proto(ws)
        assert (reply["op"], reply["id"], reply["seq"]) == ("ack", 7, 1)


async def test_unknown_encoding_is_refused_before_the_upgrade(app: AppUnderTest) -> None:
    with pytest.raises(InvalidStatus) as err:
        async with connect(app.stack.ws_url + "?encoding=xml"):
            pass
    assert err.value.response.status_code == 400


@pytest.mark.parametrize(("a_encoding", "b_encoding"), [("proto", "proto"), ("json", "proto")])
async def test_send_receive_sync_and_errors_in_both_encodings(
    app: AppUnderTest, a_encoding: str, b_encoding: str
) -> None:
    await app.import_accounts("ea", "eb", "ec")
    group_id = await make_group(app, "ea", ["eb"], kind="Work")
    a = await client(app, "ea", a_encoding)
    b = await client(app, "eb", b_encoding)
    custom = [{"MsgType": "TIMCustomElem", "MsgContent": {"Data": "d", "Ext": "e"}}]
    location = [
        {
            "MsgType": "TIMLocationElem",
            "MsgContent": {"Desc": "here", "Latitude": 22.5, "Longitude": 113.9},
        }
    ]
    try:
        acks = [
            await a.send(to="eb", text="hello"),
            await a.send(to="eb", elements=custom),
            await a.send(to="eb", elements=location),
        ]
        got = await receive(b, 3)
        assert [m.seq for m in got] == [x.seq for x in acks]
        assert got[0].text == "hello"
        assert got[1].elements == custom
        assert got[2].elements == location
        reply = await b.send(to="ea", text="back")
        assert reply.seq == acks[-1].seq + 1

        group_ack = await a.send(group=group_id, text="to the group")
        (in_group,) = await receive(b, 1)
        assert (in_group.group, in_group.seq) == (group_id, group_ack.seq)

        history = await b.sync("ea")
        assert [m.seq for m in history][:3] == [x.seq for x in acks]
        assert [m.seq for m in await b.sync(group=group_id)] == [group_ack.seq]

        with pytest.raises(TidingsClientError) as err:
            await a.send(to="nobody", text="x")
        assert err.value.code == ErrorCode.MSG_ACCOUNT_INVALID
        with pytest.raises(TidingsClientError) as err:
            await b.send(group="@TGS#missing", text="x")
        assert err.value.code == ErrorCode.GROUP_NOT_FOUND
        with pytest.raises(TidingsClientError) as err:
            await b.send(to="ea", text="x" * 13_000)
        assert err.value.code == ErrorCode.BODY_TOO_LARGE
    finally:
        await a.close()
        await b.close()
