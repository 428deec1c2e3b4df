"""follow: Tencent's follow relations — follow_add, follow_delete, follow_check, follow_get,
follow_get_info (reference: tencentcloud.com/document/product/1047/70345, 70346, 70349, 70347,
70350).

Tencent's rules kept here: at most 20 To_Account per follow_add, follow_delete and
follow_get_info request and 100 per follow_check; follow_get pages hold WantNum entries, 100 by
default and at most 1,000, resumed with the NextCursor of the previous page ("" when there is
no more); FollowType 1 = fans, 2 = following, 3 = mutual; follow_check's FollowType is 0 (no
relation), 1 (only To_Account follows From_Account), 2 (only From_Account follows To_Account) or
3 (both). A user follows at most 5,000 users (32100) and may have any number of fans. A malformed
request answers 30001 as a whole; an unknown From_Account 30003 as a whole; an unknown
To_Account 30003 in its own ResultItem.

Where Tencent is silent:
- Following a user already followed succeeds and keeps the first FollowTime; unfollowing a user
  not followed succeeds too (the asked state holds). Following or unfollowing oneself is 30001
  for that item. When a follow_add would pass the 5,000, the items over it get 32100, in order.
- follow_get lists by UserID, and NextCursor is opaque (the last UserID of the page, base64url);
  the FollowTime of a mutual follow is when the second of the two follows was made. A WantNum of
  0 or absent means 100, and over 1,000 is 30001. ProfileItem lists the user's profile fields
  that have a value; Tencent's profile_sequence is not sent (profiles keep no sequence here).
- The follow service is served to every edition (Tencent sells it with its higher editions and
  answers 30005 otherwise; Tidings sells nothing), and its callbacks are not sent yet. As on
  Tencent it works only once the app's `follow` switch (关注/粉丝) is on; while it is off every
  command answers 30001, naming the switch (Tencent documents no code of its own for this).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.common import messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.follow import FollowEntry, FollowList
from services.common.store.profiles import ProfileValue
from services.gateway import ids, profiles
from services.gateway import sns_rules as rules
from services.gateway.bounds import IntRange
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.accounts_check import (
    missing_accounts,
    profile_values,
    require_account,
)
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.SNS_INVALID_PARAM
MAX_CHANGED_PER_REQUEST = 20
MAX_CHECKED_PER_REQUEST = 100
MAX_FOLLOWING = 5000
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
WANT_NUM = IntRange(0, MAX_PAGE_SIZE)
FOLLOW_TYPE = IntRange(FollowList.FANS, FollowList.MUTUAL)
# A NextCursor: the base64url of a UserID of at most 32 bytes.
MAX_CURSOR_CHARS = 43

SELF_INFO = "cannot follow or unfollow oneself"
NOT_FOUND_INFO = "To_Account does not exist"
LIMIT_INFO = f"From_Account already follows {MAX_FOLLOWING} users"


# ---- pure rules -------------------------------------------------------------------------------


def follow_type(follows_peer: bool, followed_by_peer: bool) -> int:
    """follow_check's FollowType: 2 when From_Account follows To_Account, plus 1 when followed
    back."""
    return 2 * follows_peer + followed_by_peer


def plan_follows(
    owner: str,
    peers: Sequence[str],
    missing: Collection[str],
    followed: Collection[str],
    following_count: int,
) -> tuple[list[dict[str, Any]], list[str]]:
    """follow_add's ResultItem per peer and the peers to follow now, in request order."""
    results: list[dict[str, Any]] = []
    new: list[str] = []
    for peer in peers:
        if peer == owner:
            results.append(rules.result_item(peer, BAD, SELF_INFO))
        elif peer in missing:
            results.append(rules.result_item(peer, ErrorCode.SNS_ACCOUNT_NOT_FOUND, NOT_FOUND_INFO))
        elif peer in followed:
            results.append(rules.result_item(peer))
        elif following_count + len(new) >= MAX_FOLLOWING:
            results.append(rules.result_item(peer, ErrorCode.FOLLOW_FOLLOWING_LIMIT, LIMIT_INFO))
        else:
            new.append(peer)
            results.append(rules.result_item(peer))
    return results, new


