"""May this client send this message? The checks a client's send passes before it is published
(REST sends skip them, as Tencent's admin APIs do). Order follows Tencent: recipient, mutes,
relationship, then the group's own rules."""

from __future__ import annotations

import time

from services.common import messaging_settings
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.common.store.groups import Group
from services.common.store.ports import App, Stores
from services.gateway.auth import Authenticator
from services.gateway.group_send import check_group_send
from services.gateway.relations import are_friends, is_blocked


async def check_c2c(stores: Stores, auth: Authenticator, app: App, inbound: InboundMessage) -> None:
    """Refuse, or mark the message silent when the recipient has blocked the sender: by default
    the sender is told it was sent and nothing is delivered (Tencent's default)."""
    sdkappid, sender, to = app.sdkappid, inbound.sender, inbound.to_user
    if await auth.missing_accounts(sdkappid, [to]):
        raise TidingsError(ErrorCode.MSG_ACCOUNT_INVALID, f"{to!r} does not exist")
    if (await stores.no_speaking.get(sdkappid, sender)).c2c_muted(int(time.time())):
        raise TidingsError(ErrorCode.MSG_SENDER_MUTED, "the sender is muted for C2C messages")
    if auth.is_admin(app, sender):
        return
    if messaging_settings.value(app.settings, "c2c_friend_check") and not await are_friends(
        stores, sdkappid, sender, to, both=False
    ):
        raise TidingsError(ErrorCode.MSG_NOT_FRIENDS, f"{to!r} is not on the sender's friend list")
    if await is_blocked(stores, sdkappid, sender, to):
        if messaging_settings.value(app.settings, "blocklist_send_error"):
            raise TidingsError(ErrorCode.MSG_BLOCKED_BY_PEER, f"{to!r} has blocked the sender")
        inbound.silent = True


async def check_group(
    stores: Stores, auth: Authenticator, app: App, inbound: InboundMessage
) -> Group:
    sender = inbound.sender
    group = await check_group_send(
        stores.groups, app.sdkappid, inbound.group_id, sender, auth.is_admin(app, sender)
    )
    if (await stores.no_speaking.get(app.sdkappid, sender)).group_muted(int(time.time())):
        raise TidingsError(ErrorCode.GROUP_SENDER_MUTED, "the sender is muted for group messages")
    return group
