"""The pure rules of Community topics: topic IDs, profile fields, lists and reply shapes."""

from __future__ import annotations

from typing import Any

import pytest

from services.audit.archive import group_activity
from services.common import conversation
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import CHAT_TYPE_GROUP, Message
from services.common.store.group_topics import Topic, creation_order
from services.common.store.groups import COMMUNITY, PUBLIC, Group, Member
from services.gateway.rest_v4.group_topics import (
    MAX_TOPIC_ID_BYTES,
    MAX_TOPICS,
    check_custom_topic_id,
    destroy_result,
    generated_topic_id,
    parse_mute_all,
    profile_changes,
    require_topic_support,
    response_filter,
    self_info,
    topic_id_list,
    topic_info,
)

G = "@TGS#_@TGS#cQVLVHIM62CJ"


def code_of(call: Any) -> int:
    with pytest.raises(TidingsError) as caught:
        call()
    return int(caught.value.code)


def test_custom_topic_ids_follow_tencents_rules() -> None:
    check_custom_topic_id(G, G + "@TOPIC#_TestTopic")
    check_custom_topic_id(G, G + "@TOPIC#_with space ~")
    bad = [
        "TestTopic",  # not under the group
        G + "@TOPIC#_",  # no custom part
        "@TGS#_other@TOPIC#_TestTopic",  # another group's
        G + "@TOPIC#_caf\u00e9",  # not printable ASCII
        G + "@TOPIC#_x@TGS#_y",  # holds @TGS#_
        G + "@TOPIC#_@TOPIC#abc",  # looks generated
        G + "@TOPIC#_" + "x" * (MAX_TOPIC_ID_BYTES - len(G) - 7),  # 97 bytes
    ]
    for topic_id in bad:
        assert code_of(lambda t=topic_id: check_custom_topic_id(G, t)) == 10004, topic_id
    check_custom_topic_id(G, G + "@TOPIC#_" + "x" * (MAX_TOPIC_ID_BYTES - len(G) - 8))


def test_generated_ids_are_tencents_shape_and_differ() -> None:
    first, second = generated_topic_id(G), generated_topic_id(G)
    assert first.startswith(G + "@TOPIC#_@TOPIC#c") and first != second
    assert len(first) == len(G) + len("@TOPIC#_@TOPIC#c") + 12
    assert len(first.encode()) <= MAX_TOPIC_ID_BYTES


def test_topic_conversations_are_apart_from_groups() -> None:
    topic_conv = conversation.topic(G, G + "@TOPIC#_t")
    assert topic_conv != conversation.group(G)
    assert conversation.parts(topic_conv) == ["topic", G, G + "@TOPIC#_t"]
    assert conversation.topic("a:b", "c") != conversation.topic("a", "b:c")


def test_profile_fields_and_limits() -> None:
    assert profile_changes({"FaceUrl": "u", "CustomString": "", "Other": 1}) == {
        "face_url": "u",
        "custom_string": "",
    }
    assert profile_changes({"Notification": None}) == {}
    assert profile_changes({"Introduction": "x" * 240}) == {"introduction": "x" * 240}
    assert code_of(lambda: profile_changes({"Introduction": "x" * 241})) == 10004
    assert code_of(lambda: profile_changes({"FaceUrl": 5})) == 10004
    assert parse_mute_all({"MuteAllMember": "On"}) is True
    assert parse_mute_all({"MuteAllMember": "Off"}) is False
    assert parse_mute_all({}) is None
    assert code_of(lambda: parse_mute_all({"MuteAllMember": ["On"]})) == 10004


def test_topic_id_lists() -> None:
    assert topic_id_list({}, required=False) is None
    assert topic_id_list({"TopicIdList": ["b", "a", "b"]}, required=True) == ["b", "a"]
    assert code_of(lambda: topic_id_list({}, required=True)) == 10004
    assert code_of(lambda: topic_id_list({"TopicIdList": []}, required=True)) == 10004
    assert code_of(lambda: topic_id_list({"TopicIdList": [""]}, required=False)) == 10004
    many = {"TopicIdList": [str(i) for i in range(MAX_TOPICS + 1)]}
    assert code_of(lambda: topic_id_list(many, required=False)) == 10004
    assert response_filter({"ResponseFilter": ["TopicName"]}) == ["TopicName"]
    assert code_of(lambda: response_filter({"ResponseFilter": "TopicName"})) == 10004


def test_reply_shapes() -> None:
    t = Topic(G + "@TOPIC#_t", "name", face_url="f", mute_all=True, create_time=7)
    assert topic_info(G, t, 3, 9, None) == {
        "TopicName": "name",
        "GroupID": G,
        "FaceUrl": "f",
        "TopicId": G + "@TOPIC#_t",
        "NextMsgSeq": 3,
        "Notification": "",
        "Introduction": "",
        "CreateTime": 7,
        "LastMsgTime": 9,
        "ShutUpAllFlag": 1,
        "CustomString": "",
    }
    assert topic_info(G, t, 3, 9, ["TopicName", "Nope"]) == {
        "TopicName": "name",
        "TopicId": G + "@TOPIC#_t",
    }
    member = Member("u", mute_until=100, msg_flag="AcceptNotNotify")
    assert self_info(member, 4, now=50) == {
        "ShutUpTime": 100,
        "MsgSeq": 4,
        "MsgFlag": "AcceptNotNotify",
    }
    assert self_info(member, 0, now=100)["ShutUpTime"] == 0
    assert destroy_result("x", True) == {"ErrorCode": 0, "ErrorInfo": "", "TopicId": "x"}
    assert destroy_result("x", False)["ErrorCode"] == ErrorCode.TOPIC_ALREADY_DESTROYED == 110003


def test_only_topic_communities_have_topics() -> None:
    require_topic_support(Group(G, COMMUNITY, "c", support_topic=True))
    for group in (Group(G, COMMUNITY, "c"), Group("g", PUBLIC, "p")):
        assert code_of(lambda g=group: require_topic_support(g)) == 11000


def test_creation_order() -> None:
    late, early_b, early_a = Topic("a", "", create_time=2), Topic("b", ""), Topic("a0", "")
    assert creation_order([late, early_b, early_a]) == [early_a, early_b, late]


def test_topic_messages_leave_the_groups_counters_alone() -> None:
    def message(conv: str, seq: int) -> Message:
        return Message(
            sdkappid=1,
            conversation=conv,
            chat_type=CHAT_TYPE_GROUP,
            group_id=G,
            seq=seq,
            server_time_ms=seq * 1000,
        )

    stored = [message(conversation.group(G), 3), message(conversation.topic(G, G + "@TOPIC#_t"), 9)]
    assert group_activity(stored) == {(1, G): (3, 4)}
