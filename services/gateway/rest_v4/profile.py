"""profile: user profile fields (portrait_set, portrait_get), adapters over
services/gateway/handlers/accounts.py."""

from __future__ import annotations

from typing import Any

from services.common.errors import ErrorCode, TidingsError
from services.gateway import profiles
from services.gateway.handlers import accounts
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext

BAD = ErrorCode.PROFILE_INVALID_PARAM
MAX_GET_ACCOUNTS = 100
NOT_FOUND_INFO = "the account does not exist"


async def portrait_set(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = profiles.user_id(fields.raw(body, "From_Account"), "From_Account", BAD)
    declared = profiles.declared_custom_fields(ctx.app.settings)
    values = profiles.profile_items(fields.raw(body, "ProfileItem"), declared)
    await accounts.set_profile(ctx, user, values, declared)
    return {}


async def portrait_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    raw_accounts = fields.raw(body, "To_Account")
    if raw_accounts is None or raw_accounts == []:
        raise TidingsError(ErrorCode.PROFILE_ACCOUNT_MISSING, "To_Account is required")
    users = profiles.user_list(raw_accounts, "To_Account", MAX_GET_ACCOUNTS, BAD)
    tags = profiles.tag_list(
        fields.raw(body, "TagList"), profiles.declared_custom_fields(ctx.app.settings)
    )
    found = await accounts.get_profiles(ctx, users)
    items: list[dict[str, Any]] = []
    failed: list[str] = []
    for user in users:
        if user not in found:
            failed.append(user)
            items.append(
                {
                    "To_Account": user,
                    "ProfileItem": [],
                    "ResultCode": int(ErrorCode.PROFILE_ACCOUNT_NOT_FOUND),
                    "ResultInfo": NOT_FOUND_INFO,
                }
            )
            continue
        items.append(
            {
                "To_Account": user,
                "ProfileItem": profiles.profile_item_list(tags, found[user]),
                "ResultCode": 0,
                "ResultInfo": "",
            }
        )
    reply: Reply = {"UserProfileItem": items}
    # Tencent sends Fail_Account only when some account failed.
    if failed:
        reply["Fail_Account"] = failed
    return reply


COMMANDS: dict[str, Handler] = {"portrait_set": portrait_set, "portrait_get": portrait_get}
