"""Community topics through the running stack: Tencent's request examples for create_topic,
get_topic, modify_topic, destroy_topic and import_topic, messages sent to and read from a
topic, and the documented error codes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.common import conversation
from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.conftest import AppUnderTest, new_app

pytestmark = pytest.mark.stack


@pytest.fixture
async def app(stack: Stack) -> AppUnderTest:
    """Communities and topics are off until the console turns them on (Tencent's default)."""
    return await new_app(stack, community=True, community_topics=True)


SVC = "million_group_open_http_svc"
GROUP_SVC = "group_open_http_svc"


async def ok(app: AppUnderTest, command: str, body: Any, service: str = SVC) -> dict[str, Any]:
    reply = await app.rest(service, command, body)
    assert (reply["ActionStatus"], reply["ErrorCode"], reply["ErrorInfo"]) == ("OK", 0, ""), reply
    return reply


async def fails(app: AppUnderTest, command: str, body: Any, code: int, service: str = SVC) -> None:
    reply = await app.rest(service, command, body)
    assert reply["ActionStatus"] == "FAIL" and reply["ErrorCode"] == code, (body, reply)
    assert reply["ErrorInfo"], reply


async def community(app: AppUnderTest, **body: Any) -> str:
    reply = await ok(
        app,
        "create_group",
        {"Type": "Community", "Name": "c", "Owner_Account": "leckie", **body},
        GROUP_SVC,
    )
    gid = str(reply["GroupId"])
    await ok(
        app,
        "add_group_member",
        # Silence: no group tip before the test's own messages.
        {"GroupId": gid, "Silence": 1, "MemberList": [{"Member_Account": "peter"}]},
        GROUP_SVC,
    )
    return gid


def text(t: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": t}}]


async def topics_of(app: AppUnderTest, gid: str, **body: Any) -> list[dict[str, Any]]:
    reply = await ok(app, "get_topic", {"GroupId": gid, "From_Account": "peter", **body})
    return reply["TopicAndSelfInfo"]  # type: ignore[no-any-return]


async def test_topic_lifecycle_golden(app: AppUnderTest) -> None:
    await app.put_accounts("leckie", "peter")
    gid = await community(app, SupportTopic=1)

    # Tencent's basic example: only GroupId and TopicName; the ID is generated.
    generated = (await ok(app, "create_topic", {"GroupId": gid, "TopicName": "TestTopic"}))[
        "TopicId"
    ]
    assert generated.startswith(gid + "@TOPIC#_@TOPIC#")
    # Tencent's full example, with a custom ID.
    custom = gid + "@TOPIC#_TestTopic"
    created = await ok(
        app,
        "create_topic",
        {
            "GroupId": gid,
            "TopicId": custom,
            "TopicName": "TestTopic",
            "From_Account": "leckie",
            "CustomString": "This is a custom string",
            "FaceUrl": "http://this.is.face.url",
            "Notification": "This is topic Notification",
            "Introduction": "This is topic Introduction",
        },
    )
    assert created["TopicId"] == custom
    await fails(
        app,
        "create_topic",
        {"GroupId": gid, "TopicId": custom, "TopicName": "again"},
        ErrorCode.GROUP_ID_IN_USE,
    )

    # Every topic, oldest first, with the named member's own info.
    listed = await topics_of(app, gid)
    assert [i["TopicInfo"]["TopicId"] for i in listed] == [generated, custom]
    item = listed[1]
    assert (item["ErrorCode"], item["ErrorInfo"]) == (0, "")
    info = item["TopicInfo"]
    assert info["CreateTime"] > 0
    assert info == {
        "TopicName": "TestTopic",
        "GroupID": gid,
        "FaceUrl": "http://this.is.face.url",
        "TopicId": custom,
        "NextMsgSeq": 1,
        "Notification": "This is topic Notification",
        "Introduction": "This is topic Introduction",
        "CreateTime": info["CreateTime"],
        "LastMsgTime": 0,
        "ShutUpAllFlag": 0,
        "CustomString": "This is a custom string",
    }
    assert item["SelfInfo"] == {"ShutUpTime": 0, "MsgSeq": 0, "MsgFlag": "AcceptAndNotify"}

    # Tencent's modify example (and MuteAllMember), read back.
    await ok(
        app,
        "modify_topic",
        {
            "GroupId": gid,
            "TopicId": custom,
            "TopicName": "TestTopicName",
            "Notification": "Notification",
            "MuteAllMember": "On",
        },
    )
    missing = gid + "@TOPIC#_nope"
    named = await topics_of(
        app,
        gid,
        TopicIdList=[custom, missing],
        ResponseFilter=["TopicName", "Notification", "ShutUpAllFlag"],
    )
    assert named[0]["TopicInfo"] == {
        "TopicName": "TestTopicName",
        "TopicId": custom,
        "Notification": "Notification",
        "ShutUpAllFlag": 1,
    }
    assert (named[1]["ErrorCode"], named[1]["TopicInfo"]) == (
        ErrorCode.GROUP_NOT_FOUND,
        {"TopicId": missing},
    )

    # Tencent's destroy example: one topic that exists, one that does not.
    destroyed = await ok(
        app, "destroy_topic", {"GroupId": gid, "TopicIdList": [custom, custom + "_1"]}
    )
    assert destroyed["DestroyResultItem"] == [
        {"ErrorCode": 0, "ErrorInfo": "", "TopicId": custom},
        {
            "ErrorCode": ErrorCode.TOPIC_ALREADY_DESTROYED,
            "ErrorInfo": destroyed["DestroyResultItem"][1]["ErrorInfo"],
            "TopicId": custom + "_1",
        },
    ]
    assert [i["TopicInfo"]["TopicId"] for i in await topics_of(app, gid)] == [generated]

    # Tencent's import example, under group_open_http_svc, keeps its CreateTime.
    imported = await ok(
        app,
        "import_topic",
        {
            "Type": "Community",
            "GroupId": gid,
            "TopicName": "test_topic3",
            "CreateTime": 1448357837,
            "Introduction": "intro",
            "Notification": "notice",
        },
        GROUP_SVC,
    )
    (got,) = await topics_of(app, gid, TopicIdList=[imported["TopicId"]])
    assert got["TopicInfo"]["CreateTime"] == 1448357837
    assert got["TopicInfo"]["Introduction"] == "intro"

    # Destroying the Community drops its topics.
    await ok(app, "destroy_group", {"GroupId": gid}, GROUP_SVC)
    async with app.stores() as stores:
        assert await stores.group_topics.list_topics(app.sdkappid, gid) == []


async def test_topic_messages_have_their_own_conversation(app: AppUnderTest) -> None:
    await app.put_accounts("leckie", "peter")
    gid = await community(app, SupportTopic=1)
    topic = gid + "@TOPIC#_chat"
    await ok(app, "create_topic", {"GroupId": gid, "TopicId": topic, "TopicName": "chat"})
    peter = await app.connect("peter")
    try:
        sent = await ok(
            app,
            "send_group_msg",
            {
                "GroupId": gid,
                "TopicId": topic,
                "From_Account": "leckie",
                "Random": 11,
                "MsgBody": text("in the topic"),
            },
            GROUP_SVC,
        )
        # The topic's seqs are its own: the group's first message is seq 1 too.
        in_group = await ok(
            app,
            "send_group_msg",
            {"GroupId": gid, "From_Account": "leckie", "Random": 12, "MsgBody": text("group")},
            GROUP_SVC,
        )
        assert sent["MsgSeq"] == in_group["MsgSeq"] == 1

        # A member gets the topic's message live, in the topic's conversation.
        async def first_two() -> list[Any]:
            got = []
            async for m in peter.messages():
                got.append(m)
                if len(got) == 2:
                    return got
            return got

        pushed = await asyncio.wait_for(first_two(), 30)
        by_text = {m.text: m for m in pushed}
        assert by_text["in the topic"].conversation == conversation.topic(gid, topic)
        assert by_text["in the topic"].group == gid
        assert by_text["group"].conversation == conversation.group(gid)
    finally:
        await peter.close()

    history = await ok(
        app,
        "group_msg_get_simple",
        {"GroupId": gid, "TopicId": topic, "ReqMsgNumber": 10},
        GROUP_SVC,
    )
    assert [(m["MsgSeq"], m["MsgBody"]) for m in history["RspMsgList"]] == [
        (1, text("in the topic"))
    ]
    group_history = await ok(
        app, "group_msg_get_simple", {"GroupId": gid, "ReqMsgNumber": 10}, GROUP_SVC
    )
    assert [m["MsgBody"] for m in group_history["RspMsgList"]] == [text("group")]

    (item,) = await topics_of(app, gid)
    assert item["TopicInfo"]["NextMsgSeq"] == 2
    assert item["TopicInfo"]["LastMsgTime"] == sent["MsgTime"]

    # An edit with TopicId reaches the topic's seq 1, not the group's.
    await ok(
        app,
        "modify_group_msg",
        {"GroupId": gid, "TopicId": topic, "MsgSeq": 1, "MsgBody": text("edited")},
        "openim",
    )
    edited = await ok(
        app,
        "group_msg_get_simple",
        {"GroupId": gid, "TopicId": topic, "ReqMsgNumber": 1},
        GROUP_SVC,
    )
    assert edited["RspMsgList"][0]["MsgBody"] == text("edited")
    # A recall with TopicId reaches the topic's seq 1, not the group's.
    recalled = await ok(
        app,
        "group_msg_recall",
        {"GroupId": gid, "TopicId": topic, "MsgSeqList": [{"MsgSeq": 1}]},
        GROUP_SVC,
    )
    assert recalled["RecallRetList"] == [{"MsgSeq": 1, "RetCode": 0}]
    after = await ok(
        app,
        "group_msg_get_simple",
        {"GroupId": gid, "TopicId": topic, "ReqMsgNumber": 1},
        GROUP_SVC,
    )
    assert after["RspMsgList"][0]["IsPlaceMsg"] == 1
    group_after = await ok(
        app, "group_msg_get_simple", {"GroupId": gid, "ReqMsgNumber": 1}, GROUP_SVC
    )
    assert group_after["RspMsgList"][0]["IsPlaceMsg"] == 0
    assert group_after["RspMsgList"][0]["MsgBody"] == text("group")


async def test_topic_errors(app: AppUnderTest) -> None:
    await app.put_accounts("leckie", "peter")
    gid = await community(app, SupportTopic=1)
    plain = await community(app)
    public = (
        await ok(
            app,
            "create_group",
            {"Type": "Public", "Name": "p", "Owner_Account": "leckie"},
            GROUP_SVC,
        )
    )["GroupId"]
    unsupported = ErrorCode.GROUP_TOPICS_UNSUPPORTED
    for group_id in (plain, public):
        await fails(app, "create_topic", {"GroupId": group_id, "TopicName": "t"}, unsupported)
        await fails(app, "get_topic", {"GroupId": group_id, "From_Account": "peter"}, unsupported)
        await fails(
            app,
            "group_msg_get_simple",
            {"GroupId": group_id, "TopicId": group_id + "@TOPIC#_t", "ReqMsgNumber": 1},
            ErrorCode.GROUP_INVALID_PARAM,
            GROUP_SVC,
        )
    await fails(
        app, "create_topic", {"GroupId": "@TGS#_nope", "TopicName": "t"}, ErrorCode.GROUP_NOT_FOUND
    )
    bad = ErrorCode.GROUP_INVALID_PARAM
    await fails(app, "create_topic", {"GroupId": gid}, bad)
    await fails(app, "create_topic", {"GroupId": gid, "TopicName": "x" * 31}, bad)
    await fails(app, "create_topic", {"GroupId": gid, "TopicName": "t", "TopicId": "mine"}, bad)
    await fails(
        app,
        "create_topic",
        {"GroupId": gid, "TopicName": "t", "TopicId": gid + "@TOPIC#_@TOPIC#x"},
        bad,
    )
    await fails(
        app,
        "create_topic",
        {"GroupId": gid, "TopicName": "t", "Introduction": "x" * 241},
        bad,
    )
    await fails(
        app,
        "create_topic",
        {"GroupId": gid, "TopicName": "t", "From_Account": "stranger"},
        ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
    )
    await fails(app, "get_topic", {"GroupId": gid}, bad)
    await fails(app, "destroy_topic", {"GroupId": gid, "TopicIdList": []}, bad)
    await fails(
        app,
        "modify_topic",
        {"GroupId": gid, "TopicId": gid + "@TOPIC#_nope", "TopicName": "n"},
        ErrorCode.GROUP_NOT_FOUND,
    )
    await fails(
        app,
        "modify_topic",
        {"GroupId": gid, "TopicId": gid + "@TOPIC#_nope", "MuteAllMember": "Maybe"},
        bad,
    )
    await fails(
        app,
        "send_group_msg",
        {
            "GroupId": gid,
            "TopicId": gid + "@TOPIC#_nope",
            "From_Account": "leckie",
            "Random": 1,
            "MsgBody": text("x"),
        },
        ErrorCode.GROUP_NOT_FOUND,
        GROUP_SVC,
    )
    await fails(
        app,
        "import_topic",
        {"Type": "Public", "GroupId": gid, "TopicName": "t"},
        bad,
        GROUP_SVC,
    )
    # Nothing was created by the refused requests.
    assert await topics_of(app, gid) == []
