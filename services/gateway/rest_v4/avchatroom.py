"""group_open_avchatroom_http_svc: live-group (AVChatRoom) members, marks and admins.

get_members, modify_user_info, modify_admin, get_admin_list and check_members, at Tencent's
paths v4/group_open_avchatroom_http_svc/<command>.

Tencent's reference (cloud.tencent.com/document/product/269: 77266, 79267, 102857, 102858,
95618; tencentcloud.com/document/product/1047: 50293, 50294, 60525, 60524, 60523):
- get_members takes GroupId, Timestamp (0 first, then the reply's NextTimestamp) and an
  optional Mark, and answers MemberList ({Member_Account, JoinTime, NickName, Avatar}) and
  NextTimestamp, 0 once the list is done; a page holds 250 members, and at most the 1,000
  members who joined last are listed.
- modify_user_info takes GroupId, CommandType (1 set, 2 remove) and MemberList
  ([{Member_Account, Marks}], at most 500 accounts) and echoes CommandType and MemberList. A
  mark is a number of at least 1000, or the special 500; a group has at most 10 different
  marks, each on at most 1,000 members. Marks are for online members (500 excepted), and are
  cleared when the member leaves or goes offline.
- modify_admin takes GroupId, CommandType (1 set, 2 remove) and Admin_Account. An admin need
  not be in the group and stays one across leaving and joining again; a group has at most 5.
- get_admin_list answers Admin_List ({Admin_Account, Avatar, NickName}).
- check_members takes Member_Account and answers the ones in the group as Member_Account.
- Every command is for AVChatRoom groups only (10007); 10004 a bad field, 10010 no such group,
  10015 a bad group ID.

Choices where Tencent is silent:
- "Online" is get_online_member_num's: a member with a live session. get_members and
  check_members answer the online members; get_members lists them latest join first (user ID
  among equals), and its NextTimestamp is where the next page starts in that list, so it is
  never 0 before the end. It needs the app's console switch `avchatroom_member_list` (直播群在线成员
  列表, off by default as Tencent's): 10007 while off.
- A mark holds while its member stays in the group and keeps a connection opened before it was
  set (500: while the member stays in the group); marks that no longer hold are not listed and
  are forgotten at the next modify_user_info. Accounts that are not members, or are offline
  (for marks other than 500), are left out of modify_user_info's MemberList and nothing is set
  for them. Past 10 marks in the group or 1,000 members on a mark is 10004, as is an empty
  Marks; more than 500 accounts is 10005. get_members' MemberList items carry the member's
  Marks when there are any.
- modify_admin: more than 5 accounts in a request is 10005; a group going past 5 admins is
  10004, and so is naming the owner. Accounts must be imported (10019). An admin who is a member
  gets the Admin role in the member list, and Member again when removed; get_admin_list is in
  user ID order. check_members takes at most 500 accounts (10005) and answers them in the
  order asked.

Not yet: an admin who leaves and joins again gets the Member role back from the join (the admin
row stays, and get_admin_list lists them), and destroy_group does not drop the group's admins
and marks (AVChatRoomStore.drop_group is there for it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from services.common import messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.redis_state import SessionInfo
from services.common.store.avchatroom import MemberMark
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway.bounds import UINT32, UINT32_MAX, IntRange, checked_int
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.group_common import account_list, load_group, require_accounts

BAD = ErrorCode.GROUP_INVALID_PARAM
SET, REMOVE = 1, 2
COMMAND_TYPE = IntRange(SET, REMOVE)
_COMMAND_TYPE = ("CommandType", "Command_Type")
MEMBERS_PAGE = 250
MAX_LISTED_MEMBERS = 1000
MAX_MARK_ACCOUNTS = 500
MAX_MARKS_PER_GROUP = 10
MAX_MEMBERS_PER_MARK = 1000
# The one mark below 1000, and the one that holds while its member is offline.
SPECIAL_MARK = 500
FIRST_CUSTOM_MARK = 1000
MARK = IntRange(SPECIAL_MARK, UINT32_MAX)
MAX_ADMINS = 5
MAX_CHECK_ACCOUNTS = 500
# Users looked up in the session registry per round trip.
_SESSION_BATCH = 500


# --- pure parts -------------------------------------------------------------------------


def check_mark(mark: int) -> int:
    """`mark` if it is one Tencent takes: 500, or at least 1000."""
    if mark != SPECIAL_MARK and mark < FIRST_CUSTOM_MARK:
        raise TidingsError(BAD, f"a mark is {SPECIAL_MARK} or a number of at least 1000: {mark}")
    return mark


def online_since(sessions: Mapping[str, SessionInfo]) -> int | None:
    """When the oldest of a user's connections opened (Unix ms); None when there is none."""
    return min((s.login_ms for s in sessions.values()), default=None)


