"""openim_robot_http_svc through the running stack: Tencent's example requests, robots as
accounts (profile, messages), the 20-robot limit and each documented error."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack

SVC = "openim_robot_http_svc"
OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


async def test_create_list_and_delete_a_robot(app: AppUnderTest) -> None:
    example = {
        "UserID": "@RBT#001",
        "Nick": "Jarvis",
        "FaceUrl": "www.example.com/head.jpg",
        "SelfSignature": "hello, world",
    }
    assert await app.rest(SVC, "create_robot", example) == OK
    # Creating the same robot again creates no second one.
    assert await app.rest(SVC, "create_robot", example) == OK
    assert await app.rest(SVC, "get_all_robots", {}) == {**OK, "Robot_Account": ["@RBT#001"]}

    profile = await app.rest(
        "profile",
        "portrait_get",
        {
            "To_Account": ["@RBT#001"],
            "TagList": [
                "Tag_Profile_IM_Nick",
                "Tag_Profile_IM_Image",
                "Tag_Profile_IM_SelfSignature",
            ],
        },
    )
    assert profile["UserProfileItem"][0]["ProfileItem"] == [
        {"Tag": "Tag_Profile_IM_Nick", "Value": "Jarvis"},
        {"Tag": "Tag_Profile_IM_Image", "Value": "www.example.com/head.jpg"},
        {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "hello, world"},
    ]
    # A robot is an account: it sends and receives.
    await app.import_accounts("user1")
    sent = await app.rest(
        "openim",
        "sendmsg",
        {
            "From_Account": "@RBT#001",
            "To_Account": "user1",
            "MsgRandom": 1,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}}],
        },
    )
    assert sent["ErrorCode"] == 0, sent
    assert [m["From_Account"] for m in await app.roam("user1", "@RBT#001")] == ["@RBT#001"]

    assert await app.rest(SVC, "delete_robot", {"Robot_Account": "@RBT#001"}) == OK
    assert await app.rest(SVC, "get_all_robots", {}) == {**OK, "Robot_Account": []}
    check = await app.rest(
        "im_open_login_svc", "account_check", {"CheckItem": [{"UserID": "@RBT#001"}]}
    )
    assert check["ResultItem"][0]["AccountStatus"] == "NotImported"
    gone = await app.rest(SVC, "delete_robot", {"Robot_Account": "@RBT#001"})
    assert gone["ErrorCode"] == ErrorCode.GROUP_INVALID_PARAM and gone["ErrorInfo"]


async def test_an_app_holds_twenty_robots(stack: Stack) -> None:
    app = await new_app(stack)
    await app.import_accounts("alice", "zed")
    names = [f"@RBT#{i:02}" for i in range(20)]
    for name in names:
        assert await app.rest(SVC, "create_robot", {"UserID": name}) == OK
    # Other accounts, before and after the prefix in UserID order, are not robots.
    assert await app.rest(SVC, "get_all_robots", {}) == {**OK, "Robot_Account": names}
    over = await app.rest(SVC, "create_robot", {"UserID": "@RBT#20"})
    assert over["ErrorCode"] == ErrorCode.ROBOT_REQUEST_REFUSED and over["ErrorInfo"]
    # An existing robot may still be created again (it is updated).
    assert await app.rest(SVC, "create_robot", {"UserID": "@RBT#00", "Nick": "n"}) == OK
    assert await app.rest(SVC, "delete_robot", {"Robot_Account": "@RBT#00"}) == OK
    assert await app.rest(SVC, "create_robot", {"UserID": "@RBT#20"}) == OK


async def test_robot_requests_are_checked(app: AppUnderTest) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("create_robot", {}),
        ("create_robot", {"UserID": "user1"}),
        ("create_robot", {"UserID": "@RBT#"}),
        ("create_robot", {"UserID": "@RBT#" + "x" * 28}),
        ("create_robot", {"UserID": 5}),
        ("create_robot", {"UserID": "@RBT#1", "Nick": 5}),
        ("create_robot", {"UserID": "@RBT#1", "SelfSignature": "s" * 501}),
        ("delete_robot", {}),
        ("delete_robot", {"Robot_Account": "user1"}),
    ]
    for command, body in cases:
        reply = await app.rest(SVC, command, body)
        assert reply["ErrorCode"] == ErrorCode.GROUP_INVALID_PARAM, (command, body, reply)
        assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]
    assert (await app.rest(SVC, "get_all_robots", {}))["Robot_Account"] == []
