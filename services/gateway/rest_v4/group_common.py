"""What the group_open_http_svc commands share: reading their fields (old and new names),
loading the group and checking accounts and members, and shaping group and member info as
Tencent answers it."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from services.common import events
from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway.bounds import FLAG, IntRange
from services.gateway.events import emit_rest
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import RestContext

BAD = ErrorCode.GROUP_INVALID_PARAM

MUTE_TIME = ("ShutUpTime", "MuteTime")
# 0 lifts a mute; PERMANENT_MUTE mutes for good.
MUTE_SECONDS = IntRange(0, rules.PERMANENT_MUTE)
MUTE_ALL = ("ShutUpAllMember", "MuteAllMember")


def now_s() -> int:
    return int(time.time())


# --- request fields ---------------------------------------------------------------------


def optional_int(body: dict[str, Any], *names: str, within: IntRange) -> int | None:
    return fields.optional_integer(body, *names, code=BAD, within=within)


def optional_text(body: dict[str, Any], *names: str, max_len: int | None = None) -> str | None:
    if fields.raw(body, *names) is None:
        return None
    return fields.text(body, *names, code=BAD, required=False, max_len=max_len)


def flag_field(body: dict[str, Any], name: str) -> bool:
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


def member_entries(body: dict[str, Any], name: str, limit: int) -> list[dict[str, Any]]:
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


def parse_response_filter(body: dict[str, Any]) -> dict[str, Any] | None:
    raw = fields.raw(body, "ResponseFilter")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise TidingsError(BAD, "ResponseFilter must be an object")
    return raw


def parse_group_type_filter(body: dict[str, Any]) -> str | None:
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


async def require_members(
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


def defined_list(values: Mapping[str, str], keys: Sequence[str] | None) -> list[dict[str, str]]:
    chosen = values if keys is None else {k: values[k] for k in keys if k in values}
    return [{"Key": k, "Value": v} for k, v in chosen.items()]


def pick_fields(info: dict[str, Any], names: Sequence[str] | None) -> dict[str, Any]:
    return dict(info) if names is None else {n: info[n] for n in names if n in info}


def base_info(sdkappid: int, g: Group, member_num: int) -> dict[str, Any]:
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


def member_info(m: Member, now: int) -> dict[str, Any]:
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
    reply = {"Member_Account": m.user_id, **pick_fields(member_info(m, now), info_names)}
    defined = defined_list(m.app_defined, defined_keys)
    if defined:
        reply["AppMemberDefinedData"] = defined
    return reply


def join_order(members: Sequence[Member]) -> list[Member]:
    """Oldest first; among members who joined in the same second (a group's creation), the
    owner, then admins."""
    return sorted(members, key=lambda m: (m.join_time, rules.ROLES.index(m.role), m.user_id))


# --- creating groups --------------------------------------------------------------------


def initial_member(entry: dict[str, Any], join_time: int, role_field: str) -> Member:
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


async def roles_changed(ctx: RestContext, group: Group, members: Sequence[Member]) -> None:
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
