"""Group messages through the pipeline: REST send_group_msg / group_msg_get_simple /
group_msg_recall, WebSocket group sends with fan-out to every member, and the send rules."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import TLSSigAPIv2

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest, http_client
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


async def make_group(
    app: AppUnderTest, owner: str, members: list[str], kind: str = "Public"
) -> str:
    reply = await app.rest(
        "group_open_http_svc", "create_group", {"Owner_Account": owner, "Type": kind, "Name": "g"}
    )
    assert reply["ErrorCode"] == 0, reply
    group_id: str = reply["GroupId"]
    if members:
        # Silence: the members are there from the start, with no group tips before the test's
        # own messages (tests/e2e/test_group_tips.py tells of them).
        added = await app.rest(
            "group_open_http_svc",
            "add_group_member",
            {
                "GroupId": group_id,
                "Silence": 1,
                "MemberList": [{"Member_Account": m} for m in members],
            },
        )
        assert added["ErrorCode"] == 0, added
    return group_id


async def test_tencent_signed_rest_flow_c2c_and_group(app: AppUnderTest) -> None:
    """Issue #4's acceptance flow, signed with Tencent's own tls-sig-api-v2 package."""
    sig = TLSSigAPIv2.TLSSigAPIv2(app.sdkappid, app.key).gen_sig("administrator")
    params = {
        "sdkappid": app.sdkappid,
        "identifier": "administrator",
        "usersig": sig,
        "random": 4242,
        "contenttype": "json",
    }

    async def call(service: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        async with http_client(timeout=30) as http:
            r = await http.post(
                f"{app.stack.rest_url}/v4/{service}/{command}", params=params, json=body
            )
        assert r.status_code == 200
        reply: dict[str, Any] = r.json()
        assert reply["ErrorCode"] == 0, reply
        return reply

    for user in ("tom", "ann", "bob"):
        await call("im_open_login_svc", "account_import", {"UserID": user, "Nick": user})
    sent = await call(
        "openim",
        "sendmsg",
        {
            "SyncOtherMachine": 2,
            "From_Account": "tom",
            "To_Account": "ann",
            "MsgRandom": 1,
            "MsgBody": text("c2c hello"),
        },
    )

    async def roamed() -> dict[str, Any] | None:
        r = await call(
            "openim",
            "admin_getroammsg",
            {
                "Operator_Account": "tom",
                "Peer_Account": "ann",
                "MaxCnt": 10,
                "MinTime": 0,
                "MaxTime": int(time.time()) + 1,
            },
        )
        return r if r["MsgCnt"] == 1 else None

    roam = await roamed()
    assert roam["MsgList"][0]["MsgKey"] == sent["MsgKey"]

    created = await call(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "tom", "Type": "Public", "Name": "tea"},
    )
    group_id = created["GroupId"]
    await call(
        "group_open_http_svc",
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "ann"}, {"Member_Account": "bob"}]},
    )
    posted = await call(
        "group_open_http_svc",
        "send_group_msg",
        {
            "GroupId": group_id,
            "From_Account": "ann",
            "Random": 8912345,
            "MsgBody": text("group hello"),
        },
    )
    # Seq 1 is the group tip of ann and bob being added.
    assert posted["MsgSeq"] == 2
    assert posted["MsgTime"] > 0

    async def fetched() -> dict[str, Any] | None:
        r = await call(
            "group_open_http_svc", "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 5}
        )
        ok = r["RspMsgList"] and r["RspMsgList"][0]["IsPlaceMsg"] == 0
        return r if ok else None

    got = await fetched()
    first = got["RspMsgList"][0]
    assert first["MsgSeq"] == posted["MsgSeq"]
    assert (first["From_Account"], first["MsgRandom"]) == ("ann", 8912345)
    assert first["MsgBody"] == text("group hello")
    assert got["IsFinished"] == 1


async def test_group_fanout_over_websocket_in_order(app: AppUnderTest) -> None:
    users = ["ga", "gb", "gc", "gd"]
    await app.import_accounts(*users)
    group_id = await make_group(app, "ga", users[1:])
    clients = {u: Client(app.stack.ws_url, app.sdkappid, u, app.sig(u)) for u in users}
    await asyncio.gather(*(c.connect() for c in clients.values()))
    try:
        acks = [await clients["ga"].send(group=group_id, text=f"m{i}") for i in range(20)]
        acks += [await clients["gb"].send(group=group_id, text=f"n{i}") for i in range(20)]
        assert [a.seq for a in acks] == list(range(1, 41))

        async def collect(c: Client, n: int) -> list[str]:
            got: list[str] = []
            async for m in c.messages():
                got.append(m.text)
                if len(got) == n:
                    return got
            return got

        # Each member sees every message of the others once, in seq order.
        gc_got = await asyncio.wait_for(collect(clients["gc"], 40), 30)
        assert gc_got == [f"m{i}" for i in range(20)] + [f"n{i}" for i in range(20)]
        ga_got = await asyncio.wait_for(collect(clients["ga"], 20), 30)
        assert ga_got == [f"n{i}" for i in range(20)]
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))


