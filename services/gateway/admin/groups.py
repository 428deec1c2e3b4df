"""/admin/apps/{id}/groups: list, read with a page of members, mute and destroy, the
operations REST v4's group_open_http_svc commands carry out (services/gateway/handlers/
groups.py): get_appid_group_list and get_group_info, get_group_member_info, forbid_send_msg,
destroy_group.

- GET lists the app's groups in creation order, a page at a time (pass `next_cursor` as
  `cursor`), each with its type, name, owner and member count.
- GET .../{group_id} is the group's profile and a page of its members: join order (owner,
  then admins) for most types, UserID order for a Community, as get_group_member_info pages
  them; `cursor` is opaque.
- POST .../{group_id}/mute mutes members for `seconds`; 0 unmutes (forbid_send_msg's
  MuteTime). A muted member's send is refused with 10017.
- DELETE .../{group_id} dissolves the group, as destroy_group does (its callback included).

Refusals carry Tencent's code in the message: 10010 unknown group (404), 10015 a malformed
group ID and 10004 a bad field (422), 10019 a user who is not a member (404), 10007 a type
whose members cannot be muted (409).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from starlette.requests import Request as HttpRequest

from services.common.errors import TidingsError
from services.common.store.groups import Group, Member
from services.gateway import group_rules as rules
from services.gateway import ids
from services.gateway.admin.accounts import admin_context, refusal
from services.gateway.admin.apps import Request, SdkAppId
from services.gateway.admin.base import AdminDeps, current_change
from services.gateway.bounds import STORED_U64
from services.gateway.handlers import groups
from services.gateway.rest_v4.context import RestContext, RestDeps
from services.gateway.rest_v4.group_common import BAD, load_group, now_s

GroupId = Annotated[
    str, Path(min_length=1, max_length=rules.MAX_GROUP_ID_BYTES, description="the group's ID")
]
MAX_GROUP_PAGE = 100
MAX_MEMBER_PAGE = 500


class GroupSummary(BaseModel):
    group_id: str
    type: str
    name: str
    owner: str
    member_num: int
    create_time: int


class GroupPage(BaseModel):
    groups: list[GroupSummary]
    total: int = Field(description="the app's groups of the type asked")
    next_cursor: int = Field(description="pass as `cursor` for the next page; 0 at the end")


class MemberView(BaseModel):
    user: str
    role: str
    join_time: int
    mute_until: int = Field(description="Unix seconds the mute ends; 0 when not muted")
    name_card: str


class GroupDetail(GroupSummary):
    introduction: str
    notification: str
    face_url: str
    max_members: int
    mute_all: bool
    members: list[MemberView]
    members_cursor: str = Field(description="pass as `cursor` for the next page of members")


class Mute(Request):
    users: list[Annotated[str, Field(min_length=1, max_length=ids.MAX_USER_ID_BYTES)]] = Field(
        min_length=1, max_length=rules.MAX_MUTE_ACCOUNTS
    )
    seconds: int = Field(
        ge=0, le=rules.PERMANENT_MUTE, description=f"0 unmutes; {rules.PERMANENT_MUTE}: for good"
    )


class Muted(BaseModel):
    group_id: str
    users: list[str]
    mute_until: int = Field(description="Unix seconds the mute ends; 0 when lifted")


def _summary(group: Group, member_num: int) -> dict[str, object]:
    return {
        "group_id": group.group_id,
        "type": group.group_type,
        "name": group.name,
        "owner": group.owner,
        "member_num": member_num,
        "create_time": group.create_time,
    }


def _member(member: Member, now: int) -> MemberView:
    return MemberView(
        user=member.user_id,
        role=member.role,
        join_time=member.join_time,
        mute_until=member.mute_until if rules.is_muted(member.mute_until, now) else 0,
        name_card=member.name_card,
    )


def member_window(group: Group, cursor: str) -> tuple[int, str]:
    """The (offset, after) a members cursor stands for: a Community's is the last UserID of
    the page before, another type's the offset of the next member."""
    if group.group_type == rules.COMMUNITY:
        return 0, cursor
    if cursor and not (cursor.isdigit() and int(cursor) <= STORED_U64.high):
        raise TidingsError(BAD, "cursor is not one this group's pages gave")
    return int(cursor or 0), ""


