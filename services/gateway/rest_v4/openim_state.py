"""openim presence: querystate (Tencent's current name for it is query_online_status)."""

from __future__ import annotations

from typing import Any

from services.common.errors import ErrorCode
from services.gateway import profiles
from services.gateway.bounds import FLAG
from services.gateway.handlers.accounts import existing_users
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.ACCOUNT_INVALID_PARAM
MAX_ACCOUNTS = 500


async def querystate(ctx: RestContext, body: dict[str, Any]) -> Reply:
    users = profiles.user_list(fields.raw(body, "To_Account"), "To_Account", MAX_ACCOUNTS, BAD)
    need_detail = fields.integer(body, "IsNeedDetail", code=BAD, within=FLAG, required=False) == 1
    existing = await existing_users(ctx, users)
    known = [u for u in users if u in existing]
    sessions = await ctx.deps.sessions.lookup([(ctx.app.sdkappid, u) for u in known])
    return {
        "QueryResult": [
            {
                "To_Account": user,
                **profiles.presence([s.platform for s in found.values()], need_detail),
            }
            for user, found in zip(known, sessions, strict=True)
        ],
        "ErrorList": [
            {"To_Account": user, "ErrorCode": int(ErrorCode.ACCOUNT_NOT_IMPORTED)}
            for user in users
            if user not in existing
        ],
    }


COMMANDS: dict[str, Handler] = {"querystate": querystate, "query_online_status": querystate}
