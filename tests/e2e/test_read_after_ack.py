"""An ack means readable: right after a send is acknowledged, with no sleep and no retry,
sync, roaming and the conversation list return it, over WebSocket and REST (issue 10)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.conftest import AppUnderTest, http_client, new_app
from tests.e2e.test_group_messages import make_group, text

pytestmark = pytest.mark.stack

ROUNDS = 1000


class Rest:
    """One HTTP connection for a thousand calls."""

    def __init__(self, app: AppUnderTest, http: httpx.AsyncClient) -> None:
        self._app = app
        self._http = http

    async def __call__(self, service: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self._http.post(
            f"{self._app.stack.rest_url}/v4/{service}/{command}",
            params=self._app.admin_params,
            json=body,
        )
        reply: dict[str, Any] = r.json()
        assert reply["ErrorCode"] == 0, (command, reply)
        return reply


async def ws_rounds(app: AppUnderTest) -> None:
    await app.import_accounts("wa", "wb")
    sender = await app.connect("wa")
    try:
        for i in range(ROUNDS):
            ack = await sender.send(to="wb", text=f"ws {i}")
            page = await sender.sync(peer="wb", after_seq=ack.seq - 1, limit=5)
            assert [m.seq for m in page] == [ack.seq], (i, ack, page)
            (latest, *_) = await sender.conversations(limit=5)
            assert (latest["peer"], latest["last_seq"]) == ("wb", ack.seq), (i, latest)
            assert latest["last_message"]["seq"] == ack.seq
    finally:
        await sender.close()


async def rest_c2c_rounds(app: AppUnderTest, rest: Rest) -> None:
    await app.import_accounts("ra", "rb")
    for i in range(ROUNDS):
        sent = await rest(
            "openim",
            "sendmsg",
            {"From_Account": "ra", "To_Account": "rb", "MsgRandom": i, "MsgBody": text(f"r {i}")},
        )
        roam = await rest(
            "openim",
            "admin_getroammsg",
            {
                "Operator_Account": "rb",
                "Peer_Account": "ra",
                "MaxCnt": 1,
                "MinTime": 0,
                "MaxTime": int(time.time()) + 1,
            },
        )
        assert roam["MsgList"][0]["MsgKey"] == sent["MsgKey"], (i, sent, roam)
        listed = await rest("recentcontact", "get_list", {"From_Account": "rb"})
        assert listed["SessionItem"][0]["To_Account"] == "ra", (i, listed)


async def rest_group_rounds(app: AppUnderTest, rest: Rest) -> None:
    await app.import_accounts("ga", "gb")
    group_id = await make_group(app, "ga", ["gb"])
    for i in range(ROUNDS):
        sent = await rest(
            "group_open_http_svc",
            "send_group_msg",
            {"GroupId": group_id, "From_Account": "ga", "Random": i, "MsgBody": text(f"g {i}")},
        )
        got = await rest(
            "group_open_http_svc", "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 1}
        )
        (newest,) = got["RspMsgList"]
        assert (newest["MsgSeq"], newest["IsPlaceMsg"]) == (sent["MsgSeq"], 0), (i, sent, got)


async def test_an_ack_means_readable(app: AppUnderTest) -> None:
    """Three paths side by side, each a thousand sends in a row, each read back at once."""
    others = [await new_app(app.stack), await new_app(app.stack)]
    async with http_client(timeout=30) as c2c_http, http_client(timeout=30) as g_http:
        await asyncio.gather(
            ws_rounds(app),
            rest_c2c_rounds(others[0], Rest(others[0], c2c_http)),
            rest_group_rounds(others[1], Rest(others[1], g_http)),
        )
