"""Group counters and group custom attributes through the running stack: Tencent's request
examples, reply shapes and documented error codes."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """Communities are off until the console turns them on (Tencent's default)."""
    return await new_app(stack, community=True)


SVC = "group_open_http_svc"
ATTR_SVC = "group_open_attr_http_svc"
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


async def ok(app: AppUnderTest, command: str, body: Any, service: str = SVC) -> dict[str, Any]:
    reply = await app.rest(service, command, body)
    assert (reply["ActionStatus"], reply["ErrorCode"], reply["ErrorInfo"]) == ("OK", 0, ""), reply
    return reply


async def fails(
    app: AppUnderTest, command: str, body: Any, code: ErrorCode, service: str = SVC
) -> None:
    reply = await app.rest(service, command, body)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorCode"] == code, (body, reply)
    assert reply["ErrorInfo"], reply


async def create(app: AppUnderTest, group_type: str, **body: Any) -> str:
    reply = await ok(app, "create_group", {"Type": group_type, "Name": "kv", **body})
    return str(reply["GroupId"])


async def attrs_of(app: AppUnderTest, group_id: str) -> list[dict[str, str]]:
    reply = await ok(app, "get_group_attr", {"GroupId": group_id}, ATTR_SVC)
    return reply["GroupAttrAry"]  # type: ignore[no-any-return]


async def counters_of(app: AppUnderTest, group_id: str, **body: Any) -> list[dict[str, Any]]:
    reply = await ok(app, "get_group_counter", {"GroupId": group_id, **body})
    return reply["GroupCounter"]  # type: ignore[no-any-return]


async def test_group_counters_golden(app: AppUnderTest) -> None:
    gid = await create(app, "AVChatRoom")
    assert await counters_of(app, gid) == []

    # Tencent's update_group_counter example, and its reply: the updated keys' values.
    reply = await app.rest(
        SVC,
        "update_group_counter",
        {
            "GroupId": gid,
            "GroupCounter": [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": 1}],
            "Mode": "Set",
        },
    )
    assert reply == {
        **OK,
        "GroupCounter": [{"Key": "like", "Value": 5}, {"Key": "unlike", "Value": 1}],
    }
    reply = await ok(
        app,
        "update_group_counter",
        {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 2}], "Mode": "Increase"},
    )
    assert reply["GroupCounter"] == [{"Key": "like", "Value": 7}]
    # An absent key starts at 0; an absent Mode is Set.
    reply = await ok(
        app,
        "update_group_counter",
        {"GroupId": gid, "GroupCounter": [{"Key": "gift", "Value": 3}], "Mode": "Decrease"},
    )
    assert reply["GroupCounter"] == [{"Key": "gift", "Value": -3}]
    await ok(
        app, "update_group_counter", {"GroupId": gid, "GroupCounter": [{"Key": "gift", "Value": 9}]}
    )

    # Tencent's get_group_counter example, and the whole list.
    reply = await app.rest(
        SVC, "get_group_counter", {"GroupId": gid, "GroupCounterKeys": ["like", "unlike"]}
    )
    assert reply == {
        **OK,
        "GroupCounter": [{"Key": "like", "Value": 7}, {"Key": "unlike", "Value": 1}],
    }
    assert await counters_of(app, gid) == [
        {"Key": "like", "Value": 7},
        {"Key": "unlike", "Value": 1},
        {"Key": "gift", "Value": 9},
    ]

    # Tencent's delete_group_counter example; then without keys, every counter.
    reply = await app.rest(
        SVC, "delete_group_counter", {"GroupId": gid, "GroupCounterKeys": ["like", "unlike"]}
    )
    assert reply == OK
    assert await counters_of(app, gid) == [{"Key": "gift", "Value": 9}]
    await ok(app, "delete_group_counter", {"GroupId": gid})
    assert await counters_of(app, gid) == []


