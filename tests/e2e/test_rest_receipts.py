"""Read receipts over REST through the stack, with Tencent's request examples: a C2C read
receipt pushed to the sender (read marks unchanged), group message receipts sent for a member,
their read and unread counts, and the paged read and unread member lists; and each documented
error path."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common import conversation
from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_receipts import RECEIPTS_ON, WAIT_S, receive, unread_of

pytestmark = pytest.mark.stack

OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
GROUP = "group_open_http_svc"


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    return await new_app(stack, **RECEIPTS_ON)


async def sendmsg(app: AppUnderTest, sender: str, to: str, text: str) -> str:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {
            "SyncOtherMachine": 2,
            "From_Account": sender,
            "To_Account": to,
            "MsgRandom": 1287657,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        },
    )
    assert reply["ErrorCode"] == 0, reply
    msg_key: str = reply["MsgKey"]
    return msg_key


async def test_c2c_msg_read_receipt(app: AppUnderTest) -> None:
    await app.import_accounts("user1", "user2")
    user2 = await app.connect("user2")
    try:
        key = await sendmsg(app, "user2", "user1", "read me")
        # Tencent's example: user1 read user2's message.
        body = {
            "Operator_Account": "user1",
            "Peer_Account": "user2",
            "C2CMsgInfo": [{"From_Account": "user2", "To_Account": "user1", "MsgKey": key}],
        }
        assert await app.rest("openim", "c2c_msg_read_receipt", body) == OK
        receipt = await asyncio.wait_for(user2.receipts().__anext__(), WAIT_S)
        seq = int(key.split("_")[1])
        assert (receipt.conversation, receipt.reader, receipt.seq) == (
            conversation.c2c("user1", "user2"),
            "user1",
            seq,
        )
        # A receipt is not a read mark: user1 still has the message unread.
        unread = await app.rest("openim", "get_c2c_unread_msg_num", {"To_Account": "user1"})
        assert unread["AllC2CUnreadMsgNum"] == 1, unread
    finally:
        await user2.close()


async def test_c2c_msg_read_receipt_errors(app: AppUnderTest) -> None:
    await app.import_accounts("user1", "user2")
    key = await sendmsg(app, "user2", "user1", "hello")
    info = {"From_Account": "user2", "To_Account": "user1", "MsgKey": key}
    base = {"Operator_Account": "user1", "Peer_Account": "user2", "C2CMsgInfo": [info]}
    cases: list[tuple[dict[str, Any], int]] = [
        ({}, ErrorCode.MSG_INVALID_REQUEST),
        ({**base, "Operator_Account": ""}, ErrorCode.MSG_INVALID_REQUEST),
        ({**base, "C2CMsgInfo": []}, ErrorCode.MSG_INVALID_REQUEST),
        ({**base, "Peer_Account": "user1"}, ErrorCode.MSG_INVALID_REQUEST),
        (
            {**base, "C2CMsgInfo": [{**info, "From_Account": "user1", "To_Account": "user2"}]},
            ErrorCode.MSG_INVALID_REQUEST,
        ),
        ({**base, "C2CMsgInfo": [{**info, "MsgKey": "nokey"}]}, ErrorCode.MSG_INVALID_REQUEST),
        ({**base, "C2CMsgInfo": [info] * 101}, ErrorCode.MSG_INVALID_REQUEST),
        (
            {**base, "Peer_Account": "ghost", "C2CMsgInfo": [{**info, "From_Account": "ghost"}]},
            ErrorCode.MSG_ACCOUNT_INVALID,
        ),
        # Tencent's example key names no message here.
        (
            {**base, "C2CMsgInfo": [{**info, "MsgKey": "1467329515_5675354_1708676941"}]},
            ErrorCode.MSG_NOT_FOUND,
        ),
    ]
    for body, code in cases:
        reply = await app.rest("openim", "c2c_msg_read_receipt", body)
        assert reply["ErrorCode"] == code, (body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


async def make_public123(app: AppUnderTest, owner: str, members: list[str]) -> str:
    created = await app.rest(
        GROUP,
        "create_group",
        {"Owner_Account": owner, "Type": "Public", "Name": "g", "GroupId": "public123"},
    )
    assert created["ErrorCode"] == 0, created
    added = await app.rest(
        GROUP,
        "add_group_member",
        {"GroupId": "public123", "MemberList": [{"Member_Account": m} for m in members]},
    )
    assert added["ErrorCode"] == 0, added
    return "public123"


async def counts(app: AppUnderTest, group_id: str, *seqs: int) -> list[dict[str, int]]:
    reply = await app.rest(
        GROUP,
        "get_group_msg_receipt",
        {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": s} for s in seqs]},
    )
    assert reply["ErrorCode"] == 0, reply
    items: list[dict[str, int]] = reply["GroupMsgReceiptList"]
    return items


async def detail(app: AppUnderTest, body: dict[str, Any]) -> dict[str, Any]:
    return await app.rest(GROUP, "get_group_msg_receipt_detail", body)


async def test_group_receipts(app: AppUnderTest) -> None:
    await app.import_accounts("user0", "user1", "user2", "user3")
    group_id = await make_public123(app, "user0", ["user1", "user2", "user3"])
    owner = await app.connect("user0")
    user2 = await app.connect("user2")
    try:
        plain = await owner.send(group=group_id, text="no receipt asked")
        asked = await owner.send(group=group_id, text="please read", need_receipt=True)
        # As in test_receipts: by the time members have it, the receipt index (one Redis
        # write after the ack) is written.
        await receive(user2, 2)
        assert await counts(app, group_id, asked.seq, plain.seq) == [
            {"Code": 0, "MsgSeq": asked.seq, "ReadNum": 0, "UnreadNum": 3},
            {
                "Code": ErrorCode.GROUP_RECEIPT_NOT_FOUND,
                "MsgSeq": plain.seq,
                "ReadNum": 0,
                "UnreadNum": 0,
            },
        ]

        # Tencent's example: user2 sends a receipt. The plain message changes nothing.
        body = {
            "GroupId": group_id,
            "From_Account": "user2",
            "MsgSeqList": [{"MsgSeq": asked.seq}, {"MsgSeq": plain.seq}],
        }
        assert await app.rest(GROUP, "group_msg_receipt", body) == OK
        receipt = await asyncio.wait_for(owner.receipts().__anext__(), WAIT_S)
        assert (receipt.group, receipt.seq, receipt.reader, receipt.read_count) == (
            group_id,
            asked.seq,
            "user2",
            1,
        )
        # Counted once, however often it is sent; the read mark stays where it was.
        assert await app.rest(GROUP, "group_msg_receipt", body) == OK
        assert await counts(app, group_id, asked.seq) == [
            {"Code": 0, "MsgSeq": asked.seq, "ReadNum": 1, "UnreadNum": 2}
        ]
        assert await unread_of(user2, asked.conversation) == 2

        base = {"GroupId": group_id, "MsgSeq": asked.seq, "Cursor": ""}
        assert await detail(app, {**base, "Filter": 0, "Count": 5}) == {
            **OK,
            "GroupId": group_id,
            "MsgSeq": asked.seq,
            "Filter": 0,
            "Cursor": "",
            "IsFinish": 1,
            "ReadList": [{"Member_Account": "user2"}],
        }
        first = await detail(app, {**base, "Filter": 1, "Count": 1})
        assert first["UnreadList"] == [{"Member_Account": "user1"}], first
        assert (first["IsFinish"], bool(first["Cursor"])) == (0, True)
        second = await detail(app, {**base, "Filter": 1, "Count": 1, "Cursor": first["Cursor"]})
        assert second["UnreadList"] == [{"Member_Account": "user3"}], second
        assert (second["IsFinish"], second["Cursor"]) == (1, "")
        # Tencent's example, and Count absent (up to 200).
        unread = [{"Member_Account": "user1"}, {"Member_Account": "user3"}]
        whole = await detail(app, {**base, "Filter": 1, "Count": 5})
        assert (whole["UnreadList"], whole["IsFinish"], whole["Cursor"]) == (unread, 1, "")
        whole = await detail(app, {"GroupId": group_id, "MsgSeq": asked.seq, "Filter": 1})
        assert whole["UnreadList"] == unread
    finally:
        for c in (owner, user2):
            await c.close()


async def test_group_receipt_errors(app: AppUnderTest) -> None:
    await app.import_accounts("user0", "user1", "outsider")
    group_id = await make_public123(app, "user0", ["user1"])
    owner = await app.connect("user0")
    try:
        plain = await owner.send(group=group_id, text="no receipt asked")
        asked = await owner.send(group=group_id, text="read", need_receipt=True)
    finally:
        await owner.close()
    live = await app.rest(
        GROUP, "create_group", {"Owner_Account": "user0", "Type": "AVChatRoom", "Name": "live"}
    )
    assert live["ErrorCode"] == 0, live
    one = [{"MsgSeq": asked.seq}]
    receipt = {"GroupId": group_id, "From_Account": "user1", "MsgSeqList": one}
    get = {"GroupId": group_id, "MsgSeqList": one}
    detailed = {"GroupId": group_id, "MsgSeq": asked.seq, "Filter": 0, "Cursor": "", "Count": 5}
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("group_msg_receipt", {**receipt, "GroupId": "nosuch"}, ErrorCode.GROUP_NOT_FOUND),
        (
            "group_msg_receipt",
            {**receipt, "GroupId": live["GroupId"]},
            ErrorCode.GROUP_NO_PERMISSION,
        ),
        (
            "group_msg_receipt",
            {**receipt, "From_Account": "outsider"},
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
        ),
        ("group_msg_receipt", {**receipt, "From_Account": ""}, ErrorCode.GROUP_INVALID_PARAM),
        ("group_msg_receipt", {**receipt, "MsgSeqList": []}, ErrorCode.GROUP_INVALID_PARAM),
        (
            "group_msg_receipt",
            {**receipt, "MsgSeqList": [{"MsgSeq": n} for n in range(1, 52)]},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        (
            "group_msg_receipt",
            {**receipt, "MsgSeqList": [{"MsgSeq": 0}]},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        ("get_group_msg_receipt", {**get, "GroupId": "nosuch"}, ErrorCode.GROUP_NOT_FOUND),
        ("get_group_msg_receipt", {"GroupId": group_id}, ErrorCode.GROUP_INVALID_PARAM),
        (
            "get_group_msg_receipt",
            {**get, "GroupId": live["GroupId"]},
            ErrorCode.GROUP_NO_PERMISSION,
        ),
        (
            "get_group_msg_receipt_detail",
            {**detailed, "MsgSeq": plain.seq},
            ErrorCode.GROUP_RECEIPT_NOT_FOUND,
        ),
        ("get_group_msg_receipt_detail", {**detailed, "Filter": 2}, ErrorCode.GROUP_INVALID_PARAM),
        ("get_group_msg_receipt_detail", {**detailed, "Count": 201}, ErrorCode.GROUP_INVALID_PARAM),
        ("get_group_msg_receipt_detail", {**detailed, "Count": 0}, ErrorCode.GROUP_INVALID_PARAM),
        (
            "get_group_msg_receipt_detail",
            {**detailed, "Cursor": "not a cursor"},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        (
            "get_group_msg_receipt_detail",
            {k: v for k, v in detailed.items() if k != "Filter"},
            ErrorCode.GROUP_INVALID_PARAM,
        ),
        (
            "get_group_msg_receipt_detail",
            {**detailed, "GroupId": "nosuch"},
            ErrorCode.GROUP_NOT_FOUND,
        ),
    ]
    for command, body, code in cases:
        reply = await app.rest(GROUP, command, body)
        assert reply["ErrorCode"] == code, (command, body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


async def test_send_group_msg_need_read_receipt(app: AppUnderTest) -> None:
    """Tencent's NeedReadReceipt on send_group_msg: the message takes receipts as a client's
    need_receipt does, under the same rules."""
    await app.import_accounts("user0", "user1", "user2")
    group_id = await make_public123(app, "user0", ["user1", "user2"])
    text = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "read me"}}]
    send = {"GroupId": group_id, "From_Account": "user0", "MsgBody": text}
    asked = await app.rest(GROUP, "send_group_msg", {**send, "Random": 1, "NeedReadReceipt": 1})
    assert asked["ErrorCode"] == 0, asked
    plain = await app.rest(GROUP, "send_group_msg", {**send, "Random": 2})
    assert plain["ErrorCode"] == 0, plain
    receipt = {"GroupId": group_id, "From_Account": "user1", "MsgSeqList": []}
    seqs = [{"MsgSeq": asked["MsgSeq"]}, {"MsgSeq": plain["MsgSeq"]}]
    assert await app.rest(GROUP, "group_msg_receipt", {**receipt, "MsgSeqList": seqs}) == OK
    assert await counts(app, group_id, asked["MsgSeq"], plain["MsgSeq"]) == [
        {"Code": 0, "MsgSeq": asked["MsgSeq"], "ReadNum": 1, "UnreadNum": 1},
        {
            "Code": ErrorCode.GROUP_RECEIPT_NOT_FOUND,
            "MsgSeq": plain["MsgSeq"],
            "ReadNum": 0,
            "UnreadNum": 0,
        },
    ]
    live = await app.rest(GROUP, "create_group", {"Type": "AVChatRoom", "Name": "live"})
    assert live["ErrorCode"] == 0, live
    cases: list[tuple[dict[str, Any], int]] = [
        ({**send, "Random": 3, "NeedReadReceipt": 2}, ErrorCode.GROUP_INVALID_PARAM),
        (
            {"GroupId": live["GroupId"], "Random": 4, "MsgBody": text, "NeedReadReceipt": 1},
            ErrorCode.GROUP_NO_PERMISSION,
        ),
    ]
    for body, code in cases:
        reply = await app.rest(GROUP, "send_group_msg", body)
        assert reply["ErrorCode"] == code, (body, reply)
