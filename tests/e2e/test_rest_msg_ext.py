"""openim_msg_ext_http_svc through the running stack: Tencent's request examples for one-to-one
and group message extensions, the reply shapes, the Seq compare-and-set and the error codes."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """Message extensions are off until the console turns them on (Tencent's default)."""
    return await new_app(stack, msg_extensions=True)


SVC = "openim_msg_ext_http_svc"
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
CONFLICT = int(ErrorCode.MSG_EXTENSION_CONFLICT)
NOT_EXIST = int(ErrorCode.MSG_EXTENSION_NOT_EXIST)


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


def ext(key: str, value: str, seq: int, code: int = 0) -> dict[str, Any]:
    return {"ErrorCode": code, "Extension": {"Key": key, "Value": value, "Seq": seq}}


async def ok(app: AppUnderTest, command: str, body: Any) -> dict[str, Any]:
    reply = await app.rest(SVC, command, body)
    assert (reply["ActionStatus"], reply["ErrorCode"], reply["ErrorInfo"]) == ("OK", 0, ""), reply
    return reply


async def fails(app: AppUnderTest, command: str, body: Any, code: ErrorCode) -> None:
    reply = await app.rest(SVC, command, body)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorCode"] == code, (body, reply)
    assert reply["ErrorInfo"], reply


async def send_c2c(app: AppUnderTest, frm: str, to: str, random: int) -> str:
    reply = await app.rest(
        "openim",
        "sendmsg",
        {"From_Account": frm, "To_Account": to, "MsgRandom": random, "MsgBody": text("vote")},
    )
    assert reply["ErrorCode"] == 0, reply
    return str(reply["MsgKey"])


async def send_group(app: AppUnderTest, group_id: str, random: int) -> int:
    reply = await app.rest(
        "group_open_http_svc",
        "send_group_msg",
        {"GroupId": group_id, "Random": random, "MsgBody": text("poll")},
    )
    assert reply["ErrorCode"] == 0, reply
    return int(reply["MsgSeq"])


async def create_group(app: AppUnderTest, group_type: str, owner: str | None = None) -> str:
    body: dict[str, Any] = {"Type": group_type, "Name": "ext"}
    if owner:
        body["Owner_Account"] = owner
    reply = await app.rest("group_open_http_svc", "create_group", body)
    assert reply["ErrorCode"] == 0, reply
    return str(reply["GroupId"])


async def test_c2c_extensions_golden(app: AppUnderTest) -> None:
    await app.import_accounts("62768", "116400")
    key = await send_c2c(app, "62768", "116400", 44739199)
    msg = {"From_Account": "62768", "To_Account": "116400", "MsgKey": key}

    assert await ok(app, "get_key_values", msg) == {
        **OK,
        "CompleteFlag": 1,
        "LatestSeq": 0,
        "ClearSeq": 0,
        "ExtensionList": [],
    }

    # Tencent's set example: three new keys, each at Seq 0, all written as change 1.
    reply = await ok(
        app,
        "set_key_values",
        {
            **msg,
            "OperateType": 1,
            "ExtensionList": [
                {"Key": "k1", "Value": "v1", "Seq": 0},
                {"Key": "k2", "Value": "v2", "Seq": 0},
                {"Key": "k3", "Value": "v3", "Seq": 0},
            ],
        },
    )
    assert reply == {
        **OK,
        "ExtensionList": [ext("k1", "v1", 1), ext("k2", "v2", 1), ext("k3", "v3", 1)],
    }

    # A writer that saw an older Seq loses for that key and gets the winner back; the rest of
    # the request goes through.
    reply = await ok(
        app,
        "set_key_values",
        {
            **msg,
            "OperateType": 1,
            "ExtensionList": [
                {"Key": "k1", "Value": "mine", "Seq": 0},
                {"Key": "k3", "Value": "v3b", "Seq": 1},
            ],
        },
    )
    assert reply["ExtensionList"] == [ext("k1", "v1", 1, CONFLICT), ext("k3", "v3b", 2)]

    # Tencent's delete example names a key the message does not have; then a real delete.
    reply = await ok(
        app,
        "set_key_values",
        {**msg, "OperateType": 2, "ExtensionList": [{"Key": "key1", "Value": "", "Seq": 1}]},
    )
    assert reply["ExtensionList"] == [ext("key1", "", 0, NOT_EXIST)]
    reply = await ok(
        app,
        "set_key_values",
        {**msg, "OperateType": 2, "ExtensionList": [{"Key": "k1", "Value": "", "Seq": 1}]},
    )
    assert reply["ExtensionList"] == [ext("k1", "", 3)]

    got = await ok(app, "get_key_values", msg)
    assert (got["CompleteFlag"], got["LatestSeq"], got["ClearSeq"]) == (1, 3, 0)
    assert got["ExtensionList"] == [
        {"Key": "k2", "Value": "v2", "Seq": 1},
        {"Key": "k3", "Value": "v3b", "Seq": 2},
    ]
    # Tencent's StartSeq example: Seq >= 2 only.
    got = await ok(app, "get_key_values", {**msg, "StartSeq": 2})
    assert got["ExtensionList"] == [{"Key": "k3", "Value": "v3b", "Seq": 2}]

    # Tencent's clear example.
    assert await ok(app, "set_key_values", {**msg, "OperateType": 3}) == {
        **OK,
        "ExtensionList": [],
    }
    got = await ok(app, "get_key_values", msg)
    assert (got["LatestSeq"], got["ClearSeq"], got["ExtensionList"]) == (4, 4, [])

    # The other direction of the conversation is another message.
    back = await send_c2c(app, "116400", "62768", 7)
    other = {"From_Account": "116400", "To_Account": "62768", "MsgKey": back}
    assert (await ok(app, "get_key_values", other))["LatestSeq"] == 0


async def test_c2c_extension_errors(app: AppUnderTest) -> None:
    await app.import_accounts("ea", "eb")
    key = await send_c2c(app, "ea", "eb", 5)
    msg: dict[str, Any] = {"From_Account": "ea", "To_Account": "eb", "MsgKey": key}
    one = [{"Key": "k", "Value": "v", "Seq": 0}]
    bad = ErrorCode.OPENIM_JSON_FIELDS
    for body, code in (
        ({**msg, "MsgKey": "nope"}, ErrorCode.OPENIM_BAD_MSG_KEY),
        ({**msg, "MsgKey": f"{key.split('_')[0]}_999_1665388280"}, ErrorCode.MSG_NOT_FOUND),
        # Without From_Account the sender is the admin, who did not send it.
        ({"To_Account": "eb", "MsgKey": key}, ErrorCode.MSG_NOT_FOUND),
        ({**msg, "To_Account": "ea"}, ErrorCode.MSG_NOT_FOUND),
        ({**msg, "StartSeq": -1}, bad),
    ):
        await fails(app, "get_key_values", body, code)
    for body, code in (
        ({**msg, "ExtensionList": one}, bad),
        ({**msg, "OperateType": 4, "ExtensionList": one}, bad),
        ({**msg, "OperateType": 1}, bad),
        ({**msg, "OperateType": 1, "ExtensionList": []}, bad),
        (
            {
                **msg,
                "OperateType": 1,
                "ExtensionList": [{"Key": f"k{i}", "Value": "v"} for i in range(21)],
            },
            bad,
        ),
        ({**msg, "OperateType": 1, "ExtensionList": [{"Key": "k" * 101, "Value": "v"}]}, bad),
        ({**msg, "OperateType": 1, "ExtensionList": [{"Key": "k", "Value": "v" * 1001}]}, bad),
        ({**msg, "OperateType": 1, "ExtensionList": one + one}, bad),
        (
            {**msg, "MsgKey": "1_2", "OperateType": 1, "ExtensionList": one},
            ErrorCode.OPENIM_BAD_MSG_KEY,
        ),
    ):
        await fails(app, "set_key_values", body, code)
    # A refused request wrote nothing.
    assert (await ok(app, "get_key_values", msg))["LatestSeq"] == 0

    recall = await app.rest("openim", "admin_msgwithdraw", msg)
    assert recall["ErrorCode"] == 0, recall
    await fails(app, "get_key_values", msg, ErrorCode.MSG_ALREADY_RECALLED)
    await fails(
        app,
        "set_key_values",
        {**msg, "OperateType": 1, "ExtensionList": one},
        ErrorCode.MSG_ALREADY_RECALLED,
    )


async def test_group_extensions_golden(app: AppUnderTest) -> None:
    await app.import_accounts("gowner")
    gid = await create_group(app, "Public", "gowner")
    seq = await send_group(app, gid, 158)
    msg: dict[str, Any] = {"GroupId": gid, "MsgSeq": seq}

    assert await ok(app, "group_get_key_values", msg) == {
        **OK,
        "CompleteFlag": 1,
        "LatestSeq": 0,
        "ClearSeq": 0,
        "ExtensionList": [],
    }
    # Tencent's group_set_key_values examples: set two keys, delete one, clear.
    reply = await ok(
        app,
        "group_set_key_values",
        {
            **msg,
            "OperateType": 1,
            "ExtensionList": [
                {"Key": "key1", "Value": "value1", "Seq": 0},
                {"Key": "key2", "Value": "value2", "Seq": 0},
            ],
        },
    )
    assert reply == {**OK, "ExtensionList": [ext("key1", "value1", 1), ext("key2", "value2", 1)]}
    reply = await ok(
        app,
        "group_set_key_values",
        {**msg, "OperateType": 2, "ExtensionList": [{"Key": "key1", "Value": "", "Seq": 1}]},
    )
    assert reply["ExtensionList"] == [ext("key1", "", 2)]
    # An admin write without Seq is not checked.
    reply = await ok(
        app,
        "group_set_key_values",
        {**msg, "OperateType": 1, "ExtensionList": [{"Key": "key2", "Value": "v2"}]},
    )
    assert reply["ExtensionList"] == [ext("key2", "v2", 3)]
    got = await ok(app, "group_get_key_values", {**msg, "StartSeq": 2})
    assert got == {
        **OK,
        "CompleteFlag": 1,
        "LatestSeq": 3,
        "ClearSeq": 0,
        "ExtensionList": [{"Key": "key2", "Value": "v2", "Seq": 3}],
    }
    assert (await ok(app, "group_set_key_values", {**msg, "OperateType": 3}))["ExtensionList"] == []
    got = await ok(app, "group_get_key_values", msg)
    assert (got["LatestSeq"], got["ClearSeq"], got["ExtensionList"]) == (4, 4, [])


async def test_group_extension_errors(app: AppUnderTest) -> None:
    await app.import_accounts("gown2")
    gid = await create_group(app, "Public", "gown2")
    seq = await send_group(app, gid, 1)
    msg: dict[str, Any] = {"GroupId": gid, "MsgSeq": seq}
    one = [{"Key": "k", "Value": "v", "Seq": 0}]
    bad = ErrorCode.GROUP_INVALID_PARAM
    for body, code in (
        ({**msg, "MsgSeq": seq + 50}, ErrorCode.GROUP_MSG_NOT_FOUND),
        ({**msg, "MsgSeq": 0}, bad),
        ({"GroupId": gid}, bad),
        ({**msg, "GroupId": "no_such_group"}, ErrorCode.GROUP_NOT_FOUND),
        ({**msg, "StartSeq": "2"}, bad),
    ):
        await fails(app, "group_get_key_values", body, code)
    for body, code in (
        ({**msg, "OperateType": 0, "ExtensionList": one}, bad),
        ({**msg, "OperateType": 2}, bad),
        ({**msg, "OperateType": 1, "ExtensionList": [{"Key": "k"}]}, bad),
        (
            {**msg, "MsgSeq": seq + 50, "OperateType": 1, "ExtensionList": one},
            ErrorCode.GROUP_MSG_NOT_FOUND,
        ),
    ):
        await fails(app, "group_set_key_values", body, code)

    live = await create_group(app, "AVChatRoom")
    await fails(
        app, "group_get_key_values", {"GroupId": live, "MsgSeq": 1}, ErrorCode.GROUP_NO_PERMISSION
    )

    recall = await app.rest(
        "group_open_http_svc", "group_msg_recall", {"GroupId": gid, "MsgSeqList": [{"MsgSeq": seq}]}
    )
    assert recall["RecallRetList"] == [{"MsgSeq": seq, "RetCode": 0}], recall
    await fails(app, "group_get_key_values", msg, ErrorCode.GROUP_MSG_ALREADY_RECALLED)
