"""im_open_login_svc: accounts (import, delete, check) and kick, adapters over
services/gateway/handlers/accounts.py (account_delete is still here)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from services.common import events
from services.common.errors import ErrorCode
from services.common.logging import get_logger
from services.gateway import profiles
from services.gateway.events import emit_rest
from services.gateway.handlers import accounts
from services.gateway.rest_v4 import fields
from services.gateway.rest_v4.context import Handler, Reply, RestContext, RestDeps

log = get_logger(__name__)

BAD = ErrorCode.ACCOUNT_INVALID_PARAM
MAX_BATCH = 100
# Tencent's ResultInfo for an account that does not exist (account_delete's example reply).
NOT_EXIST_INFO = "Err_TLS_PT_Open_Login_Account_Not_Exist"


async def account_import(ctx: RestContext, body: dict[str, Any]) -> Reply:
    await accounts.import_accounts(ctx, [profiles.import_entry(body, BAD)])
    return {}


async def multiaccount_import(ctx: RestContext, body: dict[str, Any]) -> Reply:
    request = profiles.multi_import(body, MAX_BATCH, BAD)
    await accounts.import_accounts(ctx, request.entries)
    return {"FailAccounts": request.rejected}


async def kick(ctx: RestContext, body: dict[str, Any]) -> Reply:
    await accounts.kick(
        ctx, profiles.user_id(fields.raw(body, "UserID", "Identifier"), "UserID", BAD)
    )
    return {}


def _result(user: str, code: ErrorCode = ErrorCode.OK, info: str = "") -> dict[str, Any]:
    return {"ResultCode": int(code), "ResultInfo": info, "UserID": user}


async def _kick_deleted(deps: RestDeps, sdkappid: int, user: str) -> None:
    try:
        await accounts.kick_sessions(
            deps, sdkappid, user, ErrorCode.ACCOUNT_NOT_IMPORTED, NOT_EXIST_INFO
        )
    except grpc.RpcError as exc:
        # The account is gone either way: its sessions can no longer log in again.
        log.warning("kick of a deleted account failed", user=user, error=str(exc))


async def account_delete(ctx: RestContext, body: dict[str, Any]) -> Reply:
    ids = profiles.user_items(fields.raw(body, "DeleteItem"), "DeleteItem", MAX_BATCH, BAD)
    sdkappid = ctx.app.sdkappid
    stores = ctx.deps.stores
    found = await stores.directory.get_accounts(sdkappid, ids)
    admins = {u for u in ids if ctx.deps.auth.is_admin(ctx.app, u)}
    deleted = [u for u in ids if u in found and u not in admins]
    await stores.directory.delete_accounts(sdkappid, deleted)
    # Logins are checked against a cache of known accounts: drop them so a login fails now.
    ctx.deps.auth.forget(sdkappid, deleted)
    # Tencent deletes the user's data with the account.
    await stores.profiles.delete_users(sdkappid, deleted)
    await stores.no_speaking.delete_users(sdkappid, deleted)
    await stores.follows.delete_users(sdkappid, deleted)
    if deleted:
        # Every gateway's directory forgets them: no send reaches them, they cannot log in.
        await emit_rest(
            ctx, events.ACCOUNTS_DELETED, deleted[0], {"Accounts": events.accounts(deleted)}
        )
    await asyncio.gather(*(_kick_deleted(ctx.deps, sdkappid, u) for u in deleted))
    items = []
    for user in ids:
        if user in admins:
            # Admin accounts belong to the app's settings, not to the imported accounts.
            items.append(_result(user, BAD, "app admin accounts cannot be deleted"))
        elif user in found:
            items.append(_result(user))
        else:
            items.append(_result(user, ErrorCode.ACCOUNT_NOT_IMPORTED, NOT_EXIST_INFO))
    return {"ResultItem": items}


async def account_check(ctx: RestContext, body: dict[str, Any]) -> Reply:
    ids = profiles.user_items(fields.raw(body, "CheckItem"), "CheckItem", MAX_BATCH, BAD)
    existing = await accounts.existing_users(ctx, ids)
    return {
        "ResultItem": [
            {
                "UserID": user,
                "ResultCode": 0,
                "ResultInfo": "",
                "AccountStatus": "Imported" if user in existing else "NotImported",
            }
            for user in ids
        ]
    }


COMMANDS: dict[str, Handler] = {
    "account_import": account_import,
    "multiaccount_import": multiaccount_import,
    "account_delete": account_delete,
    "account_check": account_check,
    "kick": kick,
}