def mark_holds(mark: MemberMark, member: Member | None, since_ms: int | None) -> bool:
    """Whether a stored mark still holds: set while the member was in the group (a join since
    clears it) and, but for 500, online on a connection that is still open."""
    if member is None or member.join_time * 1000 > mark.set_ms:
        return False
    return mark.mark == SPECIAL_MARK or (since_ms is not None and since_ms <= mark.set_ms)


def live_marks(
    marks: Iterable[MemberMark],
    members: Mapping[str, Member],
    since: Mapping[str, int | None],
) -> tuple[dict[str, list[int]], list[tuple[str, int]]]:
    """(the marks that hold, by user; the (user, mark) pairs that no longer do)."""
    held: dict[str, list[int]] = {}
    cleared: list[tuple[str, int]] = []
    for m in marks:
        if mark_holds(m, members.get(m.user_id), since.get(m.user_id)):
            held.setdefault(m.user_id, []).append(m.mark)
        else:
            cleared.append((m.user_id, m.mark))
    return held, cleared


def check_mark_room(held: Mapping[str, Sequence[int]], adding: Mapping[str, Sequence[int]]) -> None:
    """10004 when setting `adding` on top of `held` puts more than 10 marks in the group or
    more than 1,000 members on one mark."""
    on_mark: dict[int, set[str]] = {}
    for source in (held, adding):
        for user, marks in source.items():
            for mark in marks:
                on_mark.setdefault(mark, set()).add(user)
    if len(on_mark) > MAX_MARKS_PER_GROUP:
        raise TidingsError(BAD, f"a group has at most {MAX_MARKS_PER_GROUP} different marks")
    for mark, users in on_mark.items():
        if len(users) > MAX_MEMBERS_PER_MARK:
            raise TidingsError(BAD, f"mark {mark} is on more than {MAX_MEMBERS_PER_MARK} members")


def latest_joined(members: Iterable[Member]) -> list[Member]:
    """The members Tencent lists: latest join first (user ID among equals), at most 1,000."""
    ordered = sorted(members, key=lambda m: (-m.join_time, m.user_id))
    return ordered[:MAX_LISTED_MEMBERS]


def members_page(listed: Sequence[Member], start: int) -> tuple[list[Member], int]:
    """One page of get_members from `start`, and the NextTimestamp: where the next page
    starts, or 0 when this page is the last."""
    page = list(listed[start : start + MEMBERS_PAGE])
    end = start + len(page)
    return page, end if end < len(listed) else 0


def admins_after(current: Sequence[str], command: int, users: Sequence[str]) -> list[str]:
    """The group's admins once `users` are set (SET) or removed (REMOVE); 10004 past 5."""
    if command == REMOVE:
        return [u for u in current if u not in users]
    after = list(dict.fromkeys([*current, *users]))
    if len(after) > MAX_ADMINS:
        raise TidingsError(BAD, f"an AVChatRoom group has at most {MAX_ADMINS} admins")
    return after


@dataclass(frozen=True, slots=True)
class MarkRequest:
    user_id: str
    marks: tuple[int, ...]


def mark_requests(body: dict[str, Any]) -> list[MarkRequest]:
    """modify_user_info's MemberList: one entry per account (the first wins), each with its
    distinct marks."""
    raw = fields.raw(body, "MemberList")
    if not isinstance(raw, list) or not raw:
        raise TidingsError(BAD, "MemberList must be a non-empty array of {Member_Account, Marks}")
    requests: dict[str, MarkRequest] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise TidingsError(BAD, "each MemberList item is an object with Member_Account")
        account = fields.text(item, "Member_Account", code=BAD)
        marks = fields.raw(item, "Marks")
        if not isinstance(marks, list) or not marks:
            raise TidingsError(BAD, f"Marks of {account!r} must be a non-empty array")
        checked = (check_mark(checked_int(m, "Marks", MARK, BAD)) for m in marks)
        requests.setdefault(account, MarkRequest(account, tuple(dict.fromkeys(checked))))
    rules.check_account_count(len(requests), MAX_MARK_ACCOUNTS, "MemberList")
    return list(requests.values())


