"""The pure rules of the follow service: FollowType values, follow_add outcomes, paging."""

from __future__ import annotations

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.store.follow import FollowEntry
from services.gateway.rest_v4 import follow


def test_follow_type_is_tencents() -> None:
    assert follow.follow_type(False, False) == 0
    assert follow.follow_type(False, True) == 1
    assert follow.follow_type(True, False) == 2
    assert follow.follow_type(True, True) == 3


def test_plan_follows_per_peer_outcomes() -> None:
    results, new = follow.plan_follows(
        "a", ["a", "ghost", "old", "b", "c"], missing={"ghost"}, followed={"old"}, following_count=3
    )
    assert new == ["b", "c"]
    assert [(r["To_Account"], r["ResultCode"]) for r in results] == [
        ("a", ErrorCode.SNS_INVALID_PARAM),
        ("ghost", ErrorCode.SNS_ACCOUNT_NOT_FOUND),
        ("old", 0),
        ("b", 0),
        ("c", 0),
    ]
    assert all(r["ResultInfo"] == "" for r in results if r["ResultCode"] == 0)
    assert all(r["ResultInfo"] for r in results if r["ResultCode"] != 0)


def test_plan_follows_stops_at_the_limit_in_order() -> None:
    results, new = follow.plan_follows(
        "a", ["old", "b", "c", "d"], missing=(), followed={"old"}, following_count=4998
    )
    assert new == ["b", "c"]
    assert [r["ResultCode"] for r in results] == [0, 0, 0, ErrorCode.FOLLOW_FOLLOWING_LIMIT]
    # Already at the limit: a user already followed still answers 0.
    results, new = follow.plan_follows(
        "a", ["old", "b"], missing=(), followed={"old"}, following_count=follow.MAX_FOLLOWING
    )
    assert new == []
    assert [r["ResultCode"] for r in results] == [0, ErrorCode.FOLLOW_FOLLOWING_LIMIT]


def test_page_size_defaults_to_100() -> None:
    assert follow.page_size(0) == 100
    assert follow.page_size(1) == 1
    assert follow.page_size(1000) == 1000


@pytest.mark.parametrize("user", ["u", "user:with:colons", "é用户", "x" * 32, "a/b+c=="])
def test_cursor_round_trip(user: str) -> None:
    cursor = follow.encode_cursor(user)
    assert len(cursor) <= follow.MAX_CURSOR_CHARS
    assert follow.decode_cursor(cursor) == user


def test_empty_cursor_is_the_first_page() -> None:
    assert follow.decode_cursor("") == ""


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!!",  # not base64url
        "_w",  # bytes that are not UTF-8
        follow.encode_cursor("u") + "=",  # not the form we send
        follow.encode_cursor("x" * 33),  # not a UserID
        follow.encode_cursor("a\nb"),
    ],
)
def test_bad_cursor_is_30001(cursor: str) -> None:
    with pytest.raises(TidingsError) as err:
        follow.decode_cursor(cursor)
    assert err.value.code == ErrorCode.SNS_INVALID_PARAM


def test_split_page() -> None:
    entries = [FollowEntry(u, 1) for u in ("a", "b", "c")]
    assert follow.split_page(entries, 2) == (entries[:2], follow.encode_cursor("b"))
    assert follow.split_page(entries, 3) == (entries, "")
    assert follow.split_page([], 5) == ([], "")


def test_profile_items_skip_empty_values_standard_first() -> None:
    values: dict[str, int | str] = {
        "Tag_Profile_Custom_Test": "Custom Data2",
        "Tag_Profile_IM_SelfSignature": "I'm Test2",
        "Tag_Profile_IM_Nick": "NickNameTest2",
        "Tag_Profile_IM_Image": "",
        "Tag_Profile_IM_Level": 0,
    }
    assert follow.profile_item_list(values) == [
        {"Tag": "Tag_Profile_IM_Level", "Value": 0},
        {"Tag": "Tag_Profile_IM_Nick", "Value": "NickNameTest2"},
        {"Tag": "Tag_Profile_IM_SelfSignature", "Value": "I'm Test2"},
        {"Tag": "Tag_Profile_Custom_Test", "Value": "Custom Data2"},
    ]
