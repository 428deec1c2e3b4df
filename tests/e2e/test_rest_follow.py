"""follow (follow relations) through the running stack: Tencent's reference requests and
replies for every command, and each error path we support."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """Follow and fans is off until the console turns it on (Tencent's default)."""
    return await new_app(stack, follow=True)


SVC = "follow"
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "ErrorDisplay": ""}
U1, U2, U3 = "UserID_001", "UserID_002", "UserID_003"


def _ok(code: int = 0) -> dict[str, Any]:
    return {"ResultCode": code, "ResultInfo": ""}


async def _fails(app: AppUnderTest, command: str, body: Any, code: ErrorCode) -> None:
    reply = await app.rest(SVC, command, body)
    assert reply["ErrorCode"] == code, (command, body, reply)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"], reply


async def test_reference_examples(app: AppUnderTest) -> None:
    await app.put_accounts(U1, U2, U3, nick_prefix="nick-")
    before = int(time.time())
    reply = await app.rest(
        SVC,
        "follow_add",
        {"From_Account": U1, "FollowItem": [{"To_Account": U2}, {"To_Account": U3}]},
    )
    assert reply == {
        "ResultItem": [{"To_Account": U2, **_ok()}, {"To_Account": U3, **_ok()}],
        **OK,
    }

    reply = await app.rest(SVC, "follow_check", {"From_Account": U1, "To_Account": [U2, U3]})
    assert reply == {
        "ResultItem": [
            {"To_Account": U2, **_ok(), "FollowType": 2},
            {"To_Account": U3, **_ok(), "FollowType": 2},
        ],
        **OK,
    }
    reply = await app.rest(SVC, "follow_check", {"From_Account": U2, "To_Account": [U1, U3]})
    assert [i["FollowType"] for i in reply["ResultItem"]] == [1, 0]

    # Tencent's follow_get_info example reply is this state.
    reply = await app.rest(SVC, "follow_get_info", {"From_Account": U1, "To_Account": [U1, U2, U3]})
    assert reply == {
        "FollowInfo": [
            {"To_Account": U1, **_ok(), **_counts(0, 2, 0)},
            {"To_Account": U2, **_ok(), **_counts(1, 0, 0)},
            {"To_Account": U3, **_ok(), **_counts(1, 0, 0)},
        ],
        **OK,
    }

    reply = await app.rest(
        SVC, "follow_get", {"From_Account": U1, "FollowType": 2, "StartCursor": "", "WantNum": 100}
    )
    assert reply["ErrorCode"] == 0, reply
    assert reply["NextCursor"] == ""
    assert [i["To_Account"] for i in reply["FollowItem"]] == [U2, U3]
    for item in reply["FollowItem"]:
        assert before <= item["FollowTime"] <= int(time.time())
        nick = {"Tag": "Tag_Profile_IM_Nick", "Value": f"nick-{item['To_Account']}"}
        assert item["ProfileItem"] == [nick]
    reply = await app.rest(
        SVC, "follow_get", {"From_Account": U2, "FollowType": 1, "StartCursor": "", "WantNum": 100}
    )
    assert [i["To_Account"] for i in reply["FollowItem"]] == [U1]

    reply = await app.rest(SVC, "follow_delete", {"From_Account": U1, "To_Account": [U2, U3]})
    assert reply == {
        "ResultItem": [{"To_Account": U2, **_ok()}, {"To_Account": U3, **_ok()}],
        **OK,
    }
    reply = await app.rest(SVC, "follow_get_info", {"From_Account": U1, "To_Account": [U1, U2]})
    assert [(i["FollowingCount"], i["FollowerCount"]) for i in reply["FollowInfo"]] == [
        (0, 0),
        (0, 0),
    ]


def _counts(fans: int, following: int, mutual: int) -> dict[str, int]:
    return {"FollowerCount": fans, "FollowingCount": following, "MutualFollowingCount": mutual}