def build_router(deps: AdminDeps, rest: RestDeps) -> APIRouter:
    router = deps.router("/admin/apps/{sdkappid}/groups")

    async def loaded(
        sdkappid: int, group_id: str, request: HttpRequest
    ) -> tuple[RestContext, Group]:
        ctx = admin_context(await deps.load_app(sdkappid), request, rest)
        try:
            return ctx, await load_group(ctx, {"GroupId": group_id})
        except TidingsError as err:
            raise refusal(err) from None

    @router.get("", summary="The app's groups in creation order, a page at a time")
    async def list_groups(
        sdkappid: SdkAppId,
        request: HttpRequest,
        cursor: Annotated[int, Query(ge=0, le=STORED_U64.high)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_GROUP_PAGE)] = 50,
    ) -> GroupPage:
        ctx = admin_context(await deps.load_app(sdkappid), request, rest)
        page = await groups.list_groups(ctx, None, cursor, limit)
        found = await groups.find_groups(ctx, [r.group_id for r in page.groups])
        listed = [found[r.group_id] for r in page.groups if r.group_id in found]
        counts = await asyncio.gather(
            *(rest.stores.groups.count_members(sdkappid, g.group_id) for g in listed)
        )
        return GroupPage(
            groups=[
                GroupSummary.model_validate(_summary(g, n))
                for g, n in zip(listed, counts, strict=True)
            ],
            total=page.total,
            next_cursor=page.next_after,
        )

    @router.get("/{group_id}", summary="A group's profile and a page of its members")
    async def detail(
        sdkappid: SdkAppId,
        group_id: GroupId,
        request: HttpRequest,
        cursor: Annotated[str, Query(max_length=ids.MAX_USER_ID_BYTES)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_MEMBER_PAGE)] = 100,
    ) -> GroupDetail:
        ctx, group = await loaded(sdkappid, group_id, request)
        try:
            offset, after = member_window(group, cursor)
            page = await groups.member_page(ctx, group, offset, limit, after=after)
        except TidingsError as err:
            raise refusal(err) from None
        if group.group_type == rules.COMMUNITY:
            next_cursor = page.next_after
        else:
            more = offset + len(page.members) < page.member_num
            next_cursor = str(offset + len(page.members)) if more else ""
        now = now_s()
        return GroupDetail.model_validate(
            {
                **_summary(group, page.member_num),
                "introduction": group.introduction,
                "notification": group.notification,
                "face_url": group.face_url,
                "max_members": group.max_members,
                "mute_all": group.mute_all,
                "members": [_member(m, now) for m in page.members],
                "members_cursor": next_cursor,
            }
        )

    @router.post(
        "/{group_id}/mute",
        summary="Mute members for some seconds (0 unmutes), as forbid_send_msg does",
        dependencies=[deps.audited("groups.mute")],
    )
    async def mute(sdkappid: SdkAppId, group_id: GroupId, req: Mute, request: HttpRequest) -> Muted:
        ctx, group = await loaded(sdkappid, group_id, request)
        users = list(dict.fromkeys(req.users))
        try:
            members = await groups.mute(ctx, group, users, req.seconds)
        except TidingsError as err:
            raise refusal(err) from None
        change = current_change()
        change.after, change.saved = {"users": users, "seconds": req.seconds}, True
        until = members[0].mute_until if members else 0
        return Muted(group_id=group.group_id, users=users, mute_until=until)

    @router.delete(
        "/{group_id}",
        summary="Dissolve the group, as destroy_group does",
        dependencies=[deps.audited("groups.destroy")],
        status_code=204,
    )
    async def destroy(sdkappid: SdkAppId, group_id: GroupId, request: HttpRequest) -> None:
        ctx, group = await loaded(sdkappid, group_id, request)
        await groups.destroy(ctx, group)
        change = current_change()
        change.before = {"group_id": group.group_id, "type": group.group_type, "name": group.name}
        change.saved = True

    return router
