"""The pure rules of group_open_avchatroom_http_svc: marks, their lifetime, paging, admins."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.redis_state import SessionInfo
from services.common.store.avchatroom import MemberMark
from services.common.store.groups import Member
from services.gateway.rest_v4.avchatroom import (
    MAX_ADMINS,
    MAX_MARKS_PER_GROUP,
    MAX_MEMBERS_PER_MARK,
    MEMBERS_PAGE,
    REMOVE,
    SET,
    MarkRequest,
    admins_after,
    check_mark,
    check_mark_room,
    latest_joined,
    live_marks,
    mark_holds,
    mark_requests,
    members_page,
    online_since,
    settable,
)


def code_of(fn: Any, *args: Any) -> int:
    with pytest.raises(TidingsError) as err:
        fn(*args)
    return int(err.value.code)


def test_marks_are_500_or_from_1000() -> None:
    assert check_mark(500) == 500
    assert check_mark(1000) == 1000
    assert check_mark(4_294_967_295) == 4_294_967_295
    assert code_of(check_mark, 999) == ErrorCode.GROUP_INVALID_PARAM
    assert code_of(check_mark, 501) == ErrorCode.GROUP_INVALID_PARAM


def test_online_since_is_the_oldest_connection() -> None:
    assert online_since({}) is None
    assert online_since({"a": SessionInfo("n", "Web", 30), "b": SessionInfo("n", "iOS", 20)}) == 20


def test_a_mark_holds_while_member_and_connection_outlast_it() -> None:
    member = Member("u", join_time=100)
    mark = MemberMark("u", 1000, set_ms=100_500)
    assert mark_holds(mark, member, since_ms=100_000)
    # Left the group, or joined again after the mark was set.
    assert not mark_holds(mark, None, since_ms=100_000)
    assert not mark_holds(mark, Member("u", join_time=101), since_ms=100_000)
    # Offline, or every connection opened after the mark was set.
    assert not mark_holds(mark, member, since_ms=None)
    assert not mark_holds(mark, member, since_ms=100_501)
    # 500 does not need the member online.
    assert mark_holds(MemberMark("u", 500, 100_500), member, since_ms=None)


def test_live_marks_splits_held_from_cleared() -> None:
    stored = [
        MemberMark("a", 1000, 5_000),
        MemberMark("a", 1001, 5_000),
        MemberMark("b", 1000, 5_000),
        MemberMark("gone", 500, 5_000),
    ]
    members = {"a": Member("a", join_time=1), "b": Member("b", join_time=1)}
    held, cleared = live_marks(stored, members, {"a": 1_000, "b": None})
    assert held == {"a": [1000, 1001]}
    assert cleared == [("b", 1000), ("gone", 500)]


def test_mark_room_counts_distinct_marks_and_members_per_mark() -> None:
    held = {f"u{i}": [1000 + i] for i in range(MAX_MARKS_PER_GROUP - 1)}
    check_mark_room(held, {"x": [1000, 2000]})
    assert code_of(check_mark_room, held, {"x": [2000, 2001]}) == ErrorCode.GROUP_INVALID_PARAM
    full = {f"u{i}": [1000] for i in range(MAX_MEMBERS_PER_MARK)}
    # A member who has the mark already is not counted twice.
    check_mark_room(full, {"u0": [1000]})
    assert code_of(check_mark_room, full, {"new": [1000]}) == ErrorCode.GROUP_INVALID_PARAM


def test_members_listed_latest_join_first_capped_and_paged() -> None:
    members = [Member(f"u{i:04}", join_time=i // 2) for i in range(1100)]
    listed = latest_joined(members)
    assert len(listed) == 1000
    assert [m.user_id for m in listed[:3]] == ["u1098", "u1099", "u1096"]
    page, nxt = members_page(listed, 0)
    assert len(page) == MEMBERS_PAGE and nxt == MEMBERS_PAGE
    page, nxt = members_page(listed, 750)
    assert len(page) == 250 and nxt == 0
    assert members_page(listed, 5000) == ([], 0)
    assert members_page([], 0) == ([], 0)


def test_admins_after_set_and_remove() -> None:
    assert admins_after(["a"], SET, ["b", "a"]) == ["a", "b"]
    assert admins_after(["a", "b"], REMOVE, ["b", "z"]) == ["a"]
    five = [f"u{i}" for i in range(MAX_ADMINS)]
    assert admins_after(five, SET, ["u0"]) == five
    assert code_of(admins_after, five, SET, ["extra"]) == ErrorCode.GROUP_INVALID_PARAM


def test_mark_requests_parse_tencents_member_list() -> None:
    body = {
        "MemberList": [
            {"Member_Account": "teacher10", "Marks": [1000, 1000]},
            {"Member_Account": "student9", "Marks": [1001]},
            {"Member_Account": "teacher10", "Marks": [1002]},
        ]
    }
    assert mark_requests(body) == [
        MarkRequest("teacher10", (1000,)),
        MarkRequest("student9", (1001,)),
    ]
    bad: list[Any] = [
        {},
        {"MemberList": []},
        {"MemberList": ["teacher10"]},
        {"MemberList": [{"Member_Account": "a", "Marks": []}]},
        {"MemberList": [{"Member_Account": "a", "Marks": [999]}]},
        {"MemberList": [{"Member_Account": "a", "Marks": ["1000"]}]},
        {"MemberList": [{"Marks": [1000]}]},
    ]
    for b in bad:
        assert code_of(mark_requests, b) == ErrorCode.GROUP_INVALID_PARAM, b
    many = {"MemberList": [{"Member_Account": f"u{i}", "Marks": [1000]} for i in range(501)]}
    assert code_of(mark_requests, many) == ErrorCode.GROUP_TOO_MANY_ACCOUNTS


def test_marks_are_set_on_online_members_but_500() -> None:
    request = MarkRequest("u", (500, 1000))
    assert settable(request, Member("u"), since_ms=1) == (500, 1000)
    assert settable(request, Member("u"), since_ms=None) == (500,)
    assert settable(request, None, since_ms=1) == ()