async def test_mutual_follows_and_profiles(app: AppUnderTest) -> None:
    await app.put_accounts(U1, U2, U3, nick_prefix="nick-")
    reply = await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": U2,
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test2"},
                {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_DenyAny"},
            ],
        },
    )
    assert reply["ErrorCode"] == 0, reply
    await app.rest(SVC, "follow_add", {"From_Account": U1, "FollowItem": [{"To_Account": U2}]})
    await app.rest(SVC, "follow_add", {"From_Account": U2, "FollowItem": [{"To_Account": U1}]})
    reply = await app.rest(SVC, "follow_check", {"From_Account": U1, "To_Account": [U2, U1]})
    assert [i["FollowType"] for i in reply["ResultItem"]] == [3, 0]
    reply = await app.rest(SVC, "follow_get_info", {"From_Account": U1, "To_Account": [U2]})
    assert reply["FollowInfo"] == [{"To_Account": U2, **_ok(), **_counts(1, 1, 1)}]
    reply = await app.rest(SVC, "follow_get", {"From_Account": U1, "FollowType": 3})
    assert reply["FollowItem"] == [
        {
            "To_Account": U2,
            "FollowTime": reply["FollowItem"][0]["FollowTime"],
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_AllowType", "Value": "AllowType_Type_DenyAny"},
                {"Tag": "Tag_Profile_IM_Nick", "Value": f"nick-{U2}"},
                {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test2"},
            ],
        }
    ]
    # Following again is no change; unfollowing ends the mutual follow.
    reply = await app.rest(
        SVC, "follow_add", {"From_Account": U1, "FollowItem": [{"To_Account": U2}]}
    )
    assert reply["ResultItem"] == [{"To_Account": U2, **_ok()}]
    await app.rest(SVC, "follow_delete", {"From_Account": U2, "To_Account": [U1]})
    reply = await app.rest(SVC, "follow_get", {"From_Account": U1, "FollowType": 3})
    assert reply["FollowItem"] == [] and reply["NextCursor"] == ""


async def test_pages_follow_next_cursor(app: AppUnderTest) -> None:
    fans = [f"fan{i:02}" for i in range(5)]
    await app.put_accounts("star", *fans, nick_prefix="nick-")
    for fan in fans:
        reply = await app.rest(
            SVC, "follow_add", {"From_Account": fan, "FollowItem": [{"To_Account": "star"}]}
        )
        assert reply["ResultItem"][0]["ResultCode"] == 0, reply
    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        reply = await app.rest(
            SVC,
            "follow_get",
            {"From_Account": "star", "FollowType": 1, "StartCursor": cursor, "WantNum": 2},
        )
        assert reply["ErrorCode"] == 0, reply
        seen += [i["To_Account"] for i in reply["FollowItem"]]
        pages += 1
        cursor = reply["NextCursor"]
        if not cursor:
            break
    assert seen == fans and pages == 3


async def test_per_item_errors(app: AppUnderTest) -> None:
    await app.put_accounts(U1, U2, nick_prefix="nick-")
    reply = await app.rest(
        SVC,
        "follow_add",
        {
            "From_Account": U1,
            "FollowItem": [{"To_Account": U1}, {"To_Account": "ghost"}, {"To_Account": U2}],
        },
    )
    assert reply["ErrorCode"] == 0, reply
    assert [(i["To_Account"], i["ResultCode"]) for i in reply["ResultItem"]] == [
        (U1, ErrorCode.SNS_INVALID_PARAM),
        ("ghost", ErrorCode.SNS_ACCOUNT_NOT_FOUND),
        (U2, 0),
    ]
    reply = await app.rest(SVC, "follow_check", {"From_Account": U1, "To_Account": ["ghost"]})
    assert reply["ResultItem"] == [
        {
            "To_Account": "ghost",
            "ResultCode": ErrorCode.SNS_ACCOUNT_NOT_FOUND,
            "ResultInfo": "To_Account does not exist",
        }
    ]
    reply = await app.rest(SVC, "follow_get_info", {"From_Account": U1, "To_Account": ["ghost"]})
    assert reply["FollowInfo"][0]["ResultCode"] == ErrorCode.SNS_ACCOUNT_NOT_FOUND
    reply = await app.rest(
        SVC, "follow_delete", {"From_Account": U1, "To_Account": [U1, "ghost", U2]}
    )
    assert [i["ResultCode"] for i in reply["ResultItem"]] == [
        ErrorCode.SNS_INVALID_PARAM,
        ErrorCode.SNS_ACCOUNT_NOT_FOUND,
        0,
    ]


