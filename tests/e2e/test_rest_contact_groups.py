"""recentcontact conversation groups and marks, with Tencent's request examples, fields,
limits and codes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from services.common.errors import ErrorCode
from tests.conftest import AppUnderTest

pytestmark = pytest.mark.stack

SVC = "recentcontact"
ENVELOPE = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


async def ok(app: AppUnderTest, command: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await app.rest(SVC, command, body)
    assert reply["ErrorCode"] == 0, (command, body, reply)
    return reply


async def fails(app: AppUnderTest, command: str, body: Any, code: ErrorCode) -> None:
    reply = await app.rest(SVC, command, body)
    assert reply["ErrorCode"] == code, (command, body, reply)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorInfo"]


def c2c(user: str) -> dict[str, Any]:
    return {"Type": 1, "To_Account": user}


async def test_create_get_update_delete_golden(app: AppUnderTest) -> None:
    await app.import_accounts("user15", "user0", "user1")
    before = int(time.time())
    # Tencent's create_contact_group request example.
    reply = await app.rest(
        SVC,
        "create_contact_group",
        {
            "From_Account": "user15",
            "GroupContactItem": [{"GroupName": "test0", "ContactItem": [c2c("user0")]}],
        },
    )
    assert reply == {
        **ENVELOPE,
        "GroupResultItem": [
            {
                "GroupItem": {"GroupName": "test0", "GroupId": 1},
                "ResultItem": [{"ContactItem": c2c("user0"), "ResultCode": 0, "ResultInfo": ""}],
            }
        ],
    }
    await ok(
        app,
        "create_contact_group",
        {
            "From_Account": "user15",
            "GroupContactItem": [{"GroupName": "test1", "ContactItem": [c2c("user0")]}],
        },
    )

    # Tencent's update_contact_group request example: add a conversation to group test1.
    reply = await app.rest(
        SVC,
        "update_contact_group",
        {
            "From_Account": "user15",
            "UpdateType": 1,
            "UpdateGroup": {
                "UpdateGroupType": 2,
                "OldGroupName": "test1",
                "ContactUpdateItem": [{"ContactOptType": 1, "ContactItem": c2c("user1")}],
            },
        },
    )
    assert reply == {
        **ENVELOPE,
        "UpdateType": 1,
        "UpdateGroupResult": {
            "UpdateGroupType": 2,
            "GroupName": "test1",
            "GroupId": 2,
            "ContactResultItem": [
                {
                    "ContactOptType": 1,
                    "ContactItem": c2c("user1"),
                    "ResultCode": 0,
                    "ResultInfo": "",
                }
            ],
        },
    }
    # Tencent's get_contact_group request example, read back.
    got = await app.rest(SVC, "get_contact_group", {"From_Account": "user15", "StartIndex": 0})
    after = int(time.time())
    assert set(got) == {*ENVELOPE, "ContactItem", "GroupItem", "CompleteFlag", "NextStartIndex"}
    assert got["GroupItem"] == [
        {"GroupName": "test0", "GroupId": 1},
        {"GroupName": "test1", "GroupId": 2},
    ]
    assert (got["CompleteFlag"], got["NextStartIndex"]) == (1, 0)
    items = got["ContactItem"]
    assert [(i["To_Account"], i["ContactGroupId"]) for i in items] == [
        ("user0", [1, 2]),
        ("user1", [2]),
    ]
    assert all(before <= i["Timestamp"] <= after for i in items)
    assert all(set(i) == {"Type", "To_Account", "ContactGroupId", "Timestamp"} for i in items)

    # Rename, then take user0 out of test1.
    reply = await ok(
        app,
        "update_contact_group",
        {
            "From_Account": "user15",
            "UpdateType": 1,
            "UpdateGroup": {
                "UpdateGroupType": 1,
                "OldGroupName": "test1",
                "NewGroupName": "test1x",
            },
        },
    )
    assert reply["UpdateGroupResult"] == {
        "UpdateGroupType": 1,
        "GroupName": "test1x",
        "GroupId": 2,
        "OldGroupName": "test1",
    }
    await ok(
        app,
        "update_contact_group",
        {
            "From_Account": "user15",
            "UpdateType": 1,
            "UpdateGroup": {
                "UpdateGroupType": 2,
                "OldGroupName": "test1x",
                "ContactUpdateItem": [{"ContactOptType": 2, "ContactItem": c2c("user0")}],
            },
        },
    )

    # del_contact_group: the group goes, and so does its id on the conversations.
    reply = await app.rest(
        SVC, "del_contact_group", {"From_Account": "user15", "GroupName": ["test0"]}
    )
    assert reply == {**ENVELOPE, "GroupItem": [{"GroupName": "test0", "GroupId": 1}]}
    got = await ok(app, "get_contact_group", {"From_Account": "user15", "StartIndex": 0})
    assert got["GroupItem"] == [{"GroupName": "test1x", "GroupId": 2}]
    assert [(i["To_Account"], i["ContactGroupId"]) for i in got["ContactItem"]] == [("user1", [2])]
    # The id freed by test0 is the next one given.
    reply = await ok(
        app,
        "create_contact_group",
        {
            "From_Account": "user15",
            "GroupContactItem": [{"GroupName": "again", "ContactItem": [c2c("user0")]}],
        },
    )
    assert reply["GroupResultItem"][0]["GroupItem"] == {"GroupName": "again", "GroupId": 1}


async def test_mark_and_search_golden(app: AppUnderTest) -> None:
    await app.import_accounts("user0", "user1", "owner")
    # Tencent's mark_contact request example.
    reply = await app.rest(
        SVC,
        "mark_contact",
        {
            "From_Account": "user0",
            "MarkItem": [
                {
                    "OptType": 3,
                    "ContactItem": c2c("user1"),
                    "SetMark": [1, 2, 3],
                    "CustomMark": "abcd",
                }
            ],
        },
    )
    assert reply == {
        **ENVELOPE,
        "ResultItem": [
            {"OptType": 3, "ContactItem": c2c("user1"), "ResultCode": 0, "ResultInfo": ""}
        ],
    }
    group = await app.rest(
        "group_open_http_svc",
        "create_group",
        {"Owner_Account": "owner", "Type": "Public", "Name": "marks"},
    )
    group_id = group["GroupId"]
    reply = await ok(
        app,
        "mark_contact",
        {
            "From_Account": "user0",
            "MarkItem": [
                {"OptType": 1, "ContactItem": {"Type": 2, "ToGroupId": group_id}, "SetMark": [0]},
                {"OptType": 1, "ContactItem": {"Type": 2, "ToGroupId": "@TGS#2NOGROUP"}},
                {"OptType": 1, "ContactItem": c2c("user1"), "ClearMark": [2]},
            ],
        },
    )
    assert [r["ResultCode"] for r in reply["ResultItem"]] == [
        0,
        ErrorCode.CONV_MARK_OPERATE_FAILED,
        0,
    ]
    await ok(
        app,
        "create_contact_group",
        {
            "From_Account": "user0",
            "GroupContactItem": [
                {"GroupName": "g", "ContactItem": [{"Type": 2, "ToGroupId": group_id}]}
            ],
        },
    )

    # search_contact_group, in the shape of Tencent's example.
    reply = await app.rest(
        SVC,
        "search_contact_group",
        {
            "From_Account": "user0",
            "ContactItem": [c2c("user1"), {"Type": 2, "ToGroupId": group_id}, c2c("nobody")],
        },
    )
    assert set(reply) == {*ENVELOPE, "ContactResultItem", "GroupItem"}
    first, second = reply["ContactResultItem"]
    assert first.pop("Timestamp") > 0 and second.pop("Timestamp") > 0
    assert first == {"Type": 1, "To_Account": "user1", "StandardMark": "0101", "CustomMark": "abcd"}
    assert second == {
        "Type": 2,
        "ToGroupId": group_id,
        "StandardMark": "1",
        "ContactGroupId": [1],
    }
    assert reply["GroupItem"] == [{"GroupName": "g", "GroupId": 1}]

    # Clearing every mark and the custom mark leaves nothing to find.
    await ok(
        app,
        "mark_contact",
        {
            "From_Account": "user0",
            "MarkItem": [
                {
                    "OptType": 3,
                    "ContactItem": c2c("user1"),
                    "ClearMark": [1, 3],
                    "CustomMark": "",
                }
            ],
        },
    )
    reply = await ok(
        app, "search_contact_group", {"From_Account": "user0", "ContactItem": [c2c("user1")]}
    )
    assert reply["ContactResultItem"] == []


async def test_get_contact_group_pages(app: AppUnderTest) -> None:
    await app.import_accounts("pager")
    for first in (0, 100):
        await ok(
            app,
            "mark_contact",
            {
                "From_Account": "pager",
                "MarkItem": [
                    {"OptType": 1, "ContactItem": c2c(f"u{i:03}"), "SetMark": [0]}
                    for i in range(first, first + (100 if first == 0 else 30))
                ],
            },
        )
    page = await ok(app, "get_contact_group", {"From_Account": "pager", "StartIndex": 0})
    assert (len(page["ContactItem"]), page["CompleteFlag"], page["NextStartIndex"]) == (100, 0, 100)
    assert page["ContactItem"][0]["To_Account"] == "u000"
    page = await ok(app, "get_contact_group", {"From_Account": "pager", "StartIndex": 100})
    assert (len(page["ContactItem"]), page["CompleteFlag"], page["NextStartIndex"]) == (30, 1, 0)
    assert page["ContactItem"][-1]["To_Account"] == "u129"


async def test_limits_and_errors(app: AppUnderTest) -> None:
    await app.import_accounts("limits")

    def create(name: str, contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "From_Account": "limits",
            "GroupContactItem": [{"GroupName": name, "ContactItem": contacts or [c2c("p")]}],
        }

    for i in range(20):
        await ok(app, "create_contact_group", create(f"group{i}"))
    await fails(
        app, "create_contact_group", create("one too many"), ErrorCode.CONV_GROUP_COUNT_LIMIT
    )
    await fails(app, "create_contact_group", create("group3"), ErrorCode.CONV_INVALID_PARAM)
    await fails(app, "create_contact_group", create("x" * 33), ErrorCode.CONV_GROUP_NAME_TOO_LONG)
    await fails(
        app,
        "create_contact_group",
        create("many", [c2c(f"u{i}") for i in range(101)]),
        ErrorCode.CONV_MARK_REQ_COUNT_LIMIT,
    )
    await fails(
        app,
        "create_contact_group",
        {**create("ghost"), "From_Account": "ghost"},
        ErrorCode.CONV_ACCOUNT_NOT_FOUND,
    )
    await fails(
        app,
        "create_contact_group",
        {
            "From_Account": "limits",
            "GroupContactItem": [
                {"GroupName": "a", "ContactItem": [c2c("p")]},
                {"GroupName": "b", "ContactItem": [c2c("p")]},
            ],
        },
        ErrorCode.CONV_INVALID_PARAM,
    )
    await fails(
        app,
        "del_contact_group",
        {"From_Account": "limits", "GroupName": ["no such"]},
        ErrorCode.CONV_GROUP_NOT_FOUND,
    )
    await fails(
        app,
        "del_contact_group",
        {"From_Account": "limits", "GroupName": "group1"},
        ErrorCode.CONV_INVALID_PARAM,
    )

    def update(group: dict[str, Any], update_type: int = 1) -> dict[str, Any]:
        return {"From_Account": "limits", "UpdateType": update_type, "UpdateGroup": group}

    await fails(
        app,
        "update_contact_group",
        update({"UpdateGroupType": 1, "OldGroupName": "nope", "NewGroupName": "n"}),
        ErrorCode.CONV_GROUP_NOT_FOUND,
    )
    await fails(
        app,
        "update_contact_group",
        update({"UpdateGroupType": 1, "OldGroupName": "group1", "NewGroupName": "group2"}),
        ErrorCode.CONV_INVALID_PARAM,
    )
    await fails(
        app,
        "update_contact_group",
        update({"UpdateGroupType": 1, "OldGroupName": "group1", "NewGroupName": "y" * 33}),
        ErrorCode.CONV_GROUP_NAME_TOO_LONG,
    )
    await fails(
        app,
        "update_contact_group",
        update({"UpdateGroupType": 3, "OldGroupName": "group1"}),
        ErrorCode.CONV_INVALID_PARAM,
    )
    await fails(
        app,
        "update_contact_group",
        update({"UpdateGroupType": 2, "OldGroupName": "group1"}, update_type=2),
        ErrorCode.CONV_INVALID_PARAM,
    )
    await fails(
        app,
        "update_contact_group",
        update(
            {
                "UpdateGroupType": 2,
                "OldGroupName": "group1",
                "ContactUpdateItem": [{"ContactOptType": 3, "ContactItem": c2c("p")}],
            }
        ),
        ErrorCode.CONV_INVALID_PARAM,
    )

    mark = {"OptType": 1, "ContactItem": c2c("p"), "SetMark": [0]}
    await fails(
        app,
        "mark_contact",
        {"From_Account": "limits", "MarkItem": [mark] * 101},
        ErrorCode.CONV_MARK_REQ_COUNT_LIMIT,
    )
    for bad in (
        {"From_Account": "limits", "MarkItem": []},
        {"From_Account": "limits", "MarkItem": [{**mark, "SetMark": [64]}]},
        {"From_Account": "limits", "MarkItem": [{**mark, "OptType": 2}]},
        {"From_Account": "limits", "MarkItem": [{**mark, "ContactItem": {"Type": 3}}]},
        {"MarkItem": [mark]},
    ):
        await fails(app, "mark_contact", bad, ErrorCode.CONV_INVALID_PARAM)
    await fails(
        app,
        "search_contact_group",
        {"From_Account": "limits", "ContactItem": [c2c(f"u{i}") for i in range(301)]},
        ErrorCode.CONV_INVALID_PARAM,
    )
    await fails(
        app,
        "get_contact_group",
        {"From_Account": "limits", "StartIndex": -1},
        ErrorCode.CONV_INVALID_PARAM,
    )
    await fails(
        app, "get_contact_group", {"From_Account": "ghost"}, ErrorCode.CONV_ACCOUNT_NOT_FOUND
    )
