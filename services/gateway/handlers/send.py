"""Sending: the rules a message passes before it is published, one function for a client's
`send` over WebSocket and an app server's REST sendmsg and send_group_msg, and the one way a
send publishes and answers the router's outcome.

The checks are answered from the gateway's memory: the per-sender throttle (throttle.py) and
the directory (directory.py: accounts, no-speaking, friends, blocklists, groups and members).
Order follows Tencent: throttle, recipient, mutes, relationship, then the group's own rules.

Who sends decides which rules apply (the message's `source`):
- a client: every rule above. A C2C message to someone who blocked the sender is sent
  silently (nothing delivered) unless the app asks for the error (`blocklist_send_error`);
  an app admin is not bound by friend checks, blocklists or a group's rules.
- an app server (REST): its sender and recipient must exist (an app admin need not be
  imported), and a group's sender must be a member unless it is an app admin. Tencent's
  sendmsg checks neither friends, blocklists nor mutes, and its send_group_msg lets the app
  name any member as the sender, muted or not; no throttle (REST has its own limits).
An AVChatRoom's messages reach online members only, whoever sends them; a client's are also
held to the room's message rate.
"""

from __future__ import annotations

import time

from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import SOURCE_REST, InboundMessage
from services.common.pb.tidings.v1.gateway_pb2 import Outcome
from services.common.store.groups import Group, Member
from services.common.store.ports import App
from services.gateway import avchatroom
from services.gateway.group_rules import ADMIN, AVCHATROOM, OWNER, is_muted
from services.gateway.publisher import Publisher
from services.gateway.send_rules import SendRules


def by_client(inbound: InboundMessage) -> bool:
    return inbound.source != SOURCE_REST


async def check_send(rules: SendRules, app: App, inbound: InboundMessage) -> Group | None:
    """Refuse `inbound`, or let it through (marked silent or online only as the rules say);
    the group of a group message."""
    group_id = inbound.group_id
    if by_client(inbound):
        rules.throttle(app, inbound.sender, group=bool(group_id))
    if group_id:
        return await check_group(rules, app, inbound)
    await check_c2c(rules, app, inbound)
    return None


async def check_c2c(rules: SendRules, app: App, inbound: InboundMessage) -> None:
    directory = rules.directory
    sdkappid, sender, to = app.sdkappid, inbound.sender, inbound.to_user
    client = by_client(inbound)
    if (client or to not in app.admins) and not await directory.account_exists(sdkappid, to):
        raise TidingsError(
            ErrorCode.MSG_ACCOUNT_INVALID if client else ErrorCode.OPENIM_TO_ACCOUNT_UNKNOWN,
            f"{to!r} does not exist",
        )
    if not client:
        if sender not in app.admins and not await directory.account_exists(sdkappid, sender):
            raise TidingsError(ErrorCode.MSG_ACCOUNT_INVALID, f"{sender!r} does not exist")
        return
    if (await directory.no_speaking(sdkappid, sender)).c2c_muted(int(time.time())):
        raise TidingsError(ErrorCode.MSG_SENDER_MUTED, "the sender is muted for C2C messages")
    if sender in app.admins:
        return
    settings = rules.settings(app)
    if settings.c2c_friend_check and not await directory.is_friend(sdkappid, sender, to):
        raise TidingsError(ErrorCode.MSG_NOT_FRIENDS, f"{to!r} is not on the sender's friend list")
    if await directory.is_blocked(sdkappid, to, sender):
        if settings.blocklist_send_error:
            raise TidingsError(ErrorCode.MSG_BLOCKED_BY_PEER, f"{to!r} has blocked the sender")
        inbound.silent = True


def member_refusal(group: Group, member: Member | None, now: int) -> TidingsError | None:
    """Why a client who is not an app admin may not post in the group, or None."""
    if member is None:
        return TidingsError(ErrorCode.GROUP_NO_PERMISSION, "the sender is not a group member")
    if is_muted(member.mute_until, now):
        return TidingsError(ErrorCode.GROUP_SENDER_MUTED, "the sender is muted in this group")
    if group.mute_all and member.role not in (OWNER, ADMIN):
        return TidingsError(ErrorCode.GROUP_SENDER_MUTED, "the whole group is muted")
    return None


async def check_group(rules: SendRules, app: App, inbound: InboundMessage) -> Group:
    directory = rules.directory
    sdkappid, sender, group_id = app.sdkappid, inbound.sender, inbound.group_id
    group = await directory.group(sdkappid, group_id)
    if group is None:
        raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
    client = by_client(inbound)
    if sender not in app.admins:
        member = await directory.member(sdkappid, group_id, sender)
        if client:
            refusal = member_refusal(group, member, int(time.time()))
            if refusal is not None:
                raise refusal
        elif member is None:
            raise TidingsError(
                ErrorCode.GROUP_NO_PERMISSION, f"From_Account {sender!r} is not a member"
            )
    if client and (await directory.no_speaking(sdkappid, sender)).group_muted(int(time.time())):
        raise TidingsError(ErrorCode.GROUP_SENDER_MUTED, "the sender is muted for group messages")
    if group.group_type == AVCHATROOM:
        if client:
            avchatroom.check_msg_rate(
                rules.rooms, app, rules.settings(app).avchatroom_rate, group_id
            )
        inbound.online_only = True
    return group


async def publish(publisher: Publisher, inbound: InboundMessage) -> Outcome:
    """Publish and wait for the router's outcome; its refusal is raised as-is: the router's
    codes, and an app server's own before-send code (Tencent's pass-through ranges)."""
    outcome = await publisher.publish(inbound)
    if outcome.error_code:
        raise TidingsError(outcome.error_code, outcome.error_info)
    return outcome
