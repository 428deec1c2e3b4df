"""Conversation groups and marks: parsing, limits, merging and paging, without I/O."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.store.contact_groups import (
    ContactEntry,
    ContactGroup,
    ContactKey,
    decode_group_ids,
    encode_group_ids,
)
from services.gateway.rest_v4 import contact_groups as cg
from services.gateway.rest_v4.contact_groups import ADD, REMOVE, MarkOp

OK = ErrorCode.OK
ALICE: ContactKey = (1, "alice")
TEAM: ContactKey = (2, "@TGS#1N3RSUYG2")


def entries(*items: ContactEntry) -> dict[ContactKey, ContactEntry]:
    return {e.key: e for e in items}


def test_contact_items_parse_both_types_and_old_group_field() -> None:
    assert cg.parse_contact({"Type": 1, "To_Account": "alice"}) == ALICE
    assert cg.parse_contact({"Type": 2, "ToGroupId": "@TGS#1N3RSUYG2"}) == TEAM
    assert cg.parse_contact({"Type": 2, "GroupId": "@TGS#1N3RSUYG2"}) == TEAM


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"Type": 3, "To_Account": "alice"},
        {"Type": "1", "To_Account": "alice"},
        {"Type": 1},
        {"Type": 1, "To_Account": ""},
        {"Type": 1, "To_Account": "x" * 33},
        {"Type": 1, "To_Account": "a\nb"},
        {"Type": 2, "ToGroupId": "x" * 49},
        {"Type": 2, "To_Account": "alice"},
    ],
)
def test_bad_contact_items_are_50002(raw: object) -> None:
    with pytest.raises(TidingsError) as e:
        cg.parse_contact(raw)
    assert e.value.code == ErrorCode.CONV_INVALID_PARAM


def test_contact_lists_are_bounded() -> None:
    items = [{"Type": 1, "To_Account": f"u{i}"} for i in range(101)]
    with pytest.raises(TidingsError) as e:
        cg.parse_contacts(items, "ContactItem", cg.MAX_ITEMS, ErrorCode.CONV_MARK_REQ_COUNT_LIMIT)
    assert e.value.code == ErrorCode.CONV_MARK_REQ_COUNT_LIMIT
    assert len(cg.parse_contacts(items[:100], "ContactItem", 100, ErrorCode.OK)) == 100
    with pytest.raises(TidingsError):
        cg.parse_contacts({"Type": 1}, "ContactItem", 100, ErrorCode.OK)


def test_group_names_are_1_to_32_bytes() -> None:
    assert cg.group_name("x" * 32, "GroupName") == "x" * 32
    with pytest.raises(TidingsError) as e:
        cg.group_name("é" * 17, "GroupName")
    assert e.value.code == ErrorCode.CONV_GROUP_NAME_TOO_LONG
    for bad in ("", None, 5):
        with pytest.raises(TidingsError) as e:
            cg.group_name(bad, "GroupName")
        assert e.value.code == ErrorCode.CONV_INVALID_PARAM


def test_new_groups_take_the_lowest_free_id() -> None:
    assert cg.next_group_id([]) == 1
    assert cg.next_group_id([ContactGroup(1, "a"), ContactGroup(3, "c")]) == 2
    assert cg.next_group_id([ContactGroup(2, "b"), ContactGroup(1, "a")]) == 3


def test_group_ids_round_trip_as_text() -> None:
    assert encode_group_ids((1, 12)) == "1,12"
    assert decode_group_ids("1,12") == (1, 12)
    assert decode_group_ids(encode_group_ids(())) == ()


def test_regroup_adds_and_removes_in_order() -> None:
    before = entries(ContactEntry(1, "alice", group_ids=(2,), updated_ms=5))
    changed, codes = cg.regroup(
        before, [(ADD, ALICE), (ADD, TEAM), (REMOVE, TEAM), (ADD, ALICE)], 1, set(), 9000
    )
    assert codes == [OK] * 4
    assert changed[ALICE] == ContactEntry(1, "alice", group_ids=(1, 2), updated_ms=9000)
    assert changed[TEAM].group_ids == ()
    # Removing a conversation that is not in the group changes nothing.
    changed, codes = cg.regroup(before, [(REMOVE, (1, "bob"))], 1, set(), 9000)
    assert (changed, codes) == ({}, [OK])


def test_regroup_refuses_unknown_groups_and_the_1000th_grouped_conversation() -> None:
    full = entries(*(ContactEntry(1, f"u{i}", group_ids=(1,)) for i in range(cg.MAX_GROUPED)))
    changed, codes = cg.regroup(full, [(ADD, ALICE), (ADD, TEAM), (ADD, (1, "u1"))], 2, {TEAM}, 1)
    assert codes == [
        ErrorCode.CONV_MARK_TOTAL_COUNT_LIMIT,
        ErrorCode.CONV_MARK_OPERATE_FAILED,
        OK,
    ]
    assert list(changed) == [(1, "u1")]
    # Taking one conversation out of its last group makes room for another.
    changed, codes = cg.regroup(full, [(REMOVE, (1, "u0")), (ADD, ALICE)], 1, set(), 1)
    assert codes == [OK, OK]
    assert changed[(1, "u0")].group_ids == () and changed[ALICE].group_ids == (1,)


def test_without_group_rewrites_only_the_members() -> None:
    rows = [
        ContactEntry(1, "alice", group_ids=(1, 2)),
        ContactEntry(1, "bob", group_ids=(2,)),
        ContactEntry(1, "carol", standard_mark=1),
    ]
    assert cg.without_group(rows, 1, 7) == [ContactEntry(1, "alice", group_ids=(2,), updated_ms=7)]


def test_marks_clear_then_set_and_custom_marks_replace() -> None:
    before = entries(ContactEntry(1, "alice", standard_mark=0b1001, custom_mark="old"))
    ops = [
        MarkOp(cg.OPT_STANDARD, ALICE, set_bits=(1, 3), clear_bits=(0, 3)),
        MarkOp(cg.OPT_CUSTOM, ALICE, set_bits=(5,), custom_mark="new"),
        MarkOp(cg.OPT_BOTH, TEAM, set_bits=(63,), custom_mark="abcd"),
    ]
    changed, codes = cg.apply_marks(before, ops, set(), 3000)
    assert codes == [OK, OK, OK]
    assert changed[ALICE] == ContactEntry(
        1, "alice", standard_mark=0b1010, custom_mark="new", updated_ms=3000
    )
    assert changed[TEAM].standard_mark == 1 << 63 and changed[TEAM].custom_mark == "abcd"


def test_marks_that_change_nothing_leave_the_entry_alone() -> None:
    before = entries(ContactEntry(1, "alice", standard_mark=0b10, updated_ms=1))
    changed, codes = cg.apply_marks(
        before, [MarkOp(cg.OPT_STANDARD, ALICE, set_bits=(1,))], set(), 2
    )
    assert (changed, codes) == ({}, [OK])


def test_marks_refuse_unknown_groups_and_the_1000th_marked_conversation() -> None:
    full = entries(*(ContactEntry(1, f"u{i}", standard_mark=1) for i in range(cg.MAX_MARKED)))
    ops = [
        MarkOp(cg.OPT_STANDARD, ALICE, set_bits=(0,)),
        MarkOp(cg.OPT_CUSTOM, TEAM, custom_mark="x"),
        MarkOp(cg.OPT_STANDARD, (1, "u0"), clear_bits=(0,)),
        MarkOp(cg.OPT_STANDARD, ALICE, set_bits=(0,)),
    ]
    changed, codes = cg.apply_marks(full, ops, {TEAM}, 1)
    assert codes == [
        ErrorCode.CONV_MARK_TOTAL_COUNT_LIMIT,
        ErrorCode.CONV_MARK_OPERATE_FAILED,
        OK,
        OK,
    ]
    assert not changed[(1, "u0")].marked and changed[ALICE].standard_mark == 1


def test_mark_items_parse() -> None:
    op = cg.parse_mark(
        {
            "OptType": 3,
            "ContactItem": {"Type": 1, "To_Account": "user1"},
            "SetMark": [1, 2, 3],
            "CustomMark": "abcd",
        }
    )
    assert op == MarkOp(3, (1, "user1"), set_bits=(1, 2, 3), custom_mark="abcd")
    cleared = cg.parse_mark(
        {"OptType": 2, "ContactItem": {"Type": 1, "To_Account": "u"}, "CustomMark": ""}
    )
    assert cleared.custom_mark == ""


@pytest.mark.parametrize(
    "raw",
    [
        {"OptType": 4, "ContactItem": {"Type": 1, "To_Account": "u"}},
        {"OptType": 1},
        {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "u"}, "SetMark": [64]},
        {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "u"}, "ClearMark": [-1]},
        {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "u"}, "SetMark": 1},
        {"OptType": 1, "ContactItem": {"Type": 1, "To_Account": "u"}, "SetMark": [True]},
        {"OptType": 2, "ContactItem": {"Type": 1, "To_Account": "u"}},
        {"OptType": 2, "ContactItem": {"Type": 1, "To_Account": "u"}, "CustomMark": "x" * 257},
        {"OptType": 3, "ContactItem": {"Type": 1, "To_Account": "u"}, "CustomMark": 5},
        "mark",
    ],
)
def test_bad_mark_items_are_50002(raw: object) -> None:
    with pytest.raises(TidingsError) as e:
        cg.parse_mark(raw)
    assert e.value.code == ErrorCode.CONV_INVALID_PARAM


def test_standard_marks_read_bit_0_first() -> None:
    assert cg.mark_text(0) == ""
    assert cg.mark_text(1) == "1"
    assert cg.mark_text(0b1110) == "0111"
    assert cg.mark_text(1 << 63) == "0" * 63 + "1"


def test_reply_items_leave_out_what_is_not_set() -> None:
    assert cg.entry_item(
        ContactEntry(2, "@TGS#1", custom_mark="abcd", updated_ms=1672998266999)
    ) == {
        "Type": 2,
        "ToGroupId": "@TGS#1",
        "CustomMark": "abcd",
        "Timestamp": 1672998266,
    }
    assert cg.entry_item(
        ContactEntry(1, "teacher4", standard_mark=0b100111, group_ids=(1, 2), updated_ms=1000)
    ) == {
        "Type": 1,
        "To_Account": "teacher4",
        "StandardMark": "111001",
        "ContactGroupId": [1, 2],
        "Timestamp": 1,
    }
    assert cg.result_fields(ErrorCode.OK) == {"ResultCode": 0, "ResultInfo": ""}


def test_pages_of_100_with_the_next_start() -> None:
    rows = [ContactEntry(1, f"u{i:03}", standard_mark=1) for i in range(230)]
    page, nxt = cg.page_of(rows, 0)
    assert (len(page), nxt) == (100, 100)
    page, nxt = cg.page_of(rows, 200)
    assert (len(page), nxt) == (30, 0)
    assert cg.page_of(rows, 500) == ([], 0)
    assert cg.page_of(rows[:100], 0)[1] == 0