def settable(request: MarkRequest, member: Member | None, since_ms: int | None) -> tuple[int, ...]:
    """The marks of `request` that may be set now: for members only, and but for 500 for
    online ones."""
    if member is None:
        return ()
    return tuple(m for m in request.marks if m == SPECIAL_MARK or since_ms is not None)


# --- lookups ----------------------------------------------------------------------------


async def _live_group(ctx: RestContext, body: dict[str, Any], command: str) -> Group:
    group = await load_group(ctx, body)
    if group.group_type != rules.AVCHATROOM:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, f"{command} is for AVChatRoom groups")
    return group


async def _online_since(ctx: RestContext, users: Sequence[str]) -> dict[str, int | None]:
    sdkappid = ctx.app.sdkappid
    since: dict[str, int | None] = {}
    for start in range(0, len(users), _SESSION_BATCH):
        batch = users[start : start + _SESSION_BATCH]
        found = await ctx.deps.sessions.lookup([(sdkappid, u) for u in batch])
        since.update(zip(batch, map(online_since, found), strict=True))
    return since


async def _held_marks(
    ctx: RestContext, group: Group, members: Mapping[str, Member], since: Mapping[str, int | None]
) -> dict[str, list[int]]:
    """The group's marks that hold; the others are forgotten."""
    store = ctx.deps.stores.avchatroom
    stored = await store.marks(ctx.app.sdkappid, group.group_id)
    held, cleared = live_marks(stored, members, since)
    if cleared:
        await store.remove_marks(ctx.app.sdkappid, group.group_id, cleared)
    return held


