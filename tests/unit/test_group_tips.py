"""Which group tips an event makes, and whether the app's settings send them (pure)."""

from __future__ import annotations

import orjson

from services.common import events
from services.common.pb.tidings.v1.envelope_pb2 import MESSAGE_KIND_GROUP_TIPS
from services.gateway import group_tips as gt

GROUP = {"GroupId": "g1", "Type": "Public", "Operator_Account": "admin"}


def test_joins_and_exits_are_member_changes() -> None:
    apply = {**GROUP, "JoinType": events.JOIN_APPLY, "NewMemberList": events.members(["ann"])}
    invite = {**apply, "JoinType": events.JOIN_INVITED}
    quit_ = {**GROUP, "ExitType": events.EXIT_QUIT, "ExitMemberList": events.members(["bob"])}
    kick = {**quit_, "ExitType": events.EXIT_KICKED}
    made = [
        gt.tips_of(events.GROUP_MEMBERS_JOINED, apply),
        gt.tips_of(events.GROUP_MEMBERS_JOINED, invite),
        gt.tips_of(events.GROUP_MEMBERS_EXITED, quit_),
        gt.tips_of(events.GROUP_MEMBERS_EXITED, kick),
    ]
    assert [[t.content["OpType"] for t in tips] for tips in made] == [
        [gt.JOIN],
        [gt.INVITE],
        [gt.QUIT],
        [gt.KICKED],
    ]
    assert all(t.setting == gt.MEMBER_CHANGE for tips in made for t in tips)
    assert made[0][0].content == {
        "OpType": gt.JOIN,
        "GroupId": "g1",
        "Operator_Account": "admin",
        "MemberList_Account": ["ann"],
    }


def test_profile_changes_name_each_field_by_tencents_type() -> None:
    (tip,) = gt.tips_of(events.GROUP_INFO_CHANGED, {**GROUP, "Name": "new", "FaceUrl": "u"})
    assert tip.setting == gt.GROUP_INFO
    assert tip.content["OpType"] == gt.GROUP_INFO_CHANGE
    assert tip.content["GroupInfo"] == [{"Type": 1, "Value": "new"}, {"Type": 4, "Value": "u"}]


def test_roles_and_mutes_are_member_info_changes() -> None:
    roles = {
        **GROUP,
        "MemberList": [
            {"Member_Account": "ann", "Role": "Admin"},
            {"Member_Account": "bob", "Role": "Member"},
        ],
    }
    set_admin, cancel_admin = gt.tips_of(events.GROUP_MEMBER_ROLE_CHANGED, roles)
    assert (set_admin.content["OpType"], set_admin.content["MemberList_Account"]) == (
        gt.SET_ADMIN,
        ["ann"],
    )
    assert (cancel_admin.content["OpType"], cancel_admin.content["MemberList_Account"]) == (
        gt.CANCEL_ADMIN,
        ["bob"],
    )
    muted = {**GROUP, "MuteTime": 60, "MemberList": events.members(["ann"])}
    (tip,) = gt.tips_of(events.GROUP_MEMBERS_MUTED, muted)
    assert tip.setting == gt.MEMBER_INFO
    assert tip.content["MemberInfo"] == [{"Member_Account": "ann", "ShutUpTime": 60}]


def test_other_events_make_no_tip() -> None:
    assert gt.tips_of(events.GROUP_CREATED, GROUP) == []
    assert gt.tips_of(events.GROUP_MEMBERS_IMPORTED, GROUP) == []
    # Only AppDefinedData changed: Tencent's callback names none of the four fields.
    assert gt.tips_of(events.GROUP_INFO_CHANGED, GROUP) == []


def test_the_settings_choose_per_group_type() -> None:
    (member_change,) = gt.tips_of(
        events.GROUP_MEMBERS_JOINED, {**GROUP, "NewMemberList": events.members(["ann"])}
    )
    (mute,) = gt.tips_of(
        events.GROUP_MEMBERS_MUTED, {**GROUP, "MuteTime": 0, "MemberList": events.members(["a"])}
    )
    # By default every type is told, but live groups of their members joining and leaving.
    assert gt.wanted(member_change, "Work", {})
    assert not gt.wanted(member_change, "AVChatRoom", {})
    assert gt.wanted(mute, "AVChatRoom", {})
    off = {gt.MEMBER_CHANGE: ["Public"], gt.MEMBER_INFO: []}
    assert gt.wanted(member_change, "Public", off)
    assert not gt.wanted(member_change, "Work", off)
    assert not gt.wanted(mute, "Work", off)


def test_the_tip_message_is_a_stored_group_message_but_live_only_in_a_live_group() -> None:
    event = events.new_event(1400000001, events.GROUP_MEMBERS_MUTED, {})
    (tip,) = gt.tips_of(
        events.GROUP_MEMBERS_MUTED, {**GROUP, "MuteTime": 0, "MemberList": events.members(["a"])}
    )
    m = gt.tip_message(event, tip, "Public")
    assert (m.kind, m.group_id, m.sender, m.online_only) == (
        MESSAGE_KIND_GROUP_TIPS,
        "g1",
        "admin",
        False,
    )
    assert m.client_msg_id == gt.tip_message(event, tip, "Public").client_msg_id
    (element,) = m.elements
    assert element.msg_type == gt.TIP_ELEM
    assert orjson.loads(element.content_json) == tip.content
    assert gt.tip_message(event, tip, "AVChatRoom").online_only


def test_an_ownership_transfer_is_a_profile_change() -> None:
    transfer = {
        **GROUP,
        "MemberList": [
            {"Member_Account": "new", "Role": "Owner"},
            {"Member_Account": "old", "Role": "Member"},
        ],
    }
    (tip,) = gt.tips_of(events.GROUP_MEMBER_ROLE_CHANGED, transfer)
    assert (tip.setting, tip.content["OpType"]) == (gt.GROUP_INFO, gt.GROUP_INFO_CHANGE)
    assert tip.content["GroupInfo"] == [{"Type": gt.OWNER_INFO_TYPE, "Value": "new"}]


def test_muting_everyone_is_a_profile_change() -> None:
    (tip,) = gt.tips_of(events.GROUP_MODIFIED, {**GROUP, "ShutUpAllMember": "On"})
    assert (tip.setting, tip.content["OpType"]) == (gt.GROUP_INFO, gt.GROUP_INFO_CHANGE)
    assert tip.content["GroupInfo"] == [{"Type": gt.SHUT_UP_ALL_INFO_TYPE, "Value": "On"}]
    # A change of options or AppDefinedData only: no tip.
    assert gt.tips_of(events.GROUP_MODIFIED, GROUP) == []


def test_every_kind_outside_tip_kinds_makes_no_tip() -> None:
    # GroupTips.tell passes over these kinds unread: none of them may make a tip.
    others = set(events.KINDS + events.DIRECTORY_KINDS) - gt.TIP_KINDS
    assert others and all(gt.tips_of(kind, GROUP) == [] for kind in others)
