"""Member bans and named members (group_open_http_svc), and group message edits (openim).

group_open_http_svc: ban_group_member, unban_group_member, get_group_ban_member and
get_specified_group_member_info; openim: modify_group_msg, at Tencent's path
v4/openim/modify_group_msg.

Tencent's reference: a ban names at most 20 Members_Account, a Duration in seconds (unsigned
32-bit) and an optional Description of at most 1000 bytes; a banned member receives nothing
and cannot come back into the group until the ban ends or is lifted. get_group_ban_member pages
with Offset and Limit (at most 100) and answers BannedAccountList ({Member_Account,
BannedUntil}) and NextOffset, 0 once the list is done. get_specified_group_member_info takes
Member_List_Account (at most 50, more is 10005) with get_group_member_info's filters, and is not
for AVChatRoom groups. modify_group_msg replaces a message's MsgBody or CloudCustomData or both,
addressed by GroupId and MsgSeq (and TopicId), and not in AVChatRoom groups.

Choices where Tencent is silent:
- Every group type takes bans (Tencent's current reference; an older one says AVChatRoom only).
- A ban removes those of the users who are members (a kick, as delete_group_member announces
  it). Until it ends, add_group_member and import_group_member answer Result 0 for them and a
  client's join_group 10007. Users need not be members to be banned, but must be imported
  accounts (10019); the owner cannot be banned (10004). Banning again replaces the end and the
  description; Duration 0 is 10004 (unban_group_member lifts a ban); more than 20 accounts is
  10005, as in the rest of group_open_http_svc.
- get_group_ban_member lists the bans in force in user ID order; Limit defaults to 100 and
  Offset to 0.
- get_specified_group_member_info answers the named accounts that are members, in the order
  asked; the others are left out.
- modify_group_msg answers in openim's codes where they apply (90010 for a bad field, as
  modify_c2c_msg): an unknown group is 10010, an AVChatRoom 10007, a seq with no message (or a
  deleted one) 20022 and a recalled one 20023. A TopicId names that Community topic's
  conversation (a topic with no such message: 20022); it is 90010 on a group without topics.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from services.common import conversation, events
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import Message
from services.common.store.group_bans import GroupBan
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway.bounds import MSG_SEQ, UINT32, UINT32_MAX, IntRange
from services.gateway.events import emit_rest
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import (
    account_list,
    load_group,
    member_reply,
    name_list,
    require_accounts,
)
from services.gateway.rest_v4.group_messages import group_inbound
from services.gateway.rest_v4.openim_messages import publish_modify

BAD = ErrorCode.GROUP_INVALID_PARAM
MSG_BAD = ErrorCode.OPENIM_JSON_FIELDS
MAX_BAN_ACCOUNTS = 20
BAN_DESCRIPTION_MAX_BYTES = 1000
BAN_SECONDS = IntRange(1, UINT32_MAX)
MAX_BAN_PAGE = 100
BAN_PAGE_LIMIT = IntRange(0, MAX_BAN_PAGE)
MAX_SPECIFIED_MEMBERS = 50


# --- pure parts -------------------------------------------------------------------------


def ban_page(bans: Sequence[GroupBan], offset: int, limit: int) -> tuple[list[GroupBan], int]:
    """One page of a group's bans, and Tencent's NextOffset: where the next page starts, or 0
    when this page is the last."""
    page = list(bans[offset : offset + limit])
    end = offset + len(page)
    return page, end if end < len(bans) else 0


def specified_members(
    users: Sequence[str], found: Mapping[str, Member], roles: Sequence[str] | None
) -> list[Member]:
    """The named users who are members (with one of `roles`, if given), in the order named."""
    return [found[u] for u in users if u in found and (roles is None or found[u].role in roles)]


def check_modifiable(group: Group, topic_id: str) -> None:
    """Whether messages of `group` (in topic `topic_id`, "" for none) can be modified."""
    if group.group_type == rules.AVCHATROOM:
        raise TidingsError(
            ErrorCode.GROUP_NO_PERMISSION, "AVChatRoom groups keep no history to modify"
        )
    if topic_id and not group.support_topic:
        raise TidingsError(MSG_BAD, "TopicId is for Community groups that support topics")


def modify_target(found: Message | None) -> Message:
    """The stored message a modify acts on, or Tencent's error (as modify_c2c_msg's)."""
    if found is None or found.deleted:
        raise TidingsError(ErrorCode.MSG_NOT_FOUND, "the message does not exist")
    if found.recalled:
        raise TidingsError(ErrorCode.MSG_ALREADY_RECALLED, "the message was already recalled")
    return found


# --- bans -------------------------------------------------------------------------------


def _now() -> int:
    return int(time.time())


def _ban_accounts(body: dict[str, Any]) -> list[str]:
    return account_list(body, "Members_Account", limit=MAX_BAN_ACCOUNTS)


async def ban_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    users = _ban_accounts(body)
    seconds = fields.integer(body, "Duration", code=BAD, within=BAN_SECONDS)
    description = fields.text(
        body, "Description", code=BAD, required=False, max_len=BAN_DESCRIPTION_MAX_BYTES
    )
    if group.owner and group.owner in users:
        raise TidingsError(
            BAD, "the owner cannot be banned; transfer ownership with change_group_owner first"
        )
    await require_accounts(ctx, users)
    sdkappid = ctx.app.sdkappid
    until = _now() + seconds
    # The ban first: a join racing the removal below is then refused.
    await ctx.deps.stores.group_bans.ban(
        sdkappid, group.group_id, [GroupBan(u, until, description) for u in users]
    )
    store = ctx.deps.stores.groups
    present = await store.get_members(sdkappid, group.group_id, users)
    if present:
        exited = [u for u in users if u in present]
        await store.remove_members(sdkappid, group.group_id, exited)
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
    return {}


async def unban_group_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    users = _ban_accounts(body)
    await ctx.deps.stores.group_bans.unban(ctx.app.sdkappid, group.group_id, users)
    return {}


async def get_group_ban_member(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    limit = fields.integer(body, "Limit", code=BAD, within=BAN_PAGE_LIMIT, required=False)
    offset = fields.integer(body, "Offset", code=BAD, within=UINT32, required=False)
    bans = await ctx.deps.stores.group_bans.list_bans(ctx.app.sdkappid, group.group_id, _now())
    page, next_offset = ban_page(bans, offset, limit or MAX_BAN_PAGE)
    return {
        "BannedAccountList": [{"Member_Account": b.user_id, "BannedUntil": b.until} for b in page],
        "NextOffset": next_offset,
    }


# --- named members ----------------------------------------------------------------------


async def get_specified_group_member_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await load_group(ctx, body)
    users = account_list(body, "Member_List_Account", limit=MAX_SPECIFIED_MEMBERS)
    info_names = name_list(body, "MemberInfoFilter")
    roles = name_list(body, "MemberRoleFilter")
    defined_keys = name_list(body, "AppDefinedDataFilter_GroupMember")
    if roles is not None and any(r not in rules.ROLES for r in roles):
        raise TidingsError(BAD, "MemberRoleFilter holds Owner, Admin or Member")
    rules.require_member_list(group.group_type, "get_specified_group_member_info")
    found = await ctx.deps.stores.groups.get_members(ctx.app.sdkappid, group.group_id, users)
    now = _now()
    return {
        "GroupId": group.group_id,
        "MemberList": [
            member_reply(m, now, info_names, defined_keys)
            for m in specified_members(users, found, roles)
        ],
    }


# --- message edits ----------------------------------------------------------------------


async def modify_group_msg(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group_id = rules.require_group_id(fields.text(body, "GroupId", code=MSG_BAD))
    seq = fields.integer(body, "MsgSeq", code=MSG_BAD, within=MSG_SEQ)
    topic_id = fields.text(body, "TopicId", code=MSG_BAD, required=False)
    sdkappid = ctx.app.sdkappid
    group = await ctx.deps.stores.groups.get_group(sdkappid, group_id)
    if group is None:
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
    check_modifiable(group, topic_id)
    conv = (
        conversation.topic(group.group_id, topic_id)
        if topic_id
        else conversation.group(group.group_id)
    )
    stored = await ctx.deps.archive.get(sdkappid, conv, [seq])
    target = modify_target(next((m for m in stored if m.seq == seq), None))
    inbound = group_inbound(ctx, group.group_id, target.sender)
    inbound.conversation = conv
    await publish_modify(ctx, inbound, body, target)
    return {}


COMMANDS: dict[str, Handler] = {
    "ban_group_member": ban_group_member,
    "unban_group_member": unban_group_member,
    "get_group_ban_member": get_group_ban_member,
    "get_specified_group_member_info": get_specified_group_member_info,
}

OPENIM_COMMANDS: dict[str, Handler] = {"modify_group_msg": modify_group_msg}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class BanGroupMemberRequest(BaseModel):
    GroupId: str
    Members_Account: list[str] = Field(min_length=1, max_length=MAX_BAN_ACCOUNTS)
    Duration: int = Field(ge=BAN_SECONDS.low, le=BAN_SECONDS.high)
    Description: str | None = None


class UnbanGroupMemberRequest(BaseModel):
    GroupId: str
    Members_Account: list[str] = Field(min_length=1, max_length=MAX_BAN_ACCOUNTS)


class GetGroupBanMemberRequest(BaseModel):
    GroupId: str
    Limit: int | None = Field(default=None, ge=0, le=MAX_BAN_PAGE)
    Offset: int | None = Field(default=None, ge=0, le=UINT32_MAX)


class GetSpecifiedGroupMemberInfoRequest(BaseModel):
    GroupId: str
    Member_List_Account: list[str] = Field(min_length=1, max_length=MAX_SPECIFIED_MEMBERS)
    MemberInfoFilter: list[str] | None = None
    MemberRoleFilter: list[str] | None = None
    AppDefinedDataFilter_GroupMember: list[str] | None = None


class ModifyGroupMsgRequest(BaseModel):
    GroupId: str
    MsgSeq: int = Field(ge=MSG_SEQ.low, le=MSG_SEQ.high)
    MsgBody: list[dict[str, Any]] | None = None
    CloudCustomData: str | None = None
    TopicId: str | None = None


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "ban_group_member": BanGroupMemberRequest,
    "unban_group_member": UnbanGroupMemberRequest,
    "get_group_ban_member": GetGroupBanMemberRequest,
    "get_specified_group_member_info": GetSpecifiedGroupMemberInfoRequest,
    "modify_group_msg": ModifyGroupMsgRequest,
}
