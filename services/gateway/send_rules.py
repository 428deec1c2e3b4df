"""May this client send this message? The checks a client's send passes before it is published,
answered from the gateway's memory: the per-sender throttle (throttle.py), then the directory
(directory.py: accounts, no-speaking, friends, blocklists, groups and members). Order follows
Tencent: recipient, mutes, relationship, then the group's own rules.

REST sends skip the relationship checks and mutes, as Tencent's admin APIs do; they use the
directory for what they do check (accounts, group membership).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.common import messaging_settings
from services.common.app_settings import Rate
from services.common.errors import ErrorCode, TidingsError
from services.common.pb.tidings.v1.envelope_pb2 import InboundMessage
from services.common.store.groups import Group
from services.common.store.ports import App
from services.gateway import avchatroom
from services.gateway.directory import Directory
from services.gateway.group_rules import AVCHATROOM
from services.gateway.group_send import send_refusal
from services.gateway.throttle import TokenBuckets, check_send_rate, send_rate


@dataclass(frozen=True, slots=True)
class SendSettings:
    """An app's messaging settings that a send reads, validated once per app record."""

    send_rate: Rate
    c2c_friend_check: bool
    blocklist_send_error: bool
    avchatroom_rate: Rate

    @classmethod
    def of(cls, app: App) -> SendSettings:
        return cls(
            send_rate=send_rate(app),
            c2c_friend_check=bool(messaging_settings.value(app.settings, "c2c_friend_check")),
            blocklist_send_error=bool(
                messaging_settings.value(app.settings, "blocklist_send_error")
            ),
            avchatroom_rate=avchatroom.msg_rate(app),
        )


class SendRules:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        # This node's buckets: per (app, sender), and per (app, live group).
        self.senders = TokenBuckets()
        self.rooms = TokenBuckets()
        # sdkappid -> (the App record they were read from, its SendSettings). The app cache
        # hands out a new App object whenever it reloads the record, so identity says whether
        # the settings are still those of the current record.
        self._settings: dict[int, tuple[App, SendSettings]] = {}

    def settings(self, app: App) -> SendSettings:
        held = self._settings.get(app.sdkappid)
        if held is not None and held[0] is app:
            return held[1]
        settings = SendSettings.of(app)
        self._settings[app.sdkappid] = (app, settings)
        return settings

    def throttle(self, app: App, sender: str, group: bool) -> None:
        check_send_rate(self.senders, app, self.settings(app).send_rate, sender, group)

    async def check_c2c(self, app: App, inbound: InboundMessage) -> None:
        """Refuse, or mark the message silent when the recipient has blocked the sender: by
        default the sender is told it was sent and nothing is delivered (Tencent's default)."""
        directory = self.directory
        sdkappid, sender, to = app.sdkappid, inbound.sender, inbound.to_user
        if not await directory.account_exists(sdkappid, to):
            raise TidingsError(ErrorCode.MSG_ACCOUNT_INVALID, f"{to!r} does not exist")
        if (await directory.no_speaking(sdkappid, sender)).c2c_muted(int(time.time())):
            raise TidingsError(ErrorCode.MSG_SENDER_MUTED, "the sender is muted for C2C messages")
        if sender in app.admins:
            return
        settings = self.settings(app)
        if settings.c2c_friend_check and not await directory.is_friend(sdkappid, sender, to):
            raise TidingsError(
                ErrorCode.MSG_NOT_FRIENDS, f"{to!r} is not on the sender's friend list"
            )
        if await directory.is_blocked(sdkappid, to, sender):
            if settings.blocklist_send_error:
                raise TidingsError(ErrorCode.MSG_BLOCKED_BY_PEER, f"{to!r} has blocked the sender")
            inbound.silent = True

    async def check_group(self, app: App, inbound: InboundMessage) -> Group:
        """The group's rules for a client's message; an AVChatRoom's messages are marked
        online only, within the group's rate."""
        directory = self.directory
        sdkappid, sender, group_id = app.sdkappid, inbound.sender, inbound.group_id
        group = await directory.group(sdkappid, group_id)
        if group is None:
            raise TidingsError(ErrorCode.GROUP_NOT_FOUND, f"group {group_id!r} does not exist")
        now = int(time.time())
        is_admin = sender in app.admins
        member = None if is_admin else await directory.member(sdkappid, group_id, sender)
        refusal = send_refusal(group, member, now, is_admin)
        if refusal is not None:
            raise refusal
        if (await directory.no_speaking(sdkappid, sender)).group_muted(now):
            raise TidingsError(
                ErrorCode.GROUP_SENDER_MUTED, "the sender is muted for group messages"
            )
        if group.group_type == AVCHATROOM:
            avchatroom.check_msg_rate(self.rooms, app, self.settings(app).avchatroom_rate, group_id)
            inbound.online_only = True
        return group

    async def check_rest_group_sender(self, app: App, group: Group, sender: str) -> None:
        """REST send_group_msg: the sender must be a member (the app admin may name any member
        as the sender, or send as itself); mutes do not apply (Tencent)."""
        if sender in app.admins:
            return
        if await self.directory.member(app.sdkappid, group.group_id, sender) is None:
            raise TidingsError(
                ErrorCode.GROUP_NO_PERMISSION, f"From_Account {sender!r} is not a member"
            )
