"""The pure rules of the group message commands: import_group_msg's list and time order,
send_group_system_notification's recipients, and which groups keep unread counts."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.gateway.group_msg_rules import (
    MAX_IMPORT_MSGS,
    MAX_NOTIFICATION_MEMBERS,
    ImportItem,
    import_checks,
    keeps_unread_counts,
    notification_targets,
    parse_import_list,
)

LIMIT = 12 * 1024


def item(text: str = "hi", **kw: Any) -> dict[str, Any]:
    return {
        "From_Account": "ann",
        "SendTime": 1_700_000_000,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        **kw,
    }


def test_import_list_reads_each_message() -> None:
    items = parse_import_list([item(Random=7), item("yo", From_Account="bob")], LIMIT)
    assert [(i.sender, i.send_time, i.random) for i in items] == [
        ("ann", 1_700_000_000, 7),
        ("bob", 1_700_000_000, 0),
    ]
    assert items[0].elements[0].msg_type == "TIMTextElem"
    # The dedupe key is stable, and tells different bodies and randoms apart.
    again = parse_import_list([item(Random=7)], LIMIT)[0]
    assert again.client_msg_id == items[0].client_msg_id
    assert parse_import_list([item(Random=8)], LIMIT)[0].client_msg_id != again.client_msg_id
    assert items[1].client_msg_id != parse_import_list([item()], LIMIT)[0].client_msg_id


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        {"From_Account": "ann"},
        [item()] * (MAX_IMPORT_MSGS + 1),
        ["not an object"],
        [item(From_Account="")],
        [item(SendTime="yesterday")],
        [item(SendTime=True)],
        [item(SendTime=-1)],
        [item(Random=2**32)],
        [item(MsgBody=[])],
        [item(MsgBody=[{"MsgType": "TIMNoSuchElem", "MsgContent": {}}])],
    ],
)
def test_a_malformed_import_list_refuses_the_request(raw: Any) -> None:
    with pytest.raises(TidingsError) as err:
        parse_import_list(raw, LIMIT)
    assert err.value.code == ErrorCode.GROUP_INVALID_PARAM


def test_a_body_over_the_limit_fails_only_its_message() -> None:
    items = parse_import_list([item("x" * 200), item()], 100)
    assert [i.too_large for i in items] == [True, False]


def test_import_checks_go_oldest_first_within_the_group_s_life() -> None:
    ok, bad, big = ErrorCode.OK, ErrorCode.GROUP_INVALID_PARAM, ErrorCode.BODY_TOO_LARGE

    def checks(times: list[int], last_msg_time: int = 0, large: int = -1) -> list[ErrorCode]:
        items = [ImportItem("ann", t, 0, [], too_large=n == large) for n, t in enumerate(times)]
        return import_checks(items, 5000, 1000, last_msg_time)

    assert checks([1000, 1000, 1200, 5000]) == [ok] * 4
    # Before creation, in the future, or older than the previous accepted message: refused,
    # and a refused message does not move the floor.
    assert checks([999, 1500, 1400, 6000, 1500]) == [bad, ok, bad, bad, ok]
    # Nothing older than the group's latest message.
    assert checks([1999, 2000, 2001], last_msg_time=2000) == [bad, ok, ok]
    # A body over the limit is refused on its own, whatever its time, and moves nothing.
    assert checks([1000, 3000, 2000], large=1) == [ok, big, ok]


def test_notification_targets() -> None:
    assert notification_targets(None, "Public") == []
    assert notification_targets([], "AVChatRoom") == []
    assert notification_targets(["ann", "bob", "ann"], "Work") == ["ann", "bob"]
    for bad in ("ann", [""], [1], ["ann", None]):
        with pytest.raises(TidingsError) as err:
            notification_targets(bad, "Public")
        assert err.value.code == ErrorCode.GROUP_INVALID_PARAM
    # An AVChatRoom notifies everyone or no one.
    with pytest.raises(TidingsError) as err:
        notification_targets(["ann"], "AVChatRoom")
    assert err.value.code == ErrorCode.GROUP_INVALID_PARAM
    too_many = [f"u{n}" for n in range(MAX_NOTIFICATION_MEMBERS + 1)]
    with pytest.raises(TidingsError) as err:
        notification_targets(too_many, "Public")
    assert err.value.code == ErrorCode.GROUP_TOO_MANY_ACCOUNTS


def test_unread_counts_are_kept_except_in_meeting_and_avchatroom_groups() -> None:
    assert keeps_unread_counts("Work") and keeps_unread_counts("Public")
    assert keeps_unread_counts("Community")
    assert not keeps_unread_counts("Meeting") and not keeps_unread_counts("AVChatRoom")
