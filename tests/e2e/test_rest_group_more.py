"""Group bans, get_specified_group_member_info and modify_group_msg, with Tencent's reference
examples, fields and codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest
from tests.e2e.test_avchatroom import live_group
from tests.e2e.test_group_messages import make_group
from tidings_client import Client, TidingsClientError

pytestmark = pytest.mark.stack

SVC = "group_open_http_svc"
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


async def member_ids(app: AppUnderTest, group_id: str) -> list[str]:
    reply = await app.rest(SVC, "get_group_member_info", {"GroupId": group_id})
    assert reply["ErrorCode"] == 0, reply
    return sorted(m["Member_Account"] for m in reply["MemberList"])


async def expect_code(app: AppUnderTest, service: str, command: str, body: Any, code: int) -> None:
    reply = await app.rest(service, command, body)
    assert reply["ErrorCode"] == code, (command, body, reply)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"], reply


async def test_ban_removes_members_and_keeps_them_out(app: AppUnderTest) -> None:
    await app.import_accounts("leader", "brennanli3", "brennanli12", "fan", "newbie")
    group_id = await make_group(app, "leader", ["brennanli3", "brennanli12", "fan"])
    before = int(time.time())
    # Tencent's request example, for this group.
    reply = await app.rest(
        SVC,
        "ban_group_member",
        {
            "GroupId": group_id,
            "Members_Account": ["brennanli3", "brennanli12"],
            "Duration": 3600,
            "Description": "you are banned because of irregularities",
        },
    )
    assert reply == OK
    after = int(time.time())
    assert await member_ids(app, group_id) == ["fan", "leader"]

    listed = await app.rest(
        SVC, "get_group_ban_member", {"GroupId": group_id, "Limit": 20, "Offset": 0}
    )
    assert listed["ErrorCode"] == 0, listed
    assert [b["Member_Account"] for b in listed["BannedAccountList"]] == [
        "brennanli12",
        "brennanli3",
    ]
    for ban in listed["BannedAccountList"]:
        assert before + 3600 <= ban["BannedUntil"] <= after + 3600
    assert listed["NextOffset"] == 0
    # Paging: NextOffset is where the next page starts, 0 after the last.
    first = await app.rest(
        SVC, "get_group_ban_member", {"GroupId": group_id, "Limit": 1, "Offset": 0}
    )
    assert [b["Member_Account"] for b in first["BannedAccountList"]] == ["brennanli12"]
    assert first["NextOffset"] == 1
    second = await app.rest(
        SVC, "get_group_ban_member", {"GroupId": group_id, "Limit": 1, "Offset": 1}
    )
    assert [b["Member_Account"] for b in second["BannedAccountList"]] == ["brennanli3"]
    assert second["NextOffset"] == 0

    # Neither add_group_member nor import_group_member lets them back in: Result 0.
    added = await app.rest(
        SVC,
        "add_group_member",
        {
            "GroupId": group_id,
            "MemberList": [{"Member_Account": u} for u in ("brennanli3", "newbie")],
        },
    )
    assert added["MemberList"] == [
        {"Member_Account": "brennanli3", "Result": 0},
        {"Member_Account": "newbie", "Result": 1},
    ]
    imported = await app.rest(
        SVC,
        "import_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "brennanli12"}]},
    )
    assert imported["MemberList"] == [{"Member_Account": "brennanli12", "Result": 0}]
    assert await member_ids(app, group_id) == ["fan", "leader", "newbie"]

    # Tencent's unban example: lifted, they may be added again.
    lifted = await app.rest(
        SVC, "unban_group_member", {"GroupId": group_id, "Members_Account": ["brennanli3"]}
    )
    assert lifted == OK
    listed = await app.rest(SVC, "get_group_ban_member", {"GroupId": group_id, "Offset": 0})
    assert [b["Member_Account"] for b in listed["BannedAccountList"]] == ["brennanli12"]
    again = await app.rest(
        SVC,
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "brennanli3"}]},
    )
    assert again["MemberList"] == [{"Member_Account": "brennanli3", "Result": 1}]


async def test_a_banned_user_cannot_join_a_live_group(app: AppUnderTest) -> None:
    await app.import_accounts("host", "viewer")
    group_id = await live_group(app, "host")
    viewer = await app.connect("viewer")
    try:
        assert await viewer.join_group(group_id) is True
        reply = await app.rest(
            SVC,
            "ban_group_member",
            {"GroupId": group_id, "Members_Account": ["viewer"], "Duration": 60},
        )
        assert reply == OK
        with pytest.raises(TidingsClientError) as refused:
            await viewer.join_group(group_id)
        assert refused.value.code == ErrorCode.GROUP_NO_PERMISSION
        await app.rest(
            SVC, "unban_group_member", {"GroupId": group_id, "Members_Account": ["viewer"]}
        )
        assert await viewer.join_group(group_id) is True
    finally:
        await viewer.close()


async def test_ban_errors_and_destroyed_groups(app: AppUnderTest) -> None:
    await app.import_accounts("boss", "rogue")
    group_id = await make_group(app, "boss", ["rogue"])
    ban = {"GroupId": group_id, "Members_Account": ["rogue"], "Duration": 60}
    too_many = [f"user{i}" for i in range(21)]
    for body, code in (
        ({**ban, "Duration": 0}, ErrorCode.GROUP_INVALID_PARAM),
        ({**ban, "Duration": 2**32}, ErrorCode.GROUP_INVALID_PARAM),
        ({k: v for k, v in ban.items() if k != "Duration"}, ErrorCode.GROUP_INVALID_PARAM),
        ({**ban, "Description": "x" * 1001}, ErrorCode.GROUP_INVALID_PARAM),
        ({**ban, "Members_Account": []}, ErrorCode.GROUP_INVALID_PARAM),
        ({**ban, "Members_Account": too_many}, ErrorCode.GROUP_TOO_MANY_ACCOUNTS),
        ({**ban, "Members_Account": ["boss"]}, ErrorCode.GROUP_INVALID_PARAM),
        ({**ban, "Members_Account": ["ghost"]}, ErrorCode.GROUP_ACCOUNT_NOT_FOUND),
        ({**ban, "GroupId": "@TGS#missing"}, ErrorCode.GROUP_NOT_FOUND),
        ({**ban, "GroupId": "bad id\n"}, ErrorCode.GROUP_INVALID_ID),
    ):
        await expect_code(app, SVC, "ban_group_member", body, code)
    for body, code in (
        ({"GroupId": group_id, "Limit": 101, "Offset": 0}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": group_id, "Offset": -1}, ErrorCode.GROUP_INVALID_PARAM),
        ({"GroupId": "@TGS#missing", "Offset": 0}, ErrorCode.GROUP_NOT_FOUND),
    ):
        await expect_code(app, SVC, "get_group_ban_member", body, code)
    await expect_code(
        app,
        SVC,
        "unban_group_member",
        {"GroupId": group_id, "Members_Account": too_many},
        ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
    )
    # Nothing above banned anyone.
    empty = await app.rest(SVC, "get_group_ban_member", {"GroupId": group_id, "Offset": 0})
    assert (empty["BannedAccountList"], empty["NextOffset"]) == ([], 0)

    # A group's bans go with it: a new group under the same ID starts with none.
    custom = {"Owner_Account": "boss", "Type": "Public", "Name": "again", "GroupId": "ban_reuse"}
    assert (await app.rest(SVC, "create_group", custom))["ErrorCode"] == 0
    assert (await app.rest(SVC, "ban_group_member", {**ban, "GroupId": "ban_reuse"})) == OK
    assert (await app.rest(SVC, "destroy_group", {"GroupId": "ban_reuse"}))["ErrorCode"] == 0
    assert (await app.rest(SVC, "create_group", custom))["ErrorCode"] == 0
    fresh = await app.rest(SVC, "get_group_ban_member", {"GroupId": "ban_reuse", "Offset": 0})
    assert fresh["BannedAccountList"] == []


async def test_get_specified_group_member_info(app: AppUnderTest) -> None:
    await app.import_accounts("John", "bob", "peter")
    group_id = await make_group(app, "John", ["bob", "peter"])
    for user, name_card, values in (
        ("bob", "bob", [("group_member_p", "the value"), ("group_member_p2", "the value2")]),
        ("peter", "Peter", [("group_member_p", "the value")]),
    ):
        changed = await app.rest(
            SVC,
            "modify_group_member_info",
            {
                "GroupId": group_id,
                "Member_Account": user,
                "NameCard": name_card,
                "AppMemberDefinedData": [{"Key": k, "Value": v} for k, v in values],
            },
        )
        assert changed["ErrorCode"] == 0, changed
    await app.rest(
        SVC,
        "modify_group_member_info",
        {"GroupId": group_id, "Member_Account": "peter", "Role": "Admin"},
    )
    full = [
        "AppMemberDefinedData",
        "JoinTime",
        "LastSendMsgTime",
        "Member_Account",
        "MsgFlag",
        "MsgSeq",
        "MuteUntil",
        "NameCard",
        "Role",
        "ShutUpUntil",
    ]

    # Tencent's basic request: every field of each named member, in the order asked.
    basic = await app.rest(
        SVC,
        "get_specified_group_member_info",
        {"GroupId": group_id, "Member_List_Account": ["bob", "peter"]},
    )
    assert basic["ErrorCode"] == 0, basic
    assert basic["GroupId"] == group_id
    bob, peter = basic["MemberList"]
    assert (bob["Member_Account"], peter["Member_Account"]) == ("bob", "peter")
    assert sorted(bob) == full
    assert (bob["Role"], bob["NameCard"], bob["MsgFlag"], bob["MuteUntil"]) == (
        "Member",
        "bob",
        "AcceptAndNotify",
        0,
    )
    assert bob["AppMemberDefinedData"] == [
        {"Key": "group_member_p", "Value": "the value"},
        {"Key": "group_member_p2", "Value": "the value2"},
    ]
    assert (peter["Role"], peter["NameCard"]) == ("Admin", "Peter")

    # Tencent's MemberInfoFilter example (OnlineStatus is not kept, so not answered).
    filtered = await app.rest(
        SVC,
        "get_specified_group_member_info",
        {
            "GroupId": group_id,
            "Member_List_Account": ["bob", "peter"],
            "MemberInfoFilter": [
                "Role",
                "JoinTime",
                "MsgSeq",
                "MsgFlag",
                "LastSendMsgTime",
                "MuteUntil",
                "NameCard",
                "OnlineStatus",
            ],
        },
    )
    assert sorted(filtered["MemberList"][0]) == [f for f in full if f != "ShutUpUntil"]

    # Tencent's MemberRoleFilter example; a name that is not a member is left out.
    by_role = await app.rest(
        SVC,
        "get_specified_group_member_info",
        {
            "GroupId": group_id,
            "Member_List_Account": ["bob", "peter", "John", "ghost"],
            "MemberRoleFilter": ["Owner", "Member"],
        },
    )
    assert [(m["Member_Account"], m["Role"]) for m in by_role["MemberList"]] == [
        ("bob", "Member"),
        ("John", "Owner"),
    ]

    # Tencent's AppDefinedDataFilter_GroupMember example.
    defined = await app.rest(
        SVC,
        "get_specified_group_member_info",
        {
            "GroupId": group_id,
            "Member_List_Account": ["bob", "peter"],
            "AppDefinedDataFilter_GroupMember": ["group_member_p"],
        },
    )
    assert [m["AppMemberDefinedData"] for m in defined["MemberList"]] == [
        [{"Key": "group_member_p", "Value": "the value"}],
        [{"Key": "group_member_p", "Value": "the value"}],
    ]

    await app.import_accounts("host")
    live_id = await live_group(app, "host")
    named = {"GroupId": group_id, "Member_List_Account": ["bob"]}
    for body, code in (
        (
            {**named, "Member_List_Account": [f"u{i}" for i in range(51)]},
            ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
        ),
        ({"GroupId": group_id}, ErrorCode.GROUP_INVALID_PARAM),
        ({**named, "MemberRoleFilter": ["Boss"]}, ErrorCode.GROUP_INVALID_PARAM),
        ({**named, "MemberInfoFilter": "Role"}, ErrorCode.GROUP_INVALID_PARAM),
        ({**named, "GroupId": live_id}, ErrorCode.GROUP_NO_PERMISSION),
        ({**named, "GroupId": "@TGS#missing"}, ErrorCode.GROUP_NOT_FOUND),
        ({**named, "GroupId": ""}, ErrorCode.GROUP_INVALID_PARAM),
    ):
        await expect_code(app, SVC, "get_specified_group_member_info", body, code)


async def stored(owner: Client, group_id: str, seq: int) -> tuple[list[dict[str, Any]], str]:
    """The message's body and CloudCustomData, as a member's client reads its history."""
    (message,) = await owner.sync(group=group_id, after_seq=seq - 1, limit=1)
    assert (message.seq, message.sender) == (seq, "member")
    return message.elements, message.cloud_custom_data


async def test_modify_group_msg(app: AppUnderTest) -> None:
    await app.import_accounts("owner", "member")
    group_id = await make_group(app, "owner", ["member"])
    owner = await app.connect("owner")
    try:
        await modify_and_refuse(app, owner, group_id)
    finally:
        await owner.close()


async def modify_and_refuse(app: AppUnderTest, owner: Client, group_id: str) -> None:
    sent = await app.rest(
        SVC,
        "send_group_msg",
        {"GroupId": group_id, "From_Account": "member", "Random": 7, "MsgBody": text("draft")},
    )
    assert sent["ErrorCode"] == 0, sent
    seq = sent["MsgSeq"]
    assert await stored(owner, group_id, seq) == (text("draft"), "")

    # Tencent's three examples: MsgBody only, CloudCustomData only, both.
    only_body = {"GroupId": group_id, "MsgSeq": seq, "MsgBody": text("hello")}
    reply = await app.rest("openim", "modify_group_msg", only_body)
    assert (reply["ActionStatus"], reply["ErrorCode"]) == ("OK", 0), reply
    assert await stored(owner, group_id, seq) == (text("hello"), "")

    only_data = {"GroupId": group_id, "MsgSeq": seq, "CloudCustomData": "your cloud custom data"}
    assert (await app.rest("openim", "modify_group_msg", only_data))["ErrorCode"] == 0
    assert await stored(owner, group_id, seq) == (text("hello"), "your cloud custom data")

    both = {**only_body, "MsgBody": text("final"), "CloudCustomData": "edited"}
    assert (await app.rest("openim", "modify_group_msg", both))["ErrorCode"] == 0
    assert await stored(owner, group_id, seq) == (text("final"), "edited")

    await app.import_accounts("host")
    live_id = await live_group(app, "host")
    for body, code in (
        ({"GroupId": group_id, "MsgSeq": seq}, ErrorCode.OPENIM_JSON_FIELDS),
        ({"GroupId": group_id, "MsgBody": text("x")}, ErrorCode.OPENIM_JSON_FIELDS),
        ({"MsgSeq": seq, "MsgBody": text("x")}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**only_body, "MsgSeq": 0}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**only_body, "MsgBody": [{"MsgType": "TIMNopeElem"}]}, ErrorCode.OPENIM_MSG_BODY),
        ({**only_body, "TopicId": "@TGS#_g@TOPIC#_t"}, ErrorCode.OPENIM_JSON_FIELDS),
        ({**only_body, "MsgSeq": seq + 100}, ErrorCode.MSG_NOT_FOUND),
        ({**only_body, "GroupId": "@TGS#missing"}, ErrorCode.GROUP_NOT_FOUND),
        ({**only_body, "GroupId": live_id}, ErrorCode.GROUP_NO_PERMISSION),
    ):
        await expect_code(app, "openim", "modify_group_msg", body, code)
    # None of those changed the message.
    assert await stored(owner, group_id, seq) == (text("final"), "edited")

    recalled = await app.rest(
        SVC, "group_msg_recall", {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": seq}]}
    )
    assert recalled["RecallRetList"] == [{"MsgSeq": seq, "RetCode": 0}]
    await expect_code(app, "openim", "modify_group_msg", only_body, ErrorCode.MSG_ALREADY_RECALLED)
