"""profile: user profile fields (portrait_set, portrait_get)."""

from __future__ import annotations

from typing import Any

from services.common import events
from services.common.errors import ErrorCode, TidingsError
from services.common.store.ports import Account
from services.common.store.profiles import ProfileValue
from services.gateway import profiles
from services.gateway.events import emit_rest
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext
from services.gateway.rest_v4.im_open_login_svc import existing_users

BAD = ErrorCode.PROFILE_INVALID_PARAM
MAX_GET_ACCOUNTS = 100
NOT_FOUND_INFO = "the account does not exist"


async def portrait_set(ctx: RestContext, body: dict[str, Any]) -> Reply:
    user = profiles.user_id(fields.raw(body, "From_Account"), "From_Account", BAD)
    declared = profiles.declared_custom_tags(ctx.app.settings)
    values = profiles.profile_items(fields.raw(body, "ProfileItem"), declared)
    items = [{"Tag": tag, "Value": value} for tag, value in values.items()]
    sdkappid = ctx.app.sdkappid
    directory = ctx.deps.stores.directory
    store = ctx.deps.stores.profiles
    account = (await directory.get_accounts(sdkappid, [user])).get(user)
    if account is None and not ctx.deps.auth.is_admin(ctx.app, user):
        raise TidingsError(
            ErrorCode.PROFILE_ACCOUNT_NOT_FOUND, f"From_Account {user!r} does not exist"
        )
    new_tags: list[str] = []
    if any(profiles.is_custom_tag(t) for t in values):
        new_tags = profiles.new_custom_tags(values, await store.custom_tags(sdkappid), declared)
    # Nick and Image are the account's own nick and face URL (what account_import sets).
    nick = values.pop(profiles.NICK, None)
    image = values.pop(profiles.IMAGE, None)
    if nick is not None or image is not None:
        old = account or Account(user)
        await directory.upsert_accounts(
            sdkappid,
            [
                Account(
                    user,
                    old.nick if nick is None else str(nick),
                    old.face_url if image is None else str(image),
                )
            ],
        )
    await store.add_custom_tags(sdkappid, new_tags)
    await store.set_values(sdkappid, user, values)
    await emit_rest(
        ctx,
        events.PROFILE_SET,
        user,
        {"Operator_Account": ctx.identifier, "From_Account": user, "ProfileItem": items},
    )
    return {}


async def portrait_get(ctx: RestContext, body: dict[str, Any]) -> Reply:
    raw_accounts = fields.raw(body, "To_Account")
    if raw_accounts is None or raw_accounts == []:
        raise TidingsError(ErrorCode.PROFILE_ACCOUNT_MISSING, "To_Account is required")
    users = profiles.user_list(raw_accounts, "To_Account", MAX_GET_ACCOUNTS, BAD)
    tags = profiles.tag_list(
        fields.raw(body, "TagList"), profiles.declared_custom_tags(ctx.app.settings)
    )
    sdkappid = ctx.app.sdkappid
    existing = await existing_users(ctx, users)
    known = [u for u in users if u in existing]
    accounts = await ctx.deps.stores.directory.get_accounts(sdkappid, known)
    stored = await ctx.deps.stores.profiles.get_values(sdkappid, known)
    items: list[dict[str, Any]] = []
    failed: list[str] = []
    for user in users:
        if user not in existing:
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
        values: dict[str, ProfileValue] = dict(stored.get(user, {}))
        account = accounts.get(user)
        if account is not None:
            values[profiles.NICK] = account.nick
            values[profiles.IMAGE] = account.face_url
        items.append(
            {
                "To_Account": user,
                "ProfileItem": profiles.profile_item_list(tags, values),
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
