"""sns: friend-list groups (group_add, group_delete, group_get)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.gateway import sns_rules as rules
from services.gateway.rest_v4 import accounts_check, fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.sns_common import (
    BAD,
    bump_sequences,
    group_overflow,
    owner_field,
    sequence_field,
    to_accounts_field,
)

# ---- friend-list groups ----------------------------------------------------------------------


def _group_list(body: dict[str, Any], *, required: bool) -> tuple[str, ...]:
    value = fields.raw(body, "GroupName")
    if value is None and not required:
        return ()
    names = rules.string_list(value, "GroupName", maximum=rules.MAX_GROUPS)
    if required and not names:
        raise TidingsError(BAD, "GroupName must not be empty")
    return rules.group_names(names, "GroupName")


async def group_add(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    names = _group_list(body, required=True)
    peers = to_accounts_field(body, required=False)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    existing = [n for n in names if n in meta.groups]
    if existing:
        raise TidingsError(BAD, f"group {existing[0]!r} already exists")
    if group_overflow(meta.groups, names):
        raise TidingsError(ErrorCode.SNS_GROUP_LIMIT, f"at most {rules.MAX_GROUPS} groups")
    mine = await store.get_friends(sdkappid, owner, peers)
    moved = [
        replace(f, groups=rules.merge_groups(f.groups, names)) for p in peers if (f := mine.get(p))
    ]
    await store.put_friends(sdkappid, moved)
    updated = await bump_sequences(
        ctx, owner, standard=bool(moved), groups=rules.merge_groups(meta.groups, names)
    )
    reply: Reply = {"CurrentSequence": updated.group_seq}
    if peers:
        reply |= rules.batch_reply(
            [
                rules.result_item(p)
                if p in mine
                else rules.result_item(
                    p, ErrorCode.SNS_GROUP_ADD_NOT_FRIEND, "Err_SNS_GroupAdd_ToTinyId_Not_Friend"
                )
                for p in peers
            ]
        )
    return reply


async def group_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    names = _group_list(body, required=True)
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    unknown = [n for n in names if n not in meta.groups]
    if unknown:
        raise TidingsError(BAD, f"group {unknown[0]!r} does not exist")
    friends = await store.list_friends(sdkappid, owner)
    moved = [
        replace(f, groups=tuple(g for g in f.groups if g not in names))
        for f in friends
        if set(f.groups) & set(names)
    ]
    await store.put_friends(sdkappid, moved)
    remaining = tuple(g for g in meta.groups if g not in names)
    updated = await bump_sequences(ctx, owner, standard=bool(moved), groups=remaining)
    return {"CurrentSequence": updated.group_seq}


async def group_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    owner = owner_field(body)
    need_friend = (
        rules.choice(
            fields.raw(body, "NeedFriend"), "NeedFriend", (rules.NEED_FRIEND_YES,), default=""
        )
        == rules.NEED_FRIEND_YES
    )
    wanted = _group_list(body, required=False)
    # As in black_list_get: what the caller saw last; the groups are served whatever it is.
    sequence_field(body, "LastSequence")
    await accounts_check.require_account(ctx, owner)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.sns
    meta = await store.get_meta(sdkappid, owner)
    friends = await store.list_friends(sdkappid, owner)
    # Names the user does not have are left out rather than failing the whole pull.
    shown = [g for g in meta.groups if not wanted or g in wanted]
    items: list[dict[str, Any]] = []
    for group in shown:
        members = [f.peer for f in friends if group in f.groups]
        item: dict[str, Any] = {"GroupName": group, "FriendNumber": len(members)}
        if need_friend:
            item["To_Account"] = members
        items.append(item)
    return {"ResultItem": items, "CurrentSequence": meta.group_seq}


COMMANDS: dict[str, Handler] = {
    "group_add": group_add,
    "group_delete": group_delete,
    "group_get": group_get,
}