async def test_following_limit_is_32100(app: AppUnderTest) -> None:
    await app.put_accounts(U1, U2, nick_prefix="nick-")
    async with app.stores() as stores:
        await stores.follows.follow(app.sdkappid, U1, [f"f{i:04}" for i in range(5000)], 1)
    reply = await app.rest(
        SVC, "follow_add", {"From_Account": U1, "FollowItem": [{"To_Account": U2}]}
    )
    assert reply["ErrorCode"] == 0, reply
    assert reply["ResultItem"][0]["ResultCode"] == ErrorCode.FOLLOW_FOLLOWING_LIMIT
    reply = await app.rest(SVC, "follow_get_info", {"From_Account": U1, "To_Account": [U2]})
    assert reply["FollowInfo"][0]["FollowerCount"] == 0


async def test_request_errors(app: AppUnderTest) -> None:
    await app.put_accounts(U1, U2, nick_prefix="nick-")
    many = [f"u{i}" for i in range(21)]
    for command, body in (
        ("follow_add", {"FollowItem": [{"To_Account": U2}]}),
        ("follow_add", {"From_Account": U1, "FollowItem": []}),
        ("follow_add", {"From_Account": U1, "FollowItem": [{"To_Account": u} for u in many]}),
        ("follow_add", {"From_Account": U1, "FollowItem": [{"To_Account": ""}]}),
        ("follow_add", {"From_Account": U1, "FollowItem": [U2]}),
        ("follow_delete", {"From_Account": U1, "To_Account": many}),
        ("follow_delete", {"From_Account": U1}),
        ("follow_check", {"From_Account": U1, "To_Account": [f"u{i}" for i in range(101)]}),
        ("follow_check", {"From_Account": U1, "To_Account": "UserID_002"}),
        ("follow_get_info", {"From_Account": U1, "To_Account": many}),
        ("follow_get", {"From_Account": U1}),
        ("follow_get", {"From_Account": U1, "FollowType": 4}),
        ("follow_get", {"From_Account": U1, "FollowType": "1"}),
        ("follow_get", {"From_Account": U1, "FollowType": 1, "WantNum": 1001}),
        ("follow_get", {"From_Account": U1, "FollowType": 1, "WantNum": -1}),
        ("follow_get", {"From_Account": U1, "FollowType": 1, "StartCursor": "!!"}),
        ("follow_get", {"From_Account": U1, "FollowType": 1, "StartCursor": 5}),
    ):
        await _fails(app, command, body, ErrorCode.SNS_INVALID_PARAM)
    for command, body in (
        ("follow_add", {"From_Account": "ghost", "FollowItem": [{"To_Account": U2}]}),
        ("follow_delete", {"From_Account": "ghost", "To_Account": [U2]}),
        ("follow_check", {"From_Account": "ghost", "To_Account": [U2]}),
        ("follow_get", {"From_Account": "ghost", "FollowType": 1}),
        ("follow_get_info", {"From_Account": "ghost", "To_Account": [U2]}),
    ):
        await _fails(app, command, body, ErrorCode.SNS_ACCOUNT_NOT_FOUND)


async def test_account_delete_drops_follow_relations(app: AppUnderTest) -> None:
    await app.put_accounts(U1, U2, U3, nick_prefix="nick-")
    await app.rest(SVC, "follow_add", {"From_Account": U1, "FollowItem": [{"To_Account": U2}]})
    await app.rest(SVC, "follow_add", {"From_Account": U2, "FollowItem": [{"To_Account": U1}]})
    await app.rest(SVC, "follow_add", {"From_Account": U3, "FollowItem": [{"To_Account": U2}]})
    reply = await app.rest("im_open_login_svc", "account_delete", {"DeleteItem": [{"UserID": U2}]})
    assert reply["ErrorCode"] == 0, reply
    reply = await app.rest(SVC, "follow_get_info", {"From_Account": U1, "To_Account": [U1, U3]})
    assert reply["FollowInfo"] == [
        {"To_Account": U1, **_ok(), **_counts(0, 0, 0)},
        {"To_Account": U3, **_ok(), **_counts(0, 0, 0)},
    ]
