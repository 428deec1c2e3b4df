"""group_open_http_svc: groups, managed by the app server (Tencent REST v4): create, import,
list, read, modify, destroy, change owner. Their members are group_members.py, what both share
group_common.py, and COMMANDS here is the whole service's.

The caller is always an app admin, who may do anything an owner may; the group's own rules
still hold (types, capacities, owner and admin roles, mutes). Message commands (send, recall,
history, unread counts) live elsewhere.

Choices where Tencent's reference leaves room:
- A group's type is stored and returned under its current name (Work, Meeting) whichever name
  created it; filters accept both names.
- Replies carry a member's mute end under both names, ShutUpUntil and MuteUntil, and the
  whole-group mute as ShutUpAllMember and MuteAllMember, so callers of either generation of
  Tencent's reference find their field. A time that has passed reads 0 (not muted).
- AVChatRoom members join through the SDK: REST cannot add, import or remove them (10007, as
  Tencent), get_group_info lists no members for AVChatRoom and Community groups (use
  get_group_member_info), and get_online_member_num counts the members with a live session.
- Members are listed in join order (owner, admins first among equals); Community pages
  follow user ID, with Next.
- A Community is created or imported only with the app's console switch `community` on, and
  one with SupportTopic 1 only with `community_topics` on too (both off by default, as
  Tencent's); while off, 10007 (Tencent names no code).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from services.common import custom_fields, events, messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway.before_events import (
    CREATE_GROUP,
    ask_rest,
    group_rejection,
    wants,
)
from services.gateway.bounds import STORED_U64, UINT32, IntRange
from services.gateway.events import emit_rest
from services.gateway.handlers import groups, membership
from services.gateway.quotas import has_member_addon
from services.gateway.rest_v4 import fields, group_members
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import (
    BAD,
    MUTE_ALL,
    base_info,
    defined_list,
    flag_field,
    initial_member,
    join_order,
    load_group,
    member_entries,
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

# Tries at drawing a generated group ID before giving up (each collision is ~1 in 36**10).
_ID_ATTEMPTS = 5


def _profile_from(body: dict[str, Any], edition: str, addon: bool, create_time: int) -> Group:
    """The group a create_group / import_group body describes; its group_id is "" when the
    caller leaves the ID to us."""
    group_type = rules.require_type(fields.text(body, "Type", code=BAD))
    name = fields.text(body, "Name", code=BAD, max_len=rules.NAME_MAX_BYTES)
    custom_id = fields.text(body, "GroupId", code=BAD, required=False)
    if custom_id:
        rules.check_custom_group_id(custom_id, group_type)
    support_topic = flag_field(body, "SupportTopic")
    if support_topic and group_type != rules.COMMUNITY:
        raise TidingsError(BAD, "SupportTopic is for Community groups only")
    return Group(
        group_id=custom_id,
        group_type=group_type,
        name=name,
        owner=fields.text(body, "Owner_Account", code=BAD, required=False),
        introduction=fields.text(
            body, "Introduction", code=BAD, required=False, max_len=rules.INTRODUCTION_MAX_BYTES
        ),
        notification=fields.text(
            body, "Notification", code=BAD, required=False, max_len=rules.NOTIFICATION_MAX_BYTES
        ),
        face_url=fields.text(
            body, "FaceUrl", code=BAD, required=False, max_len=rules.FACE_URL_MAX_BYTES
        ),
        max_members=rules.resolve_max_members(
            group_type,
            edition,
            optional_int(body, "MaxMemberCount", "MaxMemberNum", within=UINT32),
            addon=addon,
        ),
        apply_join_option=rules.resolve_apply_join_option(
            group_type, optional_text(body, "ApplyJoinOption")
        ),
        invite_join_option=rules.resolve_invite_join_option(
            group_type, optional_text(body, "InviteJoinOption")
        ),
        support_topic=support_topic,
        create_time=create_time,
        last_info_time=create_time,
        app_defined=rules.without_empty(
            rules.parse_defined_data(
                fields.raw(body, "AppDefinedData"),
                "AppDefinedData",
                rules.MAX_GROUP_FIELDS,
                rules.GROUP_FIELD_VALUE_MAX_BYTES,
            )
        ),
    )


async def _store_new_group(ctx: RestContext, group: Group, members: Sequence[Member]) -> str:
    """Create the group (under a generated ID if it has none); returns its ID."""
    custom_fields.check_group_data(
        ctx.app.settings, group.group_type, group.app_defined, [m.app_defined for m in members]
    )
    joining = [m.user_id for m in members]
    await require_accounts(ctx, [group.owner, *joining] if group.owner else joining)
    rules.check_room(group.max_members, 0, len(members))
    if rules.counts_against_join_quota(group.group_type):
        await membership.check_join_quota(ctx.deps.stores, ctx.app, joining)
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    if group.group_id:
        if not await store.create_group(sdkappid, group, members):
            raise TidingsError(
                ErrorCode.GROUP_ID_IN_USE, f"group ID {group.group_id!r} is already in use"
            )
        return group.group_id
    for _ in range(_ID_ATTEMPTS):
        group.group_id = rules.generated_group_id(group.group_type, rules.random_id_body())
        if await store.create_group(sdkappid, group, members):
            return group.group_id
    raise TidingsError(ErrorCode.GROUP_INTERNAL, "could not draw a free group ID, please retry")


def _with_owner(group: Group, members: list[Member], join_time: int) -> list[Member]:
    """The owner joins as Owner (AVChatRoom owners join through the SDK, like everyone)."""
    if not group.owner or not rules.has_member_list(group.group_type):
        return members
    others = [m for m in members if m.user_id != group.owner]
    return [Member(group.owner, role=rules.OWNER, join_time=join_time), *others]


def _created_reply(group: Group) -> Reply:
    reply: Reply = {"GroupId": group.group_id}
    if group.group_type == rules.COMMUNITY:
        # Tencent's Community reply also names the type and says it is not a huge group.
        reply.update({"Type": group.group_type, "HugeGroupFlag": 0})
    return reply


def _require_type_enabled(ctx: RestContext, group: Group) -> None:
    """Communities, and those with topics, need the app's console switches (off by default)."""
    if group.group_type == rules.COMMUNITY:
        messaging_settings.require_feature(
            ctx.app.settings, "community", ErrorCode.GROUP_NO_PERMISSION
        )
    if group.support_topic:
        messaging_settings.require_feature(
            ctx.app.settings, "community_topics", ErrorCode.GROUP_NO_PERMISSION
        )


