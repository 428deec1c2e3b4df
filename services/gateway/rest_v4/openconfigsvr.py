"""openconfigsvr: global no-speaking (setnospeaking, getnospeaking).

A C2C no-speaking deadline is enforced on client sends (the WebSocket endpoint refuses them
with 20012); the group one is for group sends (10017).
"""

from __future__ import annotations

import time
from typing import Any

from services.common import events
from services.common.errors import ErrorCode, TidingsError
from services.gateway import profiles
from services.gateway.bounds import UINT32
from services.gateway.events import emit_rest
from services.gateway.handlers.accounts import existing_users
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

C2C_TIME = "C2CmsgNospeakingTime"
GROUP_TIME = "GroupmsgNospeakingTime"


async def _account(ctx: RestContext, body: dict[str, Any], field: str) -> str:
    raw = fields.raw(body, field)
    if raw is None:
        raise TidingsError(ErrorCode.NOSPEAKING_NO_ACCOUNT, f"{field} is required")
    user = profiles.user_id(raw, field, ErrorCode.NOSPEAKING_ACCOUNT_INVALID)
    # Tencent names one code for an invalid account field; an account that does not exist is
    # one too.
    if user not in await existing_users(ctx, [user]):
        raise TidingsError(ErrorCode.NOSPEAKING_ACCOUNT_INVALID, f"{field} {user!r} does not exist")
    return user


def _seconds(body: dict[str, Any], field: str) -> int | None:
    # Seconds, up to NO_SPEAKING_FOREVER_S (4294967295, "forever"): Tencent's 32-bit unsigned.
    return fields.optional_integer(body, field, code=ErrorCode.NOSPEAKING_JSON, within=UINT32)


async def setnospeaking(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _account(ctx, body, "Set_Account")
    c2c = _seconds(body, C2C_TIME)
    group = _seconds(body, GROUP_TIME)
    if c2c is None and group is None:
        raise TidingsError(
            ErrorCode.NOSPEAKING_NO_TIME, f"set {C2C_TIME} or {GROUP_TIME} (or both)"
        )
    now = int(time.time())
    await ctx.deps.stores.no_speaking.set(
        ctx.app.sdkappid,
        user,
        c2c_until=None if c2c is None else profiles.no_speaking_deadline(c2c, now),
        group_until=None if group is None else profiles.no_speaking_deadline(group, now),
    )
    changed: dict[str, Any] = {"Set_Account": user}
    if c2c is not None:
        changed[C2C_TIME] = c2c
    if group is not None:
        changed[GROUP_TIME] = group
    await emit_rest(ctx, events.NO_SPEAKING_SET, user, changed)
    return {}


async def getnospeaking(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = await _account(ctx, body, "Get_Account")
    state = await ctx.deps.stores.no_speaking.get(ctx.app.sdkappid, user)
    now = int(time.time())
    return {
        C2C_TIME: profiles.no_speaking_remaining(state.c2c_until, now),
        GROUP_TIME: profiles.no_speaking_remaining(state.group_until, now),
    }


COMMANDS: dict[str, Handler] = {"setnospeaking": setnospeaking, "getnospeaking": getnospeaking}
