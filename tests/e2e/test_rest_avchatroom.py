"""group_open_avchatroom_http_svc (live-group members, marks and admins) with Tencent's
reference examples, fields and codes. Online members are SDK clients that joined; offline
ones are written to the stack's store directly."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.common.store.groups import AVCHATROOM, Member
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app
from tests.e2e.test_avchatroom import live_group
from tests.e2e.test_group_messages import make_group
from tidings_client import Client

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """The online member list is off until the console turns it on (Tencent's default)."""
    return await new_app(stack, avchatroom_member_list=True)


SVC = "group_open_avchatroom_http_svc"
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


async def expect_code(app: AppUnderTest, command: str, body: Any, code: int) -> None:
    reply = await app.rest(SVC, command, body)
    assert reply["ErrorCode"] == code, (command, body, reply)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"], reply


@asynccontextmanager
async def online_members(
    app: AppUnderTest, group_id: str, *users: str
) -> AsyncIterator[list[Client]]:
    """SDK clients of `users`, each joined to the group, closed on the way out."""
    clients: list[Client] = []
    try:
        for u in users:
            c = await app.connect(u)
            clients.append(c)
            assert await c.join_group(group_id) is True
        yield clients
    finally:
        for c in clients:
            await c.close()


async def offline_member(app: AppUnderTest, group_id: str, user: str) -> None:
    """A member with no connection: in the group's member rows, not online."""
    async with app.stores() as stores:
        added = await stores.groups.add_members(
            app.sdkappid, group_id, AVCHATROOM, [Member(user, join_time=int(time.time()))]
        )
    assert added == [user]


async def set_profile(app: AppUnderTest, user: str, nick: str, image: str) -> None:
    reply = await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": user,
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_Nick", "Value": nick},
                {"Tag": "Tag_Profile_IM_Image", "Value": image},
            ],
        },
    )
    assert reply["ErrorCode"] == 0, reply


async def test_get_members_lists_online_members_with_profiles(app: AppUnderTest) -> None:
    await app.import_accounts("host", "teacher2", "student1", "sleeper")
    await set_profile(app, "teacher2", "教师t02", "http://www.example.com/teacher2.jpg")
    group_id = await live_group(app, "host")
    await offline_member(app, group_id, "sleeper")
    async with online_members(app, group_id, "teacher2", "student1"):
        # Tencent's request example, for this group.
        reply = await app.rest(SVC, "get_members", {"GroupId": group_id, "Timestamp": 0})
        assert {k: reply[k] for k in OK} == OK
        assert reply["NextTimestamp"] == 0
        listed = {m["Member_Account"]: m for m in reply["MemberList"]}
        # The owner never connected and sleeper is offline: only the online members.
        assert sorted(listed) == ["student1", "teacher2"]
        teacher = listed["teacher2"]
        assert set(teacher) == {"Member_Account", "JoinTime", "NickName", "Avatar"}
        assert (teacher["NickName"], teacher["Avatar"]) == (
            "教师t02",
            "http://www.example.com/teacher2.jpg",
        )
        assert abs(teacher["JoinTime"] - time.time()) < 120
        assert (listed["student1"]["NickName"], listed["student1"]["Avatar"]) == ("", "")
        # Latest join first.
        joins = [m["JoinTime"] for m in reply["MemberList"]]
        assert joins == sorted(joins, reverse=True)