async def test_group_counter_errors(app: AppUnderTest) -> None:
    gid = await create(app, "Public")
    bad = ErrorCode.GROUP_INVALID_PARAM
    counter = [{"Key": "like", "Value": 1}]
    for body in (
        {"GroupId": gid},
        {"GroupId": gid, "GroupCounter": []},
        {"GroupId": gid, "GroupCounter": counter, "Mode": "Multiply"},
        {"GroupId": gid, "GroupCounter": [{"Key": "k" * 129, "Value": 1}]},
        {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 2**63}]},
        {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": "1"}]},
        {"GroupCounter": counter},
    ):
        await fails(app, "update_group_counter", body, bad)
    # At most 20 counters a group.
    twenty = [{"Key": f"k{i}", "Value": i} for i in range(20)]
    await ok(app, "update_group_counter", {"GroupId": gid, "GroupCounter": twenty})
    await fails(app, "update_group_counter", {"GroupId": gid, "GroupCounter": counter}, bad)
    assert len(await counters_of(app, gid)) == 20
    # A result past the signed 64-bit range.
    top = [{"Key": "k0", "Value": 2**63 - 1}]
    await ok(app, "update_group_counter", {"GroupId": gid, "GroupCounter": top})
    one = [{"Key": "k0", "Value": 1}]
    body = {"GroupId": gid, "GroupCounter": one, "Mode": "Increase"}
    await fails(app, "update_group_counter", body, bad)

    for command in ("get_group_counter", "update_group_counter", "delete_group_counter"):
        body = {"GroupCounter": counter}
        await fails(app, command, {**body, "GroupId": "@TGS#2NOSUCHGRP"}, ErrorCode.GROUP_NOT_FOUND)
        await fails(app, command, {**body, "GroupId": "g" * 49}, ErrorCode.GROUP_INVALID_ID)
    community = await create(app, "Community")
    for command in ("get_group_counter", "update_group_counter", "delete_group_counter"):
        body = {"GroupId": community, "GroupCounter": counter}
        await fails(app, command, body, ErrorCode.GROUP_NO_PERMISSION)


async def test_group_attrs_golden(app: AppUnderTest) -> None:
    gid = await create(app, "AVChatRoom")
    # Tencent's get_group_attr example, under the service Tencent documents.
    reply = await app.rest(ATTR_SVC, "get_group_attr", {"GroupId": gid})
    assert reply == {**OK, "GroupAttrAry": []}

    example = [{"key": "attr_key", "value": "attr_val"}, {"key": "attr_key1", "value": "attr_val1"}]
    reply = await app.rest(SVC, "modify_group_attr", {"GroupId": gid, "GroupAttr": example})
    assert reply == OK
    assert await attrs_of(app, gid) == example
    # Also served under group_open_http_svc.
    assert (await ok(app, "get_group_attr", {"GroupId": gid}))["GroupAttrAry"] == example

    # modify merges, set replaces.
    changes = [{"key": "attr_key1", "value": "new"}, {"key": "attr_key2", "value": ""}]
    await ok(app, "modify_group_attr", {"GroupId": gid, "GroupAttr": changes})
    assert await attrs_of(app, gid) == [
        {"key": "attr_key", "value": "attr_val"},
        {"key": "attr_key1", "value": "new"},
        {"key": "attr_key2", "value": ""},
    ]
    reply = await app.rest(SVC, "set_group_attr", {"GroupId": gid, "GroupAttr": example})
    assert reply == OK
    assert await attrs_of(app, gid) == example

    # Tencent's delete_group_attr example; a key with no attribute is 10050.
    reply = await app.rest(
        SVC,
        "delete_group_attr",
        {"GroupId": gid, "GroupAttr": [{"key": "attr_key"}]},
    )
    assert reply == OK
    assert await attrs_of(app, gid) == [{"key": "attr_key1", "value": "attr_val1"}]
    body = {"GroupId": gid, "GroupAttr": [{"key": "attr_key1"}, {"key": "attr_key"}]}
    await fails(app, "delete_group_attr", body, ErrorCode.GROUP_ATTR_KEY_NOT_FOUND)
    assert await attrs_of(app, gid) == [{"key": "attr_key1", "value": "attr_val1"}]

    reply = await app.rest(SVC, "clear_group_attr", {"GroupId": gid})
    assert reply == OK
    assert await attrs_of(app, gid) == []


