"""Joining and leaving a group, by one rule for every way in and out: a client's `join_group`
and `quit_group` over WebSocket, and REST add_group_member, import_group_member and
delete_group_member. What differs between them is only who is told (`MembershipEvents`: a
client's join is Tencent's JoinType Apply and its quit ExitType Quit; an app admin's add is
Invited and its removal Kicked) and what the app server is asked first.

Admission: an account that is already a member is left as it is; one banned from the group
(ban_group_member) is not added; the others are added if the group has room for all of them
(10014, after Group.CallbackAfterGroupFull, as Tencent does for a refused join too) and none
of them is past the edition's quota of joined groups (10037). A member who joins or is added
reads from the join on: their read mark is put at the group's newest message as of the last
ack, so that only what comes after counts as unread (Tencent counts a new member's unread
from its join; a client that joined over WebSocket and one an app server added see the same).
Imported members keep the unread count and join time the import gives them instead.

A client joins by itself only a group that takes joins without approval (AVChatRoom, and
FreeAccess groups); a Public group's approval is an app admin's add_group_member here.

Leaving: the owner of a group (but an AVChatRoom's) does not leave it: a client's quit is
Tencent's 10009, and an app admin's delete_group_member of the owner 10004 (Tencent documents
no code for it; the owner transfers the group with change_group_owner first). Quitting a group
one is not in is 10007; removing someone who is not a member is a no-op, so retries are safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from services.common import conversation, events
from services.common.conversation_list import groups_as_of_last_ack
from services.common.errors import ErrorCode, TidingsError
from services.common.recent import TailReader
from services.common.store.groups import AVCHATROOM, Group, Member
from services.common.store.ports import App, Stores
from services.gateway import group_rules as rules
from services.gateway.events import group_changed, group_unchanged
from services.gateway.quotas import quota_for

# Tencent's Result per account of add_group_member / import_group_member.
NOT_ADDED, ADDED, ALREADY_MEMBER = 0, 1, 2


# An event's kind, entity and payload, produced by the caller's way: a membership kind returns
# once the group's membership version is bumped.
Emit = Callable[[str, str, Mapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MembershipEvents:
    """The events of `operator`'s changes of members: joins of `join_type` and exits of
    `exit_type` (Tencent's JoinType and ExitType)."""

    emit: Emit
    operator: str
    join_type: str
    exit_type: str

    async def joined(self, group: Group, users: Sequence[str]) -> None:
        how = ("JoinType", self.join_type)
        await self._changed(events.GROUP_MEMBERS_JOINED, group, how, "NewMemberList", users)

    async def exited(self, group: Group, users: Sequence[str]) -> None:
        how = ("ExitType", self.exit_type)
        await self._changed(events.GROUP_MEMBERS_EXITED, group, how, "ExitMemberList", users)

    async def _changed(
        self, kind: str, group: Group, how: tuple[str, str], listed: str, users: Sequence[str]
    ) -> None:
        await self.emit(
            kind,
            group.group_id,
            {
                "GroupId": group.group_id,
                "Type": group.group_type,
                how[0]: how[1],
                "Operator_Account": self.operator,
                listed: events.members(list(users)),
            },
        )

    async def full(self, group: Group) -> None:
        """Group.CallbackAfterGroupFull; Tencent calls it for a join refused as full too."""
        await self.emit(events.GROUP_FULL, group.group_id, {"GroupId": group.group_id})


def join_refusal(group: Group) -> TidingsError | None:
    """May a client join this group by itself? AVChatRoom, Meeting and Community groups are
    FreeAccess (Tencent); Work groups are invitation only; a Public group asks for approval,
    which is an app admin's add_group_member here."""
    if group.group_type == AVCHATROOM or group.apply_join_option == rules.FREE_ACCESS:
        return None
    return TidingsError(
        ErrorCode.GROUP_NO_PERMISSION,
        f"this group does not take joins from clients ({group.apply_join_option}); "
        "an admin adds members",
    )


def owner_stays(group: Group, users: Sequence[str], removed_by_admin: bool) -> None:
    """The owner neither quits nor is removed; an AVChatRoom's owner may quit it."""
    if not group.owner or group.owner not in users:
        return
    if removed_by_admin:
        raise TidingsError(
            ErrorCode.GROUP_INVALID_PARAM,
            "the owner cannot be removed; transfer ownership with change_group_owner first",
        )
    if group.group_type != AVCHATROOM:
        raise TidingsError(
            ErrorCode.GROUP_OWNER_CANNOT_QUIT, "the owner cannot quit; transfer the group first"
        )


async def check_join_quota(stores: Stores, app: App, users: Sequence[str]) -> None:
    """10037 if any of `users` is in as many groups as the app's edition allows."""
    joined = await asyncio.gather(*(stores.groups.joined_groups(app.sdkappid, u) for u in users))
    counts = {
        user: sum(1 for j in js if rules.counts_against_join_quota(j.group_type))
        for user, js in zip(users, joined, strict=True)
    }
    rules.check_join_quota(counts, quota_for(app.edition).groups_per_user)


async def admit(
    stores: Stores,
    tails: TailReader,
    app: App,
    group: Group,
    candidates: Sequence[Member],
    *,
    events: MembershipEvents,
    approve: Callable[[], Awaitable[None]] | None = None,
    imported: bool = False,
) -> dict[str, int]:
    """Add the candidates who may join, read from their join on, and announce them (a client
    by itself, or added by an app admin); Tencent's Result for each account. `approve` runs
    before anything is written when someone is to be added (a client's join asks the app
    server then); it raises to refuse. `imported` members keep the unread counts they come
    with, and the caller tells of them (Tencent has no join callback for imports)."""
    sdkappid = app.sdkappid
    users = [m.user_id for m in candidates]
    existing = await stores.groups.get_members(sdkappid, group.group_id, users)
    banned = await stores.group_bans.banned(sdkappid, group.group_id, users, int(time.time()))
    joining = [m for m in candidates if m.user_id not in existing and m.user_id not in banned]
    if joining and group.group_type == AVCHATROOM:
        # A live room's admins stay admins across leaving and joining (modify_admin).
        admins = set(await stores.avchatroom.admins(sdkappid, group.group_id))
        joining = [replace(m, role=rules.ADMIN) if m.user_id in admins else m for m in joining]
    if joining:
        if rules.counts_against_join_quota(group.group_type):
            await check_join_quota(stores, app, [m.user_id for m in joining])
        current = await stores.groups.count_members(sdkappid, group.group_id)
        try:
            rules.check_room(group.max_members, current, len(joining))
        except TidingsError as err:
            if err.code == ErrorCode.GROUP_FULL:
                await events.full(group)
            raise
        if approve is not None:
            await approve()
    added = set(
        await stores.groups.add_members(sdkappid, group.group_id, group.group_type, joining)
    )
    if not imported:
        if added and group.group_type != AVCHATROOM:
            await read_from_join(stores, tails, sdkappid, group, sorted(added))
        await announce_joined(stores, sdkappid, group, [u for u in users if u in added], events)
    return {u: NOT_ADDED if u in banned else ADDED if u in added else ALREADY_MEMBER for u in users}


async def read_from_join(
    stores: Stores, tails: TailReader, sdkappid: int, group: Group, users: Sequence[str]
) -> None:
    """The joiners' read marks at the group's newest message as of the last ack."""
    (current,) = (await groups_as_of_last_ack(tails, sdkappid, {group.group_id: group})).values()
    if current.next_msg_seq > 1:
        conv = conversation.group(group.group_id)
        for user in users:
            await stores.conversations.set_read(sdkappid, user, conv, current.next_msg_seq - 1)


async def announce_joined(
    stores: Stores, sdkappid: int, group: Group, joined: Sequence[str], events: MembershipEvents
) -> None:
    """The events of members who joined, and of the group becoming full; none joined (a
    retry): pay the membership version increment this node may still owe the group."""
    if not joined:
        await group_unchanged(sdkappid, group.group_id)
        return
    try:
        await events.joined(group, joined)
    finally:
        # The members joined even if the version bump failed (10002).
        if group.max_members:
            count = await stores.groups.count_members(sdkappid, group.group_id)
            if count >= group.max_members:
                await events.full(group)


async def join(
    stores: Stores,
    tails: TailReader,
    app: App,
    group: Group,
    user: str,
    events: MembershipEvents,
    approve: Callable[[], Awaitable[None]],
) -> bool:
    """A client joining by itself; False if it was a member already."""
    refusal = join_refusal(group)
    if refusal is not None:
        raise refusal
    joiner = Member(user_id=user, role=rules.MEMBER, join_time=int(time.time()))
    results = await admit(stores, tails, app, group, [joiner], events=events, approve=approve)
    if results[user] == NOT_ADDED:
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "banned from this group for now")
    return results[user] == ADDED


async def leave(
    stores: Stores, sdkappid: int, group: Group, user: str, events: MembershipEvents
) -> None:
    """A client quitting a group by itself."""
    owner_stays(group, [user], removed_by_admin=False)
    if not await stores.groups.get_members(sdkappid, group.group_id, [user]):
        # Perhaps a retry of a quit answered 10002: pay what this node owes the group.
        await group_unchanged(sdkappid, group.group_id)
        raise TidingsError(ErrorCode.GROUP_NO_PERMISSION, "not a member of this group")
    await stores.groups.remove_members(sdkappid, group.group_id, [user])
    await events.exited(group, [user])


async def remove(
    stores: Stores, sdkappid: int, group: Group, users: Sequence[str], events: MembershipEvents
) -> None:
    """Members removed by an app admin."""
    owner_stays(group, users, removed_by_admin=True)
    present = await stores.groups.get_members(sdkappid, group.group_id, users)
    await stores.groups.remove_members(sdkappid, group.group_id, users)
    exited = [u for u in users if u in present]
    if exited:
        await events.exited(group, exited)
    else:
        # None was a member when asked; one who joined meanwhile was removed all the same.
        await group_changed(sdkappid, group.group_id)
