"""The pure parts of the accounts and groups handlers and their admin adapters: the prefix
search over the directory's ordered listing, import rows, members cursors, and how a
handler's refusal reads in the admin envelope."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, cast

import pytest

from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import Group
from services.common.store.ports import Account
from services.gateway.admin.accounts import ImportRow, import_entries, refusal
from services.gateway.admin.groups import member_window
from services.gateway.handlers import accounts
from services.gateway.rest_v4.context import RestContext


class Directory:
    """The directory's account reads over a sorted list (no I/O)."""

    def __init__(self, users: Sequence[str]) -> None:
        self.users = sorted(users)

    async def get_accounts(self, sdkappid: int, user_ids: Sequence[str]) -> dict[str, Account]:
        return {u: Account(u) for u in user_ids if u in self.users}

    async def list_accounts(self, sdkappid: int, after_user: str, limit: int) -> list[str]:
        return [u for u in self.users if u > after_user][:limit]


def context(*users: str) -> RestContext:
    deps = SimpleNamespace(stores=SimpleNamespace(directory=Directory(users)))
    return RestContext(SimpleNamespace(sdkappid=1), "admin", "", cast(Any, deps))  # type: ignore[arg-type]


async def pages(ctx: RestContext, prefix: str, limit: int) -> list[list[str]]:
    got, cursor = [], ""
    while True:
        page = await accounts.search(ctx, prefix, cursor, limit)
        got.append([a.user_id for a in page.accounts])
        if not page.next_cursor:
            return got
        cursor = page.next_cursor


async def test_search_pages_through_a_prefix_and_stops_at_its_end() -> None:
    ctx = context("am", "an", "ann", "anna", "annb", "ao", "b")
    assert await pages(ctx, "an", 2) == [["an", "ann"], ["anna", "annb"]]
    assert await pages(ctx, "ann", 10) == [["ann", "anna", "annb"]]
    assert await pages(ctx, "", 4) == [["am", "an", "ann", "anna"], ["annb", "ao", "b"]]
    assert await pages(ctx, "z", 3) == [[]]


async def test_search_bounds_its_page() -> None:
    with pytest.raises(TidingsError) as err:
        await accounts.search(context(), "", "", accounts.MAX_SEARCH_PAGE + 1)
    assert err.value.code == ErrorCode.ACCOUNT_INVALID_PARAM


def test_import_rows_name_each_bad_one_and_the_last_repeat_wins() -> None:
    rows = [
        ImportRow(user="a", nick="first"),
        ImportRow(user="bad\x01"),
        ImportRow(user="a", nick="last"),
    ]
    entries, rejected = import_entries(rows)
    assert [(e.user_id, e.nick) for e in entries] == [("a", "last")]
    assert list(rejected) == ["bad\x01"] and rejected["bad\x01"].startswith("70402 ")


@pytest.mark.parametrize(
    ("code", "status", "name"),
    [
        (ErrorCode.ACCOUNT_NOT_IMPORTED, 404, "not_found"),
        (ErrorCode.GROUP_NOT_FOUND, 404, "not_found"),
        (ErrorCode.ACCOUNT_LIMIT, 409, "refused"),
        (ErrorCode.ACCOUNT_INTERNAL_TIMEOUT, 503, "unavailable"),
        (ErrorCode.PROFILE_VALUE_ERROR, 422, "invalid_argument"),
    ],
)
def test_a_refusal_keeps_tencents_code(code: ErrorCode, status: int, name: str) -> None:
    error = refusal(TidingsError(code, "why"))
    assert (error.status, error.code, error.message) == (status, name, f"{int(code)} why")


def test_members_cursor_is_an_offset_or_a_communitys_last_user() -> None:
    public = Group("@TGS#1", "Public", "g")
    assert member_window(public, "") == (0, "")
    assert member_window(public, "100") == (100, "")
    assert member_window(Group("@TGS#_2", "Community", "c"), "bob") == (0, "bob")
    with pytest.raises(TidingsError):
        member_window(public, "bob")