async def test_group_send_rules(app: AppUnderTest) -> None:
    await app.import_accounts("ho", "hm", "hx")
    group_id = await make_group(app, "ho", ["hm"])
    outsider = Client(app.stack.ws_url, app.sdkappid, "hx", app.sig("hx"))
    member = Client(app.stack.ws_url, app.sdkappid, "hm", app.sig("hm"))
    owner = Client(app.stack.ws_url, app.sdkappid, "ho", app.sig("ho"))
    await asyncio.gather(outsider.connect(), member.connect(), owner.connect())
    try:
        with pytest.raises(TidingsClientError) as err:
            await outsider.send(group=group_id, text="let me in")
        assert err.value.code == ErrorCode.GROUP_NO_PERMISSION
        with pytest.raises(TidingsClientError) as err:
            await member.send(group="@TGS#nope", text="x")
        assert err.value.code == ErrorCode.GROUP_NOT_FOUND
        muted = await app.rest(
            "group_open_http_svc",
            "forbid_send_msg",
            {"GroupId": group_id, "Members_Account": ["hm"], "MuteTime": 600},
        )
        assert muted["ErrorCode"] == 0, muted
        with pytest.raises(TidingsClientError) as err:
            await member.send(group=group_id, text="shh")
        assert err.value.code == ErrorCode.GROUP_SENDER_MUTED
        # Seq 1 is the group tip of hm's mute.
        assert (await owner.send(group=group_id, text="owner speaks")).seq == 2
        gagged = await app.rest(
            "openconfigsvr", "setnospeaking", {"Set_Account": "ho", "GroupmsgNospeakingTime": 600}
        )
        assert gagged["ErrorCode"] == 0, gagged
        with pytest.raises(TidingsClientError) as err:
            await owner.send(group=group_id, text="globally muted")
        assert err.value.code == ErrorCode.GROUP_SENDER_MUTED
        with pytest.raises(TidingsClientError) as err:
            await outsider.request({"op": "sync", "group": group_id})
        assert err.value.code == ErrorCode.GROUP_NO_PERMISSION
    finally:
        await asyncio.gather(outsider.close(), member.close(), owner.close())


async def test_group_msg_recall_results(app: AppUnderTest) -> None:
    await app.import_accounts("ra", "rb")
    group_id = await make_group(app, "ra", ["rb"])
    posted = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "Random": 1, "MsgBody": text("take back")},
    )
    seq = posted["MsgSeq"]

    async def archived_seq(msg_seq: int) -> bool:
        r = await app.rest(
            "group_open_http_svc",
            "group_msg_get_simple",
            {"GroupId": group_id, "ReqMsgNumber": 1, "ReqMsgSeq": msg_seq},
        )
        return bool(r["RspMsgList"][0]["IsPlaceMsg"] == 0)

    assert await archived_seq(seq)
    reply = await app.rest(
        "group_open_http_svc",
        "group_msg_recall",
        {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": seq}, {"MsgSeq": 99}]},
    )
    assert reply["RecallRetList"] == [
        {"MsgSeq": seq, "RetCode": 0},
        {"MsgSeq": 99, "RetCode": ErrorCode.GROUP_MSG_NOT_FOUND},
    ]

    async def placeholder() -> bool:
        r = await app.rest(
            "group_open_http_svc",
            "group_msg_get_simple",
            {"GroupId": group_id, "ReqMsgNumber": 1, "ReqMsgSeq": seq},
        )
        return bool(r["RspMsgList"][0]["IsPlaceMsg"] == 1)

    assert await placeholder()
    again = await app.rest(
        "group_open_http_svc",
        "group_msg_recall",
        {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": seq}]},
    )
    assert again["RecallRetList"] == [
        {"MsgSeq": seq, "RetCode": ErrorCode.GROUP_MSG_ALREADY_RECALLED}
    ]
    # Two recalls at once, before the archive has the first: exactly one wins.
    twice = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "Random": 2, "MsgBody": text("take back twice")},
    )
    assert await archived_seq(twice["MsgSeq"])
    racing = await asyncio.gather(
        *(
            app.rest(
                "group_open_http_svc",
                "group_msg_recall",
                {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": twice["MsgSeq"]}]},
            )
            for _ in range(2)
        )
    )
    assert sorted(r["RecallRetList"][0]["RetCode"] for r in racing) == [
        0,
        ErrorCode.GROUP_MSG_ALREADY_RECALLED,
    ]
    unknown = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": "@TGS#missing", "Random": 1, "MsgBody": text("x")},
    )
    assert unknown["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND


async def test_send_group_msg_online_only(app: AppUnderTest) -> None:
    """Tencent's OnlineOnlyFlag 1: online members get the message; history does not keep it."""
    await app.import_accounts("oa", "ob")
    group_id = await make_group(app, "oa", ["ob"])
    member = await app.connect("ob")
    try:
        live = await app.rest(
            "group_open_http_svc",
            "send_group_msg",
            {"GroupId": group_id, "Random": 1, "OnlineOnlyFlag": 1, "MsgBody": text("live")},
        )
        assert live["ErrorCode"] == 0, live
        received = await asyncio.wait_for(anext(aiter(member.messages())), 30)
        assert received.text == "live"
    finally:
        await member.close()
    kept = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "Random": 2, "MsgBody": text("kept")},
    )
    history = await app.rest(
        "group_open_http_svc", "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 5}
    )
    # The online-only message took its seq, and history holds a placeholder for it.
    assert [(m["MsgSeq"], m["IsPlaceMsg"], m["MsgBody"]) for m in history["RspMsgList"]] == [
        (kept["MsgSeq"], 0, text("kept")),
        (live["MsgSeq"], 1, []),
    ]
    bad = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "Random": 3, "OnlineOnlyFlag": 2, "MsgBody": text("x")},
    )
    assert bad["ErrorCode"] == ErrorCode.GROUP_INVALID_PARAM, bad