def page_size(want_num: int) -> int:
    return want_num or DEFAULT_PAGE_SIZE


def encode_cursor(last_user: str) -> str:
    return base64.urlsafe_b64encode(last_user.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The UserID a page resumes after; "" (the first page) for an empty cursor."""
    if not cursor:
        return ""
    try:
        user = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    # binascii.Error and UnicodeDecodeError are ValueErrors.
    except ValueError:
        raise TidingsError(BAD, "StartCursor is not a NextCursor of follow_get") from None
    if ids.user_id_problem(user) is not None or encode_cursor(user) != cursor:
        raise TidingsError(BAD, "StartCursor is not a NextCursor of follow_get")
    return user


def split_page(entries: Sequence[FollowEntry], size: int) -> tuple[list[FollowEntry], str]:
    """A page from up to size + 1 entries read, and its NextCursor ("" when it is the last)."""
    chunk = list(entries[:size])
    more = len(entries) > size
    return chunk, encode_cursor(chunk[-1].user) if more and chunk else ""


def profile_item_list(values: dict[str, ProfileValue]) -> list[dict[str, ProfileValue]]:
    """follow_get's ProfileItem: the fields with a value, standard ones before custom ones."""
    tags = sorted(
        (t for t, v in values.items() if v != ""),
        key=lambda t: (t.startswith(profiles.CUSTOM_PREFIX), t),
    )
    return [{"Tag": t, "Value": values[t]} for t in tags]


# ---- request fields ---------------------------------------------------------------------------


def _owner(body: dict[str, Any]) -> str:
    return profiles.user_id(fields.raw(body, "From_Account"), "From_Account", BAD)


def _accounts(body: dict[str, Any], maximum: int) -> list[str]:
    return profiles.user_list(fields.raw(body, "To_Account"), "To_Account", maximum, BAD)


def _follow_items(body: dict[str, Any]) -> list[str]:
    items = rules.object_list(fields.raw(body, "FollowItem"), "FollowItem", MAX_CHANGED_PER_REQUEST)
    peers = [
        profiles.user_id(item.get("To_Account"), "FollowItem.To_Account", BAD) for item in items
    ]
    return list(dict.fromkeys(peers))


# ---- commands ---------------------------------------------------------------------------------


async def follow_add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _follow_items(body)
    await require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.follows
    missing = await missing_accounts(ctx, (p for p in peers if p != owner))
    followed = await store.following_among(sdkappid, owner, peers)
    count = (await store.counts(sdkappid, [owner]))[owner].following
    results, new = plan_follows(owner, peers, missing, followed, count)
    await store.follow(sdkappid, owner, new, int(time.time()))
    return {"ResultItem": results}


async def follow_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _accounts(body, MAX_CHANGED_PER_REQUEST)
    await require_account(ctx, owner)
    missing = await missing_accounts(ctx, (p for p in peers if p != owner))
    results: list[dict[str, Any]] = []
    for peer in peers:
        if peer == owner:
            results.append(rules.result_item(peer, BAD, SELF_INFO))
        elif peer in missing:
            results.append(rules.result_item(peer, ErrorCode.SNS_ACCOUNT_NOT_FOUND, NOT_FOUND_INFO))
        else:
            results.append(rules.result_item(peer))
    done = [r["To_Account"] for r in results if r["ResultCode"] == 0]
    await ctx.deps.stores.follows.unfollow(ctx.app.sdkappid, owner, done)
    return {"ResultItem": results}


async def follow_check(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    peers = _accounts(body, MAX_CHECKED_PER_REQUEST)
    await require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.follows
    missing = await missing_accounts(ctx, peers)
    known = [p for p in peers if p not in missing]
    mine = await store.following_among(sdkappid, owner, known)
    fans = await store.fans_among(sdkappid, owner, known)
    results: list[dict[str, Any]] = []
    for peer in peers:
        if peer in missing:
            results.append(rules.result_item(peer, ErrorCode.SNS_ACCOUNT_NOT_FOUND, NOT_FOUND_INFO))
        else:
            item = rules.result_item(peer)
            item["FollowType"] = follow_type(peer in mine, peer in fans)
            results.append(item)
    return {"ResultItem": results}


async def follow_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    which = FollowList(fields.integer(body, "FollowType", code=BAD, within=FOLLOW_TYPE))
    after = decode_cursor(
        fields.text(body, "StartCursor", code=BAD, required=False, max_len=MAX_CURSOR_CHARS)
    )
    size = page_size(fields.integer(body, "WantNum", code=BAD, within=WANT_NUM, required=False))
    await require_account(ctx, owner)
    entries = await ctx.deps.stores.follows.page(ctx.app.sdkappid, owner, which, after, size + 1)
    chunk, next_cursor = split_page(entries, size)
    values = await profile_values(ctx, [e.user for e in chunk])
    return {
        "FollowItem": [
            {
                "To_Account": e.user,
                "FollowTime": e.since,
                "ProfileItem": profile_item_list(values.get(e.user, {})),
            }
            for e in chunk
        ],
        "NextCursor": next_cursor,
    }


async def follow_get_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = _owner(body)
    users = _accounts(body, MAX_CHANGED_PER_REQUEST)
    await require_account(ctx, owner)
    missing = await missing_accounts(ctx, users)
    counts = await ctx.deps.stores.follows.counts(
        ctx.app.sdkappid, [u for u in users if u not in missing]
    )
    items: list[dict[str, Any]] = []
    for user in users:
        if user in missing:
            items.append(rules.result_item(user, ErrorCode.SNS_ACCOUNT_NOT_FOUND, NOT_FOUND_INFO))
            continue
        c = counts[user]
        items.append(
            rules.result_item(user)
            | {
                "FollowerCount": c.fans,
                "FollowingCount": c.following,
                "MutualFollowingCount": c.mutual,
            }
        )
    return {"FollowInfo": items}


def _switched_on(handler: Handler) -> Handler:
    """The follow service answers only while the app has its `follow` switch on (Tencent: turned
    on in the console before the commands work)."""

    async def run(ctx: RestContext, body: dict[str, Any]) -> Reply:
        messaging_settings.require_feature(ctx.app.settings, "follow", BAD)
        return await handler(ctx, body)

    return run


COMMANDS: dict[str, Handler] = {
    name: _switched_on(handler)
    for name, handler in {
        "follow_add": follow_add,
        "follow_delete": follow_delete,
        "follow_check": follow_check,
        "follow_get": follow_get,
        "follow_get_info": follow_get_info,
    }.items()
}


# ---- OpenAPI request bodies -------------------------------------------------------------------


class FollowItemModel(BaseModel):
    To_Account: str = Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)


class FollowAddRequest(BaseModel):
    From_Account: str = Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)
    FollowItem: list[FollowItemModel] = Field(min_length=1, max_length=MAX_CHANGED_PER_REQUEST)


class FollowAccountsRequest(BaseModel):
    From_Account: str = Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)
    To_Account: list[str] = Field(min_length=1, max_length=MAX_CHANGED_PER_REQUEST)


class FollowCheckRequest(BaseModel):
    From_Account: str = Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)
    To_Account: list[str] = Field(min_length=1, max_length=MAX_CHECKED_PER_REQUEST)


class FollowGetRequest(BaseModel):
    From_Account: str = Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)
    FollowType: int = Field(ge=1, le=3, description="1 fans, 2 following, 3 mutual")
    StartCursor: str = Field(default="", description='"" first, then the last NextCursor')
    WantNum: int = Field(default=DEFAULT_PAGE_SIZE, ge=0, le=MAX_PAGE_SIZE)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "follow_add": FollowAddRequest,
    "follow_delete": FollowAccountsRequest,
    "follow_check": FollowCheckRequest,
    "follow_get": FollowGetRequest,
    "follow_get_info": FollowAccountsRequest,
}
