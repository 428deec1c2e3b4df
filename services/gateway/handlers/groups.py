"""Groups as the app manages them: list, read, members, mutes and destroy, with their rules.

REST v4 (group_open_http_svc) and the admin API (/admin/apps/{id}/groups) are thin adapters
over these; the caller is an app admin, who may do anything an owner may, while the group's
own rules still hold (a type without mutable members, members that must exist).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from services.common import events
from services.common.conversation_list import groups_as_of_last_ack
from services.common.errors import TidingsError
from services.common.store.groups import Group, GroupRef, Member
from services.gateway import group_rules as rules
from services.gateway.events import emit_rest
from services.gateway.rest_v4.context import RestContext
from services.gateway.rest_v4.group_common import BAD, join_order, now_s, require_members


@dataclass(frozen=True, slots=True)
class GroupPage:
    groups: list[GroupRef]
    # Groups of the type asked (every type: None) in the app.
    total: int
    # The list key to pass as `after` for the next page; 0 at the end.
    next_after: int


async def list_groups(
    ctx: RestContext, group_type: str | None, after: int, limit: int
) -> GroupPage:
    """The app's groups in creation order, after the list key `after` (0: from the first)."""
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    refs, total = await asyncio.gather(
        store.list_groups(sdkappid, group_type, after, limit + 1),
        store.count_groups(sdkappid, group_type),
    )
    more = len(refs) > limit
    refs = refs[:limit]
    return GroupPage(refs, total, refs[-1].list_key if more else 0)


async def find_groups(ctx: RestContext, group_ids: Sequence[str]) -> dict[str, Group]:
    """The groups that exist among well-formed IDs, with their last message as of the last
    ack (what the conversation list shows)."""
    sdkappid = ctx.app.sdkappid
    well_formed = [g for g in group_ids if rules.is_well_formed_group_id(g)]
    return await groups_as_of_last_ack(
        ctx.deps.tails, sdkappid, await ctx.deps.stores.groups.get_groups(sdkappid, well_formed)
    )


@dataclass(frozen=True, slots=True)
class MemberPage:
    members: list[Member]
    member_num: int
    # A Community's next page starts after this user ID; "" at the end, and for other types.
    next_after: str


async def member_page(
    ctx: RestContext,
    group: Group,
    offset: int,
    limit: int | None,
    roles: Sequence[str] | None = None,
    after: str = "",
) -> MemberPage:
    """A page of members. Other types list in join order (owner, then admins first among
    equals) and page by offset; a Community pages by user ID after `after`, and a role filter
    applies within its page, so a page may come back short while next_after continues."""
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    if group.group_type == rules.COMMUNITY:
        if offset:
            raise TidingsError(BAD, "a Community group pages with Next, not Offset")
        page_size = limit or rules.MAX_MEMBER_PAGE
        scanned, member_num = await asyncio.gather(
            store.members_after(sdkappid, group.group_id, after, page_size),
            store.count_members(sdkappid, group.group_id),
        )
        chosen = [m for m in scanned if roles is None or m.role in roles]
        next_after = scanned[-1].user_id if len(scanned) == page_size else ""
        return MemberPage(chosen, member_num, next_after)
    ordered = join_order(await store.members(sdkappid, group.group_id))
    chosen = [m for m in ordered if roles is None or m.role in roles]
    return MemberPage(rules.page(chosen, offset, limit), len(ordered), "")


async def mutes_changed(
    ctx: RestContext, group: Group, members: Sequence[Member], seconds: int
) -> None:
    await emit_rest(
        ctx,
        events.GROUP_MEMBERS_MUTED,
        group.group_id,
        {
            "GroupId": group.group_id,
            "Type": group.group_type,
            "Operator_Account": ctx.identifier,
            "MuteTime": seconds,
            "MemberList": events.members([m.user_id for m in members]),
        },
    )


async def mute(ctx: RestContext, group: Group, users: Sequence[str], seconds: int) -> list[Member]:
    """Mute members for `seconds` (0 lifts a mute, rules.PERMANENT_MUTE is for good); 10019
    when one is not a member, 10007 for a type whose members cannot be muted."""
    rules.require_mutable_members(group.group_type)
    members = list((await require_members(ctx, group, users)).values())
    until = rules.mute_until(now_s(), seconds)
    for member in members:
        member.mute_until = until
    await ctx.deps.stores.groups.put_members(ctx.app.sdkappid, group.group_id, members)
    await mutes_changed(ctx, group, members, seconds)
    return members


async def muted(ctx: RestContext, group: Group) -> list[Member]:
    """The members muted now."""
    now = now_s()
    members = await ctx.deps.stores.groups.members(ctx.app.sdkappid, group.group_id)
    return [m for m in members if rules.is_muted(m.mute_until, now)]


async def destroy(ctx: RestContext, group: Group) -> None:
    """Dissolve the group with everything kept for it; the destroyed event names its members."""
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    destroyed: dict[str, object] = {
        "GroupId": group.group_id,
        "Type": group.group_type,
        "Owner_Account": group.owner,
        "Name": group.name,
    }
    # Tencent's callback lists the members of every type but Community.
    if group.group_type != rules.COMMUNITY:
        members = await store.members(sdkappid, group.group_id)
        destroyed["MemberList"] = events.members([m.user_id for m in join_order(members)])
    await store.delete_group(sdkappid, group.group_id)
    await ctx.deps.stores.group_kv.drop_group(sdkappid, group.group_id)
    await ctx.deps.stores.group_bans.drop_group(sdkappid, group.group_id)
    await ctx.deps.stores.group_topics.drop_group(sdkappid, group.group_id)
    await ctx.deps.stores.avchatroom.drop_group(sdkappid, group.group_id)
    await emit_rest(ctx, events.GROUP_DESTROYED, group.group_id, destroyed)