async def create_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    now = now_s()
    group = _profile_from(body, ctx.app.edition, has_member_addon(ctx.app.settings), now)
    _require_type_enabled(ctx, group)
    entries = member_entries(body, "MemberList", rules.MAX_CREATE_MEMBERS)
    if entries and not rules.has_member_list(group.group_type):
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION,
            "an AVChatRoom group takes no MemberList: its members join through the SDK",
        )
    members = [initial_member(e, now, "MemberList Role") for e in entries]
    members = _with_owner(group, members, now)
    await _before_create(ctx, group, members)
    await _store_new_group(ctx, group, members)
    await emit_rest(
        ctx,
        events.GROUP_CREATED,
        group.group_id,
        {
            "GroupId": group.group_id,
            "Type": group.group_type,
            "Operator_Account": ctx.identifier,
            "Owner_Account": group.owner,
            "Name": group.name,
            "MemberList": events.members([m.user_id for m in members]),
            "UserDefinedDataList": events.defined_data(group.app_defined),
        },
    )
    return _created_reply(group)


async def _before_create(ctx: RestContext, group: Group, members: Sequence[Member]) -> None:
    if not wants(ctx.app, CREATE_GROUP):
        return
    owned = 0
    if group.owner:
        joined = await ctx.deps.stores.groups.joined_groups(ctx.app.sdkappid, group.owner)
        owned = sum(1 for j in joined if j.group_type == group.group_type)
    verdict = await ask_rest(
        ctx,
        CREATE_GROUP,
        {
            "Operator_Account": ctx.identifier,
            "Owner_Account": group.owner,
            "Type": group.group_type,
            "Name": group.name,
            # Groups of this type the owner is in: Tidings does not keep who created a group.
            "CreateGroupNum": owned,
            "MemberList": events.members([m.user_id for m in members if m.user_id != group.owner]),
        },
    )
    if not verdict.allowed:
        raise group_rejection(verdict)


async def import_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    now = now_s()
    create_time = optional_int(body, "CreateTime", within=IntRange(0, now))
    group = _profile_from(
        body, ctx.app.edition, has_member_addon(ctx.app.settings), create_time or now
    )
    _require_type_enabled(ctx, group)
    rules.require_member_list(group.group_type, "import_group")
    members = _with_owner(group, [], group.create_time)
    await _store_new_group(ctx, group, members)
    # No callback (Tencent has none for imports); gateways may have cached "no such group".
    await emit_rest(
        ctx,
        events.GROUP_IMPORTED,
        group.group_id,
        {"GroupId": group.group_id, "Type": group.group_type},
    )
    return _created_reply(group)


# --- group profile ----------------------------------------------------------------------


