"""The pure rules of the REST receipt commands: C2CMsgInfo and MsgSeqList parsing, read and
unread members, detail paging and its Cursor, and the per-message items."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway.receipts import ReadCount, group_receipt_notice, read_split
from services.gateway.rest_v4 import receipts


def item(
    frm: str = "user2", to: str = "user1", key: str = "1467329515_5675354_1708676941"
) -> dict[str, str]:
    return {"From_Account": frm, "To_Account": to, "MsgKey": key}


def test_c2c_msg_keys_of_tencents_example() -> None:
    keys = receipts.c2c_msg_keys([item(), item(key="1_2_3"), item()], "user1", "user2")
    assert keys == ["1467329515_5675354_1708676941", "1_2_3"]


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"From_Account": "user2"},
        ["1_2_3"],
        [item(frm="user3")],
        [item(to="user3")],
        [item(frm="user1", to="user2")],
        [{"From_Account": "user2", "To_Account": "user1"}],
        [item(key="")],
        [{**item(), "MsgKey": 12}],
        [{**item(), "From_Account": 7}],
        [item(key="1_2_3")] * 101,
    ],
)
def test_malformed_c2c_msg_info(raw: Any) -> None:
    with pytest.raises(TidingsError) as err:
        receipts.c2c_msg_keys(raw, "user1", "user2")
    assert err.value.code == ErrorCode.MSG_INVALID_REQUEST


def test_user_field() -> None:
    assert receipts.user_field({"From_Account": "u1"}, "From_Account", receipts.BAD) == "u1"
    for body in ({}, {"From_Account": ""}, {"From_Account": 1}, {"From_Account": "x" * 33}):
        with pytest.raises(TidingsError) as err:
            receipts.user_field(body, "From_Account", receipts.BAD)
        assert err.value.code == ErrorCode.GROUP_INVALID_PARAM


def test_msg_seqs_once_each_in_order() -> None:
    raw = [{"MsgSeq": 2}, {"MsgSeq": 1}, {"MsgSeq": 2}]
    assert receipts.msg_seqs(raw, receipts.MAX_GROUP_RECEIPTS) == [2, 1]
    assert len(receipts.msg_seqs([{"MsgSeq": n} for n in range(1, 51)], 50)) == 50


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        [1],
        [{"MsgSeq": 0}],
        [{"MsgSeq": -1}],
        [{"MsgSeq": True}],
        [{"MsgSeq": "1"}],
        [{}],
        [{"MsgSeq": n} for n in range(1, 52)],
    ],
)
def test_malformed_msg_seq_list(raw: Any) -> None:
    with pytest.raises(TidingsError) as err:
        receipts.msg_seqs(raw, receipts.MAX_GROUP_RECEIPTS)
    assert err.value.code == ErrorCode.GROUP_INVALID_PARAM


def test_read_split_counts_current_members_but_the_sender() -> None:
    # "gone" read it and left; "new" joined after: not read; the sender is neither.
    read, unread = read_split({"b", "gone", "sender"}, ["sender", "a", "b", "new"], "sender")
    assert (read, unread) == (["b"], ["a", "new"])


def test_group_receipt_notice_goes_to_the_sender() -> None:
    notice = group_receipt_notice(1400000001, "g1", "b", ReadCount(7, "a", 2), 1000)
    assert (notice.sdkappid, notice.user) == (1400000001, "a")
    assert notice.frame == {
        "op": "receipt",
        "conversation": "group:g1",
        "group": "g1",
        "seq": 7,
        "reader": "b",
        "read_count": 2,
        "time": 1000,
    }


def test_detail_pages_and_cursor() -> None:
    users = ["a", "b", "c", "d", "e"]
    page, cursor = receipts.detail_page(users, "", 2)
    assert (page, receipts.decode_cursor(cursor)) == (["a", "b"], "b")
    page, cursor = receipts.detail_page(users, receipts.decode_cursor(cursor), 2)
    assert (page, receipts.decode_cursor(cursor)) == (["c", "d"], "d")
    assert receipts.detail_page(users, "d", 2) == (["e"], "")
    assert receipts.detail_page(users, "", 5) == (users, "")
    assert receipts.detail_page([], "", 200) == ([], "")
    assert receipts.decode_cursor("") == ""


@pytest.mark.parametrize("cursor", ["***", "YQ==", "AQ", "eHh4" * 11 + "eA", "%%"])
def test_foreign_cursor(cursor: str) -> None:
    with pytest.raises(TidingsError) as err:
        receipts.decode_cursor(cursor)
    assert err.value.code == ErrorCode.GROUP_INVALID_PARAM


def test_receipt_items() -> None:
    assert receipts.receipt_item(1, (1, 6)) == {
        "Code": 0,
        "MsgSeq": 1,
        "ReadNum": 1,
        "UnreadNum": 6,
    }
    assert receipts.receipt_item(2, None) == {
        "Code": ErrorCode.GROUP_RECEIPT_NOT_FOUND,
        "MsgSeq": 2,
        "ReadNum": 0,
        "UnreadNum": 0,
    }
