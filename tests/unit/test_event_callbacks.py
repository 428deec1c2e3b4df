"""Event and recall after-callback bodies, field by field against Tencent's callback reference;
the gateway's event helpers and its reading of before-callback answers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from services.callback.after import (
    C2C_WITHDRAW,
    EVENT_ID_FIELD,
    GROUP_RECALL,
    after_command,
    group_recall_body,
    withdraw_body,
)
from services.callback.events import SHAPES, event_body, event_command
from services.common import events
from services.common.callback_config import BEFORE_EVENTS, COMMANDS
from services.common.pb.tidings.v1.envelope_pb2 import (
    CHAT_TYPE_C2C,
    CHAT_TYPE_GROUP,
    MESSAGE_KIND_MESSAGE,
    MESSAGE_KIND_MODIFY,
    MESSAGE_KIND_RECALL,
    Event,
    Message,
)
from services.gateway.before_events import friend_refusals, refused_members
from services.gateway.events import (
    KICKED_CLOSURE,
    NORMAL_CLOSURE,
    closed_state,
    state_payload,
)

APP = 1400000001
T_MS = 1_700_000_000_123


def event(kind: str, payload: dict[str, Any]) -> Event:
    e = events.new_event(APP, kind, payload, client_ip="203.0.113.9", now_ms=T_MS)
    e.event_id = "e1"
    return e


def body(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    b = event_body(event(kind, payload))
    command = SHAPES[kind].command
    assert b.pop("CallbackCommand") == command
    assert b.pop("EventTime") == T_MS
    assert b.pop(EVENT_ID_FIELD) == f"{APP}:e1:{command}"
    return b


def test_every_after_command_but_sends_has_a_builder() -> None:
    built = {s.command for s in SHAPES.values()} | {C2C_WITHDRAW, GROUP_RECALL}
    sends = {
        "C2C.CallbackBeforeSendMsg",
        "C2C.CallbackAfterSendMsg",
        "Group.CallbackBeforeSendMsg",
        "Group.CallbackAfterSendMsg",
    }
    assert built == set(COMMANDS) - sends - set(BEFORE_EVENTS)
    assert set(SHAPES) == set(events.KINDS)


def test_group_created() -> None:
    payload = {
        "GroupId": "@TGS#1",
        "Type": "Public",
        "Operator_Account": "admin",
        "Owner_Account": "leckie",
        "Name": "MyFirstGroup",
        "MemberList": events.members(["leckie", "bob"]),
        "UserDefinedDataList": events.defined_data({"k": "v"}),
    }
    assert body(events.GROUP_CREATED, payload) == {
        **payload,
        "MemberList": [{"Member_Account": "leckie"}, {"Member_Account": "bob"}],
        "UserDefinedDataList": [{"Key": "k", "Value": "v"}],
    }


def test_group_destroyed() -> None:
    payload = {
        "GroupId": "@TGS#1",
        "Type": "Public",
        "Owner_Account": "leckie",
        "Name": "g",
        "MemberList": events.members(["leckie"]),
    }
    assert body(events.GROUP_DESTROYED, payload) == payload
    community = {k: v for k, v in payload.items() if k != "MemberList"} | {"Type": "Community"}
    assert body(events.GROUP_DESTROYED, community) == community


def test_group_info_changed_names_only_what_changed() -> None:
    base = {"GroupId": "@TGS#1", "Type": "Public", "Operator_Account": "admin"}
    assert body(events.GROUP_INFO_CHANGED, {**base, "Notification": "n"}) == {
        **base,
        "Notification": "n",
    }
    full = {**base, "Name": "a", "Introduction": "b", "Notification": "c", "FaceUrl": "http://f"}
    assert body(events.GROUP_INFO_CHANGED, full) == full
    # Only the four fields Tencent names: others in a payload are not passed on.
    assert body(events.GROUP_INFO_CHANGED, {**base, "MuteAllMember": "On"}) == base


def test_member_join_exit_and_full() -> None:
    joined = {
        "GroupId": "@TGS#1",
        "Type": "Public",
        "JoinType": events.JOIN_INVITED,
        "Operator_Account": "admin",
        "NewMemberList": events.members(["jared"]),
    }
    assert body(events.GROUP_MEMBERS_JOINED, joined) == joined
    exited = {
        "GroupId": "@TGS#1",
        "Type": "Public",
        "ExitType": events.EXIT_KICKED,
        "Operator_Account": "admin",
        "ExitMemberList": events.members(["jared"]),
    }
    assert body(events.GROUP_MEMBERS_EXITED, exited) == exited
    assert body(events.GROUP_FULL, {"GroupId": "@TGS#1"}) == {"GroupId": "@TGS#1"}


def test_sns_bodies() -> None:
    added = {
        "PairList": [{"From_Account": "id", "To_Account": "id1", "Initiator_Account": "id"}],
        "ClientCmd": "friend_add",
        "Admin_Account": "admin",
        "ForceFlag": 1,
    }
    assert body(events.FRIENDS_ADDED, added) == added
    pair_list = {"PairList": events.pairs("id", ["id1", "id2"])}
    assert pair_list["PairList"][1] == {"From_Account": "id", "To_Account": "id2"}
    for kind in (events.FRIENDS_DELETED, events.BLOCKLIST_ADDED, events.BLOCKLIST_DELETED):
        assert body(kind, pair_list) == pair_list


def test_profile_state_and_read() -> None:
    profile = {
        "Operator_Account": "admin",
        "From_Account": "id1",
        "ProfileItem": [{"Tag": "Tag_Profile_IM_Nick", "Value": "nick1"}],
    }
    assert body(events.PROFILE_SET, profile) == profile
    login = state_payload("u1", events.STATE_LOGIN, events.REASON_REGISTER, ["Android"])
    assert body(events.STATE_CHANGED, login) == {
        "Info": {"Action": "Login", "To_Account": "u1", "Reason": "Register"},
        "KickedDevice": [{"Platform": "Android"}],
    }
    logout = state_payload("u1", events.STATE_LOGOUT, events.REASON_UNREGISTER)
    assert body(events.STATE_CHANGED, logout) == {
        "Info": {"Action": "Logout", "To_Account": "u1", "Reason": "Unregister"}
    }
    read = {
        "Report_Account": "jared",
        "Peer_Account": "Jonh",
        "LastReadTime": 1614754606,
        "UnreadMsgNum": 7,
    }
    assert body(events.C2C_READ, read) == read


def test_a_missing_required_field_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks Type"):
        event_body(event(events.GROUP_CREATED, {"GroupId": "g"}))


def test_other_kinds_are_not_callbacks() -> None:
    job = Event(schema_version=1, sdkappid=APP, event_id="t", kind="all_member_push")
    assert event_command(job) is None
    with pytest.raises(ValueError):
        events.new_event(APP, "nope", {})


def test_event_carries_where_it_came_from() -> None:
    e = events.new_event(APP, events.GROUP_FULL, {"GroupId": "g"}, platform="RESTAPI")
    assert (e.kind, e.platform, orjson.loads(e.payload_json)) == (
        events.GROUP_FULL,
        "RESTAPI",
        {"GroupId": "g"},
    )
    assert events.event_key(APP, "g") == f"{APP}:g".encode()


def recall(chat_type: int) -> Message:
    return Message(
        sdkappid=APP,
        conversation="c",
        chat_type=chat_type,
        kind=MESSAGE_KIND_RECALL,
        seq=7,
        server_time_ms=T_MS,
        sender="jared",
        to_user="Jonh",
        group_id="@TGS#1" if chat_type == CHAT_TYPE_GROUP else "",
        target_msg_key="123_7_1700000000",
    )


def test_recall_commands() -> None:
    assert after_command(recall(CHAT_TYPE_C2C)) == C2C_WITHDRAW
    assert after_command(recall(CHAT_TYPE_GROUP)) == GROUP_RECALL
    modify = Message(kind=MESSAGE_KIND_MODIFY, chat_type=CHAT_TYPE_C2C)
    assert after_command(modify) is None
    assert (
        after_command(Message(kind=MESSAGE_KIND_MESSAGE, chat_type=CHAT_TYPE_C2C, silent=True))
        is None
    )


def test_withdraw_body() -> None:
    assert withdraw_body(recall(CHAT_TYPE_C2C), "id", 3) == {
        "CallbackCommand": C2C_WITHDRAW,
        "From_Account": "jared",
        "To_Account": "Jonh",
        "MsgKey": "123_7_1700000000",
        "UnreadMsgNum": 3,
        "EventTime": T_MS,
        EVENT_ID_FIELD: "id",
    }


def test_group_recall_body() -> None:
    assert group_recall_body(recall(CHAT_TYPE_GROUP), "Public", "id") == {
        "CallbackCommand": GROUP_RECALL,
        "GroupId": "@TGS#1",
        "Type": "Public",
        "Operator_Account": "jared",
        "MsgSeqList": [{"MsgSeq": 7}],
        "EventTime": T_MS,
        EVENT_ID_FIELD: "id",
    }


def test_closed_state() -> None:
    assert closed_state(NORMAL_CLOSURE) == ("Logout", "Unregister")
    assert closed_state(1006) == ("Disconnect", "LinkClose")
    assert closed_state(None) == ("Disconnect", "LinkClose")
    assert closed_state(KICKED_CLOSURE) is None


def test_before_answers() -> None:
    assert refused_members({"RefusedMembers_Account": ["a", 3, "b"]}) == {"a", "b"}
    assert refused_members({"ErrorCode": 0}) == set()
    answer = {
        "ResultItem": [
            {"To_Account": "ok", "ResultCode": 0, "ResultInfo": ""},
            {"To_Account": "no", "ResultCode": 38001, "ResultInfo": "not now"},
            {"To_Account": "odd", "ResultCode": True},
            "junk",
        ]
    }
    assert friend_refusals(answer) == {"no": (38001, "not now")}