async def test_member_marks_set_filtered_and_removed(app: AppUnderTest) -> None:
    await app.import_accounts("host", "teacher10", "student9", "sleeper", "stranger")
    group_id = await live_group(app, "host")
    await offline_member(app, group_id, "sleeper")
    async with online_members(app, group_id, "teacher10", "student9"):
        # Tencent's request example: teacher10 gets 1000 and student9 1001.
        member_list = [
            {"Member_Account": "teacher10", "Marks": [1000]},
            {"Member_Account": "student9", "Marks": [1001]},
        ]
        body = {"GroupId": group_id, "CommandType": 1, "MemberList": member_list}
        reply = await app.rest(SVC, "modify_user_info", body)
        assert reply == {**OK, "CommandType": 1, "MemberList": member_list}

        # The Mark filter of get_members (Tencent's second example).
        marked = await app.rest(
            SVC, "get_members", {"GroupId": group_id, "Mark": 1000, "Timestamp": 0}
        )
        assert [(m["Member_Account"], m["Marks"]) for m in marked["MemberList"]] == [
            ("teacher10", [1000])
        ]
        assert marked["NextTimestamp"] == 0

        # Offline members take only the special 500; non-members take nothing.
        reply = await app.rest(
            SVC,
            "modify_user_info",
            {
                "GroupId": group_id,
                "CommandType": 1,
                "MemberList": [
                    {"Member_Account": "sleeper", "Marks": [1000, 500]},
                    {"Member_Account": "stranger", "Marks": [1000]},
                ],
            },
        )
        assert reply["MemberList"] == [{"Member_Account": "sleeper", "Marks": [500]}]

        # Tencent's removal example.
        body = {"GroupId": group_id, "CommandType": 2, "MemberList": member_list}
        reply = await app.rest(SVC, "modify_user_info", body)
        assert reply == {**OK, "CommandType": 2, "MemberList": member_list}
        marked = await app.rest(
            SVC, "get_members", {"GroupId": group_id, "Mark": 1000, "Timestamp": 0}
        )
        assert marked["MemberList"] == []
        everyone = await app.rest(SVC, "get_members", {"GroupId": group_id, "Timestamp": 0})
        assert all("Marks" not in m for m in everyone["MemberList"])

        # Errors: a mark below 1000 (but 500), an empty Marks, an unknown CommandType, and
        # past 10 different marks in the group.
        for bad in ([999], []):
            await expect_code(
                app,
                "modify_user_info",
                {
                    "GroupId": group_id,
                    "CommandType": 1,
                    "MemberList": [{"Member_Account": "teacher10", "Marks": bad}],
                },
                ErrorCode.GROUP_INVALID_PARAM,
            )
        await expect_code(
            app,
            "modify_user_info",
            {"GroupId": group_id, "CommandType": 3, "MemberList": member_list},
            ErrorCode.GROUP_INVALID_PARAM,
        )
        await expect_code(
            app,
            "modify_user_info",
            {
                "GroupId": group_id,
                "CommandType": 1,
                "MemberList": [{"Member_Account": "teacher10", "Marks": list(range(2000, 2011))}],
            },
            ErrorCode.GROUP_INVALID_PARAM,
        )


async def test_admins_set_listed_and_removed(app: AppUnderTest) -> None:
    users = ["user1", "user2", "user3", "user4", "user5", "user6"]
    await app.import_accounts("host", "fan", *users)
    await set_profile(app, "user1", "AA", "https://example.com/abc.jpg")
    group_id = await live_group(app, "host")
    async with online_members(app, group_id, "fan"):
        # Tencent's request example: user1 need not be in the group.
        body = {"GroupId": group_id, "CommandType": 1, "Admin_Account": ["user1"]}
        assert await app.rest(SVC, "modify_admin", body) == OK
        # A member who is made an admin has the Admin role in the group.
        body = {"GroupId": group_id, "CommandType": 1, "Admin_Account": ["fan"]}
        assert await app.rest(SVC, "modify_admin", body) == OK
        role = await app.rest(
            "group_open_http_svc",
            "get_role_in_group",
            {"GroupId": group_id, "User_Account": ["fan"]},
        )
        assert role["UserIdList"] == [{"Member_Account": "fan", "Role": "Admin"}]

        reply = await app.rest(SVC, "get_admin_list", {"GroupId": group_id})
        assert reply == {
            **OK,
            "Admin_List": [
                {"Admin_Account": "fan", "Avatar": "", "NickName": ""},
                {
                    "Admin_Account": "user1",
                    "Avatar": "https://example.com/abc.jpg",
                    "NickName": "AA",
                },
            ],
        }

        # At most 5 admins in a group (10004), 5 accounts a request (10005); the owner is
        # not one, and accounts must be imported.
        await expect_code(
            app,
            "modify_admin",
            {"GroupId": group_id, "CommandType": 1, "Admin_Account": users[1:5]},
            ErrorCode.GROUP_INVALID_PARAM,
        )
        await expect_code(
            app,
            "modify_admin",
            {"GroupId": group_id, "CommandType": 1, "Admin_Account": users},
            ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
        )
        for who, code in (
            ("host", ErrorCode.GROUP_INVALID_PARAM),
            ("ghost", ErrorCode.GROUP_ACCOUNT_NOT_FOUND),
        ):
            await expect_code(
                app,
                "modify_admin",
                {"GroupId": group_id, "CommandType": 1, "Admin_Account": [who]},
                code,
            )

        body = {"GroupId": group_id, "CommandType": 2, "Admin_Account": ["fan", "user1"]}
        assert await app.rest(SVC, "modify_admin", body) == OK
        reply = await app.rest(SVC, "get_admin_list", {"GroupId": group_id})
        assert reply == {**OK, "Admin_List": []}
        role = await app.rest(
            "group_open_http_svc",
            "get_role_in_group",
            {"GroupId": group_id, "User_Account": ["fan"]},
        )
        assert role["UserIdList"] == [{"Member_Account": "fan", "Role": "Member"}]


