"""May this sender post in this group? Tencent's rules, checked at the gateway before a group
message is published (the gateway owns the directory; the router only orders and fans out)."""

from __future__ import annotations

import time

from services.common.errors import ErrorCode, TidingsError
from services.common.store.groups import Group, GroupStore, Member
from services.gateway.group_rules import ADMIN, OWNER, is_muted


def send_refusal(
    group: Group, member: Member | None, now: int, sender_is_app_admin: bool
) -> TidingsError | None:
    """Why the message may not be sent, or None. App admins may post anywhere (Tencent)."""
    if sender_is_app_admin:
        return None
    if member is None:
        return TidingsError(ErrorCode.GROUP_NO_PERMISSION, "the sender is not a group member")
    if is_muted(member.mute_until, now):
        return TidingsError(ErrorCode.GROUP_SENDER_MUTED, "the sender is muted in this group")
    if group.mute_all and member.role not in (OWNER, ADMIN):
        return TidingsError(ErrorCode.GROUP_SENDER_MUTED, "the whole group is muted")
    return None


async def check_group_send(
    groups: GroupStore, sdkappid: int, group_id: str, sender: str, sender_is_app_admin: bool
) -> Group:
    group = await groups.get_group(sdkappid, group_id)
    if group is None:
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
    members = await groups.get_members(sdkappid, group_id, [sender])
    refusal = send_refusal(group, members.get(sender), int(time.time()), sender_is_app_admin)
    if refusal is not None:
        raise refusal
    return group
