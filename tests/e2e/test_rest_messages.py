"""openim message management and recentcontact, golden request/response shapes, through the
running stack."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest
from tidings_client import Client, Message

pytestmark = pytest.mark.stack

TEXT = "TIMTextElem"


def body(text: str) -> list[dict[str, Any]]:
    return [{"MsgType": TEXT, "MsgContent": {"Text": text}}]


async def send(app: AppUnderTest, frm: str, to: str, text: str, random: int) -> dict[str, Any]:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {
            "SyncOtherMachine": 2,
            "From_Account": frm,
            "To_Account": to,
            "MsgRandom": random,
            "MsgBody": body(text),
        },
    )
    assert reply["ErrorCode"] == 0, reply
    return reply


async def roam(app: AppUnderTest, a: str, b: str, count: int) -> list[dict[str, Any]]:
    msgs = await app.roam(a, b)
    assert len(msgs) == count, msgs
    return msgs


async def test_batchsendmsg_reports_unknown_recipients_and_sends_the_rest(
    app: AppUnderTest,
) -> None:
    await app.import_accounts("boss", "u1", "u2")
    reply = await app.rest(
        "openim",
        "batchsendmsg",
        {
            "SyncOtherMachine": 2,
            "From_Account": "boss",
            "To_Account": ["u1", "u2", "ghost"],
            "MsgRandom": 19901224,
            "MsgBody": body("hello all"),
        },
    )
    assert reply["ActionStatus"] == "OK"
    assert reply["ErrorList"] == [
        {"To_Account": "ghost", "ErrorCode": ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN}
    ]
    assert reply["MsgKey"]
    for user in ("u1", "u2"):
        msgs = await roam(app, "boss", user, 1)
        assert msgs[0]["MsgBody"] == body("hello all")
    # The one MsgKey recalls each recipient's copy.
    for user in ("u1", "u2"):
        r = await app.rest(
            "openim",
            "admin_msgwithdraw",
            {"From_Account": "boss", "To_Account": user, "MsgKey": reply["MsgKey"]},
        )
        assert r["ErrorCode"] == 0, r
    too_many = await app.rest(
        "openim",
        "batchsendmsg",
        {"To_Account": [f"x{i}" for i in range(501)], "MsgRandom": 1, "MsgBody": body("x")},
    )
    assert too_many["ErrorCode"] == ErrorCode.OPENIM_BATCH_TOO_LARGE
    negative_life = await app.rest(
        "openim",
        "batchsendmsg",
        {"To_Account": ["u1"], "MsgRandom": 1, "MsgLifeTime": -1, "MsgBody": body("x")},
    )
    assert negative_life["ErrorCode"] == ErrorCode.PUSH_LIFETIME_INVALID


async def test_sendmsg_asks_for_a_read_receipt_and_bounds_its_options(app: AppUnderTest) -> None:
    await app.import_accounts("rita", "sam")
    sam = Client(app.stack.ws_url, app.sdkappid, "sam", app.sig("sam"))
    await sam.connect()
    request = {
        "SyncOtherMachine": 2,
        "From_Account": "rita",
        "To_Account": "sam",
        # Over Tencent's 7 days: kept 7 days there, not refused.
        "MsgLifeTime": 604801,
        "MsgRandom": 5150,
        "MsgBody": body("read me"),
        "IsNeedReadReceipt": 1,
    }
    try:
        sent = await app.rest("openim", "sendmsg", request)
        assert sent["ErrorCode"] == 0, sent
        got = await asyncio.wait_for(sam.messages().__anext__(), 20)
        assert (got.text, got.need_receipt) == ("read me", True)
    finally:
        await sam.close()
    for field, value, code in (
        ("IsNeedReadReceipt", 2, ErrorCode.OPENIM_JSON_FIELDS),
        ("MsgLifeTime", "7d", ErrorCode.OPENIM_MSG_LIFETIME_TYPE),
        ("SyncOtherMachine", "2", ErrorCode.OPENIM_SYNC_OTHER_MACHINE),
        ("MsgLifeTime", -1, ErrorCode.PUSH_LIFETIME_INVALID),
    ):
        bad = await app.rest("openim", "sendmsg", {**request, field: value})
        assert bad["ErrorCode"] == code, (field, value, bad)


async def test_recall_marks_the_message_and_tells_online_clients(app: AppUnderTest) -> None:
    await app.import_accounts("ron", "sue")
    sue = Client(app.stack.ws_url, app.sdkappid, "sue", app.sig("sue"))
    await sue.connect()
    try:
        sent = await send(app, "ron", "sue", "oops", 77)
        first = await asyncio.wait_for(sue.messages().__anext__(), 20)
        assert first.text == "oops"
        await roam(app, "ron", "sue", 1)
        reply = await app.rest(
            "openim",
            "admin_msgwithdraw",
            {"From_Account": "ron", "To_Account": "sue", "MsgKey": sent["MsgKey"]},
        )
        assert reply == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
        change: Message = await asyncio.wait_for(sue.changes().__anext__(), 20)
        assert (change.kind, change.seq, change.recalled) == ("recall", sent["MsgSeq"], False)
    finally:
        await sue.close()

    async def recalled() -> bool:
        msgs = await roam(app, "ron", "sue", 1)
        return bool(msgs[0]["MsgFlagBits"] == 8)

    assert await recalled()
    again = await app.rest(
        "openim",
        "admin_msgwithdraw",
        {"From_Account": "ron", "To_Account": "sue", "MsgKey": sent["MsgKey"]},
    )
    assert again["ErrorCode"] == ErrorCode.MSG_ALREADY_RECALLED
    unknown = await app.rest(
        "openim",
        "admin_msgwithdraw",
        {"From_Account": "ron", "To_Account": "sue", "MsgKey": "1_999_1700000000"},
    )
    assert unknown["ErrorCode"] == ErrorCode.MSG_NOT_FOUND
    bad = await app.rest(
        "openim",
        "admin_msgwithdraw",
        {"From_Account": "ron", "To_Account": "sue", "MsgKey": "not-a-key"},
    )
    assert bad["ErrorCode"] == ErrorCode.OPENIM_BAD_MSG_KEY


async def test_modify_c2c_msg_replaces_the_body(app: AppUnderTest) -> None:
    await app.import_accounts("ted", "uma")
    sent = await send(app, "ted", "uma", "draft", 5)
    await roam(app, "ted", "uma", 1)
    reply = await app.rest(
        "openim",
        "modify_c2c_msg",
        {
            "From_Account": "ted",
            "To_Account": "uma",
            "MsgKey": sent["MsgKey"],
            "MsgBody": body("final"),
            "CloudCustomData": "edited",
        },
    )
    assert reply["ErrorCode"] == 0, reply

    async def modified() -> bool:
        msgs = await roam(app, "ted", "uma", 1)
        return bool(msgs[0]["MsgBody"] == body("final") and msgs[0]["CloudCustomData"] == "edited")

    assert await modified()
    nothing = await app.rest(
        "openim",
        "modify_c2c_msg",
        {"From_Account": "ted", "To_Account": "uma", "MsgKey": sent["MsgKey"]},
    )
    assert nothing["ErrorCode"] == ErrorCode.OPENIM_JSON_FIELDS


async def test_importmsg_history_and_realtime(app: AppUnderTest) -> None:
    await app.import_accounts("vic", "wes")
    old = int(time.time()) - 3600
    history = {
        "SyncFromOldSystem": 2,
        "From_Account": "vic",
        "To_Account": "wes",
        "MsgSeq": 1,
        "MsgRandom": 11,
        "MsgTimeStamp": old,
        "MsgBody": body("old one"),
    }
    assert (await app.rest("openim", "importmsg", history))["ErrorCode"] == 0
    # Importing the same message again stores it once.
    assert (await app.rest("openim", "import_msg", history))["ErrorCode"] == 0
    msgs = await roam(app, "vic", "wes", 1)
    assert msgs[0]["MsgTimeStamp"] == old
    realtime = {
        **history,
        "SyncFromOldSystem": 5,
        "MsgRandom": 12,
        "MsgTimeStamp": old + 60,
        "MsgBody": body("counts"),
    }
    assert (await app.rest("openim", "importmsg", realtime))["ErrorCode"] == 0
    await roam(app, "vic", "wes", 2)

    async def unread() -> int:
        r = await app.rest("openim", "get_c2c_unread_msg_num", {"To_Account": "wes"})
        return int(r["AllC2CUnreadMsgNum"])

    assert await unread() == 1, "a history import is not unread; a realtime one is"
    # 1 is Tencent's earlier value for a realtime import, which older SDKs still send.
    older = {**realtime, "SyncFromOldSystem": 1, "MsgRandom": 13, "MsgTimeStamp": old + 120}
    assert (await app.rest("openim", "importmsg", older))["ErrorCode"] == 0
    await roam(app, "vic", "wes", 3)
    assert await unread() == 2
    bad = await app.rest("openim", "importmsg", {**history, "SyncFromOldSystem": 3})
    assert bad["ErrorCode"] == ErrorCode.OPENIM_JSON_FIELDS
    missing = {k: v for k, v in history.items() if k != "SyncFromOldSystem"}
    for request in (missing, {**history, "SyncFromOldSystem": "2"}):
        bad = await app.rest("openim", "importmsg", request)
        assert bad["ErrorCode"] == ErrorCode.OPENIM_SYNC_FROM_OLD_SYSTEM, bad


async def test_unread_counts_and_read_marks(app: AppUnderTest) -> None:
    await app.import_accounts("xia", "yan", "zed")
    for i in range(3):
        await send(app, "xia", "yan", f"x{i}", 100 + i)
    await send(app, "zed", "yan", "z0", 200)
    await send(app, "yan", "xia", "mine", 300)
    await roam(app, "xia", "yan", 4)
    await roam(app, "zed", "yan", 1)

    async def unread() -> dict[str, Any]:
        return await app.rest(
            "openim",
            "get_c2c_unread_msg_num",
            {"To_Account": "yan", "Peer_Account": ["xia", "zed"]},
        )

    async def counts_are(total: int) -> bool:
        return bool((await unread())["AllC2CUnreadMsgNum"] == total)

    assert await counts_are(4)
    reply = await unread()
    assert reply["C2CUnreadMsgNumList"] == [
        {"Peer_Account": "xia", "C2CUnreadMsgNum": 3},
        {"Peer_Account": "zed", "C2CUnreadMsgNum": 1},
    ]
    assert "ErrorList" not in reply
    with_ghost = await app.rest(
        "openim",
        "get_c2c_unread_msg_num",
        {"To_Account": "yan", "Peer_Account": ["zed", "ghost", "administrator"]},
    )
    # The app admin is a peer (of its sendmsg) without being an imported account.
    assert with_ghost["C2CUnreadMsgNumList"] == [
        {"Peer_Account": "zed", "C2CUnreadMsgNum": 1},
        {"Peer_Account": "administrator", "C2CUnreadMsgNum": 0},
    ]
    assert with_ghost["ErrorList"] == [
        {"Peer_Account": "ghost", "ErrorCode": ErrorCode.ACCOUNT_NOT_IMPORTED}
    ]
    read = await app.rest(
        "openim", "admin_set_msg_read", {"Report_Account": "yan", "Peer_Account": "xia"}
    )
    assert read["ErrorCode"] == 0
    assert await counts_are(1)
    too_many = await app.rest(
        "openim",
        "get_c2c_unread_msg_num",
        {"To_Account": "yan", "Peer_Account": [f"p{i}" for i in range(11)]},
    )
    assert too_many["ErrorCode"] == ErrorCode.OPENIM_JSON_FIELDS


async def test_recentcontact_list_and_delete(app: AppUnderTest) -> None:
    await app.import_accounts("ali", "bea", "cal")
    await send(app, "bea", "ali", "first", 1)
    await asyncio.sleep(1.1)
    await send(app, "cal", "ali", "second", 2)
    await roam(app, "cal", "ali", 1)
    request = {
        "From_Account": "ali",
        "TimeStamp": 0,
        "StartIndex": 0,
        "TopTimeStamp": 0,
        "TopStartIndex": 0,
        "AssistFlags": 7,
    }

    async def listed(n: int) -> list[dict[str, Any]]:
        r = await app.rest("recentcontact", "get_list", request)
        assert (r["ErrorCode"], r["ErrorDisplay"]) == (0, ""), r
        assert len(r["SessionItem"]) == n, r["SessionItem"]
        return r["SessionItem"]  # type: ignore[no-any-return]

    items = await listed(2)
    assert [(i["Type"], i["To_Account"], i["TopFlag"]) for i in items] == [
        (1, "cal", 0),
        (1, "bea", 0),
    ]
    # A marked conversation's item carries its marks, as Tencent's example reply does.
    marked = await app.rest(
        "recentcontact",
        "mark_contact",
        {
            "From_Account": "ali",
            "MarkItem": [
                {
                    "OptType": 3,
                    "ContactItem": {"Type": 1, "To_Account": "bea"},
                    "SetMark": [0, 1, 2],
                    "CustomMark": "abcd",
                }
            ],
        },
    )
    assert marked["ErrorCode"] == 0, marked
    items = await listed(2)
    assert items[0] == {
        "Type": 1,
        "MsgTime": items[0]["MsgTime"],
        "To_Account": "cal",
        "TopFlag": 0,
    }
    assert (items[1]["StandardMark"], items[1]["CustomMark"]) == ("111", "abcd")
    reply = await app.rest(
        "recentcontact", "delete", {"From_Account": "ali", "Type": 1, "To_Account": "cal"}
    )
    # Tencent's example reply.
    assert reply == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ErrorDisplay": ""}
    items = await listed(1)
    assert items[0]["To_Account"] == "bea"
    await send(app, "cal", "ali", "back again", 3)
    items = await listed(2)
    assert items[0]["To_Account"] == "cal"


ROAM_FIELDS = [
    "From_Account",
    "To_Account",
    "MsgSeq",
    "MsgRandom",
    "MsgTimeStamp",
    "MsgClientTime",
    "MsgFlagBits",
    "IsPeerRead",
    "MsgKey",
    "MsgBody",
    "CloudCustomData",
]


async def test_admin_getroammsg_golden(app: AppUnderTest) -> None:
    """Tencent's example: user2's view of its conversation with user1, then the read marks."""
    await app.import_accounts("user1", "user2")
    sent: list[dict[str, Any]] = []
    for frm, to, text, random in (
        ("user1", "user2", "msg 1", 2578554),
        ("user2", "user1", "msg 2", 7201),
    ):
        reply = await app.rest(
            "openim",
            "sendmsg",
            {
                "SyncOtherMachine": 1,
                "From_Account": frm,
                "To_Account": to,
                "MsgRandom": random,
                "MsgBody": body(text),
                "CloudCustomData": "your cloud custom data",
            },
        )
        assert reply["ErrorCode"] == 0, reply
        sent.append(reply)
    now = int(time.time())
    request = {
        "Operator_Account": "user2",
        "Peer_Account": "user1",
        "MaxCnt": 100,
        "MinTime": now - 3600,
        "MaxTime": now + 1,
    }

    def item(n: int, frm: str, to: str, random: int, peer_read: int) -> dict[str, Any]:
        at = sent[n]["MsgTime"]
        values = [frm, to, sent[n]["MsgSeq"], random, at, at, 0, peer_read, sent[n]["MsgKey"]]
        return dict(
            zip(
                ROAM_FIELDS,
                [*values, body(f"msg {n + 1}"), "your cloud custom data"],
                strict=True,
            )
        )

    async def roamed(peer_reads: tuple[int, int]) -> None:
        reply = await app.rest("openim", "admin_getroammsg", request)
        assert reply == {
            "ActionStatus": "OK",
            "ErrorInfo": "",
            "ErrorCode": 0,
            "Complete": 1,
            "MsgCnt": 2,
            "LastMsgTime": sent[0]["MsgTime"],
            "LastMsgKey": sent[0]["MsgKey"],
            "MsgList": [
                item(1, "user2", "user1", 7201, peer_reads[1]),
                item(0, "user1", "user2", 2578554, peer_reads[0]),
            ],
        }

    await roamed((0, 0))
    # user2 reads: user1's message to user2 is read by its recipient, user2's is not.
    for reporter, peer in (("user2", "user1"), ("user1", "user2")):
        read = await app.rest(
            "openim", "admin_set_msg_read", {"Report_Account": reporter, "Peer_Account": peer}
        )
        assert read["ErrorCode"] == 0, read
        await roamed((1, 0) if reporter == "user2" else (1, 1))

    # Tencent's continuation: MaxTime = LastMsgTime, with LastMsgKey.
    first = await app.rest("openim", "admin_getroammsg", {**request, "MaxCnt": 1})
    assert (first["Complete"], first["MsgCnt"], first["LastMsgKey"]) == (0, 1, sent[1]["MsgKey"])
    rest = await app.rest(
        "openim",
        "admin_getroammsg",
        {
            **request,
            "MaxCnt": 1,
            "MaxTime": first["LastMsgTime"],
            "LastMsgKey": first["LastMsgKey"],
        },
    )
    assert (rest["Complete"], [m["MsgKey"] for m in rest["MsgList"]]) == (1, [sent[0]["MsgKey"]])
    # No cap on MaxCnt (Tencent cuts pages and says Complete 0): any count is taken.
    large = await app.rest("openim", "admin_getroammsg", {**request, "MaxCnt": 4294967295})
    assert (large["ErrorCode"], large["Complete"], large["MsgCnt"]) == (0, 1, 2)
    for bad in ({**request, "MaxCnt": 0}, {**request, "MaxCnt": 4294967296}):
        refused = await app.rest("openim", "admin_getroammsg", bad)
        assert (refused["ActionStatus"], refused["ErrorCode"]) == (
            "FAIL",
            ErrorCode.OPENIM_JSON_FIELDS,
        ), refused