async def get_appid_group_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    limit = optional_int(body, "Limit", within=IntRange(1, rules.MAX_APP_GROUP_PAGE))
    limit = limit or rules.MAX_APP_GROUP_PAGE
    # Next is the last group's list key (creation time in microseconds), stored as int64.
    after = optional_int(body, "Next", within=STORED_U64) or 0
    page = await groups.list_groups(ctx, parse_group_type_filter(body), after, limit)
    return {
        "TotalCount": page.total,
        "GroupIdList": [{"GroupId": r.group_id} for r in page.groups],
        "Next": page.next_after,
    }


_BASE_PART = "GroupBaseInfoFilter"
_MEMBER_PART = "MemberInfoFilter"
_GROUP_DATA_PART = "AppDefinedDataFilter_Group"
_MEMBER_DATA_PART = "AppDefinedDataFilter_GroupMember"


def _wanted_parts(response_filter: dict[str, Any] | None) -> dict[str, list[str] | None]:
    """The parts of a group's info to return, each with its names (None: all of them). No
    ResponseFilter: every part, whole. With one, only the parts it has a filter for."""
    parts = (_BASE_PART, _MEMBER_PART, _GROUP_DATA_PART, _MEMBER_DATA_PART)
    if response_filter is None:
        return dict.fromkeys(parts)
    return {p: names for p in parts if (names := name_list(response_filter, p)) is not None}


async def _group_info(
    ctx: RestContext, group: Group, wanted: dict[str, list[str] | None], now: int
) -> dict[str, Any]:
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    lists_members = rules.has_member_list(group.group_type) and group.group_type != rules.COMMUNITY
    want_members = lists_members and _MEMBER_PART in wanted
    members = await store.members(sdkappid, group.group_id) if want_members else []
    info: dict[str, Any] = {"GroupId": group.group_id, "ErrorCode": 0, "ErrorInfo": ""}
    if _BASE_PART in wanted:
        member_num = (
            len(members) if want_members else await store.count_members(sdkappid, group.group_id)
        )
        info.update(pick_fields(base_info(sdkappid, group, member_num), wanted[_BASE_PART]))
    if _GROUP_DATA_PART in wanted:
        info["AppDefinedData"] = defined_list(group.app_defined, wanted[_GROUP_DATA_PART])
    if want_members:
        member_keys = wanted.get(_MEMBER_DATA_PART, [])
        info["MemberList"] = [
            member_reply(m, now, wanted[_MEMBER_PART], member_keys) for m in join_order(members)
        ]
    return info


async def get_group_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    raw_ids = fields.raw(body, "GroupIdList")
    if not isinstance(raw_ids, list) or not all(isinstance(g, str) for g in raw_ids):
        raise TidingsError(BAD, "GroupIdList must be an array of group IDs")
    group_ids = list(dict.fromkeys(raw_ids))
    if not group_ids:
        raise TidingsError(BAD, "GroupIdList must not be empty")
    if len(group_ids) > rules.MAX_GROUP_INFO_IDS:
        raise TidingsError(
            BAD, f"GroupIdList holds {len(group_ids)} IDs, at most {rules.MAX_GROUP_INFO_IDS}"
        )
    wanted = _wanted_parts(parse_response_filter(body))
    found = await groups.find_groups(ctx, group_ids)
    now = now_s()
    infos = await asyncio.gather(
        *(_group_info(ctx, found[g], wanted, now) for g in group_ids if g in found)
    )
    by_id = {i["GroupId"]: i for i in infos}
    reply: list[dict[str, Any]] = []
    for group_id in group_ids:
        if group_id in by_id:
            reply.append(by_id[group_id])
        elif rules.is_well_formed_group_id(group_id):
            reply.append(
                {
                    "GroupId": group_id,
                    "ErrorCode": int(ErrorCode.GROUP_NOT_FOUND),
                    "ErrorInfo": "the group does not exist or was dissolved",
                }
            )
        else:
            reply.append(
                {
                    "GroupId": group_id,
                    "ErrorCode": int(ErrorCode.GROUP_INVALID_ID),
                    "ErrorInfo": "not a group ID",
                }
            )
    return {"GroupInfo": reply}


def _on_off(body: dict[str, Any]) -> bool | None:
    value = optional_text(body, *MUTE_ALL)
    if value is None:
        return None
    if value not in ("On", "Off"):
        raise TidingsError(BAD, "ShutUpAllMember (MuteAllMember) must be On or Off")
    return value == "On"


