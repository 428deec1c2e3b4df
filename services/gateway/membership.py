"""Who becomes a member of a group, by one rule for every way in: a client's `join_group` over
WebSocket, and REST add_group_member and import_group_member. (The handlers around it differ
in what they ask the app server first and which events they emit; the admission does not.)

An account that is already a member is left as it is; one banned from the group
(ban_group_member) is not added; the others are added if the group has room for all of them
(10014, after Group.CallbackAfterGroupFull, as Tencent does for a refused join too) and none
of them is past the edition's quota of joined groups (10037). A member who joins or is added
reads from the join on: their read mark is put at the group's newest message as of the last
ack, so that only what comes after counts as unread. Imported members keep the unread count
and join time the import gives them instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from services.common import conversation
from services.common.conversation_list import groups_as_of_last_ack
from services.common.errors import ErrorCode, TidingsError
from services.common.recent import TailReader
from services.common.store.groups import AVCHATROOM, Group, Member
from services.common.store.ports import App, Stores
from services.gateway import group_rules as rules
from services.gateway.quotas import quota_for

# Tencent's Result per account of add_group_member / import_group_member.
NOT_ADDED, ADDED, ALREADY_MEMBER = 0, 1, 2


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
    on_full: Callable[[], Awaitable[None]],
    approve: Callable[[], Awaitable[None]] | None = None,
    read_from_now: bool = True,
) -> dict[str, int]:
    """Add the candidates who may join; Tencent's Result for each account. `approve` runs
    before anything is written when someone is to be added (a client's join asks the app
    server then); it raises to refuse."""
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
                await on_full()
            raise
        if approve is not None:
            await approve()
    added = set(
        await stores.groups.add_members(sdkappid, group.group_id, group.group_type, joining)
    )
    if added and read_from_now and group.group_type != AVCHATROOM:
        await read_from_join(stores, tails, sdkappid, group, sorted(added))
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
