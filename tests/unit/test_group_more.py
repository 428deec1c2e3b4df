"""Pure parts of group_more: ban pages, named members, and which group messages can be modified."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.group_bans import GroupBan
from services.common.store.groups import Group, Member
from services.gateway.rest_v4.group_more import (
    ban_page,
    check_modifiable,
    modify_target,
    specified_members,
)

BANS = [GroupBan(f"u{i}", 100 + i) for i in range(5)]


def test_ban_pages_and_next_offset() -> None:
    assert ban_page(BANS, 0, 2) == (BANS[0:2], 2)
    assert ban_page(BANS, 2, 2) == (BANS[2:4], 4)
    # The last page: NextOffset 0 says the list is done.
    assert ban_page(BANS, 4, 2) == (BANS[4:5], 0)
    assert ban_page(BANS, 3, 2) == (BANS[3:5], 0)
    assert ban_page(BANS, 0, 100) == (BANS, 0)
    assert ban_page(BANS, 9, 2) == ([], 0)
    assert ban_page([], 0, 100) == ([], 0)


def test_specified_members_keep_the_asked_order_and_roles() -> None:
    found = {
        "bob": Member("bob", role="Member"),
        "peter": Member("peter", role="Admin"),
        "john": Member("john", role="Owner"),
    }
    names = ["peter", "ghost", "bob", "john"]
    assert [m.user_id for m in specified_members(names, found, None)] == ["peter", "bob", "john"]
    chosen = specified_members(names, found, ["Owner", "Member"])
    assert [m.user_id for m in chosen] == ["bob", "john"]
    assert specified_members(names, found, []) == []


def _group(group_type: str, support_topic: bool = False) -> Group:
    return Group("g", group_type, "name", support_topic=support_topic)


def test_which_groups_take_message_edits() -> None:
    check_modifiable(_group("Public"), "")
    check_modifiable(_group("Community", support_topic=True), "@TGS#_g@TOPIC#_t")
    with pytest.raises(TidingsError) as live:
        check_modifiable(_group("AVChatRoom"), "")
    assert live.value.code == ErrorCode.GROUP_NO_PERMISSION
    for group in (_group("Work"), _group("Community")):
        with pytest.raises(TidingsError) as topic:
            check_modifiable(group, "topic")
        assert topic.value.code == ErrorCode.OPENIM_JSON_FIELDS


def test_modify_target() -> None:
    stored = Message(seq=3, sender="bob")
    assert modify_target(stored) is stored
    for gone, code in (
        (None, ErrorCode.MSG_NOT_FOUND),
        (Message(seq=3, deleted=True), ErrorCode.MSG_NOT_FOUND),
        (Message(seq=3, recalled=True), ErrorCode.MSG_ALREADY_RECALLED),
    ):
        with pytest.raises(TidingsError) as refused:
            modify_target(gone)
        assert refused.value.code == code