async def modify_group_base_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    name = optional_text(body, "Name", max_len=rules.NAME_MAX_BYTES)
    if name is not None:
        if not name:
            raise TidingsError(BAD, "Name must not be empty")
        group.name = name
    introduction = optional_text(body, "Introduction", max_len=rules.INTRODUCTION_MAX_BYTES)
    notification = optional_text(body, "Notification", max_len=rules.NOTIFICATION_MAX_BYTES)
    face_url = optional_text(body, "FaceUrl", max_len=rules.FACE_URL_MAX_BYTES)
    group.introduction = group.introduction if introduction is None else introduction
    group.notification = group.notification if notification is None else notification
    group.face_url = group.face_url if face_url is None else face_url
    max_members = optional_int(body, "MaxMemberNum", "MaxMemberCount", within=UINT32)
    # Tencent ignores MaxMemberNum for AVChatRoom groups, which have no limit.
    if max_members is not None and rules.has_member_list(group.group_type):
        current = await ctx.deps.stores.groups.count_members(ctx.app.sdkappid, group.group_id)
        group.max_members = rules.resolve_max_members(
            group.group_type,
            ctx.app.edition,
            max_members,
            current,
            addon=has_member_addon(ctx.app.settings),
        )
    apply_option = optional_text(body, "ApplyJoinOption")
    if apply_option is not None:
        group.apply_join_option = rules.resolve_apply_join_option(group.group_type, apply_option)
    invite_option = optional_text(body, "InviteJoinOption")
    if invite_option is not None:
        group.invite_join_option = rules.resolve_invite_join_option(group.group_type, invite_option)
    mute_all = _on_off(body)
    mute_all_changed = mute_all is not None and mute_all != group.mute_all
    group.mute_all = group.mute_all if mute_all is None else mute_all
    changes = rules.parse_defined_data(
        fields.raw(body, "AppDefinedData"),
        "AppDefinedData",
        rules.MAX_GROUP_FIELDS,
        rules.GROUP_FIELD_VALUE_MAX_BYTES,
    )
    custom_fields.check_group_data(ctx.app.settings, group.group_type, changes)
    group.app_defined = rules.merge_defined_data(
        group.app_defined, changes, "AppDefinedData", rules.MAX_GROUP_FIELDS
    )
    group.info_seq += 1
    group.last_info_time = now_s()
    await ctx.deps.stores.groups.save_group(ctx.app.sdkappid, group)
    changed: dict[str, Any] = {
        field: value
        for field, value in (
            ("Name", name),
            ("Introduction", introduction),
            ("Notification", notification),
            ("FaceUrl", face_url),
        )
        if value is not None
    }
    # Tencent's callback names these four only; AppDefinedData changes cause none.
    if changed:
        await emit_rest(
            ctx,
            events.GROUP_INFO_CHANGED,
            group.group_id,
            {
                "GroupId": group.group_id,
                "Type": group.group_type,
                "Operator_Account": ctx.identifier,
                **changed,
            },
        )
    if mute_all_changed or not changed:
        # Not a callback fact, but a change the send checks read (ShutUpAllMember), and its
        # group tip names it.
        modified = {
            "GroupId": group.group_id,
            "Type": group.group_type,
            "Operator_Account": ctx.identifier,
        }
        if mute_all_changed:
            modified["ShutUpAllMember"] = "On" if group.mute_all else "Off"
        await emit_rest(ctx, events.GROUP_MODIFIED, group.group_id, modified)
    return {}


async def destroy_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    await groups.destroy(ctx, await load_group(ctx, body))
    return {}


async def change_group_owner(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    new_owner = fields.text(body, "NewOwner_Account", code=BAD)
    rules.require_transferable(group.group_type)
    await require_accounts(ctx, [new_owner])
    found = await require_members(ctx, group, [new_owner])
    if group.owner == new_owner:
        return {}
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    changed = [found[new_owner]]
    changed[0].role = rules.OWNER
    if group.owner:
        previous = await store.get_members(sdkappid, group.group_id, [group.owner])
        for member in previous.values():
            member.role = rules.MEMBER
            changed.append(member)
    await store.put_members(sdkappid, group.group_id, changed)
    group.owner = new_owner
    group.info_seq += 1
    group.last_info_time = now_s()
    await store.save_group(sdkappid, group)
    await roles_changed(ctx, group, changed)
    return {}


COMMANDS: dict[str, Handler] = {
    "create_group": create_group,
    "import_group": import_group,
    "get_appid_group_list": get_appid_group_list,
    "get_group_info": get_group_info,
    "modify_group_base_info": modify_group_base_info,
    "destroy_group": destroy_group,
    "change_group_owner": change_group_owner,
    **group_members.COMMANDS,
}