async def _profiles(ctx: RestContext, users: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(NickName, Avatar) of each user: the account's nick and face URL (Tag_Profile_IM_Nick
    and Tag_Profile_IM_Image), empty for accounts without them."""
    accounts = await ctx.deps.stores.directory.get_accounts(ctx.app.sdkappid, users)
    found = {u: (a.nick, a.face_url) for u, a in accounts.items()}
    return {u: found.get(u, ("", "")) for u in users}


# --- commands ---------------------------------------------------------------------------


async def get_members(ctx: RestContext, body: dict[str, Any]) -> Reply:
    messaging_settings.require_feature(
        ctx.app.settings, "avchatroom_member_list", ErrorCode.GROUP_NO_PERMISSION
    )
    group = await _live_group(ctx, body, "get_members")
    start = fields.integer(body, "Timestamp", code=BAD, within=UINT32)
    mark = fields.optional_integer(body, "Mark", code=BAD, within=MARK)
    if mark is not None:
        check_mark(mark)
    members = await ctx.deps.stores.groups.members(ctx.app.sdkappid, group.group_id)
    since = await _online_since(ctx, [m.user_id for m in members])
    online = {m.user_id: m for m in members if since[m.user_id] is not None}
    held = await _held_marks(ctx, group, {m.user_id: m for m in members}, since)
    chosen = (
        online.values()
        if mark is None
        else (m for m in online.values() if mark in held.get(m.user_id, ()))
    )
    page, next_start = members_page(latest_joined(chosen), start)
    profiles = await _profiles(ctx, [m.user_id for m in page])
    listed: list[dict[str, Any]] = []
    for m in page:
        nick, avatar = profiles[m.user_id]
        item: dict[str, Any] = {
            "Member_Account": m.user_id,
            "JoinTime": m.join_time,
            "NickName": nick,
            "Avatar": avatar,
        }
        if m.user_id in held:
            item["Marks"] = held[m.user_id]
        listed.append(item)
    return {"MemberList": listed, "NextTimestamp": next_start}


async def modify_user_info(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _live_group(ctx, body, "modify_user_info")
    command = fields.integer(body, *_COMMAND_TYPE, code=BAD, within=COMMAND_TYPE)
    requests = mark_requests(body)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.avchatroom
    if command == REMOVE:
        await store.remove_marks(
            sdkappid, group.group_id, [(r.user_id, m) for r in requests for m in r.marks]
        )
        done = [(r.user_id, r.marks) for r in requests]
    else:
        members = await ctx.deps.stores.groups.members(sdkappid, group.group_id)
        by_user = {m.user_id: m for m in members}
        since = await _online_since(ctx, [m.user_id for m in members])
        held = await _held_marks(ctx, group, by_user, since)
        allowed = [
            (r.user_id, settable(r, by_user.get(r.user_id), since.get(r.user_id))) for r in requests
        ]
        done = [(user, marks) for user, marks in allowed if marks]
        check_mark_room(held, dict(done))
        now_ms = int(time.time() * 1000)
        await store.put_marks(
            sdkappid, group.group_id, [MemberMark(u, m, now_ms) for u, marks in done for m in marks]
        )
    return {
        "CommandType": command,
        "MemberList": [{"Member_Account": u, "Marks": list(marks)} for u, marks in done],
    }


async def modify_admin(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _live_group(ctx, body, "modify_admin")
    command = fields.integer(body, *_COMMAND_TYPE, code=BAD, within=COMMAND_TYPE)
    users = account_list(body, "Admin_Account", limit=MAX_ADMINS)
    if group.owner and group.owner in users:
        raise TidingsError(BAD, "the owner of an AVChatRoom group cannot be made an admin")
    await require_accounts(ctx, users)
    sdkappid = ctx.app.sdkappid
    store = ctx.deps.stores.avchatroom
    admins_after(await store.admins(sdkappid, group.group_id), command, users)
    if command == SET:
        await store.add_admins(sdkappid, group.group_id, users)
    else:
        await store.remove_admins(sdkappid, group.group_id, users)
    role, was = (rules.ADMIN, rules.MEMBER) if command == SET else (rules.MEMBER, rules.ADMIN)
    present = await ctx.deps.stores.groups.get_members(sdkappid, group.group_id, users)
    changed = [m for m in present.values() if m.role == was]
    for m in changed:
        m.role = role
    if changed:
        await ctx.deps.stores.groups.put_members(sdkappid, group.group_id, changed)
    return {}


async def get_admin_list(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _live_group(ctx, body, "get_admin_list")
    admins = await ctx.deps.stores.avchatroom.admins(ctx.app.sdkappid, group.group_id)
    profiles = await _profiles(ctx, admins)
    return {
        "Admin_List": [
            {"Admin_Account": u, "Avatar": profiles[u][1], "NickName": profiles[u][0]}
            for u in admins
        ]
    }


async def check_members(ctx: RestContext, body: dict[str, Any]) -> Reply:
    group = await _live_group(ctx, body, "check_members")
    users = account_list(body, "Member_Account", limit=MAX_CHECK_ACCOUNTS)
    found = await ctx.deps.stores.groups.get_members(ctx.app.sdkappid, group.group_id, users)
    members = [u for u in users if u in found]
    since = await _online_since(ctx, members)
    return {"Member_Account": [u for u in members if since[u] is not None]}


COMMANDS: dict[str, Handler] = {
    "get_members": get_members,
    "modify_user_info": modify_user_info,
    "modify_admin": modify_admin,
    "get_admin_list": get_admin_list,
    "check_members": check_members,
}


# Request bodies for /openapi.json (the handlers above do the validation, with Tencent's codes).
class GetMembersRequest(BaseModel):
    GroupId: str
    Timestamp: int = Field(ge=0, le=UINT32_MAX)
    Mark: int | None = Field(default=None, ge=SPECIAL_MARK, le=UINT32_MAX)


class MemberMarks(BaseModel):
    Member_Account: str
    Marks: list[int] = Field(min_length=1)


class ModifyUserInfoRequest(BaseModel):
    GroupId: str
    CommandType: int = Field(ge=SET, le=REMOVE)
    MemberList: list[MemberMarks] = Field(min_length=1, max_length=MAX_MARK_ACCOUNTS)


class ModifyAdminRequest(BaseModel):
    GroupId: str
    CommandType: int = Field(ge=SET, le=REMOVE)
    Admin_Account: list[str] = Field(min_length=1, max_length=MAX_ADMINS)


class GetAdminListRequest(BaseModel):
    GroupId: str


class CheckMembersRequest(BaseModel):
    GroupId: str
    Member_Account: list[str] = Field(min_length=1, max_length=MAX_CHECK_ACCOUNTS)


REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "get_members": GetMembersRequest,
    "modify_user_info": ModifyUserInfoRequest,
    "modify_admin": ModifyAdminRequest,
    "get_admin_list": GetAdminListRequest,
    "check_members": CheckMembersRequest,
}