async def test_group_attr_errors(app: AppUnderTest) -> None:
    gid = await create(app, "Public")
    for attrs, code in (
        ([{"key": "k" * 33, "value": "v"}], ErrorCode.GROUP_ATTR_KEY_TOO_LONG),
        ([{"key": "k", "value": "v" * 4001}], ErrorCode.GROUP_ATTR_VALUE_TOO_LONG),
        ([{"key": f"k{i}", "value": ""} for i in range(17)], ErrorCode.GROUP_ATTR_TOO_MANY_KEYS),
        ([{"key": "k", "value": 1}], ErrorCode.GROUP_INVALID_PARAM),
        ([], ErrorCode.GROUP_INVALID_PARAM),
    ):
        for command in ("modify_group_attr", "set_group_attr"):
            await fails(app, command, {"GroupId": gid, "GroupAttr": attrs}, code)
    await fails(app, "modify_group_attr", {"GroupId": gid}, ErrorCode.GROUP_INVALID_PARAM)

    # The limits hold for the group, not only for one request.
    sixteen = [{"key": f"k{i}", "value": ""} for i in range(16)]
    await ok(app, "set_group_attr", {"GroupId": gid, "GroupAttr": sixteen})
    more = {"GroupId": gid, "GroupAttr": [{"key": "k16", "value": ""}]}
    await fails(app, "modify_group_attr", more, ErrorCode.GROUP_ATTR_TOO_MANY_KEYS)
    four = [{"key": f"big{i}", "value": "v" * 4000} for i in range(4)]
    await ok(app, "set_group_attr", {"GroupId": gid, "GroupAttr": four})
    over = {"GroupId": gid, "GroupAttr": [{"key": "one_more", "value": "v" * 400}]}
    await fails(app, "modify_group_attr", over, ErrorCode.GROUP_ATTR_TOTAL_TOO_LARGE)
    assert [a["key"] for a in await attrs_of(app, gid)] == [f"big{i}" for i in range(4)]

    attr = [{"key": "k", "value": "v"}]
    for command in (
        "get_group_attr",
        "modify_group_attr",
        "set_group_attr",
        "delete_group_attr",
        "clear_group_attr",
    ):
        body = {"GroupAttr": attr}
        await fails(app, command, {**body, "GroupId": "@TGS#2NOSUCHGRP"}, ErrorCode.GROUP_NOT_FOUND)
        await fails(app, command, {**body, "GroupId": "g" * 49}, ErrorCode.GROUP_INVALID_ID)
    # Attributes serve Community groups, except clear_group_attr (Tencent's table).
    community = await create(app, "Community")
    await ok(app, "modify_group_attr", {"GroupId": community, "GroupAttr": attr})
    assert await attrs_of(app, community) == attr
    await fails(app, "clear_group_attr", {"GroupId": community}, ErrorCode.GROUP_NO_PERMISSION)


async def test_destroying_a_group_drops_its_counters_and_attrs(app: AppUnderTest) -> None:
    gid = await create(app, "Public", GroupId="kv_destroyed")
    counter = {"GroupId": gid, "GroupCounter": [{"Key": "like", "Value": 5}]}
    await ok(app, "update_group_counter", counter)
    await ok(app, "set_group_attr", {"GroupId": gid, "GroupAttr": [{"key": "k", "value": "v"}]})
    await ok(app, "destroy_group", {"GroupId": gid})
    await fails(app, "get_group_attr", {"GroupId": gid}, ErrorCode.GROUP_NOT_FOUND, ATTR_SVC)
    await fails(app, "get_group_counter", {"GroupId": gid}, ErrorCode.GROUP_NOT_FOUND)
    # The same ID, created again, starts with none.
    assert await create(app, "Public", GroupId="kv_destroyed") == gid
    assert await counters_of(app, gid) == []
    assert await attrs_of(app, gid) == []
