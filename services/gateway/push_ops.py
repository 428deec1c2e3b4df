"""WebSocket ops for offline push: registering a device's vendor token, the user's push
settings (on/off, a do-not-disturb window in the user's time zone), muting a conversation's
pushes, and the badge: the unread total the client reports as it goes to the background
(`set_badge`, services/common/push_badge.py). Each takes the logged-in connection and the
frame, and returns the reply frame; bad input is refused with 4400 (WS_BAD_FRAME) and a message
saying what to fix.

push_settings reads when the frame names none of "enabled", "dnd", "timezone", and otherwise
changes just the fields it names ("dnd": null clears the window); the reply is always the whole
settings after the change.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from services.common import conversation, push_badge
from services.common.errors import ErrorCode, TidingsError
from services.common.push_settings import (
    WS_FIELDS,
    changed_settings,
    check_device,
    settings_doc,
)
from services.common.store.ports import Stores
from services.common.store.push_devices import MUTED_FOREVER, PushSettings
from services.gateway.bounds import STORED_U64
from services.gateway.frames import field as frame_field
from services.gateway.frames import optional_integer as frame_optional_integer
from services.gateway.group_rules import MAX_GROUP_ID_BYTES, is_well_formed_group_id
from services.gateway.ids import user_id_problem
from services.gateway.sessions import Connection


def _bad(message: str) -> TidingsError:
    return TidingsError(ErrorCode.WS_BAD_FRAME, message)


def _device(frame: dict[str, Any]) -> tuple[str, str]:
    vendor = frame_field(frame, "vendor", str)
    token = frame_field(frame, "token", str)
    try:
        check_device(vendor, token)
    except ValueError as exc:
        raise _bad(str(exc)) from exc
    return vendor, token


def _conversation(frame: dict[str, Any], user: str) -> tuple[str, dict[str, str]]:
    """The conversation id a frame names by "peer" or "group", and that naming for the reply."""
    peer = frame_field(frame, "peer", str, required=False)
    group = frame_field(frame, "group", str, required=False)
    if (peer is None) == (group is None):
        raise _bad("name exactly one of 'peer' or 'group'")
    if group is not None:
        if not is_well_formed_group_id(group):
            raise _bad(f"'group' is printable ASCII, 1 to {MAX_GROUP_ID_BYTES} bytes")
        return conversation.group(group), {"group": group}
    problem = user_id_problem(peer)
    if problem is not None:
        raise _bad(f"'peer' {problem}")
    return conversation.c2c(user, peer), {"peer": peer}


def apply_settings(current: PushSettings, frame: dict[str, Any]) -> PushSettings:
    """The settings after the fields the frame names (pure; checked before they are stored)."""
    try:
        return changed_settings(current, frame, WS_FIELDS)
    except ValueError as exc:
        raise _bad(str(exc)) from exc


class PushOps:
    NAMES = frozenset(
        {
            "register_push",
            "unregister_push",
            "push_settings",
            "mute_conversation",
            "unmute_conversation",
            "set_badge",
        }
    )

    def __init__(self, stores: Stores, redis: aioredis.Redis) -> None:
        self._stores = stores
        self._redis = redis

    async def handle(self, conn: Connection, op: str, frame: dict[str, Any]) -> dict[str, Any]:
        if op == "register_push":
            return await self.register_push(conn, frame)
        if op == "unregister_push":
            return await self.unregister_push(conn, frame)
        if op == "push_settings":
            return await self.push_settings(conn, frame)
        if op == "mute_conversation":
            return await self.mute_conversation(conn, frame)
        if op == "set_badge":
            return await self.set_badge(conn, frame)
        return await self.unmute_conversation(conn, frame)

    async def register_push(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        """Push to this device while the user is offline; a token registered by another user
        before moves to this one (one phone, one logged-in user)."""
        vendor, token = _device(frame)
        now_ms = int(time.time() * 1000)
        await self._stores.push_devices.register(conn.sdkappid, conn.user, vendor, token, now_ms)
        return {"op": "register_push", "code": 0, "vendor": vendor, "token": token}

    async def unregister_push(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        vendor, token = _device(frame)
        await self._stores.push_devices.unregister(conn.sdkappid, conn.user, vendor, token)
        return {"op": "unregister_push", "code": 0, "vendor": vendor, "token": token}

    async def push_settings(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        store = self._stores.push_devices
        current = (await store.get_settings(conn.sdkappid, [conn.user]))[conn.user]
        if any(name in frame for name in WS_FIELDS.top):
            current = apply_settings(current, frame)
            await store.put_settings(conn.sdkappid, conn.user, current)
        return {"op": "push_settings", "code": 0, **settings_doc(current, WS_FIELDS)}

    async def mute_conversation(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        conv, target = _conversation(frame, conn.user)
        until_ms = frame_optional_integer(frame, "until", STORED_U64) or MUTED_FOREVER
        if until_ms != MUTED_FOREVER and until_ms <= int(time.time() * 1000):
            raise _bad("'until' is in the past; 0 mutes until unmuted")
        await self._stores.push_devices.mute(conn.sdkappid, conn.user, conv, until_ms)
        return {
            "op": "mute_conversation",
            "code": 0,
            "conversation": conv,
            "until": until_ms,
            **target,
        }

    async def unmute_conversation(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        conv, target = _conversation(frame, conn.user)
        await self._stores.push_devices.unmute(conn.sdkappid, conn.user, conv)
        return {"op": "unmute_conversation", "code": 0, "conversation": conv, **target}

    async def set_badge(self, conn: Connection, frame: dict[str, Any]) -> dict[str, Any]:
        """The user's unread total as the app goes to the background; each push that counts
        shows one more."""
        try:
            count = push_badge.check_badge(frame.get("count"))
        except ValueError as exc:
            raise _bad(f"'count': {exc}") from exc
        await push_badge.set_badge(self._redis, conn.sdkappid, conn.user, count)
        return {"op": "set_badge", "code": 0, "count": count}
