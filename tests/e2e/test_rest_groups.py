"""group_open_http_svc (groups and members, not messages): Tencent's request and reply shapes
and documented errors, through the running stack."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.common.store.groups import Member
from services.common.store.sqlite import SqliteStores
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tidings_client import Client

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """Communities and topics are off until the console turns them on (Tencent's default)."""
    return await new_app(stack, community=True, community_topics=True)


SVC = "group_open_http_svc"


async def call(app: AppUnderTest, command: str, body: Any) -> dict[str, Any]:
    return await app.rest(SVC, command, body)


async def ok(app: AppUnderTest, command: str, body: Any) -> dict[str, Any]:
    reply = await call(app, command, body)
    assert (reply["ActionStatus"], reply["ErrorCode"], reply["ErrorInfo"]) == ("OK", 0, ""), reply
    return reply


async def fails(app: AppUnderTest, command: str, body: Any, code: ErrorCode) -> str:
    reply = await call(app, command, body)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorCode"] == code, reply
    assert reply["ErrorInfo"], reply
    return str(reply["ErrorInfo"])


async def create(app: AppUnderTest, **body: Any) -> str:
    reply = await ok(app, "create_group", {"Type": "Public", "Name": "TestGroup", **body})
    return str(reply["GroupId"])


async def info(app: AppUnderTest, group_id: str, **body: Any) -> dict[str, Any]:
    reply = await ok(app, "get_group_info", {"GroupIdList": [group_id], **body})
    (group,) = reply["GroupInfo"]
    assert group["ErrorCode"] == 0, group
    return group  # type: ignore[no-any-return]


async def members_of(app: AppUnderTest, group_id: str) -> dict[str, dict[str, Any]]:
    reply = await ok(app, "get_group_member_info", {"GroupId": group_id})
    return {m["Member_Account"]: m for m in reply["MemberList"]}


async def test_create_group_golden(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "bob", "peter")
    # Tencent's basic example: an owner, a type and a name.
    basic = await ok(
        app, "create_group", {"Owner_Account": "leckie", "Type": "Public", "Name": "TestGroup"}
    )
    assert set(basic) == {"ActionStatus", "ErrorCode", "ErrorInfo", "GroupId"}
    assert basic["GroupId"].startswith("@TGS#2") and len(basic["GroupId"]) == 16
    assert set(await members_of(app, basic["GroupId"])) == {"leckie"}

    # Tencent's full example (MaxMemberCount 500 needs an edition allowing 500 members).
    premium = await new_app(app.stack, "Premium")
    await premium.import_accounts("leckie", "bob", "peter")
    full = await ok(
        premium,
        "create_group",
        {
            "Owner_Account": "leckie",
            "Type": "Public",
            "GroupId": "MyFirstGroup",
            "Name": "TestGroup",
            "Introduction": "This is group Introduction",
            "Notification": "This is group Notification",
            "FaceUrl": "http://this.is.face.url",
            "MaxMemberCount": 500,
            "ApplyJoinOption": "FreeAccess",
            "AppDefinedData": [
                {"Key": "GroupTestData1", "Value": "xxxxx"},
                {"Key": "GroupTestData2", "Value": "abc\u0000\u0001"},
            ],
            "MemberList": [
                {
                    "Member_Account": "bob",
                    "Role": "Admin",
                    "AppMemberDefinedData": [
                        {"Key": "MemberDefined1", "Value": "MemberData1"},
                        {"Key": "MemberDefined2", "Value": "MemberData2"},
                    ],
                },
                {"Member_Account": "peter"},
            ],
        },
    )
    assert full["GroupId"] == "MyFirstGroup"
    group = await info(premium, "MyFirstGroup")
    assert group["MaxMemberNum"] == 500 and group["ApplyJoinOption"] == "FreeAccess"
    assert group["AppDefinedData"][1] == {"Key": "GroupTestData2", "Value": "abc\u0000\u0001"}
    roles = {m["Member_Account"]: m["Role"] for m in group["MemberList"]}
    assert roles == {"leckie": "Owner", "bob": "Admin", "peter": "Member"}
    bob = next(m for m in group["MemberList"] if m["Member_Account"] == "bob")
    assert bob["AppMemberDefinedData"][0] == {"Key": "MemberDefined1", "Value": "MemberData1"}

    # A Community, with topics; old type names are stored under the new ones.
    community = await ok(
        app, "create_group", {"Type": "Community", "Name": "TestCommunityGroup", "SupportTopic": 1}
    )
    assert community["GroupId"].startswith("@TGS#_@TGS#c")
    assert (community["Type"], community["HugeGroupFlag"]) == ("Community", 0)
    assert (await info(app, community["GroupId"]))["SupportTopic"] == 1
    private = await create(app, Type="Private")
    chat_room = await create(app, Type="ChatRoom")
    assert private.startswith("@TGS#1") and chat_room.startswith("@TGS#3")
    assert (await info(app, private))["Type"] == "Work"
    assert (await info(app, private))["ApplyJoinOption"] == "DisableApply"
    assert (await info(app, chat_room))["Type"] == "Meeting"
    assert (await create(app, Type="AVChatRoom", Owner_Account="leckie")).startswith("@TGS#a")

    # Documented errors.
    bad = ErrorCode.GROUP_INVALID_PARAM
    await fails(app, "create_group", {"Name": "x"}, bad)
    await fails(app, "create_group", {"Type": "BChatRoom", "Name": "x"}, bad)
    await fails(app, "create_group", {"Type": "Public", "Name": "x" * 31}, bad)
    await fails(app, "create_group", {"Type": "Public", "Name": 5}, bad)
    await fails(app, "create_group", {"Type": "Public", "Name": "x", "GroupId": "@TGS#2AB"}, bad)
    await fails(app, "create_group", {"Type": "Community", "Name": "x", "GroupId": "c1"}, bad)
    await fails(app, "create_group", {"Type": "Public", "Name": "x", "SupportTopic": 1}, bad)
    await fails(
        app,
        "create_group",
        {"Type": "Public", "Name": "x", "MemberList": [{"Member_Account": "bob", "Role": "Owner"}]},
        bad,
    )
    too_many_fields = [{"Key": f"K{n}", "Value": "v"} for n in range(11)]
    await fails(
        app, "create_group", {"Type": "Public", "Name": "x", "AppDefinedData": too_many_fields}, bad
    )
    await create(app, GroupId="taken")
    await fails(
        app,
        "create_group",
        {"Type": "Public", "Name": "x", "GroupId": "taken"},
        ErrorCode.GROUP_ID_IN_USE,
    )
    await fails(
        app,
        "create_group",
        {"Type": "Public", "Name": "x", "Owner_Account": "ghost"},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )
    await fails(
        app,
        "create_group",
        {"Type": "Public", "Name": "x", "MemberList": [{"Member_Account": "ghost"}]},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )
    await fails(
        app,
        "create_group",
        {"Type": "AVChatRoom", "Name": "x", "MemberList": [{"Member_Account": "bob"}]},
        ErrorCode.GROUP_NO_PERMISSION,
    )
    hundred_and_one = [{"Member_Account": f"u{n}"} for n in range(101)]
    await fails(
        app,
        "create_group",
        {"Type": "Public", "Name": "x", "MemberList": hundred_and_one},
        ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
    )
    await fails(
        app,
        "create_group",
        {"Type": "Public", "Name": "x", "MaxMemberCount": 201},
        ErrorCode.GROUP_MEMBER_LIMIT,
    )
    await fails(
        app,
        "create_group",
        {
            "Type": "Public",
            "Name": "x",
            "MaxMemberCount": 2,
            "Owner_Account": "leckie",
            "MemberList": [{"Member_Account": "bob"}, {"Member_Account": "peter"}],
        },
        ErrorCode.GROUP_FULL,
    )


async def test_get_appid_group_list_pages_with_next(app: AppUnderTest) -> None:
    first = await create(app)
    second = await create(app, Type="ChatRoom")
    third = await create(app)
    page = await ok(app, "get_appid_group_list", {"Limit": 2, "Next": 0})
    assert page["TotalCount"] == 3
    assert page["GroupIdList"] == [{"GroupId": first}, {"GroupId": second}]
    assert page["Next"] > 0
    rest = await ok(app, "get_appid_group_list", {"Limit": 2, "Next": page["Next"]})
    assert (rest["GroupIdList"], rest["Next"]) == ([{"GroupId": third}], 0)
    everything = await ok(app, "get_appid_group_list", {})
    assert [g["GroupId"] for g in everything["GroupIdList"]] == [first, second, third]
    for name in ("ChatRoom", "Meeting"):
        meetings = await ok(app, "get_appid_group_list", {"GroupType": name})
        assert (meetings["TotalCount"], meetings["GroupIdList"]) == (1, [{"GroupId": second}])
    await fails(app, "get_appid_group_list", {"GroupType": "Nope"}, ErrorCode.GROUP_INVALID_PARAM)
    await fails(app, "get_appid_group_list", {"Limit": 0}, ErrorCode.GROUP_INVALID_PARAM)
    await fails(app, "get_appid_group_list", {"Next": "x"}, ErrorCode.GROUP_INVALID_PARAM)


async def test_get_group_info_golden(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "peter")
    group_id = await create(
        app,
        Owner_Account="leckie",
        Name="MyFirstGroup",
        Introduction="TestGroup",
        Notification="TestGroup",
        FaceUrl="http://this.is.face.url",
        MaxMemberCount=50,
        ApplyJoinOption="FreeAccess",
        AppDefinedData=[{"Key": "GroupTestData1", "Value": "xxxx"}],
        MemberList=[
            {
                "Member_Account": "peter",
                "AppMemberDefinedData": [{"Key": "MemberDefined1", "Value": "ModifyDefined1"}],
            }
        ],
    )
    before = int(time.time())
    reply = await ok(app, "get_group_info", {"GroupIdList": [group_id, "@TGS#2NOPE", "群"]})
    found, missing, invalid = reply["GroupInfo"]
    assert missing == {
        "GroupId": "@TGS#2NOPE",
        "ErrorCode": ErrorCode.GROUP_NOT_FOUND,
        "ErrorInfo": missing["ErrorInfo"],
    }
    assert invalid["ErrorCode"] == ErrorCode.GROUP_INVALID_ID
    assert list(found)[:3] == ["GroupId", "ErrorCode", "ErrorInfo"]
    assert {k: found[k] for k in ("Type", "Name", "Appid", "Introduction", "Owner_Account")} == {
        "Type": "Public",
        "Name": "MyFirstGroup",
        "Appid": app.sdkappid,
        "Introduction": "TestGroup",
        "Owner_Account": "leckie",
    }
    assert before - 5 <= found["CreateTime"] <= before + 5
    assert (found["MemberNum"], found["MaxMemberNum"], found["NextMsgSeq"]) == (2, 50, 1)
    assert (found["ShutUpAllMember"], found["MuteAllMember"]) == ("Off", "Off")
    assert found["AppDefinedData"] == [{"Key": "GroupTestData1", "Value": "xxxx"}]
    owner, peter = found["MemberList"]
    assert owner["Member_Account"] == "leckie" and owner["Role"] == "Owner"
    assert set(owner) == {
        "Member_Account",
        "Role",
        "JoinTime",
        "MsgSeq",
        "MsgFlag",
        "LastSendMsgTime",
        "ShutUpUntil",
        "MuteUntil",
        "NameCard",
    }
    assert peter["AppMemberDefinedData"] == [{"Key": "MemberDefined1", "Value": "ModifyDefined1"}]
    assert peter["MsgFlag"] == "AcceptAndNotify" and peter["MuteUntil"] == 0

    # Tencent's filtered example: only the parts asked for.
    filtered = await info(
        app,
        group_id,
        ResponseFilter={
            "GroupBaseInfoFilter": ["Type", "Name", "Introduction", "Notification"],
            "MemberInfoFilter": ["Account", "Role"],
            "AppDefinedDataFilter_Group": ["GroupTestData1", "GroupTestData2"],
            "AppDefinedDataFilter_GroupMember": ["MemberDefined2", "MemberDefined1"],
        },
    )
    assert filtered == {
        "GroupId": group_id,
        "ErrorCode": 0,
        "ErrorInfo": "",
        "Type": "Public",
        "Name": "MyFirstGroup",
        "Introduction": "TestGroup",
        "Notification": "TestGroup",
        "AppDefinedData": [{"Key": "GroupTestData1", "Value": "xxxx"}],
        "MemberList": [
            {"Member_Account": "leckie", "Role": "Owner"},
            {
                "Member_Account": "peter",
                "Role": "Member",
                "AppMemberDefinedData": [{"Key": "MemberDefined1", "Value": "ModifyDefined1"}],
            },
        ],
    }
    base_only = await info(app, group_id, ResponseFilter={"GroupBaseInfoFilter": ["MemberNum"]})
    assert base_only == {"GroupId": group_id, "ErrorCode": 0, "ErrorInfo": "", "MemberNum": 2}

    bad = ErrorCode.GROUP_INVALID_PARAM
    await fails(app, "get_group_info", {}, bad)
    await fails(app, "get_group_info", {"GroupIdList": []}, bad)
    await fails(app, "get_group_info", {"GroupIdList": "x"}, bad)
    await fails(app, "get_group_info", {"GroupIdList": [f"g{n}" for n in range(51)]}, bad)
    await fails(app, "get_group_info", {"GroupIdList": [group_id], "ResponseFilter": 1}, bad)


async def test_modify_group_base_info(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "bob")
    group_id = await create(
        app,
        Owner_Account="leckie",
        MemberList=[{"Member_Account": "bob"}],
        AppDefinedData=[{"Key": "Keep", "Value": "1"}, {"Key": "Drop", "Value": "2"}],
    )
    await ok(
        app,
        "modify_group_base_info",
        {
            "GroupId": group_id,
            "Name": "NewName",
            "Introduction": "NewIntroduction",
            "Notification": "NewNotification",
            "FaceUrl": "http://this.is.new.face.url",
            "MaxMemberNum": 100,
            "ApplyJoinOption": "NeedPermission",
            "InviteJoinOption": "FreeAccess",
            "ShutUpAllMember": "On",
            "AppDefinedData": [{"Key": "Drop", "Value": ""}, {"Key": "Add", "Value": "3"}],
        },
    )
    group = await info(app, group_id)
    assert {
        k: group[k]
        for k in ("Name", "Introduction", "Notification", "FaceUrl", "MaxMemberNum", "InfoSeq")
    } == {
        "Name": "NewName",
        "Introduction": "NewIntroduction",
        "Notification": "NewNotification",
        "FaceUrl": "http://this.is.new.face.url",
        "MaxMemberNum": 100,
        "InfoSeq": 1,
    }
    assert (group["ApplyJoinOption"], group["InviteJoinOption"]) == ("NeedPermission", "FreeAccess")
    assert group["ShutUpAllMember"] == "On" == group["MuteAllMember"]
    assert group["AppDefinedData"] == [
        {"Key": "Keep", "Value": "1"},
        {"Key": "Add", "Value": "3"},
    ]
    await ok(app, "modify_group_base_info", {"GroupId": group_id, "MuteAllMember": "Off"})
    group = await info(app, group_id)
    assert (group["ShutUpAllMember"], group["InfoSeq"], group["Name"]) == ("Off", 2, "NewName")

    bad = ErrorCode.GROUP_INVALID_PARAM
    await fails(app, "modify_group_base_info", {"GroupId": group_id, "ShutUpAllMember": "Y"}, bad)
    await fails(app, "modify_group_base_info", {"GroupId": group_id, "MaxMemberNum": 1}, bad)
    await fails(app, "modify_group_base_info", {"GroupId": group_id, "Name": ""}, bad)
    await fails(app, "modify_group_base_info", {}, bad)
    await fails(
        app,
        "modify_group_base_info",
        {"GroupId": group_id, "MaxMemberNum": 201},
        ErrorCode.GROUP_MEMBER_LIMIT,
    )
    await fails(app, "modify_group_base_info", {"GroupId": "@TGS#2NOPE"}, ErrorCode.GROUP_NOT_FOUND)
    await fails(app, "modify_group_base_info", {"GroupId": "x" * 49}, ErrorCode.GROUP_INVALID_ID)


async def test_destroy_group(app: AppUnderTest) -> None:
    await app.import_accounts("leckie")
    group_id = await create(app, Owner_Account="leckie")
    await ok(app, "destroy_group", {"GroupId": group_id})
    reply = await ok(app, "get_group_info", {"GroupIdList": [group_id]})
    assert reply["GroupInfo"][0]["ErrorCode"] == ErrorCode.GROUP_NOT_FOUND
    joined = await ok(app, "get_joined_group_list", {"Member_Account": "leckie"})
    assert (joined["TotalCount"], joined["GroupIdList"]) == (0, [])
    await fails(app, "destroy_group", {"GroupId": group_id}, ErrorCode.GROUP_NOT_FOUND)
    await fails(app, "destroy_group", {}, ErrorCode.GROUP_INVALID_PARAM)


async def test_import_group(app: AppUnderTest) -> None:
    await app.import_accounts("leckie")
    reply = await ok(
        app,
        "import_group",
        {
            "Owner_Account": "leckie",
            "Type": "Public",
            "Name": "TestGroup",
            "CreateTime": 1448357837,
        },
    )
    group = await info(app, reply["GroupId"])
    assert (group["CreateTime"], group["Owner_Account"]) == (1448357837, "leckie")
    assert group["MemberList"][0]["JoinTime"] == 1448357837
    community = await ok(
        app,
        "import_group",
        {"Type": "Community", "Name": "test_import_group", "SupportTopic": 1},
    )
    assert community["GroupId"].startswith("@TGS#_")
    await fails(
        app,
        "import_group",
        {"Type": "AVChatRoom", "Name": "x"},
        ErrorCode.GROUP_NO_PERMISSION,
    )
    await fails(
        app,
        "import_group",
        {"Type": "Public", "Name": "x", "CreateTime": int(time.time()) + 3600},
        ErrorCode.GROUP_INVALID_PARAM,
    )


async def test_change_group_owner(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "bob", "outsider")
    group_id = await create(app, Owner_Account="leckie", MemberList=[{"Member_Account": "bob"}])
    await ok(app, "change_group_owner", {"GroupId": group_id, "NewOwner_Account": "bob"})
    roles = {u: m["Role"] for u, m in (await members_of(app, group_id)).items()}
    assert roles == {"leckie": "Member", "bob": "Owner"}
    assert (await info(app, group_id))["Owner_Account"] == "bob"
    await ok(app, "change_group_owner", {"GroupId": group_id, "NewOwner_Account": "bob"})

    ownerless = await create(app, MemberList=[{"Member_Account": "bob"}])
    await ok(app, "change_group_owner", {"GroupId": ownerless, "NewOwner_Account": "bob"})
    assert (await members_of(app, ownerless))["bob"]["Role"] == "Owner"

    missing = ErrorCode.GROUP_ACCOUNT_NOT_FOUND
    body = {"GroupId": group_id, "NewOwner_Account": "outsider"}
    await fails(app, "change_group_owner", body, missing)
    await fails(app, "change_group_owner", {**body, "NewOwner_Account": "ghost"}, missing)
    await fails(app, "change_group_owner", {"GroupId": group_id}, ErrorCode.GROUP_INVALID_PARAM)
    live = await create(app, Type="AVChatRoom", Owner_Account="leckie")
    await fails(
        app,
        "change_group_owner",
        {"GroupId": live, "NewOwner_Account": "bob"},
        ErrorCode.GROUP_NO_PERMISSION,
    )


async def test_add_group_member(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "tommy", "jared")
    group_id = await create(app, Owner_Account="leckie", MaxMemberCount=3)
    reply = await ok(
        app,
        "add_group_member",
        {
            "GroupId": group_id,
            "Silence": 1,
            "MemberList": [{"Member_Account": "tommy"}, {"Member_Account": "leckie"}],
        },
    )
    assert reply["MemberList"] == [
        {"Member_Account": "tommy", "Result": 1},
        {"Member_Account": "leckie", "Result": 2},
    ]
    assert set(await members_of(app, group_id)) == {"leckie", "tommy"}

    await app.import_accounts("kim")
    await ok(
        app, "add_group_member", {"GroupId": group_id, "MemberList": [{"Member_Account": "kim"}]}
    )
    await fails(
        app,
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "jared"}]},
        ErrorCode.GROUP_FULL,
    )
    await fails(
        app,
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "ghost"}]},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )
    await fails(
        app,
        "add_group_member",
        # Tencent's reference: up to 300 members per request.
        {"GroupId": group_id, "MemberList": [{"Member_Account": f"u{n}"} for n in range(301)]},
        ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
    )
    await fails(
        app,
        "add_group_member",
        {"GroupId": group_id, "MemberList": []},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    await fails(
        app,
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "jared"}], "Silence": 2},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    live = await create(app, Type="AVChatRoom")
    await fails(
        app,
        "add_group_member",
        {"GroupId": live, "MemberList": [{"Member_Account": "jared"}]},
        ErrorCode.GROUP_NO_PERMISSION,
    )


