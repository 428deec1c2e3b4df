"""Every Tencent callback command other than the four send ones, against the running stack and a
real app server: each is triggered through REST (or the SDK), and its query string (SdkAppid,
CallbackCommand, contenttype, ClientIP, OptPlatform, Sign, RequestTime) and body fields are
checked. Before-callbacks that refuse give Tencent's codes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect

from services.common.errors import ErrorCode
from services.embedded.stack import Stack
from tests.callback_app_server import AppServer, Hit, answer
from tests.conftest import AppUnderTest, eventually, new_app
from tests.e2e.test_callbacks import TOKEN, check_signed_query, server, text
from tidings_client import Client, Message, TidingsClientError

pytestmark = pytest.mark.stack

__all__ = ["server"]

# The events consumer may still be joining its group when the first test runs.
ARRIVAL_S = 60.0


async def callback_app(stack: Stack, app_server: AppServer, **config: Any) -> AppUnderTest:
    """An app whose callbacks (all commands unless `config` says otherwise) go to app_server
    from its creation on, so no cached copy of the app lacks them."""
    callback = {"url": app_server.url, "token": TOKEN, "commands": "all", **config}
    return await new_app(stack, callback=callback)


async def arrival(app_server: AppServer, app: AppUnderTest, command: str, count: int = 1) -> Hit:
    """The latest of at least `count` hits of `command`, checked for its signed query."""

    async def check() -> list[Hit] | None:
        hits = app_server.of(command, app.sdkappid)
        return hits if len(hits) >= count else None

    hits = await eventually(check, timeout=ARRIVAL_S)
    assert hits, f"{command} did not arrive"
    hit: Hit = hits[-1]
    check_signed_query(hit, app, command)
    assert hit.body["CallbackCommand"] == command
    assert isinstance(hit.body["EventTime"], int)
    return hit


def rest_origin(hit: Hit) -> None:
    assert (hit.query["ClientIP"], hit.query["OptPlatform"]) == ("127.0.0.1", "RESTAPI")


def without_meta(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in body.items() if k not in ("CallbackCommand", "EventTime", "TidingsEventId")
    }


async def first_c2c(client: Client) -> Message:
    async for m in client.messages():
        if not m.group:
            return m
    raise AssertionError("the connection closed")


def members(*users: str) -> list[dict[str, str]]:
    return [{"Member_Account": u} for u in users]


async def group_cmd(app: AppUnderTest, command: str, body: dict[str, Any]) -> dict[str, Any]:
    return await app.rest("group_open_http_svc", command, body)


async def test_group_lifecycle_callbacks(stack: Stack, server: AppServer) -> None:
    app = await callback_app(stack, server)
    await app.import_accounts("leckie", "bob", "carol", "dave")

    created = await group_cmd(
        app,
        "create_group",
        {
            "Owner_Account": "leckie",
            "Type": "Public",
            "Name": "MyFirstGroup",
            "MaxMemberCount": 3,
            "MemberList": members("bob"),
        },
    )
    assert created["ErrorCode"] == 0, created
    group_id = created["GroupId"]

    before = await arrival(server, app, "Group.CallbackBeforeCreateGroup")
    rest_origin(before)
    assert without_meta(before.body) == {
        "Operator_Account": "administrator",
        "Owner_Account": "leckie",
        "Type": "Public",
        "Name": "MyFirstGroup",
        "CreateGroupNum": 0,
        "MemberList": members("bob"),
    }
    after = await arrival(server, app, "Group.CallbackAfterCreateGroup")
    rest_origin(after)
    assert without_meta(after.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "Operator_Account": "administrator",
        "Owner_Account": "leckie",
        "Name": "MyFirstGroup",
        "MemberList": members("leckie", "bob"),
        "UserDefinedDataList": [],
    }
    assert after.body["TidingsEventId"].startswith(f"{app.sdkappid}:")

    changed = await group_cmd(
        app,
        "modify_group_base_info",
        {"GroupId": group_id, "Name": "Renamed", "Notification": "read me"},
    )
    assert changed["ErrorCode"] == 0, changed
    info = await arrival(server, app, "Group.CallbackAfterGroupInfoChanged")
    assert without_meta(info.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "Operator_Account": "administrator",
        "Name": "Renamed",
        "Notification": "read me",
    }

    added = await group_cmd(
        app, "add_group_member", {"GroupId": group_id, "MemberList": members("carol")}
    )
    assert added["MemberList"] == [{"Member_Account": "carol", "Result": 1}], added
    invite = await arrival(server, app, "Group.CallbackBeforeInviteJoinGroup")
    rest_origin(invite)
    assert without_meta(invite.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "Operator_Account": "administrator",
        "DestinationMembers": members("carol"),
    }
    joined = await arrival(server, app, "Group.CallbackAfterNewMemberJoin")
    assert without_meta(joined.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "JoinType": "Invited",
        "Operator_Account": "administrator",
        "NewMemberList": members("carol"),
    }
    full = await arrival(server, app, "Group.CallbackAfterGroupFull")
    rest_origin(full)
    assert without_meta(full.body) == {"GroupId": group_id}
    # A join refused because the group is full calls it again (Tencent).
    overflow = await group_cmd(
        app, "add_group_member", {"GroupId": group_id, "MemberList": members("dave")}
    )
    assert overflow["ErrorCode"] == ErrorCode.GROUP_FULL, overflow
    await arrival(server, app, "Group.CallbackAfterGroupFull", count=2)

    removed = await group_cmd(
        app, "delete_group_member", {"GroupId": group_id, "MemberToDel_Account": ["carol"]}
    )
    assert removed["ErrorCode"] == 0, removed
    exited = await arrival(server, app, "Group.CallbackAfterMemberExit")
    assert without_meta(exited.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "ExitType": "Kicked",
        "Operator_Account": "administrator",
        "ExitMemberList": members("carol"),
    }

    posted = await group_cmd(
        app,
        "send_group_msg",
        {"GroupId": group_id, "From_Account": "bob", "Random": 5, "MsgBody": text("oops")},
    )
    seq = posted["MsgSeq"]

    async def archived() -> bool:
        r = await group_cmd(
            app, "group_msg_get_simple", {"GroupId": group_id, "ReqMsgNumber": 1, "ReqMsgSeq": seq}
        )
        return bool(r["RspMsgList"][0]["IsPlaceMsg"] == 0)

    assert await archived()
    recalled = await group_cmd(
        app, "group_msg_recall", {"GroupId": group_id, "MsgSeqList": [{"MsgSeq": seq}]}
    )
    assert recalled["RecallRetList"] == [{"MsgSeq": seq, "RetCode": 0}], recalled
    recall = await arrival(server, app, "Group.CallbackAfterRecallMsg")
    rest_origin(recall)
    assert without_meta(recall.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "Operator_Account": "bob",
        "MsgSeqList": [{"MsgSeq": seq}],
    }

    destroyed = await group_cmd(app, "destroy_group", {"GroupId": group_id})
    assert destroyed["ErrorCode"] == 0, destroyed
    gone = await arrival(server, app, "Group.CallbackAfterGroupDestroyed")
    rest_origin(gone)
    assert without_meta(gone.body) == {
        "GroupId": group_id,
        "Type": "Public",
        "Owner_Account": "leckie",
        "Name": "Renamed",
        "MemberList": members("leckie", "bob"),
    }


async def sns(app: AppUnderTest, command: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = await app.rest("sns", command, body)
    assert reply["ErrorCode"] == 0, reply
    return reply


async def test_relationship_callbacks(stack: Stack, server: AppServer) -> None:
    app = await callback_app(stack, server)
    await app.import_accounts("id", "id1", "id2")

    await sns(
        app,
        "friend_add",
        {
            "From_Account": "id",
            "AddFriendItem": [
                {
                    "To_Account": "id1",
                    "Remark": "remark1",
                    "GroupName": "group1",
                    "AddSource": "AddSource_Type_Android",
                    "AddWording": "this is id1!",
                }
            ],
            "AddType": "Add_Type_Both",
            "ForceAddFlags": 1,
        },
    )
    prev = await arrival(server, app, "Sns.CallbackPrevFriendAdd")
    rest_origin(prev)
    assert without_meta(prev.body) == {
        "Requester_Account": "administrator",
        "From_Account": "id",
        "FriendItem": [
            {
                "To_Account": "id1",
                "Remark": "remark1",
                "GroupName": "group1",
                "AddSource": "AddSource_Type_Android",
                "AddWording": "this is id1!",
            }
        ],
        "AddType": "Add_Type_Both",
        "ForceAddFlags": 1,
    }
    added = await arrival(server, app, "Sns.CallbackFriendAdd")
    rest_origin(added)
    assert without_meta(added.body) == {
        "PairList": [
            {"From_Account": "id", "To_Account": "id1", "Initiator_Account": "id"},
            {"From_Account": "id1", "To_Account": "id", "Initiator_Account": "id"},
        ],
        "ClientCmd": "friend_add",
        "Admin_Account": "administrator",
        "ForceFlag": 1,
    }

    await sns(
        app,
        "friend_delete",
        {"From_Account": "id", "To_Account": ["id1"], "DeleteType": "Delete_Type_Both"},
    )
    deleted = await arrival(server, app, "Sns.CallbackFriendDelete")
    rest_origin(deleted)
    assert without_meta(deleted.body) == {
        "PairList": [
            {"From_Account": "id", "To_Account": "id1"},
            {"From_Account": "id1", "To_Account": "id"},
        ]
    }

    await sns(app, "black_list_add", {"From_Account": "id", "To_Account": ["id2"]})
    blocked = await arrival(server, app, "Sns.CallbackBlackListAdd")
    rest_origin(blocked)
    assert without_meta(blocked.body) == {"PairList": [{"From_Account": "id", "To_Account": "id2"}]}

    await sns(app, "black_list_delete", {"From_Account": "id", "To_Account": ["id2"]})
    unblocked = await arrival(server, app, "Sns.CallbackBlackListDelete")
    assert without_meta(unblocked.body) == {
        "PairList": [{"From_Account": "id", "To_Account": "id2"}]
    }


async def test_profile_read_report_and_withdraw_callbacks(stack: Stack, server: AppServer) -> None:
    app = await callback_app(stack, server)
    await app.import_accounts("jared", "Jonh")

    set_reply = await app.rest(
        "profile",
        "portrait_set",
        {
            "From_Account": "jared",
            "ProfileItem": [
                {"Tag": "Tag_Profile_IM_Nick", "Value": "nick1"},
                {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Male"},
            ],
        },
    )
    assert set_reply["ErrorCode"] == 0, set_reply
    portrait = await arrival(server, app, "Profile.CallbackPortraitSet")
    rest_origin(portrait)
    assert without_meta(portrait.body) == {
        "Operator_Account": "administrator",
        "From_Account": "jared",
        "ProfileItem": [
            {"Tag": "Tag_Profile_IM_Nick", "Value": "nick1"},
            {"Tag": "Tag_Profile_IM_Gender", "Value": "Gender_Type_Male"},
        ],
    }

    sent: list[dict[str, Any]] = []
    for words in ("one", "two"):
        if sent:
            # LastReadTime is in seconds: the second message must be in a later one.
            await asyncio.sleep(1.1)
        reply = await app.rest(
            "openim",
            "sendmsg",
            {"From_Account": "Jonh", "To_Account": "jared", "MsgRandom": 7, "MsgBody": text(words)},
        )
        assert reply["ErrorCode"] == 0, reply
        sent.append(reply)

    async def stored() -> bool:
        r = await app.rest("openim", "get_c2c_unread_msg_num", {"To_Account": "jared"})
        return bool(r.get("AllC2CUnreadMsgNum") == 2)

    assert await stored()
    read = await app.rest(
        "openim",
        "admin_set_msg_read",
        {"Report_Account": "jared", "Peer_Account": "Jonh", "MsgReadTime": sent[0]["MsgTime"]},
    )
    assert read["ErrorCode"] == 0, read
    report = await arrival(server, app, "C2C.CallbackAfterMsgReport")
    rest_origin(report)
    assert without_meta(report.body) == {
        "Report_Account": "jared",
        "Peer_Account": "Jonh",
        "LastReadTime": sent[0]["MsgTime"],
        "UnreadMsgNum": 1,
    }

    # The read one: jared's unread count (UnreadMsgNum) is 1 whether or not a recalled
    # message still counts.
    withdrawn = await app.rest(
        "openim",
        "admin_msgwithdraw",
        {"From_Account": "Jonh", "To_Account": "jared", "MsgKey": sent[0]["MsgKey"]},
    )
    assert withdrawn["ErrorCode"] == 0, withdrawn
    withdraw = await arrival(server, app, "C2C.CallbackAfterMsgWithDraw")
    rest_origin(withdraw)
    assert without_meta(withdraw.body) == {
        "From_Account": "Jonh",
        "To_Account": "jared",
        "MsgKey": sent[0]["MsgKey"],
        "UnreadMsgNum": 1,
    }


async def test_before_event_rejections(stack: Stack, server: AppServer) -> None:
    app = await callback_app(
        stack,
        server,
        commands=[
            "Group.CallbackBeforeCreateGroup",
            "Group.CallbackBeforeInviteJoinGroup",
            "Sns.CallbackPrevFriendAdd",
        ],
    )
    await app.import_accounts("owner", "m1", "m2", "m3")
    verdicts: dict[str, tuple[int, dict[str, Any]]] = {}

    def behaviour(hit: Hit) -> tuple[int, dict[str, Any]]:
        code, extra = verdicts.get(hit.body["CallbackCommand"], (0, {}))
        return answer(code, **extra)(hit)  # type: ignore[return-value]

    server.behaviour = behaviour

    verdicts["Group.CallbackBeforeCreateGroup"] = (1, {"ErrorInfo": "no more groups"})
    refused = await group_cmd(
        app, "create_group", {"Owner_Account": "owner", "Type": "Public", "Name": "g"}
    )
    assert (refused["ActionStatus"], refused["ErrorCode"]) == (
        "FAIL",
        ErrorCode.GROUP_CALLBACK_REJECTED,
    )
    assert refused["ErrorInfo"] == "no more groups"
    listed = await group_cmd(app, "get_appid_group_list", {})
    assert listed["TotalCount"] == 0

    verdicts["Group.CallbackBeforeCreateGroup"] = (0, {})
    created = await group_cmd(
        app, "create_group", {"Owner_Account": "owner", "Type": "Public", "Name": "g"}
    )
    group_id = created["GroupId"]

    # An invite answered ErrorCode 0 with RefusedMembers_Account keeps those out.
    verdicts["Group.CallbackBeforeInviteJoinGroup"] = (0, {"RefusedMembers_Account": ["m2"]})
    added = await group_cmd(
        app, "add_group_member", {"GroupId": group_id, "MemberList": members("m1", "m2")}
    )
    assert added["MemberList"] == [
        {"Member_Account": "m1", "Result": 1},
        {"Member_Account": "m2", "Result": 0},
    ], added
    verdicts["Group.CallbackBeforeInviteJoinGroup"] = (1, {})
    refused = await group_cmd(
        app, "add_group_member", {"GroupId": group_id, "MemberList": members("m3")}
    )
    assert refused["ErrorCode"] == ErrorCode.GROUP_CALLBACK_REJECTED, refused
    info = await group_cmd(app, "get_group_info", {"GroupIdList": [group_id]})
    in_group = {m["Member_Account"] for m in info["GroupInfo"][0]["MemberList"]}
    assert in_group == {"owner", "m1"}

    # A friend add refused per account carries the app server's ResultCode and ResultInfo.
    verdicts["Sns.CallbackPrevFriendAdd"] = (
        0,
        {"ResultItem": [{"To_Account": "m2", "ResultCode": 38001, "ResultInfo": "not allowed"}]},
    )
    reply = await app.rest(
        "sns",
        "friend_add",
        {
            "From_Account": "owner",
            "AddFriendItem": [
                {"To_Account": "m1", "AddSource": "AddSource_Type_Web"},
                {"To_Account": "m2", "AddSource": "AddSource_Type_Web"},
            ],
            "ForceAddFlags": 1,
        },
    )
    results = {i["To_Account"]: (i["ResultCode"], i["ResultInfo"]) for i in reply["ResultItem"]}
    assert results == {"m1": (0, ""), "m2": (38001, "not allowed")}, reply
    assert reply["Fail_Account"] == ["m2"]
    friends = await app.rest(
        "sns",
        "friend_check",
        {
            "From_Account": "owner",
            "To_Account": ["m1", "m2"],
            "CheckType": "CheckResult_Type_Single",
        },
    )
    relations = {i["To_Account"]: i["Relation"] for i in friends["InfoItem"]}
    assert relations == {"m1": "CheckResult_Type_AWithB", "m2": "CheckResult_Type_NoRelation"}


async def test_before_event_skipped_when_not_enabled(stack: Stack, server: AppServer) -> None:
    app = await callback_app(stack, server, commands=["Group.CallbackAfterCreateGroup"])
    await app.import_accounts("solo")
    created = await group_cmd(
        app, "create_group", {"Owner_Account": "solo", "Type": "Public", "Name": "g"}
    )
    assert created["ErrorCode"] == 0, created
    await arrival(server, app, "Group.CallbackAfterCreateGroup")
    assert not server.of("Group.CallbackBeforeCreateGroup", app.sdkappid)


def state_hits(app_server: AppServer, app: AppUnderTest, action: str) -> list[Hit]:
    return [
        h
        for h in app_server.of("State.StateChange", app.sdkappid)
        if h.body["Info"]["Action"] == action
    ]


async def state_arrival(app_server: AppServer, app: AppUnderTest, action: str) -> Hit:
    async def check() -> list[Hit]:
        return state_hits(app_server, app, action)

    hits = await eventually(check, timeout=ARRIVAL_S)
    assert hits, f"State.StateChange {action} did not arrive"
    hit: Hit = hits[-1]
    check_signed_query(hit, app, "State.StateChange")
    return hit


async def test_client_state_join_quit_and_read_callbacks(stack: Stack, server: AppServer) -> None:
    app = await callback_app(stack, server)
    await app.import_accounts("owner", "u1", "u2")
    created = await group_cmd(
        app,
        "create_group",
        {
            "Owner_Account": "owner",
            "Type": "Public",
            "Name": "open",
            "ApplyJoinOption": "FreeAccess",
            "MaxMemberCount": 2,
        },
    )
    group_id = created["GroupId"]

    u1 = Client(app.stack.ws_url, app.sdkappid, "u1", app.sig("u1"), reconnect=False)
    await u1.connect()
    try:
        login = await state_arrival(server, app, "Login")
        assert (login.query["ClientIP"], login.query["OptPlatform"]) == ("127.0.0.1", "Android")
        assert without_meta(login.body) == {
            "Info": {"Action": "Login", "To_Account": "u1", "Reason": "Register"}
        }

        assert await u1.join_group(group_id)
        apply = await arrival(server, app, "Group.CallbackBeforeApplyJoinGroup")
        assert (apply.query["ClientIP"], apply.query["OptPlatform"]) == ("127.0.0.1", "Android")
        assert without_meta(apply.body) == {
            "GroupId": group_id,
            "Type": "Public",
            "Requestor_Account": "u1",
        }
        joined = await arrival(server, app, "Group.CallbackAfterNewMemberJoin")
        assert joined.query["OptPlatform"] == "Android"
        assert without_meta(joined.body) == {
            "GroupId": group_id,
            "Type": "Public",
            "JoinType": "Apply",
            "Operator_Account": "u1",
            "NewMemberList": members("u1"),
        }
        full = await arrival(server, app, "Group.CallbackAfterGroupFull")
        assert without_meta(full.body) == {"GroupId": group_id}

        await u1.quit_group(group_id)
        exited = await arrival(server, app, "Group.CallbackAfterMemberExit")
        assert without_meta(exited.body) == {
            "GroupId": group_id,
            "Type": "Public",
            "ExitType": "Quit",
            "Operator_Account": "u1",
            "ExitMemberList": members("u1"),
        }

        sent = await app.rest(
            "openim",
            "sendmsg",
            {"From_Account": "owner", "To_Account": "u1", "MsgRandom": 3, "MsgBody": text("hi")},
        )
        assert sent["ErrorCode"] == 0, sent
        # The group tip of u1's join comes first if fan-out read the members before the quit.
        message = await asyncio.wait_for(first_c2c(u1), ARRIVAL_S)
        await u1.mark_read(message.conversation, message.seq)
        report = await arrival(server, app, "C2C.CallbackAfterMsgReport")
        assert report.query["OptPlatform"] == "Android"
        body = without_meta(report.body)
        assert abs(body.pop("LastReadTime") - time.time()) < 30
        assert body == {"Report_Account": "u1", "Peer_Account": "owner", "UnreadMsgNum": 0}
    finally:
        await u1.close()
    logout = await state_arrival(server, app, "Logout")
    assert without_meta(logout.body) == {
        "Info": {"Action": "Logout", "To_Account": "u1", "Reason": "Unregister"}
    }

    # A link that drops without a close is a Disconnect.
    raw = await ws_connect(app.stack.ws_url)
    await raw.send(
        json.dumps(
            {
                "op": "login",
                "id": 1,
                "sdkappid": app.sdkappid,
                "identifier": "u2",
                "usersig": app.sig("u2"),
                "platform": "Web",
            }
        )
    )
    assert json.loads(await raw.recv())["code"] == 0
    await eventually(lambda: _has_login(server, app, "u2"), timeout=ARRIVAL_S)
    raw.transport.abort()
    dropped = await state_arrival(server, app, "Disconnect")
    assert dropped.query["OptPlatform"] == "Web"
    assert without_meta(dropped.body) == {
        "Info": {"Action": "Disconnect", "To_Account": "u2", "Reason": "LinkClose"}
    }


async def _has_login(app_server: AppServer, app: AppUnderTest, user: str) -> bool:
    return any(h.body["Info"]["To_Account"] == user for h in state_hits(app_server, app, "Login"))


async def test_apply_join_rejected(stack: Stack, server: AppServer) -> None:
    app = await callback_app(stack, server, commands=["Group.CallbackBeforeApplyJoinGroup"])
    await app.import_accounts("owner", "u3")
    server.behaviour = answer(1, ErrorInfo="closed for now")
    created = await group_cmd(
        app,
        "create_group",
        {"Owner_Account": "owner", "Type": "Public", "Name": "g", "ApplyJoinOption": "FreeAccess"},
    )
    u3 = Client(app.stack.ws_url, app.sdkappid, "u3", app.sig("u3"), reconnect=False)
    await u3.connect()
    try:
        with pytest.raises(TidingsClientError) as err:
            await u3.join_group(created["GroupId"])
        assert err.value.code == ErrorCode.GROUP_CALLBACK_REJECTED
    finally:
        await u3.close()
    info = await group_cmd(app, "get_group_info", {"GroupIdList": [created["GroupId"]]})
    assert [m["Member_Account"] for m in info["GroupInfo"][0]["MemberList"]] == ["owner"]


async def test_before_event_fail_closed(stack: Stack, server: AppServer) -> None:
    app = await callback_app(
        stack,
        server,
        commands=["Group.CallbackBeforeCreateGroup"],
        timeout_s=0.5,
        fail_policy="closed",
    )
    await app.import_accounts("owner")
    server.behaviour = lambda _: None
    started = time.monotonic()
    refused = await group_cmd(
        app, "create_group", {"Owner_Account": "owner", "Type": "Public", "Name": "g"}
    )
    assert refused["ErrorCode"] == ErrorCode.CALLBACK_UNAVAILABLE, refused
    assert time.monotonic() - started < 5
    listed = await group_cmd(app, "get_appid_group_list", {})
    assert listed["TotalCount"] == 0


async def test_login_that_kicks_names_the_kicked_device(stack: Stack, server: AppServer) -> None:
    # Login mode 1: one device at a time.
    app = await new_app(
        stack,
        login={"mode": 1},
        callback={"url": server.url, "token": TOKEN, "commands": ["State.StateChange"]},
    )
    await app.import_accounts("dev")
    first = Client(app.stack.ws_url, app.sdkappid, "dev", app.sig("dev"), platform="Android")
    await first.connect()
    await state_arrival(server, app, "Login")
    second = Client(app.stack.ws_url, app.sdkappid, "dev", app.sig("dev"), platform="Web")
    await second.connect()
    third = Client(app.stack.ws_url, app.sdkappid, "dev", app.sig("dev"), platform="Web")
    try:

        async def kicked_login() -> list[Hit]:
            return [h for h in state_hits(server, app, "Login") if "KickedDevice" in h.body]

        (login,) = await eventually(kicked_login, timeout=ARRIVAL_S)
        assert login.query["OptPlatform"] == "Web"
        assert without_meta(login.body) == {
            "Info": {"Action": "Login", "To_Account": "dev", "Reason": "Register"},
            "KickedDevice": [{"Platform": "Android"}],
        }
        assert await eventually(lambda: _kicked(first), timeout=ARRIVAL_S)

        # The kicked session reports no Logout or Disconnect of its own. The gateway emits a
        # closed session's event before it drops the session from the registry, so once
        # querystate lists only the Web session, that event (had there been one) is queued.
        async def only_web() -> bool:
            reply = await app.rest(
                "openim", "querystate", {"IsNeedDetail": 1, "To_Account": ["dev"]}
            )
            return bool(reply["QueryResult"][0].get("Detail") == [WEB_ONLINE])

        assert await eventually(only_web, timeout=ARRIVAL_S)
        # Two markers of dev's (key app:dev, the same partition of im.events): the Logout of the
        # Web session, produced after it, arrives in its batch or a later one; a login made once
        # that Logout arrived is in a later batch still, and the callback service starts a batch
        # only when every post of the one before has been made. So once the second marker
        # arrives, any state callback of the kicked session has too.
        await second.close()
        logout = await state_arrival(server, app, "Logout")
        assert logout.query["OptPlatform"] == "Web"
        await third.connect()
        await eventually(lambda: _logins(server, app, 3), timeout=ARRIVAL_S)
        assert [h.query["OptPlatform"] for h in state_hits(server, app, "Logout")] == ["Web"]
        assert state_hits(server, app, "Disconnect") == []
    finally:
        await third.close()
        await second.close()
        await first.close()


WEB_ONLINE = {"Platform": "Web", "Status": "Online"}


async def _logins(app_server: AppServer, app: AppUnderTest, count: int) -> bool:
    return len(state_hits(app_server, app, "Login")) >= count


async def _kicked(c: Client) -> bool:
    return c.kicked is not None