async def test_check_members_answers_the_online_members(app: AppUnderTest) -> None:
    await app.import_accounts("host", "245000", "202200", "239017", "361697")
    group_id = await live_group(app, "host")
    await offline_member(app, group_id, "202200")
    async with online_members(app, group_id, "239017", "245000"):
        # Tencent's request and reply examples.
        reply = await app.rest(
            SVC,
            "check_members",
            {"GroupId": group_id, "Member_Account": ["245000", "202200", "239017", "361697"]},
        )
        assert reply == {**OK, "Member_Account": ["245000", "239017"]}
        await expect_code(
            app,
            "check_members",
            {"GroupId": group_id, "Member_Account": [f"u{i}" for i in range(501)]},
            ErrorCode.GROUP_TOO_MANY_ACCOUNTS,
        )


async def test_other_groups_and_bad_requests(app: AppUnderTest) -> None:
    await app.import_accounts("leader", "m1")
    work_group = await make_group(app, "leader", ["m1"])
    bodies: dict[str, dict[str, Any]] = {
        "get_members": {"Timestamp": 0},
        "modify_user_info": {
            "CommandType": 1,
            "MemberList": [{"Member_Account": "m1", "Marks": [1000]}],
        },
        "modify_admin": {"CommandType": 1, "Admin_Account": ["m1"]},
        "get_admin_list": {},
        "check_members": {"Member_Account": ["m1"]},
    }
    for command, body in bodies.items():
        # Not an AVChatRoom: 10007 (Tencent); no such group: 10010; not a group ID: 10015.
        await expect_code(
            app, command, {"GroupId": work_group, **body}, ErrorCode.GROUP_NO_PERMISSION
        )
        await expect_code(
            app, command, {"GroupId": "@TGS#aNOSUCHGRP", **body}, ErrorCode.GROUP_NOT_FOUND
        )
        await expect_code(
            app, command, {"GroupId": "bad\x01id", **body}, ErrorCode.GROUP_INVALID_ID
        )
    live = await live_group(app, "leader")
    await expect_code(app, "get_members", {"GroupId": live}, ErrorCode.GROUP_INVALID_PARAM)
    await expect_code(
        app, "get_members", {"GroupId": live, "Timestamp": -1}, ErrorCode.GROUP_INVALID_PARAM
    )
    await expect_code(
        app,
        "get_members",
        {"GroupId": live, "Timestamp": 0, "Mark": 7},
        ErrorCode.GROUP_INVALID_PARAM,
    )
    await expect_code(
        app, "check_members", {"GroupId": live, "Member_Account": []}, ErrorCode.GROUP_INVALID_PARAM
    )