async def test_delete_group_member(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "tommy", "jared")
    group_id = await create(
        app,
        Owner_Account="leckie",
        MemberList=[{"Member_Account": "tommy"}, {"Member_Account": "jared"}],
    )
    await ok(
        app,
        "delete_group_member",
        {
            "GroupId": group_id,
            "Silence": 1,
            "Reason": "kick reason",
            "MemberToDel_Account": ["tommy", "nobody"],
        },
    )
    assert set(await members_of(app, group_id)) == {"leckie", "jared"}
    joined = await ok(app, "get_joined_group_list", {"Member_Account": "tommy"})
    assert joined["TotalCount"] == 0
    await fails(
        app,
        "delete_group_member",
        {"GroupId": group_id, "MemberToDel_Account": ["leckie"]},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    await fails(
        app,
        "delete_group_member",
        # Tencent's reference: up to 100 members per request.
        {"GroupId": group_id, "MemberToDel_Account": [f"u{n}" for n in range(101)]},
        ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
    )
    await fails(
        app,
        "delete_group_member",
        {"GroupId": group_id, "MemberToDel_Account": "jared"},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    live = await create(app, Type="AVChatRoom")
    await fails(
        app,
        "delete_group_member",
        {"GroupId": live, "MemberToDel_Account": ["jared"]},
        # Tencent documents 10004 here (10007 for adding or importing).
        ErrorCode.GROUP_INVALID_PARAM,
    )


async def test_modify_group_member_info(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "peter", "outsider")
    group_id = await create(app, Owner_Account="leckie", MemberList=[{"Member_Account": "peter"}])
    before = int(time.time())
    await ok(
        app,
        "modify_group_member_info",
        {
            "GroupId": group_id,
            "Member_Account": "peter",
            "Role": "Admin",
            "MsgFlag": "AcceptNotNotify",
            "NameCard": "Peter the Great",
            "MuteTime": 600,
            "AppMemberDefinedData": [
                {"Key": "MemberDefined1", "Value": "ModifyDefined1"},
                {"Key": "MemberDefined2", "Value": "ModifyDefined2"},
            ],
        },
    )
    peter = (await members_of(app, group_id))["peter"]
    assert (peter["Role"], peter["MsgFlag"], peter["NameCard"]) == (
        "Admin",
        "AcceptNotNotify",
        "Peter the Great",
    )
    assert before + 595 <= peter["MuteUntil"] == peter["ShutUpUntil"] <= before + 605
    assert len(peter["AppMemberDefinedData"]) == 2
    await ok(
        app,
        "modify_group_member_info",
        {
            "GroupId": group_id,
            "Member_Account": "peter",
            "ShutUpTime": 0,
            "Role": "Member",
            "AppMemberDefinedData": [{"Key": "MemberDefined1", "Value": ""}],
        },
    )
    peter = (await members_of(app, group_id))["peter"]
    assert (peter["Role"], peter["MuteUntil"], peter["NameCard"]) == (
        "Member",
        0,
        "Peter the Great",
    )
    assert peter["AppMemberDefinedData"] == [{"Key": "MemberDefined2", "Value": "ModifyDefined2"}]

    body = {"GroupId": group_id, "Member_Account": "peter"}
    bad = ErrorCode.GROUP_INVALID_PARAM
    await fails(app, "modify_group_member_info", {**body, "MsgFlag": "Loud"}, bad)
    await fails(app, "modify_group_member_info", {**body, "NameCard": "x" * 51}, bad)
    await fails(app, "modify_group_member_info", {**body, "Role": "Owner"}, bad)
    await fails(app, "modify_group_member_info", {**body, "MuteTime": -1}, bad)
    await fails(
        app, "modify_group_member_info", {**body, "Member_Account": "leckie", "Role": "Member"}, bad
    )
    await fails(
        app,
        "modify_group_member_info",
        {**body, "Member_Account": "outsider", "NameCard": "x"},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )
    work = await create(
        app, Type="Work", Owner_Account="leckie", MemberList=[{"Member_Account": "peter"}]
    )
    await fails(
        app,
        "modify_group_member_info",
        {"GroupId": work, "Member_Account": "peter", "ShutUpTime": 60},
        ErrorCode.GROUP_NO_PERMISSION,
    )


async def test_import_group_member(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "peter", "tommy")
    reply = await ok(
        app, "import_group", {"Type": "Public", "Name": "old", "CreateTime": 1_600_000_000}
    )
    group_id = reply["GroupId"]
    imported = await ok(
        app,
        "import_group_member",
        {
            "GroupId": group_id,
            "MemberList": [
                {
                    "Member_Account": "peter",
                    "Role": "Admin",
                    "JoinTime": 1_600_000_100,
                    "UnreadMsgNum": 5,
                },
                {"Member_Account": "tommy", "JoinTime": 1_600_000_200},
            ],
        },
    )
    assert imported["MemberList"] == [
        {"Member_Account": "peter", "Result": 1},
        {"Member_Account": "tommy", "Result": 1},
    ]
    members = await members_of(app, group_id)
    assert (members["peter"]["Role"], members["peter"]["JoinTime"]) == ("Admin", 1_600_000_100)
    assert list(members) == ["peter", "tommy"]
    again = await ok(
        app,
        "import_group_member",
        {
            "GroupId": group_id,
            "MemberList": [{"Member_Account": "peter"}, {"Member_Account": "leckie"}],
        },
    )
    assert [m["Result"] for m in again["MemberList"]] == [2, 1]
    await fails(
        app,
        "import_group_member",
        {
            "GroupId": group_id,
            "MemberList": [{"Member_Account": "tommy", "JoinTime": 1_500_000_000}],
        },
        ErrorCode.GROUP_INVALID_PARAM,
    )
    await fails(
        app,
        "import_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "ghost"}]},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )


async def test_get_group_member_info_filters_and_pages(app: AppUnderTest) -> None:
    users = ["leckie", "peter", "bob", "amy"]
    await app.import_accounts(*users)
    group_id = await create(
        app,
        Owner_Account="leckie",
        MemberList=[
            {"Member_Account": "peter", "Role": "Admin"},
            {
                "Member_Account": "bob",
                "AppMemberDefinedData": [{"Key": "MemberDefined1", "Value": "v1"}],
            },
            {"Member_Account": "amy"},
        ],
    )
    everyone = await ok(app, "get_group_member_info", {"GroupId": group_id})
    assert everyone["MemberNum"] == 4 and "Next" not in everyone
    order = [m["Member_Account"] for m in everyone["MemberList"]]
    assert order[0] == "leckie" and sorted(order) == sorted(users)
    page = await ok(app, "get_group_member_info", {"GroupId": group_id, "Limit": 2, "Offset": 1})
    assert [m["Member_Account"] for m in page["MemberList"]] == order[1:3]
    assert page["MemberNum"] == 4
    filtered = await ok(
        app,
        "get_group_member_info",
        {
            "GroupId": group_id,
            "MemberInfoFilter": ["Role", "JoinTime"],
            "MemberRoleFilter": ["Owner", "Admin"],
            "AppDefinedDataFilter_GroupMember": ["MemberDefined1"],
        },
    )
    assert [set(m) for m in filtered["MemberList"]] == [{"Member_Account", "Role", "JoinTime"}] * 2
    assert {m["Member_Account"] for m in filtered["MemberList"]} == {"leckie", "peter"}
    custom = await ok(
        app,
        "get_group_member_info",
        {
            "GroupId": group_id,
            "MemberInfoFilter": [],
            "AppDefinedDataFilter_GroupMember": ["MemberDefined1"],
        },
    )
    bob = next(m for m in custom["MemberList"] if m["Member_Account"] == "bob")
    assert bob == {
        "Member_Account": "bob",
        "AppMemberDefinedData": [{"Key": "MemberDefined1", "Value": "v1"}],
    }
    bad = ErrorCode.GROUP_INVALID_PARAM
    await fails(
        app, "get_group_member_info", {"GroupId": group_id, "MemberRoleFilter": ["Boss"]}, bad
    )
    # Tencent's current reference: Limit is at most 200.
    await fails(app, "get_group_member_info", {"GroupId": group_id, "Limit": 201}, bad)

    # A Community pages with Next.
    community = await create(
        app,
        Type="Community",
        Owner_Account="leckie",
        MemberList=[{"Member_Account": u} for u in users[1:]],
    )
    seen: list[str] = []
    cursor = ""
    while True:
        reply = await ok(
            app, "get_group_member_info", {"GroupId": community, "Limit": 3, "Next": cursor}
        )
        assert reply["MemberNum"] == 4
        seen += [m["Member_Account"] for m in reply["MemberList"]]
        cursor = reply["Next"]
        if not cursor:
            break
    assert seen == sorted(users)
    await fails(app, "get_group_member_info", {"GroupId": community, "Offset": 1}, bad)


async def test_get_joined_group_list(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "peter")
    public = await create(app, Owner_Account="leckie", Name="pub")
    meeting = await create(
        app, Type="Meeting", Name="meet", MemberList=[{"Member_Account": "leckie"}]
    )
    work = await create(app, Type="Work", Owner_Account="leckie", Name="work")
    live = await create(app, Type="AVChatRoom", Owner_Account="leckie", Name="live")
    stores = SqliteStores(app.stack.settings().sqlite_path)
    try:
        # A user entering the live room, as the SDK's join would record it.
        await stores.groups.add_members(app.sdkappid, live, "AVChatRoom", [Member("leckie")])
    finally:
        await stores.close()

    basic = await ok(app, "get_joined_group_list", {"Member_Account": "leckie"})
    assert basic["TotalCount"] == 2
    assert sorted(basic["GroupIdList"], key=lambda g: g["GroupId"]) == sorted(
        [{"GroupId": public}, {"GroupId": meeting}], key=lambda g: g["GroupId"]
    )
    every = await ok(
        app,
        "get_joined_group_list",
        {"Member_Account": "leckie", "WithHugeGroups": 1, "WithNoActiveGroups": 1},
    )
    assert {g["GroupId"] for g in every["GroupIdList"]} == {public, meeting, work, live}
    typed = await ok(
        app, "get_joined_group_list", {"Member_Account": "leckie", "GroupType": "ChatRoom"}
    )
    assert typed["GroupIdList"] == [{"GroupId": meeting}]
    paged = await ok(
        app,
        "get_joined_group_list",
        {"Member_Account": "leckie", "Limit": 1, "Offset": 1, "WithNoActiveGroups": 1},
    )
    assert paged["TotalCount"] == 3 and len(paged["GroupIdList"]) == 1
    detailed = await ok(
        app,
        "get_joined_group_list",
        {
            "Member_Account": "leckie",
            "GroupType": "Public",
            "ResponseFilter": {
                "GroupBaseInfoFilter": ["Type", "Name", "MemberNum", "MuteAllMember"],
                "SelfInfoFilter": ["Role", "MsgFlag"],
            },
        },
    )
    assert detailed["GroupIdList"] == [
        {
            "GroupId": public,
            "Type": "Public",
            "Name": "pub",
            "MemberNum": 1,
            "MuteAllMember": "Off",
            "SelfInfo": {"Role": "Owner", "MsgFlag": "AcceptAndNotify"},
        }
    ]
    assert (await ok(app, "get_joined_group_list", {"Member_Account": "peter"}))["TotalCount"] == 0
    await fails(
        app, "get_joined_group_list", {"Member_Account": "ghost"}, ErrorCode.GROUP_ACCOUNT_NOT_FOUND
    )
    await fails(app, "get_joined_group_list", {}, ErrorCode.GROUP_INVALID_PARAM)
    # Tencent's reference: Limit is at most 5000.
    await fails(
        app,
        "get_joined_group_list",
        {"Member_Account": "leckie", "Limit": 5001},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    await fails(
        app,
        "get_joined_group_list",
        {"Member_Account": "leckie", "WithHugeGroups": 2},
        ErrorCode.GROUP_INVALID_PARAM,
    )


async def test_get_role_in_group(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "peter", "bob")
    group_id = await create(
        app,
        Owner_Account="leckie",
        MemberList=[{"Member_Account": "peter", "Role": "Admin"}, {"Member_Account": "bob"}],
    )
    reply = await ok(
        app,
        "get_role_in_group",
        {"GroupId": group_id, "User_Account": ["leckie", "peter", "bob", "wesley"]},
    )
    assert reply["UserIdList"] == [
        {"Member_Account": "leckie", "Role": "Owner"},
        {"Member_Account": "peter", "Role": "Admin"},
        {"Member_Account": "bob", "Role": "Member"},
        {"Member_Account": "wesley", "Role": "NotMember"},
    ]
    await fails(
        app,
        "get_role_in_group",
        {"GroupId": group_id, "User_Account": [f"u{n}" for n in range(501)]},
        ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
    )
    await fails(app, "get_role_in_group", {"GroupId": group_id}, ErrorCode.GROUP_INVALID_PARAM)
    await fails(
        app,
        "get_role_in_group",
        {"GroupId": "@TGS#2NOPE", "User_Account": ["leckie"]},
        ErrorCode.GROUP_NOT_FOUND,
    )


async def test_get_online_member_num(app: AppUnderTest) -> None:
    await app.import_accounts("ann", "ben", "cid")
    live = await create(app, Type="AVChatRoom", Owner_Account="ann")
    assert (await ok(app, "get_online_member_num", {"GroupId": live})) == {
        "ActionStatus": "OK",
        "ErrorInfo": "",
        "ErrorCode": 0,
        "OnlineMemberNum": 0,
    }
    stores = SqliteStores(app.stack.settings().sqlite_path)
    try:
        # Three users in the room, as the SDK's join would record them; one is connected.
        members = [Member(u) for u in ("ann", "ben", "cid")]
        await stores.groups.add_members(app.sdkappid, live, "AVChatRoom", members)
    finally:
        await stores.close()
    ben = Client(app.stack.ws_url, app.sdkappid, "ben", app.sig("ben"))
    await ben.connect()
    try:
        reply = await ok(app, "get_online_member_num", {"GroupId": live})
        assert reply["OnlineMemberNum"] == 1
    finally:
        await ben.close()
    public = await create(app)
    await fails(app, "get_online_member_num", {"GroupId": public}, ErrorCode.GROUP_NO_PERMISSION)


async def test_forbid_send_msg_and_the_muted_list(app: AppUnderTest) -> None:
    await app.import_accounts("leckie", "peter", "tommy", "outsider")
    group_id = await create(
        app,
        Owner_Account="leckie",
        MemberList=[{"Member_Account": "peter"}, {"Member_Account": "tommy"}],
    )
    before = int(time.time())
    await ok(
        app,
        "forbid_send_msg",
        {"GroupId": group_id, "Members_Account": ["peter", "tommy"], "ShutUpTime": 60},
    )
    muted = await ok(app, "get_group_muted_account", {"GroupId": group_id})
    assert muted["GroupId"] == group_id
    assert [m["Member_Account"] for m in muted["MutedAccountList"]] == ["peter", "tommy"]
    assert all(before + 55 <= m["MutedUntil"] <= before + 65 for m in muted["MutedAccountList"])
    old_names = await ok(app, "get_group_shutted_uin", {"GroupId": group_id})
    assert [set(m) for m in old_names["ShuttedUinList"]] == [{"Member_Account", "ShuttedUntil"}] * 2

    await ok(
        app, "forbid_send_msg", {"GroupId": group_id, "Members_Account": ["peter"], "MuteTime": 0}
    )
    await ok(
        app,
        "forbid_send_msg",
        {"GroupId": group_id, "Members_Account": ["tommy"], "MuteTime": 4294967295},
    )
    muted = await ok(app, "get_group_muted_account", {"GroupId": group_id})
    assert muted["MutedAccountList"] == [{"Member_Account": "tommy", "MutedUntil": 4294967295}]

    await fails(
        app,
        "forbid_send_msg",
        {"GroupId": group_id, "Members_Account": ["outsider"], "ShutUpTime": 60},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )
    await fails(
        app,
        "forbid_send_msg",
        {"GroupId": group_id, "Members_Account": [f"u{n}" for n in range(501)], "ShutUpTime": 60},
        ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
    )
    await fails(
        app,
        "forbid_send_msg",
        {"GroupId": group_id, "Members_Account": ["peter"]},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    await fails(
        app,
        "forbid_send_msg",
        {"GroupId": group_id, "Members_Account": ["peter"], "ShutUpTime": 4294967296},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    work = await create(
        app, Type="Work", Owner_Account="leckie", MemberList=[{"Member_Account": "peter"}]
    )
    await fails(
        app,
        "forbid_send_msg",
        {"GroupId": work, "Members_Account": ["peter"], "ShutUpTime": 60},
        ErrorCode.GROUP_NO_PERMISSION,
    )
    await fails(
        app, "get_group_muted_account", {"GroupId": "@TGS#2NOPE"}, ErrorCode.GROUP_NOT_FOUND
    )


async def test_edition_quotas(app: AppUnderTest) -> None:
    developer = await new_app(app.stack, "Developer")
    await developer.import_accounts("busy", *(f"m{n}" for n in range(20)))
    # Developer: 20 members per group.
    group_id = await create(
        developer, Owner_Account="busy", MemberList=[{"Member_Account": f"m{n}"} for n in range(19)]
    )
    await fails(
        developer,
        "add_group_member",
        {"GroupId": group_id, "MemberList": [{"Member_Account": "m19"}]},
        ErrorCode.GROUP_FULL,
    )
    # Developer: 50 groups per user.
    for _ in range(49):
        await create(developer, Owner_Account="busy")
    info_text = await fails(
        developer,
        "create_group",
        {"Type": "Public", "Name": "one too many", "Owner_Account": "busy"},
        ErrorCode.GROUP_JOINED_LIMIT,
    )
    assert "busy" in info_text
    # Live rooms do not count.
    await create(developer, Type="AVChatRoom", Owner_Account="busy")


async def test_groups_are_per_app(app: AppUnderTest) -> None:
    other = await new_app(app.stack)
    group_id = await create(app, GroupId="shared-name")
    await fails(other, "destroy_group", {"GroupId": group_id}, ErrorCode.GROUP_NOT_FOUND)
    assert (await ok(other, "get_appid_group_list", {}))["TotalCount"] == 0
    # The same custom ID is free in another app.
    assert await create(other, GroupId="shared-name") == "shared-name"
