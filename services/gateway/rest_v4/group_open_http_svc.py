"""group_open_http_svc: groups and their members, managed by the app server (Tencent REST v4).

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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from services.common import events
from services.common.conversation_list import groups_as_of_last_ack
from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway import membership
from services.gateway.before_events import (
    CREATE_GROUP,
    INVITE_JOIN_GROUP,
    ask_rest,
    group_rejection,
    refused_members,
    wants,
)
from services.gateway.bounds import FLAG, STORED_U64, UINT32, IntRange
from services.gateway.events import emit_rest, group_changed, group_unchanged
from services.gateway.quotas import has_member_addon
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.GROUP_INVALID_PARAM
# Tries at drawing a generated group ID before giving up (each collision is ~1 in 36**10).
_ID_ATTEMPTS = 5
# Users looked up in the session registry per round trip.
_SESSION_BATCH = 500

_MUTE_TIME = ("ShutUpTime", "MuteTime")
# 0 lifts a mute; PERMANENT_MUTE mutes for good.
MUTE_SECONDS = IntRange(0, rules.PERMANENT_MUTE)
_MUTE_ALL = ("ShutUpAllMember", "MuteAllMember")


def _now() -> int:
    return int(time.time())


# --- request fields ---------------------------------------------------------------------


def _optional_int(body: dict[str, Any], *names: str, within: IntRange) -> int | None:
    return fields.optional_integer(body, *names, code=BAD, within=within)


def _optional_text(body: dict[str, Any], *names: str, max_len: int | None = None) -> str | None:
    if fields.raw(body, *names) is None:
        return None
    return fields.text(body, *names, code=BAD, required=False, max_len=max_len)


def _flag(body: dict[str, Any], name: str) -> bool:
    return fields.integer(body, name, code=BAD, within=FLAG, required=False) == 1


def account_list(body: dict[str, Any], *names: str, limit: int) -> list[str]:
    raw = fields.raw(body, *names)
    if raw is None:
        raise TidingsError(BAD, f"{names[0]} is required")
    if not isinstance(raw, list) or not all(isinstance(u, str) and u for u in raw):
        raise TidingsError(BAD, f"{names[0]} must be an array of non-empty account strings")
    if not raw:
        raise TidingsError(BAD, f"{names[0]} must not be empty")
    unique = list(dict.fromkeys(raw))
    rules.check_account_count(len(unique), limit, names[0])
    return unique


def _member_entries(body: dict[str, Any], name: str, limit: int) -> list[dict[str, Any]]:
    """An array of {Member_Account, ...}, one entry per account (the first one wins)."""
    raw = fields.raw(body, name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TidingsError(BAD, f"{name} must be an array of {{Member_Account, ...}}")
    entries: dict[str, dict[str, Any]] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD, f"each {name} item must be an object with Member_Account")
        account = fields.text(item, "Member_Account", code=BAD)
        entries.setdefault(account, item)
    rules.check_account_count(len(entries), limit, name)
    return list(entries.values())


def name_list(container: Mapping[str, Any], name: str) -> list[str] | None:
    raw = container.get(name)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise TidingsError(BAD, f"{name} must be an array of strings")
    return raw


def _response_filter(body: dict[str, Any]) -> dict[str, Any] | None:
    raw = fields.raw(body, "ResponseFilter")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TidingsError(BAD, "ResponseFilter must be an object")
    return raw


def _group_type_filter(body: dict[str, Any]) -> str | None:
    name = fields.text(body, "GroupType", "Type", code=BAD, required=False)
    return rules.require_type(name, "GroupType") if name else None


# --- lookups ----------------------------------------------------------------------------


async def load_group(ctx: RestContext, body: dict[str, Any]) -> Group:
    group_id = rules.require_group_id(fields.text(body, "GroupId", code=BAD))
    group = await ctx.deps.stores.groups.get_group(ctx.app.sdkappid, group_id)
    if group is None:
        raise TidingsError(
            ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist or was dissolved"
        )
    return group


async def require_accounts(ctx: RestContext, users: Sequence[str]) -> None:
    auth = ctx.deps.auth
    missing = await auth.missing_accounts(
        ctx.app.sdkappid, [u for u in dict.fromkeys(users) if not auth.is_admin(ctx.app, u)]
    )
    if missing:
        raise TidingsError(
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND, f"accounts not imported: {', '.join(missing)}"
        )


async def _require_members(
    ctx: RestContext, group: Group, users: Sequence[str]
) -> dict[str, Member]:
    found = await ctx.deps.stores.groups.get_members(ctx.app.sdkappid, group.group_id, users)
    absent = [u for u in users if u not in found]
    if absent:
        raise TidingsError(
            ErrorCode.GROUP_ACCOUNT_NOT_FOUND,
            f"not members of group {group.group_id!r}: {', '.join(absent)}",
        )
    return found


# --- reply shapes -----------------------------------------------------------------------


def _defined_list(values: Mapping[str, str], keys: Sequence[str] | None) -> list[dict[str, str]]:
    chosen = values if keys is None else {k: values[k] for k in keys if k in values}
    return [{"Key": k, "Value": v} for k, v in chosen.items()]


def _pick(info: dict[str, Any], names: Sequence[str] | None) -> dict[str, Any]:
    return dict(info) if names is None else {n: info[n] for n in names if n in info}


def _base_info(sdkappid: int, g: Group, member_num: int) -> dict[str, Any]:
    mute_all = "On" if g.mute_all else "Off"
    info: dict[str, Any] = {
        "Type": g.group_type,
        "Name": g.name,
        "Appid": sdkappid,
        "Introduction": g.introduction,
        "Notification": g.notification,
        "FaceUrl": g.face_url,
        "Owner_Account": g.owner,
        "CreateTime": g.create_time,
        "InfoSeq": g.info_seq,
        "LastInfoTime": g.last_info_time,
        "LastMsgTime": g.last_msg_time,
        "NextMsgSeq": g.next_msg_seq,
        "MemberNum": member_num,
        "MaxMemberNum": g.max_members,
        "ApplyJoinOption": g.apply_join_option,
        "InviteJoinOption": g.invite_join_option,
        "ShutUpAllMember": mute_all,
        "MuteAllMember": mute_all,
    }
    if g.group_type == rules.COMMUNITY:
        info["SupportTopic"] = int(g.support_topic)
    return info


def _member_info(m: Member, now: int) -> dict[str, Any]:
    until = m.mute_until if rules.is_muted(m.mute_until, now) else 0
    return {
        "Member_Account": m.user_id,
        "Role": m.role,
        "JoinTime": m.join_time,
        "MsgSeq": m.msg_seq,
        "MsgFlag": m.msg_flag,
        "LastSendMsgTime": m.last_send_msg_time,
        "ShutUpUntil": until,
        "MuteUntil": until,
        "NameCard": m.name_card,
    }


def member_reply(
    m: Member, now: int, info_names: Sequence[str] | None, defined_keys: Sequence[str] | None
) -> dict[str, Any]:
    reply = {"Member_Account": m.user_id, **_pick(_member_info(m, now), info_names)}
    defined = _defined_list(m.app_defined, defined_keys)
    if defined:
        reply["AppMemberDefinedData"] = defined
    return reply


def _join_order(members: Sequence[Member]) -> list[Member]:
    """Oldest first; among members who joined in the same second (a group's creation), the
    owner, then admins."""
    return sorted(members, key=lambda m: (m.join_time, rules.ROLES.index(m.role), m.user_id))


# --- creating groups --------------------------------------------------------------------


def _initial_member(entry: dict[str, Any], join_time: int, role_field: str) -> Member:
    role = fields.text(entry, "Role", code=BAD, required=False) or rules.MEMBER
    rules.require_role_value(role, role_field)
    defined = rules.without_empty(
        rules.parse_defined_data(
            entry.get("AppMemberDefinedData"),
            "AppMemberDefinedData",
            rules.MAX_MEMBER_FIELDS,
            rules.MEMBER_FIELD_VALUE_MAX_BYTES,
        )
    )
    return Member(entry["Member_Account"], role=role, join_time=join_time, app_defined=defined)


def _profile_from(body: dict[str, Any], edition: str, addon: bool, create_time: int) -> Group:
    """The group a create_group / import_group body describes; its group_id is "" when the
    caller leaves the ID to us."""
    group_type = rules.require_type(fields.text(body, "Type", code=BAD))
    name = fields.text(body, "Name", code=BAD, max_len=rules.NAME_MAX_BYTES)
    custom_id = fields.text(body, "GroupId", code=BAD, required=False)
    if custom_id:
        rules.check_custom_group_id(custom_id, group_type)
    support_topic = _flag(body, "SupportTopic")
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
            _optional_int(body, "MaxMemberCount", "MaxMemberNum", within=UINT32),
            addon=addon,
        ),
        apply_join_option=rules.resolve_apply_join_option(
            group_type, _optional_text(body, "ApplyJoinOption")
        ),
        invite_join_option=rules.resolve_invite_join_option(
            group_type, _optional_text(body, "InviteJoinOption")
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


async def create_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    now = _now()
    group = _profile_from(body, ctx.app.edition, has_member_addon(ctx.app.settings), now)
    entries = _member_entries(body, "MemberList", rules.MAX_CREATE_MEMBERS)
    if entries and not rules.has_member_list(group.group_type):
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION,
            "an AVChatRoom group takes no MemberList: its members join through the SDK",
        )
    members = [_initial_member(e, now, "MemberList Role") for e in entries]
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
    now = _now()
    create_time = _optional_int(body, "CreateTime", within=IntRange(0, now))
    group = _profile_from(
        body, ctx.app.edition, has_member_addon(ctx.app.settings), create_time or now
    )
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
    limit = _optional_int(body, "Limit", within=IntRange(1, rules.MAX_APP_GROUP_PAGE))
    limit = limit or rules.MAX_APP_GROUP_PAGE
    # Next is the last group's list key (creation time in microseconds), stored as int64.
    after = _optional_int(body, "Next", within=STORED_U64) or 0
    group_type = _group_type_filter(body)
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    refs, total = await asyncio.gather(
        store.list_groups(sdkappid, group_type, after, limit + 1),
        store.count_groups(sdkappid, group_type),
    )
    more = len(refs) > limit
    refs = refs[:limit]
    return {
        "TotalCount": total,
        "GroupIdList": [{"GroupId": r.group_id} for r in refs],
        "Next": refs[-1].list_key if more else 0,
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
        info.update(_pick(_base_info(sdkappid, group, member_num), wanted[_BASE_PART]))
    if _GROUP_DATA_PART in wanted:
        info["AppDefinedData"] = _defined_list(group.app_defined, wanted[_GROUP_DATA_PART])
    if want_members:
        member_keys = wanted.get(_MEMBER_DATA_PART, [])
        info["MemberList"] = [
            member_reply(m, now, wanted[_MEMBER_PART], member_keys) for m in _join_order(members)
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
    wanted = _wanted_parts(_response_filter(body))
    well_formed = [g for g in group_ids if rules.is_well_formed_group_id(g)]
    found = await groups_as_of_last_ack(
        ctx.deps.tails,
        ctx.app.sdkappid,
        await ctx.deps.stores.groups.get_groups(ctx.app.sdkappid, well_formed),
    )
    now = _now()
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
    value = _optional_text(body, *_MUTE_ALL)
    if value is None:
        return None
    if value not in ("On", "Off"):
        raise TidingsError(BAD, "ShutUpAllMember (MuteAllMember) must be On or Off")
    return value == "On"


async def modify_group_base_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    name = _optional_text(body, "Name", max_len=rules.NAME_MAX_BYTES)
    if name is not None:
        if not name:
            raise TidingsError(BAD, "Name must not be empty")
        group.name = name
    introduction = _optional_text(body, "Introduction", max_len=rules.INTRODUCTION_MAX_BYTES)
    notification = _optional_text(body, "Notification", max_len=rules.NOTIFICATION_MAX_BYTES)
    face_url = _optional_text(body, "FaceUrl", max_len=rules.FACE_URL_MAX_BYTES)
    group.introduction = group.introduction if introduction is None else introduction
    group.notification = group.notification if notification is None else notification
    group.face_url = group.face_url if face_url is None else face_url
    max_members = _optional_int(body, "MaxMemberNum", "MaxMemberCount", within=UINT32)
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
    apply_option = _optional_text(body, "ApplyJoinOption")
    if apply_option is not None:
        group.apply_join_option = rules.resolve_apply_join_option(group.group_type, apply_option)
    invite_option = _optional_text(body, "InviteJoinOption")
    if invite_option is not None:
        group.invite_join_option = rules.resolve_invite_join_option(group.group_type, invite_option)
    mute_all = _on_off(body)
    group.mute_all = group.mute_all if mute_all is None else mute_all
    changes = rules.parse_defined_data(
        fields.raw(body, "AppDefinedData"),
        "AppDefinedData",
        rules.MAX_GROUP_FIELDS,
        rules.GROUP_FIELD_VALUE_MAX_BYTES,
    )
    group.app_defined = rules.merge_defined_data(
        group.app_defined, changes, "AppDefinedData", rules.MAX_GROUP_FIELDS
    )
    group.info_seq += 1
    group.last_info_time = _now()
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
    else:
        # Not a callback fact, but a change the send checks read (ShutUpAllMember).
        await emit_rest(
            ctx,
            events.GROUP_MODIFIED,
            group.group_id,
            {
                "GroupId": group.group_id,
                "Type": group.group_type,
                "Operator_Account": ctx.identifier,
            },
        )
    return {}


async def destroy_group(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    store = ctx.deps.stores.groups
    destroyed: dict[str, Any] = {
        "GroupId": group.group_id,
        "Type": group.group_type,
        "Owner_Account": group.owner,
        "Name": group.name,
    }
    # Tencent's callback lists the members of every type but Community.
    if group.group_type != rules.COMMUNITY:
        members = await store.members(ctx.app.sdkappid, group.group_id)
        destroyed["MemberList"] = events.members([m.user_id for m in _join_order(members)])
    await store.delete_group(ctx.app.sdkappid, group.group_id)
    await ctx.deps.stores.group_kv.drop_group(ctx.app.sdkappid, group.group_id)
    await ctx.deps.stores.group_bans.drop_group(ctx.app.sdkappid, group.group_id)
    await ctx.deps.stores.avchatroom.drop_group(ctx.app.sdkappid, group.group_id)
    await emit_rest(ctx, events.GROUP_DESTROYED, group.group_id, destroyed)
    return {}


async def change_group_owner(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    new_owner = fields.text(body, "NewOwner_Account", code=BAD)
    rules.require_transferable(group.group_type)
    await require_accounts(ctx, [new_owner])
    found = await _require_members(ctx, group, [new_owner])
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
    group.last_info_time = _now()
    await store.save_group(sdkappid, group)
    await _roles_changed(ctx, group, changed)
    return {}


async def _roles_changed(ctx: RestContext, group: Group, members: Sequence[Member]) -> None:
    await emit_rest(
        ctx,
        events.GROUP_MEMBER_ROLE_CHANGED,
        group.group_id,
        {
            "GroupId": group.group_id,
            "Type": group.group_type,
            "Operator_Account": ctx.identifier,
            "MemberList": [{"Member_Account": m.user_id, "Role": m.role} for m in members],
        },
    )


async def _mutes_changed(
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


# --- members ----------------------------------------------------------------------------


async def _admit(
    ctx: RestContext, group: Group, candidates: Sequence[Member], *, read_from_now: bool
) -> dict[str, int]:
    """membership.admit for an app admin's add or import."""
    await require_accounts(ctx, [m.user_id for m in candidates])

    async def full() -> None:
        # Tencent calls Group.CallbackAfterGroupFull for a join refused as full too.
        await emit_rest(ctx, events.GROUP_FULL, group.group_id, {"GroupId": group.group_id})

    return await membership.admit(
        ctx.deps.stores,
        ctx.deps.tails,
        ctx.app,
        group,
        candidates,
        on_full=full,
        read_from_now=read_from_now,
    )


async def _joined(ctx: RestContext, group: Group, results: Mapping[str, int]) -> None:
    """The events of members added by an admin (Tencent's JoinType Invited), and of the group
    becoming full."""
    joined = [u for u, r in results.items() if r == 1]
    if not joined:
        # A retry: pay the membership version increment this node may still owe the group.
        await group_unchanged(ctx.app.sdkappid, group.group_id)
        return
    try:
        await emit_rest(
            ctx,
            events.GROUP_MEMBERS_JOINED,
            group.group_id,
            {
                "GroupId": group.group_id,
                "Type": group.group_type,
                "JoinType": events.JOIN_INVITED,
                "Operator_Account": ctx.identifier,
                "NewMemberList": events.members(joined),
            },
        )
    finally:
        # The members joined even if the version bump failed (10002).
        if group.max_members:
            count = await ctx.deps.stores.groups.count_members(ctx.app.sdkappid, group.group_id)
            if count >= group.max_members:
                await emit_rest(ctx, events.GROUP_FULL, group.group_id, {"GroupId": group.group_id})


async def add_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    entries = _member_entries(body, "MemberList", rules.MAX_ADD_MEMBERS)
    if not entries:
        raise TidingsError(BAD, "MemberList must name at least one Member_Account")
    # Silence mutes the member-joined tips, which nothing sends from here yet; it is checked all
    # the same.
    _flag(body, "Silence")
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
    now = _now()
    results = await _admit(
        ctx,
        group,
        [Member(u, join_time=now) for u in invited if u not in refused],
        read_from_now=True,
    )
    await _joined(ctx, group, results)
    # Tencent's Result 0: not added (kept out by the app's before-invite callback, or banned).
    return {
        "MemberList": [
            {"Member_Account": u, "Result": 0 if u in refused else results[u]} for u in invited
        ]
    }


async def import_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    entries = _member_entries(body, "MemberList", rules.MAX_IMPORT_MEMBERS)
    if not entries:
        raise TidingsError(BAD, "MemberList must name at least one Member_Account")
    rules.require_member_list(group.group_type, "import_group_member")
    now = _now()
    members: list[Member] = []
    for entry in entries:
        join_time = _optional_int(entry, "JoinTime", within=IntRange(group.create_time, now))
        unread = _optional_int(entry, "UnreadMsgNum", within=UINT32) or 0
        member = _initial_member(entry, now if join_time is None else join_time, "Role")
        member.unread_msg_num = unread
        members.append(member)
    # Imported members keep the unread count the import gives them.
    results = await _admit(ctx, group, members, read_from_now=False)
    imported = [u for u, r in results.items() if r == 1]
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
    # Silence and Reason shape the member-left tips, which nothing sends from here yet; they
    # are still checked, so a malformed request fails now rather than once tips exist.
    _flag(body, "Silence")
    fields.text(body, "Reason", code=BAD, required=False)
    rules.require_member_list(group.group_type, "delete_group_member")
    if group.owner and group.owner in users:
        raise TidingsError(
            BAD, "the owner cannot be removed; transfer ownership with change_group_owner first"
        )
    # Removing someone who is not (or no longer) a member is a no-op, so retries are safe.
    store = ctx.deps.stores.groups
    present = await store.get_members(ctx.app.sdkappid, group.group_id, users)
    await store.remove_members(ctx.app.sdkappid, group.group_id, users)
    exited = [u for u in users if u in present]
    if exited:
        await emit_rest(
            ctx,
            events.GROUP_MEMBERS_EXITED,
            group.group_id,
            {
                "GroupId": group.group_id,
                "Type": group.group_type,
                "ExitType": events.EXIT_KICKED,
                "Operator_Account": ctx.identifier,
                "ExitMemberList": events.members(exited),
            },
        )
    else:
        # None was a member when asked; one who joined meanwhile was removed all the same.
        await group_changed(ctx.app.sdkappid, group.group_id)
    return {}


async def modify_group_member_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    user = fields.text(body, "Member_Account", code=BAD)
    member = (await _require_members(ctx, group, [user]))[user]
    role = _optional_text(body, "Role")
    if role is not None:
        rules.check_role_change(member.role, role)
        member.role = role
    msg_flag = _optional_text(body, "MsgFlag")
    if msg_flag is not None:
        if msg_flag not in rules.MSG_FLAGS:
            raise TidingsError(BAD, f"MsgFlag must be one of {', '.join(rules.MSG_FLAGS)}")
        member.msg_flag = msg_flag
    name_card = _optional_text(body, "NameCard", max_len=rules.NAME_CARD_MAX_BYTES)
    member.name_card = member.name_card if name_card is None else name_card
    mute_seconds = _optional_int(body, *_MUTE_TIME, within=MUTE_SECONDS)
    if mute_seconds is not None:
        rules.require_mutable_members(group.group_type)
        member.mute_until = rules.mute_until(_now(), mute_seconds)
    changes = rules.parse_defined_data(
        fields.raw(body, "AppMemberDefinedData"),
        "AppMemberDefinedData",
        rules.MAX_MEMBER_FIELDS,
        rules.MEMBER_FIELD_VALUE_MAX_BYTES,
    )
    member.app_defined = rules.merge_defined_data(
        member.app_defined, changes, "AppMemberDefinedData", rules.MAX_MEMBER_FIELDS
    )
    await ctx.deps.stores.groups.put_members(ctx.app.sdkappid, group.group_id, [member])
    if role is not None:
        await _roles_changed(ctx, group, [member])
    if mute_seconds is not None:
        await _mutes_changed(ctx, group, [member], mute_seconds)
    if msg_flag is not None:
        # Fan-out reads MsgFlag (Discard: nothing; AcceptNotNotify: no push).
        await group_changed(ctx.app.sdkappid, group.group_id)
    return {}


async def get_group_member_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    limit = _optional_int(body, "Limit", within=IntRange(0, rules.MAX_MEMBER_PAGE)) or None
    offset = _optional_int(body, "Offset", within=UINT32) or 0
    info_names = name_list(body, "MemberInfoFilter")
    role_filter = name_list(body, "MemberRoleFilter")
    defined_keys = name_list(body, "AppDefinedDataFilter_GroupMember")
    if role_filter is not None and any(r not in rules.ROLES for r in role_filter):
        raise TidingsError(BAD, "MemberRoleFilter holds Owner, Admin or Member")
    store = ctx.deps.stores.groups
    sdkappid = ctx.app.sdkappid
    now = _now()
    reply: Reply = {}
    if group.group_type == rules.COMMUNITY:
        # A Community pages with Next (the last user ID returned), not Offset; a role filter
        # applies within the page, so a page may come back short while Next continues.
        if offset:
            raise TidingsError(BAD, "a Community group pages with Next, not Offset")
        after = fields.text(body, "Next", code=BAD, required=False)
        page_size = limit or rules.MAX_MEMBER_PAGE
        scanned, member_num = await asyncio.gather(
            store.members_after(sdkappid, group.group_id, after, page_size),
            store.count_members(sdkappid, group.group_id),
        )
        reply["Next"] = scanned[-1].user_id if len(scanned) == page_size else ""
        chosen = scanned
    else:
        chosen = _join_order(await store.members(sdkappid, group.group_id))
        member_num = len(chosen)
    if role_filter is not None:
        chosen = [m for m in chosen if m.role in role_filter]
    if group.group_type != rules.COMMUNITY:
        chosen = rules.page(chosen, offset, limit)
    return {
        "MemberNum": member_num,
        "MemberList": [member_reply(m, now, info_names, defined_keys) for m in chosen],
        **reply,
    }


async def get_joined_group_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = fields.text(body, "Member_Account", code=BAD)
    limit = _optional_int(body, "Limit", within=UINT32) or None
    offset = _optional_int(body, "Offset", within=UINT32) or 0
    group_type = _group_type_filter(body)
    with_huge = _flag(body, "WithHugeGroups")
    with_no_active = _flag(body, "WithNoActiveGroups")
    response_filter = _response_filter(body)
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
                entry.update(_pick(_base_info(sdkappid, group, member_num), base_names))
        if self_names is not None:
            selves = await asyncio.gather(
                *(store.get_members(sdkappid, g.group_id, [user]) for g in chosen)
            )
            now = _now()
            for entry, self_info in zip(entries, selves, strict=True):
                if user in self_info:
                    me = self_info[user]
                    # SelfInfo also offers the member's unread count (set_unread_msg_num,
                    # import_group_member); Tencent's member profile has no such field.
                    full = {**_member_info(me, now), "UnreadMsgNum": me.unread_msg_num}
                    info = _pick(full, self_names)
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
    seconds = fields.integer(body, *_MUTE_TIME, code=BAD, within=MUTE_SECONDS)
    rules.require_mutable_members(group.group_type)
    members = await _require_members(ctx, group, users)
    until = rules.mute_until(_now(), seconds)
    for member in members.values():
        member.mute_until = until
    await ctx.deps.stores.groups.put_members(
        ctx.app.sdkappid, group.group_id, list(members.values())
    )
    await _mutes_changed(ctx, group, list(members.values()), seconds)
    return {}


async def _muted(ctx: RestContext, group: Group) -> list[Member]:
    now = _now()
    members = await ctx.deps.stores.groups.members(ctx.app.sdkappid, group.group_id)
    return [m for m in members if rules.is_muted(m.mute_until, now)]


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
    "create_group": create_group,
    "import_group": import_group,
    "get_appid_group_list": get_appid_group_list,
    "get_group_info": get_group_info,
    "modify_group_base_info": modify_group_base_info,
    "destroy_group": destroy_group,
    "change_group_owner": change_group_owner,
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
