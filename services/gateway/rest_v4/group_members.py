"""group_open_http_svc: a group's members, managed by the app server: add, import, delete,
modify (role, mute, name card), list and query them, mutes, and the groups a user is in."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from services.common import custom_fields, events
from services.common.conversation_list import groups_as_of_last_ack
from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway.before_events import (
    INVITE_JOIN_GROUP,
    ask_rest,
    group_rejection,
    refused_members,
)
from services.gateway.bounds import UINT32, IntRange
from services.gateway.events import emit_rest, group_changed, group_unchanged
from services.gateway.handlers import groups as group_handlers
from services.gateway.handlers import membership
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import (
    BAD,
    MUTE_SECONDS,
    MUTE_TIME,
    account_list,
    base_info,
    flag_field,
    initial_member,
    load_group,
    member_entries,
    member_info,
    member_reply,
    name_list,
    now_s,
    optional_int,
    optional_text,
    parse_group_type_filter,
    parse_response_filter,
    pick_fields,
    require_accounts,
    require_members,
    roles_changed,
)

# Users looked up in the session registry per round trip.
_SESSION_BATCH = 500


async def _mutes_changed(
    ctx: RestContext, group: Group, members: Sequence[Member], seconds: int
) -> None:
    await group_handlers.mutes_changed(ctx, group, members, seconds)


# --- members ----------------------------------------------------------------------------


def _changes(ctx: RestContext, *, tips: bool) -> membership.MembershipEvents:
    """An app admin's changes of members: Tencent's JoinType Invited and ExitType Kicked, told
    to the members in group tips unless `tips` is off (Silence, and imports)."""

    async def emit(kind: str, entity: str, payload: Mapping[str, Any]) -> None:
        await emit_rest(ctx, kind, entity, payload, tips=tips)

    return membership.MembershipEvents(
        emit, ctx.identifier, events.JOIN_INVITED, events.EXIT_KICKED
    )


async def add_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    entries = member_entries(body, "MemberList", rules.MAX_ADD_MEMBERS)
    if not entries:
        raise TidingsError(BAD, "MemberList must name at least one Member_Account")
    silence = flag_field(body, "Silence")
    rules.require_member_list(group.group_type, "add_group_member")
    invited = [e["Member_Account"] for e in entries]
    verdict = await ask_rest(
        ctx,
        INVITE_JOIN_GROUP,
        {
            "GroupId": group.group_id,
            "Type": group.group_type,
            "Operator_Account": ctx.identifier,
            "DestinationMembers": events.members(invited),
        },
    )
    if not verdict.allowed:
        raise group_rejection(verdict)
    refused = refused_members(verdict.answer)
    now = now_s()
    candidates = [Member(u, join_time=now) for u in invited if u not in refused]
    await require_accounts(ctx, [m.user_id for m in candidates])
    deps = ctx.deps
    results = await membership.admit(
        deps.stores, deps.tails, ctx.app, group, candidates, events=_changes(ctx, tips=not silence)
    )
    # Tencent's Result 0: not added (kept out by the app's before-invite callback, or banned).
    return {
        "MemberList": [
            {"Member_Account": u, "Result": 0 if u in refused else results[u]} for u in invited
        ]
    }


async def import_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    entries = member_entries(body, "MemberList", rules.MAX_IMPORT_MEMBERS)
    if not entries:
        raise TidingsError(BAD, "MemberList must name at least one Member_Account")
    rules.require_member_list(group.group_type, "import_group_member")
    now = now_s()
    members: list[Member] = []
    for entry in entries:
        join_time = optional_int(entry, "JoinTime", within=IntRange(group.create_time, now))
        unread = optional_int(entry, "UnreadMsgNum", within=UINT32) or 0
        member = initial_member(entry, now if join_time is None else join_time, "Role")
        member.unread_msg_num = unread
        members.append(member)
    await require_accounts(ctx, [m.user_id for m in members])
    custom_fields.check_group_data(
        ctx.app.settings, group.group_type, {}, [m.app_defined for m in members]
    )
    # Imported members keep the unread count the import gives them.
    results = await membership.admit(
        ctx.deps.stores,
        ctx.deps.tails,
        ctx.app,
        group,
        members,
        events=_changes(ctx, tips=False),
        imported=True,
    )
    imported = [u for u, r in results.items() if r == membership.ADDED]
    if imported:
        # No callback (Tencent has none for imports); the send checks read member rows.
        await emit_rest(
            ctx,
            events.GROUP_MEMBERS_IMPORTED,
            group.group_id,
            {
                "GroupId": group.group_id,
                "Type": group.group_type,
                "MemberList": events.members(imported),
            },
        )
    else:
        await group_unchanged(ctx.app.sdkappid, group.group_id)
    return {"MemberList": [{"Member_Account": u, "Result": r} for u, r in results.items()]}


async def delete_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    users = account_list(body, "MemberToDel_Account", limit=rules.MAX_DELETE_MEMBERS)
    silence = flag_field(body, "Silence")
    # Tencent shows the Reason in the kicked member's notice; it is checked, not shown.
    fields.text(body, "Reason", code=BAD, required=False)
    rules.require_member_list(group.group_type, "delete_group_member", BAD)
    changes = _changes(ctx, tips=not silence)
    await membership.remove(ctx.deps.stores, ctx.app.sdkappid, group, users, changes)
    return {}


async def modify_group_member_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    user = fields.text(body, "Member_Account", code=BAD)
    member = (await require_members(ctx, group, [user]))[user]
    role = optional_text(body, "Role")
    role_changed = role is not None and role != member.role
    if role is not None:
        rules.check_role_change(member.role, role)
        member.role = role
    msg_flag = optional_text(body, "MsgFlag")
    if msg_flag is not None:
        if msg_flag not in rules.MSG_FLAGS:
            raise TidingsError(BAD, f"MsgFlag must be one of {', '.join(rules.MSG_FLAGS)}")
        member.msg_flag = msg_flag
    name_card = optional_text(body, "NameCard", max_len=rules.NAME_CARD_MAX_BYTES)
    member.name_card = member.name_card if name_card is None else name_card
    mute_seconds = optional_int(body, *MUTE_TIME, within=MUTE_SECONDS)
    if mute_seconds is not None:
        rules.require_mutable_members(group.group_type)
        member.mute_until = rules.mute_until(now_s(), mute_seconds)
    changes = rules.parse_defined_data(
        fields.raw(body, "AppMemberDefinedData"),
        "AppMemberDefinedData",
        rules.MAX_MEMBER_FIELDS,
        rules.MEMBER_FIELD_VALUE_MAX_BYTES,
    )
    custom_fields.check_group_data(ctx.app.settings, group.group_type, {}, [changes])
    member.app_defined = rules.merge_defined_data(
        member.app_defined, changes, "AppMemberDefinedData", rules.MAX_MEMBER_FIELDS
    )
    await ctx.deps.stores.groups.put_members(ctx.app.sdkappid, group.group_id, [member])
    if role_changed:
        await roles_changed(ctx, group, [member])
    if mute_seconds is not None:
        await _mutes_changed(ctx, group, [member], mute_seconds)
    if msg_flag is not None:
        # Fan-out reads MsgFlag (Discard: nothing; AcceptNotNotify: no push).
        await group_changed(ctx.app.sdkappid, group.group_id)
    return {}


async def get_group_member_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    limit = optional_int(body, "Limit", within=IntRange(0, rules.MAX_MEMBER_LIMIT)) or None
    offset = optional_int(body, "Offset", within=UINT32) or 0
    info_names = name_list(body, "MemberInfoFilter")
    role_filter = name_list(body, "MemberRoleFilter")
    defined_keys = name_list(body, "AppDefinedDataFilter_GroupMember")
    if role_filter is not None and any(r not in rules.ROLES for r in role_filter):
        raise TidingsError(BAD, "MemberRoleFilter holds Owner, Admin or Member")
    community = group.group_type == rules.COMMUNITY
    after = fields.text(body, "Next", code=BAD, required=False) if community and not offset else ""
    page = await group_handlers.member_page(ctx, group, offset, limit, role_filter, after)
    now = now_s()
    reply: Reply = {
        "MemberNum": page.member_num,
        "MemberList": [member_reply(m, now, info_names, defined_keys) for m in page.members],
    }
    # A Community pages with Next (the last user ID returned), not Offset.
    if community:
        reply["Next"] = page.next_after
    return reply


async def get_joined_group_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = fields.text(body, "Member_Account", code=BAD)
    limit = optional_int(body, "Limit", within=IntRange(0, rules.MAX_JOINED_GROUP_PAGE)) or None
    offset = optional_int(body, "Offset", within=UINT32) or 0
    group_type = parse_group_type_filter(body)
    with_huge = flag_field(body, "WithHugeGroups")
    with_no_active = flag_field(body, "WithNoActiveGroups")
    response_filter = parse_response_filter(body)
    await require_accounts(ctx, [user])
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    joined = await store.joined_groups(sdkappid, user)
    candidates = [j.group_id for j in joined if group_type in (None, j.group_type)]
    groups = await groups_as_of_last_ack(
        ctx.deps.tails, sdkappid, await store.get_groups(sdkappid, candidates)
    )
    listed = [
        groups[g]
        for g in candidates
        if g in groups
        and rules.listed_in_joined_groups(
            groups[g].group_type, groups[g].last_msg_time, with_huge, with_no_active
        )
    ]
    chosen: list[Group] = rules.page(listed, offset, limit)
    entries: list[dict[str, Any]] = [{"GroupId": g.group_id} for g in chosen]
    if response_filter is not None:
        base_names = name_list(response_filter, "GroupBaseInfoFilter")
        self_names = name_list(response_filter, "SelfInfoFilter")
        if base_names is not None:
            counts: Sequence[int] = [0] * len(chosen)
            if "MemberNum" in base_names:
                counts = await asyncio.gather(
                    *(store.count_members(sdkappid, g.group_id) for g in chosen)
                )
            for entry, group, member_num in zip(entries, chosen, counts, strict=True):
                entry.update(pick_fields(base_info(sdkappid, group, member_num), base_names))
        if self_names is not None:
            selves = await asyncio.gather(
                *(store.get_members(sdkappid, g.group_id, [user]) for g in chosen)
            )
            now = now_s()
            for entry, self_info in zip(entries, selves, strict=True):
                if user in self_info:
                    me = self_info[user]
                    # SelfInfo also offers the member's unread count (set_unread_msg_num,
                    # import_group_member); Tencent's member profile has no such field.
                    full = {**member_info(me, now), "UnreadMsgNum": me.unread_msg_num}
                    info = pick_fields(full, self_names)
                    info.pop("Member_Account", None)
                    entry["SelfInfo"] = info
    return {"TotalCount": len(listed), "GroupIdList": entries}


async def get_role_in_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    users = account_list(body, "User_Account", limit=rules.MAX_ROLE_QUERY_ACCOUNTS)
    found = await ctx.deps.stores.groups.get_members(ctx.app.sdkappid, group.group_id, users)
    return {
        "UserIdList": [
            {"Member_Account": u, "Role": found[u].role if u in found else rules.NOT_MEMBER}
            for u in users
        ]
    }


async def get_online_member_num(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    if group.group_type != rules.AVCHATROOM:
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION, "get_online_member_num is for AVChatRoom groups only"
        )
    sdkappid = ctx.app.sdkappid
    users = [m.user_id for m in await ctx.deps.stores.groups.members(sdkappid, group.group_id)]
    online = 0
    for start in range(0, len(users), _SESSION_BATCH):
        batch = users[start : start + _SESSION_BATCH]
        sessions = await ctx.deps.sessions.lookup([(sdkappid, u) for u in batch])
        online += sum(1 for conns in sessions if conns)
    return {"OnlineMemberNum": online}


async def forbid_send_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    users = account_list(body, "Members_Account", limit=rules.MAX_MUTE_ACCOUNTS)
    seconds = fields.integer(body, *MUTE_TIME, code=BAD, within=MUTE_SECONDS)
    await group_handlers.mute(ctx, group, users, seconds)
    return {}


async def _muted(ctx: RestContext, group: Group) -> list[Member]:
    return await group_handlers.muted(ctx, group)


async def get_group_muted_account(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    muted = await _muted(ctx, group)
    return {
        "GroupId": group.group_id,
        "MutedAccountList": [
            {"Member_Account": m.user_id, "MutedUntil": m.mute_until} for m in muted
        ],
    }


async def get_group_shutted_uin(ctx: RestContext, body: dict[str, Any]) -> Reply:
    """The same list under Tencent's earlier command and field names."""
    group = await load_group(ctx, body)
    muted = await _muted(ctx, group)
    return {
        "GroupId": group.group_id,
        "ShuttedUinList": [
            {"Member_Account": m.user_id, "ShuttedUntil": m.mute_until} for m in muted
        ],
    }


COMMANDS: dict[str, Handler] = {
    "add_group_member": add_group_member,
    "import_group_member": import_group_member,
    "delete_group_member": delete_group_member,
    "modify_group_member_info": modify_group_member_info,
    "get_group_member_info": get_group_member_info,
    "get_joined_group_list": get_joined_group_list,
    "get_role_in_group": get_role_in_group,
    "get_online_member_num": get_online_member_num,
    "forbid_send_msg": forbid_send_msg,
    "get_group_muted_account": get_group_muted_account,
    "get_group_shutted_uin": get_group_shutted_uin,
}
